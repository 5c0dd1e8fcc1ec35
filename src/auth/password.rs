//! Password hashing with argon2id, always off the async runtime. New hashes
//! use the lightest of OWASP's equivalent argon2id settings (m=7 MiB, t=5,
//! p=1), which it rates as strong as m=19 MiB, t=2 for a third of the
//! memory; a stored hash is verified with the settings it was made with.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use tokio::sync::Semaphore;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::Password;
use crate::error::{AppError, AppResult};

/// A PHC string of an unguessable password, verified against when an account
/// does not exist, so a failed login takes the same time either way.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

/// Memory (KiB), passes and lanes of new hashes.
const PARAMS: Params = match Params::new(7 * 1024, 5, 1, None) {
    Ok(params) => params,
    Err(_) => panic!("argon2 parameters out of range"),
};

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS)
}

/// Argon2 runs take 7 MiB each (19 MiB for a hash made with the settings of
/// earlier versions) and a core for tens of milliseconds: at most one per
/// core runs at a time, and the rest wait their turn instead of piling up
/// threads and memory.
static HASHING: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(crate::machine::cores())));

/// How many hashes wait for a slot now.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// How many password hashes wait for a free core now (the hashing queue).
pub fn hashing_waiting() -> usize {
    WAITING.load(Ordering::Relaxed)
}

/// Counts a hash as waiting for as long as it lives.
struct Waiting;

impl Waiting {
    fn start() -> Self {
        WAITING.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `work` on the blocking pool once a hashing slot is free. The slot
/// goes with the work: a request that gives up waiting (its time ran out)
/// does not free it while the hash still runs.
async fn run_hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let waiting = Waiting::start();
    let slot = Arc::clone(&HASHING)
        .acquire_owned()
        .await
        .map_err(|err| AppError::Internal(err.into()))?;
    drop(waiting);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|err| AppError::Internal(err.into()))
}

fn hash_blocking(password: &[u8]) -> AppResult<String> {
    argon2()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(anyhow::anyhow!("hashing a password failed: {err}")))
}

fn dummy_hash() -> &'static str {
    DUMMY_HASH.get_or_init(|| {
        let random: [u8; 32] = rand::random();
        #[allow(
            clippy::expect_used,
            reason = "argon2 with constant, valid parameters and a 32-byte input cannot fail"
        )]
        hash_blocking(&random).expect("argon2 with valid parameters cannot fail")
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
            Ok(parsed) => argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        };
        account_exists && matches
    })
    .await
}

/// Whether `stored` was made with other settings than new hashes are, and so
/// should be replaced after the next successful login.
pub fn is_outdated(stored: &str) -> bool {
    PasswordHash::new(stored).map_or(true, |parsed| {
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || Params::try_from(&parsed).map_or(true, |params| {
                (params.m_cost(), params.t_cost(), params.p_cost())
                    != (PARAMS.m_cost(), PARAMS.t_cost(), PARAMS.p_cost())
            })
    })
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
        assert!(stored.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
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
    async fn hashes_of_earlier_settings_verify_and_are_outdated() {
        let earlier = Argon2::default()
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(earlier.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(is_outdated(&earlier));
        assert!(
            verify("correct horse battery".into(), Some(earlier))
                .await
                .unwrap()
        );
        let current = hash(&Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(!is_outdated(&current));
    }

    #[tokio::test]
    async fn an_absent_account_never_verifies() {
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
