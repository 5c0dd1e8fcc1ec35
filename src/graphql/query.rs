//! The root `Query`.

use async_graphql::{Context, ID, Object, Result};

use super::types::{Article, Comment, CommentConnection, CommentForm, CommentStatus, Moderator};
use super::{services, viewer};
use crate::auth::Viewer;
use crate::domain::{self, PageRequest, moderators};
use crate::error::AppError;
use crate::store::comments;

pub struct Query;

/// Most slugs `articles` takes at once.
pub const MAX_SLUGS: usize = 100;

#[Object]
impl Query {
    /// The article with this slug; null when unknown.
    async fn article(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Article>> {
        let found = domain::articles::find_by_slug(&services(ctx).store, &slug).await?;
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
            return Err(AppError::bad_input(
                "slugs",
                format!("at most {MAX_SLUGS} slugs may be asked for at once"),
            )
            .into());
        }
        let found = domain::articles::find_by_slugs(&services(ctx).store, &slugs).await?;
        Ok(slugs
            .iter()
            .map(|slug| {
                found
                    .iter()
                    .find(|a| a.slug == slug.trim())
                    .cloned()
                    .map(Article::from)
            })
            .collect())
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
        let article = domain::articles::find_by_slug(&services.store, &article_slug).await?;
        let comments_open = match article {
            Some(article) => article.comments_open,
            None => {
                domain::ArticleSlug::parse_field(&article_slug, "articleSlug").is_ok()
                    && domain::article_auto_create::would_create(
                        services.auto_create.as_ref(),
                        article_url.as_deref(),
                    )
            }
        };
        Ok(CommentForm(domain::comment_form::CommentForm {
            comments_open,
            moderation: services.moderation,
            fields: domain::comment_form::fields(),
        }))
    }

    /// Readers get APPROVED comments only, else null; moderators get any.
    async fn comment(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Comment>> {
        let Ok(id) = uuid::Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        let found = comments::find(services(ctx).store.db(), id)
            .await
            .map_err(AppError::from)?;
        let moderator = viewer(ctx).is_moderator();
        Ok(found
            .filter(|c| moderator || domain::comments::visible_to_readers(c))
            .map(Comment::from))
    }

    /// The moderator behind the token; null without a valid token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Moderator>> {
        let Viewer::Moderator(me) = viewer(ctx) else {
            return Ok(None);
        };
        Ok(moderators::find(&services(ctx).store, me.id)
            .await?
            .map(Moderator))
    }

    /// Every active moderator account. Admins only.
    async fn moderators(&self, ctx: &Context<'_>) -> Result<Vec<Moderator>> {
        let accounts = moderators::list(&services(ctx).store, viewer(ctx)).await?;
        Ok(accounts.into_iter().map(Moderator).collect())
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
        viewer(ctx).require_moderator()?;
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        let status = status.unwrap_or(CommentStatus::Pending);
        let store = &services(ctx).store;
        let article_id = match article_slug {
            Some(slug) => Some(
                domain::articles::find_by_slug(store, &slug)
                    .await?
                    .ok_or(AppError::NotFound("article"))?
                    .id,
            ),
            None => None,
        };
        let found = comments::list_queue(store.db(), status.into(), article_id, &page)
            .await
            .map_err(AppError::from)?;
        Ok(found.into())
    }
}
