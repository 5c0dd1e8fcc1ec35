//! Password hashing with argon2id at OWASP's parameters (m=19 MiB, t=2,
//! p=1), always off the async runtime.

use std::sync::{LazyLock, OnceLock};

use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::Password;
use crate::error::{AppError, AppResult};

/// A PHC string of an unguessable password, verified against when an account
/// does not exist, so a failed login takes the same time either way.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

/// Argon2 runs take 19 MiB each and a core for tens of milliseconds: at most
/// one per core runs at a time, and the rest wait their turn instead of
/// piling up threads and memory.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)));

/// Runs `work` on the blocking pool once a hashing slot is free.
async fn run_hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|err| AppError::Internal(err.into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| AppError::Internal(err.into()))
}

fn hash_blocking(password: &[u8]) -> AppResult<String> {
    Argon2::default()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(anyhow::anyhow!("hashing a password failed: {err}")))
}

fn dummy_hash() -> &'static str {
    DUMMY_HASH.get_or_init(|| {
        let random: [u8; 32] = rand::random();
        hash_blocking(&random).expect("argon2 with default parameters cannot fail")
    })
}

/// Hashes a new password with a fresh random salt.
pub async fn hash(password: &Password) -> AppResult<String> {
    let password = password.expose().to_owned();
    run_hashing(move || hash_blocking(password.as_bytes())).await?
}

/// Whether `password` matches `stored`. With no stored hash (no such
/// account) it verifies against a dummy hash and answers `false`, taking the
/// same time as a real check.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    run_hashing(move || {
        let account_exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let matches = match PasswordHash::new(&stored) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        };
        account_exists && matches
    })
    .await
}

/// Computes the dummy hash ahead of the first failed login.
pub async fn warm_up() {
    let _ = run_hashing(dummy_hash).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let password = Password::parse("correct horse battery").unwrap();
        let stored = hash(&password).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_absent_account_never_verifies() {
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
