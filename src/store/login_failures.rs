//! Recent failed logins, by keyed hash of the account or the address.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::entities::login_failure::{self, Column, Entity as LoginFailure};

/// When the failures under `key` since `since` happened, oldest first, at
/// most `limit` of them.
pub async fn recent(
    db: &impl ConnectionTrait,
    key: &str,
    since: i64,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    LoginFailure::find()
        .select_only()
        .column(Column::CreatedAt)
        .filter(Column::Key.eq(key))
        .filter(Column::CreatedAt.gt(since))
        .order_by_asc(Column::CreatedAt)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await
}

pub async fn record(db: &impl ConnectionTrait, key: String, now: i64) -> Result<(), DbErr> {
    login_failure::ActiveModel {
        id: Set(Uuid::now_v7()),
        key: Set(key),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Forgets the failures under `key`, after a successful login.
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    LoginFailure::delete_many()
        .filter(Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets failures older than `before`.
pub async fn prune(db: &impl ConnectionTrait, before: i64) -> Result<(), DbErr> {
    LoginFailure::delete_many()
        .filter(Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}
