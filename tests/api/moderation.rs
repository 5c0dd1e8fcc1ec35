//! Moderators working the queue: approve, hide, delete, articles, and the
//! audit log every action writes.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    queue_lists_comments_by_status_oldest_first,
    queue_is_for_moderators_only,
    moderation_needs_a_valid_token_and_changes_nothing_without_one,
    unknown_or_deleted_comments_are_not_found,
    hiding_takes_a_comment_away_from_readers_and_approving_brings_it_back,
    delete_erases_the_comment_and_moves_its_replies_up,
    every_moderation_action_writes_an_audit_row,
    upsert_article_creates_then_updates,
    bad_article_input_is_bad_user_input,
    overlong_hide_reason_is_bad_user_input,
    concurrent_actions_on_one_comment_never_fail_internally,
);

const QUEUE: &str = "query($status: CommentStatus, $slug: String) { moderationQueue(status: $status, articleSlug: $slug) { nodes { id status authorEmail } pageInfo { hasNextPage } } }";

async fn queue_lists_comments_by_status_oldest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    app.create_article(&token, "sports").await;
    let a = app.post("budget", "Ann", "one", None).await;
    let b = app.post("sports", "Bob", "two", None).await;
    let c = app.post("budget", "Cy", "three", None).await;
    let approved = app
        .post_approved(&token, "budget", "Dee", "four", None)
        .await;

    let pending = app.gql_as(&token, QUEUE, json!({})).await;
    let budget_only = app.gql_as(&token, QUEUE, json!({ "slug": "budget" })).await;
    let approved_queue = app
        .gql_as(&token, QUEUE, json!({ "status": "APPROVED" }))
        .await;
    let unknown = app.gql_as(&token, QUEUE, json!({ "slug": "nope" })).await;

    assert_eq!(
        node_ids(&pending["data"]["moderationQueue"]),
        vec![a.clone(), b, c.clone()]
    );
    assert_eq!(
        pending["data"]["moderationQueue"]["nodes"][0]["authorEmail"],
        "ann@readers.example"
    );
    assert_eq!(
        node_ids(&budget_only["data"]["moderationQueue"]),
        vec![a, c]
    );
    assert_eq!(
        node_ids(&approved_queue["data"]["moderationQueue"]),
        vec![approved]
    );
    assert_eq!(error_code(&unknown), "NOT_FOUND");
}

async fn queue_is_for_moderators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    app.post("budget", "Ann", "one", None).await;

    let anonymous = app.gql(QUEUE, json!({})).await;
    let forged = app
        .gql_as("eyJhbGciOiJub25lIn0.e30.", QUEUE, json!({}))
        .await;

    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(error_code(&forged), "UNAUTHENTICATED");
    assert_eq!(anonymous["data"], Value::Null);
}

async fn moderation_needs_a_valid_token_and_changes_nothing_without_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let id = app.post("budget", "Ann", "one", None).await;
    let mutations = [
        "mutation($id: ID!) { approveComment(id: $id) { id } }",
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
        "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
    ];
    for mutation in mutations {
        let anonymous = app.gql(mutation, json!({ "id": id })).await;
        let bad_token = app.gql_as("garbage", mutation, json!({ "id": id })).await;
        let junk_id_anonymous = app.gql(mutation, json!({ "id": "junk" })).await;
        assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{mutation}");
        assert_eq!(error_code(&bad_token), "UNAUTHENTICATED", "{mutation}");
        assert_eq!(
            error_code(&junk_id_anonymous),
            "UNAUTHENTICATED",
            "{mutation}"
        );
    }
    let article = app
        .gql(
            "mutation { upsertArticle(input: { slug: \"sneaky\", title: \"Sneaky\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&article), "UNAUTHENTICATED");

    let still = app.gql_as(&token, QUEUE, json!({})).await;
    assert_eq!(node_ids(&still["data"]["moderationQueue"]), vec![id]);
    assert_eq!(
        still["data"]["moderationQueue"]["nodes"][0]["status"],
        "PENDING"
    );
    let sneaky = app
        .gql("{ article(slug: \"sneaky\") { id } }", json!({}))
        .await;
    assert_eq!(sneaky["data"]["article"], Value::Null);
    assert_eq!(
        sql_number(
            &app,
            "SELECT COUNT(*) FROM moderation_actions WHERE comment_id IS NOT NULL"
        )
        .await,
        0
    );
}

