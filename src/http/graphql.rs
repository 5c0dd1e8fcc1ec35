//! GraphQL over HTTP, stricter than the stock service: POST takes JSON only
//! (a cross-site form cannot post `text/plain` mutations), GET runs queries
//! only, batches are refused, bodies are capped (by the router), and the
//! answer comes in the media type the client's `Accept` asks for, with the
//! status codes of the GraphQL-over-HTTP spec.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use axum::body::{Body, Bytes};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::assets;
use super::client_addr::client_ip;
use super::metrics::{Metrics, Outcome};
use super::read_cache::{CachedAnswer, ReadCache, etag_of};
use crate::auth::Credentials;
use crate::error::codes;
use crate::events::{CommentEvents, Stamp};
use crate::graphql::errors;
use crate::graphql::limits::{count_aliases, out_of_range_integer};
use crate::graphql::{AnswerExpiry, CacheScope, ClientAddr};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// `application/graphql-response+json`: request errors get 4xx statuses.
    GraphqlResponse,
    /// `application/json`: well-formed requests always get 200.
    Json,
}

impl Answer {
    /// Picks the media type from `Accept`, by quality; `None` when it
    /// allows neither. `application/graphql-response+json` must be named to
    /// be chosen; wildcards (and no `Accept` at all) get `application/json`.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Self::Json);
        };
        let (mut graphql_response, mut json) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                GRAPHQL_RESPONSE_JSON => graphql_response = graphql_response.max(quality),
                JSON | "application/*" | "*/*" => json = json.max(quality),
                _ => {}
            }
        }
        if graphql_response > 0.0 && graphql_response >= json {
            Some(Self::GraphqlResponse)
        } else if json > 0.0 {
            Some(Self::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// A response carrying only a request-level error, in GraphQL's error
/// shape: the request itself was refused before anything ran.
fn request_error(status: StatusCode, message: &str) -> Response {
    refusal(
        status,
        JSON,
        errors::json(codes::BAD_USER_INPUT, message, None),
    )
}

/// A request-level error naming the argument or variable at fault.
fn request_error_naming(status: StatusCode, message: &str, field: &str) -> Response {
    refusal(
        status,
        JSON,
        errors::json(codes::BAD_USER_INPUT, message, Some(field)),
    )
}

/// The one builder of error answers made outside GraphQL execution: a
/// GraphQL error list of one, from `graphql::errors`.
pub(super) fn refusal(
    status: StatusCode,
    content_type: &'static str,
    error: serde_json::Value,
) -> Response {
    let body = serde_json::json!({ "errors": [error] });
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

/// `POST /graphql`.
pub async fn post_graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON));
    if !is_json {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql takes Content-Type: application/json",
        );
    }
    let Some(answer) = Answer::negotiate(&headers) else {
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must allow application/json",
        );
    };
    let Ok(body) = axum::body::to_bytes(body, state.max_body_bytes).await else {
        return request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request body is larger than {} bytes",
                state.max_body_bytes
            ),
        );
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return request_error(StatusCode::BAD_REQUEST, "the body is not valid JSON");
    };
    if value.is_array() {
        return request_error(
            StatusCode::BAD_REQUEST,
            "batched requests are not supported",
        );
    }
    // async-graphql would take a missing `query` as an empty document.
    if !value.get("query").is_some_and(serde_json::Value::is_string) {
        return request_error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object with a `query` string",
        );
    }
    let Ok(request) = serde_json::from_value::<async_graphql::Request>(value) else {
        return request_error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object with a `query` string",
        );
    };
    execute(&state, peer, &headers, Method::Post, answer, request).await
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query from the URL.
pub async fn get_graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && state.playground && wants_html(&headers) {
        return super::playground::page(&headers);
    }
    let Some(answer) = Answer::negotiate(&headers) else {
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must allow application/json",
        );
    };
    let Some(request) = request_from_query_string(&query) else {
        return request_error(
            StatusCode::BAD_REQUEST,
            "GET /graphql takes `query`, and optionally `operationName` and JSON `variables`",
        );
    };
    execute(&state, peer, &headers, Method::Get, answer, request).await
}

/// A GraphQL request from the URL parameters of the GraphQL-over-HTTP spec:
/// `query`, `operationName`, and `variables` and `extensions` as JSON.
fn request_from_query_string(query_string: &str) -> Option<async_graphql::Request> {
    let mut query = None;
    let mut request = async_graphql::Request::new("");
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        match key.as_ref() {
            "query" => query = Some(value.into_owned()),
            "operationName" => request.operation_name = Some(value.into_owned()),
            "variables" => request.variables = serde_json::from_str(&value).ok()?,
            "extensions" => request.extensions = serde_json::from_str(&value).ok()?,
            _ => {}
        }
    }
    request.query = query?;
    Some(request)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Whether every operation a request could run in `document` is of kind
