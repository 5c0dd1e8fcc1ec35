//! `CommentForm`: the comment form as the server will take it.

use async_graphql::{Context, Enum, Object};

use crate::domain::comment_form::{self, FormField};
use crate::domain::status;
use crate::graphql::AnswerExpiry;

/// The comment form for one article.
pub struct CommentForm(pub comment_form::CommentForm);

/// Whether new comments wait for a moderator.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "status::ModerationMode")]
pub enum ModerationMode {
    /// New comments are PENDING until a moderator approves them.
    Pre,
    /// New comments are APPROVED at once; moderators hide what breaks the rules.
    Post,
}

#[Object]
impl CommentForm {
    /// Whether a post would be taken now: the article exists and is open,
    /// or (with `--article-auto-create`) the first comment would create it.
    async fn comments_open(&self, ctx: &Context<'_>) -> bool {
        AnswerExpiry::note(ctx, self.0.open_until);
        self.0.comments_open
    }

    /// The moderation mode of this article (its own, or the site's).
    async fn moderation(&self) -> ModerationMode {
        self.0.moderation.into()
    }

    /// Minutes during which an author may edit or withdraw a comment with
    /// its `authorToken`; 0 when editing is off.
    async fn edit_window_minutes(&self) -> i32 {
        i32::try_from(self.0.edit_window_minutes).unwrap_or(i32::MAX)
    }

    /// Whether readers may ask to be told of replies by mail
    /// (`PostCommentInput.notifyReplies`): only where Parley sends mail.
    async fn notify_replies(&self, ctx: &Context<'_>) -> bool {
        crate::graphql::services(ctx).mail.is_some()
    }

    /// The fields of a comment, in the order a form shows them.
    async fn fields(&self) -> Vec<CommentFormField> {
        self.0
            .fields
            .iter()
            .cloned()
            .map(CommentFormField)
            .collect()
    }
}

/// One field of the comment form.
pub struct CommentFormField(FormField);

#[Object]
impl CommentFormField {
    /// The `PostCommentInput` field, as named in `extensions.field` of its errors.
    async fn name(&self) -> &str {
        crate::graphql::errors::field_name(self.0.name)
    }

    async fn required(&self) -> bool {
        self.0.required
    }

    /// Most characters accepted.
    async fn max_length(&self) -> i32 {
        i32::try_from(self.0.max_length).unwrap_or(i32::MAX)
    }

    /// Whether readers see it; an email address is for moderators only.
    async fn published(&self) -> bool {
        self.0.published
    }
}
