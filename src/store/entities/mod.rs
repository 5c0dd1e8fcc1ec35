//! SeaORM entities, one per table. These never reach GraphQL directly: the
//! types in `graphql::types` choose what a caller may see.

pub mod article;
pub mod ban;
pub mod comment;
pub mod login_failure;
pub mod mail_consent;
pub mod mail_recipient;
pub mod moderation_action;
pub mod moderation_settings;
pub mod moderator;
pub mod outbox_mail;
pub mod post_mark;
pub mod revoked_token;
pub mod server_secret;
