//! Several instances on one PostgreSQL database: what one instance changes
//! reaches the subscribers of every other, carried by ids alone.

use std::time::Duration;

use parley::domain::ModerationMode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::moderation_tools::{next_within, socket_with, subscribe_queue, wait_for_queue};
use crate::subscriptions::{next, subscribe_with};

/// Two instances sharing one PostgreSQL database, or `None` without one.
async fn two_instances(mode: ModerationMode) -> Option<(TestApp, TestApp)> {
    if postgres_url().is_none() {
        assert!(std::env::var_os("PARLEY_REQUIRE_POSTGRES").is_none());
        return None;
    }
    let first = spawn_app_with(Backend::Postgres, |s| s.moderation = mode).await;
    let mut settings = test_settings(&first.db);
    settings.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let second = start(TestDb::reuse(&first.db), settings).await;
    following_the_change_feed(&second).await;
    Some((first, second))
}

/// Waits until `app` listens to the other instances' announcements: until
/// then it caches nothing, so a repeated read served from its cache says
/// it does. On a loaded machine the listening connection may come after
/// the first requests.
async fn following_the_change_feed(app: &TestApp) {
    let metrics = format!("{}/metrics", app.metrics.as_deref().unwrap());
    wait_until(
        Duration::from_secs(20),
        "the second instance never followed the change feed",
        || async {
            let read = app
                .gql("{ article(slug: \"sync\") { title } }", json!({}))
                .await;
            assert_no_errors(&read);
            let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
            text.lines()
                .any(|line| line.starts_with("parley_read_cache_lookups_total{result=\"hit\"}"))
        },
    )
    .await;
}

/// The next message on `socket` within a few seconds: announcements reach
/// other instances within moments, and a loaded machine may take longer.
async fn next_event(socket: &mut crate::subscriptions::Socket) -> Value {
    next_within(socket, Duration::from_secs(5))
        .await
        .expect("the event reached the other instance")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_on_one_instance_reach_subscribers_of_another() {
    let Some((writer, reader)) = two_instances(ModerationMode::Pre).await else {
        return;
    };
    let token = writer.admin_token().await;
    writer.create_article(&token, "live").await;
    writer.create_article(&token, "other").await;
    let mut socket = subscribe_with(&reader, "live", "id body status authorName").await;

    let held = writer
        .post("live", "Ann", "Held on the writer.", None)
        .await;
    let elsewhere = writer.post("other", "Bob", "Another thread.", None).await;
    writer.approve(&token, &elsewhere).await;
    writer.approve(&token, &held).await;

    let event = next_event(&mut socket).await;
    let comment = &event["payload"]["data"]["commentApproved"];
    assert_eq!(comment["id"], json!(held), "{event}");
    assert_eq!(comment["body"], "Held on the writer.");
    assert_eq!(comment["status"], "APPROVED");
    assert_eq!(comment["authorName"], "Ann");
    // Nothing else: the other thread's comment, and no second copy.
    assert_eq!(next(&reader, &mut socket).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hiding_then_approving_elsewhere_delivers_the_comment_once_visible() {
    let Some((writer, reader)) = two_instances(ModerationMode::Post).await else {
        return;
    };
    let token = writer.admin_token().await;
    writer.create_article(&token, "live").await;
    let mut socket = subscribe_with(&reader, "live", "id body").await;

    // Published at once under post-moderation: delivered.
    let first = writer.post("live", "Ann", "Straight out.", None).await;
    let event = next_event(&mut socket).await;
    assert_eq!(
        event["payload"]["data"]["commentApproved"]["id"],
        json!(first)
    );

    // Hidden, then approved again: delivered again, once.
    writer
        .gql_as(
            &token,
            "mutation($id: ID!) { hideComment(id: $id) { id } }",
            json!({ "id": first }),
        )
        .await;
    writer.approve(&token, &first).await;
    let event = next_event(&mut socket).await;
    assert_eq!(
        event["payload"]["data"]["commentApproved"]["id"],
        json!(first)
    );
    assert_eq!(next(&reader, &mut socket).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_moderation_queue_of_one_instance_follows_another() {
    let Some((writer, reader)) = two_instances(ModerationMode::Pre).await else {
        return;
    };
    let token = writer.admin_token().await;
    writer.create_article(&token, "queue").await;
    let mut socket = socket_with(
        &reader,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    subscribe_queue(&mut socket).await;
    wait_for_queue(&reader, &mut socket, "queue").await;

    let id = writer
        .post("queue", "Ann", "Waiting on the writer.", None)
        .await;
    let added = next_event(&mut socket).await;
    let event = &added["payload"]["data"]["moderationQueueChanged"];
    assert_eq!(event["change"], "ADDED", "{added}");
    assert_eq!(event["comment"]["id"], json!(id));
    assert_eq!(event["comment"]["status"], "PENDING");
    assert_eq!(event["comment"]["authorEmail"], "ann@readers.example");
    assert_eq!(
        event["comment"]["moderationReasons"][0]["code"],
        "PRE_MODERATION"
    );

    writer.approve(&token, &id).await;
    let approved = next_event(&mut socket).await;
    let event = &approved["payload"]["data"]["moderationQueueChanged"];
    assert_eq!(event["change"], "APPROVED", "{approved}");
    assert_eq!(event["comment"]["status"], "APPROVED");

    writer
        .gql_as(
            &token,
            "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    let deleted = next_event(&mut socket).await;
    let event = &deleted["payload"]["data"]["moderationQueueChanged"];
    assert_eq!(event["change"], "DELETED", "{deleted}");
    assert_eq!(event["comment"]["id"], json!(id));
    // Deleted means erased: the event carries nothing personal any more.
    assert_eq!(event["comment"]["authorEmail"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_between_instances_carry_ids_only() {
    let Some((writer, reader)) = two_instances(ModerationMode::Pre).await else {
        return;
    };
    // A third connection listens to what the instances tell each other.
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(&writer.db.url)
        .await
        .unwrap();
    listener.listen("parley_changes").await.unwrap();
    let token = writer.admin_token().await;
    writer.create_article(&token, "quiet").await;
    let id = writer
        .post("quiet", "Zed Secret", "A body nobody else reads.", None)
        .await;
    writer.approve(&token, &id).await;
    reader.approve(&token, &id).await;

    let mut payloads = Vec::new();
    while let Ok(Ok(notification)) =
        tokio::time::timeout(Duration::from_millis(500), listener.recv()).await
    {
        payloads.push(notification.payload().to_owned());
    }
    assert!(payloads.len() >= 3, "{payloads:?}");
    for payload in &payloads {
        for secret in ["zed", "Zed", "Secret", "readers.example", "nobody"] {
            assert!(!payload.contains(secret), "{payload}");
        }
    }
    assert!(payloads.iter().any(|payload| payload.contains(&id)));
}
