//! Answers stay small whatever the data holds: an article of 100 comments
//! of 40 KB each, read with the queries that once built answers of
//! gigabytes. Each is refused with an error, and the process's resident
//! memory stays low while it is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parley::domain::ModerationMode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;
use crate::subscriptions::{next, subscribe_with};

on_both_databases!(
    comments_cannot_be_listed_again_through_their_article,
    queries_from_the_attack_are_refused_with_little_memory,
    an_answer_over_the_byte_cap_is_one_error,
    a_subscription_event_over_the_byte_cap_is_one_error,
);

const SLUG: &str = "big";
/// Characters of four bytes each: a body of 10,000 is 40 KB.
const HEAVY: char = '\u{1F600}';

/// A server under post-moderation (comments show at once) with `count`
/// comments of 40 KB on the article `big`.
async fn heavy_article(
    backend: Backend,
    count: usize,
    configure: impl FnOnce(&mut parley::Settings),
) -> TestApp {
    let app = spawn_app_with(backend, |s| {
        s.moderation = ModerationMode::Post;
        configure(s);
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    for i in 0..count {
        app.post(SLUG, "Heavy Writer", &heavy_body(i), None).await;
    }
    app
}

/// A distinct 40 KB body.
fn heavy_body(i: usize) -> String {
    let tag = format!("{i:05}");
    let mut body: String = std::iter::repeat_n(HEAVY, 10_000 - tag.len()).collect();
    body.push_str(&tag);
    body
}

/// The highest resident memory of this process above where it stood when
/// `work` began, in bytes, sampled every few milliseconds.
async fn peak_growth<T>(work: impl std::future::Future<Output = T>) -> (T, u64) {
    let start = resident_bytes();
    let peak = Arc::new(AtomicU64::new(start));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(resident_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let result = work.await;
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    peak.fetch_max(resident_bytes(), Ordering::Relaxed);
    (result, peak.load(Ordering::Relaxed).saturating_sub(start))
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS")
        * 1024
}

/// The queries of the attack: each comment's article lists the comments
/// again, `per_level` at each of three levels.
fn through_the_article(per_level: u32) -> String {
    format!(
        "{{ article(slug: \"{SLUG}\") {{ comments(first: {per_level}) {{ nodes {{ body article {{ comments(first: {per_level}) {{ nodes {{ body article {{ comments(first: {per_level}) {{ nodes {{ body }} }} }} }} }} }} }} }} }} }}"
    )
}

/// Several aliases of the article's first 100 bodies: cheap enough for the
/// cost limit, far over the byte cap.
fn aliased_pages(aliases: usize) -> String {
    let fields: String = (0..aliases)
        .map(|i| {
            format!(
                "a{i}: article(slug: \"{SLUG}\") {{ comments(first: 100) {{ nodes {{ body }} }} }} "
            )
        })
        .collect();
    format!("{{ {fields} }}")
}

/// Memory any single refused request may take here: the test process also
/// runs other tests, so this is generous; the answers these queries used to
/// build took gigabytes.
const MEMORY_CEILING: u64 = 256 * 1024 * 1024;

async fn comments_cannot_be_listed_again_through_their_article(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "small").await;
    let id = app.post("small", "Ann", "A short one.", None).await;
    app.approve(&token, &id).await;

    let answer = app
        .gql(
            "{ article(slug: \"small\") { comments(first: 5) { nodes { id article { slug comments(first: 5) { nodes { id } } } } } } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(error_field(&answer), "comments", "{answer}");
    // The rest of the answer still reads.
    let node = &answer["data"]["article"]["comments"]["nodes"][0];
    assert_eq!(node["id"], json!(id), "{answer}");
    assert_eq!(node["article"]["slug"], "small", "{answer}");
    assert_eq!(
        node["article"].get("comments").unwrap_or(&Value::Null),
        &Value::Null,
        "{answer}"
    );
    let direct = app
        .gql(
            "{ article(slug: \"small\") { comments(first: 5) { nodes { id article { slug } } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&direct);
    assert_eq!(
        direct["data"]["article"]["comments"]["nodes"][0]["article"]["slug"],
        "small"
    );
}

async fn queries_from_the_attack_are_refused_with_little_memory(backend: Backend) {
    let app = heavy_article(backend, 100, |_| {}).await;

    for query in [
        through_the_article(30),
        through_the_article(40),
        through_the_article(12),
        aliased_pages(6),
    ] {
        let (text, growth) = peak_growth(async {
            let response = app
                .client()
                .post(app.graphql_url())
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        })
        .await;

        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{query}");
        assert!(
            text.len() < 64 * 1024,
            "{query}: an answer of {} bytes",
            text.len()
        );
        assert!(
            growth < MEMORY_CEILING,
            "{query}: resident memory grew by {} MiB",
            growth >> 20
        );
    }
    // The article itself still reads.
    let one_page = app
        .gql(
            &format!("{{ article(slug: \"{SLUG}\") {{ commentCount comments(first: 20) {{ nodes {{ body }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_no_errors(&one_page);
    assert_eq!(one_page["data"]["article"]["commentCount"], 100);
}

async fn an_answer_over_the_byte_cap_is_one_error(backend: Backend) {
    let app = heavy_article(backend, 30, |s| s.limits.max_answer_bytes = 1024 * 1024).await;
    let page = |first: u32| {
        format!(
            "{{ article(slug: \"{SLUG}\") {{ comments(first: {first}) {{ nodes {{ id body }} }} }} }}"
        )
    };

    let within = app.gql(&page(20), json!({})).await;
    let over = app.gql(&page(30), json!({})).await;

    assert_no_errors(&within);
    assert_eq!(
        node_ids(&within["data"]["article"]["comments"]).len(),
        20,
        "800 KB fits under 1 MiB"
    );
    assert_eq!(error_code(&over), "BAD_USER_INPUT", "{over}");
    assert!(over.get("data").is_none_or(Value::is_null), "{over}");
    assert_eq!(over["errors"].as_array().unwrap().len(), 1, "{over}");
    let message = over["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1048576 bytes"), "{message}");
}

async fn a_subscription_event_over_the_byte_cap_is_one_error(backend: Backend) {
    let app = heavy_article(backend, 0, |s| s.limits.max_answer_bytes = 16 * 1024).await;
    let post = |body: String| {
        let app = &app;
        async move {
            let answer = app
                .gql(
                    "mutation($input: PostCommentInput!) { postComment(input: $input) { id } }",
                    json!({ "input": {
                        "articleSlug": SLUG,
                        "authorName": "Writer",
                        "authorEmail": "writer@readers.example",
                        "body": body,
                    } }),
                )
                .await;
            assert_no_errors(&answer);
            answer["data"]["postComment"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mut socket = subscribe_with(&app, SLUG, "id body").await;
    let mut through_article = subscribe_with(
        &app,
        SLUG,
        "id article { comments(first: 30) { nodes { body } } }",
    )
    .await;

    let heavy = post(heavy_body(1)).await;
    let heavy_event = next(&app, &mut socket).await.expect("an event");
    let refused = next(&app, &mut through_article).await.expect("an event");
    let light = post("A few words.".to_owned()).await;
    let light_event = next(&app, &mut socket).await.expect("an event");

    assert_eq!(heavy_event["type"], "next", "{heavy_event}");
    let errors = &heavy_event["payload"]["errors"];
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{heavy_event}");
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        heavy_event.to_string().len() < 1024,
        "the refused event is small"
    );
    assert!(!heavy_event.to_string().contains(&heavy));
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(
        light_event["payload"]["data"]["commentApproved"]["id"],
        json!(light),
        "each event is weighed from zero: {light_event}"
    );
}
