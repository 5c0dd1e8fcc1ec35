//! The `outbox` table: mail waiting to be sent, written in the transaction
//! of the event that causes it and removed once the SMTP server took it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The comment it is about, if any: deleting the comment takes back
    /// its mail.
    pub comment_id: Option<Uuid>,
    /// The recipient's address, sealed (`sealing::Place::OutboxMail`).
    pub recipient: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Extra headers, a JSON object of names to values.
    pub headers: String,
    pub created_at: i64,
    /// When it may next be tried (microseconds); a worker sending it moves
    /// this on first, so that no other takes it meanwhile.
    pub next_attempt_at: i64,
    pub attempts: i32,
    /// Why the last attempt failed (the SMTP server's answer, never an
    /// address).
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