async fn unknown_or_deleted_comments_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let id = app.post("budget", "Ann", "one", None).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let mutations = [
        "mutation($id: ID!) { approveComment(id: $id) { id } }",
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
        "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
    ];
    for mutation in mutations {
        for bad in [unknown.as_str(), "not-a-uuid"] {
            let answer = app.gql_as(&token, mutation, json!({ "id": bad })).await;
            assert_eq!(error_code(&answer), "NOT_FOUND", "{mutation} {bad}");
        }
    }

    let deleted = app
        .gql_as(
            &token,
            "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteComment"]["deletedId"], json!(id));
    for mutation in mutations {
        let again = app.gql_as(&token, mutation, json!({ "id": id })).await;
        assert_eq!(error_code(&again), "NOT_FOUND", "{mutation} after delete");
    }
}

async fn hiding_takes_a_comment_away_from_readers_and_approving_brings_it_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let id = app
        .post_approved(&token, "budget", "Ann", "visible", None)
        .await;
    let read = "query($id: ID!) { comment(id: $id) { id } article(slug: \"budget\") { commentCount comments { nodes { id } } } }";

    let hidden = app
        .gql_as(
            &token,
            "mutation($id: ID!) { hideComment(id: $id, reason: \"off topic\") { status } }",
            json!({ "id": id }),
        )
        .await;
    let while_hidden = app.gql(read, json!({ "id": id })).await;
    let hidden_queue = app
        .gql_as(&token, QUEUE, json!({ "status": "HIDDEN" }))
        .await;
    app.approve(&token, &id).await;
    let after_approve = app.gql(read, json!({ "id": id })).await;

    assert_eq!(hidden["data"]["hideComment"]["status"], "HIDDEN");
    assert_eq!(while_hidden["data"]["comment"], Value::Null);
    assert_eq!(while_hidden["data"]["article"]["commentCount"], 0);
    assert!(node_ids(&while_hidden["data"]["article"]["comments"]).is_empty());
    assert_eq!(
        node_ids(&hidden_queue["data"]["moderationQueue"]),
        vec![id.clone()]
    );
    assert_eq!(after_approve["data"]["comment"]["id"], json!(id));
    assert_eq!(after_approve["data"]["article"]["commentCount"], 1);
}

async fn delete_erases_the_comment_and_moves_its_replies_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let top = app
        .post_approved(&token, "budget", "Ann", "top", None)
        .await;
    let doomed = app
        .post_approved(
            &token,
            "budget",
            "Zed Secretname",
            "a body to forget",
            Some(&top),
        )
        .await;
    let child = app
        .post_approved(&token, "budget", "Cy", "a body that stays", Some(&doomed))
        .await;
    let root_doomed = app
        .post_approved(&token, "budget", "Root Gone", "root to forget", None)
        .await;
    let orphan = app
        .post_approved(&token, "budget", "Dee", "child of root", Some(&root_doomed))
        .await;

    for id in [&doomed, &root_doomed] {
        let answer = app
            .gql_as(
                &token,
                "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
                json!({ "id": id }),
            )
            .await;
        assert_no_errors(&answer);
    }

    let moved = app
        .gql_as(
            &token,
            "query($a: ID!, $b: ID!, $gone: ID!) { a: comment(id: $a) { parentId } b: comment(id: $b) { parentId } gone: comment(id: $gone) { id } }",
            json!({ "a": child, "b": orphan, "gone": doomed }),
        )
        .await;
    assert_eq!(
        moved["data"]["a"]["parentId"],
        json!(top),
        "reply moved up to the grandparent"
    );
    assert_eq!(
        moved["data"]["b"]["parentId"],
        Value::Null,
        "reply of a top-level comment becomes top-level"
    );
    assert_eq!(moved["data"]["gone"], Value::Null);
    let thread = app
        .gql("{ article(slug: \"budget\") { commentCount comments { nodes { id replies { nodes { id } } } } } }", json!({}))
        .await;
    assert_eq!(thread["data"]["article"]["commentCount"], 3);
    assert_eq!(
        node_ids(&thread["data"]["article"]["comments"]),
        vec![top, orphan]
    );
    assert_eq!(
        node_ids(&thread["data"]["article"]["comments"]["nodes"][0]["replies"]),
        vec![child]
    );
    let leftovers = sql_number(
        &app,
        "SELECT COUNT(*) FROM comments WHERE author_name IN ('Zed Secretname', 'Root Gone') \
         OR author_email IN ('zed.secretname@readers.example', 'root.gone@readers.example') \
         OR body IN ('a body to forget', 'root to forget')",
    )
    .await;
    assert_eq!(leftovers, 0);
    if backend == Backend::Sqlite {
        assert_gone_from_files(
            &app.db.url,
            &["zed.secretname@readers.example", "a body to forget"],
            "a body that stays",
        );
    }
}

