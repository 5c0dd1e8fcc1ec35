//! Queries on articles.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::entities::article::{self, Entity as Article};

pub async fn find_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<article::Model>, DbErr> {
    Article::find()
        .filter(article::Column::Slug.eq(slug))
        .one(db)
        .await
}

pub async fn find_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<article::Model>, DbErr> {
    Article::find_by_id(id).one(db).await
}

pub async fn find_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<article::Model>, DbErr> {
    Article::find()
        .filter(article::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    model: article::Model,
) -> Result<article::Model, DbErr> {
    article::ActiveModel {
        id: Set(model.id),
        slug: Set(model.slug),
        title: Set(model.title),
        url: Set(model.url),
        comments_open: Set(model.comments_open),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
    }
    .insert(db)
    .await
}

pub async fn update(
    db: &impl ConnectionTrait,
    model: article::Model,
) -> Result<article::Model, DbErr> {
    article::ActiveModel {
        id: Set(model.id),
        slug: Set(model.slug),
        title: Set(model.title),
        url: Set(model.url),
        comments_open: Set(model.comments_open),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
    }
    .update(db)
    .await
}
