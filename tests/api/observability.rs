//! What an operator watches: metrics for Prometheus on their own listener,
//! a request id on every answer and in the logs, logs as JSON lines, and
//! security events at `info`, never with an email.

use std::time::Duration;

use parley::domain::ModerationMode;
use parley::domain::flood::FloodPolicy;
use prometheus_parse::{Scrape, Value as Metric};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;
use crate::process::Server;
use crate::subscriptions::subscribe_with;

on_both_databases!(
    metrics_are_served_on_their_own_listener_in_the_prometheus_format,
    every_answer_carries_a_request_id_and_so_do_its_log_lines,
    security_events_are_logged_by_account_never_by_email,
    flood_refusals_are_logged,
);

const THREAD: &str = "{ article(slug: \"watched\") { title comments { nodes { id } } } }";

/// The metrics as a Prometheus server scrapes them, and their raw text.
async fn scrape(app: &TestApp) -> (Scrape, String) {
    let base = app.metrics.as_deref().expect("a metrics listener");
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(media.starts_with("text/plain; version=0.0.4"), "{media}");
    let text = response.text().await.unwrap();
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap();
    (scrape, text)
}

/// The value of the sample `metric` whose labels include `labels`.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .filter(|sample| {
            labels
                .iter()
                .all(|(name, wanted)| sample.labels.get(name) == Some(*wanted))
        })
        .find_map(|sample| match sample.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => Some(v),
            _ => None,
        })
}

/// Every sample line belongs to a family declared with `# TYPE`, and reads
/// as `name{labels} value`: the Prometheus text format, line by line.
fn assert_well_formed(text: &str) {
    let mut declared: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            declared.push(words.next().unwrap());
            let kind = words.next().unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap();
        let name = &line[..name_end];
        assert!(
            declared.iter().any(|family| name == *family
                || name
                    .strip_prefix(family)
                    .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix))),
            "a sample of no declared family: {line}"
        );
        let number = line.rsplit(' ').next().unwrap();
        assert!(
            number.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&number),
            "{line}"
        );
    }
    assert!(!declared.is_empty());
}

async fn metrics_are_served_on_their_own_listener_in_the_prometheus_format(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = ModerationMode::Post;
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "watched").await;
    app.post("watched", "Ann", "Being watched.", None).await;

    // The same anonymous read until one is served from the cache (on
    // PostgreSQL only once the change feed has connected).
    wait_until(
        Duration::from_secs(10),
        "a read was served from the cache",
        || async {
            assert_no_errors(&app.gql(THREAD, json!({})).await);
            let (scrape, _) = scrape(&app).await;
            value(
                &scrape,
                "parley_read_cache_lookups_total",
                &[("result", "hit")],
            ) >= Some(1.0)
        },
    )
    .await;
    let invalid = app.gql("{ nothingHere }", json!({})).await;
    assert!(invalid["errors"].is_array());
    let mut throttled = false;
    for _ in 0..12 {
        let answer = app
            .gql(
                "mutation($email: String!) { login(email: $email, password: \"not the password\") { token } }",
                json!({ "email": ADMIN_EMAIL }),
            )
            .await;
        if answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED" {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "failed logins were never throttled");
    let _socket = subscribe_with(&app, "watched", "id").await;

    let (scrape, text) = scrape(&app).await;
    assert_well_formed(&text);
    let reads = value(
        &scrape,
        "parley_graphql_requests_total",
        &[("operation", "article"), ("outcome", "OK")],
    );
    assert!(reads >= Some(2.0), "{text}");
    assert!(
        value(
            &scrape,
            "parley_read_cache_lookups_total",
            &[("result", "miss")]
        ) >= Some(1.0),
        "{text}"
    );
    let posts = value(
        &scrape,
        "parley_graphql_requests_total",
        &[("operation", "postComment"), ("outcome", "OK")],
    );
    assert!(posts >= Some(1.0), "{text}");
    assert!(
        scrape
            .samples
            .iter()
            .any(|sample| sample.metric == "parley_graphql_requests_total"
                && sample.labels.get("operation") == Some("invalid")),
        "{text}"
    );
    assert!(
        value(
            &scrape,
            "parley_graphql_requests_total",
            &[("operation", "login"), ("outcome", "RATE_LIMITED")]
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        value(&scrape, "parley_rate_limited_total", &[]) >= Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&scrape, "parley_subscriptions_open", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&scrape, "parley_websockets_open", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(value(&scrape, "parley_db_pool_max_connections", &[]) > Some(0.0));
    assert!(value(&scrape, "parley_db_pool_connections", &[("state", "idle")]).is_some());
    assert!(value(&scrape, "parley_password_hashing_waiting", &[]).is_some());
    assert!(
        scrape.samples.iter().any(|sample| sample.metric
            == "parley_graphql_request_duration_seconds"
            && sample.labels.get("operation") == Some("postComment")
            && matches!(sample.value, Metric::Histogram(_))),
        "{text}"
    );
    // No label carries what a client typed, nor an email.
    assert!(!text.contains("nothingHere"), "{text}");
    assert!(!text.contains('@'), "{text}");

    // The public port does not serve them.
    let public = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(public.status(), 404);
}

#[tokio::test]
async fn without_the_flag_there_is_no_metrics_listener() {
    let app = spawn_app(Backend::Sqlite).await;
    assert!(app.metrics.is_none());
}

/// Posts a comment carrying `X-Request-Id: id` when given; answers the
/// response's `X-Request-Id`.
async fn post_with_id(app: &TestApp, id: Option<&str>, body: &str) -> String {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .json(&json!({
            "query": "mutation($input: PostCommentInput!) { postComment(input: $input) { id } }",
            "variables": { "input": {
                "articleSlug": "watched",
                "authorName": "Ann",
                "authorEmail": "ann@readers.example",
                "body": body,
            } },
        }));
    if let Some(id) = id {
        request = request.header("X-Request-Id", id);
    }
    let response = request.send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let answer: Value = response.json().await.unwrap();
    assert_no_errors(&answer);
    id
}

async fn every_answer_carries_a_request_id_and_so_do_its_log_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "watched").await;

    let made = post_with_id(&app, None, "one").await;
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let other = post_with_id(&app, None, "two").await;
    assert_ne!(made, other, "each request gets its own id");

    let ours = format!("edge-{}", uuid::Uuid::now_v7().simple());
    assert_eq!(post_with_id(&app, Some(&ours), "three").await, ours);
    for (n, unfit) in ["has space", &"x".repeat(65), "ann@readers.example"]
        .into_iter()
        .enumerate()
    {
        let replaced = post_with_id(&app, Some(unfit), &format!("four {n}")).await;
        assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{unfit} was kept");
    }
    let logs = app.logs();
    let posted = logs
        .lines()
        .find(|line| line.contains(&ours))
        .unwrap_or_else(|| panic!("no log line carries the request id: {logs}"));
    assert!(posted.contains("comment posted"), "{posted}");

    // Other routes carry one too.
    let health = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert!(health.headers().contains_key("x-request-id"));
}

