//! The `moderation_actions` table: the audit log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The moderator who acted; `None` for what an author did to their own
    /// comment within the edit window.
    pub moderator_id: Option<Uuid>,
    /// The action's name in `domain::audit::Action`'s vocabulary.
    pub action: String,
    pub comment_id: Option<Uuid>,
    pub article_id: Option<Uuid>,
    /// The moderator account acted on, for account changes.
    pub account_id: Option<Uuid>,
    pub reason: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
