//! Cached answers to anonymous queries. An answer is kept with what it
//! depends on (the articles it read, or everything) and the change feed's
//! generations then, and served only while they are current: a change
//! readers could see (a new approved comment, an approval, a hide, a
//! delete, an article edit) retires the cached answers about its article,
//! on every instance, and a change to the site's settings retires them all. Moderators' requests, answers
//! with errors, and mutations are never cached. An answer that stops holding
//! by the clock alone (an article closing) is kept until then only.
//! Bounded in entries and
//! bytes; when full, the answers read least recently make room.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use crate::events::Freshness;

/// Room for the first page of a few thousand threads: 32 MiB holds 2,000
/// answers of 16 KiB (20 comments with their HTML).
const MAX_ENTRIES: usize = 8192;
const MAX_BYTES: usize = 32 * 1024 * 1024;

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

struct Entries {
    map: lru::LruCache<String, Entry>,
    /// The keys' and answers' bytes.
    bytes: usize,
}

pub struct ReadCache {
    entries: Mutex<Entries>,
}

impl Default for ReadCache {
    fn default() -> Self {
        let capacity = NonZeroUsize::MIN.saturating_add(MAX_ENTRIES - 1);
        Self {
            entries: Mutex::new(Entries {
                map: lru::LruCache::new(capacity),
                bytes: 0,
            }),
        }
    }
}

/// What an entry holds in memory, as far as the budget counts it.
fn size_of(key: &str, answer: &CachedAnswer) -> usize {
    key.len() + answer.body.len()
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
        let mut entries = self.entries.lock().ok()?;
        // Only an answer served counts as read: a stale one stays least
        // recent, first to make room.
        let answer = entries
            .map
            .peek(key)
            .filter(|entry| holds(&entry.freshness))
            .filter(|entry| entry.answer.holds_at(crate::domain::now_micros()))
            .map(|entry| entry.answer.clone())?;
        entries.map.promote(key);
        Some(answer)
    }

    /// Keeps `answer` under `key`, for as long as `freshness` holds; the
    /// answers read least recently leave to make room.
    pub fn put(&self, key: String, freshness: Freshness, answer: CachedAnswer) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let size = size_of(&key, &answer);
        if size > MAX_BYTES / 4 {
            return;
        }
        if let Some(old) = entries.map.pop(&key) {
            entries.bytes = entries.bytes.saturating_sub(size_of(&key, &old.answer));
        }
        while entries.bytes + size > MAX_BYTES {
            let Some((old_key, old)) = entries.map.pop_lru() else {
                break;
            };
            entries.bytes = entries.bytes.saturating_sub(size_of(&old_key, &old.answer));
        }
        entries.bytes += size;
        if let Some((old_key, old)) = entries.map.push(key, Entry { freshness, answer }) {
            // At capacity in entries: the least recent one left.
            entries.bytes = entries.bytes.saturating_sub(size_of(&old_key, &old.answer));
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
    fn it_stays_bounded_in_entries_and_bytes() {
        let cache = ReadCache::default();
        for i in 0..(MAX_ENTRIES * 2) {
            cache.put(format!("q{i}"), Freshness::Everything(1), answer("{}"));
        }
        assert!(cache.entries.lock().unwrap().map.len() <= MAX_ENTRIES);
        let large = "x".repeat(MAX_BYTES / 8);
        for i in 0..20 {
            cache.put(
                format!("large{i}"),
                Freshness::Everything(1),
                answer(&large),
            );
        }
        let entries = cache.entries.lock().unwrap();
        assert!(entries.bytes <= MAX_BYTES, "{} bytes", entries.bytes);
        let counted: usize = entries
            .map
            .iter()
            .map(|(key, entry)| size_of(key, &entry.answer))
            .sum();
        assert_eq!(entries.bytes, counted, "the budget counts what is kept");
    }

    #[test]
    fn the_answers_read_least_recently_make_room() {
        let cache = ReadCache::default();
        let large = "x".repeat(MAX_BYTES / 4 - 16);
        for key in ["a", "b", "c"] {
            cache.put(key.into(), Freshness::Everything(1), answer(&large));
        }
        // "a" is read, so "b" is the least recent when "e" needs room (the
        // four before it fit).
        assert!(cache.get("a", current).is_some());
        cache.put("d".into(), Freshness::Everything(1), answer(&large));
        cache.put("e".into(), Freshness::Everything(1), answer(&large));
        assert!(cache.get("a", current).is_some());
        assert!(cache.get("b", current).is_none());
        assert!(cache.get("e", current).is_some());
    }

    #[test]
    fn replacing_an_answer_keeps_the_count_of_bytes_true() {
        let cache = ReadCache::default();
        for _ in 0..1000 {
            cache.put("same".into(), Freshness::Everything(1), answer("{}"));
        }
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.bytes, "same".len() + "{}".len());
    }

    #[test]
    fn entity_tags_follow_the_body() {
        assert_eq!(etag_of(b"a"), etag_of(b"a"));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
