//! What an author may do to their own comment for a while after posting
//! it (`editWindowMinutes`, 15 by default): edit it or withdraw it, proving
//! authorship with the author token the post answered with.
//!
//! An edit runs the moderation rules again: an approved comment whose new
//! text is held goes back to PENDING, and under pre-moderation an edited
//! comment waits again unless its author is trusted by another approved
//! comment. An edit never makes visible what a moderator hid; what a rule
//! hid it judges again. A comment may be edited `MAX_EDITS` times, which
//! with the flood limits on posting bounds the edits one client can make.
//! The audit keeps that the edit happened (not the old text). A withdrawal
//! erases the comment as `deleteComment` does.

use crate::error::{AppError, AppResult};
use crate::events::{CommentEvents, QueueChange};
use crate::store::entities::comment;
use crate::store::{Store, articles, comments, now_micros};

use super::audit::{self, Action, Actor, Subject};
use super::author_token::AuthorToken;
use super::email_privacy::Sealing;
use super::flood::Fingerprints;
use super::moderation_rules::{self, Facts};
use super::moderation_settings::{Settings, SettingsCache};
use super::{CommentBody, CommentStatus, article_policy, formatting};

const MICROS_PER_MINUTE: i64 = 60 * 1_000_000;

/// The most edits one comment takes.
pub const MAX_EDITS: u64 = 10;

/// What an author edit needs from the server.
pub struct EditRules<'a> {
    pub settings: &'a SettingsCache,
    pub sealing: &'a Sealing,
}

/// The one answer to an edit or withdrawal without the proof: the same
/// whether the comment exists, is hidden or was deleted, so that it tells
/// nothing about a comment to whoever does not hold its token.
const NOT_YOURS: AppError = AppError::Forbidden("this author token was not given for this comment");

/// Finds comment `id` and checks the author's proof and the window.
async fn find_own(
    db: &impl sea_orm::ConnectionTrait,
    fingerprints: &Fingerprints,
    settings: &Settings,
    id: &str,
    token: &str,
) -> AppResult<comment::Model> {
    let token = AuthorToken::parse(token)?;
    let id = super::id::parse(id).ok_or(NOT_YOURS)?;
    let comment = comments::find(db, id).await?.ok_or(NOT_YOURS)?;
    if comment.author_key.as_deref() != Some(token.key(fingerprints).as_str()) {
        return Err(NOT_YOURS);
    }
    let window = i64::from(settings.edit_window_minutes) * MICROS_PER_MINUTE;
    if now_micros() > comment.created_at.saturating_add(window) {
        return Err(AppError::Forbidden(
            "the time to edit or withdraw this comment has passed",
        ));
    }
    Ok(comment)
}

/// `find_own` in the transaction of the change, the comment's article
/// locked first.
async fn own_comment(
    txn: &sea_orm::DatabaseTransaction,
    fingerprints: &Fingerprints,
    settings: &Settings,
    id: &str,
    token: &str,
) -> AppResult<comment::Model> {
    let seen = find_own(txn, fingerprints, settings, id, token).await?;
    articles::lock_for_update(txn, seen.article_id).await?;
    find_own(txn, fingerprints, settings, id, token).await
}

/// Replaces the text of the author's comment and runs the rules again.
#[tracing::instrument(skip_all)]
pub async fn edit(
    store: &Store,
    events: &CommentEvents,
    rules: EditRules<'_>,
    id: &str,
    token: &str,
    body: &str,
) -> AppResult<comment::Model> {
    let settings = super::moderation_settings::current(store, events, rules.settings).await?;
    let body = CommentBody::parse(body)?;
    // The proof first: formatting is work only the author may cause.
    find_own(
        store.db(),
        rules.sealing.fingerprints(),
        &settings,
        id,
        token,
    )
    .await?;
    let formatted = formatting::format(body.as_str());
    let txn = store.begin_write().await?;
    let comment = own_comment(&txn, rules.sealing.fingerprints(), &settings, id, token).await?;
    if audit::count_for_comment(&txn, comment.id, Action::EditComment).await? >= MAX_EDITS {
        return Err(AppError::Forbidden(
            "this comment has been edited as many times as it may be (10)",
        ));
    }
    let article = articles::lock_for_update(&txn, comment.article_id)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    let email = rules
        .sealing
        .open(comment.id, &comment.author_email)?
        .unwrap_or_default();
    let banned = super::bans::is_banned(&txn, rules.sealing.fingerprints(), &email).await?;
    let proven = article_policy::trusts(&settings, &article)
        && match (
            comment.author_key.as_deref(),
            comment.email_index.as_deref(),
        ) {
            (Some(key), Some(index)) => {
                comments::approved_with_author_key(&txn, key, index, Some(comment.id)).await?
            }
            _ => false,
        };
    let decision = moderation_rules::decide(
        &settings,
        article_policy::mode_of(&article, &settings),
        &Facts {
            name: &comment.author_name,
            email: &email,
            body: body.as_str(),
            links: formatted.links,
            banned,
            proven_returning_author: proven,
        },
    );
    let was_visible = comment.status == CommentStatus::Approved;
    // An edit never brings back what a moderator hid. What the rules hid
    // they judge again, like anything else: an edit must not tell its
    // author whether a rule hid the comment or held it.
    let hidden_by_moderator = comment.status == CommentStatus::Hidden
        && audit::hidden_last_by_a_moderator(&txn, comment.id).await?;
    let status = if hidden_by_moderator {
        CommentStatus::Hidden
    } else {
        decision.status
    };
    let subject = Subject::comment(&comment);
    let edited = comments::apply_edit(
        &txn,
        comment,
        comments::Edit {
            body: body.into_inner(),
            body_html: formatted.html,
            moderation_reasons: moderation_rules::to_stored(&decision.reasons),
        },
        status,
        now_micros(),
    )
    .await?;
    audit::record(&txn, Actor::Author, Action::EditComment, subject, None).await?;
    let mut news = events.news();
    let became_visible = !was_visible && status == CommentStatus::Approved;
    news.comment(
        &edited,
        was_visible,
        became_visible,
        Some(QueueChange::Edited),
    );
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    tracing::info!(comment = %edited.id, status = status.as_str(), "comment edited by its author");
    Ok(edited)
}

/// Withdraws the author's comment: erased as `deleteComment` erases it,
/// its replies moved up.
#[tracing::instrument(skip_all)]
pub async fn withdraw(
    store: &Store,
    events: &CommentEvents,
    rules: EditRules<'_>,
    id: &str,
    token: &str,
) -> AppResult<uuid::Uuid> {
    let settings = super::moderation_settings::current(store, events, rules.settings).await?;
    let txn = store.begin_write().await?;
    let comment = own_comment(&txn, rules.sealing.fingerprints(), &settings, id, token).await?;
    comments::delete_and_reparent(&txn, &comment).await?;
    let subject = Subject::comment(&comment);
    audit::record(&txn, Actor::Author, Action::WithdrawComment, subject, None).await?;
    let mut news = events.news();
    news.comment(&comment, true, false, Some(QueueChange::Deleted));
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    store.purge_erased_pages();
    tracing::info!(comment = %comment.id, "comment withdrawn by its author");
    Ok(comment.id)
}
