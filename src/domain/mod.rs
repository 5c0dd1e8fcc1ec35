//! Parley's rules, free of HTTP and GraphQL.
//!
//! Inputs are parsed into validated types here (`AuthorName::parse`,
//! `Email::parse`, …); the rest of the code only takes those types. The
//! actions (`comments`, `moderation`, `moderators`, `articles`) check
//! permission, apply the rule and write through the store, one transaction
//! each.

pub mod accounts;
pub mod article_auto_create;
pub mod article_input;
pub mod article_policy;
pub mod articles;
pub mod audit;
pub mod author_edits;
pub mod author_name;
pub mod author_token;
pub mod backup;
pub mod bans;
pub mod comment_body;
pub mod comment_form;
pub mod comments;
pub mod data_keys;
pub mod email;
pub mod email_privacy;
pub mod flood;
pub mod formatting;
pub mod id;
pub mod import;
pub mod login_throttle;
pub mod mail;
pub mod moderation;
pub mod moderation_log;
pub mod moderation_rules;
pub mod moderation_settings;
pub mod origins;
pub mod rate_window;
pub mod retention;
pub mod sessions;
pub mod status;
mod text;
pub mod threads;

#[cfg(test)]
mod properties;

pub use crate::auth::Password;
/// The database the domain's actions work on: callers hold it and pass it
/// in; only the domain (and `auth`) reach through it.
pub use crate::store::Store;
pub use crate::store::comments::Direction;
pub use crate::store::now_micros;
pub use crate::store::page::{Cursor, Page, PageRequest};
pub use article_input::{ArticleSlug, ArticleTitle, ArticleUrl};
pub use author_name::AuthorName;
pub use comment_body::CommentBody;
pub use email::Email;
pub use status::{CommentStatus, ModerationMode, ModeratorRole};
