//! Readers' emails at rest: sealed under the data key in every stored copy
//! (the SQLite files with their log, a `pg_dump`), readable by moderators as
//! before, a wrong or missing key refused at start-up, emails stored before
//! sealing sealed on upgrade, and a rotation under load losing nothing.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

const SLUG: &str = "sealed";

on_both_databases!(
    emails_are_in_no_stored_copy_and_moderators_still_read_them,
    a_wrong_key_is_refused_before_anything_is_read,
    emails_stored_before_sealing_are_sealed_on_upgrade,
    a_rotation_under_load_loses_no_email,
);

/// The addresses the tests post with: each appears in a stored copy only if
/// sealing failed. Unusual enough not to occur by chance.
fn addresses(run: &str) -> Vec<String> {
    (0..6)
        .map(|n| format!("Zq{run}Reader{n}@Sealed-Mail.example"))
        .collect()
}

async fn post_as(app: &TestApp, email: &str, body: &str) -> String {
    app.post_from(SLUG, "Reader", email, body, None).await
}

/// The email a moderator reads on comment `id`.
async fn email_of(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app
        .gql_as(
            token,
            "query($id: ID!) { comment(id: $id) { authorEmail } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["comment"]["authorEmail"].clone()
}

/// Every stored copy of the database as text: the SQLite file and its log,
/// or a `pg_dump` of the PostgreSQL database.
fn stored_copies(db: &TestDb) -> Vec<(String, String)> {
    match db.sqlite_path() {
        Some(path) => {
            let path = path.display().to_string();
            [path.clone(), format!("{path}-wal")]
                .into_iter()
                .filter_map(|file| {
                    let bytes = std::fs::read(&file).ok()?;
                    Some((file, String::from_utf8_lossy(&bytes).into_owned()))
                })
                .collect()
        }
        None => {
            let dump = Command::new("pg_dump")
                .arg("--dbname")
                .arg(&db.url)
                .output()
                .expect("pg_dump runs");
            assert!(
                dump.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&dump.stderr)
            );
            vec![(
                "pg_dump".to_owned(),
                String::from_utf8_lossy(&dump.stdout).into_owned(),
            )]
        }
    }
}

/// Fails if any address appears, in any case, in any stored copy; checks
/// the scan reads the data (`present` is in it).
fn assert_in_no_copy(db: &TestDb, emails: &[String], present: &str) {
    let copies = stored_copies(db);
    assert!(
        copies.iter().any(|(_, text)| text.contains(present)),
        "the scan reads the stored data"
    );
    for (name, text) in &copies {
        let lowered = text.to_lowercase();
        for email in emails {
            for form in [email.clone(), email.to_lowercase(), email.to_uppercase()] {
                assert!(!text.contains(&form), "{form} is in {name}");
            }
            assert!(
                !lowered.contains(&email.to_lowercase()),
                "{email} is in {name}"
            );
            // Nor its local part alone (say, a plain hash input or a log).
            let local = email.split('@').next().unwrap().to_lowercase();
            assert!(!lowered.contains(&local), "{local} is in {name}");
        }
    }
}

