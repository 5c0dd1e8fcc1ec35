//! What changes, told to whoever needs to know, on every instance:
//! - comments becoming visible to readers, for the `commentApproved`
//!   subscription;
//! - comments entering or leaving the moderation queue, for the
//!   moderators' `moderationQueueChanged` subscription;
//! - generation numbers that move on every change readers could see (one
//!   per article, one for the whole site), so cached anonymous answers are
//!   never served stale and a change to one thread leaves the others'
//!   cached answers alone.
//!
//! A writer gathers its changes in [`News`], announces them inside its
//! transaction and publishes them here once it has committed. On PostgreSQL
//! the announcement is a `NOTIFY` carrying ids only (never a name, an email
//! or a body); every other instance listens ([`listen_for_changes`]),
//! loads what changed and publishes it to its own subscribers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::store::entities::comment::{self, CommentStatus};
use crate::store::{self, Store};

/// Slow subscribers lose the oldest events past this many.
const CAPACITY: usize = 1024;
pub use crate::store::CHANGES_CHANNEL;

/// Articles share this many generation counters (by their id's hash): a
/// change to one retires the cached answers of the few others sharing its
/// counter too, never fewer than its own.
const ARTICLE_SLOTS: usize = 4096;

/// The hub that moderation and posting publish to, and that subscriptions
/// and the read cache follow.
#[derive(Clone, Debug)]
pub struct CommentEvents {
    /// Tells this instance's own announcements from other instances'.
    instance: Uuid,
    sender: broadcast::Sender<comment::Model>,
    queue: broadcast::Sender<QueueEvent>,
    changes: Arc<Changes>,
}

/// How a comment moved in or out of the moderation queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// A comment as it was when it moved in the queue. A deleted comment comes
/// as erased: its ids, status and times, without name, email or body.
#[derive(Debug, Clone)]
pub struct QueueEvent {
    pub change: QueueChange,
    pub comment: comment::Model,
}

/// One change, by ids only: what a `NOTIFY` carries between instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Change {
    /// Something any answer may depend on (the moderation settings).
    Site,
    /// An article's own fields, or its existence.
    Article { article: Uuid },
    /// A comment of `article` changed.
    Comment {
        article: Uuid,
        comment: Uuid,
        /// Whether readers could see the difference.
        readers: bool,
        /// Whether it just became visible to readers.
        became_visible: bool,
        queue: Option<QueueChange>,
        /// For a deleted comment, which cannot be loaded any more.
        status: CommentStatus,
        created_at: i64,
    },
}

/// What a `NOTIFY` payload holds.
#[derive(Debug, Serialize, Deserialize)]
struct Announcement {
    from: Uuid,
    change: Change,
}

#[derive(Debug)]
struct Changes {
    /// Moves on every change readers could see.
    every: AtomicU64,
    /// Moves on changes to the whole site, and when changes made elsewhere
    /// may have been missed.
    site: AtomicU64,
    /// Moves on changes to the articles of each slot.
    articles: Box<[AtomicU64]>,
    /// Whether changes made by other instances reach this one.
    in_sync: AtomicBool,
}

impl Changes {
    fn slot(article: Uuid) -> usize {
        (article.as_u128() % ARTICLE_SLOTS as u128) as usize
    }

    fn apply(&self, change: &Change) {
        match change {
            Change::Site => {
                self.site.fetch_add(1, Ordering::SeqCst);
            }
            Change::Article { article }
            | Change::Comment {
                article,
                readers: true,
                ..
            } => {
                self.articles[Self::slot(*article)].fetch_add(1, Ordering::SeqCst);
            }
            Change::Comment { readers: false, .. } => return,
        }
        self.every.fetch_add(1, Ordering::SeqCst);
    }
}

/// The generations before an answer was computed.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    every: u64,
}

