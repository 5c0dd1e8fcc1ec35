//! `parley import`, `parley export` and `parley backup`, run as the real
//! binary against a real database, then read back over GraphQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    wordpress_import_brings_threads_statuses_and_dates_and_a_second_run_adds_nothing,
    wordpress_pingbacks_and_trackbacks_come_in_when_asked_for,
    disqus_import_brings_threads_and_moves_up_replies_to_deleted_posts,
    export_then_import_into_a_fresh_database_gives_the_same_export
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `parley ARGS` on the database at `database_url`.
async fn parley(db: &TestDb, args: &[&str]) -> Output {
    let url = db.url.clone();
    let keys = db.key_env();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(&args)
            .env("DATABASE_URL", url)
            .envs(keys)
            .env("RUST_LOG", "info")
            .output()
            .expect("parley runs")
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// Parley on `db`, without an admin account of its own.
async fn start_on(db: &TestDb) -> TestApp {
    let mut settings = test_settings(db);
    settings.admin = None;
    start(TestDb::reuse(db), settings).await
}

const THREAD: &str = "query($slug: String!) { article(slug: $slug) {
    title url commentsOpen commentCount
    comments { nodes { authorName body bodyHtml createdAt replyCount
        replies { nodes { authorName replies { nodes { authorName } } } } } } } }";

async fn thread(app: &TestApp, slug: &str) -> Value {
    let answer = app.gql(THREAD, json!({ "slug": slug })).await;
    assert_no_errors(&answer);
    answer["data"]["article"].clone()
}

fn names(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["authorName"].as_str().unwrap().to_owned())
        .collect()
}

const QUEUE: &str = "query($status: CommentStatus!) {
    moderationQueue(status: $status) { nodes { authorName authorEmail } } }";

/// A moderator account, made with the binary, and its token.
async fn moderator_token(app: &TestApp) -> String {
    let url = app.db.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        crate::cli::moderator_add(&url, "desk@parley.test", "a long enough password")
    })
    .await
    .unwrap();
    assert_success(&output);
    app.login("desk@parley.test", "a long enough password")
        .await
}

