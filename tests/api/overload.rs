//! Requests the server cannot serve at once: the limit on requests executed
//! together, and the time budget of each. A post is held up by a lock the
//! test takes on the database itself (`hold_up_posts`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    requests_beyond_the_limit_wait_for_a_turn,
    a_request_out_of_time_is_stopped_and_leaves_nothing,
);

const SLUG: &str = "busy";
const READ: &str = "{ article(slug: \"busy\") { commentCount } }";

/// Sends `query` without the suite's checks (a time-out answers 503), and
/// returns the status, the answer and when it arrived.
async fn send(app: &TestApp, query: &str, variables: Value) -> (StatusCode, Value, Instant) {
    send_as(app, None, query, variables).await
}

/// [`send`] with a moderator's token, if given.
async fn send_as(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (StatusCode, Value, Instant) {
    let body = json!({ "query": query, "variables": variables });
    app.remember_emails(&body);
    let mut request = app.client().post(app.graphql_url()).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    app.assert_no_email_in(&text);
    (status, serde_json::from_str(&text).unwrap(), Instant::now())
}

fn post_document() -> (&'static str, Value) {
    (
        "mutation($input: PostCommentInput!) { postComment(input: $input) { id } }",
        json!({ "input": {
            "articleSlug": SLUG,
            "authorName": "Patient Reader",
            "authorEmail": "patient@readers.example",
            "body": "Posted while the database was busy.",
        } }),
    )
}

async fn requests_beyond_the_limit_wait_for_a_turn(backend: Backend) {
    let counter = Arc::new(AtomicU64::new(0));
    let shared = counter.clone();
    let app = spawn_app_with(backend, |settings| {
        settings.max_concurrent_requests = 1;
        settings.response_cache = false;
        settings.statement_counter = Some(shared);
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let conn = app.db.connect().await;
    let lock = hold_up_posts(&conn, SLUG).await;

    let (post, read) = tokio::join!(
        async {
            let (query, variables) = post_document();
            send(&app, query, variables).await
        },
        async {
            // Sent once the post holds the only turn (and waits for the
            // lock, which is released only once the read waits too).
            wait_until(
                Duration::from_secs(10),
                "the post holds the turn",
                || async { app.executing.count() == 1 },
            )
            .await;
            // A moderator's read checks its token against the account
            // right before it waits for a turn: its statement tells when
            // it waits. Waiting shows as nothing happening, so the read is
            // given a second in which it would be answered if it did not
            // wait; then the post may go on.
            let before = counter.load(Ordering::SeqCst);
            let answered = AtomicBool::new(false);
            let read = async {
                let read = send_as(&app, Some(&token), READ, json!({})).await;
                answered.store(true, Ordering::SeqCst);
                read
            };
            let release = async {
                wait_until(
                    Duration::from_secs(10),
                    "the read reaches the server",
                    || async { counter.load(Ordering::SeqCst) > before },
                )
                .await;
                let window = Instant::now() + Duration::from_secs(1);
                while !answered.load(Ordering::SeqCst) && Instant::now() < window {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                lock.rollback().await.unwrap();
            };
            tokio::join!(read, release).0
        },
    );

    assert_eq!(post.0, StatusCode::OK, "{}", post.1);
    assert_no_errors(&post.1);
    assert_eq!(read.0, StatusCode::OK, "{}", read.1);
    assert_no_errors(&read.1);
    assert!(
        read.2 >= post.2,
        "the read, sent while the post ran, was answered only after it"
    );
}

async fn a_request_out_of_time_is_stopped_and_leaves_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.request_timeout = Duration::from_secs(2);
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let conn = app.db.connect().await;
    let lock = hold_up_posts(&conn, SLUG).await;

    let (query, variables) = post_document();
    let (status, answer, _) = send(&app, query, variables.clone()).await;
    let (read_status, read, _) = send(&app, READ, json!({})).await;
    lock.rollback().await.unwrap();

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(error_code(&answer), "INTERNAL_SERVER_ERROR");
    assert_eq!(
        answer["errors"][0]["message"],
        "the request took too long and was stopped"
    );
    assert!(answer.get("data").is_none(), "{answer}");
    assert_eq!(read_status, StatusCode::OK, "reads are not held up: {read}");
    assert_no_errors(&read);
    // The post's transaction was abandoned: once the lock is gone nothing
    // of it appears, and posting works again.
    let queue = app
        .gql_as(&token, "{ moderationQueue { nodes { id } } }", json!({}))
        .await;
    assert_eq!(
        node_ids(&queue["data"]["moderationQueue"]),
        Vec::<String>::new()
    );
    let (status, answer, _) = send(&app, query, variables).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_no_errors(&answer);
    let queue = app
        .gql_as(&token, "{ moderationQueue { nodes { id } } }", json!({}))
        .await;
    assert_eq!(
        node_ids(&queue["data"]["moderationQueue"]),
        vec![answer["data"]["postComment"]["id"].as_str().unwrap()],
        "only the second post is stored"
    );
}
