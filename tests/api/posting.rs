//! Readers posting comments: validation, statuses, replies.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    new_comment_waits_for_approval_under_pre_moderation,
    new_comment_shows_at_once_under_post_moderation,
    each_invalid_field_is_bad_user_input_naming_it_and_nothing_is_stored,
    names_that_show_nothing_or_break_the_line_are_refused,
    a_missing_field_is_bad_user_input_naming_it,
    text_is_trimmed_and_normalised_to_nfc,
    markup_is_stored_as_plain_text,
    comment_on_an_unknown_article_is_not_found,
    comment_on_a_closed_article_is_refused,
    replies_must_go_to_an_approved_comment_of_the_same_article,
    concurrent_posting_stores_every_comment,
    comment_ids_are_time_ordered_not_a_sequence,
    posts_are_logged_without_the_email,
);

fn valid_input(slug: &str) -> Value {
    json!({
        "articleSlug": slug,
        "authorName": "Ann Reader",
        "authorEmail": "ann@readers.example",
        "body": "A thoughtful remark.",
    })
}

async fn pending_count(app: &TestApp, token: &str) -> usize {
    let answer = app
        .gql_as(
            token,
            "{ moderationQueue(first: 100) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&answer);
    node_ids(&answer["data"]["moderationQueue"]).len()
}

async fn new_comment_waits_for_approval_under_pre_moderation(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;

    let answer = app.post_comment(valid_input("budget")).await;

    assert_no_errors(&answer);
    let comment = &answer["data"]["postComment"];
    assert_eq!(comment["status"], "PENDING");
    assert_eq!(comment["authorName"], "Ann Reader");
    let read = app
        .gql(
            "query($id: ID!) { article(slug: \"budget\") { commentCount comments { nodes { id } } } comment(id: $id) { id } }",
            json!({ "id": comment["id"] }),
        )
        .await;
    assert_eq!(read["data"]["article"]["commentCount"], 0);
    assert!(node_ids(&read["data"]["article"]["comments"]).is_empty());
    assert_eq!(read["data"]["comment"], Value::Null);
    assert_eq!(pending_count(&app, &token).await, 1);
}

async fn new_comment_shows_at_once_under_post_moderation(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;

    let answer = app.post_comment(valid_input("budget")).await;

    assert_eq!(answer["data"]["postComment"]["status"], "APPROVED");
    let read = app
        .gql(
            "{ article(slug: \"budget\") { commentCount comments { nodes { id body } } } }",
            json!({}),
        )
        .await;
    assert_eq!(read["data"]["article"]["commentCount"], 1);
    assert_eq!(
        read["data"]["article"]["comments"]["nodes"][0]["body"],
        "A thoughtful remark."
    );
}

async fn each_invalid_field_is_bad_user_input_naming_it_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let long_email = format!("{}@{}.example", "a".repeat(64), "b".repeat(190));
    let cases: Vec<(&str, Value)> = vec![
        ("authorName", json!("")),
        ("authorName", json!("   ")),
        ("authorName", json!("n".repeat(101))),
        ("authorName", json!("Ann\u{0007}")),
        ("authorName", json!("Ann\nReader")),
        ("authorName", json!("Ann \u{202E}redaeR")),
        ("authorName", json!("\u{2067}Ann")),
        ("authorEmail", json!("")),
        ("authorEmail", json!("not-an-address")),
        ("authorEmail", json!("ann@localhost")),
        ("authorEmail", json!("Ann <ann@readers.example>")),
        ("authorEmail", json!("ann@@readers.example")),
        ("authorEmail", json!(long_email)),
        ("body", json!("")),
        ("body", json!(" \n\t ")),
        ("body", json!("b".repeat(10_001))),
        ("body", json!("nul \u{0000} byte")),
        ("parentId", json!("not-an-id")),
        ("articleSlug", json!("")),
    ];
    for (field, value) in cases {
        let mut input = valid_input("budget");
        input[field] = value.clone();

        let answer = app.post_comment(input).await;

        assert_eq!(
            error_code(&answer),
            "BAD_USER_INPUT",
            "{field} = {value}: {answer}"
        );
        assert_eq!(error_field(&answer), field, "{field} = {value}: {answer}");
    }
    assert_eq!(
        pending_count(&app, &token).await,
        0,
        "an invalid comment was stored"
    );
}

async fn names_that_show_nothing_or_break_the_line_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let names = [
        "\u{3164}",
        "\u{3164}\u{3164}\u{3164}",
        "\u{2800}\u{2800}",
        "\u{200D}",
        "\u{200B}\u{FEFF}",
        "Ann\u{2028}Reader",
        "Ann\u{2029}Reader",
        "Ann\u{200F}",
        "\u{200E}Ann",
    ];
    for name in names {
        let mut input = valid_input("budget");
        input["authorName"] = json!(name);

        let answer = app.post_comment(input).await;

        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{name:?}: {answer}");
        assert_eq!(error_field(&answer), "authorName", "{name:?}: {answer}");
    }
    assert_eq!(pending_count(&app, &token).await, 0);
    let mut visible = valid_input("budget");
    visible["authorName"] = json!("\u{674E}\u{96F7}");
    assert_no_errors(&app.post_comment(visible).await);
}

async fn a_missing_field_is_bad_user_input_naming_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    for field in ["authorName", "authorEmail", "body", "articleSlug"] {
        let mut input = valid_input("budget");
        input.as_object_mut().unwrap().remove(field);

        let answer = app.post_comment(input).await;

        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
        assert_eq!(error_field(&answer), field, "{answer}");
    }
    assert_eq!(pending_count(&app, &token).await, 0);
}

