//! The client address of a request: the socket peer, or, when the peer is
//! a trusted proxy, the nearest untrusted address in `X-Forwarded-For`;
//! and the client as per-address limits see it.

use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;
use ipnet::IpNet;

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    // Hops are appended by each proxy: walk back from the nearest one.
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// The client as per-address limits (login throttling, flood control) see
/// it: an IPv4 address as it is, an IPv4-mapped IPv6 address as its IPv4
/// address, and any other IPv6 address as its /64 network (the last 64 bits
/// zeroed), since one subscriber is usually given a whole /64 and may pick
/// any address in it.
pub fn limited_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let peer: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(client_ip(peer, &headers("203.0.113.1"), &[]), peer);
    }

    #[test]
    fn a_trusted_proxy_forwards_the_nearest_untrusted_hop() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let got = client_ip(
            peer,
            &headers("203.0.113.50, 198.51.100.7, 10.0.0.3"),
            &trusted,
        );
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_trusted_proxy_without_the_header_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
    }

    fn limited(ip: &str) -> String {
        limited_as(ip.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv4_addresses_are_limited_one_by_one() {
        assert_eq!(limited("198.51.100.7"), "198.51.100.7");
        assert_eq!(limited("198.51.100.8"), "198.51.100.8");
    }

    #[test]
    fn ipv6_addresses_are_limited_by_their_64() {
        assert_eq!(limited("2001:db8:1:2::1"), "2001:db8:1:2::");
        assert_eq!(
            limited("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::"
        );
        assert_eq!(limited("2001:db8:1:2:a:b:c:d"), "2001:db8:1:2::");
        assert_eq!(limited("2001:db8:1:3::1"), "2001:db8:1:3::");
        assert_eq!(limited("::1"), "::");
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        assert_eq!(limited("::ffff:198.51.100.7"), "198.51.100.7");
        assert_ne!(
            limited("::ffff:198.51.100.7"),
            limited("::ffff:198.51.100.8")
        );
    }
}
