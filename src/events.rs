//! What changes, told to whoever needs to know:
//! - comments becoming visible to readers, for the `commentApproved`
//!   subscription (subscribers of this instance);
//! - comments entering or leaving the moderation queue, for the
//!   moderators' `moderationQueueChanged` subscription (this instance);
//! - a generation number that moves on every change readers could see, so
//!   cached anonymous answers are never served stale. On PostgreSQL every
//!   change is also announced with `NOTIFY` inside its transaction, and each
//!   instance listens, so caches on other instances move on too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::store::entities::comment;

/// Slow subscribers lose the oldest events past this many.
const CAPACITY: usize = 1024;
pub use crate::store::CHANGES_CHANNEL;

/// The hub that moderation and posting publish to, and that subscriptions
/// and the read cache follow.
#[derive(Clone, Debug)]
pub struct CommentEvents {
    sender: broadcast::Sender<comment::Model>,
    queue: broadcast::Sender<QueueEvent>,
    changes: Arc<Changes>,
}

/// How a comment moved in or out of the moderation queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueChange {
    /// Posted, and not approved at once (PENDING, or HIDDEN by the rules).
    Added,
    /// Changed by its author within the edit window.
    Edited,
    Approved,
    Hidden,
    /// Deleted by a moderator or withdrawn by its author.
    Deleted,
}

/// A comment as it was when it moved in the queue.
#[derive(Debug, Clone)]
pub struct QueueEvent {
    pub change: QueueChange,
    pub comment: comment::Model,
}

#[derive(Debug)]
struct Changes {
    generation: AtomicU64,
    /// Whether changes made by other instances reach this one.
    in_sync: AtomicBool,
}

impl CommentEvents {
    /// Events for an instance that is alone on its database (SQLite).
    pub fn standalone() -> Self {
        Self::new(true)
    }

    /// Events for an instance sharing its database: out of sync until
    /// [`listen_for_changes`] has connected.
    pub fn shared() -> Self {
        Self::new(false)
    }

    fn new(in_sync: bool) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            queue: broadcast::channel(CAPACITY).0,
            changes: Arc::new(Changes {
                generation: AtomicU64::new(0),
                in_sync: AtomicBool::new(in_sync),
            }),
        }
    }

    /// Announces a comment that readers can now see.
    pub fn approved(&self, comment: comment::Model) {
        self.changed();
        // No subscriber is not an error.
        let _ = self.sender.send(comment);
    }

    /// Notes a change readers could see (after its transaction committed).
    pub fn changed(&self) {
        self.changes.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The current generation, or `None` while changes made elsewhere might
    /// be missed (then nothing may be cached).
    pub fn generation(&self) -> Option<u64> {
        self.changes
            .in_sync
            .load(Ordering::SeqCst)
            .then(|| self.changes.generation.load(Ordering::SeqCst))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<comment::Model> {
        self.sender.subscribe()
    }

    /// Announces a move in the moderation queue (after its transaction
    /// committed).
    pub fn queue_changed(&self, change: QueueChange, comment: comment::Model) {
        // No subscriber is not an error.
        let _ = self.queue.send(QueueEvent { change, comment });
    }

    pub fn subscribe_queue(&self) -> broadcast::Receiver<QueueEvent> {
        self.queue.subscribe()
    }
}

/// Follows the changes other instances announce on PostgreSQL, for as long
/// as the process runs. While the listening connection is down the events
/// count as out of sync; when it comes back, the generation moves on, since
/// anything may have changed meanwhile.
pub async fn listen_for_changes(database_url: String, events: CommentEvents) {
    use sea_orm::sqlx::postgres::PgListener;

    let mut pause = Duration::from_millis(100);
    loop {
        match PgListener::connect(&database_url).await {
            Ok(mut listener) => {
                if listener.listen(CHANGES_CHANNEL).await.is_ok() {
                    events.changed();
                    events.changes.in_sync.store(true, Ordering::SeqCst);
                    pause = Duration::from_millis(100);
                    while listener.recv().await.is_ok() {
                        events.changed();
                    }
                }
                events.changes.in_sync.store(false, Ordering::SeqCst);
                tracing::warn!("lost the change feed from the database; caching paused");
            }
            Err(err) => tracing::debug!(error = %err, "change feed not connected yet"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
