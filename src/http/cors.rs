//! Cross-origin access for front ends on other sites: CORS on every route
//! for the origins listed with `--cors-origins`, and the `Origin` check on
//! WebSocket upgrades.
//!
//! A preflight from a listed origin gets `204` with the methods and request
//! headers the API uses; every answer to a listed origin carries
//! `Access-Control-Allow-Origin` and `Vary: Origin`. An unlisted origin gets
//! no CORS header at all. No cookies are used, so there is no credentials
//! mode.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::domain::origins::CorsOrigins;

/// How long a browser may reuse a preflight's answer, in seconds.
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 3600;

const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
const ALLOWED_HEADERS: &str = "Content-Type, Authorization, Accept";

/// The CORS middleware.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origins = &state.cors_origins;
    let origin = request.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin.filter(|_| !origins.is_empty()) else {
        return next.run(request).await;
    };
    let allowed = origin.to_str().is_ok_and(|o| origins.allows(o));
    if !allowed {
        let mut response = next.run(request).await;
        vary_on_origin(response.headers_mut());
        return response;
    }
    let allow_origin = if origins.any() {
        HeaderValue::from_static("*")
    } else {
        origin
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
        );
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    vary_on_origin(headers);
    response
}

/// Adds `Origin` to `Vary`: the answer depends on it.
fn vary_on_origin(headers: &mut HeaderMap) {
    let already = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"));
    if !already {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Refuses a WebSocket upgrade from a page on an origin that is neither
/// this server nor a listed one. Clients that send no `Origin` (scripts,
/// servers) are not browsers acting for a page, and stay allowed.
pub async fn websocket_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if websocket_origin_allowed(&state.cors_origins, request.headers()) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "this page's origin may not open a WebSocket to this server",
        )
            .into_response()
    }
}

fn websocket_origin_allowed(origins: &CorsOrigins, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    origins.allows(origin) || same_origin(origin, headers)
}

/// Whether `origin` names the host and port the request was sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let Ok(served) = url::Url::parse(&format!("{}://{host}", origin.scheme())) else {
        return false;
    };
    origin.origin() == served.origin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn websocket_upgrades_come_from_this_server_a_listed_origin_or_no_page() {
        let origins = CorsOrigins::parse(&["https://news.example"]).unwrap();
        let allowed = |origin, host| websocket_origin_allowed(&origins, &headers(origin, host));
        assert!(allowed(None, "comments.example"));
        assert!(allowed(Some("https://news.example"), "comments.example"));
        assert!(allowed(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"));
        assert!(!allowed(Some("http://127.0.0.1:9999"), "127.0.0.1:8080"));
        assert!(!allowed(Some("https://evil.example"), "comments.example"));
        assert!(!allowed(Some("null"), "comments.example"));
    }
}
