//! Cached anonymous reads are never stale: every change readers could see
//! retires them at once, on every instance. HTTP caching for GET reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parley::domain::ModerationMode;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    a_cached_read_runs_no_statement,
    every_change_readers_could_see_retires_cached_reads,
    moderators_are_never_served_from_the_cache,
    get_reads_carry_an_etag_and_a_short_public_lifetime,
    post_reads_are_not_for_http_caches,
    a_change_to_one_thread_leaves_the_others_cached,
    a_named_read_outlives_changes_to_other_threads,
    a_change_to_the_site_retires_every_cached_read,
    an_article_read_as_absent_appears_once_created,
);

const THREAD: &str =
    "{ article(slug: \"cached\") { title commentCount comments { nodes { id body } } } }";

/// The thread of `slug`, as a reader's page asks for it.
async fn thread_of(app: &TestApp, slug: &str) -> Value {
    let answer = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { title commentCount comments { nodes { id body } } } }",
            json!({ "slug": slug }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["article"].clone()
}

/// Reads the thread of `slug` until it is served from the cache.
async fn thread_cached(app: &TestApp, counter: &AtomicU64, slug: &str) -> Value {
    wait_until(
        Duration::from_secs(10),
        "repeated reads ran statements: they were not served from the cache",
        || async {
            let answer = thread_of(app, slug).await;
            let (again, statements) = statements_of(counter, thread_of(app, slug)).await;
            again == answer && statements == 0
        },
    )
    .await;
    thread_of(app, slug).await
}

async fn read(app: &TestApp) -> Value {
    let answer = app.gql(THREAD, json!({})).await;
    assert_no_errors(&answer);
    answer["data"]["article"].clone()
}

/// A server that counts the statements it runs.
async fn counted_app(
    backend: Backend,
    configure: impl FnOnce(&mut parley::Settings),
) -> (TestApp, Arc<AtomicU64>) {
    let counter = Arc::new(AtomicU64::new(0));
    let shared = counter.clone();
    let app = spawn_app_with(backend, move |s| {
        s.statement_counter = Some(shared);
        configure(s);
    })
    .await;
    (app, counter)
}

/// The statements `read` runs on the server counted by `counter`.
async fn statements_of<T>(counter: &AtomicU64, read: impl Future<Output = T>) -> (T, u64) {
    let before = counter.load(Ordering::SeqCst);
    let value = read.await;
    (value, counter.load(Ordering::SeqCst) - before)
}

/// Whether the thread's answer is served from the cache: a read runs no
/// statement and gives `expected`. A statement the server runs in the
/// background (a checkpoint after an erasure) may land in one read, not
/// in three.
async fn served_from_cache(app: &TestApp, counter: &AtomicU64, expected: &Value) -> bool {
    for _ in 0..3 {
        let (answer, statements) = statements_of(counter, read(app)).await;
        assert_eq!(&answer, expected, "the answer changed without a change");
        if statements == 0 {
            return true;
        }
    }
    false
}

/// Reads the thread and proves the answer is now cached. (On PostgreSQL
/// nothing is cached until the change feed has connected, in the
/// background, so this waits for it.)
async fn read_cached(app: &TestApp, counter: &AtomicU64) -> Value {
    let answer = read(app).await;
    wait_until(
        Duration::from_secs(10),
        "repeated reads ran statements: they were not served from the cache",
        || served_from_cache(app, counter, &answer),
    )
    .await;
    answer
}

async fn a_cached_read_runs_no_statement(backend: Backend) {
    for cache in [true, false] {
        let (app, counter) = counted_app(backend, |s| {
            s.moderation = ModerationMode::Post;
            s.response_cache = cache;
        })
        .await;
        let token = app.admin_token().await;
        app.create_article(&token, "cached").await;
        app.post("cached", "Ann", "first", None).await;

        let (computed, first_cost) = statements_of(&counter, read(&app)).await;

        assert_eq!(computed["commentCount"], 1);
        assert!(first_cost > 0, "a computed read runs statements");
        if cache {
            // Then a hit runs no statement.
            assert_eq!(read_cached(&app, &counter).await, computed);
        } else {
            for _ in 0..3 {
                let (again, cost) = statements_of(&counter, read(&app)).await;
                assert_eq!(again, computed);
                assert!(cost > 0, "without the cache every read is computed");
            }
        }
    }
}