/// An erasure just before the server stops is gone from the files too:
/// the log's truncation, owed to it, runs before the store closes.
#[tokio::test]
async fn an_erasure_right_before_shutdown_leaves_nothing_in_the_files() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.admin_token().await;
    app.create_article(&token, "last").await;
    let doomed = app
        .post_approved(
            &token,
            "last",
            "Quinn Lastword",
            "a final body to forget",
            None,
        )
        .await;
    app.post_approved(&token, "last", "Cy", "a final body that stays", None)
        .await;
    let deleted = app
        .gql_as(
            &token,
            "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
            json!({ "id": doomed }),
        )
        .await;
    assert_no_errors(&deleted);
    let db = app.stop().await;
    assert_gone_from_files(
        &db.url,
        &["quinn.lastword@readers.example", "a final body to forget"],
        "a final body that stays",
    );
}

/// Reads a SQLite database's file and its write-ahead log (which may have
/// been truncated away): none of `gone` is in them, and `stays` is, which
/// shows the scan reads the data.
fn assert_gone_from_files(url: &str, gone: &[&str], stays: &str) {
    let path = url.trim_start_matches("sqlite://").to_owned();
    let mut survivor_found = false;
    for file in [path.clone(), format!("{path}-wal")] {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(err) if file != path && err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(err) => panic!("cannot read {file}: {err}"),
        };
        let text = String::from_utf8_lossy(&bytes);
        for text_gone in gone {
            assert!(!text.contains(text_gone), "{text_gone} left in {file}");
        }
        survivor_found |= text.contains(stays);
    }
    assert!(
        survivor_found,
        "the scan reads the database: a surviving comment's body is in its files"
    );
}

async fn every_moderation_action_writes_an_audit_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    app.create_article(&token, "budget").await;
    let id = app
        .post_approved(&token, "budget", "Ann", "one", None)
        .await;
    app.gql_as(
        &token,
        "mutation($id: ID!) { hideComment(id: $id, reason: \"spam link\") { id } }",
        json!({ "id": id }),
    )
    .await;
    app.gql_as(
        &token,
        "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
        json!({ "id": id }),
    )
    .await;

    let me = app.gql_as(&token, "{ me { id } }", json!({})).await;
    let moderator = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    let total = sql_number(&app, "SELECT COUNT(*) FROM moderation_actions").await;
    for action in [
        "CREATE_ARTICLE",
        "UPDATE_ARTICLE",
        "APPROVE_COMMENT",
        "HIDE_COMMENT",
        "DELETE_COMMENT",
    ] {
        let rows = sql_number(
            &app,
            &format!("SELECT COUNT(*) FROM moderation_actions WHERE action = '{action}'"),
        )
        .await;
        assert_eq!(rows, 1, "{action}");
    }
    assert_eq!(total, 5);
    let with_reason = sql_number(&app, "SELECT COUNT(*) FROM moderation_actions WHERE action = 'HIDE_COMMENT' AND reason = 'spam link'").await;
    assert_eq!(with_reason, 1);
    let comment_rows = sql_number(
        &app,
        "SELECT COUNT(*) FROM moderation_actions WHERE comment_id IS NOT NULL",
    )
    .await;
    assert_eq!(comment_rows, 3, "the log outlives the deleted comment");
    let db = app.db.connect().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT moderator_id FROM moderation_actions".to_owned(),
        ))
        .await
        .unwrap();
    for row in rows {
        let by: uuid::Uuid = row.try_get_by_index(0).unwrap();
        assert_eq!(by.to_string(), moderator);
    }
}

