//! Parley's own pages: `/` says what this server is, with the snippet that
//! embeds the thread, filled in with this server's address; `/demo` shows a
//! sample article with the thread embedded (`--demo false` turns it off).
//! Neither has inline script or style.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

/// The slug of the demo article.
pub const DEMO_SLUG: &str = "parley-demo";

/// The `Host` the request was sent to, when it is a plain host name or
/// address with an optional port (anything else is not echoed into a page).
pub fn host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    plain.then_some(host)
}

fn base_url(headers: &HeaderMap) -> String {
    host(headers).map_or_else(String::new, |host| format!("http://{host}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(headers: &HeaderMap, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
{body}
</body>
</html>
"#
    );
    let connect = match host(headers) {
        Some(host) => format!("'self' ws://{host} wss://{host}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'self'; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    guarded_html(html, &csp, "no-cache")
}

/// An HTML page of Parley's own with its security headers: the
/// Content-Security-Policy `csp`, `nosniff`, `no-referrer`, and
/// `cache_control`.
pub fn guarded_html(html: String, csp: &str, cache_control: &'static str) -> Response {
    let mut response = Html(html).into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(csp) {
        out.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response
}

/// The snippet a site adds to an article page.
fn snippet(base: &str) -> String {
    format!(
        r#"<div id="parley-thread" data-parley-article="2026/11/budget-vote"
     data-parley-title="Council passes the budget" data-parley-url="https://news.example/2026/11/budget-vote"></div>
<script src="{base}/embed.js" async></script>"#
    )
}

/// `GET /`.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let playground = if state.playground {
        r#"<li><a href="/graphql">The playground</a>: moderators log in, work through the queue, approve, hide and delete comments.</li>"#
    } else {
        ""
    };
    let demo = if state.demo {
        r#"<li><a href="/demo">A demo article</a> with the comment thread embedded.</li>"#
    } else {
        ""
    };
    let body = format!(
        r#"<main class="site">
<h1>Parley</h1>
<p>This server runs Parley, a comment service for news sites. Readers post comments under
articles; moderators approve or hide them. Everything goes through one GraphQL API at
<code>{base}/graphql</code>, with live updates over <code>{base}/graphql/ws</code>.</p>
<ul>
{playground}
{demo}
</ul>
<h2>Comments on your pages</h2>
<p>Add these two lines to an article page, with the article's own slug, title and address:</p>
<pre><code>{snippet}</code></pre>
<p>The page's origin must be listed in <code>PARLEY_CORS_ORIGINS</code>. Any element
<code>data-parley-count="SLUG"</code> on a page gets that article's comment count.</p>
</main>"#,
        snippet = escape(&snippet(&base)),
    );
    page(&headers, "Parley", &body)
}

/// `GET /demo`.
pub async fn demo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.demo {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = base_url(&headers);
    let body = format!(
        r#"<main class="site article">
<p class="kicker"><a href="/">Parley</a> · demo</p>
<h1>Council passes the budget</h1>
<p class="standfirst">A sample article. Its comment section below is the thread any site gets
with two lines of HTML. <span data-parley-count="{DEMO_SLUG}">0</span> comments so far.</p>
<p>The council voted 31 to 12 on Tuesday evening to adopt next year's budget, after a debate
that ran past midnight. The plan keeps the library branches open and delays the new bus depot
by a year.</p>
<p>For this article to take comments, a moderator opens it once with
<code>upsertArticle(input: {{slug: "{DEMO_SLUG}", title: "Council passes the budget"}})</code>
in the <a href="/graphql">playground</a>.</p>
<div id="parley-thread" data-parley-article="{DEMO_SLUG}" data-parley-title="Council passes the budget" data-parley-url="{base}/demo"></div>
<script src="/embed.js" async></script>
</main>"#
    );
    page(&headers, "Council passes the budget · Parley demo", &body)
}
