//! When an answer changes by the clock alone. Some answers hold only until
//! a moment no action marks: an article that is open now closes
//! `closeAfterDays` after its creation. Resolvers of such fields note that
//! moment here, and whoever keeps the answer (the read cache, an HTTP
//! cache) keeps it no longer.

use std::sync::atomic::{AtomicI64, Ordering};

use async_graphql::Context;

/// The earliest moment, in microseconds since the Unix epoch, at which a
/// request's answer stops being true; one per request, in its data.
#[derive(Debug)]
pub struct AnswerExpiry(AtomicI64);

impl Default for AnswerExpiry {
    fn default() -> Self {
        Self(AtomicI64::new(i64::MAX))
    }
}

impl AnswerExpiry {
    /// Notes that the answer being built stops holding at `at`, if given.
    pub fn note(ctx: &Context<'_>, at: Option<i64>) {
        if let (Some(expiry), Some(at)) = (ctx.data_opt::<std::sync::Arc<Self>>(), at) {
            expiry.0.fetch_min(at, Ordering::Relaxed);
        }
    }

    /// The moment the answer stops holding, if it does.
    pub fn at(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|at| *at != i64::MAX)
    }
}
