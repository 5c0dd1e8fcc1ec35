//! Journeys in a real browser: the system Chromium (Debian's `chromium`
//! package), driven over the DevTools protocol. A reader on a news site's
//! article page, the same page on a site that is not allowed, a page with
//! a strict CSP, an accessibility scan, and a moderator in the playground.
//!
//! Host pages are served by a small server of the test's own on another
//! loopback port: another origin than Parley's. Nothing may be requested
//! from any other host. Screenshots go to `target/screenshots/` (set
//! `PARLEY_SCREENSHOTS` to write them elsewhere, e.g. `docs/`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use chromiumoxide::cdp::browser_protocol::emulation::MediaFeature;
use chromiumoxide::cdp::browser_protocol::network::{
    EventRequestWillBeSent, EventWebSocketCreated,
};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const SLUG: &str = "2026/11/budget-vote";
const XSS: &str = "<img src=x onerror=alert(1)>";

/// A headless Chromium with a fresh profile, and the requests its pages make.
struct Chromium {
    browser: Browser,
    _profile: tempfile::TempDir,
    requested: Arc<Mutex<Vec<String>>>,
}

impl Chromium {
    async fn launch() -> Self {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "the browser tests need Debian's chromium: apt-get install -y chromium chromium-driver"
        );
        let profile = tempfile::tempdir().unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .disable_default_args()
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1100, 900)
            .viewport(None)
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
            ])
            .launch_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let (browser, mut handler) = Browser::launch(config).await.expect("Chromium starts");
        tokio::spawn(async move { while handler.next().await.is_some() {} });
        Self {
            browser,
            _profile: profile,
            requested: Arc::default(),
        }
    }

    /// A blank page that records every request and CSP violation.
    async fn page(&self) -> Page {
        let page = self.browser.new_page("about:blank").await.unwrap();
        page.evaluate_on_new_document(
            "window.__alerts = 0; window.alert = () => { window.__alerts += 1; }; \
             window.__violations = []; document.addEventListener('securitypolicyviolation', e => \
             window.__violations.push(e.violatedDirective + ' ' + e.blockedURI), true);",
        )
        .await
        .unwrap();
        let mut requests = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .unwrap();
        let mut sockets = page
            .event_listener::<EventWebSocketCreated>()
            .await
            .unwrap();
        let requested = self.requested.clone();
        tokio::spawn(async move {
            loop {
                let url = tokio::select! {
                    Some(event) = requests.next() => event.request.url.clone(),
                    Some(event) = sockets.next() => event.url.clone(),
                    else => break,
                };
                requested.lock().unwrap().push(url);
            }
        });
        page
    }

    /// Requests made so far to any host but the given origins (data: URLs
    /// are not requests to a host).
    fn external_requests(&self, origins: &[&str]) -> Vec<String> {
        let same = |url: &str| {
            let url = url.replacen("ws://", "http://", 1);
            origins
                .iter()
                .any(|o| url == *o || url.starts_with(&format!("{o}/")))
        };
        self.requested
            .lock()
            .unwrap()
            .iter()
            .filter(|u| !u.starts_with("data:") && !u.starts_with("about:") && !same(u))
            .cloned()
            .collect()
    }
}

/// Runs `js` (an expression, promises awaited) and returns its value.
async fn eval<T: DeserializeOwned>(page: &Page, js: &str) -> T {
    let params = EvaluateParams::builder()
        .expression(js)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .unwrap();
    let result = page
        .evaluate_expression(params)
        .await
        .unwrap_or_else(|e| panic!("{js}: {e}"));
    result.into_value().unwrap_or_else(|e| panic!("{js}: {e}"))
}