async fn text_is_trimmed_and_normalised_to_nfc(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;

    let answer = app
        .post_comment(json!({
            "articleSlug": "budget",
            "authorName": "  Jose\u{0301}  ",
            "authorEmail": " jose@readers.example ",
            "body": "  Cafe\u{0301} talk\n  ",
        }))
        .await;

    assert_no_errors(&answer);
    assert_eq!(answer["data"]["postComment"]["authorName"], "Jos\u{e9}");
    assert_eq!(answer["data"]["postComment"]["body"], "Caf\u{e9} talk");
}

async fn markup_is_stored_as_plain_text(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let body = "<script>alert('x')</script>\n**bold** & <b>tags</b>";

    app.post("budget", "Mallory", body, None).await;

    let read = app
        .gql(
            "{ article(slug: \"budget\") { comments { nodes { body } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["article"]["comments"]["nodes"][0]["body"],
        body
    );
}

async fn comment_on_an_unknown_article_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app.post_comment(valid_input("no-such-article")).await;

    assert_eq!(error_code(&answer), "NOT_FOUND");
}

async fn comment_on_a_closed_article_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let closed = app
        .gql_as(
            &token,
            "mutation { upsertArticle(input: { slug: \"archive\", title: \"Old news\", commentsOpen: false }) { commentsOpen } }",
            json!({}),
        )
        .await;
    assert_eq!(closed["data"]["upsertArticle"]["commentsOpen"], false);

    let answer = app.post_comment(valid_input("archive")).await;

    assert_eq!(error_code(&answer), "COMMENTS_CLOSED");
    assert_eq!(pending_count(&app, &token).await, 0);
}

async fn replies_must_go_to_an_approved_comment_of_the_same_article(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    app.create_article(&token, "sports").await;
    let pending = app.post("budget", "Pat", "pending", None).await;
    let approved = app
        .post_approved(&token, "budget", "Ann", "approved", None)
        .await;
    let elsewhere = app
        .post_approved(&token, "sports", "Sam", "other article", None)
        .await;
    let unknown = uuid::Uuid::now_v7().to_string();

    for parent in [&pending, &elsewhere, &unknown] {
        let mut input = valid_input("budget");
        input["parentId"] = json!(parent);
        let answer = app.post_comment(input).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
        assert_eq!(error_field(&answer), "parentId");
    }

    let mut input = valid_input("budget");
    input["parentId"] = json!(approved);
    let answer = app.post_comment(input).await;
    assert_no_errors(&answer);
    assert_eq!(answer["data"]["postComment"]["parentId"], json!(approved));
}

async fn concurrent_posting_stores_every_comment(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "busy").await;

    let posts = (0..40).map(|i| {
        let app = &app;
        async move {
            app.post_comment(json!({
                "articleSlug": "busy",
                "authorName": format!("Reader {i}"),
                "authorEmail": format!("reader{i}@readers.example"),
                "body": format!("comment number {i}"),
            }))
            .await
        }
    });
    let answers = futures_util::future::join_all(posts).await;

    for answer in &answers {
        assert_no_errors(answer);
    }
    assert_eq!(pending_count(&app, &token).await, 40);
}

/// Ids are UUIDv7: they tell nothing of how many comments there are, and
/// they sort in the order comments were posted.
async fn comment_ids_are_time_ordered_not_a_sequence(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;

    let mut posted = Vec::new();
    for n in 0..5 {
        let before = chrono::Utc::now().timestamp_millis();
        let answer = app
            .post_comment(json!({
                "articleSlug": "budget",
                "authorName": format!("Reader {n}"),
                "authorEmail": format!("reader{n}@readers.example"),
                "body": format!("comment {n}"),
            }))
            .await;
        let after = chrono::Utc::now().timestamp_millis();
        assert_no_errors(&answer);
        posted.push((answer["data"]["postComment"].clone(), before, after));
    }

    let mut ids = Vec::new();
    for (comment, before, after) in &posted {
        let id = comment["id"].as_str().unwrap();
        assert!(id.parse::<u64>().is_err());
        let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("{id} is not a UUID"));
        assert_eq!(uuid.get_version_num(), 7, "{id} is not a UUIDv7");
        let (seconds, nanos) = uuid.get_timestamp().expect("a timestamp").to_unix();
        let millis = i64::try_from(seconds).unwrap() * 1000 + i64::from(nanos / 1_000_000);
        assert!(
            (*before..=*after).contains(&millis),
            "{id} was made at {millis}, not while it was posted ({before}..={after})"
        );
        let created = chrono::DateTime::parse_from_rfc3339(comment["createdAt"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        assert!(
            (millis - created).abs() <= 1,
            "{id} against createdAt {created}"
        );
        ids.push(uuid);
    }
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids sort in the order of posting: {ids:?}"
    );
}

/// The suite scans the servers' logs for every email submitted, as it scans
/// answers (see `helpers.rs`); here the log is seen to be captured at all.
async fn posts_are_logged_without_the_email(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;

    let id = app
        .post("budget", "Logged Reader", "a logged comment", None)
        .await;

    let logs = app.logs();
    assert!(
        logs.lines().any(|line| line.contains("INFO")
            && line.contains("comment posted")
            && line.contains(&id)),
        "the post is in the captured log at info: {logs}"
    );
    assert!(!logs.contains("logged.reader@readers.example"), "{logs}");
    app.assert_no_email_in_logs();
}