/// `kind`. A document that does not parse (`None`) passes: executing it
/// reports the syntax error without running anything.
pub(super) fn runs_only(
    document: Option<&ExecutableDocument>,
    operation_name: Option<&str>,
    kind: OperationType,
) -> bool {
    let Some(document) = document else {
        return true;
    };
    let is_kind = |ty: OperationType| ty == kind;
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => is_kind(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).is_none_or(|op| is_kind(op.node.ty))
        }
        (DocumentOperations::Multiple(ops), None) => ops.values().all(|op| is_kind(op.node.ty)),
    }
}

/// How a request arrived, for HTTP caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Answers a GraphQL request: from the read cache when it can, otherwise
/// checks the request, resolves its viewer, runs it within its turn and
/// time budget, and shapes the answer.
async fn execute(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    method: Method,
    answer: Answer,
    request: async_graphql::Request,
) -> Response {
    let credentials = Credentials::from_header(
        headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    );
    let to = Reply {
        state,
        headers,
        method,
        answer,
        anonymous: credentials.is_none(),
    };
    // Anonymous queries may be answered from the cache, at no cost at all.
    let cache = CacheSlot::for_request(state, credentials, &request);
    if let Some(hit) = cache.hit() {
        let operation = hit.operation.clone();
        return noted(to.success(hit), operation, OK);
    }
    // A cached answer is always a query's; anything else is checked here,
    // on the document parsed once for every check.
    let document = async_graphql::parser::parse_query(&request.query).ok();
    let only_queries = runs_only(
        document.as_ref(),
        request.operation_name.as_deref(),
        OperationType::Query,
    );
    if let Err(refused) = check(state, method, only_queries, document.as_ref(), &request) {
        return noted(refused, INVALID, codes::BAD_USER_INPUT);
    }
    let operation = operation_label(document.as_ref(), request.operation_name.as_deref());
    let viewer = match credentials.viewer(&state.store, &state.keys).await {
        Ok(viewer) => viewer,
        Err(err) => {
            let refused = refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                answer.content_type(),
                errors::json_of(err),
            );
            return noted(refused, operation, codes::INTERNAL_SERVER_ERROR);
        }
    };
    let schema = state.schemas.for_viewer(&viewer);
    let client = ClientAddr(super::client_addr::limited_as(client_ip(
        peer.ip(),
        headers,
        &state.trusted_proxies,
    )));
    let expiry = Arc::new(AnswerExpiry::default());
    let scope = CacheScope::of(document.as_ref(), request.operation_name.as_deref());
    let cache = cache.for_query(only_queries, &scope);
    let request = with_document(
        request
            .data(viewer)
            .data(client)
            .data(Arc::clone(&expiry))
            .data(scope),
        document,
    );
    match run_within_budget(state, schema, request).await {
        Some(serialised) => to.executed(serialised, operation, expiry.at(), cache),
        None => {
            tracing::warn!(timeout = ?state.request_timeout, "a GraphQL request ran out of time");
            let refused = refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                answer.content_type(),
                errors::json(
                    codes::INTERNAL_SERVER_ERROR,
                    "the request took too long and was stopped",
                    None,
                ),
            );
            noted(refused, operation, codes::INTERNAL_SERVER_ERROR)
        }
    }
}

/// The request to execute as parsed here; a document that did not parse is
/// parsed again by the executor, which reports the syntax error.
fn with_document(
    mut request: async_graphql::Request,
    document: Option<ExecutableDocument>,
) -> async_graphql::Request {
    if let Some(document) = document {
        request.set_parsed_query(document);
    }
    request
}

/// The checks on a request before it runs: GET runs queries only, the
/// alias cap, and integers within `Int`. The refusal is the answer itself.
#[allow(clippy::result_large_err)]
fn check(
    state: &AppState,
    method: Method,
    only_queries: bool,
    document: Option<&ExecutableDocument>,
    request: &async_graphql::Request,
) -> Result<(), Response> {
    if method == Method::Get && !only_queries {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only queries may be sent with GET; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(response);
    }
    let aliases = document.map_or(0, count_aliases);
    if aliases > state.max_aliases {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the request has {aliases} aliases; at most {} are allowed",
                state.max_aliases
            ),
        ));
    }
    if let Some(name) = out_of_range_integer(&request.variables, document) {
        return Err(request_error_naming(
            StatusCode::BAD_REQUEST,
            &format!("`{name}` is outside the range of Int (32-bit)"),
            &name,
        ));
    }
    Ok(())
}

