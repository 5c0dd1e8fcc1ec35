//! Parley's database schema, as an ordered list of migrations.
//!
//! Every migration runs on both SQLite and PostgreSQL. Times are stored as
//! microseconds since the Unix epoch (UTC) in `BIGINT` columns: the same
//! representation on both databases, exact to compare, and cheap to index for
//! keyset pagination on `(created_at, id)`.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_articles;
mod m20261125_000002_create_moderators;
mod m20261125_000003_create_comments;
mod m20261125_000004_create_moderation_actions;
mod m20261125_000005_create_server_secrets;
mod m20261125_000006_create_post_marks;
mod m20261125_000007_add_token_revocation;
mod m20261125_000008_add_approved_counts;
mod m20261204_000009_index_author_emails;
mod m20261207_000010_forget_email_history;
mod m20261207_000011_audit_account_changes;
mod m20261207_000012_moderation_rules;
mod m20261207_000013_index_author_keys_with_status;
mod m20261208_000014_seal_author_emails;
mod m20261208_000015_outgoing_mail;

/// Runs Parley's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_articles::Migration),
            Box::new(m20261125_000002_create_moderators::Migration),
            Box::new(m20261125_000003_create_comments::Migration),
            Box::new(m20261125_000004_create_moderation_actions::Migration),
            Box::new(m20261125_000005_create_server_secrets::Migration),
            Box::new(m20261125_000006_create_post_marks::Migration),
            Box::new(m20261125_000007_add_token_revocation::Migration),
            Box::new(m20261125_000008_add_approved_counts::Migration),
            Box::new(m20261204_000009_index_author_emails::Migration),
            Box::new(m20261207_000010_forget_email_history::Migration),
            Box::new(m20261207_000011_audit_account_changes::Migration),
            Box::new(m20261207_000012_moderation_rules::Migration),
            Box::new(m20261207_000013_index_author_keys_with_status::Migration),
            Box::new(m20261208_000014_seal_author_emails::Migration),
            Box::new(m20261208_000015_outgoing_mail::Migration),
        ]
    }
}
