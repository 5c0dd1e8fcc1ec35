//! `parley moderator add`, run as the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    moderator_add_creates_an_account_that_can_log_in,
    moderator_add_refuses_a_short_password
);

pub fn moderator_add(database_url: &str, email: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args([
            "moderator",
            "add",
            "--email",
            email,
            "--name",
            "Desk Editor",
            "--role",
            "moderator",
            "--password-stdin",
        ])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parley runs");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

async fn moderator_add_creates_an_account_that_can_log_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.db.url.clone();

    let output = tokio::task::spawn_blocking(move || {
        moderator_add(&url, "desk@parley.test", "a long enough password")
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = app
        .login("desk@parley.test", "a long enough password")
        .await;
    let me = app.gql_as(&token, "{ me { name role } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"], "MODERATOR");
    assert_eq!(me["data"]["me"]["name"], "Desk Editor");
}

async fn moderator_add_refuses_a_short_password(backend: Backend) {
    let db = TestDb::create(backend).await;
    let url = db.url.clone();

    let output =
        tokio::task::spawn_blocking(move || moderator_add(&url, "desk@parley.test", "short"))
            .await
            .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("at least 12 characters"), "{stderr}");
}

#[test]
fn a_limit_of_zero_concurrent_requests_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir.path())
        .env("PARLEY_MAX_CONCURRENT_REQUESTS", "0")
        .env("PARLEY_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", "sqlite://parley.db")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parley runs");
    // A server that started anyway is stopped, and the test fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-concurrent-requests"), "{stderr}");
    assert!(
        !dir.path().join("parley.db").exists(),
        "refused before creating the database"
    );
}