async fn emails_are_in_no_stored_copy_and_moderators_still_read_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let emails = addresses("copy");
    let mut ids = Vec::new();
    for (n, email) in emails.iter().enumerate() {
        ids.push(post_as(&app, email, &format!("Sealed body number {n}")).await);
    }
    // Every kind of write that touches an author: approval, a hold, a ban.
    app.approve(&token, &ids[0]).await;
    app.gql_as(
        &token,
        "mutation($id: ID!) { hideComment(id: $id, reason: \"spam\") { id } }",
        json!({ "id": ids[1] }),
    )
    .await;
    let banned = app
        .gql_as(
            &token,
            "mutation($id: ID!) { banAuthor(commentId: $id) { id } }",
            json!({ "id": ids[2] }),
        )
        .await;
    assert_no_errors(&banned);
    // The ban still works: a new post from the address, in another case,
    // is held for it.
    let again = app
        .post_comment(json!({
            "articleSlug": SLUG, "authorName": "Reader",
            "authorEmail": emails[2].to_uppercase(), "body": "Back again",
        }))
        .await;
    assert_no_errors(&again);
    let held = app
        .gql_as(
            &token,
            "query($id: ID!) { comment(id: $id) { status moderationReasons { code } } }",
            json!({ "id": again["data"]["postComment"]["id"] }),
        )
        .await;
    assert_eq!(held["data"]["comment"]["status"], "HIDDEN", "{held}");

    for (id, email) in ids.iter().zip(&emails) {
        assert_eq!(email_of(&app, &token, id).await, json!(email));
    }
    // Thread reads and the queue open them too.
    let queue = app
        .gql_as(
            &token,
            "query { moderationQueue(first: 20) { edges { node { id authorEmail } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&queue);
    let listed: Vec<&str> = queue["data"]["moderationQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["authorEmail"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&emails[3].as_str()), "{listed:?}");
    let thread = app
        .gql_as(
            &token,
            "query($slug: String!) { article(slug: $slug) { comments(first: 10) { edges { node { authorEmail } } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&thread);
    assert_eq!(
        thread["data"]["article"]["comments"]["edges"][0]["node"]["authorEmail"],
        json!(emails[0])
    );

    // The server secrets are sealed too: no key that hashes addresses or
    // signs tokens lies beside the data.
    let conn = app.db.connect().await;
    let secrets: Vec<(String, String)> =
        sql_rows(&conn, "SELECT name, value FROM server_secrets").await;
    assert!(secrets.iter().any(|(name, _)| name == "fingerprint_key"));
    for (name, value) in &secrets {
        assert!(
            value.len() > 64 && value.as_bytes()[16] == b':',
            "the server secret {name} is stored sealed"
        );
    }
    drop(conn);

    let db = app.stop().await;
    assert_in_no_copy(&db, &emails, "Sealed body number 3");
}

async fn sql_rows(conn: &sea_orm::DatabaseConnection, query: &str) -> Vec<(String, String)> {
    use sea_orm::{ConnectionTrait, Statement};
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        query.to_owned(),
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| {
        (
            row.try_get_by_index::<String>(0).unwrap(),
            row.try_get_by_index::<String>(1).unwrap(),
        )
    })
    .collect()
}

/// Starts Parley on `db` with `key` (or the key file beside a SQLite
/// database when `None`); the start-up error, if it fails.
async fn start_error(db: &TestDb, key: Option<String>) -> Option<String> {
    let mut settings = test_settings(db);
    settings.data_key = match key {
        Some(key) => parley::key_file::DataKeySource::given(key),
        None => parley::key_file::DataKeySource::BesideDatabase,
    };
    match parley::App::build(settings).await {
        Ok(app) => {
            drop(app);
            None
        }
        Err(err) => Some(parley::commands::describe(&err)),
    }
}

async fn a_wrong_key_is_refused_before_anything_is_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let id = post_as(&app, "ann@readers.example", "Before the wrong key").await;
    let db = app.stop().await;
    let right_key = match db.sqlite_path() {
        Some(path) => {
            let key_file = parley::key_file::key_file_of(&path);
            let text = std::fs::read_to_string(&key_file).expect("the key file beside SQLite");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "only its owner reads the key file");
            }
            text.trim().to_owned()
        }
        None => db.data_key.clone().unwrap(),
    };

    let wrong = parley::store::sealing::DataKeys::generate();
    let refused = start_error(&db, Some(wrong.clone()))
        .await
        .expect("a wrong key is refused");
    assert!(refused.contains("is not configured"), "{refused}");
    assert!(
        !refused.contains(&wrong),
        "the key is never shown: {refused}"
    );
    assert!(!refused.contains(&right_key), "{refused}");

    if let Some(path) = db.sqlite_path() {
        // The key file replaced by another key, then gone.
        let key_file = parley::key_file::key_file_of(&path);
        std::fs::write(&key_file, format!("{wrong}\n")).unwrap();
        let refused = start_error(&db, None).await.expect("refused");
        assert!(refused.contains("is not configured"), "{refused}");
        std::fs::remove_file(&key_file).unwrap();
        let refused = start_error(&db, None).await.expect("refused");
        assert!(refused.contains("is missing"), "{refused}");
        assert!(
            !key_file.exists(),
            "no new key is written for a database sealed before"
        );
        std::fs::write(&key_file, format!("{right_key}\n")).unwrap();
    } else {
        let refused = start_error(&db, None)
            .await
            .expect("PostgreSQL needs a key");
        assert!(refused.contains("parley keys generate"), "{refused}");
    }
    let refused = start_error(&db, Some("pdk1_short".to_owned()))
        .await
        .expect("malformed");
    assert!(refused.contains("is not a Parley data key"), "{refused}");

    // The right key still opens everything.
    let mut settings = test_settings(&db);
    settings.data_key = parley::key_file::DataKeySource::given(right_key);
    let app = start(db, settings).await;
    let token = app.admin_token().await;
    assert_eq!(
        email_of(&app, &token, &id).await,
        json!("ann@readers.example")
    );
    app.stop().await;
}

