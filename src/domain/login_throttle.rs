//! Throttling of password guesses (`login`, and the current password of
//! `changePassword`), shared by every instance on one database.
//!
//! Failures are counted over the last hour under three keys, each a keyed
//! hash (addresses and emails are never stored):
//!
//! - **the account and the address together:** 5 failures, then each try
//!   waits 1 minute after the latest failure, then 2, 4, 8…: at most 10
//!   guesses in any hour from one address at one account;
//! - **the address, whatever the account:** 10 failures, then the same
//!   doubling from 1 minute: at most 15 guesses in any hour from one address;
//! - **the account, whatever the address:** 20 failures, then each try waits
//!   until 10 seconds after the account's latest failure: at most 380
//!   guesses in any hour against one account, however many addresses guess,
//!   and never more than a 10-second wait for the owner from an address of
//!   their own: a pause, never a lock.
//!
//! A try that is let through is recorded as a failure before the password
//! is checked, in the same transaction as the check (under advisory locks
//! on PostgreSQL), so that concurrent tries cannot slip past a limit
//! together and a check cut short still counts. The right password takes
//! its own record back and clears the failures of its account and address
//! together; those of the address alone and of the account alone stay until
//! they are an hour old, so that logging in to one account cannot reset the
//! limits of guesses at others.

use std::net::IpAddr;

use sea_orm::TransactionTrait;
use uuid::Uuid;

use crate::error::AppResult;
use crate::store::{Store, login_failures, now_micros};

use super::flood::Fingerprints;
use super::rate_window;

const SECOND_MICROS: i64 = 1_000_000;
/// How long a failure counts.
const WINDOW_MICROS: i64 = 3_600 * SECOND_MICROS;
/// Failures from one address at one account before backing off.
pub const PAIR_FREE_FAILURES: u64 = 5;
/// Failures from one address, at any accounts, before backing off.
pub const ADDRESS_FREE_FAILURES: u64 = 10;
/// The first backoff, doubled by each further failure.
const BACKOFF_MICROS: i64 = 60 * SECOND_MICROS;
/// Failures at one account, from any addresses, before every try at it
/// waits [`ACCOUNT_DELAY_MICROS`] after the latest failure.
pub const ACCOUNT_FREE_FAILURES: u64 = 20;
/// The account-wide pause: the longest the owner ever waits.
const ACCOUNT_DELAY_MICROS: i64 = 10 * SECOND_MICROS;

/// How long after its latest failure a key opens again, given how many
/// failures it has had in the window.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// `free` failures, then a doubling wait from [`BACKOFF_MICROS`].
    Backoff { free: u64 },
    /// `free` failures, then a fixed short pause.
    Pause { free: u64, micros: i64 },
}

impl Rule {
    fn wait_micros(self, failures: u64) -> i64 {
        match self {
            Rule::Backoff { free } if failures >= free => {
                BACKOFF_MICROS << (failures - free).min(20)
            }
            Rule::Pause { free, micros } if failures >= free => micros,
            _ => 0,
        }
    }
}

/// A password check let through and recorded as a failure until
/// [`Attempt::succeeded`] takes it back.
#[must_use = "a right password must take its attempt back"]
#[derive(Debug)]
pub struct Attempt {
    recorded: Vec<Uuid>,
    pair_key: String,
}

/// Lets a password check for `account` (an email, as typed) from `client`
/// go ahead, recording it as a failure, or refuses it with `RATE_LIMITED`
/// and the seconds until every limit it hit has opened again.
pub async fn admit(
    store: &Store,
    fingerprints: &Fingerprints,
    account: &str,
    client: Option<IpAddr>,
) -> AppResult<Attempt> {
    let account = account.trim().to_lowercase();
    let address = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let pair_key = fingerprints.of("login-pair", &format!("{account}\0{address}"));
    let keys = [
        (
            pair_key.clone(),
            Rule::Backoff {
                free: PAIR_FREE_FAILURES,
            },
        ),
        (
            fingerprints.of("login-client", &address),
            Rule::Backoff {
                free: ADDRESS_FREE_FAILURES,
            },
        ),
        (
            fingerprints.of("login-account", &account),
            Rule::Pause {
                free: ACCOUNT_FREE_FAILURES,
                micros: ACCOUNT_DELAY_MICROS,
            },
        ),
    ];

    let txn = store.begin_write().await?;
    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
    rate_window::lock(&txn, &names).await?;
    let now = now_micros();
    let since = now - WINDOW_MICROS;
    let mut wait = 0;
    for (key, rule) in &keys {
        let (failures, latest) = login_failures::summary(&txn, key, since).await?;
        if let Some(latest) = latest {
            wait = wait.max(latest.saturating_add(rule.wait_micros(failures)) - now);
        }
    }
    if wait > 0 {
        txn.rollback().await?;
        return Err(rate_window::refusal(wait));
    }
    let mut recorded = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        recorded.push(login_failures::record(&txn, key, now).await?);
    }
    login_failures::prune(&txn, since).await?;
    txn.commit().await?;
    Ok(Attempt { recorded, pair_key })
}

impl Attempt {
    /// The password was right: takes this attempt back and forgets the
    /// failures of this account from this address.
    pub async fn succeeded(self, store: &Store) -> AppResult<()> {
        let txn = store.db().begin().await?;
        login_failures::forget(&txn, &self.recorded).await?;
        login_failures::clear(&txn, &self.pair_key).await?;
        txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most failures any hour can hold under `rule`: each failure past
    /// the free ones comes at least its wait after the one before.
    fn most_failures_in_an_hour(rule: Rule) -> u64 {
        let (mut failures, mut elapsed) = (0u64, 0i64);
        loop {
            let next = elapsed + rule.wait_micros(failures);
            if next > WINDOW_MICROS {
                return failures;
            }
            failures += 1;
            elapsed = next;
        }
    }

    #[test]
    fn backoff_doubles_from_a_minute() {
        let rule = Rule::Backoff { free: 5 };
        let minutes: Vec<i64> = (4..=8)
            .map(|n| rule.wait_micros(n) / (60 * SECOND_MICROS))
            .collect();
        assert_eq!(minutes, [0, 1, 2, 4, 8]);
        assert!(rule.wait_micros(1_000) > 0, "no overflow");
    }

    #[test]
    fn the_documented_hourly_bounds_hold() {
        let pair = Rule::Backoff {
            free: PAIR_FREE_FAILURES,
        };
        let address = Rule::Backoff {
            free: ADDRESS_FREE_FAILURES,
        };
        let account = Rule::Pause {
            free: ACCOUNT_FREE_FAILURES,
            micros: ACCOUNT_DELAY_MICROS,
        };
        assert_eq!(most_failures_in_an_hour(pair), 10);
        assert_eq!(most_failures_in_an_hour(address), 15);
        assert_eq!(most_failures_in_an_hour(account), 380);
    }
}
