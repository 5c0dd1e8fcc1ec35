//! Storage set up for a server: SQLite tuned for concurrency, and several
//! instances sharing one database.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    instances_starting_together_share_one_database,
    the_moderation_migration_rolls_back_and_forward_again,
);

async fn instances_starting_together_share_one_database(backend: Backend) {
    let db = TestDb::create(backend).await;
    let settings = test_settings(&db);

    let (first, second, third) = tokio::join!(
        parley::App::build(settings.clone()),
        parley::App::build(settings.clone()),
        parley::App::build(settings.clone()),
    );

    let apps: Vec<_> = [first, second, third]
        .into_iter()
        .map(|app| app.expect("every instance starts"))
        .collect();
    let bases: Vec<String> = apps
        .iter()
        .map(|app| format!("http://{}", app.address()))
        .collect();
    for app in apps {
        tokio::spawn(app.run_until(std::future::pending()));
    }
    let client = reqwest::Client::new();
    let login = json!({ "query": format!("mutation {{ login(email: \"{ADMIN_EMAIL}\", password: \"{ADMIN_PASSWORD}\") {{ token }} }}") });
    let answer: serde_json::Value = client
        .post(format!("{}/graphql", bases[0]))
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["data"]["login"]["token"]
        .as_str()
        .expect("one admin, able to log in")
        .to_owned();
    for base in &bases {
        let me: serde_json::Value = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": "{ me { email } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            me["data"]["me"]["email"], ADMIN_EMAIL,
            "every instance accepts the same token"
        );
    }
}

#[tokio::test]
async fn sqlite_database_is_in_wal_mode() {
    let app = spawn_app(Backend::Sqlite).await;
    let db = app.db.connect().await;

    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA journal_mode".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let mode: String = row.try_get_by_index(0).unwrap();

    assert_eq!(mode.to_lowercase(), "wal");
}

/// The moderation migration's `down` leaves the log as the migration
/// before it had it (every row with a moderator), and `up` runs again.
async fn the_moderation_migration_rolls_back_and_forward_again(backend: Backend) {
    use migration::{Migrator, MigratorTrait};

    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.create_article(&admin, "undo").await;
    let posted = app
        .post_comment(json!({
            "articleSlug": "undo", "authorName": "Ann",
            "authorEmail": "ann@readers.example", "body": "first",
        }))
        .await;
    assert_no_errors(&posted);
    let db = app.stop().await;
    let connection = db.connect().await;
    let rows_before: i64 = count(&connection, "SELECT COUNT(*) FROM moderation_actions").await;
    // A row without a moderator, as an author's edit writes.
    run(
        &connection,
        "UPDATE moderation_actions SET moderator_id = NULL WHERE action = 'CREATE_ARTICLE'",
    )
    .await;

    // The migrations after the moderation one, then the moderation one.
    let after_moderation = Migrator::migrations()
        .iter()
        .rev()
        .take_while(|m| !m.name().contains("moderation_rules"))
        .count();
    Migrator::down(
        &connection,
        Some(u32::try_from(after_moderation + 1).unwrap()),
    )
    .await
    .expect("down runs");
    let left: i64 = count(&connection, "SELECT COUNT(*) FROM moderation_actions").await;
    assert_eq!(left, rows_before - 1, "the row without a moderator is gone");
    let refused = connection
        .execute_raw(Statement::from_string(
            connection.get_database_backend(),
            format!(
                "INSERT INTO moderation_actions (id, moderator_id, action, created_at) VALUES ('{}', NULL, 'HIDE_COMMENT', 0)",
                uuid::Uuid::now_v7()
            ),
        ))
        .await;
    assert!(refused.is_err(), "moderator_id is required again");

    Migrator::up(&connection, None)
        .await
        .expect("up runs again");
    let kept: i64 = count(
        &connection,
        "SELECT COUNT(*) FROM comments WHERE body = 'first' AND status = 'PENDING'",
    )
    .await;
    assert_eq!(kept, 1, "the comment survives");
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .expect("query runs")
    .expect("a row")
    .try_get_by_index::<i64>(0)
    .expect("a number")
}

async fn run(db: &sea_orm::DatabaseConnection, sql: &str) {
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .expect("statement runs");
}
