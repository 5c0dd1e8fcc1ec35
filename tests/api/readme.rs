//! The README's walk through the API, pasted in one go into an interactive
//! bash against the real binary, as a reader would follow it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

/// The shell steps of the walk-through (every `sh` block after the one that
/// starts the server), aimed at `port`.
fn walkthrough(port: u16) -> String {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("## A walk through the API")
        .expect("the walk-through");
    let end = start
        + readme[start..]
            .find("Other moderation mutations")
            .expect("the end of the walk-through");
    let steps: Vec<&str> = readme[start..end]
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert!(steps[0].contains("cargo run --release"), "{}", steps[0]);
    steps[1..]
        .concat()
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_works_pasted_in_one_go() {
    if !(installed("jq") && installed("curl")) {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_WALKTHROUGH").is_none(),
            "PARLEY_REQUIRE_WALKTHROUGH is set but jq or curl is missing"
        );
        eprintln!("jq or curl is not installed: skipping the walk-through");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // As the README starts it: production defaults, flood control included.
    let mut server = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir.path())
        .env_clear()
        .env("PARLEY_LISTEN", format!("127.0.0.1:{port}"))
        .env("PARLEY_ADMIN_EMAIL", "admin@example.com")
        .env("PARLEY_ADMIN_PASSWORD", "correct horse battery")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("parley starts");
    let health = format!("http://127.0.0.1:{port}/healthz");
    wait_until(Duration::from_secs(30), "the server answers", || async {
        reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let script = walkthrough(port);

    // An interactive shell, as a terminal would run pasted text (history
    // expansion included).
    let output = tokio::task::spawn_blocking(move || {
        let mut shell = Command::new("bash")
            .arg("-i")
            .current_dir(std::env::temp_dir())
            .env("HISTFILE", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash runs");
        shell
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        shell.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // (Bash echoes what is pasted to standard error: `ok`'s own text is there.)
    assert!(!stderr.contains("GraphQL errors: ["), "{stderr}");
    assert!(!stderr.contains("event not found"), "{stderr}");
    assert!(!stderr.contains("syntax error"), "{stderr}");
    assert_eq!(
        stdout.matches(r#""status":"APPROVED""#).count(),
        2,
        "the comment and the reply are approved: {stdout}"
    );
    assert!(
        stdout.contains(r#"{"data":{"article":{"title":"The budget vote","commentCount":2}}}"#),
        "{stdout}"
    );
}
