//! Banned authors, by the keyed hash of their email.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entities::ban::{self, Column, Entity as Ban};
use super::page::{Page, PageRequest, newest_first};

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<ban::Model>, DbErr> {
    Ban::find_by_id(id).one(db).await
}

pub async fn find_by_email_key(
    db: &impl ConnectionTrait,
    email_key: &str,
) -> Result<Option<ban::Model>, DbErr> {
    Ban::find()
        .filter(Column::EmailKey.eq(email_key))
        .one(db)
        .await
}

/// Stores a ban unless that email is banned already; returns whether it did.
pub async fn insert_if_absent(db: &impl ConnectionTrait, ban: ban::Model) -> Result<bool, DbErr> {
    let inserted = Ban::insert(ban::ActiveModel::from(ban))
        .on_conflict_do_nothing_on([Column::EmailKey])
        .exec(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}

pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    Ok(Ban::delete_by_id(id).exec(db).await?.rows_affected > 0)
}

/// A page of bans, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    page: &PageRequest,
) -> Result<Page<ban::Model>, DbErr> {
    newest_first(db, Ban::find(), (Column::CreatedAt, Column::Id), page).await
}
