//! Mail: reply notifications with double opt-in and one-click unsubscribe,
//! sent through a real SMTP server on loopback (aiosmtpd, from Debian's
//! `python3-aiosmtpd`) that keeps every mail it receives in a Maildir; and
//! an outbox that loses no mail when the server is killed.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;
use crate::process::{Server, create_article};

on_both_databases!(
    without_mail_nothing_that_needs_it_is_offered,
    reply_notifications_need_a_confirmed_address_and_stop_on_unsubscribe,
    the_outbox_loses_no_mail_when_the_server_is_killed,
    a_deleted_reply_takes_its_mail_back_and_unconfirmed_addresses_are_forgotten,
);

/// Where the tests' mail goes.
struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// One mail as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn to(&self) -> &str {
        self.headers.get("x-rcptto").map_or("", String::as_str)
    }

    /// The first link in the body to Parley's page `path`.
    fn link(&self, path: &str) -> String {
        let start = self
            .body
            .find(&format!("http://parley.test{path}?token="))
            .unwrap_or_else(|| panic!("no {path} link in {}", self.body));
        self.body[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}

impl SmtpSink {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd runs (Debian's python3-aiosmtpd; .ci/run installs it)");
        let sink = Self { child, dir, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sink
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        let new = self.dir.path().join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let mut mails: Vec<(std::time::SystemTime, Received)> = entries
            .filter_map(Result::ok)
            .map(|entry| {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let time = entry.metadata().unwrap().modified().unwrap();
                (time, parse(&text))
            })
            .collect();
        mails.sort_by_key(|(time, _)| *time);
        mails.into_iter().map(|(_, mail)| mail).collect()
    }

    fn received_by(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|mail| mail.to() == address)
            .collect()
    }

    async fn wait_for(&self, address: &str, count: usize) -> Vec<Received> {
        wait_until(Duration::from_secs(20), "the mail arrives", || async {
            self.received_by(address).len() >= count
        })
        .await;
        self.received_by(address)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headers (lower-cased names, folded lines joined) and the decoded body.
fn parse(text: &str) -> Received {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut last: Option<String> = None;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(name) = &last {
                headers.get_mut(name).unwrap().push_str(line.trim_start());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_lowercase();
            headers.insert(name.clone(), value.trim().to_owned());
            last = Some(name);
        }
    }
    let encoding = headers
        .get("content-transfer-encoding")
        .map(|e| e.to_lowercase())
        .unwrap_or_default();
    let body = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap(),
            )
            .unwrap()
        }
        _ => body.to_owned(),
    };
    Received { headers, body }
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn mail_settings(sink: &SmtpSink) -> parley::config::MailConfig {
    parley::config::MailConfig::new(
        &sink.url(),
        "Comments <comments@news.example>",
        url::Url::parse("http://parley.test").unwrap(),
    )
}

/// A link from a mail, to the running server.
fn to_server(link: &str, base: &str) -> String {
    link.replace("http://parley.test", base)
}

const POST_WITH_NOTIFY: &str =
    "mutation($input: PostCommentInput!) { postComment(input: $input) { id status } }";

