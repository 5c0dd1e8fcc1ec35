//! What readers may see of comments: APPROVED ones only, threaded and
//! paged. Every read of comments goes through here, so that rule lives in
//! one place; moderators see any status, and the queue is theirs alone.
//! Which reads carry authors' emails is `email_privacy`'s decision.

use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::store::entities::comment;
use crate::store::{Store, articles, comments};

use super::email_privacy;
use super::{CommentStatus, Direction, Page, PageRequest};

pub use crate::store::comments::{Level, ThreadComment};
pub use crate::store::entities::article::Model as StoredArticle;
pub use crate::store::entities::comment::Model as StoredComment;

/// Whether readers (as opposed to moderators) may see this comment.
pub fn visible_to_readers(comment: &comment::Model) -> bool {
    comment.status == CommentStatus::Approved
}

/// A comment's status as this viewer sees it: a moderator as it is; anyone
/// else sees HIDDEN as PENDING (an author is never told their comment was
/// hidden rather than held).
pub fn status_seen_by(viewer: &Viewer, status: CommentStatus) -> CommentStatus {
    if status == CommentStatus::Hidden && !viewer.is_moderator() {
        CommentStatus::Pending
    } else {
        status
    }
}

/// A page of an article's approved comments at one level of its thread.
pub async fn page(
    store: &Store,
    viewer: &Viewer,
    article_id: Uuid,
    level: Level,
    direction: Direction,
    page: &PageRequest,
) -> AppResult<Page<ThreadComment>> {
    let emails = email_privacy::thread_emails(viewer);
    Ok(comments::list_thread(store.db(), article_id, level, direction, page, emails).await?)
}

/// The first pages of approved replies of several comments of one article,
/// in one statement: up to `first + 1` replies per parent, so that the
/// caller can tell whether another page follows.
pub async fn first_replies(
    store: &Store,
    article_id: Uuid,
    parents: &[Uuid],
    first: u64,
    emails: email_privacy::Emails,
) -> AppResult<Vec<ThreadComment>> {
    Ok(comments::first_replies(store.db(), article_id, parents, first, emails).await?)
}

/// The comment with this id, if this viewer may see it: readers only an
/// approved one, moderators any.
pub async fn comment(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<comment::Model>> {
    let found = comments::find(store.db(), id).await?;
    Ok(found.filter(|c| viewer.is_moderator() || visible_to_readers(c)))
}

/// Comments of one status, oldest first, across articles or within one.
/// Moderators only.
#[tracing::instrument(skip(store, viewer, page), fields(by = ?viewer.moderator_id()))]
pub async fn queue(
    store: &Store,
    viewer: &Viewer,
    status: CommentStatus,
    article_slug: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<comment::Model>> {
    viewer.require_moderator()?;
    let article_id = match article_slug {
        Some(slug) => Some(
            super::articles::find_by_slug(store, slug)
                .await?
                .ok_or(crate::error::AppError::NotFound("article"))?
                .id,
        ),
        None => None,
    };
    Ok(comments::list_queue(store.db(), status, article_id, page).await?)
}

/// Articles by id, for the comments that name them.
pub async fn articles_by_id(store: &Store, ids: &[Uuid]) -> AppResult<Vec<StoredArticle>> {
    Ok(articles::find_by_ids(store.db(), ids).await?)
}
