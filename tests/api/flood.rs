//! Flood control on `postComment`: per client address (never per email),
//! shared by every instance on the database, and exact repeats refused.

use std::time::Duration;

use parley::domain::flood::FloodPolicy;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    a_second_comment_within_the_interval_is_rate_limited,
    the_same_email_from_another_address_is_not_limited,
    other_readers_behind_a_trusted_proxy_may_post,
    addresses_in_one_ipv6_64_are_one_client,
    forwarded_addresses_from_untrusted_peers_are_ignored,
    the_hourly_cap_holds,
    flood_control_holds_across_instances,
    an_exact_repeat_is_bad_user_input,
    client_addresses_are_never_stored,
);

const POST: &str = "mutation($input: PostCommentInput!) { postComment(input: $input) { id } }";

fn input(email: &str, body: &str) -> Value {
    json!({ "input": {
        "articleSlug": "busy",
        "authorName": "Reader",
        "authorEmail": email,
        "body": body,
    } })
}

/// Posts from `forwarded_for` (sent as `X-Forwarded-For`), anonymously.
async fn post_from(app: &TestApp, forwarded_for: Option<&str>, email: &str, body: &str) -> Value {
    let variables = input(email, body);
    app.remember_emails(&variables);
    let mut request = app
        .client()
        .post(app.graphql_url())
        .json(&json!({ "query": POST, "variables": variables }));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    let text = request.send().await.unwrap().text().await.unwrap();
    app.assert_no_email_in(&text);
    serde_json::from_str(&text).unwrap()
}

async fn flooded_app(
    backend: Backend,
    configure: impl FnOnce(&mut parley::Settings),
) -> (TestApp, String) {
    let app = spawn_app_with(backend, |s| {
        s.flood = FloodPolicy::default();
        configure(s);
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "busy").await;
    (app, token)
}

fn assert_rate_limited(answer: &Value, at_most: u64) {
    assert_eq!(error_code(answer), "RATE_LIMITED", "{answer}");
    let retry = answer["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .expect("retryAfter");
    assert!((1..=at_most).contains(&retry), "retryAfter {retry}");
}

async fn queue_len(app: &TestApp, token: &str) -> usize {
    let answer = app
        .gql_as(
            token,
            "{ moderationQueue(first: 100) { nodes { id } } }",
            json!({}),
        )
        .await;
    node_ids(&answer["data"]["moderationQueue"]).len()
}

async fn a_second_comment_within_the_interval_is_rate_limited(backend: Backend) {
    let (app, token) = flooded_app(backend, |_| {}).await;

    let first = post_from(&app, None, "one@readers.example", "first").await;
    let second = post_from(&app, None, "two@readers.example", "second").await;

    assert_no_errors(&first);
    assert_rate_limited(&second, 15);
    assert_eq!(queue_len(&app, &token).await, 1);
}

async fn the_same_email_from_another_address_is_not_limited(backend: Backend) {
    let (app, token) = flooded_app(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]
    })
    .await;

    let first = post_from(&app, Some("198.51.100.1"), "same@readers.example", "first").await;
    let second = post_from(&app, Some("198.51.100.2"), "SAME@readers.example", "second").await;

    assert_no_errors(&first);
    assert_no_errors(&second);
    assert_eq!(queue_len(&app, &token).await, 2);
}

async fn other_readers_behind_a_trusted_proxy_may_post(backend: Backend) {
    let (app, token) = flooded_app(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]
    })
    .await;

    let first = post_from(&app, Some("198.51.100.1"), "one@readers.example", "first").await;
    let second = post_from(&app, Some("198.51.100.2"), "two@readers.example", "second").await;
    let third = post_from(
        &app,
        Some("203.0.113.9, 198.51.100.1"),
        "three@readers.example",
        "third",
    )
    .await;

    assert_no_errors(&first);
    assert_no_errors(&second);
    assert_rate_limited(&third, 15);
    assert_eq!(queue_len(&app, &token).await, 2);
}

/// An IPv6 client holds a whole /64 and may change address within it at
/// will: flood control counts the /64 as one client.
async fn addresses_in_one_ipv6_64_are_one_client(backend: Backend) {
    let (app, token) = flooded_app(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]
    })
    .await;

    let first = post_from(
        &app,
        Some("2001:db8:1:2::1"),
        "one@readers.example",
        "first",
    )
    .await;
    let same_64 = post_from(
        &app,
        Some("2001:db8:1:2:ffff:ffff:ffff:fffe"),
        "two@readers.example",
        "second",
    )
    .await;
    let next_64 = post_from(
        &app,
        Some("2001:db8:1:3::1"),
        "three@readers.example",
        "third",
    )
    .await;

    assert_no_errors(&first);
    assert_rate_limited(&same_64, 15);
    assert_no_errors(&next_64);
    assert_eq!(queue_len(&app, &token).await, 2);
}

