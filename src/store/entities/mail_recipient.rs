//! The `mail_recipients` table: addresses that asked for reply
//! notifications, by blind index (their consents are `mail_consents`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_recipients")]
pub struct Model {
    /// The blind index of the address.
    #[sea_orm(primary_key, auto_increment = false)]
    pub email_index: String,
    /// The address, sealed (`sealing::Place::MailRecipient`).
    pub email: String,
    /// When the last confirmation mail was written: at most one a day.
    pub confirmation_sent_at: Option<i64>,
    /// When it unsubscribed (its consents went then); no confirmation is
    /// sent to it for 30 days after.
    pub unsubscribed_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
