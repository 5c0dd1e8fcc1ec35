//! The test harness: a real Parley on a random port against a fresh
//! database (a SQLite file in a temporary folder, or a new PostgreSQL
//! database when `PARLEY_TEST_POSTGRES_URL` is set), driven over HTTP.
//!
//! Every anonymous response is checked against every email address the test
//! submitted so far: a reader's email must never reach a non-moderator. So
//! are the servers' log lines at `info`, which this binary captures.

use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use parley::App;
use parley::config::{AdminBootstrap, Settings};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "editor@parley.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` once on SQLite and once on
/// PostgreSQL (the latter only when `PARLEY_TEST_POSTGRES_URL` is set).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::helpers::postgres_url().is_none() {
                        assert!(
                            std::env::var_os("PARLEY_REQUIRE_POSTGRES").is_none(),
                            "PARLEY_REQUIRE_POSTGRES is set but PARLEY_TEST_POSTGRES_URL is not"
                        );
                        eprintln!("PARLEY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
                        return;
                    }
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("PARLEY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database made for one test, removed when the test ends.
pub struct TestDb {
    pub url: String,
    /// The data key servers on a PostgreSQL database are given (a SQLite
    /// one gets its key file beside it).
    pub data_key: Option<String>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}", dir.path().join("parley.db").display());
                Self {
                    url,
                    data_key: None,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("PARLEY_TEST_POSTGRES_URL");
                let name = format!("parley_test_{}", uuid::Uuid::now_v7().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create a test database");
                admin.close().await.ok();
                let mut url =
                    url::Url::parse(&admin_url).expect("PARLEY_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Self {
                    url: url.into(),
                    data_key: Some(parley::store::sealing::DataKeys::generate()),
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }

    /// A database someone else made and will remove.
    pub fn external(url: String, data_key: Option<String>) -> TestDb {
        TestDb {
            url,
            data_key,
            _dir: None,
            postgres: None,
        }
    }

    /// The same database for a second instance; `self` still removes it.
    pub fn reuse(other: &TestDb) -> TestDb {
        TestDb {
            url: other.url.clone(),
            data_key: other.data_key.clone(),
            _dir: None,
            postgres: None,
        }
    }

    /// The environment a `parley` process on this database needs besides
    /// `DATABASE_URL`: the data key, on PostgreSQL.
    pub fn key_env(&self) -> Vec<(&'static str, String)> {
        self.data_key
            .iter()
            .map(|key| ("PARLEY_DATA_KEY", key.clone()))
            .collect()
    }

    /// The SQLite database's file, if it is one.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.url
            .strip_prefix("sqlite://")
            .map(std::path::PathBuf::from)
    }

    /// A direct connection, to look at what is stored. Its statements are
    /// not logged: the captured log is the servers' alone.
    pub async fn connect(&self) -> DatabaseConnection {
        let mut options = ConnectOptions::new(self.url.clone());
        options.sqlx_logging(false);
        Database::connect(options)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Dropping runs outside any runtime the test may still be tearing down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

/// Everything the servers of this test binary log at `info` and above.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the log of every server this binary starts to [`LOGS`], at the
/// level a production server logs by default (`info`).
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .try_init()
            .expect("the test binary installs one log subscriber");
    });
}

/// The logs written since `start` (an offset into the captured log).
pub fn logs_since(start: usize) -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()[start..]).into_owned()
}

/// Polls `condition` until it holds; panics naming `what` after `limit`.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A running Parley and an HTTP client for it.
pub struct TestApp {
    pub base: String,
    /// The metrics listener's base URL, when it was asked for.
    pub metrics: Option<String>,
    pub db: TestDb,
    client: reqwest::Client,
    submitted_emails: Mutex<Vec<String>>,
    moderator_tokens: Mutex<Vec<String>>,
    /// The requests executing on the server.
    pub executing: parley::app::Executing,
    /// Where this server's log starts in the captured log.
    log_start: usize,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Default settings for tests: pre-moderation and a bootstrap admin.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings::for_database(db.url.clone());
    if let Some(key) = &db.data_key {
        settings.data_key = parley::key_file::DataKeySource::given(key.clone());
    }
    // Tests post from one address many times a second; the flood tests
    // turn it back on.
    settings.flood = parley::domain::flood::FloodPolicy::off();
    settings.admin = Some(AdminBootstrap {
        email: ADMIN_EMAIL.to_owned(),
        password: ADMIN_PASSWORD.into(),
    });
    settings
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create(backend).await;
    let mut settings = test_settings(&db);
    configure(&mut settings);
    start(db, settings).await
}

