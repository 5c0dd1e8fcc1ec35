//! GraphQL output and input types. Each wraps a storage row and exposes only
//! what its caller may see; none derives GraphQL on a database model.

mod article;
mod comment;
mod comment_form;
mod connection;
mod inputs;
mod moderation;
mod moderator;
mod scalars;

pub use article::Article;
pub use comment::Comment;
pub use comment_form::{CommentForm, CommentFormField, ModerationMode};
pub use connection::{CommentConnection, PageInfo};
pub use inputs::{ArticleInput, PostCommentInput};
pub use moderation::*;
pub use moderator::{AddModeratorInput, DeleteCommentPayload, LoginPayload, Moderator};
pub use scalars::{CommentOrder, CommentStatus, DateTime, ModeratorRole};
