//! What a front end needs to build the comment form the server will accept:
//! which fields are required, how long they may be, whether comments are
//! open, and whether new comments wait for a moderator.

use super::origins::CorsOrigins;
use super::{ArticleSlug, AuthorName, CommentBody, Email, ModerationMode, Store};
use crate::error::{AppResult, Field};

/// One field of the form, the input a `BAD_USER_INPUT` error about it
/// names (the GraphQL edge spells it as in `PostCommentInput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub name: Field,
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

/// Whether a post to `slug` would be taken now: the article exists and is
/// open, or (with auto-create on) a first comment from `url` would create it.
pub async fn comments_open(
    store: &Store,
    auto_create: Option<&CorsOrigins>,
    slug: &str,
    url: Option<&str>,
) -> AppResult<bool> {
    Ok(match super::articles::find_by_slug(store, slug).await? {
        Some(article) => article.comments_open,
        None => {
            ArticleSlug::parse_field(slug, Field::ArticleSlug).is_ok()
                && super::article_auto_create::would_create(auto_create, url)
        }
    })
}

/// The fields every comment has, in the order a form shows them.
pub fn fields() -> Vec<FormField> {
    vec![
        FormField {
            name: Field::AuthorName,
            required: true,
            max_length: AuthorName::MAX_CHARS,
            published: true,
        },
        FormField {
            name: Field::AuthorEmail,
            required: true,
            max_length: Email::MAX_CHARS,
            published: false,
        },
        FormField {
            name: Field::Body,
            required: true,
            max_length: CommentBody::MAX_CHARS,
            published: true,
        },
    ]
}
