//! Queries on articles.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
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

/// Reads an article and keeps others from changing it, or from moderating
/// its comments, until the transaction ends (`SELECT … FOR UPDATE` on
/// PostgreSQL; SQLite's write transaction already excludes other writers).
pub async fn lock_for_update(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<article::Model>, DbErr> {
    Article::find_by_id(id).lock_exclusive().one(db).await
}

/// Reads an article by slug and keeps it from changing until the
/// transaction ends (`FOR SHARE`): posters do not block each other.
pub async fn lock_shared_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<article::Model>, DbErr> {
    Article::find()
        .filter(article::Column::Slug.eq(slug))
        .lock_shared()
        .one(db)
        .await
}

/// Reads an article by slug for an update (`FOR UPDATE`).
pub async fn lock_for_update_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<article::Model>, DbErr> {
    Article::find()
        .filter(article::Column::Slug.eq(slug))
        .lock_exclusive()
        .one(db)
        .await
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

/// Inserts an article unless one with its slug exists; says whether it did.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    model: article::Model,
) -> Result<bool, DbErr> {
    let inserted = Article::insert(article::ActiveModel::from(model))
        .on_conflict_do_nothing_on([article::Column::Slug])
        .exec(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}

/// Saves the fields an upsert may change.
pub async fn update(
    db: &impl ConnectionTrait,
    model: article::Model,
) -> Result<article::Model, DbErr> {
    article::ActiveModel {
        id: Set(model.id),
        title: Set(model.title),
        url: Set(model.url),
        comments_open: Set(model.comments_open),
        updated_at: Set(model.updated_at),
        moderation_mode: Set(model.moderation_mode),
        close_after_days: Set(model.close_after_days),
        ..Default::default()
    }
    .update(db)
    .await
}

/// The articles with these slugs, in no particular order; unknown ones are
/// left out.
pub async fn find_by_slugs(
    db: &impl ConnectionTrait,
    slugs: &[String],
) -> Result<Vec<article::Model>, DbErr> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    Article::find()
        .filter(article::Column::Slug.is_in(slugs.iter().cloned()))
        .all(db)
        .await
}
