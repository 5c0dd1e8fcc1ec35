//! The `Article` type.

use async_graphql::{Context, ID, Object, Result};

use super::{CommentConnection, CommentOrder, DateTime, ModerationMode};
use crate::domain::moderation_settings::{self, Settings};
use crate::domain::threads::{self, Level, StoredArticle};
use crate::domain::{self, article_policy};
use crate::domain::{ArticleSlug, ArticleTitle, ArticleUrl, PageRequest};
use crate::graphql::limits::text_cost;
use crate::graphql::{AnswerExpiry, services};

/// A page that comments attach to.
pub struct Article(pub StoredArticle, Reached);

/// How a request reached an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// By name, from the root or a mutation.
    Directly,
    /// From one of its comments (`Comment.article`). Its thread is refused
    /// there: every comment of a list would fetch the same thread again,
    /// multiplying one page of rows by the size of the list at each level.
    FromAComment,
}

impl From<StoredArticle> for Article {
    fn from(model: StoredArticle) -> Self {
        Self(model, Reached::Directly)
    }
}

impl Article {
    /// The article of a comment, as `Comment.article` shows it.
    pub fn of_comment(model: StoredArticle) -> Self {
        Self(model, Reached::FromAComment)
    }
}

#[Object]
impl Article {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The publisher's stable key: a CMS id or a URL path.
    #[graphql(complexity = "text_cost(ArticleSlug::MAX_CHARS)")]
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    #[graphql(complexity = "text_cost(ArticleTitle::MAX_CHARS)")]
    async fn title(&self) -> &str {
        &self.0.title
    }

    #[graphql(complexity = "text_cost(ArticleUrl::MAX_CHARS)")]
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    /// Whether readers may post new comments now: the article is open and
    /// has not reached its `closeAfterDays`.
    async fn comments_open(&self, ctx: &Context<'_>) -> Result<bool> {
        let settings = current_settings(ctx).await?;
        let now = domain::now_micros();
        AnswerExpiry::note(ctx, article_policy::open_until(&self.0, &settings, now));
        Ok(article_policy::comments_open(&self.0, &settings, now))
    }

    /// When the article closes for comments, if it does (`closeAfterDays`
    /// after its creation).
    async fn comments_close_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime>> {
        let settings = current_settings(ctx).await?;
        Ok(article_policy::closes_at(&self.0, &settings).map(DateTime::from_micros))
    }

    /// This article's own moderation mode; null when it follows the site's.
    async fn moderation_mode(&self) -> Option<ModerationMode> {
        self.0.moderation_mode.map(Into::into)
    }

    /// This article's own `closeAfterDays` (0 never); null when it follows
    /// the site's.
    async fn close_after_days(&self) -> Option<i32> {
        self.0.close_after_days
    }

    /// Approved comments at every depth.
    async fn comment_count(&self) -> i32 {
        super::comment::saturating_i32(self.0.approved_comment_count)
    }

    /// Approved top-level comments. Not available on an article reached
    /// through `Comment.article`: query the article itself.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(PageRequest::DEFAULT_FIRST)")] first: Option<i64>,
        after: Option<String>,
        #[graphql(default_with = "Some(CommentOrder::OldestFirst)")] order: Option<CommentOrder>,
    ) -> Result<CommentConnection> {
        if self.1 == Reached::FromAComment {
            return Err(crate::graphql::errors::bad_input(
                "comments",
                "an article's comments cannot be listed through Comment.article; query article(slug) instead",
            ));
        }
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        let order = order.unwrap_or_default();
        let found = threads::page(
            &services(ctx).store,
            crate::graphql::viewer(ctx),
            self.0.id,
            Level::TopLevel,
            order.into(),
            &page,
        )
        .await?;
        Ok(CommentConnection::of_thread(self.0.id, found))
    }
}

/// The moderation settings in force, as this instance last read them.
async fn current_settings(ctx: &Context<'_>) -> Result<std::sync::Arc<Settings>> {
    let services = services(ctx);
    Ok(moderation_settings::current(&services.store, &services.events, &services.settings).await?)
}
