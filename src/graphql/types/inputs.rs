//! Input objects. Each is parsed into the domain's validated values as it
//! comes in (the parsers, and so every rule, live in `domain`).

use async_graphql::{ID, InputObject, MaybeUndefined};

use super::ModerationMode;

use crate::domain::article_auto_create::ArticlePage;
use crate::domain::articles;
use crate::domain::comments::NewComment;
use crate::error::AppResult;

/// A reader's new comment.
#[derive(InputObject)]
pub struct PostCommentInput {
    pub article_slug: String,
    /// Reply to an APPROVED comment of the same article.
    pub parent_id: Option<ID>,
    pub author_name: String,
    pub author_email: String,
    pub body: String,
    /// Address of the article's page. With `--article-auto-create`, the
    /// first comment on an unknown slug creates the article when this is on
    /// a listed CORS origin.
    pub article_url: Option<String>,
    /// Title for an article created by its first comment (the slug otherwise).
    pub article_title: Option<String>,
    /// The `authorToken` an earlier post answered with, kept by the reader's
    /// browser: the new comment shares it, and under pre-moderation, with the
    /// same email as an approved comment posted with it, is approved at once
    /// (when trusting returning authors is on). Without it a new one is made.
    pub author_token: Option<String>,
    /// Mail the author when a reply to this comment is approved, once
    /// their address has confirmed (a confirmation mail is sent the first
    /// time it asks). Offered only where `commentForm.notifyReplies` is true;
    /// elsewhere `true` is a `BAD_USER_INPUT` error on this field.
    #[graphql(default)]
    pub notify_replies: bool,
}

impl PostCommentInput {
    /// The submission as validated domain values.
    pub fn parse(&self) -> AppResult<NewComment> {
        let parsed = NewComment::parse(
            &self.article_slug,
            self.parent_id.as_ref().map(|id| id.as_str()),
            &self.author_name,
            &self.author_email,
            &self.body,
            ArticlePage {
                url: self.article_url.clone(),
                title: self.article_title.clone(),
            },
            self.author_token.as_deref(),
        )?;
        Ok(NewComment {
            notify_replies: self.notify_replies,
            ..parsed
        })
    }
}

/// An article to create or update, keyed by its slug.
#[derive(InputObject)]
pub struct ArticleInput {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub comments_open: Option<bool>,
    /// This article's own moderation mode; null follows the site's again,
    /// left out keeps it.
    pub mode: MaybeUndefined<ModerationMode>,
    /// Days after its creation when this article closes for comments (0
    /// never); null follows the site's again, left out keeps it.
    pub close_after_days: MaybeUndefined<i64>,
}

impl From<ArticleInput> for articles::ArticleInput {
    fn from(input: ArticleInput) -> Self {
        Self {
            slug: input.slug,
            title: input.title,
            url: input.url,
            comments_open: input.comments_open,
            mode: change(input.mode.map_value(Into::into)),
            close_after_days: change(input.close_after_days),
        }
    }
}

/// A field that may be left out (keep), null (clear) or set.
fn change<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}
