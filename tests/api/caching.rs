//! Cached anonymous reads are never stale: every change readers could see
//! retires them at once, on every instance. HTTP caching for GET reads.

use parley::domain::ModerationMode;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    every_change_readers_could_see_retires_cached_reads,
    moderators_are_never_served_from_the_cache,
    get_reads_carry_an_etag_and_a_short_public_lifetime,
    post_reads_are_not_for_http_caches,
);

const THREAD: &str =
    "{ article(slug: \"cached\") { title commentCount comments { nodes { id body } } } }";

async fn read(app: &TestApp) -> Value {
    let answer = app.gql(THREAD, json!({})).await;
    assert_no_errors(&answer);
    answer["data"]["article"].clone()
}

async fn every_change_readers_could_see_retires_cached_reads(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cached").await;
    let first = app.post("cached", "Ann", "first", None).await;
    assert_eq!(read(&app).await["commentCount"], 1);
    assert_eq!(read(&app).await["commentCount"], 1, "served again");

    let second = app.post("cached", "Bob", "second", None).await;
    assert_eq!(
        node_ids(&read(&app).await["comments"]),
        vec![first.clone(), second.clone()],
        "after a post"
    );

    app.gql_as(
        &token,
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
        json!({ "id": second }),
    )
    .await;
    assert_eq!(
        node_ids(&read(&app).await["comments"]),
        vec![first.clone()],
        "after a hide"
    );

    app.approve(&token, &second).await;
    assert_eq!(
        node_ids(&read(&app).await["comments"]).len(),
        2,
        "after an approval"
    );

    app.gql_as(
        &token,
        "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
        json!({ "id": first }),
    )
    .await;
    assert_eq!(
        node_ids(&read(&app).await["comments"]),
        vec![second],
        "after a delete"
    );

    app.gql_as(
        &token,
        "mutation { upsertArticle(input: { slug: \"cached\", title: \"Renamed\" }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        read(&app).await["title"],
        "Renamed",
        "after an article edit"
    );
}

async fn moderators_are_never_served_from_the_cache(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cached").await;
    read(&app).await;
    let queue = "{ moderationQueue { nodes { id } } }";
    app.gql_as(&token, queue, json!({})).await;

    let pending = app.post("cached", "Pat", "pending", None).await;
    let response = app
        .client()
        .post(app.graphql_url())
        .bearer_auth(&token)
        .json(&json!({ "query": queue }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()[CACHE_CONTROL], "private, no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(node_ids(&body["data"]["moderationQueue"]), vec![pending]);
    assert_eq!(
        read(&app).await["commentCount"],
        0,
        "a pending comment changes nothing for readers"
    );
}

async fn get_reads_carry_an_etag_and_a_short_public_lifetime(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cached").await;
    let get = |etag: Option<String>| {
        let mut request = app
            .client()
            .get(app.graphql_url())
            .query(&[("query", THREAD)]);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        request.send()
    };

    let first = get(None).await.unwrap();
    let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    let cache_control = first.headers()[CACHE_CONTROL].to_str().unwrap().to_owned();
    let unchanged = get(Some(etag.clone())).await.unwrap();
    app.post("cached", "Ann", "news", None).await;
    let changed = get(Some(etag.clone())).await.unwrap();

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(cache_control, "public, max-age=5");
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG].to_str().unwrap(), etag);
    let as_moderator = app
        .client()
        .get(app.graphql_url())
        .query(&[("query", THREAD)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_moderator.headers()[CACHE_CONTROL], "private, no-store");
    assert!(as_moderator.headers().get(ETAG).is_none());
}

/// POST answers are not cacheable over HTTP: no ETag, `no-cache`, whether
/// computed or served from Parley's own cache.
async fn post_reads_are_not_for_http_caches(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cached").await;
    for attempt in ["computed", "cached"] {
        let answer = app
            .client()
            .post(app.graphql_url())
            .json(&json!({ "query": THREAD }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()[CACHE_CONTROL], "no-cache", "{attempt}");
        assert!(answer.headers().get(ETAG).is_none(), "{attempt}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_on_other_instances_are_retired_too() {
    if postgres_url().is_none() {
        assert!(std::env::var_os("PARLEY_REQUIRE_POSTGRES").is_none());
        return;
    }
    let writer = spawn_app_with(Backend::Postgres, |s| s.moderation = ModerationMode::Post).await;
    let reader = start(TestDb::reuse(&writer.db), test_settings(&writer.db)).await;
    let token = writer.admin_token().await;
    writer.create_article(&token, "cached").await;
    let first = writer.post("cached", "Ann", "first", None).await;
    // The reader's change feed connects in the background; wait for a
    // cached answer to show the comment.
    for _ in 0..50 {
        if read(&reader).await["commentCount"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(read(&reader).await["commentCount"], 1);

    writer
        .gql_as(
            &token,
            "mutation($id: ID!) { hideComment(id: $id) { id } }",
            json!({ "id": first }),
        )
        .await;

    let mut hidden = false;
    for _ in 0..20 {
        if read(&reader).await["commentCount"] == 0 {
            hidden = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        hidden,
        "a hidden comment stayed visible on the other instance"
    );
}
