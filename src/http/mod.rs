//! HTTP: every route in one place, and the handlers behind them.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /graphql` | GraphQL over HTTP, JSON only |
//! | `GET /graphql` | queries only; GraphiQL for a browser |
//! | `GET /graphql/ws` | subscriptions (`graphql-transport-ws`) |
//! | `GET /healthz` | 200 when the database answers, else 503 |
//! | `GET /embed.js`, `/embed.css` | the embeddable comment thread |
//! | `GET /`, `/demo` | what this server is; a sample article with the thread |
//! | `GET /playground/…` | the playground's scripts and styles |
//!
//! Every answer is compressed (gzip or brotli) when the client accepts it
//! and the body is worth it; pages on the origins listed with
//! `--cors-origins` may call the API (see `cors`).

mod assets;
mod client_addr;
pub mod connections;
pub mod cors;
mod graphql;
mod health;
mod mail_links;
pub mod metrics;
mod pages;
mod playground;
mod read_cache;
mod request_id;
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
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
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
    /// Origins whose pages may call the API.
    pub cors_origins: crate::domain::origins::CorsOrigins,
    /// Whether `/demo` is served.
    pub demo: bool,
    /// Whether the playground is served.
    pub playground: bool,
    /// This server's metrics (served only with `--metrics-listen`).
    pub metrics: Arc<metrics::Metrics>,
    /// How mail is written, where Parley sends it: the pages its links
    /// lead to.
    pub mail: Option<crate::domain::mail::Mail>,
}

/// Smallest answer worth compressing, in bytes.
const COMPRESS_FROM_BYTES: u16 = 256;

/// The whole HTTP surface of Parley.
pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.max_body_bytes;
    Router::new()
        .route(
            "/graphql",
            get(graphql::get_graphql)
                .post(graphql::post_graphql)
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    metrics::count_requests,
                )),
        )
        .route(
            "/graphql/ws",
            get(subscriptions::graphql_ws).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                cors::websocket_origin,
            )),
        )
        .route("/healthz", get(health::healthz))
        .route(
            "/mail/confirm",
            get(mail_links::confirm_page).post(mail_links::confirm),
        )
        .route(
            "/mail/unsubscribe",
            get(mail_links::unsubscribe_page).post(mail_links::unsubscribe),
        )
        .route("/", get(pages::home))
        .route("/demo", get(pages::demo))
        .route("/embed.js", get(assets::embed_js))
        .route("/embed.css", get(assets::embed_css))
        .route("/site.css", get(assets::site_css))
        .route("/playground/{file}", get(playground::asset))
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::cors))
        // Worth it from a few hundred bytes; the ETags are weak, so they
        // hold across encodings. Level 4 of either: answers are compressed
        // on every request, and brotli's default (11) costs milliseconds.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(CompressionLevel::Precise(4))
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_FROM_BYTES))),
        )
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
        // Outermost: every answer carries its id, a panic's too.
        .layer(axum::middleware::from_fn(request_id::request_id))
        .with_state(state)
}
