//! Cached answers to anonymous queries. An answer is kept with what it
//! depends on (the articles it read, or everything) and the change feed's
//! generations then, and served only while they are current: a change
//! readers could see (a new approved comment, an approval, a hide, a
//! delete, an article edit) retires the cached answers about its article,
//! on every instance, and a change to the site's settings retires them all. Moderators' requests, answers
//! with errors, and mutations are never cached. An answer that stops holding
//! by the clock alone (an article closing) is kept until then only.
//! Bounded in entries and
//! bytes; when full it starts over.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use crate::events::Freshness;

const MAX_ENTRIES: usize = 1024;
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// A cached answer.
#[derive(Clone)]
pub struct CachedAnswer {
    pub body: Bytes,
    pub etag: String,
    /// When the answer stops holding by the clock alone (microseconds
    /// since the Unix epoch), if it does: it is not served from then on.
    pub expires_at: Option<i64>,
    /// The operation it answers, for metrics.
    pub operation: String,
}

impl CachedAnswer {
    /// Whether the answer still holds at `now`.
    fn holds_at(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

struct Entry {
    freshness: Freshness,
    answer: CachedAnswer,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    bytes: usize,
}

#[derive(Default)]
pub struct ReadCache {
    entries: Mutex<Entries>,
}

impl ReadCache {
    /// The cache key of a request: its document, operation and variables.
    pub fn key(request: &async_graphql::Request) -> String {
        let variables = serde_json::to_string(&request.variables).unwrap_or_default();
        format!(
            "{}\u{0}{}\u{0}{variables}",
            request.query,
            request.operation_name.as_deref().unwrap_or_default()
        )
    }

    /// The answer cached under `key`, if any and `holds` it still.
    pub fn get(&self, key: &str, holds: impl FnOnce(&Freshness) -> bool) -> Option<CachedAnswer> {
        let entries = self.entries.lock().ok()?;
        entries
            .map
            .get(key)
            .filter(|entry| holds(&entry.freshness))
            .filter(|entry| entry.answer.holds_at(crate::domain::now_micros()))
            .map(|entry| entry.answer.clone())
    }

    /// Keeps `answer` under `key`, for as long as `freshness` holds.
    pub fn put(&self, key: String, freshness: Freshness, answer: CachedAnswer) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let size = key.len() + answer.body.len();
        if size > MAX_BYTES / 4 {
            return;
        }
        if entries.map.len() >= MAX_ENTRIES || entries.bytes + size > MAX_BYTES {
            entries.map.clear();
            entries.bytes = 0;
        }
        entries.bytes += size;
        if let Some(old) = entries.map.insert(key, Entry { freshness, answer }) {
            entries.bytes = entries.bytes.saturating_sub(old.answer.body.len());
        }
    }
}

/// A strong entity tag for a body.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex = hex::encode(&digest[..16]);
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> CachedAnswer {
        CachedAnswer {
            body: Bytes::from(text.to_owned()),
            etag: etag_of(text.as_bytes()),
            expires_at: None,
            operation: "article".to_owned(),
        }
    }

    fn current(freshness: &Freshness) -> bool {
        matches!(freshness, Freshness::Everything(1))
    }

    #[test]
    fn an_answer_is_served_only_while_it_holds() {
        let cache = ReadCache::default();
        cache.put("q".into(), Freshness::Everything(1), answer("{}"));
        cache.put("old".into(), Freshness::Everything(0), answer("{}"));
        assert!(cache.get("q", current).is_some());
        assert!(cache.get("old", current).is_none());
    }

    #[test]
    fn an_answer_is_not_served_past_its_expiry() {
        let cache = ReadCache::default();
        let now = crate::domain::now_micros();
        let mut passed = answer("{}");
        passed.expires_at = Some(now - 1);
        cache.put("passed".into(), Freshness::Everything(1), passed);
        let mut later = answer("{}");
        later.expires_at = Some(now + 60_000_000);
        cache.put("later".into(), Freshness::Everything(1), later);
        assert!(cache.get("passed", current).is_none());
        assert!(cache.get("later", current).is_some());
    }

    #[test]
    fn it_stays_bounded() {
        let cache = ReadCache::default();
        for i in 0..(MAX_ENTRIES * 2) {
            cache.put(format!("q{i}"), Freshness::Everything(1), answer("{}"));
        }
        assert!(cache.entries.lock().unwrap().map.len() <= MAX_ENTRIES);
    }

    #[test]
    fn entity_tags_follow_the_body() {
        assert_eq!(etag_of(b"a"), etag_of(b"a"));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
