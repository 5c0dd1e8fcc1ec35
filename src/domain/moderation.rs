//! The moderation actions. Each checks that the caller is a moderator,
//! changes the comment, and writes its audit row, in one transaction.
//!
//! Concurrency: an action locks the comment's article row first, then reads
//! the comment again. Posting takes a shared lock on the same article row, so
//! on PostgreSQL actions on one article, and posts to it, run one after the
//! other even across instances; an action on a comment that another action
//! just deleted finds nothing and answers `NOT_FOUND`. On SQLite every write
//! transaction already holds the database's write lock.

use uuid::Uuid;

use crate::auth::{Viewer, ViewerModerator};
use crate::error::{AppError, AppResult, Field};
use crate::events::{CommentEvents, QueueChange};
use crate::store::entities::comment;
use crate::store::{Store, articles, comments, now_micros};

use super::CommentStatus;
use super::audit::{self, Action, Actor, Subject};
use super::mail::Mail;

const MAX_REASON_CHARS: usize = 500;

/// Makes a comment visible to readers (from PENDING, or back from HIDDEN).
/// A reply that becomes visible is mailed to the author of the comment it
/// answers, when they asked and confirmed (`mail::replies`).
#[tracing::instrument(skip(store, events, mail, viewer), fields(by = ?viewer.moderator_id()))]
pub async fn approve(
    store: &Store,
    events: &CommentEvents,
    mail: Option<&Mail>,
    viewer: &Viewer,
    id: &str,
) -> AppResult<comment::Model> {
    let moderator = viewer.require_moderator()?;
    let comment = change_status(
        store,
        events,
        mail,
        moderator,
        comment_id(id)?,
        (CommentStatus::Approved, Action::ApproveComment),
        None,
    )
    .await?;
    tracing::info!(comment = %comment.id, by = %moderator.id, "comment approved");
    Ok(comment)
}

/// Takes a comment away from readers; `approve` undoes it.
#[tracing::instrument(skip(store, events, viewer, reason), fields(by = ?viewer.moderator_id()))]
pub async fn hide(
    store: &Store,
    events: &CommentEvents,
    viewer: &Viewer,
    id: &str,
    reason: Option<&str>,
) -> AppResult<comment::Model> {
    let moderator = viewer.require_moderator()?;
    let id = comment_id(id)?;
    let reason = parse_reason(reason)?;
    let comment = change_status(
        store,
        events,
        None,
        moderator,
        id,
        (CommentStatus::Hidden, Action::HideComment),
        reason.as_deref(),
    )
    .await?;
    tracing::info!(comment = %comment.id, by = %moderator.id, "comment hidden");
    Ok(comment)
}

/// Deletes a comment for good: its name, email and body leave storage, and
/// its replies move up to its parent.
#[tracing::instrument(skip(store, events, viewer), fields(by = ?viewer.moderator_id()))]
pub async fn delete(
    store: &Store,
    events: &CommentEvents,
    viewer: &Viewer,
    id: &str,
) -> AppResult<Uuid> {
    let moderator = viewer.require_moderator()?;
    let id = comment_id(id)?;
    let txn = store.begin_write().await?;
    let comment = lock_comment(&txn, id).await?;
    comments::delete_and_reparent(&txn, &comment).await?;
    let subject = Subject::comment(&comment);
    audit::record(
        &txn,
        Actor::Moderator(moderator.id),
        Action::DeleteComment,
        subject,
        None,
    )
    .await?;
    let mut news = events.news();
    news.comment(&comment, true, false, Some(QueueChange::Deleted));
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    store.purge_erased_pages();
    tracing::info!(comment = %comment.id, by = %moderator.id, "comment deleted");
    Ok(comment.id)
}

/// An id that cannot be parsed names no comment: `NOT_FOUND`, like any
/// other unknown id.
fn comment_id(raw: &str) -> AppResult<Uuid> {
    super::id::parse(raw).ok_or(AppError::NotFound("comment"))
}

