//! Creating and editing articles: a moderation action like any other.

use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Field};
use crate::events::CommentEvents;
use crate::store::entities::article;
use crate::store::{Store, articles, now_micros};

use super::audit::{self, Action, Actor, Subject};
use super::moderation_settings::{MAX_CLOSE_AFTER_DAYS, in_range};
use super::{ArticleSlug, ArticleTitle, ArticleUrl, ModerationMode};

/// An article as a moderator (or the CMS) submits it, before validation.
#[derive(Debug, Clone)]
pub struct ArticleInput {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub comments_open: Option<bool>,
    /// The article's own moderation mode: `Some(None)` follows the site's
    /// again; `None` leaves it as it is.
    pub mode: Option<Option<ModerationMode>>,
    /// Days after creation when comments close (0 never): `Some(None)`
    /// follows the site's again; `None` leaves it as it is.
    pub close_after_days: Option<Option<i64>>,
}

/// Creates the article with this slug, or updates it. Fields left out keep
/// their value (`commentsOpen` starts open).
#[tracing::instrument(skip_all, fields(by = ?viewer.moderator_id()))]
pub async fn upsert(
    store: &Store,
    events: &CommentEvents,
    viewer: &Viewer,
    input: ArticleInput,
) -> AppResult<article::Model> {
    let moderator = viewer.require_moderator()?;
    let slug = ArticleSlug::parse(&input.slug)?;
    let title = ArticleTitle::parse(&input.title)?;
    let url = input.url.as_deref().map(ArticleUrl::parse).transpose()?;
    let close_after_days = input
        .close_after_days
        .map(|days| {
            days.map(|days| {
                in_range(days, MAX_CLOSE_AFTER_DAYS, Field::CloseAfterDays)
                    .map(|days| i32::try_from(days).unwrap_or(i32::MAX))
            })
            .transpose()
        })
        .transpose()?;

    let txn = store.begin_write().await?;
    let now = now_micros();
    let mut existing = articles::lock_for_update_by_slug(&txn, slug.as_str()).await?;
    let mut created = None;
    if existing.is_none() {
        let fresh = article::Model {
            id: Uuid::now_v7(),
            slug: slug.as_str().to_owned(),
            title: title.clone().into_inner(),
            url: url.clone().map(ArticleUrl::into_inner),
            comments_open: input.comments_open.unwrap_or(true),
            created_at: now,
            updated_at: now,
            approved_comment_count: 0,
            moderation_mode: input.mode.flatten(),
            close_after_days: close_after_days.flatten(),
        };
        if articles::insert_if_absent(&txn, fresh.clone()).await? {
            created = Some(fresh);
        } else {
            // Another instance created it a moment ago: update that one.
            existing = articles::lock_for_update_by_slug(&txn, slug.as_str()).await?;
        }
    }
    let (saved, action) = match (created, existing) {
        (Some(fresh), _) => (fresh, Action::CreateArticle),
        (None, Some(existing)) => {
            let changed = article::Model {
                title: title.into_inner(),
                url: url.map(ArticleUrl::into_inner).or(existing.url.clone()),
                comments_open: input.comments_open.unwrap_or(existing.comments_open),
                moderation_mode: input.mode.unwrap_or(existing.moderation_mode),
                close_after_days: close_after_days.unwrap_or(existing.close_after_days),
                updated_at: now,
                ..existing
            };
            (
                articles::update(&txn, changed).await?,
                Action::UpdateArticle,
            )
        }
        (None, None) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "article vanished during an upsert"
            )));
        }
    };
    audit::record(
        &txn,
        Actor::Moderator(moderator.id),
        action,
        Subject::Article(saved.id),
        None,
    )
    .await?;
    let mut news = events.news();
    news.article(saved.id);
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    tracing::info!(article = %saved.id, action = action.as_str(), "article saved");
    Ok(saved)
}

/// The article a reader or front end names by slug; `None` when unknown,
/// or when the slug could not be any article's.
pub async fn find_by_slug(store: &Store, raw: &str) -> AppResult<Option<article::Model>> {
    let Ok(slug) = ArticleSlug::parse(raw) else {
        return Ok(None);
    };
    Ok(articles::find_by_slug(store.db(), slug.as_str()).await?)
}

/// The id of the article with `slug`, when one is given (a filter); an
/// unknown slug is `NOT_FOUND`.
pub async fn id_of(store: &Store, slug: Option<&str>) -> AppResult<Option<Uuid>> {
    let Some(slug) = slug else {
        return Ok(None);
    };
    let article = find_by_slug(store, slug)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    Ok(Some(article.id))
}

/// The articles with these slugs, for a page of comment counts; slugs that
/// could not be any article's are skipped.
pub async fn find_by_slugs(store: &Store, raw: &[String]) -> AppResult<Vec<article::Model>> {
    let slugs: Vec<String> = raw
        .iter()
        .filter_map(|raw| ArticleSlug::parse(raw).ok())
        .map(|slug| slug.as_str().to_owned())
        .collect();
    Ok(articles::find_by_slugs(store.db(), &slugs).await?)
}