async fn upsert_article_creates_then_updates(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let upsert = "mutation($input: ArticleInput!) { upsertArticle(input: $input) { id slug title url commentsOpen } }";

    let created = app
        .gql_as(&token, upsert, json!({ "input": { "slug": "/2026/11/vote", "title": "Vote", "url": "https://news.example/vote" } }))
        .await;
    let updated = app
        .gql_as(&token, upsert, json!({ "input": { "slug": "/2026/11/vote", "title": "Vote (updated)", "commentsOpen": false } }))
        .await;
    let read = app
        .gql(
            "{ article(slug: \"/2026/11/vote\") { id title url commentsOpen } }",
            json!({}),
        )
        .await;

    assert_no_errors(&created);
    assert_eq!(created["data"]["upsertArticle"]["commentsOpen"], true);
    assert_eq!(
        updated["data"]["upsertArticle"]["id"],
        created["data"]["upsertArticle"]["id"]
    );
    assert_eq!(read["data"]["article"]["title"], "Vote (updated)");
    assert_eq!(read["data"]["article"]["url"], "https://news.example/vote");
    assert_eq!(read["data"]["article"]["commentsOpen"], false);
}

async fn bad_article_input_is_bad_user_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let cases = [
        (json!({ "slug": "", "title": "T" }), "slug"),
        (json!({ "slug": "has space", "title": "T" }), "slug"),
        (json!({ "slug": "ok", "title": " " }), "title"),
        (
            json!({ "slug": "ok", "title": "T", "url": "javascript:alert(1)" }),
            "url",
        ),
    ];
    for (input, field) in cases {
        let answer = app
            .gql_as(
                &token,
                "mutation($input: ArticleInput!) { upsertArticle(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{input}");
        assert_eq!(error_field(&answer), field, "{input}");
    }
    let none = app.gql("{ article(slug: \"ok\") { id } }", json!({})).await;
    assert_eq!(none["data"]["article"], Value::Null);
}

async fn overlong_hide_reason_is_bad_user_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let id = app
        .post_approved(&token, "budget", "Ann", "one", None)
        .await;

    let answer = app
        .gql_as(
            &token,
            "mutation($id: ID!, $reason: String) { hideComment(id: $id, reason: $reason) { id } }",
            json!({ "id": id, "reason": "r".repeat(501) }),
        )
        .await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(error_field(&answer), "reason");
    let still = app
        .gql(
            "query($id: ID!) { comment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(still["data"]["comment"]["id"], json!(id));
}

async fn concurrent_actions_on_one_comment_never_fail_internally(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let parent = app
        .post_approved(&token, "budget", "Ann", "parent", None)
        .await;
    let child = app
        .post_approved(&token, "budget", "Bob", "child", Some(&parent))
        .await;
    let delete = "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }";
    let approve = "mutation($id: ID!) { approveComment(id: $id) { id } }";

    let (a, b, c, d, e) = tokio::join!(
        app.gql_as(&token, delete, json!({ "id": child })),
        app.gql_as(&token, delete, json!({ "id": child })),
        app.gql_as(&token, approve, json!({ "id": child })),
        app.gql_as(&token, delete, json!({ "id": parent })),
        app.post_comment(json!({
            "articleSlug": "budget",
            "parentId": parent,
            "authorName": "Late",
            "authorEmail": "late@readers.example",
            "body": "reply racing a delete",
        })),
    );

    let child_deletes = [&a, &b]
        .iter()
        .filter(|answer| answer.get("errors").is_none())
        .count();
    assert_eq!(child_deletes, 1, "exactly one delete wins: {a} {b}");
    for answer in [&a, &b, &c] {
        if answer.get("errors").is_some() {
            assert_eq!(error_code(answer), "NOT_FOUND", "{answer}");
        }
    }
    assert_no_errors(&d);
    if e.get("errors").is_some() {
        assert_eq!(error_field(&e), "parentId", "{e}");
    }
    let deletions = sql_number(
        &app,
        "SELECT COUNT(*) FROM moderation_actions WHERE action = 'DELETE_COMMENT'",
    )
    .await;
    assert_eq!(deletions, 2);
    let left = sql_number(
        &app,
        "SELECT COUNT(*) FROM comments WHERE parent_id IS NOT NULL",
    )
    .await;
    assert_eq!(left, 0, "a reply stored under a deleted comment");
}
