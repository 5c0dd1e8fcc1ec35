//! The `moderation_settings` table: one row (id 1) of site-wide rules.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub mode: ModerationMode,
    pub max_links: i32,
    /// A JSON array of strings.
    pub hold_words: String,
    /// A JSON array of strings.
    pub block_words: String,
    /// A JSON array of strings.
    pub blocked_email_domains: String,
    pub trust_returning_authors: bool,
    pub close_after_days: Option<i32>,
    pub edit_window_minutes: i32,
    pub updated_at: i64,
}

/// Whether new comments wait for a moderator (`pre`) or show at once
/// (`post`). Stored as its name, here and as an article's override.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, EnumIter, DeriveActiveEnum, clap::ValueEnum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ModerationMode {
    /// New comments are PENDING until a moderator approves them.
    #[default]
    #[sea_orm(string_value = "PRE")]
    Pre,
    /// New comments are APPROVED at once; moderators hide what breaks the rules.
    #[sea_orm(string_value = "POST")]
    Post,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