async fn every_change_readers_could_see_retires_cached_reads(backend: Backend) {
    let (app, counter) = counted_app(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cached").await;
    let first = app.post("cached", "Ann", "first", None).await;
    assert_eq!(read_cached(&app, &counter).await["commentCount"], 1);

    let second = app.post("cached", "Bob", "second", None).await;
    assert_eq!(
        node_ids(&read(&app).await["comments"]),
        vec![first.clone(), second.clone()],
        "after a post"
    );

    read_cached(&app, &counter).await;
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

    read_cached(&app, &counter).await;
    app.approve(&token, &second).await;
    assert_eq!(
        node_ids(&read(&app).await["comments"]).len(),
        2,
        "after an approval"
    );

    read_cached(&app, &counter).await;
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

    read_cached(&app, &counter).await;
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
    let (app, counter) = counted_app(backend, |_| {}).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cached").await;
    let cached = read_cached(&app, &counter).await;
    let queue = "{ moderationQueue { nodes { id } } }";
    for _ in 0..2 {
        let (_, statements) = statements_of(&counter, app.gql_as(&token, queue, json!({}))).await;
        assert!(statements > 0, "a moderator's read is always computed");
    }

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
    // A pending comment changes nothing readers see, so it retires nothing;
    // an answer computed afresh (another document) agrees with the cache.
    assert!(served_from_cache(&app, &counter, &cached).await);
    let (fresh, statements) = statements_of(
        &counter,
        app.gql("{ article(slug: \"cached\") { commentCount } }", json!({})),
    )
    .await;
    assert!(statements > 0, "computed, not cached");
    assert_eq!(
        fresh["data"]["article"]["commentCount"], 0,
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
    let counter = Arc::new(AtomicU64::new(0));
    let mut settings = test_settings(&writer.db);
    settings.statement_counter = Some(counter.clone());
    let reader = start(TestDb::reuse(&writer.db), settings).await;
    let token = writer.admin_token().await;
    writer.create_article(&token, "cached").await;
    let first = writer.post("cached", "Ann", "first", None).await;
    // The reader caches nothing until its change feed has connected, in
    // the background: wait until it serves the comment from its cache.
    wait_until(
        Duration::from_secs(10),
        "the other instance caches the thread",
        || async {
            let answer = read(&reader).await;
            answer["commentCount"] == 1 && served_from_cache(&reader, &counter, &answer).await
        },
    )
    .await;

    writer
        .gql_as(
            &token,
            "mutation($id: ID!) { hideComment(id: $id) { id } }",
            json!({ "id": first }),
        )
        .await;

    // The notification arrives within moments; a second is generous.
    wait_until(
        Duration::from_secs(1),
        "a hidden comment stayed visible on the other instance",
        || async { read(&reader).await["commentCount"] == 0 },
    )
    .await;
}

async fn a_change_to_one_thread_leaves_the_others_cached(backend: Backend) {
    let (app, counter) = counted_app(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, "calm").await;
    app.create_article(&token, "busy").await;
    app.post("calm", "Ann", "calm one", None).await;
    app.post("busy", "Bob", "busy one", None).await;
    let calm = thread_cached(&app, &counter, "calm").await;
    thread_cached(&app, &counter, "busy").await;

    app.post("busy", "Cy", "busy two", None).await;
    let hidden = app.post("busy", "Di", "busy three", None).await;
    app.gql_as(
        &token,
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
        json!({ "id": hidden }),
    )
    .await;

    let (again, statements) = statements_of(&counter, thread_of(&app, "calm")).await;
    assert_eq!(again, calm);
    assert_eq!(statements, 0, "a change to another thread retired this one");
    let (busy, statements) = statements_of(&counter, thread_of(&app, "busy")).await;
    assert_eq!(busy["commentCount"], 2, "{busy}");
    assert!(statements > 0, "the changed thread was served stale");
}

/// A front end's read is a named operation (`query Thread(...)`), sent
/// without `operationName`: it is scoped to its article like any other.
async fn a_named_read_outlives_changes_to_other_threads(backend: Backend) {
    const NAMED: &str = "query Thread($slug: String!) { article(slug: $slug) { title commentCount \
        comments { nodes { id body } } } }";
    let (app, counter) = counted_app(backend, |_| {}).await;
    let token = app.admin_token().await;
    app.create_article(&token, "calm").await;
    app.create_article(&token, "busy").await;
    let named = || app.gql(NAMED, json!({ "slug": "calm" }));
    wait_until(
        Duration::from_secs(10),
        "the named read was not served from the cache",
        || async { statements_of(&counter, named()).await.1 == 0 },
    )
    .await;
    let before = named().await;

    // Held, then approved, or approved and hidden, by a moderator: changes
    // readers of "busy" see.
    for action in [
        "mutation($id: ID!) { approveComment(id: $id) { id } }",
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
    ] {
        let held = app
            .post("busy", "Bob", &format!("held for {action}"), None)
            .await;
        if action.contains("hide") {
            app.approve(&token, &held).await;
        }
        let done = app.gql_as(&token, action, json!({ "id": held })).await;
        assert_no_errors(&done);
        let (again, statements) = statements_of(&counter, named()).await;
        assert_eq!(again, before);
        assert_eq!(
            statements, 0,
            "{action} on another thread retired this named read"
        );
    }
}

async fn a_change_to_the_site_retires_every_cached_read(backend: Backend) {
    let (app, counter) = counted_app(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, "calm").await;
    let form = "{ commentForm(articleSlug: \"calm\") { moderation } }";
    assert_eq!(
        app.gql(form, json!({})).await["data"]["commentForm"]["moderation"],
        "POST"
    );
    thread_cached(&app, &counter, "calm").await;

    let changed = app
        .gql_as(
            &token,
            "mutation { updateModerationSettings(input: { mode: PRE }) { mode } }",
            json!({}),
        )
        .await;
    assert_no_errors(&changed);

    let (_, statements) = statements_of(&counter, thread_of(&app, "calm")).await;
    assert!(statements > 0, "a settings change left a thread cached");
    assert_eq!(
        app.gql(form, json!({})).await["data"]["commentForm"]["moderation"],
        "PRE",
        "the form still showed the old mode"
    );
}

async fn an_article_read_as_absent_appears_once_created(backend: Backend) {
    let (app, counter) = counted_app(backend, |_| {}).await;
    let token = app.admin_token().await;
    app.create_article(&token, "elsewhere").await;
    let both = "{ articles(slugs: [\"elsewhere\", \"later\"]) { slug } }";
    assert_eq!(thread_cached(&app, &counter, "later").await, Value::Null);
    assert_eq!(
        app.gql(both, json!({})).await["data"]["articles"][1],
        Value::Null
    );
    app.gql(both, json!({})).await;

    app.create_article(&token, "later").await;

    assert_eq!(thread_of(&app, "later").await["title"], "Article later");
    assert_eq!(
        app.gql(both, json!({})).await["data"]["articles"][1]["slug"],
        "later"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_instances_retire_only_the_changed_thread() {
    if postgres_url().is_none() {
        assert!(std::env::var_os("PARLEY_REQUIRE_POSTGRES").is_none());
        return;
    }
    let writer = spawn_app_with(Backend::Postgres, |s| s.moderation = ModerationMode::Post).await;
    let counter = Arc::new(AtomicU64::new(0));
    let mut settings = test_settings(&writer.db);
    settings.statement_counter = Some(counter.clone());
    let reader = start(TestDb::reuse(&writer.db), settings).await;
    let token = writer.admin_token().await;
    writer.create_article(&token, "calm").await;
    writer.create_article(&token, "busy").await;
    writer.post("calm", "Ann", "calm one", None).await;
    // The reader hears of each change a moment after it is made, in order:
    // once it shows the first post on "busy", it has heard of everything
    // before it, and what it caches from then on stays until a new change.
    writer.post("busy", "Bob", "busy one", None).await;
    wait_until(
        Duration::from_secs(5),
        "the other instance never showed the post",
        || async { thread_of(&reader, "busy").await["commentCount"] == 1 },
    )
    .await;
    let calm = thread_cached(&reader, &counter, "calm").await;
    thread_cached(&reader, &counter, "busy").await;

    writer.post("busy", "Cy", "busy two", None).await;

    wait_until(
        Duration::from_secs(5),
        "the other instance kept serving the changed thread",
        || async { thread_of(&reader, "busy").await["commentCount"] == 2 },
    )
    .await;
    let (again, statements) = statements_of(&counter, thread_of(&reader, "calm")).await;
    assert_eq!(again, calm);
    assert_eq!(statements, 0, "a change to another thread retired this one");
}
