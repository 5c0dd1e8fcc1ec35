//! Storage set up for a server: SQLite tuned for concurrency, and several
//! instances sharing one database.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(instances_starting_together_share_one_database);

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
