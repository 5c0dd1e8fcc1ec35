//! Paginated lists of comments, in the Relay connection shape.

use async_graphql::SimpleObject;

use super::Comment;
use crate::domain::Cursor;
use crate::domain::page::Page;
use crate::store::entities::comment;

/// One page of comments.
#[derive(SimpleObject)]
pub struct CommentConnection {
    pub edges: Vec<CommentEdge>,
    pub nodes: Vec<Comment>,
    pub page_info: PageInfo,
}

/// A comment and the cursor to continue after it.
#[derive(SimpleObject)]
pub struct CommentEdge {
    pub cursor: String,
    pub node: Comment,
}

/// Where a page stands in its list.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

fn cursor_of(comment: &comment::Model) -> String {
    Cursor {
        created_at: comment.created_at,
        id: comment.id,
    }
    .encode()
}

impl From<Page<comment::Model>> for CommentConnection {
    fn from(page: Page<comment::Model>) -> Self {
        let edges: Vec<CommentEdge> = page
            .items
            .iter()
            .map(|c| CommentEdge {
                cursor: cursor_of(c),
                node: Comment(c.clone()),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Self {
            edges,
            nodes: page.items.into_iter().map(Comment).collect(),
            page_info,
        }
    }
}
