//! Personal data is kept only as long as needed: a comment hidden for
//! longer than the retention period (counted from when Parley hid it, or
//! took it in hidden) is erased as
//! `deleteComment` erases it (its replies move up), and recorded in the
//! moderation log as `ERASE_EXPIRED`; flood-control records older than a
//! day go too, and so do addresses that asked for mail 30 days ago and
//! never confirmed (or unsubscribed that long ago). A background task does it in small batches, each its own
//! transaction, which one instance at a time takes (a PostgreSQL advisory
//! lock): instances sharing a database split the work, never repeat it.

use std::time::Duration;

use uuid::Uuid;

use crate::store::entities::comment::CommentStatus;

use crate::error::AppResult;
use crate::events::{CommentEvents, QueueChange};
use crate::store::{Store, articles, comments, mail_recipients, now_micros, post_marks};

use super::audit::{self, Action, Actor, Subject};

const DAY_MICROS: i64 = 24 * 3_600 * 1_000_000;

/// Comments erased per transaction: each batch holds writers up briefly.
const BATCH: u64 = 50;

/// How often the retention period is applied, after once at start-up.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3_600);

/// How long personal data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Days a hidden comment is kept; `0` keeps it for ever.
    pub hidden_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self { hidden_days: 90 }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub erased: u64,
    /// Whether another instance was sweeping, so this one left it.
    pub elsewhere: bool,
}

/// Applies the retention period once.
pub async fn sweep(
    store: &Store,
    events: &CommentEvents,
    policy: RetentionPolicy,
) -> AppResult<Swept> {
    let now = now_micros();
    let mut swept = Swept::default();
    {
        let txn = store.begin_write().await?;
        if !store.try_lock_retention(&txn).await? {
            return Ok(Swept {
                erased: 0,
                elsewhere: true,
            });
        }
        post_marks::prune(&txn, now - DAY_MICROS).await?;
        mail_recipients::prune(
            &txn,
            now - super::mail::replies::UNCONFIRMED_KEPT_DAYS * DAY_MICROS,
        )
        .await?;
        txn.commit().await?;
    }
    if policy.hidden_days == 0 {
        return Ok(swept);
    }
    let before = now - i64::from(policy.hidden_days) * DAY_MICROS;
    loop {
        let txn = store.begin_write().await?;
        if !store.try_lock_retention(&txn).await? {
            swept.elsewhere = true;
            break;
        }
        let ids = comments::hidden_before(&txn, before, BATCH).await?;
        // Their articles are locked first, in id order, as bulk moderation
        // locks them: the two never wait on each other in a cycle.
        let mut article_ids = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(comment) = comments::find(&txn, *id).await? {
                article_ids.push(comment.article_id);
            }
        }
        article_ids.sort_unstable();
        article_ids.dedup();
        for article in &article_ids {
            articles::lock_for_update(&txn, *article).await?;
        }
        let mut news = events.news();
        for id in &ids {
            if erase(&txn, &mut news, *id, before).await? {
                swept.erased += 1;
            }
        }
        news.announce(&txn).await?;
        txn.commit().await?;
        news.publish();
        if (ids.len() as u64) < BATCH {
            break;
        }
    }
    if swept.erased > 0 {
        store.purge_erased_pages();
        tracing::info!(
            erased = swept.erased,
            days = policy.hidden_days,
            "hidden comments past the retention period erased"
        );
    }
    Ok(swept)
}

/// Erases one expired comment, its article locked, unless it changed since
/// it was listed; whether it did.
async fn erase(
    txn: &sea_orm::DatabaseTransaction,
    news: &mut crate::events::News<'_>,
    id: Uuid,
    before: i64,
) -> AppResult<bool> {
    let Some(comment) = comments::find(txn, id).await? else {
        return Ok(false);
    };
    if comment.status != CommentStatus::Hidden || comment.hidden_at.is_none_or(|at| at >= before) {
        return Ok(false);
    }
    comments::delete_and_reparent(txn, &comment).await?;
    audit::record(
        txn,
        Actor::Retention,
        Action::EraseExpired,
        Subject::comment(&comment),
        None,
    )
    .await?;
    // Its replies move up, where readers may now see them.
    news.comment(&comment, true, false, Some(QueueChange::Deleted));
    Ok(true)
}

/// Applies the retention period at start-up and then every
/// [`SWEEP_EVERY`], until the process ends. Failures are logged and tried
/// again at the next turn.
pub async fn keep_sweeping(store: Store, events: CommentEvents, policy: RetentionPolicy) {
    let mut turns = tokio::time::interval(SWEEP_EVERY);
    loop {
        turns.tick().await;
        if let Err(err) = sweep(&store, &events, policy).await {
            tracing::warn!(error = %err.message(), "could not apply the retention period");
        }
    }
}
