//! The `comments` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub article_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_name: String,
    /// Private: only ever shown to moderators. Sealed (`store::sealing`)
    /// under the data key `email_key_id`; empty once erased.
    pub author_email: String,
    pub body: String,
    /// `PENDING`, `APPROVED` or `HIDDEN`.
    pub status: CommentStatus,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// Approved direct replies, kept by the writes that change it.
    pub approved_reply_count: i64,
    /// What the moderation rules found when the comment was posted or last
    /// edited: a JSON array of `{"code", "detail"}`. Moderators only.
    pub moderation_reasons: String,
    /// The body as sanitised HTML; `None` for comments stored before
    /// formatting existed (rendered when read).
    pub body_html: Option<String>,
    /// Keyed hash (hex) of the author token the comment was posted with:
    /// proof of authorship for the edit window and for trusted authors.
    pub author_key: Option<String>,
    /// The data key that sealed `author_email`; `None` when it is empty.
    pub email_key_id: Option<String>,
    /// Keyed hash (hex) of the normalised address: lookups by email match
    /// it, never the address.
    pub email_index: Option<String>,
    /// When it was hidden (microseconds), while it is: the retention period
    /// counts from it.
    pub hidden_at: Option<i64>,
    /// Whether its author asked to be told of replies (by mail, once their
    /// address confirmed).
    pub notify_replies: bool,
    /// Whether the author of the comment it replies to was told of it
    /// (once only, however often it is hidden and approved again).
    pub reply_notified: bool,
}

/// Where a comment stands in moderation; only APPROVED ones reach readers.
/// Stored as its name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommentStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "HIDDEN")]
    Hidden,
}

impl CommentStatus {
    /// The stored name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Hidden => "HIDDEN",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
