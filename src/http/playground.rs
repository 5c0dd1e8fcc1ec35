//! The moderators' playground: GraphiQL served entirely by Parley, with no
//! request to any other host. React and GraphiQL are the unmodified
//! production builds from the npm registry (fetched and checked by
//! `web/vendor/fetch.py`, licences beside them), compiled into the binary.
//!
//! The page is sent with a strict Content-Security-Policy: scripts run only
//! with the page's nonce (and each carries its `integrity`), connections go
//! only to this server, and no other site may frame it.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha2::{Digest, Sha384};

use super::assets::Asset;

/// Playground files change only with a new Parley build.
const CACHE: &str = "public, max-age=86400";

struct File {
    name: &'static str,
    asset: Asset,
    integrity: OnceLock<String>,
}

impl File {
    const fn new(name: &'static str, bytes: &'static [u8], content_type: &'static str) -> Self {
        Self {
            name,
            asset: Asset::new(bytes, content_type, CACHE),
            integrity: OnceLock::new(),
        }
    }

    /// The `integrity` attribute: SHA-384 of the bytes, in base64.
    fn integrity(&self) -> &str {
        self.integrity.get_or_init(|| {
            format!(
                "sha384-{}",
                STANDARD.encode(Sha384::digest(self.asset.bytes))
            )
        })
    }
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

static FILES: [File; 9] = [
    File::new(
        "react.production.min.js",
        include_bytes!("../../web/vendor/react-18.3.1/react.production.min.js"),
        JS,
    ),
    File::new(
        "react-dom.production.min.js",
        include_bytes!("../../web/vendor/react-dom-18.3.1/react-dom.production.min.js"),
        JS,
    ),
    File::new(
        "graphiql.min.js",
        include_bytes!("../../web/vendor/graphiql-4.1.2/graphiql.min.js"),
        JS,
    ),
    File::new(
        "graphiql.min.css",
        include_bytes!("../../web/vendor/graphiql-4.1.2/graphiql.min.css"),
        CSS,
    ),
    File::new(
        "playground.js",
        include_bytes!("../../web/playground.js"),
        JS,
    ),
    File::new(
        "playground.css",
        include_bytes!("../../web/playground.css"),
        CSS,
    ),
    File::new(
        "LICENSE.react",
        include_bytes!("../../web/vendor/react-18.3.1/LICENSE"),
        TEXT,
    ),
    File::new(
        "LICENSE.react-dom",
        include_bytes!("../../web/vendor/react-dom-18.3.1/LICENSE"),
        TEXT,
    ),
    File::new(
        "LICENSE.graphiql",
        include_bytes!("../../web/vendor/graphiql-4.1.2/LICENSE"),
        TEXT,
    ),
];

fn file(name: &str) -> &'static File {
    FILES
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| unreachable!("{name} is compiled in"))
}

/// `GET /playground/{file}`.
pub async fn asset(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match FILES.iter().find(|f| f.name == name) {
        Some(found) if state.playground => found.asset.serve(&headers),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The playground page for `GET /graphql` from a browser.
pub fn page(headers: &HeaderMap) -> Response {
    let mut nonce = [0u8; 18];
    rand::rng().fill_bytes(&mut nonce);
    let nonce = STANDARD.encode(nonce);
    let script = |name: &str| {
        let f = file(name);
        format!(
            r#"<script nonce="{nonce}" src="/playground/{name}" integrity="{}" crossorigin="anonymous" defer></script>"#,
            f.integrity()
        )
    };
    let style = |name: &str| {
        let f = file(name);
        format!(
            r#"<link rel="stylesheet" href="/playground/{name}" integrity="{}" crossorigin="anonymous">"#,
            f.integrity()
        )
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley playground</title>
{graphiql_css}
{own_css}
</head>
<body>
<header class="parley-bar">
  <strong>Parley playground</strong>
  <form id="parley-login" class="parley-login">
    <label>Email <input name="email" type="email" autocomplete="username" required></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>
  </form>
  <p id="parley-session" class="parley-session" hidden><span id="parley-who"></span> <button type="button" id="parley-logout">Log out</button></p>
  <p id="parley-status" class="parley-status" role="status"></p>
</header>
<main id="graphiql" data-endpoint="/graphql" data-subscription-endpoint="/graphql/ws">Loading the playground…</main>
{react}
{react_dom}
{graphiql}
{own}
</body>
</html>
"#,
        graphiql_css = style("graphiql.min.css"),
        own_css = style("playground.css"),
        react = script("react.production.min.js"),
        react_dom = script("react-dom.production.min.js"),
        graphiql = script("graphiql.min.js"),
        own = script("playground.js"),
    );
    let connect = match super::pages::host(headers) {
        Some(host) => format!("'self' http://{host} https://{host} ws://{host} wss://{host}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; font-src 'self' data:; \
         img-src 'self' data:; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'none'; object-src 'none'"
    );
    let mut response = super::pages::guarded_html(html, &csp, "no-store");
    response
        .headers_mut()
        .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
