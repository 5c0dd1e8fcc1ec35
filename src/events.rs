//! In-process notifications of comments becoming visible to readers, for the
//! `commentApproved` subscription. Delivery reaches the subscribers of this
//! instance only.

use tokio::sync::broadcast;

use crate::store::entities::comment;

/// Slow subscribers lose the oldest events past this many.
const CAPACITY: usize = 1024;

/// The hub that moderation and posting publish to and subscriptions read from.
#[derive(Clone, Debug)]
pub struct CommentEvents {
    sender: broadcast::Sender<comment::Model>,
}

impl Default for CommentEvents {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl CommentEvents {
    /// Announces a comment that readers can now see.
    pub fn approved(&self, comment: comment::Model) {
        // No subscriber is not an error.
        let _ = self.sender.send(comment);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<comment::Model> {
        self.sender.subscribe()
    }
}
