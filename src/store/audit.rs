//! The moderation audit log. Rows are only ever added, inside the transaction
//! of the action they record.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::entities::moderation_action::{self, Entity as ModerationAction};
use super::now_micros;
use super::page::{Page, PageRequest, newest_first};

/// One audit row to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// `None` for an author's own edit or withdrawal.
    pub moderator_id: Option<Uuid>,
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

/// What a page of the log is narrowed to; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub moderator_id: Option<Uuid>,
    pub article_id: Option<Uuid>,
    pub action: Option<&'static str>,
    /// Microseconds since the Unix epoch: rows at or after it.
    pub since: Option<i64>,
}

/// One page of the log, newest first, keyed on `(created_at, id)`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &LogFilter,
    page: &PageRequest,
) -> Result<Page<moderation_action::Model>, DbErr> {
    use moderation_action::Column;
    let mut query = ModerationAction::find();
    if let Some(moderator) = filter.moderator_id {
        query = query.filter(Column::ModeratorId.eq(moderator));
    }
    if let Some(article) = filter.article_id {
        query = query.filter(Column::ArticleId.eq(article));
    }
    if let Some(action) = filter.action {
        query = query.filter(Column::Action.eq(action));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::CreatedAt.gte(since));
    }
    newest_first(db, query, (Column::CreatedAt, Column::Id), page).await
}

/// The latest of `actions` recorded for a comment, if any.
pub async fn latest_for_comment(
    db: &impl ConnectionTrait,
    comment_id: Uuid,
    actions: &[&str],
) -> Result<Option<String>, DbErr> {
    use moderation_action::Column;
    ModerationAction::find()
        .select_only()
        .column(Column::Action)
        .filter(Column::CommentId.eq(comment_id))
        .filter(Column::Action.is_in(actions.iter().copied()))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(1)
        .into_tuple::<String>()
        .one(db)
        .await
}

/// How many rows of `action` a comment has.
pub async fn count_for_comment(
    db: &impl ConnectionTrait,
    comment_id: Uuid,
    action: &str,
) -> Result<u64, DbErr> {
    use moderation_action::Column;
    ModerationAction::find()
        .filter(Column::CommentId.eq(comment_id))
        .filter(Column::Action.eq(action))
        .count(db)
        .await
}

/// Stores an audit row brought in from elsewhere, as it was, unless one
/// with its id exists; says whether it did.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    model: moderation_action::Model,
) -> Result<bool, DbErr> {
    let inserted = ModerationAction::insert(moderation_action::ActiveModel::from(model))
        .on_conflict_do_nothing_on([moderation_action::Column::Id])
        .exec(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}