async fn forwarded_addresses_from_untrusted_peers_are_ignored(backend: Backend) {
    let (app, _) = flooded_app(backend, |_| {}).await;

    let first = post_from(&app, Some("198.51.100.1"), "one@readers.example", "first").await;
    let second = post_from(&app, Some("198.51.100.2"), "two@readers.example", "second").await;

    assert_no_errors(&first);
    assert_rate_limited(&second, 15);
}

async fn the_hourly_cap_holds(backend: Backend) {
    let (app, _) = flooded_app(backend, |s| {
        s.flood = FloodPolicy {
            interval: Duration::from_millis(1),
            hourly_cap: 3,
        }
    })
    .await;

    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let answer = post_from(
            &app,
            None,
            &format!("r{i}@readers.example"),
            &format!("body {i}"),
        )
        .await;
        assert_no_errors(&answer);
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let fourth = post_from(&app, None, "r4@readers.example", "body 4").await;

    assert_rate_limited(&fourth, 3600);
    assert!(
        fourth["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 3000
    );
}

async fn flood_control_holds_across_instances(backend: Backend) {
    let (first, _) = flooded_app(backend, |_| {}).await;
    let mut settings = test_settings(&first.db);
    settings.flood = FloodPolicy::default();
    let second = start(TestDb::reuse(&first.db), settings).await;

    let on_first = post_from(&first, None, "one@readers.example", "first").await;
    let on_second = post_from(&second, None, "two@readers.example", "second").await;

    assert_no_errors(&on_first);
    assert_rate_limited(&on_second, 15);
}

async fn an_exact_repeat_is_bad_user_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "busy").await;
    app.create_article(&token, "quiet").await;
    // Longer than the indexed prefix, differing only after it.
    let long = "x".repeat(100);

    let first = post_from(&app, None, "ann@readers.example", "Same words.").await;
    let repeat = post_from(&app, None, "ANN@readers.example", "Same words.").await;
    let by_another = post_from(&app, None, "bob@readers.example", "Same words.").await;
    let other_words = post_from(&app, None, "ann@readers.example", "Other words.").await;
    let long_first = post_from(&app, None, "ann@readers.example", &format!("{long}a")).await;
    let long_other = post_from(&app, None, "ann@readers.example", &format!("{long}b")).await;
    let elsewhere = app
        .post_comment(json!({
            "articleSlug": "quiet",
            "authorName": "Ann",
            "authorEmail": "ann@readers.example",
            "body": "Same words.",
        }))
        .await;

    assert_no_errors(&first);
    for refused in [&repeat, &by_another] {
        assert_eq!(error_code(refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(error_field(refused), "body");
    }
    assert_no_errors(&other_words);
    assert_no_errors(&long_first);
    assert_no_errors(&long_other);
    assert_no_errors(&elsewhere);
}

async fn client_addresses_are_never_stored(backend: Backend) {
    let (app, _) = flooded_app(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        // Short enough to post twice from one address.
        s.flood.interval = Duration::from_millis(1);
    })
    .await;
    let address = "198.51.100.77";

    let first = post_from(&app, Some(address), "ann@readers.example", "hello").await;
    // Waits out the interval, not for another task.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = post_from(&app, Some(address), "ann@readers.example", "hello again").await;
    let other = post_from(&app, Some("198.51.100.78"), "bob@readers.example", "hi").await;

    for answer in [&first, &again, &other] {
        assert_no_errors(answer);
    }
    let db = app.db.connect().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT * FROM post_marks ORDER BY created_at".to_owned(),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let keys: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("", "client_key").unwrap())
        .collect();
    assert_eq!(keys[0], keys[1], "one address, one key");
    assert_ne!(keys[0], keys[2], "another address, another key");
    for key in &keys {
        assert_eq!(key.len(), 64, "a SHA-256 in hex");
        assert!(!key.contains("198.51.100"));
    }
    // Keyed: not what anyone could compute from the address alone.
    let unkeyed = |text: &str| -> String {
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    for plain in [address.to_owned(), format!("client\0{address}")] {
        assert_ne!(keys[0], unkeyed(&plain), "an unkeyed hash of {plain:?}");
    }
    // Nothing of the email is kept for flood control, hashed or not.
    assert!(rows[0].try_get::<String>("", "email_key").is_err());
}
