//! Banning an author: every later comment with the same email is hidden.
//! A ban is made from one of the author's comments and is known only by a
//! keyed hash of the email, so the bans list never holds an address; a
//! moderator sees it on the example comment. Existing comments stay as
//! they are (`moderateComments` hides them in bulk).
//!
//! Under post-moderation a banned author's comments stay unpublished while
//! others appear at once: that makes a ban observable for an email, the one
//! case SECURITY.md accepts.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::store::entities::{ban, comment};
use crate::store::{Store, bans, comments, moderators, now_micros};

use super::audit::{self, Action, Actor, Subject};
use super::email_privacy::Sealing;
use super::flood::Fingerprints;
use super::{Page, PageRequest};

/// The namespace of banned emails' keyed hashes.
const KIND: &str = "banned-email";

/// The keyed hash a ban holds for `email`: any case is the same address.
fn email_key(fingerprints: &Fingerprints, email: &str) -> String {
    fingerprints.of(KIND, &email.trim().to_lowercase())
}

/// Whether the author of this email is banned. `db` is the transaction of
/// the change when there is one: a second connection taken while a write
/// transaction holds one could wait on the pool behind it.
pub async fn is_banned(
    db: &impl ConnectionTrait,
    fingerprints: &Fingerprints,
    email: &str,
) -> AppResult<bool> {
    let key = email_key(fingerprints, email);
    Ok(bans::find_by_email_key(db, &key).await?.is_some())
}

/// A ban as moderators see it: who made it, and the comment it was made from.
#[derive(Debug, Clone)]
pub struct BanView {
    pub ban: ban::Model,
    pub moderator_name: Option<String>,
    pub example: Option<comment::Model>,
}

/// Bans the author of comment `comment_id`. Banning an author who is
/// banned already changes nothing and answers the existing ban.
/// Moderators only; audited.
#[tracing::instrument(skip(store, sealing, viewer, reason), fields(by = ?viewer.moderator_id()))]
pub async fn ban(
    store: &Store,
    sealing: &Sealing,
    viewer: &Viewer,
    comment_id: &str,
    reason: Option<&str>,
) -> AppResult<BanView> {
    let moderator = viewer.require_moderator()?;
    let reason = super::moderation::parse_reason(reason)?;
    let id = super::id::parse(comment_id).ok_or(AppError::NotFound("comment"))?;
    let txn = store.begin_write().await?;
    let comment = comments::find(&txn, id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    let email = sealing
        .open(comment.id, &comment.author_email)?
        .unwrap_or_default();
    let key = email_key(sealing.fingerprints(), &email);
    let fresh = ban::Model {
        id: Uuid::now_v7(),
        email_key: key.clone(),
        moderator_id: moderator.id,
        reason: reason.clone(),
        example_comment_id: Some(comment.id),
        created_at: now_micros(),
    };
    if bans::insert_if_absent(&txn, fresh).await? {
        let subject = Subject::comment(&comment);
        audit::record(
            &txn,
            Actor::Moderator(moderator.id),
            Action::BanAuthor,
            subject,
            reason.as_deref(),
        )
        .await?;
        tracing::info!(comment = %comment.id, "author banned");
    }
    let stored = bans::find_by_email_key(&txn, &key)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a ban vanished as it was made")))?;
    txn.commit().await?;
    let mut views = views(store, vec![stored]).await?;
    views
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no view of a ban")))
}

/// Lifts a ban. Moderators only; audited.
#[tracing::instrument(skip(store, viewer), fields(by = ?viewer.moderator_id()))]
pub async fn unban(store: &Store, viewer: &Viewer, id: &str) -> AppResult<BanView> {
    let moderator = viewer.require_moderator()?;
    let id = super::id::parse(id).ok_or(AppError::NotFound("ban"))?;
    let txn = store.begin_write().await?;
    let ban = bans::find(&txn, id)
        .await?
        .ok_or(AppError::NotFound("ban"))?;
    if !bans::delete(&txn, id).await? {
        return Err(AppError::NotFound("ban"));
    }
    let example = match ban.example_comment_id {
        Some(comment) => comments::find(&txn, comment).await?,
        None => None,
    };
    let subject = match &example {
        Some(comment) => Subject::comment(comment),
        None => Subject::Settings,
    };
    audit::record(
        &txn,
        Actor::Moderator(moderator.id),
        Action::UnbanAuthor,
        subject,
        None,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(ban = %id, "ban lifted");
    let mut views = views(store, vec![ban]).await?;
    views
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no view of a ban")))
}

/// The bans, newest first. Moderators only.
pub async fn list(store: &Store, viewer: &Viewer, page: &PageRequest) -> AppResult<Page<BanView>> {
    viewer.require_moderator()?;
    let found = bans::list(store.db(), page).await?;
    Ok(Page {
        items: views(store, found.items).await?,
        has_next_page: found.has_next_page,
        has_previous_page: found.has_previous_page,
    })
}

/// Bans with their moderators' names and example comments, in two reads.
async fn views(store: &Store, found: Vec<ban::Model>) -> AppResult<Vec<BanView>> {
    let moderator_ids: Vec<Uuid> = found.iter().map(|b| b.moderator_id).collect();
    let comment_ids: Vec<Uuid> = found.iter().filter_map(|b| b.example_comment_id).collect();
    let names: HashMap<Uuid, String> = moderators::find_any_by_ids(store.db(), &moderator_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let mut examples: HashMap<Uuid, comment::Model> = comments::find_many(store.db(), &comment_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(found
        .into_iter()
        .map(|ban| BanView {
            moderator_name: names.get(&ban.moderator_id).cloned(),
            example: ban.example_comment_id.and_then(|id| examples.remove(&id)),
            ban,
        })
        .collect())
}
