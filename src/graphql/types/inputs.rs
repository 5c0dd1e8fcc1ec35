//! Input objects. Their text is validated by `domain`, not here, so every
//! rule lives in one place.

use async_graphql::{ID, InputObject};

use crate::domain::article_auto_create::ArticlePage;
use crate::domain::articles;
use crate::domain::comments::NewComment;

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
}

impl From<PostCommentInput> for NewComment {
    fn from(input: PostCommentInput) -> Self {
        Self {
            article_slug: input.article_slug,
            parent_id: input.parent_id.map(|id| id.0),
            author_name: input.author_name,
            author_email: input.author_email,
            body: input.body,
            page: ArticlePage {
                url: input.article_url,
                title: input.article_title,
            },
        }
    }
}

/// An article to create or update, keyed by its slug.
#[derive(InputObject)]
pub struct ArticleInput {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub comments_open: Option<bool>,
}

impl From<ArticleInput> for articles::ArticleInput {
    fn from(input: ArticleInput) -> Self {
        Self {
            slug: input.slug,
            title: input.title,
            url: input.url,
            comments_open: input.comments_open,
        }
    }
}