/// Runs the request once it has a turn and serialises its answer, all
/// within its time budget; `None` when the budget ran out. The turn is held
/// until the answer is serialised, which bounds the memory of answers being
/// built.
async fn run_within_budget(
    state: &AppState,
    schema: &crate::graphql::ParleySchema,
    request: async_graphql::Request,
) -> Option<Serialised> {
    let deadline = tokio::time::Instant::now() + state.request_timeout;
    let executing = async {
        let _turn = state.executions.acquire().await;
        Serialised::from(schema.execute(request).await)
    };
    tokio::time::timeout_at(deadline, executing)
        .await
        .ok()
        // Serialising runs without a pause the timer could take: an answer
        // finished past the deadline is late all the same.
        .filter(|_| tokio::time::Instant::now() <= deadline)
}

/// The outcome of a request that succeeded, for metrics.
const OK: &str = "OK";
/// The operation of a request whose document did not validate, for metrics.
const INVALID: &str = "invalid";

/// The operation a request runs, for metrics: the first root field of the
/// operation it names (or its only one); `invalid` when there is none.
fn operation_label(document: Option<&ExecutableDocument>, name: Option<&str>) -> String {
    let operation = document.and_then(|document| match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(_), None) => None,
    });
    operation
        .and_then(|operation| {
            operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .find_map(|item| match &item.node {
                    async_graphql::parser::types::Selection::Field(field) => {
                        Some(field.node.name.node.to_string())
                    }
                    _ => None,
                })
        })
        .unwrap_or_else(|| INVALID.to_owned())
}

/// `response`, with what it was and how it ended noted for metrics.
fn noted(mut response: Response, operation: impl Into<String>, code: &str) -> Response {
    response.extensions_mut().insert(Outcome {
        operation: operation.into(),
        code: code.to_owned(),
    });
    response
}

/// Where an anonymous query's answer is cached, if it may be.
struct CacheSlot<'a> {
    entry: Option<SlotEntry<'a>>,
}

struct SlotEntry<'a> {
    cache: &'a ReadCache,
    events: &'a CommentEvents,
    metrics: &'a Metrics,
    /// The change feed's generations before the answer was computed.
    stamp: Stamp,
    key: String,
    /// What the answer read, once it has been computed.
    scope: Option<Arc<CacheScope>>,
}

impl<'a> CacheSlot<'a> {
    /// The slot of a request: only requests without credentials are cached,
    /// and only while the change feed is in sync.
    fn for_request(
        state: &'a AppState,
        credentials: Credentials<'_>,
        request: &async_graphql::Request,
    ) -> Self {
        let entry = match (&state.read_cache, credentials.is_none()) {
            (Some(cache), true) => state.events.stamp().map(|stamp| SlotEntry {
                cache: cache.as_ref(),
                events: &state.events,
                metrics: &state.metrics,
                stamp,
                key: ReadCache::key(request),
                scope: None,
            }),
            _ => None,
        };
        Self { entry }
    }

    fn hit(&self) -> Option<CachedAnswer> {
        let entry = self.entry.as_ref()?;
        let hit = entry
            .cache
            .get(&entry.key, |freshness| entry.events.holds(freshness));
        entry.metrics.read_cache_lookup(hit.is_some());
        hit
    }

    fn is_some(&self) -> bool {
        self.entry.is_some()
    }

    /// The slot of a query whose answer will read `scope`; none for
    /// anything else.
    fn for_query(self, only_queries: bool, scope: &Arc<CacheScope>) -> Self {
        let entry = self.entry.filter(|_| only_queries).map(|entry| SlotEntry {
            scope: Some(Arc::clone(scope)),
            ..entry
        });
        Self { entry }
    }

    fn put(self, answer: CachedAnswer) {
        let Some(entry) = self.entry else {
            return;
        };
        let Some(scope) = entry.scope else {
            return;
        };
        // Kept only when nothing changed while it was computed.
        if let Some(freshness) = entry.events.freshness(entry.stamp, &scope.scope()) {
            entry.cache.put(entry.key, freshness, answer);
        }
    }
}

