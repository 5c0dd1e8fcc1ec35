//! The `Comment` type. The author's email is shown to moderators only.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use super::{Article, CommentConnection, CommentStatus, DateTime, ModerationReason};
use crate::domain::Cursor;
use crate::domain::Page;
use crate::domain::email_privacy;
use crate::domain::threads::{self, Level, StoredComment, ThreadComment};
use crate::domain::{self, PageRequest};
use crate::error::AppError;
use crate::graphql::loaders::{ArticleLoader, FirstReplies, RepliesLoader};
use crate::graphql::{services, viewer};

/// A comment as the API shows it.
pub struct Comment {
    id: Uuid,
    article_id: Uuid,
    parent_id: Option<Uuid>,
    author_name: String,
    /// Fetched for moderators only.
    author_email: Option<String>,
    body: String,
    /// `None` for comments stored before formatting existed.
    body_html: Option<String>,
    status: domain::CommentStatus,
    created_at: i64,
    reply_count: i64,
    /// The rules' reasons as stored; fetched for moderators only.
    moderation_reasons: Option<String>,
    /// Set only in the answer to the post (or edit) that made it.
    author_token: Option<String>,
}

impl From<StoredComment> for Comment {
    fn from(model: StoredComment) -> Self {
        Self {
            id: model.id,
            article_id: model.article_id,
            parent_id: model.parent_id,
            author_name: model.author_name,
            // An erased comment (a deleted one's queue event) has none.
            author_email: Some(model.author_email).filter(|email| !email.is_empty()),
            body: model.body,
            body_html: model.body_html,
            status: model.status,
            created_at: model.created_at,
            reply_count: model.approved_reply_count,
            moderation_reasons: Some(model.moderation_reasons),
            author_token: None,
        }
    }
}

impl Comment {
    /// An approved comment of `article_id`, as a thread read fetched it.
    pub fn in_thread(article_id: Uuid, row: ThreadComment) -> Self {
        Self {
            id: row.id,
            article_id,
            parent_id: row.parent_id,
            author_name: row.author_name,
            author_email: row.author_email,
            body: row.body,
            body_html: row.body_html,
            status: domain::CommentStatus::Approved,
            created_at: row.created_at,
            reply_count: row.approved_reply_count,
            moderation_reasons: row.moderation_reasons,
            author_token: None,
        }
    }

    /// A comment as its author gets it back, with their author token.
    pub fn for_its_author(model: StoredComment, author_token: Option<String>) -> Self {
        Self {
            author_token,
            ..Self::from(model)
        }
    }

    /// Where a list continues after this comment.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

#[Object]
impl Comment {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn article(&self, ctx: &Context<'_>) -> Result<Article> {
        let found = ctx
            .data_unchecked::<DataLoader<ArticleLoader>>()
            .load_one(self.article_id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("comment {} has no article", self.id))
            })?;
        Ok(Article::of_comment(found))
    }

    /// The comment this one replies to, if any.
    async fn parent_id(&self) -> Option<ID> {
        self.parent_id.map(|id| ID(id.to_string()))
    }

    #[graphql(complexity = "crate::graphql::limits::text_cost(domain::AuthorName::MAX_CHARS)")]
    async fn author_name(&self) -> &str {
        &self.author_name
    }

    /// Moderators only: anyone else gets a FORBIDDEN error for this field.
    async fn author_email(&self, ctx: &Context<'_>) -> Option<String> {
        match email_privacy::author_email(
            viewer(ctx),
            &services(ctx).sealing,
            self.id,
            self.author_email.as_deref(),
        ) {
            Ok(email) => email,
            Err(refusal) => {
                // Reported beside a null value, so the rest of the comment
                // still reads.
                let error = async_graphql::Error::from(refusal).into_server_error(ctx.item.pos);
                ctx.add_error(ctx.set_error_path(error));
                None
            }
        }
    }

    /// Plain text exactly as accepted; front ends escape it.
    #[graphql(complexity = "crate::graphql::limits::text_cost(domain::CommentBody::MAX_CHARS)")]
    async fn body(&self) -> &str {
        &self.body
    }

    /// The body's Markdown (paragraphs, line breaks, emphasis, inline code,
    /// block quotes, links) as sanitised HTML, safe to insert into a page.
    /// Links carry `rel="nofollow ugc noopener"`.
    #[graphql(complexity = "crate::graphql::limits::text_cost(domain::formatting::MAX_HTML_CHARS)")]
    async fn body_html(&self) -> String {
        match &self.body_html {
            Some(html) => html.clone(),
            None => domain::formatting::format(&self.body).html,
        }
    }

    /// Anyone but a moderator sees a comment the rules or a moderator hid
    /// as PENDING, as its author was told: the rules give nothing to probe.
    async fn status(&self, ctx: &Context<'_>) -> CommentStatus {
        threads::status_seen_by(viewer(ctx), self.status).into()
    }

    /// Why the moderation rules gave this comment its status when it was
    /// posted or last edited. Moderators only: anyone else gets FORBIDDEN.
    async fn moderation_reasons(&self, ctx: &Context<'_>) -> Result<Vec<ModerationReason>> {
        let stored =
            email_privacy::moderation_reasons(viewer(ctx), self.moderation_reasons.as_deref())?;
        Ok(stored.into_iter().map(ModerationReason::from).collect())
    }

    /// The secret that lets this comment's author edit or withdraw it within
    /// the edit window, and that proves them a returning author on their
    /// next post (send it as `PostCommentInput.authorToken`). Given only in
    /// the answer to `postComment` and `editComment`; null anywhere else.
    async fn author_token(&self) -> Option<&str> {
        self.author_token.as_deref()
    }

    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.created_at)
    }

    /// Approved direct replies.
    async fn reply_count(&self) -> i32 {
        saturating_i32(self.reply_count)
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
                    article: self.article_id,
                    parent: self.id,
                    first: page.first,
                    emails: email_privacy::thread_emails(viewer(ctx)),
                })
                .await
                .map_err(AppError::from)?
                .unwrap_or_default();
            let page = Page::from_overfetch(rows, &page);
            return Ok(CommentConnection::of_thread(self.article_id, page));
        }
        let found = threads::page(
            &services(ctx).store,
            viewer(ctx),
            self.article_id,
            Level::RepliesTo(self.id),
            domain::Direction::OldestFirst,
            &page,
        )
        .await?;
        Ok(CommentConnection::of_thread(self.article_id, found))
    }
}

/// A stored count as a GraphQL `Int`, which holds 32 bits.
pub(crate) fn saturating_i32(count: i64) -> i32 {
    i32::try_from(count.max(0)).unwrap_or(i32::MAX)
}
