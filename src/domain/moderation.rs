//! The moderation actions. Each checks that the caller is a moderator,
//! changes the comment, and writes its audit row, in one transaction.

use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::CommentEvents;
use crate::store::audit::{self, Action};
use crate::store::entities::comment;
use crate::store::{Store, comments, now_micros};

use super::CommentStatus;

const MAX_REASON_CHARS: usize = 500;

/// Makes a comment visible to readers (from PENDING, or back from HIDDEN).
pub async fn approve(
    store: &Store,
    events: &CommentEvents,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<comment::Model> {
    let (comment, was_visible) = change_status(
        store,
        viewer,
        id,
        CommentStatus::Approved,
        Action::ApproveComment,
        None,
    )
    .await?;
    tracing::info!(comment = %comment.id, "comment approved");
    if !was_visible {
        events.approved(comment.clone());
    }
    Ok(comment)
}

/// Takes a comment away from readers; `approve` undoes it.
pub async fn hide(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
    reason: Option<&str>,
) -> AppResult<comment::Model> {
    let reason = parse_reason(reason)?;
    let (comment, _) = change_status(
        store,
        viewer,
        id,
        CommentStatus::Hidden,
        Action::HideComment,
        reason.as_deref(),
    )
    .await?;
    tracing::info!(comment = %comment.id, "comment hidden");
    Ok(comment)
}

/// Deletes a comment for good: its name, email and body leave storage, and
/// its replies move up to its parent.
pub async fn delete(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<Uuid> {
    let moderator = viewer.require_moderator()?;
    let txn = store.begin_write().await?;
    let comment = comments::find(&txn, id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    comments::delete_and_reparent(&txn, &comment).await?;
    audit::record(
        &txn,
        audit::Entry {
            moderator_id: moderator.id,
            action: Action::DeleteComment,
            comment_id: Some(comment.id),
            article_id: Some(comment.article_id),
            reason: None,
        },
    )
    .await?;
    txn.commit().await?;
    store.purge_erased_pages().await;
    tracing::info!(comment = %comment.id, "comment deleted");
    Ok(comment.id)
}

/// Sets a comment's status and records the action; returns the comment and
/// whether readers could already see it.
async fn change_status(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
    status: CommentStatus,
    action: Action,
    reason: Option<&str>,
) -> AppResult<(comment::Model, bool)> {
    let moderator = viewer.require_moderator()?;
    let txn = store.begin_write().await?;
    let comment = comments::find(&txn, id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    let was_visible = comment.status == CommentStatus::Approved.as_str();
    let (comment_id, article_id) = (comment.id, comment.article_id);
    let updated = comments::set_status(&txn, comment, status, now_micros()).await?;
    audit::record(
        &txn,
        audit::Entry {
            moderator_id: moderator.id,
            action,
            comment_id: Some(comment_id),
            article_id: Some(article_id),
            reason,
        },
    )
    .await?;
    txn.commit().await?;
    Ok((updated, was_visible))
}

fn parse_reason(reason: Option<&str>) -> AppResult<Option<String>> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::bad_input(
            "reason",
            format!("reason must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(Some(reason.to_owned()))
}
