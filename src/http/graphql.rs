//! GraphQL over HTTP, stricter than the stock service: POST takes JSON only
//! (a cross-site form cannot post `text/plain` mutations), GET runs queries
//! only, batches are refused, bodies are capped (by the router), and the
//! answer comes in the media type the client's `Accept` asks for, with the
//! status codes of the GraphQL-over-HTTP spec.

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use crate::domain::moderators;

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
    /// Picks the media type from `Accept`; `None` when it allows neither.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Self::Json);
        };
        let ranges: Vec<&str> = accept
            .split(',')
            .filter(|range| !range.contains("q=0") || range.contains("q=0."))
            .map(|range| range.split(';').next().unwrap_or("").trim())
            .collect();
        if ranges.contains(&GRAPHQL_RESPONSE_JSON) {
            Some(Self::GraphqlResponse)
        } else if ranges
            .iter()
            .any(|r| matches!(*r, JSON | "application/*" | "*/*"))
        {
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

/// `POST /graphql`.
pub async fn post_graphql(
    State(state): State<AppState>,
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
    let Ok(request) = serde_json::from_value::<async_graphql::Request>(value) else {
        return request_error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object with a `query` string",
        );
    };
    execute(&state, &headers, answer, request).await
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query from the URL.
pub async fn get_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && wants_html(&headers) {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .title("Parley")
                .finish(),
        )
        .into_response();
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
    if !is_query_operation(&request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only queries may be sent with GET; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, answer, request).await
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

/// Whether the operation a GET would run is a query. A document that does
/// not parse counts as one: executing it reports the syntax error.
fn is_query_operation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    let is_query = |ty: OperationType| ty == OperationType::Query;
    match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => is_query(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).is_none_or(|op| is_query(op.node.ty))
        }
        (DocumentOperations::Multiple(ops), None) => ops.values().all(|op| is_query(op.node.ty)),
    }
}

/// Resolves the viewer, runs the request, and shapes the answer.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    answer: Answer,
    request: async_graphql::Request,
) -> Response {
    let token = match bearer_token(headers) {
        Ok(token) => token,
        Err(()) => Some(""),
    };
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
    let mut response = state.schema.execute(request.data(viewer)).await;
    // Parse and validation errors carry no path and leave no data: the
    // request as a whole failed, and the answer has no `data` entry.
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let body = if request_failed {
        response.errors.iter_mut().for_each(mark_as_bad_input);
        serde_json::to_string(&serde_json::json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(&response)
    };
    let status = if request_failed && answer == Answer::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CONTENT_TYPE, answer.content_type())],
        body.unwrap_or_default(),
    )
        .into_response()
}

/// Gives a request-level error (a document that does not parse or validate)
/// the `BAD_USER_INPUT` code, naming the input field or argument when the
/// message points at one, e.g. a required input field left out.
fn mark_as_bad_input(error: &mut async_graphql::ServerError) {
    let names_an_input = error.message.starts_with("Invalid value for argument");
    let field = names_an_input
        .then(|| {
            quoted_after(&error.message, "field \"")
                .or_else(|| quoted_after(&error.message, "argument \""))
        })
        .flatten();
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "BAD_USER_INPUT");
    if let Some(field) = field {
        extensions.set("field", field);
    }
}

/// The text between `marker` (its last occurrence) and the next quote.
fn quoted_after(message: &str, marker: &str) -> Option<String> {
    let start = message.rfind(marker)? + marker.len();
    let rest = &message[start..];
    let name = &rest[..rest.find('"')?];
    // `input.authorEmail` names the field `authorEmail`.
    Some(name.rsplit('.').next().unwrap_or(name).to_owned())
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
