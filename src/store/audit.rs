//! The moderation audit log. Rows are only ever added, inside the transaction
//! of the action they record.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use uuid::Uuid;

use super::entities::moderation_action;
use super::now_micros;

/// One audit row to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub moderator_id: Uuid,
    /// The action's name in the audit vocabulary (`domain::audit::Action`).
    pub action: &'static str,
    pub comment_id: Option<Uuid>,
    pub article_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub reason: Option<&'a str>,
}

pub async fn record(db: &impl ConnectionTrait, entry: Entry<'_>) -> Result<(), DbErr> {
    moderation_action::ActiveModel {
        id: Set(Uuid::now_v7()),
        moderator_id: Set(entry.moderator_id),
        action: Set(entry.action.to_owned()),
        comment_id: Set(entry.comment_id),
        article_id: Set(entry.article_id),
        account_id: Set(entry.account_id),
        reason: Set(entry.reason.map(str::to_owned)),
        created_at: Set(now_micros()),
    }
    .insert(db)
    .await?;
    Ok(())
}
