//! GraphQL output and input types. Each wraps a storage row and exposes only
//! what its caller may see; none derives GraphQL on a database model.

mod article;
mod comment;
mod connection;
mod inputs;
mod moderator;
mod scalars;

pub use article::Article;
pub use comment::Comment;
pub use connection::CommentConnection;
pub use inputs::{ArticleInput, PostCommentInput};
pub use moderator::{DeleteCommentPayload, LoginPayload, Moderator};
pub use scalars::{CommentOrder, CommentStatus, DateTime, ModeratorRole};

use crate::error::AppError;

/// An id argument naming a comment: one that cannot be parsed names no
/// comment, so it is `NOT_FOUND` like any other unknown id.
pub fn comment_id(raw: &async_graphql::ID) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw.as_str()).map_err(|_| AppError::NotFound("comment"))
}
