//! The `moderation_actions` table: the audit log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub moderator_id: Uuid,
    /// `APPROVE_COMMENT`, `HIDE_COMMENT`, `DELETE_COMMENT`, `CREATE_ARTICLE`
    /// or `UPDATE_ARTICLE`.
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
