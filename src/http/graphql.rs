//! GraphQL over HTTP, stricter than the stock service: POST takes JSON only
//! (a cross-site form cannot post `text/plain` mutations), GET runs queries
//! only, batches are refused, bodies are capped (by the router), and the
//! answer comes in the media type the client's `Accept` asks for, with the
//! status codes of the GraphQL-over-HTTP spec.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use axum::body::{Body, Bytes};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::assets;
use super::client_addr::client_ip;
use super::read_cache::{CachedAnswer, ReadCache, etag_of};
use crate::domain::moderators;
use crate::graphql::ClientAddr;
use crate::graphql::errors;
use crate::graphql::limits::{count_aliases, out_of_range_integer};

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

/// A response carrying only a request-level error, in GraphQL's error shape:
/// the request itself was refused before anything ran.
fn request_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }]
    });
    (status, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
}

/// A request-level error naming the argument or variable at fault.
fn request_error_naming(status: StatusCode, message: &str, field: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT", "field": field } }]
    });
    (status, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
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

/// Resolves the viewer, answers from the read cache or runs the request,
/// and shapes the answer.
async fn execute(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    method: Method,
    answer: Answer,
    request: async_graphql::Request,
) -> Response {
    let token = match bearer_token(headers) {
        Ok(token) => token,
        Err(()) => Some(""),
    };
    // Anonymous queries may be answered from the cache, at no cost at all.
    let cacheable = token.is_none() && state.read_cache.is_some();
    let generation = state.events.generation().filter(|_| cacheable);
    let cache_key = generation.map(|_| ReadCache::key(&request));
    if let (Some(cache), Some(generation), Some(key)) = (&state.read_cache, generation, &cache_key)
        && let Some(hit) = cache.get(key, generation)
    {
        return success(state, headers, method, answer, hit);
    }

    // A cached answer is always a query's; anything else is checked here,
    // on the document parsed once for every check.
    let document = async_graphql::parser::parse_query(&request.query).ok();
    let only_queries = runs_only(
        document.as_ref(),
        request.operation_name.as_deref(),
        OperationType::Query,
    );
    if method == Method::Get && !only_queries {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only queries may be sent with GET; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let aliases = document.as_ref().map_or(0, count_aliases);
    if aliases > state.max_aliases {
        return request_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the request has {aliases} aliases; at most {} are allowed",
                state.max_aliases
            ),
        );
    }
    if let Some(name) = out_of_range_integer(&request.variables, document.as_ref()) {
        return request_error_naming(
            StatusCode::BAD_REQUEST,
            &format!("`{name}` is outside the range of Int (32-bit)"),
            &name,
        );
    }
    let viewer = match moderators::viewer_from_token(&state.store, &state.keys, token).await {
        Ok(viewer) => viewer,
        Err(err) => {
            let err = async_graphql::Error::from(err);
            let body = serde_json::json!({ "errors": [{ "message": err.message, "extensions": err.extensions }] });
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, answer.content_type())],
                body.to_string(),
            )
                .into_response();
        }
    };
    let schema = state.schemas.for_viewer(&viewer);
    let client = ClientAddr(super::client_addr::limited_as(client_ip(
        peer.ip(),
        headers,
        &state.trusted_proxies,
    )));
    let mut request = request.data(viewer).data(client);
    // Executed as parsed here; a document that did not parse is parsed
    // again by the executor, which reports the syntax error.
    if let Some(document) = document {
        request.set_parsed_query(document);
    }
    // The turn is held until the answer is serialised, which bounds the
    // memory of answers being built; waiting for it, executing and
    // serialising all count against the request's time budget.
    let deadline = tokio::time::Instant::now() + state.request_timeout;
    let executing = async {
        let turn = state.executions.acquire().await;
        let response = schema.execute(request).await;
        (turn, Serialised::from(response))
    };
    let outcome = tokio::time::timeout_at(deadline, executing).await;
    let Some((_turn, serialised)) = outcome
        .ok()
        .filter(|_| tokio::time::Instant::now() <= deadline)
    else {
        tracing::warn!(timeout = ?state.request_timeout, "a GraphQL request ran out of time");
        let body = serde_json::json!({ "errors": [{
            "message": "the request took too long and was stopped",
            "extensions": { "code": "INTERNAL_SERVER_ERROR" },
        }] });
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, answer.content_type())],
            body.to_string(),
        )
            .into_response();
    };
    let (body, request_failed) = match serialised {
        Serialised::Data(body) => {
            let cache_entry = match (&state.read_cache, generation, cache_key) {
                (Some(cache), Some(generation), Some(key)) if only_queries => {
                    Some((cache, generation, key))
                }
                _ => None,
            };
            // Only GET answers carry an ETag; a cached answer may later serve one.
            let etag = if method == Method::Get || cache_entry.is_some() {
                etag_of(&body)
            } else {
                String::new()
            };
            let fresh = CachedAnswer { etag, body };
            if let Some((cache, generation, key)) = cache_entry {
                cache.put(key, generation, fresh.clone());
            }
            return success(state, headers, method, answer, fresh);
        }
        Serialised::Errors {
            body,
            request_failed,
        } => (body, request_failed),
    };
    let status = if request_failed && answer == Answer::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        [
            (header::CONTENT_TYPE, answer.content_type()),
            (header::VARY, "Accept, Authorization"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// An executed request's answer, serialised.
enum Serialised {
    /// An answer without errors.
    Data(Bytes),
    /// An answer with errors; `request_failed` when the request as a whole
    /// failed (it did not parse or validate) and the answer has no `data`.
    Errors { body: Bytes, request_failed: bool },
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
        let body = if request_failed {
            serde_json::to_vec(&serde_json::json!({ "errors": response.errors }))
        } else {
            serde_json::to_vec(&response)
        };
        Self::Errors {
            body: Bytes::from(body.unwrap_or_default()),
            request_failed,
        }
    }
}

/// A successful answer. Anonymous answers to GET carry an `ETag` (and get
/// `304` when the client has it) and a short public `Cache-Control`, so a
/// CDN can carry the read load; moderators' answers are never stored.
fn success(
    state: &AppState,
    headers: &HeaderMap,
    method: Method,
    answer: Answer,
    body: CachedAnswer,
) -> Response {
    let anonymous = !headers.contains_key(header::AUTHORIZATION);
    let cache_control = match (anonymous, method) {
        (true, Method::Get) if state.http_max_age_secs > 0 => {
            format!("public, max-age={}", state.http_max_age_secs)
        }
        (true, _) => "no-cache".to_owned(),
        (false, _) => "private, no-store".to_owned(),
    };
    let mut response = if anonymous
        && method == Method::Get
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| assets::etag_matches(tags, &body.etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, answer.content_type())], body.body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization"),
    );
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    if anonymous
        && method == Method::Get
        && let Ok(value) = HeaderValue::from_str(&assets::weak(&body.etag))
    {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The token of an `Authorization: Bearer …` header: `Ok(None)` without the
/// header, `Err` when it is there but is not a bearer token.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let (scheme, token) = value.split_once(' ').ok_or(())?;
    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
        Ok(Some(token.trim()))
    } else {
        Err(())
    }
}
