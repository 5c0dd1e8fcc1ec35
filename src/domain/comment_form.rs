//! What a front end needs to build the comment form the server will accept:
//! which fields are required, how long they may be, whether comments are
//! open, and whether new comments wait for a moderator.

use super::{AuthorName, CommentBody, Email, ModerationMode};

/// One field of the form, named as in `PostCommentInput` (and in the
/// `extensions.field` of its errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub name: &'static str,
    pub required: bool,
    /// Most characters accepted.
    pub max_length: usize,
    /// Whether readers see it: the email is for the moderators only.
    pub published: bool,
}

/// The comment form for one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentForm {
    /// Whether a post would be taken now: the article exists and is open,
    /// or the first comment would create it.
    pub comments_open: bool,
    pub moderation: ModerationMode,
    pub fields: Vec<FormField>,
}

/// The fields every comment has, in the order a form shows them.
pub fn fields() -> Vec<FormField> {
    vec![
        FormField {
            name: "authorName",
            required: true,
            max_length: AuthorName::MAX_CHARS,
            published: true,
        },
        FormField {
            name: "authorEmail",
            required: true,
            max_length: Email::MAX_CHARS,
            published: false,
        },
        FormField {
            name: "body",
            required: true,
            max_length: CommentBody::MAX_CHARS,
            published: true,
        },
    ]
}
