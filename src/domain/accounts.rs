//! Moderator accounts: creating them, listing them, and what admins do to
//! other accounts (change a role, remove one). Each change is audited, in
//! one transaction with the change, like every moderation action; a change
//! that should end a session takes effect on the next request, on every
//! instance (tokens are checked against the account each time).

use sea_orm::SqlErr;
use uuid::Uuid;

use crate::auth::{Viewer, password};
use crate::error::{AppError, AppResult, Field};
use crate::store::entities::moderator;
use crate::store::{Store, moderators, now_micros};

use super::audit::{self, Action, Actor, Subject};
use super::{AuthorName, Email, ModeratorRole, Password};

pub use crate::store::entities::moderator::Model as StoredModerator;

/// A moderator account to create, before validation.
#[derive(Debug, Clone)]
pub struct NewModerator {
    pub email: String,
    pub name: String,
    pub role: ModeratorRole,
    pub password: String,
}

impl NewModerator {
    /// The same checks of the email, name and password as creating the
    /// account makes, without a database: lets a command refuse bad input
    /// before it opens one.
    pub fn check(&self) -> AppResult<()> {
        Email::parse_field(&self.email, Field::Email)?;
        AuthorName::parse_field(&self.name, Field::Name)?;
        Password::parse(&self.password)?;
        Ok(())
    }
}

/// Creates a moderator account (from the command line, or the first admin
/// at start-up). Refuses an email that already has one.
pub async fn add(store: &Store, input: NewModerator) -> AppResult<moderator::Model> {
    create(store, input, None).await
}

/// Creates a moderator account for an admin, audited like every change to
/// accounts. Admins only.
#[tracing::instrument(skip_all, fields(by = ?viewer.moderator_id()))]
pub async fn add_by_admin(
    store: &Store,
    viewer: &Viewer,
    input: NewModerator,
) -> AppResult<moderator::Model> {
    let admin = viewer.require_admin()?;
    create(store, input, Some(admin.id)).await
}

#[tracing::instrument(skip_all, fields(role = input.role.as_str()))]
async fn create(
    store: &Store,
    input: NewModerator,
    by: Option<Uuid>,
) -> AppResult<moderator::Model> {
    let email = Email::parse_field(&input.email, Field::Email)?;
    let name = AuthorName::parse_field(&input.name, Field::Name)?;
    let password = Password::parse(&input.password)?;
    let taken = || AppError::bad_input(Field::Email, "a moderator with this email already exists");
    if moderators::find_by_email(store.db(), email.as_str())
        .await?
        .is_some()
    {
        return Err(taken());
    }
    let password_hash = password::hash(&password).await?;
    let now = now_micros();
    let txn = store.begin_write().await?;
    let inserted = moderators::insert(
        &txn,
        moderator::Model {
            id: Uuid::now_v7(),
            email: email.to_login_key(),
            name: name.into_inner(),
            role: input.role,
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
    if let Some(admin) = by {
        let reason = format!("role {}", created.role.as_str());
        audit::record(
            &txn,
            Actor::Moderator(admin),
            Action::AddModerator,
            Subject::Account(created.id),
            Some(&reason),
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(moderator = %created.id, role = created.role.as_str(), "moderator created");
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

/// The active account of a moderator id.
pub async fn find(store: &Store, id: Uuid) -> AppResult<Option<moderator::Model>> {
    Ok(moderators::find_by_id(store.db(), id).await?)
}

/// Every active moderator. Admins only.
pub async fn list(store: &Store, viewer: &Viewer) -> AppResult<Vec<moderator::Model>> {
    viewer.require_admin()?;
    Ok(moderators::list(store.db()).await?)
}

/// Changes another moderator's role. Admins only; an admin cannot demote
/// themself, so there is always an admin left. Audited.
#[tracing::instrument(skip(store, viewer), fields(by = ?viewer.moderator_id()))]
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
            Field::Id,
            "admins cannot change their own role",
        ));
    }
    let txn = store.begin_write().await?;
    let account = moderators::find_by_id(&txn, id)
        .await?
        .ok_or(AppError::NotFound("moderator"))?;
    let updated = moderators::set_role(&txn, account, role, now_micros()).await?;
    let reason = format!("role {}", role.as_str());
    audit::record(
        &txn,
        Actor::Moderator(admin.id),
        Action::SetModeratorRole,
        Subject::Account(id),
        Some(&reason),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(moderator = %updated.id, role = role.as_str(), by = %admin.id, "moderator role changed");
    Ok(updated)
}

/// Removes another moderator: they can no longer log in, and their tokens
/// stop working at once. Admins only; an admin cannot remove themself.
/// Audited.
#[tracing::instrument(skip(store, viewer), fields(by = ?viewer.moderator_id()))]
pub async fn remove(store: &Store, viewer: &Viewer, id: &str) -> AppResult<moderator::Model> {
    let admin = viewer.require_admin()?;
    let id = moderator_id(id)?;
    if id == admin.id {
        return Err(AppError::bad_input(
            Field::Id,
            "admins cannot remove themselves",
        ));
    }
    let txn = store.begin_write().await?;
    let account = moderators::find_by_id(&txn, id)
        .await?
        .ok_or(AppError::NotFound("moderator"))?;
    if moderators::remove(&txn, id, now_micros()).await? == 0 {
        return Err(AppError::NotFound("moderator"));
    }
    audit::record(
        &txn,
        Actor::Moderator(admin.id),
        Action::RemoveModerator,
        Subject::Account(id),
        None,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(moderator = %id, by = %admin.id, "moderator removed; their tokens no longer hold");
    Ok(account)
}

fn moderator_id(raw: &str) -> AppResult<Uuid> {
    super::id::parse(raw).ok_or(AppError::NotFound("moderator"))
}