/// An executed request's answer, serialised.
enum Serialised {
    /// An answer without errors.
    Data(Bytes),
    /// An answer with errors; `request_failed` when the request as a whole
    /// failed (it did not parse or validate) and the answer has no `data`.
    /// `code` is the first error's `extensions.code`.
    Errors {
        body: Bytes,
        request_failed: bool,
        code: String,
    },
}

impl From<async_graphql::Response> for Serialised {
    fn from(mut response: async_graphql::Response) -> Self {
        if response.errors.is_empty() {
            return Self::Data(Bytes::from(
                serde_json::to_vec(&response).unwrap_or_default(),
            ));
        }
        // Parse and validation errors carry no path and leave no data.
        let request_failed = response.data == async_graphql::Value::Null
            && response.errors.iter().all(|e| e.path.is_empty());
        errors::label_response(&mut response);
        let code = response
            .errors
            .first()
            .and_then(|error| error.extensions.as_ref()?.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_else(|| codes::INTERNAL_SERVER_ERROR.to_owned());
        let body = if request_failed {
            serde_json::to_vec(&serde_json::json!({ "errors": response.errors }))
        } else {
            serde_json::to_vec(&response)
        };
        Self::Errors {
            body: Bytes::from(body.unwrap_or_default()),
            request_failed,
            code,
        }
    }
}

/// How to answer one request: its headers, method and media type, and
/// whether it came without credentials (decided once, from the same
/// `Authorization` header the viewer comes from).
struct Reply<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    method: Method,
    answer: Answer,
    anonymous: bool,
}

impl Reply<'_> {
    /// The answer to an executed request: a successful one is cached in
    /// `cache` when there is one, and carries an ETag when it may be served
    /// to a GET.
    fn executed(
        &self,
        serialised: Serialised,
        operation: String,
        expires_at: Option<i64>,
        cache: CacheSlot<'_>,
    ) -> Response {
        match serialised {
            Serialised::Data(body) => {
                let etag = if self.method == Method::Get || cache.is_some() {
                    etag_of(&body)
                } else {
                    String::new()
                };
                let fresh = CachedAnswer {
                    etag,
                    body,
                    expires_at,
                    operation: operation.clone(),
                };
                cache.put(fresh.clone());
                noted(self.success(fresh), operation, OK)
            }
            Serialised::Errors {
                body,
                request_failed,
                code,
            } => {
                // Root fields that did not validate are the client's words.
                let operation = if request_failed {
                    INVALID.to_owned()
                } else {
                    operation
                };
                noted(self.failure(body, request_failed), operation, &code)
            }
        }
    }

    /// A successful answer. Anonymous answers to GET carry an `ETag` (and
    /// get `304` when the client has it) and a short public
    /// `Cache-Control`, so a CDN can carry the read load; answers to
    /// requests with credentials are never stored.
    /// The `max-age` of an anonymous answer to GET: the configured one, or
    /// less when the answer stops holding sooner.
    fn max_age_of(&self, answer: &CachedAnswer) -> u64 {
        let configured = u64::from(self.state.http_max_age_secs);
        answer.expires_at.map_or(configured, |at| {
            let left = at.saturating_sub(crate::domain::now_micros()) / 1_000_000;
            configured.min(u64::try_from(left).unwrap_or(0))
        })
    }

    fn success(&self, body: CachedAnswer) -> Response {
        let public_get = self.anonymous && self.method == Method::Get;
        let cache_control = match (self.anonymous, public_get) {
            (true, true) if self.state.http_max_age_secs > 0 => {
                format!("public, max-age={}", self.max_age_of(&body))
            }
            (true, _) => "no-cache".to_owned(),
            (false, _) => "private, no-store".to_owned(),
        };
        let client_has_it = public_get
            && self
                .headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|tags| assets::etag_matches(tags, &body.etag));
        let mut response = if client_has_it {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(header::CONTENT_TYPE, self.answer.content_type())],
                body.body,
            )
                .into_response()
        };
        let headers = response.headers_mut();
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Authorization"),
        );
        if let Ok(value) = HeaderValue::from_str(&cache_control) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        if public_get && let Ok(value) = HeaderValue::from_str(&assets::weak(&body.etag)) {
            headers.insert(header::ETAG, value);
        }
        response
    }

    /// An answer with errors: `400` for a request that failed as a whole
    /// when the client asked for `application/graphql-response+json`, `200`
    /// otherwise; never stored.
    fn failure(&self, body: Bytes, request_failed: bool) -> Response {
        let status = if request_failed && self.answer == Answer::GraphqlResponse {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        (
            status,
            [
                (header::CONTENT_TYPE, self.answer.content_type()),
                (header::VARY, "Accept, Authorization"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }
}
