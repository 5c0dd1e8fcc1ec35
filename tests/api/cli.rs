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

/// What a finished run of `parley` said, and how long it took.
struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
    took: std::time::Duration,
}

/// Runs `parley args` in `dir` with only the environment `env` and an empty
/// standard input; a run that has not ended after 30 s is killed.
fn parley(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parley runs");
    let deadline = started + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

impl Run {
    /// Asserts the run failed with one plain message on standard error (no
    /// log line), and returns the message.
    fn plain_failure(&self) -> &str {
        assert!(!self.status.success(), "succeeded: {}", self.stderr);
        let message = self.stderr.trim_end();
        assert!(
            message.starts_with("error: ") && !message.contains('\n'),
            "not one plain message: {message:?}"
        );
        message
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_unsupported_database_is_refused_once_with_what_to_write() {
    let dir = tempfile::tempdir().unwrap();

    let run = parley(
        dir.path(),
        &[],
        &[("DATABASE_URL", "mysql://admin:hunter2@db/parley")],
    );

    let message = run.plain_failure();
    assert!(message.contains("`mysql:`"), "{message}");
    assert!(
        message.contains("sqlite://FILE or postgres://"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!message.contains("driver"), "{message}");
}

#[test]
fn a_database_path_without_scheme_is_told_to_use_sqlite() {
    let dir = tempfile::tempdir().unwrap();

    let run = parley(dir.path(), &[], &[("DATABASE_URL", "parley.db")]);

    let message = run.plain_failure();
    assert!(message.contains("`sqlite://parley.db`"), "{message}");
    assert!(!dir.path().join("parley.db").exists());
}

#[test]
fn a_missing_database_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-made-yet");
    let url = format!("sqlite://{}/parley.db", missing.display());

    let run = parley(dir.path(), &[], &[("DATABASE_URL", &url)]);

    let message = run.plain_failure();
    assert!(
        message.contains(&format!("the folder {} does not exist", missing.display())),
        "{message}"
    );
}

#[test]
fn an_unreachable_postgres_is_named_with_the_reason_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let url = format!("postgres://parley:hunter2@127.0.0.1:{port}/parley");
    let key = parley::store::sealing::DataKeys::generate();

    let run = parley(
        dir.path(),
        &[],
        &[("DATABASE_URL", &url), ("PARLEY_DATA_KEY", &key)],
    );

    let message = run.plain_failure();
    assert!(
        message.contains(&format!("PostgreSQL at 127.0.0.1:{port}")),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        run.took < std::time::Duration::from_secs(3),
        "took {:?}",
        run.took
    );
}

#[test]
fn postgres_without_a_data_key_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://parley@127.0.0.1:{}/parley", closed_port());

    let run = parley(dir.path(), &[], &[("DATABASE_URL", &url)]);
    let message = run.plain_failure();
    assert!(message.contains("PostgreSQL needs a data key"), "{message}");
    assert!(message.contains("parley keys generate"), "{message}");

    // A key that is not one is refused without being shown.
    let run = parley(
        dir.path(),
        &[],
        &[("DATABASE_URL", &url), ("PARLEY_DATA_KEY", "pdk1_hunter2")],
    );
    let message = run.plain_failure();
    assert!(
        message.contains("PARLEY_DATA_KEY cannot be used"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn a_weak_admin_password_stops_the_server_before_the_database_is_created() {
    let dir = tempfile::tempdir().unwrap();

    let run = parley(
        dir.path(),
        &[],
        &[
            ("DATABASE_URL", "sqlite://parley.db"),
            ("PARLEY_LISTEN", "127.0.0.1:0"),
            ("PARLEY_ADMIN_EMAIL", "admin@parley.test"),
            ("PARLEY_ADMIN_PASSWORD", "too short"),
        ],
    );

    let message = run.plain_failure();
    assert!(message.contains("PARLEY_ADMIN_PASSWORD"), "{message}");
    assert!(message.contains("at least 12 characters"), "{message}");
    assert!(!message.contains("too short"), "{message}");
    assert!(
        !dir.path().join("parley.db").exists(),
        "the database was created"
    );
}

on_both_databases!(
    a_weak_admin_password_leaves_the_database_untouched,
    a_command_line_error_is_one_plain_line,
    moderator_add_without_a_password_says_none_was_given
);

/// The tables in `db` (none on a database nothing has migrated, or a
/// SQLite file nothing has created).
async fn tables(db: &TestDb) -> i64 {
    use sea_orm::ConnectionTrait;
    if let Some(path) = db.url.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        return 0;
    }
    let conn = db.connect().await;
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
        }
        _ => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
    };
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn a_weak_admin_password_leaves_the_database_untouched(backend: Backend) {
    let db = TestDb::create(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let dir_path = dir.path().to_owned();

    let run = tokio::task::spawn_blocking(move || {
        parley(
            &dir_path,
            &[],
            &[
                ("DATABASE_URL", &url),
                ("PARLEY_LISTEN", "127.0.0.1:0"),
                ("PARLEY_ADMIN_EMAIL", "admin@parley.test"),
                ("PARLEY_ADMIN_PASSWORD", "too short"),
            ],
        )
    })
    .await
    .unwrap();

    let message = run.plain_failure();
    assert!(message.contains("at least 12 characters"), "{message}");
    assert_eq!(tables(&db).await, 0, "the database was migrated");
}

async fn a_command_line_error_is_one_plain_line(backend: Backend) {
    let db = TestDb::create(backend).await;
    let url = db.url.clone();
    let first = tokio::task::spawn_blocking(move || {
        moderator_add(&url, "desk@parley.test", "a long enough password")
    })
    .await
    .unwrap();
    assert!(first.status.success());
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let dir_path = dir.path().to_owned();

    // Without RUST_LOG, as an operator runs it: the database is migrated
    // already, so a log line would be a failure or a migration.
    let again = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .current_dir(&dir_path)
            .args([
                "moderator",
                "add",
                "--email",
                "desk@parley.test",
                "--name",
                "Desk",
            ])
            .env_clear()
            .env("DATABASE_URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "another long password").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();

    assert!(!again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        "error: a moderator with this email already exists\n"
    );
}

async fn moderator_add_without_a_password_says_none_was_given(backend: Backend) {
    let db = TestDb::create(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let dir_path = dir.path().to_owned();

    let run = tokio::task::spawn_blocking(move || {
        parley(
            &dir_path,
            &[
                "moderator",
                "add",
                "--email",
                "desk@parley.test",
                "--name",
                "Desk",
            ],
            &[("DATABASE_URL", &url)],
        )
    })
    .await
    .unwrap();

    let message = run.plain_failure();
    assert!(message.contains("no password was given"), "{message}");
    assert_eq!(tables(&db).await, 0, "the database was migrated");
}

#[test]
fn moderator_add_help_lists_its_own_options_only() {
    let dir = tempfile::tempdir().unwrap();

    let run = parley(dir.path(), &["moderator", "add", "--help"], &[]);

    assert!(run.status.success(), "{}", run.stderr);
    for own in [
        "--email",
        "--name",
        "--role",
        "--password-stdin",
        "--database-url",
    ] {
        assert!(run.stdout.contains(own), "{own} missing: {}", run.stdout);
    }
    for server in [
        "--listen",
        "--max-body-bytes",
        "--cors-origins",
        "--admin-email",
    ] {
        assert!(
            !run.stdout.contains(server),
            "{server} listed: {}",
            run.stdout
        );
    }
}

#[test]
fn moderator_add_refuses_a_server_option() {
    let dir = tempfile::tempdir().unwrap();

    let run = parley(
        dir.path(),
        &[
            "moderator",
            "add",
            "--email",
            "a@b.co",
            "--name",
            "A",
            "--listen",
            "127.0.0.1:1",
        ],
        &[],
    );

    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`--listen` is not an option of `parley moderator add`"),
        "{}",
        run.stderr
    );
}

#[test]
fn server_options_go_before_or_after_serve() {
    let dir = tempfile::tempdir().unwrap();

    // An invalid value is refused by the option's own check wherever it
    // stands, which shows it was read as that option.
    for args in [
        &["--max-connections", "0", "serve"][..],
        &["serve", "--max-connections", "0"][..],
        &["--max-connections", "0"][..],
    ] {
        let run = parley(dir.path(), args, &[]);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("--max-connections"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn help_names_the_settings_read_from_the_environment_only() {
    let dir = tempfile::tempdir().unwrap();

    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let run = parley(dir.path(), args, &[]);
        assert!(run.status.success(), "{}", run.stderr);
        for variable in [
            "PARLEY_ADMIN_PASSWORD",
            "PARLEY_ADMIN_PASSWORD_FILE",
            "PARLEY_JWT_SECRET",
            "PARLEY_JWT_SECRET_FILE",
            "RUST_LOG",
        ] {
            assert!(run.stdout.contains(variable), "{variable}: {}", run.stdout);
        }
    }
}

on_both_databases!(healthcheck_succeeds_against_a_running_server);

async fn healthcheck_succeeds_against_a_running_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();

    let (by_variable, on_every_address) = tokio::task::spawn_blocking(move || {
        let listen = format!("127.0.0.1:{port}");
        let by_variable = parley(&dir_path, &["healthcheck"], &[("PARLEY_LISTEN", &listen)]);
        // A server on every address is asked on loopback.
        let every = format!("0.0.0.0:{port}");
        let on_every_address = parley(&dir_path, &["healthcheck", "--listen", &every], &[]);
        (by_variable, on_every_address)
    })
    .await
    .unwrap();

    for run in [by_variable, on_every_address] {
        assert!(run.status.success(), "{}", run.stderr);
        assert!(run.stdout.contains("/healthz: ok"), "{}", run.stdout);
    }
}

#[test]
fn healthcheck_fails_on_a_closed_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();

    let run = parley(
        dir.path(),
        &["healthcheck"],
        &[("PARLEY_LISTEN", &format!("127.0.0.1:{port}"))],
    );

    let message = run.plain_failure();
    assert!(
        message.contains(&format!("could not reach http://127.0.0.1:{port}/healthz")),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
}

/// A server on loopback that answers one request with `answer`, or with
/// nothing at all when it is `None`; its address.
fn one_answer_server(answer: Option<&'static str>) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = std::io::Read::read(&mut stream, &mut request);
        match answer {
            Some(answer) => stream.write_all(answer.as_bytes()).unwrap(),
            None => std::thread::sleep(std::time::Duration::from_secs(10)),
        }
    });
    address
}

#[test]
fn healthcheck_fails_when_the_server_is_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let address = one_answer_server(Some(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 21\r\nconnection: close\r\n\r\ndatabase unavailable\n",
    ));

    let run = parley(
        dir.path(),
        &["healthcheck", "--listen", &address.to_string()],
        &[],
    );

    let message = run.plain_failure();
    assert!(message.contains("503 Service Unavailable"), "{message}");
    assert!(message.contains("(database unavailable)"), "{message}");
}

#[test]
fn healthcheck_gives_up_on_a_server_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let address = one_answer_server(None);

    let run = parley(
        dir.path(),
        &[
            "healthcheck",
            "--listen",
            &address.to_string(),
            "--timeout-secs",
            "1",
        ],
        &[],
    );

    let message = run.plain_failure();
    assert!(message.contains("did not answer within 1s"), "{message}");
    assert!(
        run.took < std::time::Duration::from_secs(5),
        "took {:?}",
        run.took
    );
}

on_both_databases!(the_admin_password_can_come_from_a_file);

async fn the_admin_password_can_come_from_a_file(backend: Backend) {
    let db = TestDb::create(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("admin_password");
    // As `echo … > file` writes it: the line ending is not part of it.
    std::fs::write(&secret, "a password from a file\n").unwrap();
    let port = closed_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &db.url)
        .envs(db.key_env())
        .env("PARLEY_LISTEN", format!("127.0.0.1:{port}"))
        .env("PARLEY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("PARLEY_ADMIN_PASSWORD_FILE", &secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("parley starts");
    let health = format!("http://127.0.0.1:{port}/healthz");
    wait_until(
        std::time::Duration::from_secs(30),
        "the server answers",
        || async {
            reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    server.kill().unwrap();
    server.wait().unwrap();

    let mut settings = test_settings(&db);
    settings.admin = None;
    let app = start(db, settings).await;

    app.login(ADMIN_EMAIL, "a password from a file").await;
}

#[test]
fn a_secret_and_its_file_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("jwt_secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef").unwrap();

    let run = parley(
        dir.path(),
        &[],
        &[
            ("DATABASE_URL", "sqlite://parley.db"),
            ("PARLEY_JWT_SECRET", "fedcba9876543210fedcba9876543210"),
            ("PARLEY_JWT_SECRET_FILE", secret.to_str().unwrap()),
        ],
    );

    let message = run.plain_failure();
    assert!(
        message.contains("set PARLEY_JWT_SECRET or PARLEY_JWT_SECRET_FILE, not both"),
        "{message}"
    );
    assert!(!message.contains("0123456789abcdef"), "{message}");
    assert!(!dir.path().join("parley.db").exists());
}

#[test]
fn an_unreadable_secret_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no_such_secret");

    let run = parley(
        dir.path(),
        &[],
        &[
            ("DATABASE_URL", "sqlite://parley.db"),
            ("PARLEY_ADMIN_EMAIL", "admin@parley.test"),
            ("PARLEY_ADMIN_PASSWORD_FILE", missing.to_str().unwrap()),
        ],
    );

    let message = run.plain_failure();
    assert!(
        message.contains(&format!(
            "could not read PARLEY_ADMIN_PASSWORD_FILE ({})",
            missing.display()
        )),
        "{message}"
    );
    assert!(!dir.path().join("parley.db").exists());
}

on_both_databases!(the_database_url_can_come_from_a_file);

async fn the_database_url_can_come_from_a_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("database_url");
    std::fs::write(&url_file, format!("{}\n", app.db.url)).unwrap();
    let dir_path = dir.path().to_owned();

    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .current_dir(&dir_path)
            .args([
                "moderator",
                "add",
                "--email",
                "desk@parley.test",
                "--name",
                "Desk",
            ])
            .env_clear()
            .env("DATABASE_URL_FILE", &url_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "a long enough password").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    app.login("desk@parley.test", "a long enough password")
        .await;
    assert!(
        !dir.path().join("parley.db").exists(),
        "the default database was used"
    );
}
