//! Parley's rules, free of HTTP and GraphQL.
//!
//! Inputs are parsed into validated types here (`AuthorName::parse`,
//! `Email::parse`, …); the rest of the code only takes those types. The
//! actions (`comments`, `moderation`, `moderators`, `articles`) check
//! permission, apply the rule and write through the store, one transaction
//! each.

pub mod article_auto_create;
pub mod article_input;
pub mod articles;
pub mod author_name;
pub mod comment_body;
pub mod comment_form;
pub mod comments;
pub mod email;
pub mod flood;
pub mod login_throttle;
pub mod moderation;
pub mod moderators;
pub mod origins;
pub mod page;
pub mod password;
pub mod status;
mod text;

#[cfg(test)]
mod properties;

pub use article_input::{ArticleSlug, ArticleTitle, ArticleUrl};
pub use author_name::AuthorName;
pub use comment_body::CommentBody;
pub use email::Email;
pub use page::{Cursor, PageRequest};
pub use password::Password;
pub use status::{CommentStatus, ModerationMode, ModeratorRole};
