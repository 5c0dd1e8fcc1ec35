//! The retention period: comments hidden for longer are erased by Parley
//! itself (replies kept, the log says so), flood-control records older than
//! a day go, and `--retention-days 0` keeps hidden comments.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value as SqlValue};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    comments_hidden_past_the_retention_period_are_erased,
    no_retention_period_keeps_hidden_comments,
);

const SLUG: &str = "kept-for-a-while";
const DAY_MICROS: i64 = 24 * 3_600 * 1_000_000;

fn now_micros() -> i64 {
    parley::store::now_micros()
}

/// Sets when a comment was hidden, and its last change, `days` ago.
async fn last_changed_days_ago(conn: &DatabaseConnection, id: &str, days: i64) {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE comments SET updated_at = $1, hidden_at = CASE WHEN status = 'HIDDEN' \
             THEN $1 END WHERE id = $2"
        }
        _ => {
            "UPDATE comments SET updated_at = ?1, hidden_at = CASE WHEN status = 'HIDDEN' \
             THEN ?1 END WHERE id = ?2"
        }
    };
    let id = uuid::Uuid::parse_str(id).unwrap();
    let done = conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                SqlValue::from(now_micros() - days * DAY_MICROS),
                SqlValue::from(id),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// A flood-control record made two days ago.
async fn old_post_mark(conn: &DatabaseConnection) {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO post_marks (id, client_key, created_at) VALUES ($1, 'old-client', $2)"
        }
        _ => "INSERT INTO post_marks (id, client_key, created_at) VALUES (?, 'old-client', ?)",
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            SqlValue::from(uuid::Uuid::now_v7()),
            SqlValue::from(now_micros() - 2 * DAY_MICROS),
        ],
    ))
    .await
    .unwrap();
}

async fn hide(app: &TestApp, token: &str, id: &str) {
    let answer = app
        .gql_as(
            token,
            "mutation($id: ID!) { hideComment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&answer);
}

async fn comment(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    let answer = app
        .gql_as(
            token,
            "query($id: ID!) { comment(id: $id) { id parentId status } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["comment"].clone()
}

async fn old_marks(app: &TestApp) -> i64 {
    sql_number(
        app,
        "SELECT COUNT(*) FROM post_marks WHERE client_key = 'old-client'",
    )
    .await
}

/// A thread with a comment hidden 91 days ago (with an approved reply), one
/// hidden 89 days ago, an old approved one, and an old flood record; then
/// Parley restarted with `days` of retention.
async fn aged_thread(backend: Backend, days: u32) -> (TestApp, [String; 4]) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let expired = app
        .post_approved(&token, SLUG, "Old Spammer", "Expired spam", None)
        .await;
    let reply = app
        .post_approved(
            &token,
            SLUG,
            "Bystander",
            "A reply that stays",
            Some(&expired),
        )
        .await;
    let recent = app.post(SLUG, "Recent Spammer", "Recent spam", None).await;
    let approved = app
        .post_approved(&token, SLUG, "Regular", "Old but approved", None)
        .await;
    hide(&app, &token, &expired).await;
    hide(&app, &token, &recent).await;
    let db = app.stop().await;
    let conn = db.connect().await;
    last_changed_days_ago(&conn, &expired, 91).await;
    last_changed_days_ago(&conn, &recent, 89).await;
    last_changed_days_ago(&conn, &approved, 400).await;
    old_post_mark(&conn).await;
    drop(conn);
    let mut settings = test_settings(&db);
    settings.retention = parley::domain::retention::RetentionPolicy { hidden_days: days };
    let app = start(db, settings).await;
    (app, [expired, reply, recent, approved])
}

async fn comments_hidden_past_the_retention_period_are_erased(backend: Backend) {
    let (app, [expired, reply, recent, approved]) = aged_thread(backend, 90).await;
    let token = app.admin_token().await;
    // The sweep runs at start-up, in the background.
    wait_until(
        Duration::from_secs(10),
        "the expired comment is erased",
        || {
            let (app, token, expired) = (&app, &token, &expired);
            async move { comment(app, token, expired).await.is_null() }
        },
    )
    .await;
    assert_eq!(old_marks(&app).await, 0, "old flood records are dropped");
    let kept = comment(&app, &token, &reply).await;
    assert_eq!(kept["status"], "APPROVED");
    assert!(kept["parentId"].is_null(), "the reply moved up: {kept}");
    assert_eq!(comment(&app, &token, &recent).await["status"], "HIDDEN");
    assert_eq!(comment(&app, &token, &approved).await["status"], "APPROVED");
    let stored = sql_number(
        &app,
        "SELECT COUNT(*) FROM comments WHERE body = 'Expired spam' OR author_name = 'Old Spammer'",
    )
    .await;
    assert_eq!(stored, 0, "name and body are gone with the row");

    let log = app
        .gql_as(
            &token,
            "query { moderationLog(action: ERASE_EXPIRED) { nodes { action commentId articleSlug moderator { id } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&log);
    assert_eq!(
        log["data"]["moderationLog"]["nodes"],
        json!([{ "action": "ERASE_EXPIRED", "commentId": expired, "articleSlug": SLUG, "moderator": null }])
    );
    // Readers see the reply where its parent was.
    let thread = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { commentCount comments { nodes { body } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&thread);
    let bodies: Vec<&str> = thread["data"]["article"]["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(bodies.contains(&"A reply that stays"), "{bodies:?}");
    assert!(
        app.logs().contains("retention period erased"),
        "logged at info"
    );
    app.stop().await;
}

async fn no_retention_period_keeps_hidden_comments(backend: Backend) {
    let (app, [expired, ..]) = aged_thread(backend, 0).await;
    let token = app.admin_token().await;
    // Flood records are dropped whatever the period: once they are, the
    // sweep has run.
    wait_until(
        Duration::from_secs(10),
        "old flood records are dropped",
        || {
            let app = &app;
            async move { old_marks(app).await == 0 }
        },
    )
    .await;
    assert_eq!(comment(&app, &token, &expired).await["status"], "HIDDEN");
    app.stop().await;
}
