//! The real binary as an operator runs it: stopping on SIGTERM, and
//! surviving SIGKILL in the middle of concurrent posting without losing or
//! doubling an acknowledged comment.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::Rng;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    sigterm_stops_the_server_cleanly,
    acknowledged_comments_survive_sigkill
);

/// Crash rounds per database.
const ROUNDS: usize = 10;
const POSTERS: usize = 4;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        Self::start_with(database_url, Stdio::null()).await
    }

    /// Starts the binary; `log` receives its standard error.
    async fn start_with(database_url: &str, log: Stdio) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .env("DATABASE_URL", database_url)
            .env("PARLEY_LISTEN", format!("127.0.0.1:{port}"))
            .env("PARLEY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PARLEY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PARLEY_MODERATION", "post")
            .env("PARLEY_FLOOD_INTERVAL_SECS", "0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("parley starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Server { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("parley did not come up");
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Option<Value> {
        gql_at(&self.base, token, query, variables).await
    }
}

/// A GraphQL request to the server at `base`; `None` if it got no answer.
async fn gql_at(base: &str, token: Option<&str>, query: &str, variables: Value) -> Option<Value> {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .timeout(Duration::from_secs(5))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.ok()?.json().await.ok()
}

async fn sigterm_stops_the_server_cleanly(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = Server::start_with(&db.url, Stdio::piped()).await;

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let child = server.child;
    let stopped = tokio::task::spawn_blocking(move || {
        let output = child.wait_with_output().unwrap();
        (
            output.status,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    });
    let (exit, log) = tokio::time::timeout(Duration::from_secs(20), stopped)
        .await
        .unwrap()
        .unwrap();

    assert!(exit.success(), "exit status {exit}: {log}");
    assert!(log.contains("Parley stopped"), "{log}");
}

async fn acknowledged_comments_survive_sigkill(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut server = Server::start(&db.url).await;
        if round == 0 {
            let login = server
                .gql(None, "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }", json!({ "e": ADMIN_EMAIL, "p": ADMIN_PASSWORD }))
                .await
                .unwrap();
            let token = login["data"]["login"]["token"].as_str().unwrap().to_owned();
            let article = server
                .gql(Some(&token), "mutation { upsertArticle(input: { slug: \"crash\", title: \"Crash\" }) { id } }", json!({}))
                .await
                .unwrap();
            assert_no_errors(&article);
        }
        let posters: Vec<_> = (0..POSTERS)
            .map(|poster| {
                let base = server.base.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    for n in 0.. {
                        let nonce = format!("nonce-{round}-{poster}-{n}-{}", uuid::Uuid::now_v7().simple());
                        let answer = gql_at(
                                &base,
                                None,
                                "mutation($input: PostCommentInput!) { postComment(input: $input) { id } }",
                                json!({ "input": {
                                    "articleSlug": "crash",
                                    "authorName": format!("Poster {poster}"),
                                    "authorEmail": format!("poster{poster}@readers.example"),
                                    "body": nonce,
                                } }),
                            )
                            .await;
                        match answer {
                            Some(answer) if answer["data"]["postComment"]["id"].is_string() => mine.push(nonce),
                            _ => break,
                        }
                    }
                    mine
                })
            })
            .collect();
        let lifetime = rand::rng().random_range(100..600);
        tokio::time::sleep(Duration::from_millis(lifetime)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for poster in posters {
            acknowledged.extend(poster.await.unwrap());
        }
    }
    assert!(
        acknowledged.len() > ROUNDS,
        "the posters got through: {}",
        acknowledged.len()
    );

    let store = db.connect().await;
    let backend_kind = store.get_database_backend();
    let rows = store
        .query_all_raw(Statement::from_string(
            backend_kind,
            "SELECT body FROM comments".to_owned(),
        ))
        .await
        .unwrap();
    let mut stored: HashMap<String, usize> = HashMap::new();
    for row in rows {
        *stored
            .entry(row.try_get_by_index::<String>(0).unwrap())
            .or_default() += 1;
    }
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|nonce| !stored.contains_key(*nonce))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let doubled: Vec<_> = stored.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "stored twice: {doubled:?}");
    eprintln!(
        "crash safety on {backend:?}: {ROUNDS} SIGKILL rounds, {} comments acknowledged, {} lost, {} stored twice",
        acknowledged.len(),
        lost.len(),
        doubled.len()
    );
    if backend == Backend::Sqlite {
        let check = store
            .query_one_raw(Statement::from_string(
                backend_kind,
                "PRAGMA integrity_check".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
    }
    // The server comes back once more on what the crashes left.
    let mut last = Server::start(&db.url).await;
    last.child.kill().unwrap();
    last.child.wait().unwrap();
}