/// A database whose emails and secrets are stored as they were before
/// sealing existed (the upgrade from the schema before it is in
/// `counts.rs`): made by a server, then turned back by hand.
async fn emails_stored_before_sealing_are_sealed_on_upgrade(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait, Value as SqlValue};

    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let article = app.create_article(&token, SLUG).await;
    let article = uuid::Uuid::parse_str(article["id"].as_str().unwrap()).unwrap();
    let db = app.stop().await;
    let conn = db.connect().await;
    let exec = |sql: String| {
        let conn = &conn;
        async move { conn.execute_unprepared(&sql).await.unwrap() }
    };
    let backend_of = conn.get_database_backend();
    let placeholders = match backend_of {
        sea_orm::DbBackend::Postgres => ["$1", "$2", "$3", "$4"],
        _ => ["?"; 4],
    };
    let emails = addresses("old");
    let mut ids = Vec::new();
    // More than one batch of the start-up pass.
    let txn = conn.begin().await.unwrap();
    for n in 0..1_200_usize {
        let id = uuid::Uuid::now_v7();
        let email = &emails[n % emails.len()];
        let [p1, p2, p3, p4] = placeholders;
        txn.execute_raw(Statement::from_sql_and_values(
            backend_of,
            format!(
                "INSERT INTO comments (id, article_id, parent_id, author_name, author_email, \
                 body, status, created_at, updated_at, approved_reply_count, moderation_reasons) \
                 VALUES ({p1}, {p2}, NULL, 'Old reader', {p3}, {p4}, 'APPROVED', {t}, {t}, 0, '[]')",
                t = n + 10
            ),
            vec![
                SqlValue::from(id),
                article.into(),
                email.clone().into(),
                format!("Old comment {n}").into(),
            ],
        ))
        .await
        .unwrap();
        ids.push((id, email.clone()));
    }
    txn.commit().await.unwrap();
    exec(format!(
        "UPDATE articles SET approved_comment_count = {}",
        ids.len()
    ))
    .await;
    // The secrets as they were kept: plain, without a check value.
    let fingerprint_key = "ab".repeat(32);
    exec("DELETE FROM server_secrets".to_owned()).await;
    exec(format!(
        "INSERT INTO server_secrets (name, value, created_at) \
         VALUES ('fingerprint_key', '{fingerprint_key}', 1), ('jwt_secret', '{}', 1)",
        "cd".repeat(32)
    ))
    .await;
    drop(conn);
    if let Some(path) = db.sqlite_path() {
        // Nor a key file.
        std::fs::remove_file(parley::key_file::key_file_of(&path)).unwrap();
    }

    let settings = test_settings(&db);
    let app = start(db, settings).await;
    let token = app.admin_token().await;
    for (id, email) in ids.iter().step_by(97) {
        assert_eq!(email_of(&app, &token, &id.to_string()).await, json!(email));
    }
    let unsealed = sql_number(
        &app,
        "SELECT COUNT(*) FROM comments WHERE email_key_id IS NULL OR email_index IS NULL",
    )
    .await;
    assert_eq!(unsealed, 0);
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM comments").await,
        1_200,
        "no row lost"
    );
    let db = app.stop().await;
    let conn = db.connect().await;
    let secrets = sql_rows(&conn, "SELECT name, value FROM server_secrets").await;
    for (name, value) in &secrets {
        assert!(
            !value.contains(&fingerprint_key) && !value.contains(&"cd".repeat(32)),
            "{name} is sealed in place"
        );
    }
    drop(conn);
    assert_in_no_copy(&db, &emails, "Old comment 1199");
}

