//! Revoked token ids, kept until the tokens would have expired anyway.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::entities::revoked_token::{self, Column, Entity as RevokedToken};

pub async fn revoke(
    db: &impl ConnectionTrait,
    token_id: Uuid,
    expires_at: i64,
) -> Result<(), DbErr> {
    RevokedToken::insert(revoked_token::ActiveModel {
        token_id: Set(token_id),
        expires_at: Set(expires_at),
    })
    .on_conflict_do_nothing_on([Column::TokenId])
    .exec(db)
    .await?;
    Ok(())
}

pub async fn is_revoked(db: &impl ConnectionTrait, token_id: Uuid) -> Result<bool, DbErr> {
    Ok(RevokedToken::find_by_id(token_id).one(db).await?.is_some())
}

/// Forgets revocations of tokens that have expired by `now` (seconds).
pub async fn prune(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    RevokedToken::delete_many()
        .filter(Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(())
}
