//! `CommentForm`: the comment form as the server will take it.

use async_graphql::{Enum, Object};

use crate::domain::comment_form::{self, FormField};
use crate::domain::status;

/// The comment form for one article.
pub struct CommentForm(pub comment_form::CommentForm);

/// Whether new comments wait for a moderator.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ModerationMode {
    /// New comments are PENDING until a moderator approves them.
    Pre,
    /// New comments are APPROVED at once; moderators hide what breaks the rules.
    Post,
}

impl From<status::ModerationMode> for ModerationMode {
    fn from(mode: status::ModerationMode) -> Self {
        match mode {
            status::ModerationMode::Pre => Self::Pre,
            status::ModerationMode::Post => Self::Post,
        }
    }
}

#[Object]
impl CommentForm {
    /// Whether a post would be taken now: the article exists and is open,
    /// or (with `--article-auto-create`) the first comment would create it.
    async fn comments_open(&self) -> bool {
        self.0.comments_open
    }

    async fn moderation(&self) -> ModerationMode {
        self.0.moderation.into()
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