/// What a cached answer depends on, and the generations it was computed
/// under.
#[derive(Debug, Clone)]
pub enum Freshness {
    /// Any change readers could see retires it.
    Everything(u64),
    /// Changes to the site or to these articles' slots retire it.
    Articles { site: u64, slots: Vec<(usize, u64)> },
}

/// What an answer read: the articles it is about, or possibly anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    Articles(Vec<Uuid>),
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
            instance: Uuid::now_v7(),
            sender: broadcast::channel(CAPACITY).0,
            queue: broadcast::channel(CAPACITY).0,
            changes: Arc::new(Changes {
                every: AtomicU64::new(0),
                site: AtomicU64::new(0),
                articles: (0..ARTICLE_SLOTS).map(|_| AtomicU64::new(0)).collect(),
                in_sync: AtomicBool::new(in_sync),
            }),
        }
    }

    /// Gathers the changes of one transaction.
    pub fn news(&self) -> News<'_> {
        News {
            events: self,
            items: Vec::new(),
        }
    }

    fn in_sync(&self) -> bool {
        self.changes.in_sync.load(Ordering::SeqCst)
    }

    /// The site's generation, or `None` while changes made elsewhere might
    /// be missed: what is read and kept from the database's site-wide
    /// settings holds while it stays the same.
    pub fn site_generation(&self) -> Option<u64> {
        self.in_sync()
            .then(|| self.changes.site.load(Ordering::SeqCst))
    }

    /// The generations now, before computing an answer that may be kept;
    /// `None` while changes made elsewhere might be missed (then nothing
    /// may be kept).
    pub fn stamp(&self) -> Option<Stamp> {
        self.in_sync().then(|| Stamp {
            every: self.changes.every.load(Ordering::SeqCst),
        })
    }

    /// What an answer computed since `stamp`, reading `scope`, depends on;
    /// `None` when something changed meanwhile (the answer may mix old and
    /// new, so it is not kept).
    pub fn freshness(&self, stamp: Stamp, scope: &Scope) -> Option<Freshness> {
        let freshness = match scope {
            Scope::Everything => Freshness::Everything(stamp.every),
            Scope::Articles(articles) => Freshness::Articles {
                site: self.changes.site.load(Ordering::SeqCst),
                slots: articles
                    .iter()
                    .map(|article| {
                        let slot = Changes::slot(*article);
                        (slot, self.changes.articles[slot].load(Ordering::SeqCst))
                    })
                    .collect(),
            },
        };
        let unchanged = self.in_sync() && self.changes.every.load(Ordering::SeqCst) == stamp.every;
        unchanged.then_some(freshness)
    }

    /// Whether an answer kept with `freshness` still holds.
    pub fn holds(&self, freshness: &Freshness) -> bool {
        if !self.in_sync() {
            return false;
        }
        match freshness {
            Freshness::Everything(every) => self.changes.every.load(Ordering::SeqCst) == *every,
            Freshness::Articles { site, slots } => {
                self.changes.site.load(Ordering::SeqCst) == *site
                    && slots.iter().all(|(slot, generation)| {
                        self.changes.articles[*slot].load(Ordering::SeqCst) == *generation
                    })
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<comment::Model> {
        self.sender.subscribe()
    }

    pub fn subscribe_queue(&self) -> broadcast::Receiver<QueueEvent> {
        self.queue.subscribe()
    }

    /// Moves the generations on and tells this instance's subscribers.
    /// `comment` is the comment a comment change is about, as it is now.
    fn publish(&self, change: &Change, comment: Option<comment::Model>) {
        self.changes.apply(change);
        let (
            Change::Comment {
                became_visible,
                queue,
                ..
            },
            Some(comment),
        ) = (change, comment)
        else {
            return;
        };
        // No subscriber is not an error.
        if *became_visible && comment.status == CommentStatus::Approved {
            let _ = self.sender.send(comment.clone());
        }
        if let Some(change) = *queue {
            let _ = self.queue.send(QueueEvent { change, comment });
        }
    }

    /// Everything may have changed (the feed from other instances was
    /// interrupted).
    fn everything_changed(&self) {
        self.changes.site.fetch_add(1, Ordering::SeqCst);
        self.changes.every.fetch_add(1, Ordering::SeqCst);
    }

    /// Publishes a change another instance announced, loading the comment
    /// it is about.
    async fn receive(&self, store: &Store, payload: &str) {
        let Ok(announcement) = serde_json::from_str::<Announcement>(payload) else {
            tracing::warn!("an announcement from another instance could not be read");
            self.everything_changed();
            return;
        };
        if announcement.from == self.instance {
            return;
        }
        let change = announcement.change;
        let comment = match &change {
            Change::Comment {
                queue: Some(QueueChange::Deleted),
                article,
                comment,
                status,
                created_at,
                ..
            } => Some(erased(*comment, *article, *status, *created_at)),
            // Loaded only when a subscriber of this instance would see it.
            Change::Comment {
                comment,
                became_visible,
                queue,
                ..
            } if (*became_visible && self.sender.receiver_count() > 0)
                || (queue.is_some() && self.queue.receiver_count() > 0) =>
            {
                match store::comments::find(store.db(), *comment).await {
                    Ok(found) => found,
                    Err(err) => {
                        tracing::warn!(error = %err, "a changed comment could not be loaded");
                        None
                    }
                }
            }
            _ => None,
        };
        self.publish(&change, comment);
    }
}

/// A deleted comment as its queue event shows it.
fn erased(id: Uuid, article: Uuid, status: CommentStatus, created_at: i64) -> comment::Model {
    comment::Model {
        id,
        article_id: article,
        parent_id: None,
        author_name: String::new(),
        author_email: String::new(),
        body: String::new(),
        status,
        created_at,
        updated_at: created_at,
        approved_reply_count: 0,
        moderation_reasons: "[]".to_owned(),
        body_html: Some(String::new()),
        author_key: None,
        email_key_id: None,
        email_index: None,
        hidden_at: None,
        notify_replies: false,
        reply_notified: false,
    }
}

/// The changes one transaction makes: announced inside it, published after
/// it commits.
#[must_use = "news must be announced and published"]
pub struct News<'a> {
    events: &'a CommentEvents,
    items: Vec<(Change, Option<comment::Model>)>,
}

impl News<'_> {
    /// The site-wide settings changed.
    pub fn site(&mut self) {
        self.items.push((Change::Site, None));
    }

    /// An article was created or changed.
    pub fn article(&mut self, article: Uuid) {
        self.items.push((Change::Article { article }, None));
    }

    /// `comment` (as it is now) changed: `became_visible` when readers see
    /// it from now on, `readers` when they see any difference, `queue` when
    /// it moved in the moderation queue.
    pub fn comment(
        &mut self,
        comment: &comment::Model,
        readers: bool,
        became_visible: bool,
        queue: Option<QueueChange>,
    ) {
        let change = Change::Comment {
            article: comment.article_id,
            comment: comment.id,
            readers: readers || became_visible,
            became_visible,
            queue,
            status: comment.status,
            created_at: comment.created_at,
        };
        let shown = if queue == Some(QueueChange::Deleted) {
            erased(
                comment.id,
                comment.article_id,
                comment.status,
                comment.created_at,
            )
        } else {
            comment.clone()
        };
        self.items.push((change, Some(shown)));
    }

    /// Tells the other instances, inside `txn`: they hear of it when it
    /// commits, and never if it does not.
    pub async fn announce(&self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        for (change, _) in &self.items {
            let announcement = Announcement {
                from: self.events.instance,
                change: change.clone(),
            };
            let payload = serde_json::to_string(&announcement)
                .map_err(|err| DbErr::Custom(format!("announcement: {err}")))?;
            store::announce(txn, &payload).await?;
        }
        Ok(())
    }

    /// Tells this instance, once the transaction committed.
    pub fn publish(self) {
        for (change, comment) in self.items {
            self.events.publish(&change, comment);
        }
    }
}

