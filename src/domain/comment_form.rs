//! What a front end needs to build the comment form the server will accept:
//! which fields are required, how long they may be, whether comments are
//! open, and whether new comments wait for a moderator.

use super::moderation_settings::SettingsCache;
use super::origins::CorsOrigins;
use super::{ArticleSlug, AuthorName, CommentBody, Email, ModerationMode, Store, article_policy};
use crate::error::{AppResult, Field};
use crate::events::CommentEvents;
use crate::store::now_micros;

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
    /// The article's id, when it exists.
    pub article: Option<uuid::Uuid>,
    /// Whether a post would be taken now: the article exists and is open,
    /// or the first comment would create it.
    pub comments_open: bool,
    /// When `comments_open` turns false by the clock alone, if it does.
    pub open_until: Option<i64>,
    pub moderation: ModerationMode,
    /// Minutes during which an author may edit or withdraw a comment.
    pub edit_window_minutes: u32,
    pub fields: Vec<FormField>,
}

/// The form for `slug`: whether a post would be taken now (the article
/// exists and is open, or with auto-create on a first comment from `url`
/// would create it), in which moderation mode, and for how long its author
/// may edit it.
pub async fn form(
    store: &Store,
    events: &CommentEvents,
    settings: &SettingsCache,
    auto_create: Option<&CorsOrigins>,
    slug: &str,
    url: Option<&str>,
) -> AppResult<CommentForm> {
    let settings = super::moderation_settings::current(store, events, settings).await?;
    let now = now_micros();
    let article = super::articles::find_by_slug(store, slug).await?;
    let (comments_open, open_until, moderation) = match &article {
        Some(article) => (
            article_policy::comments_open(article, &settings, now),
            article_policy::open_until(article, &settings, now),
            article_policy::mode_of(article, &settings),
        ),
        None => (
            ArticleSlug::parse_field(slug, Field::ArticleSlug).is_ok()
                && super::article_auto_create::would_create(auto_create, url),
            None,
            settings.mode,
        ),
    };
    Ok(CommentForm {
        article: article.map(|article| article.id),
        comments_open,
        open_until,
        moderation,
        edit_window_minutes: settings.edit_window_minutes,
        fields: fields(),
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
