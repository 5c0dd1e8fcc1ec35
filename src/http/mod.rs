//! HTTP: every route in one place, and the handlers behind them.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /graphql` | GraphQL over HTTP, JSON only |
//! | `GET /graphql` | queries only; GraphiQL for a browser |
//! | `GET /graphql/ws` | subscriptions (`graphql-transport-ws`) |
//! | `GET /healthz` | 200 when the database answers, else 503 |

mod client_addr;
pub mod connections;
mod graphql;
mod health;
mod read_cache;
mod subscriptions;

pub use subscriptions::SocketLimits;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::auth::TokenKeys;
use crate::domain::Store;
use crate::events::CommentEvents;
use crate::graphql::Schemas;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub schemas: Schemas,
    /// Most aliased fields in one request.
    pub max_aliases: usize,
    /// Longest a GraphQL request may run.
    pub request_timeout: Duration,
    /// Turns to execute a GraphQL request: at most this many run at once.
    pub executions: Arc<Semaphore>,
    /// Cached answers to anonymous queries, when enabled.
    pub read_cache: Option<Arc<read_cache::ReadCache>>,
    /// The change feed the cache follows.
    pub events: CommentEvents,
    /// `max-age` of anonymous answers to GET, in seconds; 0 for none.
    pub http_max_age_secs: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub store: Store,
    pub keys: TokenKeys,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// WebSockets open, per client address.
    pub websockets: Arc<connections::Slots>,
    /// The time limits and caps of each WebSocket.
    pub socket_limits: SocketLimits,
}

/// The whole HTTP surface of Parley.
pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphql::get_graphql).post(graphql::post_graphql))
        .route("/graphql/ws", get(subscriptions::graphql_ws))
        .route("/healthz", get(health::healthz))
        // The GraphQL handler reads its body under the same cap and answers
        // in JSON; this guards every other route.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Spans name the method and path only: a query string can carry
        // GraphQL variables, and so personal data.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        // A bug must not take the connection down or show its message.
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            graphql::refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "application/json",
                crate::graphql::errors::json(
                    crate::error::codes::INTERNAL_SERVER_ERROR,
                    "internal server error",
                    None,
                ),
            )
        }))
        .with_state(state)
}