/// Follows the changes other instances announce on PostgreSQL, for as long
/// as the process runs. While the listening connection is down the events
/// count as out of sync; when it comes back, everything counts as changed,
/// since anything may have changed meanwhile.
pub async fn listen_for_changes(database_url: String, store: Store, events: CommentEvents) {
    use sea_orm::sqlx::postgres::PgListener;

    let mut pause = Duration::from_millis(100);
    loop {
        match PgListener::connect(&database_url).await {
            Ok(mut listener) => {
                if listener.listen(CHANGES_CHANNEL).await.is_ok() {
                    events.everything_changed();
                    events.changes.in_sync.store(true, Ordering::SeqCst);
                    pause = Duration::from_millis(100);
                    while let Ok(notification) = listener.recv().await {
                        events.receive(&store, notification.payload()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn comment_change(article: Uuid, readers: bool) -> Change {
        Change::Comment {
            article,
            comment: Uuid::now_v7(),
            readers,
            became_visible: false,
            queue: None,
            status: CommentStatus::Approved,
            created_at: 0,
        }
    }

    #[test]
    fn a_change_to_one_article_leaves_the_others_answers_alone() {
        let events = CommentEvents::standalone();
        let (one, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let stamp = events.stamp().unwrap();
        let of_one = events
            .freshness(stamp, &Scope::Articles(vec![one]))
            .unwrap();
        let of_other = events
            .freshness(stamp, &Scope::Articles(vec![other]))
            .unwrap();
        let of_all = events.freshness(stamp, &Scope::Everything).unwrap();
        events.publish(&comment_change(one, true), None);
        assert!(!events.holds(&of_one));
        assert!(events.holds(&of_other));
        assert!(!events.holds(&of_all));
    }

    #[test]
    fn a_site_change_retires_every_answer() {
        let events = CommentEvents::standalone();
        let stamp = events.stamp().unwrap();
        let scoped = events
            .freshness(stamp, &Scope::Articles(vec![Uuid::from_u128(1)]))
            .unwrap();
        events.publish(&Change::Site, None);
        assert!(!events.holds(&scoped));
    }

    #[test]
    fn a_change_readers_cannot_see_retires_nothing() {
        let events = CommentEvents::standalone();
        let stamp = events.stamp().unwrap();
        let all = events.freshness(stamp, &Scope::Everything).unwrap();
        events.publish(&comment_change(Uuid::from_u128(1), false), None);
        assert!(events.holds(&all));
    }

    #[test]
    fn an_answer_computed_across_a_change_is_not_kept() {
        let events = CommentEvents::standalone();
        let stamp = events.stamp().unwrap();
        events.publish(
            &Change::Article {
                article: Uuid::from_u128(7),
            },
            None,
        );
        assert!(events.freshness(stamp, &Scope::Everything).is_none());
    }

    #[test]
    fn out_of_sync_nothing_is_kept_or_served() {
        let events = CommentEvents::shared();
        assert!(events.stamp().is_none());
        assert!(events.site_generation().is_none());
        assert!(!events.holds(&Freshness::Everything(0)));
    }

    #[test]
    fn announcements_carry_ids_only() {
        let events = CommentEvents::standalone();
        let mut news = events.news();
        let model = erased(Uuid::now_v7(), Uuid::now_v7(), CommentStatus::Pending, 1);
        let secret = comment::Model {
            author_name: "Ann".into(),
            author_email: "ann@readers.example".into(),
            body: "the body".into(),
            ..model
        };
        news.comment(&secret, false, false, Some(QueueChange::Added));
        let payload = serde_json::to_string(&Announcement {
            from: events.instance,
            change: news.items[0].0.clone(),
        })
        .unwrap();
        assert!(!payload.contains("ann@"), "{payload}");
        assert!(!payload.contains("Ann"), "{payload}");
        assert!(!payload.contains("the body"), "{payload}");
        news.publish();
    }
}
