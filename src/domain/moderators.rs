//! Moderator accounts: creating them, logging in, and recognising them on
//! later requests.

use sea_orm::SqlErr;
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::auth::{TokenKeys, Viewer, ViewerModerator, password};
use crate::error::{AppError, AppResult};
use crate::store::entities::moderator;
use crate::store::{Store, moderators, now_micros};

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
    if moderators::find_by_email(store.db(), email.as_str())
        .await?
        .is_some()
    {
        return Err(AppError::bad_input(
            "email",
            "a moderator with this email already exists",
        ));
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
        },
    )
    .await;
    let created = match inserted {
        Ok(created) => created,
        // Created by someone else since the check above.
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::bad_input(
                "email",
                "a moderator with this email already exists",
            ));
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
pub async fn login(
    store: &Store,
    keys: &TokenKeys,
    email: &str,
    password: &str,
) -> AppResult<Login> {
    let failed = || AppError::Unauthenticated("invalid email or password");
    let account = match Email::parse_field(email, "email") {
        Ok(email) => moderators::find_by_email(store.db(), email.as_str()).await?,
        Err(_) => None,
    };
    let within_limit = password.chars().count() <= Password::MAX_CHARS;
    let stored = account
        .as_ref()
        .filter(|_| within_limit)
        .map(|m| m.password_hash.clone());
    if !password::verify(password.to_owned(), stored).await? {
        return Err(failed());
    }
    let moderator = account.ok_or_else(failed)?;
    let token = keys.issue(moderator.id).map_err(AppError::Internal)?;
    tracing::info!(moderator = %moderator.id, "moderator logged in");
    Ok(Login { token, moderator })
}

/// The viewer behind an `Authorization` header value, if any.
pub async fn viewer_from_token(
    store: &Store,
    keys: &TokenKeys,
    token: Option<&str>,
) -> AppResult<Viewer> {
    let Some(token) = token else {
        return Ok(Viewer::Anonymous);
    };
    let Some(id) = keys.verify(token) else {
        return Ok(Viewer::InvalidToken);
    };
    match moderators::find_by_id(store.db(), id).await? {
        Some(account) => Ok(Viewer::Moderator(ViewerModerator {
            id: account.id,
            role: account.role.parse().map_err(AppError::Internal)?,
        })),
        None => Ok(Viewer::InvalidToken),
    }
}

/// The account of a moderator id.
pub async fn find(store: &Store, id: Uuid) -> AppResult<Option<moderator::Model>> {
    Ok(moderators::find_by_id(store.db(), id).await?)
}
