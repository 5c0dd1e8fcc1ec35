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
use crate::events::CommentEvents;
use crate::store::entities::comment;
use crate::store::{Store, articles, comments, now_micros};

use super::CommentStatus;
use super::audit::{self, Action, Subject};

const MAX_REASON_CHARS: usize = 500;

/// Makes a comment visible to readers (from PENDING, or back from HIDDEN).
#[tracing::instrument(skip(store, events, viewer), fields(by = ?viewer.moderator_id()))]
pub async fn approve(
    store: &Store,
    events: &CommentEvents,
    viewer: &Viewer,
    id: &str,
) -> AppResult<comment::Model> {
    let moderator = viewer.require_moderator()?;
    let (comment, was_visible) = change_status(
        store,
        moderator,
        comment_id(id)?,
        CommentStatus::Approved,
        Action::ApproveComment,
        None,
    )
    .await?;
    tracing::info!(comment = %comment.id, "comment approved");
    if was_visible {
        events.changed();
    } else {
        events.approved(comment.clone());
    }
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
    let (comment, _) = change_status(
        store,
        moderator,
        id,
        CommentStatus::Hidden,
        Action::HideComment,
        reason.as_deref(),
    )
    .await?;
    events.changed();
    tracing::info!(comment = %comment.id, "comment hidden");
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
    let subject = Subject::Comment {
        id: comment.id,
        article_id: comment.article_id,
    };
    audit::record(&txn, moderator.id, Action::DeleteComment, subject, None).await?;
    store.announce_change(&txn).await?;
    txn.commit().await?;
    events.changed();
    store.purge_erased_pages();
    tracing::info!(comment = %comment.id, "comment deleted");
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

/// Sets a comment's status and records the action; returns the comment and
/// whether readers could already see it.
async fn change_status(
    store: &Store,
    moderator: &ViewerModerator,
    id: Uuid,
    status: CommentStatus,
    action: Action,
    reason: Option<&str>,
) -> AppResult<(comment::Model, bool)> {
    let txn = store.begin_write().await?;
    let comment = lock_comment(&txn, id).await?;
    let was_visible = comment.status == CommentStatus::Approved;
    let (comment_id, article_id) = (comment.id, comment.article_id);
    let updated = comments::set_status(&txn, comment, status, now_micros()).await?;
    let subject = Subject::Comment {
        id: comment_id,
        article_id,
    };
    audit::record(&txn, moderator.id, action, subject, reason).await?;
    store.announce_change(&txn).await?;
    txn.commit().await?;
    Ok((updated, was_visible))
}

fn parse_reason(reason: Option<&str>) -> AppResult<Option<String>> {
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
