//! Queries on moderator accounts.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use uuid::Uuid;

use super::entities::moderator::{self, Entity as Moderator};

/// Finds a moderator by login email (compared lower-cased).
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<moderator::Model>, DbErr> {
    Moderator::find()
        .filter(moderator::Column::Email.eq(email.to_lowercase()))
        .one(db)
        .await
}

pub async fn find_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<moderator::Model>, DbErr> {
    Moderator::find_by_id(id).one(db).await
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Moderator::find().count(db).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    model: moderator::Model,
) -> Result<moderator::Model, DbErr> {
    moderator::ActiveModel {
        id: Set(model.id),
        email: Set(model.email),
        name: Set(model.name),
        role: Set(model.role),
        password_hash: Set(model.password_hash),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
    }
    .insert(db)
    .await
}