/// Waits until `js` is true, failing after `within`.
async fn wait_until(page: &Page, js: &str, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        if eval::<bool>(page, &format!("!!({js})")).await {
            return;
        }
        if Instant::now() > deadline {
            let shadow: String = eval(
                page,
                "(document.querySelector('[data-parley-article]')?.shadowRoot?.innerHTML ?? ((document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '') + ' | variables: ' + (document.querySelector('.graphiql-editor-tool .CodeMirror')?.CodeMirror.getValue() ?? '') + ' | ' + document.body.innerHTML)).slice(0, 3000)",
            )
            .await;
            panic!("timed out waiting for {what}; the page shows: {shadow}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn screenshot(page: &Page, name: &str) {
    let dir = std::env::var_os("PARLEY_SCREENSHOTS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    let png = page
        .screenshot(ScreenshotParams::builder().full_page(true).build())
        .await
        .unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

async fn dark(page: &Page, on: bool) {
    page.emulate_media_features(vec![MediaFeature {
        name: "prefers-color-scheme".into(),
        value: if on { "dark" } else { "light" }.into(),
    }])
    .await
    .unwrap();
}

/// A news site's server: one article page on its own loopback origin.
struct HostSite {
    origin: String,
}

impl HostSite {
    /// Binds first, so that Parley can be told the origin before it starts.
    async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        (listener, origin)
    }

    fn serve(
        listener: tokio::net::TcpListener,
        origin: String,
        parley: &str,
        csp: Option<String>,
    ) -> Self {
        let html = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Council passes the budget</title></head>
<body>
<main>
<h1>Council passes the budget</h1>
<p><span data-parley-count="{SLUG}">?</span> comments · <span data-parley-count="unknown-article">?</span> on the other one</p>
<p>The council voted 31 to 12 on Tuesday evening to adopt next year's budget.</p>
<div id="parley-thread" data-parley-article="{SLUG}"
     data-parley-title="Council passes the budget" data-parley-url="{origin}/{SLUG}"></div>
</main>
<script src="{parley}/embed.js" async></script>
</body></html>"#
        );
        let app = axum::Router::new().fallback(move || {
            let html = html.clone();
            let csp = csp.clone();
            async move {
                let mut response =
                    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
                if let Some(csp) = csp {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_SECURITY_POLICY, csp.parse().unwrap());
                }
                response
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { origin }
    }

    fn article(&self) -> String {
        format!("{}/{SLUG}", self.origin)
    }
}

/// Parley listing `origin`, with the article and a thread to read: 25
/// top-level comments (one more page than the widget's first), nested
/// replies, and a body that looks like HTML.
async fn parley_with_thread(backend: Backend, origin: &str) -> (TestApp, String, Vec<String>) {
    let origins = parley::domain::origins::CorsOrigins::parse(&[origin]).unwrap();
    let app = spawn_app_with(backend, |s| s.cors_origins = origins).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let mut top = Vec::new();
    for i in 1..=25 {
        let body = if i == 2 {
            XSS.to_owned()
        } else {
            format!("Comment {i} on the budget.")
        };
        top.push(
            app.post_approved(&token, SLUG, &format!("Reader {i}"), &body, None)
                .await,
        );
    }
    let reply = app
        .post_approved(&token, SLUG, "Ravi", "A reply to the first.", Some(&top[0]))
        .await;
    app.post_approved(&token, SLUG, "Sam", "A reply to the reply.", Some(&reply))
        .await;
    (app, token, top)
}

const THREAD: &str = "document.querySelector('#parley-thread').shadowRoot";

crate::on_both_databases!(a_reader_on_a_listed_site_reads_posts_and_sees_approvals_live);

async fn a_reader_on_a_listed_site_reads_posts_and_sees_approvals_live(backend: Backend) {
    let (listener, origin) = HostSite::bind().await;
    let (app, token, top) = parley_with_thread(backend, &origin).await;
    let site = HostSite::serve(listener, origin, &app.base, None);
    let chromium = Chromium::launch().await;
    let page = chromium.page().await;
    let started = Instant::now();
    page.goto(site.article()).await.unwrap();
    let t = THREAD;
    wait_until(
        &page,
        &format!("{t}?.querySelectorAll('.parley > .list > [data-parley-comment]').length === 20"),
        Duration::from_secs(10),
        "the first page of comments",
    )
    .await;

    // Nested replies sit inside their parents.
    let reply = format!(
        "{t}.querySelector('[data-parley-comment=\"{}\"] > .replies > [data-parley-comment]')",
        top[0]
    );
    let nested: serde_json::Value = eval(&page, &format!("(() => {{ const r = {reply}; return [r?.querySelector('.author').textContent, r?.querySelector(':scope > .more').textContent, r?.querySelector(':scope > .more').hidden]; }})()")).await;
    assert_eq!(
        nested,
        json!(["Ravi", "Show 1 reply", false]),
        "replies render under their parents"
    );
    // Deeper replies come on demand, at every level.
    eval::<bool>(
        &page,
        &format!("({reply}.querySelector(':scope > .more').click(), true)"),
    )
    .await;
    wait_until(&page, &format!("{reply}.querySelector(':scope > .replies > [data-parley-comment] .author')?.textContent === 'Sam'"), Duration::from_secs(5), "the reply to the reply").await;
    // The HTML-looking body shows as those characters, and no element came
    // of it (a line of raw HTML is a block of its own, shown as text).
    let xss: serde_json::Value = eval(&page, &format!("(() => {{ const c = {t}.querySelector('[data-parley-comment=\"{}\"] .body'); return {{ text: c.textContent.trim(), elements: [...c.querySelectorAll('*')].map(e => e.tagName), images: {t}.querySelectorAll('img').length + document.querySelectorAll('img').length, alerts: window.__alerts }}; }})()", top[1])).await;
    assert_eq!(
        xss,
        json!({ "text": XSS, "elements": [], "images": 0, "alerts": 0 })
    );
    // Dates are machine-readable.
    let dated: bool = eval(&page, &format!("[...{t}.querySelectorAll('[data-parley-comment] time')].every(t => !isNaN(Date.parse(t.getAttribute('datetime'))))")).await;
    assert!(dated);
    // Count elements are filled; an unknown article's is left alone.
    wait_until(
        &page,
        "document.querySelector('[data-parley-count]').textContent === '27'",
        Duration::from_secs(5),
        "the comment count",
    )
    .await;
    let unknown: String = eval(
        &page,
        "document.querySelectorAll('[data-parley-count]')[1].textContent",
    )
    .await;
    assert_eq!(unknown, "?");
    // The form: required fields and the notice; the save box unticked.
    let form: serde_json::Value = eval(&page, &format!("(() => {{ const f = {t}.querySelector('form[data-parley-form]'); return {{ notice: f.querySelector('.notice').textContent, required: ['name','email','body'].map(n => f.elements.namedItem(n).getAttribute('aria-required')), save: f.elements.namedItem('save').checked }}; }})()")).await;
    assert_eq!(
        form["notice"],
        "Your email address will not be published. Required fields are marked *"
    );
    assert_eq!(form["required"], json!(["true", "true", "true"]));
    assert_eq!(form["save"], false);
    screenshot(&page, "thread-light.png").await;
    dark(&page, true).await;
    screenshot(&page, "thread-dark.png").await;
    dark(&page, false).await;

    // "Load more" fetches the next page.
    eval::<bool>(
        &page,
        &format!("({t}.querySelector('.parley > .more').click(), true)"),
    )
    .await;
    wait_until(
        &page,
        &format!("{t}.querySelectorAll('.parley > .list > [data-parley-comment]').length === 25"),
        Duration::from_secs(5),
        "the second page",
    )
    .await;
    let more_hidden: bool = eval(
        &page,
        &format!("{t}.querySelector('.parley > .more').hidden"),
    )
    .await;
    assert!(more_hidden, "no third page");

    // A post without an email: the error is on the email field.
    let fill = |name: &str, email: &str, body: &str| {
        format!(
            "(() => {{ const f = {t}.querySelector('.respond form[data-parley-form]'); f.elements.namedItem('name').value = {name:?}; f.elements.namedItem('email').value = {email:?}; f.elements.namedItem('body').value = {body:?}; f.querySelector('button[type=submit]').click(); return true; }})()"
        )
    };
    eval::<bool>(&page, &fill("Maria", "", "Finally some numbers.")).await;
    wait_until(
        &page,
        &format!(
            "{t}.querySelector('.respond [data-parley-error=\"email\"]').textContent.length > 0"
        ),
        Duration::from_secs(5),
        "the email error",
    )
    .await;
    let marked: serde_json::Value = eval(&page, &format!("(() => {{ const f = {t}.querySelector('.respond form'); const e = f.elements.namedItem('email'); return [e.getAttribute('aria-invalid'), e.getAttribute('aria-describedby') === f.querySelector('[data-parley-error=\"email\"]').id, f.querySelector('[data-parley-error=\"name\"]').textContent]; }})()")).await;
    assert_eq!(marked, json!(["true", true, ""]));
    // Nothing is written to storage without the box ticked.
    eval::<bool>(
        &page,
        &fill("Maria", "maria@readers.example", "Finally some numbers."),
    )
    .await;
    wait_until(
        &page,
        &format!("{t}.querySelector('[data-parley-pending]')"),
        Duration::from_secs(5),
        "the held notice",
    )
    .await;
    let stored: u32 = eval(&page, "localStorage.length").await;
    assert_eq!(stored, 0, "nothing kept without consent");
    let pending_id: String = eval(&page, &format!("{t}.querySelector('[data-parley-pending]').closest('[data-parley-comment]').dataset.parleyComment")).await;
    let errors_cleared: bool = eval(
        &page,
        &format!("{t}.querySelector('.respond [data-parley-error=\"email\"]').textContent === ''"),
    )
    .await;
    assert!(errors_cleared);

    // A moderator approves it; it appears in the open page without a reload.
    wait_until(
        &page,
        "document.querySelector('[data-parley-live=\"subscribed\"]')",
        Duration::from_secs(10),
        "the live subscription",
    )
    .await;
    app.approve(&token, &pending_id).await;
    let approved_at = Instant::now();
    wait_until(&page, &format!("(() => {{ const c = {t}.querySelector('[data-parley-comment=\"{pending_id}\"]'); return c && !c.querySelector('[data-parley-pending]'); }})()"), Duration::from_secs(2), "the approved comment, live").await;
    eprintln!(
        "approved comment shown {:?} after approval",
        approved_at.elapsed()
    );
    let heading: String = eval(&page, &format!("{t}.querySelector('h2').textContent")).await;
    assert_eq!(heading, "28 Comments");

    // Ticking the box keeps name, email and the author token; unticking
    // forgets them. The held comment shows its formatting.
    eval::<bool>(&page, &format!("(() => {{ const f = {t}.querySelector('.respond form'); f.elements.namedItem('save').click(); return true; }})()")).await;
    eval::<bool>(
        &page,
        &fill("Maria", "maria@readers.example", "And *another* thing."),
    )
    .await;
    wait_until(
        &page,
        "localStorage.length === 1",
        Duration::from_secs(5),
        "the saved author",
    )
    .await;
    let saved: serde_json::Value =
        eval(&page, "JSON.parse(localStorage.getItem('parley.author'))").await;
    assert_eq!(saved["name"], "Maria");
    assert_eq!(saved["token"].as_str().map(str::len), Some(43), "{saved}");
    let held_id: String = eval(&page, &format!("{t}.querySelector('[data-parley-pending]').closest('[data-parley-comment]').dataset.parleyComment")).await;
    let shown: serde_json::Value = eval(&page, &format!("(() => {{ const b = {t}.querySelector('[data-parley-comment=\"{held_id}\"] .body'); return [b.querySelector('em')?.textContent, b.textContent.trim()]; }})()")).await;
    assert_eq!(shown, json!(["another", "And another thing."]));
    // Once that comment is approved, the browser that kept the token posts
    // straight into the thread: a returning author, proven.
    app.approve(&token, &held_id).await;
    eval::<bool>(
        &page,
        &fill("Maria", "maria@readers.example", "Back again."),
    )
    .await;
    wait_until(&page, &format!("[...{t}.querySelectorAll('[data-parley-comment] .body')].some(b => b.textContent.trim() === 'Back again.' && !b.closest('[data-parley-comment]').querySelector(':scope > [data-parley-pending]'))"), Duration::from_secs(5), "the returning author's comment, published").await;
    eval::<bool>(&page, &format!("(() => {{ const f = {t}.querySelector('.respond form'); f.elements.namedItem('save').click(); return true; }})()")).await;
    let forgotten: u32 = eval(&page, "localStorage.length").await;
    assert_eq!(forgotten, 0);

    // Comments closed while the page is open: the next post hides the form
    // behind a notice.
    app.gql_as(
        &token,
        "mutation($slug: String!) { upsertArticle(input: { slug: $slug, title: \"Closed\", commentsOpen: false }) { id } }",
        json!({ "slug": SLUG }),
    )
    .await;
    eval::<bool>(&page, &fill("Maria", "maria@readers.example", "Too late?")).await;
    wait_until(&page, &format!("!{t}.querySelector('form[data-parley-form]') && {t}.querySelector('.respond .message')?.textContent === 'Comments are closed.'"), Duration::from_secs(5), "the closed notice").await;

    let external = chromium.external_requests(&[&site.origin, &app.base]);
    assert!(external.is_empty(), "requests to other hosts: {external:?}");
    let violations: Vec<String> = eval(&page, "window.__violations").await;
    assert!(violations.is_empty(), "{violations:?}");
    eprintln!("thread journey took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_an_unlisted_site_gets_a_clear_message_and_nothing_else() {
    let (_, listed) = HostSite::bind().await;
    let (listener, origin) = HostSite::bind().await;
    let (app, _, _) = parley_with_thread(Backend::Sqlite, &listed).await;
    let site = HostSite::serve(listener, origin, &app.base, None);
    let chromium = Chromium::launch().await;
    let page = chromium.page().await;
    page.goto(site.article()).await.unwrap();
    let t = THREAD;
    wait_until(
        &page,
        &format!("{t}?.querySelector('.message')"),
        Duration::from_secs(10),
        "the message",
    )
    .await;
    let shown: serde_json::Value = eval(&page, &format!("(() => {{ const s = {t}.querySelector('.parley'); return {{ text: s.textContent, children: s.children.length, comments: {t}.querySelectorAll('[data-parley-comment]').length, forms: {t}.querySelectorAll('form').length }}; }})()")).await;
    assert_eq!(shown["children"], 1);
    assert_eq!(shown["comments"], 0);
    assert_eq!(shown["forms"], 0);
    assert!(
        shown["text"].as_str().unwrap().contains("not allowed"),
        "{shown}"
    );
    let counts: String = eval(
        &page,
        "document.querySelector('[data-parley-count]').textContent",
    )
    .await;
    assert_eq!(counts, "?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thread_works_under_a_strict_csp_without_violations() {
    let (listener, origin) = HostSite::bind().await;
    let (app, token, _) = parley_with_thread(Backend::Sqlite, &origin).await;
    let ws = app.base.replacen("http://", "ws://", 1);
    let csp = format!(
        "default-src 'none'; script-src {p}; style-src {p}; connect-src {p} {ws}; img-src 'none'; base-uri 'none'; form-action 'none'",
        p = app.base
    );
    let site = HostSite::serve(listener, origin, &app.base, Some(csp));
    let chromium = Chromium::launch().await;
    let page = chromium.page().await;
    page.goto(site.article()).await.unwrap();
    let t = THREAD;
    wait_until(
        &page,
        &format!("{t}?.querySelectorAll('[data-parley-comment]').length >= 20"),
        Duration::from_secs(10),
        "the thread",
    )
    .await;
    // Styled by its own sheet (the host's CSP allows Parley's styles only).
    wait_until(
        &page,
        &format!("getComputedStyle({t}.querySelector('.submit')).borderTopWidth === '0px'"),
        Duration::from_secs(5),
        "the widget's styles",
    )
    .await;
    eval::<bool>(&page, &format!("(() => {{ const f = {t}.querySelector('.respond form'); f.elements.namedItem('name').value = 'Maria'; f.elements.namedItem('email').value = 'maria@readers.example'; f.elements.namedItem('body').value = 'Under a strict policy.'; f.querySelector('button[type=submit]').click(); return true; }})()")).await;
    wait_until(
        &page,
        &format!("{t}.querySelector('[data-parley-pending]')"),
        Duration::from_secs(5),
        "the held notice",
    )
    .await;
    let id: String = eval(&page, &format!("{t}.querySelector('[data-parley-pending]').closest('[data-parley-comment]').dataset.parleyComment")).await;
    wait_until(
        &page,
        "document.querySelector('[data-parley-live=\"subscribed\"]')",
        Duration::from_secs(10),
        "the live subscription",
    )
    .await;
    app.approve(&token, &id).await;
    wait_until(
        &page,
        &format!("{t}.querySelector('[data-parley-comment=\"{id}\"]:not(.pending)')"),
        Duration::from_secs(2),
        "the approval, live",
    )
    .await;
    let violations: Vec<String> = eval(&page, "window.__violations").await;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    let external = chromium.external_requests(&[&site.origin, &app.base]);
    assert!(external.is_empty(), "{external:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thread_and_form_pass_an_accessibility_scan() {
    let axe_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/vendor/axe-core-4.10.3/axe.min.js");
    let axe = std::fs::read_to_string(&axe_path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run `python3 web/vendor/fetch.py --tests`",
            axe_path.display()
        )
    });
    let (listener, origin) = HostSite::bind().await;
    let (app, _, _) = parley_with_thread(Backend::Sqlite, &origin).await;
    let site = HostSite::serve(listener, origin, &app.base, None);
    let chromium = Chromium::launch().await;
    let page = chromium.page().await;
    let t = THREAD;
    for scheme in ["light", "dark"] {
        dark(&page, scheme == "dark").await;
        page.goto(site.article()).await.unwrap();
        wait_until(&page, &format!("{t}?.querySelectorAll('[data-parley-comment]').length >= 20 && getComputedStyle({t}.querySelector('.submit')).borderTopWidth === '0px'"), Duration::from_secs(10), "the thread").await;
        // An error shown, so that the scan sees the form's error state too.
        eval::<bool>(
            &page,
            &format!("({t}.querySelector('.respond button[type=submit]').click(), true)"),
        )
        .await;
        wait_until(
            &page,
            &format!("{t}.querySelector('.respond [aria-invalid]')"),
            Duration::from_secs(5),
            "the errors",
        )
        .await;
        eval::<serde_json::Value>(&page, &format!("{axe};true")).await;
        let result: serde_json::Value = eval(
            &page,
            "axe.run(document.querySelector('#parley-thread'), { resultTypes: ['violations'] }).then(r => ({ violations: r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })), passes: r.passes.length }))",
        )
        .await;
        eprintln!("axe ({scheme}): {result}");
        let serious: Vec<_> = result["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            serious.is_empty(),
            "serious or critical violations ({scheme}): {serious:?}"
        );
        assert!(
            result["passes"].as_u64().unwrap() > 5,
            "the scan ran: {result}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_logs_in_and_approves_from_the_playground() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let pending = app
        .post(SLUG, "Maria", "Waiting for a moderator.", None)
        .await;
    let chromium = Chromium::launch().await;
    let page = chromium.page().await;
    page.goto(app.graphql_url()).await.unwrap();
    wait_until(&page, "document.querySelector('.graphiql-container .CodeMirror') && document.querySelector('.graphiql-execute-button')", Duration::from_secs(15), "the editor").await;
    let query: String = eval(
        &page,
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()",
    )
    .await;
    assert!(
        query.contains("moderationQueue"),
        "opens on the queue: {query}"
    );

    // Log in with the box: the token goes into the Authorization header.
    eval::<bool>(&page, &format!("(() => {{ const f = document.getElementById('parley-login'); f.elements.email.value = {ADMIN_EMAIL:?}; f.elements.password.value = {ADMIN_PASSWORD:?}; f.requestSubmit(); return true; }})()")).await;
    wait_until(
        &page,
        "!document.getElementById('parley-session').hidden",
        Duration::from_secs(10),
        "the login",
    )
    .await;
    let who: String = eval(&page, "document.getElementById('parley-who').textContent").await;
    assert!(who.contains("Admin"), "{who}");

    let result = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()";
    eval::<bool>(
        &page,
        "(document.querySelector('.graphiql-execute-button').click(), true)",
    )
    .await;
    wait_until(
        &page,
        &format!("{result}.includes({pending:?})"),
        Duration::from_secs(10),
        "the queue with the pending comment",
    )
    .await;
    let answer: String = eval(&page, result).await;
    assert!(
        answer.contains("maria@readers.example"),
        "a moderator's view: {answer}"
    );
    screenshot(&page, "playground.png").await;

    // The Approve operation, with the comment's id as its variable.
    eval::<bool>(&page, "([...document.querySelectorAll('.graphiql-tab')].find(t => t.textContent.includes('Approve')).querySelector('button').click(), true)").await;
    wait_until(&page, "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue().includes('approveComment')", Duration::from_secs(5), "the Approve tab").await;
    eval::<bool>(&page, &format!("(document.querySelector('.graphiql-editor-tool .CodeMirror').CodeMirror.setValue(JSON.stringify({{ id: {pending:?} }})), true)")).await;
    eval::<bool>(
        &page,
        "(document.querySelector('.graphiql-execute-button').click(), true)",
    )
    .await;
    wait_until(
        &page,
        &format!("{result}.includes('APPROVED')"),
        Duration::from_secs(10),
        "the approval",
    )
    .await;
    let visible = app
        .gql(
            "query($id: ID!) { comment(id: $id) { status } }",
            json!({ "id": pending }),
        )
        .await;
    assert_eq!(visible["data"]["comment"]["status"], "APPROVED");

    // The Live subscription runs over /graphql/ws from the playground.
    eval::<bool>(&page, "([...document.querySelectorAll('.graphiql-tab')].find(t => t.textContent.includes('Live')).querySelector('button').click(), true)").await;
    wait_until(&page, "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue().includes('commentApproved')", Duration::from_secs(5), "the Live tab").await;
    eval::<bool>(&page, &format!("(document.querySelector('.graphiql-editor-tool .CodeMirror').CodeMirror.setValue(JSON.stringify({{ slug: {SLUG:?} }})), true)")).await;
    eval::<bool>(
        &page,
        "(document.querySelector('.graphiql-execute-button').click(), true)",
    )
    .await;
    // The subscription starts at some point after the click: comments are
    // approved until one shows, within a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut shown = false;
    for n in 0.. {
        app.post_approved(
            &token,
            SLUG,
            "Lin",
            &format!("Live from the playground {n}"),
            None,
        )
        .await;
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until && !shown {
            shown = eval(
                &page,
                &format!("{result}.includes('Live from the playground')"),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if shown || Instant::now() > deadline {
            break;
        }
    }
    if !shown {
        let pane: String = eval(&page, result).await;
        let requested = chromium.requested.lock().unwrap().clone();
        let violations: Vec<String> = eval(&page, "window.__violations").await;
        panic!("no live comment reached the playground: {pane} {requested:?} {violations:?}");
    }

    // The live queue needs the login's token, which the playground sends in
    // connection_init: held comments arrive with their emails and reasons.
    eval::<bool>(&page, "([...document.querySelectorAll('.graphiql-tab')].find(t => t.textContent.includes('LiveQueue')).querySelector('button').click(), true)").await;
    wait_until(&page, "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue().includes('moderationQueueChanged')", Duration::from_secs(5), "the LiveQueue tab").await;
    eval::<bool>(
        &page,
        "(document.querySelector('.graphiql-execute-button').click(), true)",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut queued = false;
    for n in 0.. {
        app.post(
            SLUG,
            "Quinn",
            &format!("Queued from the playground {n}"),
            None,
        )
        .await;
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until && !queued {
            queued = eval(
                &page,
                &format!("{result}.includes('quinn@readers.example') && {result}.includes('PRE_MODERATION')"),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if queued || Instant::now() > deadline {
            break;
        }
    }
    if !queued {
        let pane: String = eval(&page, result).await;
        panic!("no held comment reached the playground's live queue: {pane}");
    }

    let external = chromium.external_requests(&[&app.base]);
    assert!(external.is_empty(), "requests to other hosts: {external:?}");
    let violations: Vec<String> = eval(&page, "window.__violations").await;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_and_demo_pages_need_nothing_from_another_host() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.admin_token().await;
    app.gql_as(
        &token,
        "mutation { upsertArticle(input: { slug: \"parley-demo\", title: \"Council passes the budget\" }) { id } }",
        json!({}),
    )
    .await;
    app.post_approved(&token, "parley-demo", "Ann", "A first comment.", None)
        .await;
    let chromium = Chromium::launch().await;
    let page = chromium.page().await;
    page.goto(app.base.clone()).await.unwrap();
    let snippet: String = eval(&page, "document.querySelector('pre').textContent").await;
    assert!(
        snippet.contains(&format!("{}/embed.js", app.base)),
        "{snippet}"
    );
    page.goto(format!("{}/demo", app.base)).await.unwrap();
    wait_until(&page, &format!("{THREAD}?.querySelector('[data-parley-comment]') && document.querySelector('[data-parley-count]').textContent === '1'"), Duration::from_secs(10), "the demo thread").await;
    wait_until(
        &page,
        "document.querySelector('[data-parley-live=\"subscribed\"]')",
        Duration::from_secs(10),
        "the live subscription",
    )
    .await;
    // Live on the same origin too.
    let id = app
        .post_approved(&token, "parley-demo", "Bo", "Live on the demo.", None)
        .await;
    wait_until(
        &page,
        &format!("{THREAD}.querySelector('[data-parley-comment=\"{id}\"]')"),
        Duration::from_secs(2),
        "the live comment",
    )
    .await;
    let external = chromium.external_requests(&[&app.base]);
    assert!(external.is_empty(), "requests to other hosts: {external:?}");
    let violations: Vec<String> = eval(&page, "window.__violations").await;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
}
