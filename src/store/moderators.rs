//! Queries on moderator accounts. Removed accounts are kept (the audit log
//! points at them) but are invisible to logins and tokens.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::entities::moderator::{self, Column, Entity as Moderator};

/// Finds an active moderator by login email (compared lower-cased).
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<moderator::Model>, DbErr> {
    Moderator::find()
        .filter(Column::Email.eq(email.to_lowercase()))
        .filter(Column::RemovedAt.is_null())
        .one(db)
        .await
}

/// Finds an active moderator by id.
pub async fn find_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<moderator::Model>, DbErr> {
    Moderator::find_by_id(id)
        .filter(Column::RemovedAt.is_null())
        .one(db)
        .await
}

/// Every active moderator, oldest account first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<moderator::Model>, DbErr> {
    Moderator::find()
        .filter(Column::RemovedAt.is_null())
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await
}

/// Accounts ever created, removed ones included.
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Moderator::find().count(db).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    model: moderator::Model,
) -> Result<moderator::Model, DbErr> {
    moderator::ActiveModel::from(model).insert(db).await
}

/// Replaces the password hash and revokes every earlier token.
pub async fn set_password(
    db: &impl ConnectionTrait,
    account: moderator::Model,
    password_hash: String,
    now: i64,
) -> Result<moderator::Model, DbErr> {
    let version = account.token_version + 1;
    let mut row: moderator::ActiveModel = account.into();
    row.password_hash = Set(password_hash);
    row.token_version = Set(version);
    row.updated_at = Set(now);
    row.update(db).await
}

/// Replaces a password hash with one of the same password made with newer
/// settings, unless the password was changed meanwhile. Tokens stay valid.
pub async fn upgrade_password_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    old_hash: &str,
    new_hash: String,
) -> Result<(), DbErr> {
    Moderator::update_many()
        .col_expr(Column::PasswordHash, Expr::value(new_hash))
        .filter(Column::Id.eq(id))
        .filter(Column::PasswordHash.eq(old_hash))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_role(
    db: &impl ConnectionTrait,
    account: moderator::Model,
    role: moderator::ModeratorRole,
    now: i64,
) -> Result<moderator::Model, DbErr> {
    let mut row: moderator::ActiveModel = account.into();
    row.role = Set(role);
    row.updated_at = Set(now);
    row.update(db).await
}

/// Removes an account: it can no longer log in, and its tokens stop working.
pub async fn remove(db: &impl ConnectionTrait, id: Uuid, now: i64) -> Result<u64, DbErr> {
    let result = Moderator::update_many()
        .col_expr(Column::RemovedAt, Expr::value(now))
        .col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RemovedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Accounts by id, removed ones included: the names the moderation log and
/// the bans show for who acted.
pub async fn find_any_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<moderator::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Moderator::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Any account with this login email (compared lower-cased), removed ones
/// included.
pub async fn find_any_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<moderator::Model>, DbErr> {
    Moderator::find()
        .filter(Column::Email.eq(email.to_lowercase()))
        .one(db)
        .await
}

/// Stores an account brought in from elsewhere unless one with its id
/// exists; says whether it did.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    model: moderator::Model,
) -> Result<bool, DbErr> {
    let inserted = Moderator::insert(moderator::ActiveModel::from(model))
        .on_conflict_do_nothing_on([Column::Id])
        .exec(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}
