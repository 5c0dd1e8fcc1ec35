//! Metrics for Prometheus, served on their own listener
//! (`--metrics-listen`, off by default) so that they never share a port
//! with the public API: GraphQL requests by operation and outcome with
//! their latency, read-cache hits and misses, rate-limit refusals, open
//! WebSockets and subscriptions, database pool use, the password-hashing
//! queue and the mail outbox. Labels take only values Parley chooses (root field names of
//! documents that validated, error codes), never a client's own text, so
//! their number stays bounded.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;
use crate::domain::Store;
use crate::error::codes;

/// What a GraphQL request over HTTP was and how it ended, left on its
/// response by the handler for [`count_requests`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The first root field of the operation, `invalid` for a document
    /// that did not validate.
    pub operation: String,
    /// `OK`, or the `extensions.code` of the first error.
    pub code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

type Latency = Family<OperationLabel, Histogram, fn() -> Histogram>;

/// One server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    read_cache: Family<ResultLabel, Counter>,
    rate_limited: Counter,
    websockets: Gauge,
    subscriptions: Gauge,
    pool: Family<StateLabel, Gauge>,
    pool_max: Gauge,
    hashing_waiting: Gauge,
    outbox: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("parley");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests over HTTP, by operation (first root field) and outcome (OK or the error code)",
            requests.clone(),
        );
        let latency = Latency::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP, by operation",
            latency.clone(),
        );
        let read_cache = Family::<ResultLabel, Counter>::default();
        registry.register(
            "read_cache_lookups",
            "Anonymous queries looked up in the read cache, by result (hit or miss)",
            read_cache.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused with RATE_LIMITED (flood control, login throttling, self-service)",
            rate_limited.clone(),
        );
        let websockets = Gauge::default();
        registry.register("websockets_open", "WebSockets open", websockets.clone());
        let subscriptions = Gauge::default();
        registry.register(
            "subscriptions_open",
            "Subscriptions running on open WebSockets",
            subscriptions.clone(),
        );
        let pool = Family::<StateLabel, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of the pool, by state (idle or in_use)",
            pool.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "Most connections the database pool opens",
            pool_max.clone(),
        );
        let hashing_waiting = Gauge::default();
        registry.register(
            "password_hashing_waiting",
            "Password hashes (logins, password changes) waiting for a free core",
            hashing_waiting.clone(),
        );
        let outbox = Gauge::default();
        registry.register(
            "outbox_mails",
            "Mails waiting in the outbox: written, not yet taken by the SMTP server",
            outbox.clone(),
        );
        Self {
            registry,
            outbox,
            requests,
            latency,
            read_cache,
            rate_limited,
            websockets,
            subscriptions,
            pool,
            pool_max,
            hashing_waiting,
        }
    }
}

impl Metrics {
    /// Counts one read-cache lookup.
    pub fn read_cache_lookup(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.read_cache.get_or_create(&ResultLabel { result }).inc();
    }

    /// Counts an open WebSocket until the result is dropped.
    pub fn websocket_open(&self) -> Held {
        Held::new(&self.websockets)
    }

    /// The gauge of running subscriptions.
    pub fn subscriptions(&self) -> Gauge {
        self.subscriptions.clone()
    }

    fn request(&self, outcome: Outcome, seconds: f64) {
        if outcome.code == codes::RATE_LIMITED {
            self.rate_limited.inc();
        }
        self.latency
            .get_or_create(&OperationLabel {
                operation: outcome.operation.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                operation: outcome.operation,
                outcome: outcome.code,
            })
            .inc();
    }

    /// The metrics now, in the Prometheus text format.
    fn render(&self, store: &Store, outbox: u64) -> Result<String, std::fmt::Error> {
        self.outbox.set(i64::try_from(outbox).unwrap_or(i64::MAX));
        let pool = store.pool_use();
        let in_use = i64::from(pool.size).saturating_sub(i64::try_from(pool.idle).unwrap_or(0));
        self.pool
            .get_or_create(&StateLabel { state: "idle" })
            .set(i64::try_from(pool.idle).unwrap_or(i64::MAX));
        self.pool
            .get_or_create(&StateLabel { state: "in_use" })
            .set(in_use.max(0));
        self.pool_max.set(i64::from(pool.max));
        self.hashing_waiting
            .set(i64::try_from(crate::auth::hashing_waiting()).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// One more on a gauge for as long as it lives.
#[derive(Debug)]
pub struct Held(Gauge);

impl Held {
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Counts and times each GraphQL request over HTTP, with what its handler
/// left on the response; a request refused before it was read (a wrong
/// media type, a body too large) counts as operation `none`.
pub async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|media| media.as_bytes().starts_with(b"text/html"));
    if is_page {
        // The playground, not a GraphQL request.
        return response;
    }
    let outcome = response
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or_else(|| Outcome {
            operation: "none".to_owned(),
            code: match response.status() {
                status if status.is_success() => "OK",
                StatusCode::TOO_MANY_REQUESTS => codes::RATE_LIMITED,
                status if status.is_server_error() => codes::INTERNAL_SERVER_ERROR,
                _ => codes::BAD_USER_INPUT,
            }
            .to_owned(),
        });
    state
        .metrics
        .request(outcome, started.elapsed().as_secs_f64());
    response
}

/// The metrics listener's routes: `GET /metrics`.
pub fn router(metrics: Arc<Metrics>, store: Store) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move {
            let outbox = crate::domain::mail::outbox::waiting(&store)
                .await
                .unwrap_or_default();
            match metrics.render(&store, outbox) {
                Ok(text) => (
                    [(
                        header::CONTENT_TYPE,
                        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                    )],
                    text,
                )
                    .into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }),
    )
}