/// The moderator id of the account behind `token`.
async fn my_id(app: &TestApp, token: &str) -> String {
    let me = app.gql_as(token, "{ me { id } }", json!({})).await;
    me["data"]["me"]["id"].as_str().unwrap().to_owned()
}

async fn security_events_are_logged_by_account_never_by_email(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.moderation = ModerationMode::Pre).await;
    let token = app.admin_token().await;
    let admin = my_id(&app, &token).await;
    app.create_article(&token, "watched").await;
    let held = app.post("watched", "Ann", "Held.", None).await;
    app.approve(&token, &held).await;

    let login = "mutation($email: String!) { login(email: $email, password: \"not the password\") { token } }";
    let stranger = format!("nobody-{}@example.net", uuid::Uuid::now_v7().simple());
    app.gql(login, json!({ "email": stranger })).await;
    let mut throttled = false;
    for _ in 0..12 {
        let answer = app.gql(login, json!({ "email": ADMIN_EMAIL })).await;
        if answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED" {
            throttled = true;
            break;
        }
    }
    assert!(throttled);
    app.gql_as(&token, "mutation { logout }", json!({})).await;

    let logs = app.logs();
    let about_admin = |message: &str| {
        logs.lines()
            .any(|line| line.contains(message) && line.contains(&admin) && line.contains(" INFO "))
    };
    assert!(about_admin("login failed: wrong password"), "{logs}");
    assert!(
        about_admin("login refused: too many failed attempts"),
        "{logs}"
    );
    assert!(about_admin("comment approved"), "{logs}");
    assert!(about_admin("moderator logged out"), "{logs}");
    assert!(logs.contains("login failed: no such account"), "{logs}");
    for line in logs.lines().filter(|line| line.contains("login")) {
        assert!(!line.contains(ADMIN_EMAIL), "{line}");
        assert!(!line.contains(&stranger), "{line}");
        assert!(!line.contains('@'), "{line}");
    }
    let approved = logs
        .lines()
        .find(|line| line.contains("comment approved") && line.contains(&held))
        .unwrap();
    assert!(approved.contains(&format!("by={admin}")), "{approved}");
}

async fn flood_refusals_are_logged(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = ModerationMode::Post;
        s.flood = FloodPolicy {
            interval: Duration::from_secs(600),
            hourly_cap: 10,
        };
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "watched").await;
    let before = app.logs().matches("post refused by flood control").count();
    app.post("watched", "Ann", "First.", None).await;
    let again = app
        .post_comment(json!({
            "articleSlug": "watched",
            "authorName": "Ann",
            "authorEmail": "ann@readers.example",
            "body": "Too soon.",
        }))
        .await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let logs = app.logs();
    assert!(
        logs.matches("post refused by flood control").count() > before,
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_can_be_json_lines_carrying_the_request_id() {
    let db = TestDb::create(Backend::Sqlite).await;
    let server = Server::start_with_env(&db, &[("PARLEY_LOG_FORMAT", "json")]).await;
    let id = format!("json-{}", uuid::Uuid::now_v7().simple());
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .header("X-Request-Id", &id)
        .json(&json!({ "query": "{ article(slug: \"none\") { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], id.as_str());
    let failed = reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .header("X-Request-Id", &id)
        .json(&json!({ "query": "mutation { login(email: \"x@example.com\", password: \"wrong password\") { token } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 200);
    let log = server.log();
    server.kill();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|line| line["level"].is_string() && line["timestamp"].is_string())
    );
    let event = lines
        .iter()
        .find(|line| line["fields"]["message"] == "login failed: no such account")
        .unwrap_or_else(|| panic!("no failed login logged: {log}"));
    assert_eq!(event["level"], "INFO");
    let spans = event["spans"].as_array().unwrap();
    assert!(
        spans.iter().any(|span| span["id"] == id.as_str()),
        "{event}"
    );
}
