//! Articles without integration work: with `--article-auto-create`, the
//! first comment posted to an unknown slug creates its article, provided
//! the post says where the article is (`articleUrl`) and that page is on an
//! origin listed with `--cors-origins` (`*` lists none), as Coral does with
//! its allowed domains.

use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::error::{AppError, AppResult, Field};
use crate::store::entities::article;
use crate::store::{articles, now_micros};

use super::origins::CorsOrigins;
use super::{ArticleSlug, ArticleTitle, ArticleUrl};

/// The article a post names when it does not exist yet.
#[derive(Debug, Clone, Default)]
pub struct ArticlePage {
    pub url: Option<String>,
    pub title: Option<String>,
}

/// Whether a first comment on `page` would create its article.
pub fn would_create(origins: Option<&CorsOrigins>, page_url: Option<&str>) -> bool {
    match (origins, page_url) {
        (Some(origins), Some(url)) => {
            ArticleUrl::parse(url).is_ok_and(|url| origins.lists_page(&url.into_inner()))
        }
        _ => false,
    }
}

/// The article a post to the unknown `slug` creates, when auto-creation is
/// on (`origins`); `NOT_FOUND` when it is off. Nothing is written here: the
/// post creates it in its own transaction, so a refused post creates
/// nothing.
pub fn article_to_create(
    origins: Option<&CorsOrigins>,
    slug: &ArticleSlug,
    page: &ArticlePage,
) -> AppResult<article::Model> {
    let Some(origins) = origins else {
        return Err(AppError::NotFound("article"));
    };
    let Some(raw_url) = page.url.as_deref() else {
        return Err(AppError::bad_input(
            Field::ArticleUrl,
            "this article does not exist yet: give its articleUrl to open it for comments",
        ));
    };
    let url = ArticleUrl::parse(raw_url)
        .map_err(|_| {
            AppError::bad_input(
                Field::ArticleUrl,
                "articleUrl must be an absolute http or https URL",
            )
        })?
        .into_inner();
    if !origins.lists_page(&url) {
        return Err(AppError::bad_input(
            Field::ArticleUrl,
            "articleUrl is not on a site this server takes comments for",
        ));
    }
    let title = match page.title.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(raw) => ArticleTitle::parse(raw)
            .map_err(|err| AppError::bad_input(Field::ArticleTitle, err.message()))?
            .into_inner(),
        None => slug
            .as_str()
            .chars()
            .take(ArticleTitle::MAX_CHARS)
            .collect(),
    };
    let now = now_micros();
    Ok(article::Model {
        id: Uuid::now_v7(),
        slug: slug.as_str().to_owned(),
        title,
        url: Some(url),
        comments_open: true,
        created_at: now,
        updated_at: now,
        approved_comment_count: 0,
        moderation_mode: None,
        close_after_days: None,
    })
}

/// Creates `fresh` in the post's transaction `txn` unless another post
/// created it first; true when this one did (the post then announces the
/// new article, retiring cached answers saying it does not exist).
pub async fn create(txn: &DatabaseTransaction, fresh: article::Model) -> AppResult<bool> {
    Ok(articles::insert_if_absent(txn, fresh).await?)
}
