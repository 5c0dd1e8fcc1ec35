//! `parley healthcheck`: asks a running server's `GET /healthz`, for
//! container health checks that have no HTTP client of their own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::HealthcheckArgs;

/// The most of the answer's body kept for the message.
const MAX_BODY_BYTES: usize = 1024;

/// Succeeds when the server listening on `listen` answers `GET /healthz`
/// with 200 within the time limit.
pub async fn run(listen: SocketAddr, args: &HealthcheckArgs) -> anyhow::Result<()> {
    let address = reachable(listen);
    let url = format!("http://{address}/healthz");
    let timeout = Duration::from_secs(args.timeout_secs);
    let (status, body) = tokio::time::timeout(timeout, get(address))
        .await
        .map_err(|_| anyhow::anyhow!("{url} did not answer within {}s", timeout.as_secs()))?
        .with_context(|| format!("could not reach {url}"))?;
    let body = body.trim();
    anyhow::ensure!(
        status == StatusCode::OK,
        "{url} answered {status}{}",
        if body.is_empty() {
            String::new()
        } else {
            format!(" ({body})")
        }
    );
    println!("{url}: {body}");
    Ok(())
}

/// The address to ask: loopback when the server listens on every address.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET /healthz` over one HTTP/1.1 connection: the status and the start
/// of the body.
async fn get(address: SocketAddr) -> anyhow::Result<(StatusCode, String)> {
    let stream = TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driving = tokio::spawn(connection);
    let request = Request::get("/healthz")
        .header(header::HOST, address.to_string())
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
        .unwrap_or_default();
    driving.abort();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_is_asked_on_loopback() {
        let asked = |listen: &str| reachable(listen.parse().unwrap()).to_string();
        assert_eq!(asked("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(asked("[::]:8080"), "[::1]:8080");
        assert_eq!(asked("192.0.2.4:80"), "192.0.2.4:80");
    }
}
