//! The `Article` type.

use async_graphql::{Context, ID, Object, Result};

use super::{CommentConnection, CommentOrder};
use crate::domain::PageRequest;
use crate::graphql::services;
use crate::store::comments::{self, Level};
use crate::store::entities::article;

/// A page that comments attach to.
pub struct Article(pub article::Model);

#[Object]
impl Article {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The publisher's stable key: a CMS id or a URL path.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    /// Whether readers may post new comments.
    async fn comments_open(&self) -> bool {
        self.0.comments_open
    }

    /// Approved comments at every depth.
    async fn comment_count(&self) -> i32 {
        super::comment::saturating_i32(self.0.approved_comment_count)
    }

    /// Approved top-level comments.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(PageRequest::DEFAULT_FIRST)")] first: Option<i64>,
        after: Option<String>,
        #[graphql(default_with = "Some(CommentOrder::OldestFirst)")] order: Option<CommentOrder>,
    ) -> Result<CommentConnection> {
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        let order = order.unwrap_or_default();
        let found = comments::list_thread(
            services(ctx).store.db(),
            self.0.id,
            Level::TopLevel,
            order.into(),
            &page,
            super::comment::thread_emails(ctx),
        )
        .await
        .map_err(crate::error::AppError::from)?;
        Ok(CommentConnection::of_thread(self.0.id, found))
    }
}
