//! The `Comment` type. The author's email is shown to moderators only.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};

use super::{Article, CommentConnection, CommentStatus, DateTime};
use crate::auth::Viewer;
use crate::domain::page::Page;
use crate::domain::{self, PageRequest};
use crate::error::AppError;
use crate::graphql::loaders::{ArticleLoader, FirstReplies, RepliesLoader};
use crate::graphql::{services, viewer};
use crate::store::comments::{self, Direction, Level};
use crate::store::entities::comment;

/// A reader's comment.
pub struct Comment(pub comment::Model);

#[Object]
impl Comment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn article(&self, ctx: &Context<'_>) -> Result<Article> {
        let found = ctx
            .data_unchecked::<DataLoader<ArticleLoader>>()
            .load_one(self.0.article_id)
            .await
            .map_err(|err| AppError::Internal(err.into()))?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("comment {} has no article", self.0.id))
            })?;
        Ok(Article(found))
    }

    /// The comment this one replies to, if any.
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent_id.map(|id| ID(id.to_string()))
    }

    async fn author_name(&self) -> &str {
        &self.0.author_name
    }

    /// Moderators only: anyone else gets a FORBIDDEN error for this field.
    async fn author_email(&self, ctx: &Context<'_>) -> Option<&str> {
        let refusal = match viewer(ctx) {
            Viewer::Moderator(_) => return Some(self.0.author_email.as_str()),
            Viewer::InvalidToken => AppError::Unauthenticated("the token is invalid or expired"),
            Viewer::Anonymous => AppError::Forbidden("only moderators may see email addresses"),
        };
        // Reported beside a null value, so the rest of the comment still reads.
        let error = async_graphql::Error::from(refusal).into_server_error(ctx.item.pos);
        ctx.add_error(ctx.set_error_path(error));
        None
    }

    /// Plain text exactly as accepted; front ends escape it.
    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn status(&self) -> Result<CommentStatus> {
        let status: domain::CommentStatus = self.0.status.parse().map_err(AppError::Internal)?;
        Ok(status.into())
    }

    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// Approved direct replies.
    async fn reply_count(&self) -> i32 {
        saturating_i32(self.0.approved_reply_count)
    }

    /// Approved direct replies, oldest first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn replies(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(PageRequest::DEFAULT_FIRST)")] first: Option<i64>,
        after: Option<String>,
    ) -> Result<CommentConnection> {
        let page = PageRequest::parse(
            first.unwrap_or(PageRequest::DEFAULT_FIRST),
            after.as_deref(),
        )?;
        if page.after.is_none() {
            // The usual case, a thread's first page: batched across comments.
            let rows = ctx
                .data_unchecked::<DataLoader<RepliesLoader>>()
                .load_one(FirstReplies {
                    article: self.0.article_id,
                    parent: self.0.id,
                    first: page.first,
                })
                .await
                .map_err(|err| AppError::Internal(err.into()))?
                .unwrap_or_default();
            return Ok(Page::from_overfetch(rows, &page).into());
        }
        let found = comments::list_thread(
            services(ctx).store.db(),
            self.0.article_id,
            Level::RepliesTo(self.0.id),
            domain::CommentStatus::Approved,
            Direction::OldestFirst,
            &page,
        )
        .await
        .map_err(AppError::from)?;
        Ok(found.into())
    }
}

/// A stored count as a GraphQL `Int`, which holds 32 bits.
pub(super) fn saturating_i32(count: i64) -> i32 {
    i32::try_from(count.max(0)).unwrap_or(i32::MAX)
}
