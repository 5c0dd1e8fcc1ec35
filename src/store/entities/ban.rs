//! The `bans` table: authors banned by a moderator, known only by a keyed
//! hash of their email.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// HMAC-SHA256 (hex) of the normalised email; unique.
    pub email_key: String,
    pub moderator_id: Uuid,
    pub reason: Option<String>,
    /// The comment the ban was made from (it may since have been deleted).
    pub example_comment_id: Option<Uuid>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
