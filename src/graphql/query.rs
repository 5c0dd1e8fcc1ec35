//! The root `Query`.

use async_graphql::{Context, ID, Object, Result};

use super::cache_scope::CacheScope;
use super::types::{
    Article, BanConnection, Comment, CommentConnection, CommentForm, CommentStatus, DateTime,
    ModerationCounts, ModerationLogAction, ModerationLogConnection, ModerationSettings, Moderator,
};
use super::{services, viewer};
use crate::auth::Viewer;
use crate::domain::{
    self, PageRequest, accounts, bans, moderation, moderation_log, moderation_settings, threads,
};

pub struct Query;

/// Most slugs `articles` takes at once.
pub const MAX_SLUGS: usize = 100;

#[Object]
impl Query {
    /// The article with this slug; null when unknown.
    async fn article(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Article>> {
        let found = domain::articles::find_by_slug(&services(ctx).store, &slug).await?;
        match &found {
            Some(article) => CacheScope::article(ctx, article.id),
            None => CacheScope::everything(ctx),
        }
        Ok(found.map(Article::from))
    }

    /// The articles with these slugs, in the same order, null for unknown
    /// ones: the comment counts of an index page in one request. At most
    /// 100 slugs.
    #[graphql(complexity = "slugs.len().max(1) * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        slugs: Vec<String>,
    ) -> Result<Vec<Option<Article>>> {
        if slugs.len() > MAX_SLUGS {
            return Err(super::errors::bad_input(
                "slugs",
                &format!("at most {MAX_SLUGS} slugs may be asked for at once"),
            ));
        }
        let found = domain::articles::find_by_slugs(&services(ctx).store, &slugs).await?;
        let answer: Vec<Option<Article>> = slugs
            .iter()
            .map(|slug| {
                let article = found.iter().find(|a| a.slug == slug.trim());
                match article {
                    Some(article) => CacheScope::article(ctx, article.id),
                    None => CacheScope::everything(ctx),
                }
                article.cloned().map(Article::from)
            })
            .collect();
        Ok(answer)
    }

    /// The comment form for an article, as the server will take it: its
    /// fields (named as in `PostCommentInput`), which are required, their
    /// maximum lengths, whether comments are open, and the moderation mode.
    /// Give `articleUrl` for an article not created yet: with
    /// `--article-auto-create`, comments are open when that page is on a
    /// listed origin.
    async fn comment_form(
        &self,
        ctx: &Context<'_>,
        article_slug: String,
        article_url: Option<String>,
    ) -> Result<CommentForm> {
        let services = services(ctx);
        let form = domain::comment_form::form(
            &services.store,
            &services.events,
            &services.settings,
            services.auto_create.as_ref(),
            &article_slug,
            article_url.as_deref(),
        )
        .await?;
        match form.article {
            Some(article) => CacheScope::article(ctx, article),
            None => CacheScope::everything(ctx),
        }
        Ok(CommentForm(form))
    }

    /// Readers get APPROVED comments only, else null; moderators get any.
    async fn comment(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Comment>> {
        let Some(id) = domain::id::parse(id.as_str()) else {
            return Ok(None);
        };
        let found = threads::comment(&services(ctx).store, viewer(ctx), id).await?;
        match &found {
            Some(comment) => CacheScope::article(ctx, comment.article_id),
            None => CacheScope::everything(ctx),
        }
        Ok(found.map(Comment::from))
    }

    /// The moderator behind the token; null without a valid token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Moderator>> {
        let Viewer::Moderator(me) = viewer(ctx) else {
            return Ok(None);
        };
        Ok(accounts::find(&services(ctx).store, me.id)
            .await?
            .map(Moderator))
    }

    /// Every active moderator account. Admins only.
    async fn moderators(&self, ctx: &Context<'_>) -> Result<Vec<Moderator>> {
        let accounts = accounts::list(&services(ctx).store, viewer(ctx)).await?;
        Ok(accounts.into_iter().map(Moderator).collect())
    }

    /// The site-wide moderation rules. Moderators only.
    async fn moderation_settings(&self, ctx: &Context<'_>) -> Result<ModerationSettings> {
        let services = services(ctx);
        let settings = moderation_settings::read(
            &services.store,
            &services.events,
            &services.settings,
            viewer(ctx),
        )
        .await?;
        Ok(ModerationSettings((*settings).clone()))
    }

    /// Banned authors, newest first. Moderators only.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn bans(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(PageRequest::DEFAULT_FIRST)")] first: Option<i64>,
        after: Option<String>,
    ) -> Result<BanConnection> {
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        let found = bans::list(&services(ctx).store, viewer(ctx), &page).await?;
        Ok(BanConnection(found))
    }

    /// The moderation log, newest first: every moderation action, and
    /// authors' own edits and withdrawals. Moderators only.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn moderation_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(PageRequest::DEFAULT_FIRST)")] first: Option<i64>,
        after: Option<String>,
        moderator_id: Option<ID>,
        article_slug: Option<String>,
        action: Option<ModerationLogAction>,
        since: Option<DateTime>,
    ) -> Result<ModerationLogConnection> {
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        let query = moderation_log::LogQuery {
            moderator_id: moderator_id.as_ref().map(|id| id.as_str()),
            article_slug: article_slug.as_deref(),
            action: action.map(Into::into),
            since: since.map(|t| t.0.timestamp_micros()),
        };
        let found = moderation_log::page(&services(ctx).store, viewer(ctx), query, &page).await?;
        Ok(ModerationLogConnection(found))
    }

    /// How many comments are pending, approved and hidden, on one article
    /// or on all. Moderators only.
    async fn moderation_counts(
        &self,
        ctx: &Context<'_>,
        article_slug: Option<String>,
    ) -> Result<ModerationCounts> {
        let counts =
            moderation::counts(&services(ctx).store, viewer(ctx), article_slug.as_deref()).await?;
        Ok(counts.into())
    }

    /// Comments by status, oldest first, across articles or within one.
    /// Moderators only.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(CommentStatus::Pending)")] status: Option<CommentStatus>,
        article_slug: Option<String>,
        #[graphql(default_with = "Some(PageRequest::DEFAULT_FIRST)")] first: Option<i64>,
        after: Option<String>,
    ) -> Result<CommentConnection> {
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        let status = status.unwrap_or(CommentStatus::Pending);
        let found = threads::queue(
            &services(ctx).store,
            viewer(ctx),
            status.into(),
            article_slug.as_deref(),
            &page,
        )
        .await?;
        Ok(found.into())
    }
}