/// Locks the article of comment `id`, then reads the comment as it is now.
async fn lock_comment(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> AppResult<comment::Model> {
    let seen = comments::find(txn, id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    articles::lock_for_update(txn, seen.article_id).await?;
    comments::find(txn, id)
        .await?
        .ok_or(AppError::NotFound("comment"))
}

/// Sets a comment's status, records the action and tells who needs to
/// know; returns the comment as it is now.
async fn change_status(
    store: &Store,
    events: &CommentEvents,
    mail: Option<&Mail>,
    moderator: &ViewerModerator,
    id: Uuid,
    (status, action): (CommentStatus, Action),
    reason: Option<&str>,
) -> AppResult<comment::Model> {
    let txn = store.begin_write().await?;
    let comment = lock_comment(&txn, id).await?;
    let was_visible = comment.status == CommentStatus::Approved;
    let (comment_id, article_id) = (comment.id, comment.article_id);
    let updated = comments::set_status(&txn, comment, status, now_micros()).await?;
    let subject = Subject::Comment {
        id: comment_id,
        article_id,
    };
    audit::record(
        &txn,
        Actor::Moderator(moderator.id),
        action,
        subject,
        reason,
    )
    .await?;
    let became_visible = !was_visible && status == CommentStatus::Approved;
    let mailed = match mail.filter(|_| became_visible) {
        Some(mail) => super::mail::replies::reply_approved(&txn, mail, &updated).await?,
        None => false,
    };
    let mut news = events.news();
    let queue = if status == CommentStatus::Approved {
        QueueChange::Approved
    } else {
        QueueChange::Hidden
    };
    news.comment(&updated, was_visible, became_visible, Some(queue));
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    if mailed && let Some(mail) = mail {
        mail.wake();
    }
    Ok(updated)
}

pub(crate) fn parse_reason(reason: Option<&str>) -> AppResult<Option<String>> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::bad_input(
            Field::Reason,
            format!("reason must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(Some(reason.to_owned()))
}

/// The most comments one `moderateComments` may act on.
pub const MAX_BULK: usize = 100;

/// What a bulk action does to each comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Approve,
    Hide,
    Delete,
}

/// What became of one id of a bulk action.
#[derive(Debug, Clone)]
pub enum BulkOutcome {
    /// Done: the comment as it is now (as it was, for a deleted one).
    Done(Box<comment::Model>),
    NotFound,
}

/// Approves, hides or deletes up to [`MAX_BULK`] comments in one
/// transaction, with one audit row per comment. Unknown ids are reported
/// as such and leave the others alone. Answers one outcome per id given,
/// in order. Moderators only.
#[tracing::instrument(skip(store, events, mail, viewer, ids, reason), fields(by = ?viewer.moderator_id(), n = ids.len()))]
pub async fn moderate_many(
    store: &Store,
    events: &CommentEvents,
    mail: Option<&Mail>,
    viewer: &Viewer,
    ids: &[String],
    action: BulkAction,
    reason: Option<&str>,
) -> AppResult<Vec<(String, BulkOutcome)>> {
    let moderator = viewer.require_moderator()?;
    if ids.len() > MAX_BULK {
        return Err(AppError::bad_input(
            Field::Ids,
            format!("at most {MAX_BULK} ids at once"),
        ));
    }
    let reason = parse_reason(reason)?;
    let mut wanted: Vec<Uuid> = ids.iter().filter_map(|raw| super::id::parse(raw)).collect();
    wanted.sort_unstable();
    wanted.dedup();

    let txn = store.begin_write().await?;
    // Articles are locked in one order (by id), so that two bulk actions
    // over the same articles wait for each other instead of deadlocking.
    let mut article_ids: Vec<Uuid> = comments::find_many(&txn, &wanted)
        .await?
        .iter()
        .map(|c| c.article_id)
        .collect();
    article_ids.sort_unstable();
    article_ids.dedup();
    for article in &article_ids {
        articles::lock_for_update(&txn, *article).await?;
    }
    let now = now_micros();
    let mut done: Vec<(Uuid, comment::Model, bool)> = Vec::new();
    for id in &wanted {
        // Read again each time: an earlier delete may have moved this
        // comment up, or changed its counts.
        let Some(comment) = comments::find(&txn, *id).await? else {
            continue;
        };
        let was_visible = comment.status == CommentStatus::Approved;
        let subject = Subject::comment(&comment);
        let (after, audited) = match action {
            BulkAction::Approve => (
                comments::set_status(&txn, comment, CommentStatus::Approved, now).await?,
                Action::ApproveComment,
            ),
            BulkAction::Hide => (
                comments::set_status(&txn, comment, CommentStatus::Hidden, now).await?,
                Action::HideComment,
            ),
            BulkAction::Delete => {
                comments::delete_and_reparent(&txn, &comment).await?;
                (comment, Action::DeleteComment)
            }
        };
        audit::record(
            &txn,
            Actor::Moderator(moderator.id),
            audited,
            subject,
            reason.as_deref(),
        )
        .await?;
        done.push((*id, after, was_visible));
    }
    let mut mailed = false;
    if let (BulkAction::Approve, Some(mail)) = (action, mail) {
        for (_, comment, was_visible) in &done {
            if !was_visible {
                mailed |= super::mail::replies::reply_approved(&txn, mail, comment).await?;
            }
        }
    }
    let mut news = events.news();
    for (_, comment, was_visible) in &done {
        match action {
            BulkAction::Approve => news.comment(
                comment,
                *was_visible,
                !was_visible,
                Some(QueueChange::Approved),
            ),
            BulkAction::Hide => {
                news.comment(comment, *was_visible, false, Some(QueueChange::Hidden));
            }
            BulkAction::Delete => news.comment(comment, true, false, Some(QueueChange::Deleted)),
        }
    }
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    if mailed && let Some(mail) = mail {
        mail.wake();
    }
    if action == BulkAction::Delete && !done.is_empty() {
        store.purge_erased_pages();
    }
    for (id, _, _) in &done {
        tracing::info!(comment = %id, by = %moderator.id, action = ?action, "comment moderated in bulk");
    }
    Ok(ids
        .iter()
        .map(|raw| {
            let outcome = super::id::parse(raw)
                .and_then(|id| done.iter().find(|(done_id, _, _)| *done_id == id))
                .map_or(BulkOutcome::NotFound, |(_, comment, _)| {
                    BulkOutcome::Done(Box::new(comment.clone()))
                });
            (raw.clone(), outcome)
        })
        .collect())
}

/// How many comments wait, are visible, or are hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub approved: i64,
    pub hidden: i64,
}

/// The counts of one article (by slug) or of all. Moderators only.
pub async fn counts(
    store: &Store,
    viewer: &Viewer,
    article_slug: Option<&str>,
) -> AppResult<Counts> {
    viewer.require_moderator()?;
    let article_id = super::articles::id_of(store, article_slug).await?;
    let mut counts = Counts::default();
    for (status, n) in comments::count_by_status(store.db(), article_id).await? {
        match status {
            CommentStatus::Pending => counts.pending = n,
            CommentStatus::Approved => counts.approved = n,
            CommentStatus::Hidden => counts.hidden = n,
        }
    }
    Ok(counts)
}
