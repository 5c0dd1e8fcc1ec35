//! The database going away: a private PostgreSQL (its own folder and port,
//! never the machine's shared server) is stopped under a running Parley,
//! then started again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A throwaway PostgreSQL cluster run by the `postgres` user when the tests
/// run as root (PostgreSQL refuses to run as root).
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn create() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("initdb").exists())?;
        let dir = tempfile::tempdir().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let cluster = Self { bin, dir, port };
        if is_root() {
            let owner = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status();
            assert!(owner.ok()?.success(), "chown of the cluster folder");
        }
        let data = cluster.data();
        let initdb = cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        assert!(initdb, "initdb of a private cluster");
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        assert!(
            self.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data(),
                    "-o",
                    &options,
                    "-l",
                    &log,
                    "-w",
                    "start"
                ]
            ),
            "pg_ctl start"
        );
    }

    fn stop(&self) {
        assert!(
            self.run(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"]
            ),
            "pg_ctl stop"
        );
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            .current_dir(Path::new("/"))
            .output()
            .is_ok_and(|output| output.status.success())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

async fn post_json(app: &TestApp, query: &str) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let response = app
        .client()
        .post(app.graphql_url())
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, started.elapsed())
}

async fn health(app: &TestApp) -> StatusCode {
    app.client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_fast_and_heals_by_itself() {
    let Some(cluster) = PrivatePostgres::create() else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_POSTGRES").is_none(),
            "PostgreSQL's initdb is needed for the outage test"
        );
        eprintln!("no PostgreSQL binaries: skipping the outage test");
        return;
    };
    cluster.start();
    let db = TestDb::external(
        cluster.url(),
        Some(parley::store::sealing::DataKeys::generate()),
    );
    let settings = test_settings(&db);
    let app = start(db, settings).await;
    let token = app.admin_token().await;
    app.create_article(&token, "outage").await;
    let read = "{ article(slug: \"outage\") { title commentCount } }";

    cluster.stop();
    let (status, during, took) = post_json(&app, read).await;
    let unhealthy = health(&app).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        during["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR",
        "{during}"
    );
    assert!(
        !during.to_string().contains("127.0.0.1"),
        "no connection details leak: {during}"
    );
    assert!(took < Duration::from_secs(6), "failed fast: {took:?}");
    assert_eq!(unhealthy, StatusCode::SERVICE_UNAVAILABLE);

    cluster.start();
    let mut healed = false;
    for _ in 0..100 {
        if health(&app).await == StatusCode::OK {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "/healthz answers 200 again");
    let (_, after, _) = post_json(&app, read).await;
    assert_eq!(
        after["data"]["article"]["title"], "Article outage",
        "{after}"
    );
}
