//! Flood control for `postComment`, shared by every instance on one
//! database: at most one comment per interval from the same client address,
//! and an hourly cap (WordPress's rule, with a cap on top). Addresses are
//! only ever stored as keyed hashes.
//!
//! The email a post carries plays no part: it proves nothing about who
//! sent it, and a limit that read its history would tell a stranger
//! whether that address had posted lately (SECURITY.md, "Nothing depends on
//! another person's email").

use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sea_orm::ConnectionTrait;
use sha2::Sha256;

use crate::error::AppResult;
use crate::store::sealing::DataKeys;
use crate::store::{Store, post_marks, secrets};

use super::rate_window;

const HOUR_MICROS: i64 = 3_600_000_000;
const FINGERPRINT_SECRET_NAME: &str = "fingerprint_key";

/// How often one client address may post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodPolicy {
    /// Shortest time between two comments; zero turns flood control off.
    pub interval: Duration,
    /// Most comments in any hour.
    pub hourly_cap: u32,
}

impl Default for FloodPolicy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            hourly_cap: 30,
        }
    }
}

impl FloodPolicy {
    /// No limits at all: for imports and benchmarks.
    pub fn off() -> Self {
        Self {
            interval: Duration::ZERO,
            hourly_cap: 0,
        }
    }

    pub fn is_on(&self) -> bool {
        !self.interval.is_zero()
    }
}

/// Keyed hashes of personal data (HMAC-SHA256 under a key generated once
/// and kept in the database, sealed under the data key), so that two posts from one address can be
/// told apart from two posts from two addresses without storing either.
#[derive(Clone)]
pub struct Fingerprints {
    key: Vec<u8>,
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprints(<key>)")
    }
}

impl Fingerprints {
    /// The key shared by every instance on this database.
    pub async fn stored(store: &Store, keys: &DataKeys) -> anyhow::Result<Self> {
        let candidate = hex::encode(rand::random::<[u8; 32]>());
        let key =
            secrets::get_or_insert(store.db(), keys, FINGERPRINT_SECRET_NAME, candidate).await?;
        Ok(Self {
            key: key.into_bytes(),
        })
    }

    /// A fixed key, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Self {
        Self {
            key: b"a key for unit tests only".to_vec(),
        }
    }

    /// The hex fingerprint of `value` in the namespace `kind`.
    pub fn of(&self, kind: &str, value: &str) -> String {
        #[allow(clippy::expect_used, reason = "HMAC takes a key of any length")]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Admits a new comment from `client`, or refuses it with `RATE_LIMITED`
/// and the seconds to wait. Runs in the posting transaction; on PostgreSQL
/// it first takes an advisory lock on the client's key, so that two
/// instances cannot both admit the same client at once.
pub async fn admit(
    txn: &impl ConnectionTrait,
    policy: &FloodPolicy,
    fingerprints: &Fingerprints,
    client: Option<IpAddr>,
    now: i64,
) -> AppResult<()> {
    if !policy.is_on() {
        return Ok(());
    }
    let client_key = client_key(fingerprints, client);
    rate_window::lock(txn, &[&client_key]).await?;
    refuse_if_over(txn, policy, &client_key, now).await?;
    let hour_ago = now - HOUR_MICROS;
    let interval = i64::try_from(policy.interval.as_micros()).unwrap_or(i64::MAX);
    post_marks::insert(txn, client_key, now).await?;
    post_marks::prune(txn, hour_ago.min(now - interval)).await?;
    Ok(())
}

/// The same refusal `admit` would give, read without a lock or a write:
/// lets a post over its limits be refused before any costly work. `admit`
/// in the post's transaction still decides.
pub async fn precheck(
    db: &impl ConnectionTrait,
    policy: &FloodPolicy,
    fingerprints: &Fingerprints,
    client: Option<IpAddr>,
    now: i64,
) -> AppResult<()> {
    if !policy.is_on() {
        return Ok(());
    }
    refuse_if_over(db, policy, &client_key(fingerprints, client), now).await
}

fn client_key(fingerprints: &Fingerprints, client: Option<IpAddr>) -> String {
    fingerprints.of(
        "client",
        &client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
    )
}

/// `RATE_LIMITED` when the client posted within the interval, or reached
/// the hourly cap.
async fn refuse_if_over(
    db: &impl ConnectionTrait,
    policy: &FloodPolicy,
    client_key: &str,
    now: i64,
) -> AppResult<()> {
    let interval = i64::try_from(policy.interval.as_micros()).unwrap_or(i64::MAX);
    if let Some(last) = post_marks::latest(db, client_key).await? {
        let wait = last.created_at.saturating_add(interval) - now;
        if wait > 0 {
            tracing::info!(rule = "interval", "post refused by flood control");
            return Err(rate_window::refusal(wait));
        }
    }
    let hour_ago = now - HOUR_MICROS;
    let cap = u64::from(policy.hourly_cap.max(1));
    let recent = post_marks::recent(db, client_key, hour_ago, cap).await?;
    if recent.len() as u64 >= cap
        && let Some(oldest) = recent.first()
    {
        tracing::info!(rule = "hourly cap", "post refused by flood control");
        return Err(rate_window::refusal(oldest.created_at + HOUR_MICROS - now));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprints(key: &str) -> Fingerprints {
        Fingerprints {
            key: key.as_bytes().to_vec(),
        }
    }

    #[test]
    fn fingerprints_depend_on_the_key_and_the_kind() {
        let a = fingerprints("one key");
        let b = fingerprints("another key");
        assert_eq!(a.of("client", "192.0.2.7"), a.of("client", "192.0.2.7"));
        assert_ne!(a.of("client", "192.0.2.7"), b.of("client", "192.0.2.7"));
        assert_ne!(a.of("client", "x"), a.of("email", "x"));
        assert!(!a.of("email", "ann@example.com").contains("ann"));
    }
}