async fn wordpress_import_brings_threads_statuses_and_dates_and_a_second_run_adds_nothing(
    backend: Backend,
) {
    let db = TestDb::create(backend).await;
    let file = fixture("wordpress.xml");
    let file = file.to_str().unwrap();

    let first = parley(&db, &["import", "wordpress", file]).await;
    let second = parley(&db, &["import", "wordpress", file]).await;

    assert_success(&first);
    let summary = stdout(&first);
    assert!(
        summary
            .contains("Imported 6 comments (4 approved, 1 hidden, 1 pending) on 2 articles (2 new"),
        "{summary}"
    );
    assert!(summary.contains("1 comments: in the trash"), "{summary}");
    assert!(
        summary.contains("2 comments: pingback or trackback"),
        "{summary}"
    );
    assert!(summary.contains("1 comments: email not valid"), "{summary}");
    assert_success(&second);
    let again = stdout(&second);
    assert!(again.contains("Imported 0 comments (none)"), "{again}");
    assert!(again.contains("6 comments: already imported"), "{again}");
    for output in [&first, &second] {
        for email in [
            "morag@example.org",
            "ailsa@example.com",
            "sales@watches.example",
        ] {
            assert!(!stderr(output).contains(email), "{}", stderr(output));
        }
    }

    let app = start_on(&db).await;
    let ferry = thread(&app, "2025/11/ferry-timetable").await;
    assert_eq!(ferry["title"], "Ferry timetable changes for winter");
    assert_eq!(
        ferry["url"],
        "https://gazette.example/2025/11/ferry-timetable/"
    );
    assert_eq!(ferry["commentsOpen"], true);
    assert_eq!(ferry["commentCount"], 3, "counted once, not once per run");
    assert_eq!(names(&ferry["comments"]), ["Morag Fletcher"]);
    let morag = &ferry["comments"]["nodes"][0];
    assert_eq!(
        morag["body"],
        "Will the 07:40 still run on Sundays?\n\nIt is the only one that makes the \
         [train connection](https://rail.example/connections) & I rely on it."
    );
    assert!(
        morag["bodyHtml"]
            .as_str()
            .unwrap()
            .contains(r#"<a href="https://rail.example/connections""#),
        "{morag}"
    );
    assert_eq!(morag["createdAt"], "2025-11-15T09:12:00.000000Z");
    assert_eq!(morag["replyCount"], 1);
    assert_eq!(names(&morag["replies"]), ["The Editor"]);
    assert_eq!(
        names(&morag["replies"]["nodes"][0]["replies"]),
        ["Iain Ross"],
        "a reply that came before its parent in the file still hangs under it"
    );
    let wall = thread(&app, "2024/03/harbour-wall").await;
    assert_eq!(wall["commentsOpen"], false);
    assert_eq!(wall["commentCount"], 1);
    assert_eq!(thread(&app, "about").await, Value::Null);

    let token = moderator_token(&app).await;
    let pending = app
        .gql_as(&token, QUEUE, json!({ "status": "PENDING" }))
        .await;
    assert_eq!(
        pending["data"]["moderationQueue"]["nodes"],
        json!([{ "authorName": "Ailsa Grant", "authorEmail": "ailsa@example.com" }])
    );
    let hidden = app
        .gql_as(&token, QUEUE, json!({ "status": "HIDDEN" }))
        .await;
    assert_eq!(names(&hidden["data"]["moderationQueue"]), ["Cheap Watches"]);
    app.stop().await;
}

async fn wordpress_pingbacks_and_trackbacks_come_in_when_asked_for(backend: Backend) {
    let db = TestDb::create(backend).await;
    let file = fixture("wordpress.xml");

    let output = parley(
        &db,
        &[
            "import",
            "wordpress",
            file.to_str().unwrap(),
            "--include-pingbacks",
        ],
    )
    .await;

    assert_success(&output);
    let summary = stdout(&output);
    assert!(
        summary.contains("Imported 7 comments (5 approved"),
        "{summary}"
    );
    assert!(
        summary.contains("1 comments: email not valid: email address is required"),
        "a pingback without an email is checked like any comment: {summary}"
    );
    assert!(!summary.contains("pingback or trackback"), "{summary}");
    let app = start_on(&db).await;
    let wall = thread(&app, "2024/03/harbour-wall").await;
    assert_eq!(names(&wall["comments"]), ["Fiona Mackay", "Coastal Walks"]);
    assert_eq!(
        wall["comments"]["nodes"][1]["body"],
        "**The harbour loop walk** passes the repaired wall."
    );
    app.stop().await;
}

async fn disqus_import_brings_threads_and_moves_up_replies_to_deleted_posts(backend: Backend) {
    let db = TestDb::create(backend).await;
    let file = fixture("disqus.xml");
    let file = file.to_str().unwrap();

    let first = parley(&db, &["import", "disqus", file]).await;
    let second = parley(&db, &["import", "disqus", file]).await;

    assert_success(&first);
    let summary = stdout(&first);
    assert!(
        summary.contains("Imported 6 comments (5 approved, 1 hidden) on 2 articles (2 new"),
        "{summary}"
    );
    assert!(summary.contains("1 replies moved up"), "{summary}");
    assert!(summary.contains("1 comments: deleted"), "{summary}");
    assert!(
        summary.contains("1 comments: on a thread the export does not describe"),
        "{summary}"
    );
    assert_success(&second);
    assert!(
        stdout(&second).contains("Imported 0 comments"),
        "{}",
        stdout(&second)
    );

    let app = start_on(&db).await;
    let library = thread(&app, "2025/01/new-library").await;
    assert_eq!(library["title"], "The new library opens its doors");
    assert_eq!(library["commentsOpen"], true);
    assert_eq!(library["commentCount"], 4);
    assert_eq!(names(&library["comments"]), ["Kirsty Allan", "Neil Shaw"]);
    let kirsty = &library["comments"]["nodes"][0];
    assert_eq!(
        kirsty["body"],
        "What a lovely building.\n\nThe reading room on the **top floor** looks over the \
         [river](https://riverside.example/river)."
    );
    assert_eq!(names(&kirsty["replies"]), ["Tom Hughes"]);
    assert_eq!(
        kirsty["replies"]["nodes"][0]["replies"]["nodes"][0]["authorName"],
        "Kirsty Allan"
    );
    let pier = thread(&app, "2024/06/old-pier").await;
    assert_eq!(pier["commentsOpen"], false);
    assert_eq!(pier["commentCount"], 1);
    assert_eq!(thread(&app, "2024/07/quiet").await, Value::Null);
    let token = moderator_token(&app).await;
    let hidden = app
        .gql_as(&token, QUEUE, json!({ "status": "HIDDEN" }))
        .await;
    assert_eq!(names(&hidden["data"]["moderationQueue"]), ["Flight Offers"]);
    app.stop().await;
}

/// The lines of an export after its first (which says when it was made).
fn records(export: &Output) -> Vec<String> {
    stdout(export).lines().skip(1).map(str::to_owned).collect()
}

async fn export_then_import_into_a_fresh_database_gives_the_same_export(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "tides").await;
    let first = app
        .post_approved(&token, "tides", "Rhona Mair", "High water at *noon*.", None)
        .await;
    app.post_approved(&token, "tides", "Calum Reid", "Thanks!", Some(&first))
        .await;
    app.post("tides", "Held Reader", "Still waiting.", None)
        .await;
    let source = app.stop().await;
    let exported = parley(&source, &["export"]).await;
    assert_success(&exported);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parley.jsonl");
    std::fs::write(&file, &exported.stdout).unwrap();
    let target = TestDb::create(backend).await;

    let imported = parley(&target, &["import", "parley", file.to_str().unwrap()]).await;
    let reimported = parley(&target, &["import", "parley", file.to_str().unwrap()]).await;
    let exported_again = parley(&target, &["export"]).await;

    assert!(
        stderr(&exported).contains("personal data"),
        "{}",
        stderr(&exported)
    );
    let lines = records(&exported);
    assert!(lines.iter().any(|l| l.contains(r#""type":"article""#)));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(r#""type":"comment""#))
            .count(),
        3
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("held.reader@readers.example"))
    );
    assert!(lines.iter().any(|l| l.contains(r#""type":"moderator""#)));
    assert!(lines.iter().any(|l| l.contains(r#""type":"audit""#)));
    assert!(
        !stdout(&exported).contains("argon2"),
        "no password hash leaves"
    );
    assert_success(&imported);
    assert!(
        stdout(&imported).contains("Imported 3 comments (2 approved, 1 pending)"),
        "{}",
        stdout(&imported)
    );
    assert_success(&reimported);
    assert!(
        stdout(&reimported).contains("Imported 0 comments"),
        "{}",
        stdout(&reimported)
    );
    assert_success(&exported_again);
    assert_eq!(records(&exported_again), lines);

    let copy = start_on(&target).await;
    let tides = thread(&copy, "tides").await;
    assert_eq!(tides["commentCount"], 2);
    assert_eq!(names(&tides["comments"]), ["Rhona Mair"]);
    assert_eq!(
        names(&tides["comments"]["nodes"][0]["replies"]),
        ["Calum Reid"]
    );
    let login = copy
        .gql(
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert!(
        login["errors"].is_array(),
        "an imported account has no password until one is set: {login}"
    );
    copy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_files_of_another_format_or_cut_short_with_a_message() {
    let db = TestDb::create(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let wordpress = std::fs::read_to_string(fixture("wordpress.xml")).unwrap();
    let after_first_post = wordpress.find("</item>").unwrap() + "</item>".len();
    let cut = dir.path().join("cut.xml");
    std::fs::write(&cut, &wordpress[..after_first_post]).unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        wordpress.replace("</wp:comment_id>", "</wp:comment>"),
    )
    .unwrap();
    let disqus = fixture("disqus.xml");
    let wxr = fixture("wordpress.xml");

    let cases = [
        (
            vec!["import", "wordpress", disqus.to_str().unwrap()],
            "not a WordPress export",
        ),
        (
            vec!["import", "disqus", wxr.to_str().unwrap()],
            "not a Disqus export",
        ),
        (
            vec!["import", "parley", wxr.to_str().unwrap()],
            "not a Parley export",
        ),
        (
            vec!["import", "wordpress", cut.to_str().unwrap()],
            "ends in the middle",
        ),
        (
            vec!["import", "wordpress", broken.to_str().unwrap()],
            "not well-formed XML",
        ),
        (
            vec!["import", "wordpress", "/no/such/file.xml"],
            "could not open /no/such/file.xml",
        ),
    ];
    for (args, message) in cases {
        let output = parley(&db, &args).await;

        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_running_sqlite_database_and_never_overwrites() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.admin_token().await;
    app.create_article(&token, "harbour").await;
    app.post_approved(&token, "harbour", "Rhona Mair", "Kept in the copy.", None)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap();

    let made = parley(&app.db, &["backup", copy_arg]).await;
    let again = parley(&app.db, &["backup", copy_arg]).await;

    assert_success(&made);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert!(
        stderr(&made).contains("is not in the copy"),
        "the backup says where its key is: {}",
        stderr(&made)
    );
    let key_file = parley::key_file::key_file_of(&app.db.sqlite_path().unwrap());
    assert!(
        !parley::key_file::key_file_of(&copy).exists(),
        "the key is not copied beside the data"
    );
    let key = std::fs::read_to_string(key_file).unwrap();
    app.stop().await;
    let backup = TestDb::external(format!("sqlite://{copy_arg}"), Some(key));
    let restored = start_on(&backup).await;
    let harbour = thread(&restored, "harbour").await;
    assert_eq!(names(&harbour["comments"]), ["Rhona Mair"]);
    restored.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_on_postgresql_points_to_pg_dump() {
    if postgres_url().is_none() {
        eprintln!("PARLEY_TEST_POSTGRES_URL is not set: skipping");
        return;
    }
    let db = TestDb::create(Backend::Postgres).await;

    let output = parley(&db, &["backup", "/tmp/never-written.db"]).await;

    assert!(!output.status.success());
    assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
    assert!(!Path::new("/tmp/never-written.db").exists());
}
