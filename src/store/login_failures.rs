//! Recent failed password checks, by keyed hash of the account, the
//! address, or both.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

use super::entities::login_failure::{self, Column, Entity as LoginFailure};

/// How many failures under `key` happened since `since`, and when the
/// latest did.
pub async fn summary(
    db: &impl ConnectionTrait,
    key: &str,
    since: i64,
) -> Result<(u64, Option<i64>), DbErr> {
    let row = LoginFailure::find()
        .select_only()
        .column_as(Expr::col(Column::Id).count(), "failures")
        .column_as(Expr::col(Column::CreatedAt).max(), "latest")
        .filter(Column::Key.eq(key))
        .filter(Column::CreatedAt.gt(since))
        .into_tuple::<(i64, Option<i64>)>()
        .one(db)
        .await?;
    Ok(row.map_or((0, None), |(failures, latest)| {
        (u64::try_from(failures).unwrap_or(0), latest)
    }))
}

/// Records a failure under `key`; returns its id.
pub async fn record(db: &impl ConnectionTrait, key: String, now: i64) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    login_failure::ActiveModel {
        id: Set(id),
        key: Set(key),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// Takes back the failures recorded with these ids.
pub async fn forget(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    LoginFailure::delete_many()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets the failures under `key`, after the right password.
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