/// Starts Parley on `db` with `settings` (whose database URL must be `db`'s).
pub async fn start(db: TestDb, settings: Settings) -> TestApp {
    capture_logs();
    let log_start = LOGS.lock().unwrap().len();
    let app = App::build(settings).await.expect("Parley starts");
    let base = format!("http://{}", app.address());
    let metrics = app
        .metrics_address()
        .map(|address| format!("http://{address}"));
    let executing = app.executing();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Runs until `stop` is called, not when the sender is dropped.
    let running = tokio::spawn(app.run_until(async move {
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
    }));
    TestApp {
        base,
        metrics,
        db,
        client: reqwest::Client::new(),
        submitted_emails: Mutex::new(Vec::new()),
        moderator_tokens: Mutex::new(Vec::new()),
        executing,
        log_start,
        stop: Some(stop),
        running,
    }
}

impl TestApp {
    /// Stops the server as SIGTERM would, waits until it has closed the
    /// database, and returns the database.
    pub async fn stop(mut self) -> TestDb {
        self.assert_no_email_in_logs();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.running)
            .await
            .expect("the server stops")
            .expect("the server task ends")
            .expect("the server stops cleanly");
        self.db
    }

    /// What this server (and any other started meanwhile) has logged.
    pub fn logs(&self) -> String {
        logs_since(self.log_start)
    }

    /// Fails the test if the log lines written since this server started
    /// carry any email address submitted so far.
    pub fn assert_no_email_in_logs(&self) {
        let logs = self.logs();
        let lowered = logs.to_lowercase();
        for email in self.submitted_emails.lock().unwrap().iter() {
            let email = email.to_lowercase();
            if lowered.contains(&email) {
                let lines: Vec<&str> = logs
                    .lines()
                    .filter(|line| line.to_lowercase().contains(&email))
                    .collect();
                panic!("a reader's email reached the log: {email} in {lines:#?}");
            }
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base)
    }

    /// Sends a GraphQL request as an anonymous reader.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.send(None, query, variables).await
    }

    /// Sends a GraphQL request with a bearer token.
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.send(Some(token), query, variables).await
    }

    /// Sends a GraphQL request; no request of the suite may get a 5xx.
    async fn send(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.remember_emails(&body);
        let mut request = self.client.post(self.graphql_url()).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches Parley");
        let status = response.status();
        let text = response.text().await.expect("a response body");
        let moderator =
            token.is_some_and(|t| self.moderator_tokens.lock().unwrap().iter().any(|m| m == t));
        if !moderator {
            self.assert_no_email_in(&text);
        }
        self.assert_no_email_in_logs();
        assert!(!status.is_server_error(), "{status}: {text}");
        assert!(
            !text.contains("INTERNAL_SERVER_ERROR"),
            "an internal error: {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON answer, got {status}: {text}"))
    }

    /// Records the reader emails a request submits (its `authorEmail`s).
    pub fn remember_emails(&self, request: &Value) {
        fn walk(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        match value {
                            Value::String(s) if key == "authorEmail" && !s.trim().is_empty() => {
                                found.push(s.trim().to_owned())
                            }
                            other => walk(other, found),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        walk(request, &mut found);
        // Addresses written into the document itself.
        if let Some(query) = request.get("query").and_then(Value::as_str)
            && query.contains("authorEmail")
        {
            let is_address_char = |c: char| c.is_alphanumeric() || "@.+-_".contains(c);
            found.extend(
                query
                    .split(|c: char| !is_address_char(c))
                    .filter(|word| word.contains('@') && word.contains('.'))
                    .map(str::to_owned),
            );
        }
        self.submitted_emails.lock().unwrap().extend(found);
    }

    /// Fails the test if `text`, seen by a non-moderator, carries any email
    /// address submitted so far, in any case.
    pub fn assert_no_email_in(&self, text: &str) {
        let lowered = text.to_lowercase();
        for email in self.submitted_emails.lock().unwrap().iter() {
            assert!(
                !lowered.contains(&email.to_lowercase()),
                "a reader's email reached a non-moderator: {text}"
            );
        }
        self.assert_no_email_in_logs();
    }

    /// Logs in as the bootstrap admin and returns the token.
    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let answer = self
            .gql(
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                json!({ "email": email, "password": password }),
            )
            .await;
        let token = answer["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {answer}"))
            .to_owned();
        self.moderator_tokens.lock().unwrap().push(token.clone());
        token
    }

    /// Creates (or updates) an article as a moderator.
    pub async fn create_article(&self, token: &str, slug: &str) -> Value {
        let answer = self
            .gql_as(
                token,
                "mutation($input: ArticleInput!) { upsertArticle(input: $input) { id slug commentsOpen } }",
                json!({ "input": { "slug": slug, "title": format!("Article {slug}") } }),
            )
            .await;
        assert_no_errors(&answer);
        answer["data"]["upsertArticle"].clone()
    }

    /// Posts a comment as a reader and returns the answer.
    pub async fn post_comment(&self, input: Value) -> Value {
        self.gql(
            "mutation($input: PostCommentInput!) { postComment(input: $input) { id status parentId authorName body createdAt } }",
            json!({ "input": input }),
        )
        .await
    }

    /// Posts a valid comment and returns its id.
    pub async fn post(&self, slug: &str, author: &str, body: &str, parent: Option<&str>) -> String {
        let email = format!(
            "{}@readers.example",
            author.to_lowercase().replace(' ', ".")
        );
        self.post_from(slug, author, &email, body, parent).await
    }

    /// Posts a valid comment from `email` and returns its id.
    pub async fn post_from(
        &self,
        slug: &str,
        author: &str,
        email: &str,
        body: &str,
        parent: Option<&str>,
    ) -> String {
        let answer = self
            .post_comment(json!({
                "articleSlug": slug,
                "parentId": parent,
                "authorName": author,
                "authorEmail": email,
                "body": body,
            }))
            .await;
        assert_no_errors(&answer);
        answer["data"]["postComment"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Approves a comment as a moderator.
    pub async fn approve(&self, token: &str, id: &str) {
        let answer = self
            .gql_as(
                token,
                "mutation($id: ID!) { approveComment(id: $id) { id status } }",
                json!({ "id": id }),
            )
            .await;
        assert_no_errors(&answer);
    }

    /// Posts a comment and approves it; returns its id.
    pub async fn post_approved(
        &self,
        token: &str,
        slug: &str,
        author: &str,
        body: &str,
        parent: Option<&str>,
    ) -> String {
        let id = self.post(slug, author, body, parent).await;
        self.approve(token, &id).await;
        id
    }
}

/// Takes a lock on the database that makes `postComment` on the article
/// `slug` wait until the transaction ends, but lets reads through: SQLite's
/// write lock, or the article's row on PostgreSQL.
pub async fn hold_up_posts(conn: &DatabaseConnection, slug: &str) -> DatabaseTransaction {
    match conn.get_database_backend() {
        DbBackend::Sqlite => conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .unwrap(),
        _ => {
            let txn = conn.begin().await.unwrap();
            txn.execute_unprepared(&format!(
                "SELECT id FROM articles WHERE slug = '{slug}' FOR UPDATE"
            ))
            .await
            .unwrap();
            txn
        }
    }
}

pub fn assert_no_errors(answer: &Value) {
    assert!(
        answer.get("errors").is_none(),
        "unexpected errors: {answer}"
    );
}

/// The `extensions.code` of the first error.
pub fn error_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code, got {answer}"))
}

/// The `extensions.field` of the first error.
pub fn error_field(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error naming a field, got {answer}"))
}

/// The ids of a connection's nodes, in order.
pub fn node_ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a connection, got {connection}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs a raw SQL statement against the app's database: what a test does
/// behind the API's back (ageing a row, say).
pub async fn run_sql(app: &TestApp, statement: &str) {
    let db = app.db.connect().await;
    db.execute_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        statement.to_owned(),
    ))
    .await
    .expect("statement runs");
}

/// The number a raw SQL query answers (its first row's first column).
pub async fn sql_number(app: &TestApp, query: &str) -> i64 {
    let db = app.db.connect().await;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            query.to_owned(),
        ))
        .await
        .expect("query runs")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}
