//! A hard cap on the bytes of one answer, enforced while the answer is
//! built rather than after: every field's value is weighed as it resolves,
//! and once the answer would pass the cap no further resolver runs and the
//! whole answer is replaced by one error. The cost limit keeps what a
//! request may ask for in proportion; this cap bounds what it can get,
//! whatever the data holds. A subscription's events are weighed one by one:
//! async-graphql runs the `execute` hook for each.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerError, ServerResult, Value};

/// Installs the cap of `max_bytes` on every request of a schema.
pub struct AnswerSizeLimit {
    pub max_bytes: usize,
}

impl ExtensionFactory for AnswerSizeLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AnswerWeight(Weight {
            max_bytes: self.max_bytes,
            bytes: AtomicUsize::new(0),
            over: AtomicBool::new(false),
        }))
    }
}

/// The extension of one request (or one subscription), around its weight.
struct AnswerWeight(Weight);

/// The weight of one answer (or of one subscription event) so far.
struct Weight {
    max_bytes: usize,
    bytes: AtomicUsize,
    over: AtomicBool,
}

impl Weight {
    /// Adds `bytes`; false once the answer is over the cap.
    fn add(&self, bytes: usize) -> bool {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total > self.max_bytes {
            self.over.store(true, Ordering::Relaxed);
        }
        !self.is_over()
    }

    fn is_over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    /// Takes the verdict on the answer just built and starts the next one
    /// from zero.
    fn finish(&self) -> bool {
        self.bytes.store(0, Ordering::Relaxed);
        self.over.swap(false, Ordering::Relaxed)
    }

    fn refusal(&self) -> Response {
        let mut error = ServerError::new(
            format!(
                "the answer would be larger than {} bytes; ask for fewer items or fields",
                self.max_bytes
            ),
            None,
        );
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", crate::error::codes::BAD_USER_INPUT);
        error.extensions = Some(extensions);
        Response::from_errors(vec![error])
    }
}

#[async_trait::async_trait]
impl Extension for AnswerWeight {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        if self.0.finish() {
            return self.0.refusal();
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Past the cap a value is dropped at once (`null` stands in for it,
        // lists need a value per item): nothing bigger than one field's value
        // is ever held beyond the cap, and no further resolver runs.
        if self.0.is_over() {
            return Ok(Some(Value::Null));
        }
        let key = info.alias.unwrap_or(info.name);
        let value = next.run(ctx, info).await?;
        let weight = key.len() + 4 + value.as_ref().map_or(4, own_bytes);
        if self.0.add(weight) {
            Ok(value)
        } else {
            Ok(Some(Value::Null))
        }
    }
}

/// The bytes a value adds to the serialised answer by itself: a scalar's
/// text, or a list's scalars. An object's fields were weighed as they
/// resolved, so an object counts only its braces.
fn own_bytes(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Boolean(_) => 5,
        Value::Number(number) => number.to_string().len(),
        Value::String(text) => json_string_len(text),
        Value::Enum(name) => name.len() + 2,
        Value::Binary(bytes) => bytes.len() * 4,
        Value::List(items) => 2 + items.iter().map(|item| own_bytes(item) + 1).sum::<usize>(),
        Value::Object(_) => 2,
    }
}

/// The length of `text` as a JSON string: quotes, and escapes for quotes,
/// backslashes and control characters.
fn json_string_len(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_weigh_what_they_serialise_to() {
        for text in [
            "",
            "plain",
            "a \"quoted\" line\n",
            "tab\there",
            "\u{1}",
            "é😀",
        ] {
            let serialised = serde_json::to_string(text).unwrap();
            assert_eq!(json_string_len(text), serialised.len(), "{text:?}");
        }
    }

    #[test]
    fn the_cap_trips_once_and_resets_per_answer() {
        let weight = Weight {
            max_bytes: 10,
            bytes: AtomicUsize::new(0),
            over: AtomicBool::new(false),
        };
        assert!(weight.add(6));
        assert!(!weight.add(6));
        assert!(weight.is_over());
        assert!(weight.finish());
        assert!(weight.add(6));
        assert!(!weight.finish());
    }
}
