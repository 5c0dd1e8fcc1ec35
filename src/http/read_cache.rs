//! Cached answers to anonymous queries. An answer is kept with the
//! generation of the change feed it was computed under and served only while
//! that generation is current, so a change readers could see (a new approved
//! comment, an approval, a hide, a delete, an article edit) retires every
//! cached answer at once, on every instance. Moderators' requests, answers
//! with errors, and mutations are never cached. Bounded in entries and
//! bytes; when full it starts over.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

const MAX_ENTRIES: usize = 1024;
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// A cached answer.
#[derive(Clone)]
pub struct CachedAnswer {
    pub body: Bytes,
    pub etag: String,
}

struct Entry {
    generation: u64,
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

    /// The answer cached under `key` at `generation`, if any.
    pub fn get(&self, key: &str, generation: u64) -> Option<CachedAnswer> {
        let entries = self.entries.lock().ok()?;
        entries
            .map
            .get(key)
            .filter(|entry| entry.generation == generation)
            .map(|entry| entry.answer.clone())
    }

    /// Keeps `answer` under `key` for `generation`.
    pub fn put(&self, key: String, generation: u64, answer: CachedAnswer) {
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
        if let Some(old) = entries.map.insert(key, Entry { generation, answer }) {
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
        }
    }

    #[test]
    fn an_answer_is_served_only_in_its_generation() {
        let cache = ReadCache::default();
        cache.put("q".into(), 3, answer("{}"));
        assert!(cache.get("q", 3).is_some());
        assert!(cache.get("q", 4).is_none());
    }

    #[test]
    fn it_stays_bounded() {
        let cache = ReadCache::default();
        for i in 0..(MAX_ENTRIES * 2) {
            cache.put(format!("q{i}"), 1, answer("{}"));
        }
        assert!(cache.entries.lock().unwrap().map.len() <= MAX_ENTRIES);
    }

    #[test]
    fn entity_tags_follow_the_body() {
        assert_eq!(etag_of(b"a"), etag_of(b"a"));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
