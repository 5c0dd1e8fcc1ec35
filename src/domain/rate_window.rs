//! What the two limiters (flood control of posts, throttling of password
//! guesses) share: the keys they count under are locked across instances
//! while a try is counted, and a refusal says how long to wait in whole
//! seconds.

use sea_orm::{ConnectionTrait, DbBackend};

use crate::error::{AppError, AppResult};

const SECOND_MICROS: i64 = 1_000_000;

/// Takes PostgreSQL advisory locks on `keys` (hex fingerprints) for the rest
/// of the transaction, in one order so that two tries cannot deadlock, so
/// that two instances cannot both admit a try over a limit at once. SQLite
/// holds its write lock for the whole transaction already.
pub async fn lock(txn: &impl ConnectionTrait, keys: &[&str]) -> AppResult<()> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut locks: Vec<i64> = keys.iter().map(|key| lock_id(key)).collect();
    locks.sort_unstable();
    locks.dedup();
    for lock in locks {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({lock})"))
            .await?;
    }
    Ok(())
}

/// The refusal of a try that may come again in `wait_micros`: at least a
/// second, rounded up.
pub fn refusal(wait_micros: i64) -> AppError {
    AppError::RateLimited {
        retry_after: seconds_ceil(wait_micros).max(1),
    }
}

/// An advisory-lock id from a hex fingerprint.
fn lock_id(fingerprint: &str) -> i64 {
    fingerprint
        .get(..15)
        .and_then(|prefix| i64::from_str_radix(prefix, 16).ok())
        .unwrap_or_default()
}

fn seconds_ceil(micros: i64) -> u64 {
    u64::try_from((micros + SECOND_MICROS - 1) / SECOND_MICROS).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds_and_never_say_zero() {
        assert_eq!(seconds_ceil(1), 1);
        assert_eq!(seconds_ceil(15_000_000), 15);
        assert_eq!(seconds_ceil(14_000_001), 15);
        assert!(matches!(
            refusal(0),
            AppError::RateLimited { retry_after: 1 }
        ));
        assert!(matches!(
            refusal(2_500_000),
            AppError::RateLimited { retry_after: 3 }
        ));
    }

    #[test]
    fn lock_ids_come_from_the_fingerprint() {
        assert_eq!(lock_id("000000000000001ff"), 1);
        assert_eq!(lock_id("short"), 0);
    }
}
