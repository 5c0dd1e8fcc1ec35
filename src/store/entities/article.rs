//! The `articles` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub comments_open: bool,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// Approved comments at every depth, kept by the writes that change it.
    pub approved_comment_count: i64,
    /// This article's moderation mode; `None` follows the site's.
    pub moderation_mode: Option<super::moderation_settings::ModerationMode>,
    /// Days after creation when comments close; `None` follows the site's,
    /// 0 means never.
    pub close_after_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
