//! The real binary as an operator runs it: stopping on SIGTERM, and
//! surviving SIGKILL in the middle of concurrent posting without losing or
//! doubling an acknowledged comment.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    sigterm_stops_the_server_cleanly,
    a_request_in_flight_finishes_after_sigterm,
    the_shutdown_grace_period_ends_a_request_that_overruns_it,
    acknowledged_comments_survive_sigkill
);

/// Crash rounds per database.
const ROUNDS: usize = 10;
const POSTERS: usize = 4;

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    /// Its standard error so far, read as it is written.
    log: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Server {
    async fn start(db: &TestDb) -> Server {
        Self::start_with_env(db, &[]).await
    }

    /// Starts the binary with extra environment variables.
    pub(crate) async fn start_with_env(db: &TestDb, env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .env("DATABASE_URL", &db.url)
            .envs(db.key_env())
            .env("PARLEY_LISTEN", format!("127.0.0.1:{port}"))
            .env("PARLEY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PARLEY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PARLEY_MODERATION", "post")
            .env("PARLEY_FLOOD_INTERVAL_SECS", "0")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("parley starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let written = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = written.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Server {
                    child,
                    base,
                    log,
                    reader,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("parley did not come up: {}", log.lock().unwrap());
    }

    pub(crate) async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Option<Value> {
        gql_at(&self.base, token, query, variables).await
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// How many requests the server has begun to handle (its log says so
    /// with `tower_http=debug`).
    fn requests_started(&self) -> usize {
        self.log
            .lock()
            .unwrap()
            .matches("started processing request")
            .count()
    }

    /// Sends `query` in the background once the server is idle, and
    /// returns when the server has begun to handle it.
    async fn send_in_flight(
        &self,
        query: &'static str,
        variables: Value,
    ) -> tokio::task::JoinHandle<Option<Value>> {
        let before = self.requests_started();
        let base = self.base.clone();
        let in_flight = tokio::spawn(async move { gql_at(&base, None, query, variables).await });
        wait_until(
            Duration::from_secs(10),
            "the request reached the server",
            || async { self.requests_started() > before },
        )
        .await;
        in_flight
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.reader.join().unwrap();
    }
}

/// The environment that makes the server log each request it begins.
const LOG_REQUESTS: (&str, &str) = ("RUST_LOG", "info,tower_http=debug");

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
    let server = Server::start(&db).await;

    let (exit, log, _) = terminate(server).await;

    assert!(exit.success(), "exit status {exit}: {log}");
    assert!(log.contains("Parley stopped"), "{log}");
}

/// Sends SIGTERM to the server.
fn send_sigterm(server: &Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Sends SIGTERM to the server and waits (at most 20 s) for it to exit:
/// its exit status, its log and how long it took.
async fn terminate(server: Server) -> (std::process::ExitStatus, String, Duration) {
    send_sigterm(&server);
    let started = std::time::Instant::now();
    let (exit, log) = wait_for_exit(server).await;
    (exit, log, started.elapsed())
}

/// Waits (at most 20 s) for the server to exit: its exit status and log.
async fn wait_for_exit(server: Server) -> (std::process::ExitStatus, String) {
    let Server {
        mut child,
        log,
        reader,
        ..
    } = server;
    let stopped = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        reader.join().unwrap();
        status
    });
    let exit = tokio::time::timeout(Duration::from_secs(20), stopped)
        .await
        .expect("the server stops")
        .unwrap();
    let log = log.lock().unwrap().clone();
    (exit, log)
}

/// Logs in as the admin and creates the article `slug`.
pub(crate) async fn create_article(server: &Server, slug: &str) {
    let login = server
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": ADMIN_EMAIL, "p": ADMIN_PASSWORD }),
        )
        .await
        .unwrap();
    let token = login["data"]["login"]["token"].as_str().unwrap().to_owned();
    let article = server
        .gql(
            Some(&token),
            "mutation($slug: String!) { upsertArticle(input: { slug: $slug, title: $slug }) { id } }",
            json!({ "slug": slug }),
        )
        .await
        .unwrap();
    assert_no_errors(&article);
}

/// The variables of a post (`POST`) to the article `slug`.
fn late_post(slug: &str) -> Value {
    json!({ "input": {
        "articleSlug": slug,
        "authorName": "Late Reader",
        "authorEmail": "late@readers.example",
        "body": "Sent just before the server was told to stop.",
    } })
}

async fn stored_comments(conn: &sea_orm::DatabaseConnection) -> i64 {
    conn.query_one_raw(Statement::from_string(
        conn.get_database_backend(),
        "SELECT COUNT(*) AS n FROM comments",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

const POST: &str =
    "mutation($input: PostCommentInput!) { postComment(input: $input) { id status } }";

async fn a_request_in_flight_finishes_after_sigterm(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = Server::start_with_env(&db, &[LOG_REQUESTS]).await;
    create_article(&server, "stopping").await;
    let conn = db.connect().await;
    let lock = hold_up_posts(&conn, "stopping").await;
    let in_flight = server.send_in_flight(POST, late_post("stopping")).await;

    send_sigterm(&server);
    // The post cannot finish before the lock goes, which is only once the
    // server has begun to stop.
    wait_until(
        Duration::from_secs(10),
        "the server begins to stop",
        || async {
            server
                .log()
                .contains("shutting down: finishing requests in flight")
        },
    )
    .await;
    lock.rollback().await.unwrap();
    let (exit, log) = wait_for_exit(server).await;

    assert!(exit.success(), "exit status {exit}: {log}");
    assert!(
        !log.contains("requests still running after the grace period"),
        "{log}"
    );
    let answer = in_flight
        .await
        .unwrap()
        .expect("the post in flight is answered");
    assert_no_errors(&answer);
    assert_eq!(answer["data"]["postComment"]["status"], "APPROVED");
    let stored = stored_comments(&conn).await;
    assert_eq!(stored, 1, "the answered post is stored");
}

async fn the_shutdown_grace_period_ends_a_request_that_overruns_it(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server =
        Server::start_with_env(&db, &[("PARLEY_SHUTDOWN_GRACE_SECS", "1"), LOG_REQUESTS]).await;
    create_article(&server, "stopping").await;
    let conn = db.connect().await;
    let lock = hold_up_posts(&conn, "stopping").await;
    let in_flight = server.send_in_flight(POST, late_post("stopping")).await;

    let (exit, log, took) = terminate(server).await;
    lock.rollback().await.unwrap();

    assert!(
        took < Duration::from_secs(8),
        "stopped after the grace period, not the request: {took:?}"
    );
    assert!(exit.success(), "exit status {exit}: {log}");
    assert!(
        log.contains("requests still running after the grace period"),
        "the post was in flight when the grace period ended: {log}"
    );
    assert!(
        in_flight.await.unwrap().is_none(),
        "the request cut off gets no answer"
    );
    let stored = stored_comments(&conn).await;
    assert_eq!(stored, 0, "nothing of the cut-off post is stored");
}

async fn acknowledged_comments_survive_sigkill(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let server = Server::start(&db).await;
        if round == 0 {
            create_article(&server, "crash").await;
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
        server.kill();
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
    Server::start(&db).await.kill();
}
