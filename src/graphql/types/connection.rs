//! Paginated lists of comments, in the Relay connection shape. A page holds
//! its comments once; edges, cursors and page info are made only when a
//! query asks for them.

use async_graphql::{Object, SimpleObject};
use uuid::Uuid;

use super::Comment;
use crate::domain::Page;
use crate::domain::threads::{StoredComment, ThreadComment};

pub struct CommentConnection {
    comments: Vec<Comment>,
    has_next_page: bool,
    has_previous_page: bool,
}

/// One page of comments.
#[Object]
impl CommentConnection {
    async fn edges(&self) -> Vec<CommentEdge<'_>> {
        self.comments.iter().map(CommentEdge).collect()
    }

    async fn nodes(&self) -> &[Comment] {
        &self.comments
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.comments.first().map(cursor_of),
            end_cursor: self.comments.last().map(cursor_of),
        }
    }
}

pub struct CommentEdge<'a>(&'a Comment);

/// A comment and the cursor to continue after it.
#[Object(name = "CommentEdge")]
impl CommentEdge<'_> {
    async fn cursor(&self) -> String {
        cursor_of(self.0)
    }

    async fn node(&self) -> &Comment {
        self.0
    }
}

/// Where a page stands in its list.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

fn cursor_of(comment: &Comment) -> String {
    comment.cursor().encode()
}

impl CommentConnection {
    /// A page of the approved comments of `article_id`, read from its thread.
    pub fn of_thread(article_id: Uuid, page: Page<ThreadComment>) -> Self {
        Self {
            comments: page
                .items
                .into_iter()
                .map(|row| Comment::in_thread(article_id, row))
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        }
    }
}

impl From<Page<StoredComment>> for CommentConnection {
    fn from(page: Page<StoredComment>) -> Self {
        Self {
            comments: page.items.into_iter().map(Comment::from).collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        }
    }
}
