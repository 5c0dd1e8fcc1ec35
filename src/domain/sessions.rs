//! Moderator sessions: logging in (throttled), logging out, and changing
//! the password, which ends every other session. Who a token belongs to is
//! `auth`'s decision; the throttle is `login_throttle`'s.

use std::net::IpAddr;

use crate::auth::token::IssuedToken;
use crate::auth::{TokenKeys, Viewer, password};
use crate::error::{AppError, AppResult, Field};
use crate::store::entities::moderator;
use crate::store::{Store, moderators, now_micros, tokens};

use super::flood::Fingerprints;
use super::login_throttle;
use super::{Email, Password};

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: IssuedToken,
    pub moderator: moderator::Model,
}

/// Checks an email and password and issues a token. Every failure gives the
/// same error, and an unknown email costs the same time as a wrong password.
/// Tries are throttled per account and address, per address, and, past
/// what any owner needs, per account: see [`login_throttle`]. A pause,
/// never a permanent lock.
#[tracing::instrument(skip_all)]
pub async fn login(
    store: &Store,
    keys: &TokenKeys,
    fingerprints: &Fingerprints,
    client: Option<IpAddr>,
    email: &str,
    password: &str,
) -> AppResult<Login> {
    let failed = || AppError::Unauthenticated("invalid email or password");
    let admitted = login_throttle::admit(store, fingerprints, email, client).await;
    let account = match Email::parse_field(email, Field::Email) {
        Ok(email) => moderators::find_by_email(store.db(), email.as_str()).await?,
        Err(_) => None,
    };
    let attempt = match admitted {
        Ok(attempt) => attempt,
        Err(refused) => {
            // A security event, without the email: by account when there
            // is one.
            match &account {
                Some(account) => {
                    tracing::info!(moderator = %account.id, "login refused: too many failed attempts")
                }
                None => {
                    tracing::info!("login refused: too many failed attempts on an unknown account")
                }
            }
            return Err(refused);
        }
    };
    let within_limit = password.chars().count() <= Password::MAX_CHARS;
    let stored = account
        .as_ref()
        .filter(|_| within_limit)
        .map(|m| m.password_hash.clone());
    let verified = password::verify(password.to_owned(), stored).await?;
    let Some(moderator) = account.as_ref().filter(|_| verified).cloned() else {
        match &account {
            Some(account) => {
                tracing::info!(moderator = %account.id, "login failed: wrong password")
            }
            None => tracing::info!("login failed: no such account"),
        }
        return Err(failed());
    };
    attempt.succeeded(store).await?;
    let token = keys
        .issue(moderator.id, moderator.token_version)
        .map_err(AppError::Internal)?;
    upgrade_outdated_hash(store, &moderator, password);
    tracing::info!(moderator = %moderator.id, "moderator logged in");
    Ok(Login { token, moderator })
}

/// After a successful login, replaces a password hash made with earlier
/// settings by one made with today's, in the background: the login does not
/// wait for a second hash. A failure only costs the upgrade: it is tried
/// again at the next login.
fn upgrade_outdated_hash(store: &Store, moderator: &moderator::Model, password: &str) {
    if !password::is_outdated(&moderator.password_hash) {
        return;
    }
    let Ok(password) = Password::parse(password) else {
        return;
    };
    let (store, id, outdated) = (store.clone(), moderator.id, moderator.password_hash.clone());
    tokio::spawn(async move {
        let upgraded = match password::hash(&password).await {
            Ok(hash) => moderators::upgrade_password_hash(store.db(), id, &outdated, hash)
                .await
                .map_err(AppError::from),
            Err(err) => Err(err),
        };
        if let Err(err) = upgraded {
            tracing::warn!(moderator = %id, error = ?err, "could not upgrade a password hash");
        }
    });
}

/// Ends the session of the token this request came with.
#[tracing::instrument(skip_all, fields(by = ?viewer.moderator_id()))]
pub async fn logout(store: &Store, viewer: &Viewer) -> AppResult<()> {
    let moderator = viewer.require_moderator()?;
    let txn = store.begin_write().await?;
    tokens::revoke(&txn, moderator.token_id, moderator.token_expires_at).await?;
    tokens::prune(&txn, now_micros() / 1_000_000).await?;
    txn.commit().await?;
    tracing::info!(moderator = %moderator.id, "moderator logged out; the token is revoked");
    Ok(())
}

/// Changes the caller's password, ends every session of the account, and
/// starts a new one. A wrong current password counts as a failed login for
/// the account from `client`, under the same limits, so that a stolen token
/// does not open a way to guess the password.
#[tracing::instrument(skip_all, fields(by = ?viewer.moderator_id()))]
pub async fn change_password(
    store: &Store,
    keys: &TokenKeys,
    fingerprints: &Fingerprints,
    client: Option<IpAddr>,
    viewer: &Viewer,
    current: &str,
    new: &str,
) -> AppResult<Login> {
    let me = viewer.require_moderator()?;
    let account = moderators::find_by_id(store.db(), me.id)
        .await?
        .ok_or(AppError::Unauthenticated("the token is invalid or expired"))?;
    let new = Password::parse(new)
        .map_err(|err| AppError::bad_input(Field::NewPassword, err.message()))?;
    let attempt = login_throttle::admit(store, fingerprints, &account.email, client).await?;
    if !password::verify(current.to_owned(), Some(account.password_hash.clone())).await? {
        return Err(AppError::bad_input(
            Field::CurrentPassword,
            "the current password is wrong",
        ));
    }
    attempt.succeeded(store).await?;
    let password_hash = password::hash(&new).await?;
    let updated =
        moderators::set_password(store.db(), account, password_hash, now_micros()).await?;
    let token = keys
        .issue(updated.id, updated.token_version)
        .map_err(AppError::Internal)?;
    tracing::info!(moderator = %updated.id, "moderator changed password; earlier tokens are revoked");
    Ok(Login {
        token,
        moderator: updated,
    })
}
