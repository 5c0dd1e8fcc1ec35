//! Moderator accounts: creating them, logging in (throttled), recognising
//! them on later requests, changing passwords, logging out, and what admins
//! do to other accounts. Every change that should end a session takes
//! effect on the next request, on every instance: tokens are checked
//! against the account's token version and the revocation list each time.

use std::net::IpAddr;

use sea_orm::SqlErr;
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::auth::{TokenKeys, Viewer, ViewerModerator, password};
use crate::error::{AppError, AppResult};
use crate::store::entities::moderator;
use crate::store::{Store, moderators, now_micros, tokens};

use super::flood::Fingerprints;
use super::login_throttle;
use super::{AuthorName, Email, ModeratorRole, Password};

/// A moderator account to create, before validation.
#[derive(Debug, Clone)]
pub struct NewModerator {
    pub email: String,
    pub name: String,
    pub role: ModeratorRole,
    pub password: String,
}

/// Creates a moderator account. Refuses an email that already has one.
pub async fn add(store: &Store, input: NewModerator) -> AppResult<moderator::Model> {
    let email = Email::parse_field(&input.email, "email")?;
    let name = AuthorName::parse_field(&input.name, "name")?;
    let password = Password::parse(&input.password)?;
    let taken = || AppError::bad_input("email", "a moderator with this email already exists");
    if moderators::find_by_email(store.db(), email.as_str())
        .await?
        .is_some()
    {
        return Err(taken());
    }
    let password_hash = password::hash(&password).await?;
    let now = now_micros();
    let inserted = moderators::insert(
        store.db(),
        moderator::Model {
            id: Uuid::now_v7(),
            email: email.to_login_key(),
            name: name.into_inner(),
            role: input.role.as_str().to_owned(),
            password_hash,
            created_at: now,
            updated_at: now,
            token_version: 0,
            removed_at: None,
        },
    )
    .await;
    let created = match inserted {
        Ok(created) => created,
        // Created by someone else since the check above, or removed earlier.
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(taken());
        }
        Err(err) => return Err(err.into()),
    };
    tracing::info!(moderator = %created.id, role = %created.role, "moderator created");
    Ok(created)
}

