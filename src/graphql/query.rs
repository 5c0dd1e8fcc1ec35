//! The root `Query`.

use async_graphql::{Context, ID, Object, Result};

use super::types::{Article, Comment, CommentConnection, CommentStatus, Moderator};
use super::{services, viewer};
use crate::auth::Viewer;
use crate::domain::{self, PageRequest, accounts, threads};

pub struct Query;

#[Object]
impl Query {
    /// The article with this slug; null when unknown.
    async fn article(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Article>> {
        let found = domain::articles::find_by_slug(&services(ctx).store, &slug).await?;
        Ok(found.map(Article::from))
    }

    /// Readers get APPROVED comments only, else null; moderators get any.
    async fn comment(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Comment>> {
        let Some(id) = domain::id::parse(id.as_str()) else {
            return Ok(None);
        };
        let found = threads::comment(&services(ctx).store, viewer(ctx), id).await?;
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
