//! Queries on post marks, for flood control.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::entities::post_mark::{Column, Entity as PostMark, Model};

/// The marks of this client since `since`, oldest first, at most `limit`
/// of them.
pub async fn recent(
    db: &impl ConnectionTrait,
    client_key: &str,
    since: i64,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    PostMark::find()
        .filter(Column::ClientKey.eq(client_key))
        .filter(Column::CreatedAt.gt(since))
        .order_by_asc(Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}

/// The newest mark of this client, if any.
pub async fn latest(db: &impl ConnectionTrait, client_key: &str) -> Result<Option<Model>, DbErr> {
    PostMark::find()
        .filter(Column::ClientKey.eq(client_key))
        .order_by_desc(Column::CreatedAt)
        .one(db)
        .await
}

pub async fn insert(db: &impl ConnectionTrait, client_key: String, now: i64) -> Result<(), DbErr> {
    super::entities::post_mark::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_key: Set(client_key),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Removes marks older than `before`.
pub async fn prune(db: &impl ConnectionTrait, before: i64) -> Result<(), DbErr> {
    PostMark::delete_many()
        .filter(Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}
