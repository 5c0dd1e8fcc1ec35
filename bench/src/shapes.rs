//! The JSON answers of the SQL baseline, shaped field for field like
//! Parley's answers to the scenarios' documents: fields in the order the
//! documents select them, ids as lower-case hyphenated UUIDs, times as RFC
//! 3339 UTC with microseconds.

use chrono::{SecondsFormat, TimeZone, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

/// `{"data": …}`.
#[derive(Debug, Serialize)]
pub struct Data<T> {
    pub data: T,
}

/// `{"article": …}`.
#[derive(Debug, Serialize)]
pub struct ArticleField {
    pub article: Option<ArticleOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleOut {
    pub comment_count: i64,
    pub comments: Nodes<CommentOut>,
}

/// A connection of which only `nodes` is selected.
#[derive(Debug, Serialize)]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentOut {
    pub id: Uuid,
    pub author_name: String,
    pub body: String,
    pub created_at: Time,
    pub reply_count: i64,
    /// Present where the document selects `replies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<Nodes<CommentOut>>,
}

/// `{"postComment": …}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCommentField {
    pub post_comment: PostedOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedOut {
    pub id: Uuid,
    pub status: &'static str,
    pub created_at: Time,
}

/// `{"moderationQueue": …}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueField {
    pub moderation_queue: Nodes<QueuedOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedOut {
    pub id: Uuid,
    pub author_name: String,
    pub author_email: String,
    pub body: String,
    pub created_at: Time,
    pub status: String,
    pub article: SlugOut,
}

#[derive(Debug, Serialize)]
pub struct SlugOut {
    pub slug: String,
}

/// A stored time (microseconds since the Unix epoch), written as
/// `2026-11-25T09:00:00.000000Z`.
#[derive(Debug, Clone, Copy)]
pub struct Time(pub i64);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let time = Utc.timestamp_micros(self.0).single().unwrap_or_default();
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}
