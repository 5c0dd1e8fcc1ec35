//! The `mail_consents` table: an address that confirmed, from the browser
//! (author token) whose comment asked. Notifications go only for comments
//! posted with both: typing someone's confirmed address elsewhere is not
//! enough to have replies mailed to them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub email_index: String,
    /// The keyed hash of the author token (`comments.author_key`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub author_key: String,
    pub confirmed_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