async fn without_mail_nothing_that_needs_it_is_offered(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "quiet").await;
    let form = app
        .gql(
            "{ commentForm(articleSlug: \"quiet\") { notifyReplies } }",
            json!({}),
        )
        .await;
    assert_eq!(form["data"]["commentForm"]["notifyReplies"], false);
    let refused = app
        .gql(
            POST_WITH_NOTIFY,
            json!({ "input": {
                "articleSlug": "quiet", "authorName": "Ann",
                "authorEmail": "ann@readers.example", "body": "Tell me",
                "notifyReplies": true,
            } }),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert_eq!(error_field(&refused), "notifyReplies");
    assert_eq!(sql_number(&app, "SELECT COUNT(*) FROM comments").await, 0);
    // The pages mail links lead to are not there either.
    let page = app
        .client()
        .get(format!("{}/mail/unsubscribe?token=x", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    app.stop().await;
}

async fn post_as(
    app: &TestApp,
    slug: &str,
    name: &str,
    email: &str,
    body: &str,
    parent: Option<&str>,
    notify: bool,
) -> String {
    let answer = app
        .gql(
            POST_WITH_NOTIFY,
            json!({ "input": {
                "articleSlug": slug, "authorName": name, "authorEmail": email,
                "body": body, "parentId": parent, "notifyReplies": notify,
            } }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["postComment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn reply_notifications_need_a_confirmed_address_and_stop_on_unsubscribe(backend: Backend) {
    let sink = SmtpSink::start();
    let app = spawn_app_with(backend, |s| s.mail = Some(mail_settings(&sink))).await;
    let token = app.admin_token().await;
    let article = app
        .gql_as(
            &token,
            "mutation { upsertArticle(input: { slug: \"harbour\", title: \"The harbour wall\", url: \"https://news.example/harbour\" }) { id } }",
            json!({}),
        )
        .await;
    assert_no_errors(&article);
    let form = app
        .gql(
            "{ commentForm(articleSlug: \"harbour\") { notifyReplies } }",
            json!({}),
        )
        .await;
    assert_eq!(form["data"]["commentForm"]["notifyReplies"], true);

    let ann = "ann@readers.example";
    let first = post_as(
        &app,
        "harbour",
        "Ann",
        ann,
        "Will the wall hold?",
        None,
        true,
    )
    .await;
    app.approve(&token, &first).await;
    let confirmation = sink.wait_for(ann, 1).await.remove(0);
    assert!(
        confirmation.body.contains("To confirm, open"),
        "{}",
        confirmation.body
    );
    assert_eq!(
        confirmation
            .headers
            .get("list-unsubscribe-post")
            .map(String::as_str),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        confirmation.headers["list-unsubscribe"]
            .starts_with("<http://parley.test/mail/unsubscribe?token=")
    );
    assert!(confirmation.headers["from"].contains("comments@news.example"));

    // Unconfirmed: a reply is not mailed, and asking again the same day
    // sends no second confirmation.
    let early = post_as(
        &app,
        "harbour",
        "Bob",
        "bob@readers.example",
        "Early reply",
        Some(&first),
        false,
    )
    .await;
    app.approve(&token, &early).await;
    post_as(&app, "harbour", "Ann", ann, "Asking again", None, true).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received_by(ann).len(), 1, "nothing before confirming");

    // A forged or cut link does nothing.
    let confirm = confirmation.link("/mail/confirm");
    // Another last digit: the same address, a signature that does not hold.
    let last = if confirm.ends_with('0') { "1" } else { "0" };
    let forged = format!("{}{last}", &confirm[..confirm.len() - 1]);
    let page = app
        .client()
        .post(to_server(&forged, &app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    // Following the link (as a mail scanner does) only shows a button.
    let page = app
        .client()
        .get(to_server(&confirm, &app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let late = post_as(
        &app,
        "harbour",
        "Bea",
        "bea@readers.example",
        "Not yet",
        Some(&first),
        false,
    )
    .await;
    app.approve(&token, &late).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received_by(ann).len(), 1, "a GET confirms nothing");
    let page = app
        .client()
        .post(to_server(&confirm, &app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Confirmed"));

    let carl_reply = post_as(
        &app,
        "harbour",
        "Carl",
        "carl@readers.example",
        "It held in 1953.",
        Some(&first),
        false,
    )
    .await;
    app.approve(&token, &carl_reply).await;
    let mails = sink.wait_for(ann, 2).await;
    let notification = &mails[1];
    assert!(
        notification.body.contains("Carl replied to your comment"),
        "{}",
        notification.body
    );
    assert!(
        notification.body.contains("It held in 1953."),
        "{}",
        notification.body
    );
    assert!(
        notification.body.contains(&format!(
            "https://news.example/harbour#comment-{carl_reply}"
        )),
        "{}",
        notification.body
    );
    assert!(
        !notification.body.contains("carl@"),
        "no other reader's address"
    );

    // Hiding and approving the reply again tells her nothing more.
    app.gql_as(
        &token,
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
        json!({ "id": carl_reply }),
    )
    .await;
    app.approve(&token, &carl_reply).await;
    // Someone else typing her confirmed address, from another browser,
    // does not get replies to their comment mailed to her.
    let mallory = post_as(
        &app,
        "harbour",
        "Ann",
        ann,
        "Mallory writing as Ann",
        None,
        true,
    )
    .await;
    app.approve(&token, &mallory).await;
    let bait = post_as(
        &app,
        "harbour",
        "Mallory",
        "mallory@readers.example",
        "Spam through Ann's inbox",
        Some(&mallory),
        false,
    )
    .await;
    app.approve(&token, &bait).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sink.received_by(ann).len(),
        2,
        "no second mail for the same reply, none for another browser's comment"
    );

    // Her own reply is not mailed to her.
    let own = post_as(
        &app,
        "harbour",
        "Ann",
        ann,
        "Thanks, Carl",
        Some(&first),
        false,
    )
    .await;
    app.approve(&token, &own).await;
    // Following the unsubscribe link only shows a button.
    let unsubscribe = notification.link("/mail/unsubscribe");
    let page = app
        .client()
        .get(to_server(&unsubscribe, &app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let dan = post_as(
        &app,
        "harbour",
        "Dan",
        "dan@readers.example",
        "Dan's reply",
        Some(&first),
        false,
    )
    .await;
    app.approve(&token, &dan).await;
    let mails = sink.wait_for(ann, 3).await;
    assert!(
        mails[2].body.contains("Dan's reply"),
        "the own reply was skipped: {}",
        mails[2].body
    );
    assert!(!mails.iter().any(|m| m.body.contains("Thanks, Carl")));

    // The one-click unsubscribe of RFC 8058, as a mail client sends it.
    let one_click = mails[2].headers["list-unsubscribe"]
        .trim_matches(|c| c == '<' || c == '>')
        .to_owned();
    let done = app
        .client()
        .post(to_server(&one_click, &app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let eve = post_as(
        &app,
        "harbour",
        "Eve",
        "eve@readers.example",
        "Eve's reply",
        Some(&first),
        false,
    )
    .await;
    app.approve(&token, &eve).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sink.received_by(ann).len(),
        3,
        "nothing after unsubscribing"
    );

    // Sent mail leaves the outbox; stored addresses are sealed.
    assert_eq!(sql_number(&app, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(
        sql_number(
            &app,
            "SELECT COUNT(*) FROM mail_recipients WHERE email LIKE '%ann%'"
        )
        .await,
        0
    );
    app.stop().await;
}

async fn the_outbox_loses_no_mail_when_the_server_is_killed(backend: Backend) {
    let sink = SmtpSink::start();
    let db = TestDb::create(backend).await;
    let url = sink.url();
    let env = [
        ("PARLEY_SMTP_URL", url.as_str()),
        ("PARLEY_MAIL_FROM", "comments@news.example"),
        ("PARLEY_PUBLIC_URL", "http://parley.test"),
    ];
    let server = Server::start_with_env(&db, &env).await;
    create_article(&server, "storm").await;
    let ann = "ann@readers.example";
    let post = |name: &str, email: &str, body: &str, parent: Option<&str>, notify: bool| {
        json!({ "input": {
            "articleSlug": "storm", "authorName": name, "authorEmail": email,
            "body": body, "parentId": parent, "notifyReplies": notify,
        } })
    };
    let first = server
        .gql(
            None,
            POST_WITH_NOTIFY,
            post("Ann", ann, "Storm tonight?", None, true),
        )
        .await
        .unwrap();
    assert_no_errors(&first);
    let first = first["data"]["postComment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmation = sink.wait_for(ann, 1).await.remove(0);
    let confirmed = reqwest::Client::new()
        .post(to_server(&confirmation.link("/mail/confirm"), &server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);

    // Replies approved at once (the process runs post-moderation): each
    // writes a mail; the server is killed while it sends them.
    const REPLIES: usize = 30;
    for n in 0..REPLIES {
        let answer = server
            .gql(
                None,
                POST_WITH_NOTIFY,
                post(
                    "Reader",
                    &format!("reader{n}@readers.example"),
                    &format!("Reply number {n} here"),
                    Some(&first),
                    false,
                ),
            )
            .await
            .unwrap();
        assert_no_errors(&answer);
    }
    server.kill();
    let before_restart = sink.received_by(ann).len();

    let server = Server::start_with_env(&db, &env).await;
    let mails = sink.wait_for(ann, 1 + REPLIES).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = if sink.received_by(ann).len() > mails.len() {
        sink.received_by(ann)
    } else {
        mails
    };
    for n in 0..REPLIES {
        assert!(
            mails
                .iter()
                .any(|m| m.body.contains(&format!("Reply number {n} here"))),
            "reply {n} was lost ({before_restart} mails before the restart)"
        );
    }
    // Only a mail in flight at the kill can come twice.
    assert!(
        mails.len() <= 1 + REPLIES + 1,
        "{} mails for {} written",
        mails.len(),
        1 + REPLIES
    );
    server.kill();
}

/// The first row's text column of a query on the test database.
async fn sql_text(app: &TestApp, query: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.db.connect().await;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            query.to_owned(),
        ))
        .await
        .unwrap()
        .expect("a row");
    row.try_get_by_index::<String>(0).unwrap()
}

async fn a_deleted_reply_takes_its_mail_back_and_unconfirmed_addresses_are_forgotten(
    backend: Backend,
) {
    // Nothing listens there: every mail stays in the outbox, to be retried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = parley::config::MailConfig::new(
        &format!("smtp://127.0.0.1:{closed}"),
        "comments@news.example",
        url::Url::parse("http://parley.test").unwrap(),
    );
    let settings_config = config.clone();
    let app = spawn_app_with(backend, move |s| s.mail = Some(settings_config)).await;
    let token = app.admin_token().await;
    app.create_article(&token, "ferry").await;
    let ann = "ann@readers.example";
    let first = post_as(
        &app,
        "ferry",
        "Ann",
        ann,
        "Is the ferry running?",
        None,
        true,
    )
    .await;
    app.approve(&token, &first).await;
    assert_eq!(sql_number(&app, "SELECT COUNT(*) FROM outbox").await, 1);
    // The confirmation, read where it waits.
    let body = sql_text(&app, "SELECT body FROM outbox").await;
    let confirmation = Received {
        headers: HashMap::new(),
        body,
    };
    let confirmed = app
        .client()
        .post(to_server(&confirmation.link("/mail/confirm"), &app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);

    let reply = post_as(
        &app,
        "ferry",
        "Bob",
        "bob@readers.example",
        "Only on Sundays",
        Some(&first),
        true,
    )
    .await;
    app.approve(&token, &reply).await;
    // Bob's own confirmation, and the notification to Ann.
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM outbox").await,
        3,
        "the notification waits"
    );
    let deleted = app
        .gql_as(
            &token,
            "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
            json!({ "id": reply }),
        )
        .await;
    assert_no_errors(&deleted);
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM outbox").await,
        2,
        "the deleted reply's mail went with it; the confirmations stay"
    );

    // Bob asked and never confirmed; 31 days later the sweep forgets him,
    // and keeps Ann, who confirmed.
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM mail_recipients").await,
        2
    );
    let month_ago = parley::store::now_micros() - 31 * 24 * 3_600 * 1_000_000;
    run_sql(
        &app,
        &format!("UPDATE mail_recipients SET created_at = {month_ago}"),
    )
    .await;
    let db = app.stop().await;
    let mut settings = test_settings(&db);
    settings.mail = Some(config);
    let app = start(db, settings).await;
    wait_until(
        Duration::from_secs(10),
        "the unconfirmed address is forgotten",
        || async { sql_number(&app, "SELECT COUNT(*) FROM mail_recipients").await == 1 },
    )
    .await;
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM mail_consents").await,
        1
    );
    app.stop().await;
}