/// Creates the first admin from the environment when there is no moderator
/// yet; otherwise does nothing. Returns whether an account was created.
pub async fn bootstrap_admin(
    store: &Store,
    email: &str,
    name: &str,
    password: &str,
) -> AppResult<bool> {
    if moderators::count(store.db()).await? > 0 {
        return Ok(false);
    }
    let created = add(
        store,
        NewModerator {
            email: email.to_owned(),
            name: name.to_owned(),
            role: ModeratorRole::Admin,
            password: password.to_owned(),
        },
    )
    .await;
    match created {
        Ok(_) => Ok(true),
        // Another instance starting at the same moment created it first.
        Err(_) if moderators::count(store.db()).await? > 0 => Ok(false),
        Err(err) => Err(err),
    }
}

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
pub async fn login(
    store: &Store,
    keys: &TokenKeys,
    fingerprints: &Fingerprints,
    client: Option<IpAddr>,
    email: &str,
    password: &str,
) -> AppResult<Login> {
    let failed = || AppError::Unauthenticated("invalid email or password");
    let attempt = login_throttle::admit(store, fingerprints, email, client).await?;

    let account = match Email::parse_field(email, "email") {
        Ok(email) => moderators::find_by_email(store.db(), email.as_str()).await?,
        Err(_) => None,
    };
    let within_limit = password.chars().count() <= Password::MAX_CHARS;
    let stored = account
        .as_ref()
        .filter(|_| within_limit)
        .map(|m| m.password_hash.clone());
    let verified = password::verify(password.to_owned(), stored).await?;
    let Some(moderator) = account.filter(|_| verified) else {
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

/// The viewer behind a bearer token, if any: a moderator only while the
/// token is valid, not revoked, as recent as the account's last password
/// change, and the account is not removed.
pub async fn viewer_from_token(
    store: &Store,
    keys: &TokenKeys,
    token: Option<&str>,
) -> AppResult<Viewer> {
    let Some(token) = token else {
        return Ok(Viewer::Anonymous);
    };
    let Some(claims) = keys.verify(token) else {
        return Ok(Viewer::InvalidToken);
    };
    let Some(account) = moderators::find_by_id(store.db(), claims.moderator_id).await? else {
        return Ok(Viewer::InvalidToken);
    };
    if account.token_version != claims.version
        || tokens::is_revoked(store.db(), claims.token_id).await?
    {
        return Ok(Viewer::InvalidToken);
    }
    Ok(Viewer::Moderator(ViewerModerator {
        id: account.id,
        role: account.role.parse().map_err(AppError::Internal)?,
        token_id: claims.token_id,
        token_expires_at: claims.expires_at,
    }))
}

/// The active account of a moderator id.
pub async fn find(store: &Store, id: Uuid) -> AppResult<Option<moderator::Model>> {
    Ok(moderators::find_by_id(store.db(), id).await?)
}

/// Ends the session of the token this request came with.
pub async fn logout(store: &Store, viewer: &Viewer) -> AppResult<()> {
    let moderator = viewer.require_moderator()?;
    let txn = store.begin_write().await?;
    tokens::revoke(&txn, moderator.token_id, moderator.token_expires_at).await?;
    tokens::prune(&txn, now_micros() / 1_000_000).await?;
    txn.commit().await?;
    tracing::info!(moderator = %moderator.id, "moderator logged out");
    Ok(())
}

/// Changes the caller's password, ends every session of the account, and
/// starts a new one. A wrong current password counts as a failed login for
/// the account from `client`, under the same limits, so that a stolen token
/// does not open a way to guess the password.
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
    let new =
        Password::parse(new).map_err(|err| AppError::bad_input("newPassword", err.message()))?;
    let attempt = login_throttle::admit(store, fingerprints, &account.email, client).await?;
    if !password::verify(current.to_owned(), Some(account.password_hash.clone())).await? {
        return Err(AppError::bad_input(
            "currentPassword",
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
    tracing::info!(moderator = %updated.id, "moderator changed password");
    Ok(Login {
        token,
        moderator: updated,
    })
}

/// Every active moderator. Admins only.
pub async fn list(store: &Store, viewer: &Viewer) -> AppResult<Vec<moderator::Model>> {
    viewer.require_admin()?;
    Ok(moderators::list(store.db()).await?)
}

/// Changes another moderator's role. Admins only; an admin cannot demote
/// themself, so there is always an admin left.
pub async fn set_role(
    store: &Store,
    viewer: &Viewer,
    id: &str,
    role: ModeratorRole,
) -> AppResult<moderator::Model> {
    let admin = viewer.require_admin()?;
    let id = moderator_id(id)?;
    if id == admin.id {
        return Err(AppError::bad_input(
            "id",
            "admins cannot change their own role",
        ));
    }
    let account = moderators::find_by_id(store.db(), id)
        .await?
        .ok_or(AppError::NotFound("moderator"))?;
    let updated = moderators::set_role(store.db(), account, role.as_str(), now_micros()).await?;
    tracing::info!(moderator = %updated.id, role = role.as_str(), by = %admin.id, "moderator role changed");
    Ok(updated)
}

/// Removes another moderator: they can no longer log in, and their tokens
/// stop working at once. Admins only; an admin cannot remove themself.
pub async fn remove(store: &Store, viewer: &Viewer, id: &str) -> AppResult<moderator::Model> {
    let admin = viewer.require_admin()?;
    let id = moderator_id(id)?;
    if id == admin.id {
        return Err(AppError::bad_input("id", "admins cannot remove themselves"));
    }
    let account = moderators::find_by_id(store.db(), id)
        .await?
        .ok_or(AppError::NotFound("moderator"))?;
    if moderators::remove(store.db(), id, now_micros()).await? == 0 {
        return Err(AppError::NotFound("moderator"));
    }
    tracing::info!(moderator = %id, by = %admin.id, "moderator removed");
    Ok(account)
}

fn moderator_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| AppError::NotFound("moderator"))
}