/// Every held comment's email as a moderator reads it, by id.
async fn queued_emails(app: &TestApp, token: &str) -> std::collections::HashMap<String, String> {
    let mut emails = std::collections::HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .gql_as(
                token,
                "query($after: String) { moderationQueue(first: 100, after: $after) {
                    nodes { id authorEmail } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        assert_no_errors(&page);
        let queue = &page["data"]["moderationQueue"];
        for node in queue["nodes"].as_array().unwrap() {
            emails.insert(
                node["id"].as_str().unwrap().to_owned(),
                node["authorEmail"].as_str().unwrap().to_owned(),
            );
        }
        if queue["pageInfo"]["hasNextPage"] != json!(true) {
            return emails;
        }
        after = queue["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

/// Runs `parley keys rotate` on `db` with the keys `keys` (new first).
fn rotate_with(db: &TestDb, keys: &str) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
    command
        .args(["keys", "rotate"])
        .env("DATABASE_URL", &db.url)
        .env("PARLEY_DATA_KEY", keys)
        .env_remove("PARLEY_DATA_KEY_FILE")
        .env_remove("RUST_LOG");
    command.output().expect("parley keys rotate runs")
}

async fn a_rotation_under_load_loses_no_email(backend: Backend) {
    let old = parley::store::sealing::DataKeys::generate();
    let new = parley::store::sealing::DataKeys::generate();
    let db = TestDb::create(backend).await;
    let mut settings = test_settings(&db);
    settings.data_key = parley::key_file::DataKeySource::given(old.clone());
    let app = start(db, settings).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let mut expected = Vec::new();
    // More than two of the rotation's batches.
    for n in 0..450 {
        let email = format!("before{n}@rotation.example");
        expected.push((post_as(&app, &email, &format!("Before {n}")).await, email));
    }
    let db = app.stop().await;

    // Servers get the new key first and the old after it, then the
    // rotation runs while one of them takes posts.
    let both = format!("{new}\n{old}");
    let mut settings = test_settings(&db);
    settings.data_key = parley::key_file::DataKeySource::given(both.clone());
    let app = start(db, settings).await;
    let rotation = {
        let db = TestDb::reuse(&app.db);
        let both = both.clone();
        tokio::task::spawn_blocking(move || rotate_with(&db, &both))
    };
    let mut n = 0;
    while !rotation.is_finished() || n < 20 {
        let email = format!("during{n}@rotation.example");
        expected.push((post_as(&app, &email, &format!("During {n}")).await, email));
        n += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let output = rotation.await.unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("Re-sealed"), "{said}");
    let db = app.stop().await;

    // Only the new key now: every email opens, none lost.
    let mut settings = test_settings(&db);
    settings.data_key = parley::key_file::DataKeySource::given(new.clone());
    let app = start(db, settings).await;
    let token = app.admin_token().await;
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM comments").await,
        i64::try_from(expected.len()).unwrap()
    );
    let read = queued_emails(&app, &token).await;
    for (id, email) in &expected {
        assert_eq!(read.get(id), Some(email), "comment {id}");
    }
    let db = app.stop().await;
    // And the old key alone no longer opens the database.
    let refused = start_error(&db, Some(old)).await.expect("refused");
    assert!(refused.contains("is not configured"), "{refused}");
}

#[test]
fn keys_generate_prints_a_new_key_each_time() {
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["keys", "generate"])
            .output()
            .expect("parley keys generate runs");
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let (first, second) = (run(), run());
    assert_ne!(first, second);
    for key in [&first, &second] {
        assert!(key.ends_with('\n') && key.lines().count() == 1, "{key:?}");
        parley::store::sealing::DataKeys::parse(key).expect("a key Parley reads");
    }
}
