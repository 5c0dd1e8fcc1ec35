//! The moderation rules every new comment goes through (links, hold and
//! block words, blocked email domains, bans, pre-moderation and trusted
//! returning authors), the site-wide settings admins change at run time,
//! articles' own mode and closing, and the formatted body readers get.

use parley::domain::ModerationMode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    settings_start_from_the_documented_defaults,
    settings_are_read_by_moderators_and_changed_by_admins_only,
    a_settings_update_keeps_fields_left_out_and_is_audited,
    invalid_settings_are_bad_user_input_naming_the_field_and_change_nothing,
    settings_accept_the_edges_of_their_ranges,
    a_settings_change_applies_from_the_next_post,
    more_links_than_allowed_hold_a_comment_and_say_how_many,
    hold_words_match_whole_words_in_any_case_or_accent_in_name_email_or_body,
    a_block_word_hides_a_comment_that_the_poster_is_told_is_pending,
    blocked_email_domains_hide_their_subdomains_but_not_lookalikes,
    every_reason_that_applied_is_recorded_hidden_ones_first,
    moderation_reasons_are_refused_to_anonymous_callers,
    a_banned_authors_new_comments_are_hidden_whatever_the_case_of_the_email,
    under_pre_moderation_a_banned_author_gets_the_answer_a_first_time_poster_gets,
    under_post_moderation_a_banned_authors_comment_stays_unpublished_while_others_show,
    banning_an_author_twice_answers_the_same_ban_and_logs_once,
    unbanning_lets_the_author_post_as_before_and_is_logged,
    bans_are_listed_newest_first_a_page_at_a_time,
    bans_are_for_moderators_only,
    a_returning_author_with_their_token_and_email_is_approved_at_once,
    an_approved_authors_email_without_their_token_gets_the_first_time_answer,
    trust_needs_an_approved_comment_with_that_token_the_same_email_and_the_setting_on,
    a_malformed_author_token_is_bad_user_input,
    an_articles_own_mode_overrides_the_sites_and_null_follows_it_again,
    an_article_closes_close_after_days_after_its_creation,
    the_sites_close_after_days_applies_to_articles_without_their_own,
    an_article_close_after_days_out_of_range_is_bad_user_input,
    a_comment_form_read_before_closing_time_does_not_stay_open_after_it,
    script_and_html_payloads_come_out_inert_in_body_html,
    the_markdown_subset_becomes_html_with_marked_links,
    deeply_nested_bodies_are_shown_as_plain_text,
);

const SLUG: &str = "rules";

const POST: &str = "mutation($input: PostCommentInput!) { postComment(input: $input) { id status parentId authorName body bodyHtml createdAt authorToken } }";

const SETTINGS_FIELDS: &str = "mode maxLinks holdWords blockWords blockedEmailDomains trustReturningAuthors closeAfterDays editWindowMinutes";

fn settings_query() -> String {
    format!("{{ moderationSettings {{ {SETTINGS_FIELDS} }} }}")
}

fn update_mutation() -> String {
    format!(
        "mutation($input: ModerationSettingsInput!) {{ updateModerationSettings(input: $input) {{ {SETTINGS_FIELDS} }} }}"
    )
}

/// The settings of a new installation started in `mode`.
fn default_settings(mode: &str) -> Value {
    json!({
        "mode": mode,
        "maxLinks": 2,
        "holdWords": [],
        "blockWords": [],
        "blockedEmailDomains": [],
        "trustReturningAuthors": true,
        "closeAfterDays": 0,
        "editWindowMinutes": 15,
    })
}

/// An app in `mode` with the admin's token and the article [`SLUG`].
async fn app_with_article(backend: Backend, mode: ModerationMode) -> (TestApp, String) {
    let app = spawn_app_with(backend, |s| s.moderation = mode).await;
    let admin = app.admin_token().await;
    app.create_article(&admin, SLUG).await;
    (app, admin)
}

/// Posts anonymously and returns the whole answer.
async fn send_post(
    app: &TestApp,
    slug: &str,
    name: &str,
    email: &str,
    body: &str,
    author_token: Option<&str>,
) -> Value {
    let mut input = json!({
        "articleSlug": slug,
        "authorName": name,
        "authorEmail": email,
        "body": body,
    });
    if let Some(token) = author_token {
        input["authorToken"] = json!(token);
    }
    app.gql(POST, json!({ "input": input })).await
}

/// Posts anonymously and returns the new comment as its poster got it.
async fn post_ok(
    app: &TestApp,
    slug: &str,
    name: &str,
    email: &str,
    body: &str,
    author_token: Option<&str>,
) -> Value {
    let answer = send_post(app, slug, name, email, body, author_token).await;
    assert_no_errors(&answer);
    answer["data"]["postComment"].clone()
}

fn id_of(comment: &Value) -> String {
    comment["id"].as_str().unwrap().to_owned()
}

/// The author token of a post's answer, checked to be 43 base64url chars.
fn token_of(comment: &Value) -> String {
    let token = comment["authorToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no authorToken in {comment}"));
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "not base64url: {token}"
    );
    token.to_owned()
}

/// A comment as a moderator sees it: `{ status, moderationReasons }`.
async fn judged(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app
        .gql_as(
            token,
            "query($id: ID!) { comment(id: $id) { status moderationReasons { code detail } } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["comment"].clone()
}

/// The status a moderator sees and the reason codes, in order.
async fn status_and_codes(app: &TestApp, token: &str, id: &str) -> (String, Vec<String>) {
    let comment = judged(app, token, id).await;
    let codes = comment["moderationReasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons in {comment}"))
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    (comment["status"].as_str().unwrap().to_owned(), codes)
}

async fn update_settings(app: &TestApp, admin: &str, input: Value) -> Value {
    let answer = app
        .gql_as(admin, &update_mutation(), json!({ "input": input }))
        .await;
    assert_no_errors(&answer);
    answer["data"]["updateModerationSettings"].clone()
}

async fn read_settings(app: &TestApp, token: &str) -> Value {
    let answer = app.gql_as(token, &settings_query(), json!({})).await;
    assert_no_errors(&answer);
    answer["data"]["moderationSettings"].clone()
}

/// Whether an anonymous reader of `slug`'s thread sees a comment with `body`.
async fn readers_see(app: &TestApp, slug: &str, body: &str) -> bool {
    let answer = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments(first: 50) { nodes { body } } } }",
            json!({ "slug": slug }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["article"]["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|node| node["body"] == body)
}

/// Adds a plain moderator (not an admin) and logs them in.
async fn plain_moderator(app: &TestApp, admin: &str) -> String {
    let added = app
        .gql_as(
            admin,
            "mutation($input: AddModeratorInput!) { addModerator(input: $input) { id role } }",
            json!({ "input": {
                "email": "mia@parley.test",
                "name": "Mia",
                "role": "MODERATOR",
                "password": "another long secret",
            } }),
        )
        .await;
    assert_no_errors(&added);
    assert_eq!(added["data"]["addModerator"]["role"], "MODERATOR");
    app.login("mia@parley.test", "another long secret").await
}

const BAN: &str = "mutation($id: ID!, $reason: String) { banAuthor(commentId: $id, reason: $reason) { id reason createdAt moderator { id name } exampleComment { id authorEmail } } }";

async fn ban(app: &TestApp, token: &str, comment_id: &str) -> Value {
    let answer = app.gql_as(token, BAN, json!({ "id": comment_id })).await;
    assert_no_errors(&answer);
    answer["data"]["banAuthor"].clone()
}

/// The moderation log's entries for `action`, newest first.
async fn log_of(app: &TestApp, token: &str, action: &str) -> Vec<Value> {
    let answer = app
        .gql_as(
            token,
            &format!(
                "{{ moderationLog(action: {action}) {{ nodes {{ action moderator {{ id name }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["moderationLog"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn me(app: &TestApp, token: &str) -> Value {
    let answer = app.gql_as(token, "{ me { id name } }", json!({})).await;
    assert_no_errors(&answer);
    answer["data"]["me"].clone()
}

/// A post's answer with what differs by nature between two posts blanked:
/// the id, the time, the author token (checked first), and, when asked, the
/// text (two posts on one article cannot share a body).
fn observed(comment: &Value, blank_text: bool) -> Value {
    let mut comment = comment.clone();
    token_of(&comment);
    comment["id"] = json!("<id>");
    comment["createdAt"] = json!("<createdAt>");
    comment["authorToken"] = json!("<token>");
    if blank_text {
        comment["body"] = json!("<body>");
        comment["bodyHtml"] = json!("<bodyHtml>");
    }
    comment
}

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// Moves an article's creation back `days` days: closing by age without
/// waiting for it.
async fn age_article(app: &TestApp, slug: &str, days: i64) {
    run_sql(
        app,
        &format!(
            "UPDATE articles SET created_at = created_at - {} WHERE slug = '{slug}'",
            days * MICROS_PER_DAY
        ),
    )
    .await;
}

const UPSERT: &str = "mutation($input: ArticleInput!) { upsertArticle(input: $input) { id slug moderationMode closeAfterDays commentsOpen commentsCloseAt } }";

async fn upsert(app: &TestApp, admin: &str, input: Value) -> Value {
    let answer = app.gql_as(admin, UPSERT, json!({ "input": input })).await;
    assert_no_errors(&answer);
    answer["data"]["upsertArticle"].clone()
}

const FORM: &str = "query($slug: String!) { commentForm(articleSlug: $slug) { commentsOpen moderation editWindowMinutes } }";

async fn form(app: &TestApp, slug: &str) -> Value {
    let answer = app.gql(FORM, json!({ "slug": slug })).await;
    assert_no_errors(&answer);
    answer["data"]["commentForm"].clone()
}

// ---------------------------------------------------------------------------
// Settings

async fn settings_start_from_the_documented_defaults(backend: Backend) {
    for (mode, name) in [(ModerationMode::Pre, "PRE"), (ModerationMode::Post, "POST")] {
        let (app, admin) = app_with_article(backend, mode).await;

        let settings = read_settings(&app, &admin).await;
        let form = form(&app, SLUG).await;

        assert_eq!(settings, default_settings(name), "{mode:?}");
        assert_eq!(
            form,
            json!({ "commentsOpen": true, "moderation": name, "editWindowMinutes": 15 }),
            "{mode:?}"
        );
    }
}

async fn settings_are_read_by_moderators_and_changed_by_admins_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let mia = plain_moderator(&app, &admin).await;
    let change = json!({ "input": { "maxLinks": 7, "blockWords": ["casino"] } });

    let anonymous_read = app.gql(&settings_query(), json!({})).await;
    let moderator_read = app.gql_as(&mia, &settings_query(), json!({})).await;
    let anonymous_update = app.gql(&update_mutation(), change.clone()).await;
    let moderator_update = app.gql_as(&mia, &update_mutation(), change).await;

    assert_eq!(error_code(&anonymous_read), "UNAUTHENTICATED");
    assert_no_errors(&moderator_read);
    assert_eq!(
        moderator_read["data"]["moderationSettings"],
        default_settings("PRE")
    );
    assert_eq!(error_code(&anonymous_update), "UNAUTHENTICATED");
    assert_eq!(error_code(&moderator_update), "FORBIDDEN");
    assert_eq!(read_settings(&app, &admin).await, default_settings("PRE"));
    assert!(log_of(&app, &admin, "UPDATE_SETTINGS").await.is_empty());
}

async fn a_settings_update_keeps_fields_left_out_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let me = me(&app, &admin).await;

    let answered = update_settings(
        &app,
        &admin,
        json!({ "maxLinks": 5, "holdWords": ["bargain", "free money"] }),
    )
    .await;
    let read = read_settings(&app, &admin).await;

    let mut expected = default_settings("PRE");
    expected["maxLinks"] = json!(5);
    expected["holdWords"] = json!(["bargain", "free money"]);
    assert_eq!(answered, expected);
    assert_eq!(read, expected);
    let log = log_of(&app, &admin, "UPDATE_SETTINGS").await;
    assert_eq!(
        log,
        vec![json!({ "action": "UPDATE_SETTINGS", "moderator": me })]
    );
}

async fn invalid_settings_are_bad_user_input_naming_the_field_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let many: Vec<String> = (0..501).map(|i| format!("word{i}")).collect();
    let cases = [
        (json!({ "maxLinks": -1 }), "maxLinks"),
        (json!({ "maxLinks": 1001 }), "maxLinks"),
        (json!({ "holdWords": ["x".repeat(101)] }), "holdWords"),
        (json!({ "holdWords": many }), "holdWords"),
        (json!({ "holdWords": ["fine", "!!!"] }), "holdWords"),
        (json!({ "blockWords": ["?? --"] }), "blockWords"),
        (
            json!({ "blockedEmailDomains": ["not a domain"] }),
            "blockedEmailDomains",
        ),
        (json!({ "editWindowMinutes": -1 }), "editWindowMinutes"),
        (json!({ "editWindowMinutes": 1441 }), "editWindowMinutes"),
        (json!({ "closeAfterDays": -1 }), "closeAfterDays"),
        (json!({ "closeAfterDays": 36501 }), "closeAfterDays"),
    ];
    for (input, field) in cases {
        // A valid change alongside: a rejected update changes nothing at all.
        let mut input = input;
        input["trustReturningAuthors"] = json!(false);
        let answer = app
            .gql_as(&admin, &update_mutation(), json!({ "input": input }))
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{input}: {answer}");
        assert_eq!(error_field(&answer), field, "{input}");
    }
    assert_eq!(read_settings(&app, &admin).await, default_settings("PRE"));
    assert!(log_of(&app, &admin, "UPDATE_SETTINGS").await.is_empty());
}

async fn settings_accept_the_edges_of_their_ranges(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let five_hundred: Vec<String> = (0..500).map(|i| format!("word{i}")).collect();
    let longest = "y".repeat(100);

    let low = update_settings(
        &app,
        &admin,
        json!({ "maxLinks": 0, "editWindowMinutes": 0, "closeAfterDays": 0 }),
    )
    .await;
    let high = update_settings(
        &app,
        &admin,
        json!({
            "maxLinks": 1000,
            "editWindowMinutes": 1440,
            "closeAfterDays": 36500,
            "holdWords": five_hundred,
            "blockWords": [longest],
            "blockedEmailDomains": ["spam.example"],
        }),
    )
    .await;

    assert_eq!(low["maxLinks"], 0);
    assert_eq!(low["editWindowMinutes"], 0);
    assert_eq!(low["closeAfterDays"], 0);
    assert_eq!(high["maxLinks"], 1000);
    assert_eq!(high["editWindowMinutes"], 1440);
    assert_eq!(high["closeAfterDays"], 36500);
    assert_eq!(high["holdWords"].as_array().unwrap().len(), 500);
    assert_eq!(high["blockWords"], json!([longest]));
    assert_eq!(high["blockedEmailDomains"], json!(["spam.example"]));
    assert_eq!(read_settings(&app, &admin).await, high);
    assert_eq!(log_of(&app, &admin, "UPDATE_SETTINGS").await.len(), 2);
}

async fn a_settings_change_applies_from_the_next_post(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    let before = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@readers.example",
        "Casino night!",
        None,
    )
    .await;

    update_settings(&app, &admin, json!({ "blockWords": ["casino"] })).await;
    let blocked = post_ok(
        &app,
        SLUG,
        "Bob",
        "bob@readers.example",
        "Another casino night!",
        None,
    )
    .await;
    update_settings(&app, &admin, json!({ "mode": "PRE" })).await;
    let held = post_ok(&app, SLUG, "Cy", "cy@readers.example", "Plain words.", None).await;

    assert_eq!(before["status"], "APPROVED");
    assert_eq!(
        judged(&app, &admin, &id_of(&before)).await,
        json!({ "status": "APPROVED", "moderationReasons": [] })
    );
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&blocked)).await,
        ("HIDDEN".to_owned(), vec!["BLOCK_WORD".to_owned()])
    );
    assert_eq!(
        judged(&app, &admin, &id_of(&held)).await,
        json!({ "status": "PENDING", "moderationReasons": [
            { "code": "PRE_MODERATION", "detail": "comments wait for a moderator on this article" }
        ] })
    );
    assert_eq!(form(&app, SLUG).await["moderation"], "PRE");
}

// ---------------------------------------------------------------------------
// The rules

async fn more_links_than_allowed_hold_a_comment_and_say_how_many(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;

    let three = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@readers.example",
        "See [a](https://a.example), <https://b.example> and https://c.example",
        None,
    )
    .await;
    let two = post_ok(
        &app,
        SLUG,
        "Bob",
        "bob@readers.example",
        "See [a](https://a.example) and https://c.example",
        None,
    )
    .await;

    assert_eq!(three["status"], "PENDING");
    assert_eq!(
        judged(&app, &admin, &id_of(&three)).await,
        json!({ "status": "PENDING", "moderationReasons": [
            { "code": "LINKS", "detail": "3 links, more than 2" }
        ] })
    );
    assert_eq!(two["status"], "APPROVED");
    assert_eq!(
        judged(&app, &admin, &id_of(&two)).await,
        json!({ "status": "APPROVED", "moderationReasons": [] })
    );
}

async fn hold_words_match_whole_words_in_any_case_or_accent_in_name_email_or_body(
    backend: Backend,
) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    update_settings(&app, &admin, json!({ "holdWords": ["Café", "free money"] })).await;
    let held = [
        (
            "Ann",
            "ann@readers.example",
            "Meet me at the CAFE tomorrow.",
            "\"Café\" in the body",
        ),
        (
            "Cafe Owner",
            "owner@readers.example",
            "Hello there.",
            "\"Café\" in the name",
        ),
        (
            "Bob",
            "bob.cafe@readers.example",
            "Hello from Bob.",
            "\"Café\" in the email",
        ),
        (
            "Cy",
            "cy@readers.example",
            "Get FREE   Money now",
            "\"free money\" in the body",
        ),
        (
            "Dee",
            "dee@readers.example",
            "un café, s'il vous plaît",
            "\"Café\" in the body",
        ),
    ];
    let passed = [
        ("Eve", "eve@readers.example", "The cafeteria is open."),
        ("Fay", "fay@readers.example", "Free of money worries."),
        ("Gus", "gus@readers.example", "decafe please"),
    ];

    for (name, email, body, detail) in held {
        let posted = post_ok(&app, SLUG, name, email, body, None).await;
        assert_eq!(posted["status"], "PENDING", "{body}");
        assert_eq!(
            judged(&app, &admin, &id_of(&posted)).await,
            json!({ "status": "PENDING", "moderationReasons": [
                { "code": "HOLD_WORD", "detail": detail }
            ] }),
            "{name} {body}"
        );
    }
    for (name, email, body) in passed {
        let posted = post_ok(&app, SLUG, name, email, body, None).await;
        assert_eq!(
            judged(&app, &admin, &id_of(&posted)).await,
            json!({ "status": "APPROVED", "moderationReasons": [] }),
            "{body}"
        );
    }
}

async fn a_block_word_hides_a_comment_that_the_poster_is_told_is_pending(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    update_settings(&app, &admin, json!({ "blockWords": ["casino"] })).await;
    let body = "Best CASINO bonuses here";

    let posted = post_ok(&app, SLUG, "Ann", "ann@readers.example", body, None).await;

    assert_eq!(posted["status"], "PENDING");
    assert_eq!(
        judged(&app, &admin, &id_of(&posted)).await,
        json!({ "status": "HIDDEN", "moderationReasons": [
            { "code": "BLOCK_WORD", "detail": "\"casino\" in the body" }
        ] })
    );
    assert!(!readers_see(&app, SLUG, body).await);
}

async fn blocked_email_domains_hide_their_subdomains_but_not_lookalikes(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    update_settings(
        &app,
        &admin,
        json!({ "blockedEmailDomains": ["spam.example"] }),
    )
    .await;
    let cases = [
        ("a@spam.example", true),
        ("b@mx.SPAM.example", true),
        ("c@Spam.Example", true),
        ("d@notspam.example", false),
        ("e@spam.example.org", false),
        ("f@spam-example.com", false),
    ];

    for (i, (email, hidden)) in cases.into_iter().enumerate() {
        let body = format!("Comment number {i}.");
        let posted = post_ok(&app, SLUG, "Reader", email, &body, None).await;
        let seen = judged(&app, &admin, &id_of(&posted)).await;
        if hidden {
            assert_eq!(posted["status"], "PENDING", "{email}");
            assert_eq!(
                seen,
                json!({ "status": "HIDDEN", "moderationReasons": [
                    { "code": "BLOCKED_EMAIL_DOMAIN", "detail": "email domain spam.example is blocked" }
                ] }),
                "{email}"
            );
        } else {
            assert_eq!(posted["status"], "APPROVED", "{email}");
            assert_eq!(
                seen,
                json!({ "status": "APPROVED", "moderationReasons": [] }),
                "{email}"
            );
        }
        assert_eq!(readers_see(&app, SLUG, &body).await, !hidden, "{email}");
    }
}

async fn every_reason_that_applied_is_recorded_hidden_ones_first(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    update_settings(
        &app,
        &admin,
        json!({
            "blockWords": ["casino"],
            "holdWords": ["bargain"],
            "blockedEmailDomains": ["spam.example"],
        }),
    )
    .await;
    let first = post_ok(&app, SLUG, "Ann", "ann@spam.example", "Hello.", None).await;
    ban(&app, &admin, &id_of(&first)).await;

    let everything = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@spam.example",
        "casino bargain [a](https://a.example) [b](https://b.example) [c](https://c.example)",
        None,
    )
    .await;

    let seen = judged(&app, &admin, &id_of(&everything)).await;
    assert_eq!(seen["status"], "HIDDEN");
    let reasons = seen["moderationReasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 5, "{seen}");
    let mut hiding: Vec<Value> = reasons[..3].to_vec();
    let mut holding: Vec<Value> = reasons[3..].to_vec();
    let key = |r: &Value| r["code"].as_str().unwrap().to_owned();
    hiding.sort_by_key(key);
    holding.sort_by_key(key);
    assert_eq!(
        hiding,
        vec![
            json!({ "code": "BANNED", "detail": "the author is banned" }),
            json!({ "code": "BLOCKED_EMAIL_DOMAIN", "detail": "email domain spam.example is blocked" }),
            json!({ "code": "BLOCK_WORD", "detail": "\"casino\" in the body" }),
        ],
        "{seen}"
    );
    assert_eq!(
        holding,
        vec![
            json!({ "code": "HOLD_WORD", "detail": "\"bargain\" in the body" }),
            json!({ "code": "LINKS", "detail": "3 links, more than 2" }),
        ],
        "{seen}"
    );
}

async fn moderation_reasons_are_refused_to_anonymous_callers(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    let published = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Visible.", None).await;

    let on_post = app
        .gql(
            "mutation($input: PostCommentInput!) { postComment(input: $input) { id moderationReasons { code } } }",
            json!({ "input": {
                "articleSlug": SLUG,
                "authorName": "Bob",
                "authorEmail": "bob@readers.example",
                "body": "Asking for my reasons.",
            } }),
        )
        .await;
    let on_comment = app
        .gql(
            "query($id: ID!) { comment(id: $id) { id moderationReasons { code } } }",
            json!({ "id": id_of(&published) }),
        )
        .await;
    let on_thread = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments { nodes { id moderationReasons { code } } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    let for_moderator = judged(&app, &admin, &id_of(&published)).await;

    for answer in [&on_post, &on_comment, &on_thread] {
        assert_eq!(error_code(answer), "FORBIDDEN", "{answer}");
        assert!(
            !answer.to_string().contains("moderationReasons\":["),
            "{answer}"
        );
    }
    // The refused field is left out of the answer (or its parent nulled).
    for comment in [
        &on_post["data"]["postComment"],
        &on_comment["data"]["comment"],
    ] {
        assert_eq!(comment.get("moderationReasons"), None, "{comment}");
    }
    assert_eq!(
        for_moderator,
        json!({ "status": "APPROVED", "moderationReasons": [] })
    );
}

// ---------------------------------------------------------------------------
// Bans

async fn a_banned_authors_new_comments_are_hidden_whatever_the_case_of_the_email(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    let first = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Before.", None).await;
    ban(&app, &admin, &id_of(&first)).await;

    let same = post_ok(&app, SLUG, "Ann", "ann@readers.example", "After one.", None).await;
    let shouted = post_ok(
        &app,
        SLUG,
        "Ann B",
        "ANN@Readers.EXAMPLE",
        "After two.",
        None,
    )
    .await;

    for posted in [&same, &shouted] {
        assert_eq!(posted["status"], "PENDING", "{posted}");
        assert_eq!(
            judged(&app, &admin, &id_of(posted)).await,
            json!({ "status": "HIDDEN", "moderationReasons": [
                { "code": "BANNED", "detail": "the author is banned" }
            ] })
        );
    }
    assert!(
        readers_see(&app, SLUG, "Before.").await,
        "earlier comments stay"
    );
}

async fn under_pre_moderation_a_banned_author_gets_the_answer_a_first_time_poster_gets(
    backend: Backend,
) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    app.create_article(&admin, "other").await;
    let first = post_ok(
        &app,
        SLUG,
        "Reader",
        "ann@readers.example",
        "Earlier.",
        None,
    )
    .await;
    ban(&app, &admin, &id_of(&first)).await;
    let body = "The same words from both.";

    // The same name and body, on two articles (a body is taken once per
    // article).
    let banned = post_ok(&app, SLUG, "Reader", "ann@readers.example", body, None).await;
    let newcomer = post_ok(&app, "other", "Reader", "new@readers.example", body, None).await;

    assert_eq!(observed(&banned, false), observed(&newcomer, false));
    assert_eq!(banned["status"], "PENDING");
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&banned)).await,
        ("HIDDEN".to_owned(), vec!["BANNED".to_owned()])
    );
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&newcomer)).await,
        ("PENDING".to_owned(), vec!["PRE_MODERATION".to_owned()])
    );
    for id in [id_of(&banned), id_of(&newcomer)] {
        let read = app
            .gql(
                "query($id: ID!) { comment(id: $id) { id status } }",
                json!({ "id": id }),
            )
            .await;
        assert_no_errors(&read);
        assert_eq!(read["data"]["comment"], Value::Null);
    }
}

async fn under_post_moderation_a_banned_authors_comment_stays_unpublished_while_others_show(
    backend: Backend,
) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    let first = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Earlier.", None).await;
    ban(&app, &admin, &id_of(&first)).await;

    let banned = post_ok(&app, SLUG, "Ann", "ann@readers.example", "From Ann.", None).await;
    let other = post_ok(&app, SLUG, "Bob", "bob@readers.example", "From Bob.", None).await;

    assert_eq!(banned["status"], "PENDING");
    assert_eq!(other["status"], "APPROVED");
    assert!(!readers_see(&app, SLUG, "From Ann.").await);
    assert!(readers_see(&app, SLUG, "From Bob.").await);
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&banned)).await,
        ("HIDDEN".to_owned(), vec!["BANNED".to_owned()])
    );
}

async fn banning_an_author_twice_answers_the_same_ban_and_logs_once(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    let me = me(&app, &admin).await;
    let first = post_ok(&app, SLUG, "Ann", "ann@readers.example", "One.", None).await;
    let second = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Two.", None).await;
    let shouted = post_ok(&app, SLUG, "Ann", "ANN@READERS.EXAMPLE", "Three.", None).await;

    let made = app
        .gql_as(
            &admin,
            BAN,
            json!({ "id": id_of(&first), "reason": "spam links" }),
        )
        .await;
    let again = app
        .gql_as(
            &admin,
            BAN,
            json!({ "id": id_of(&second), "reason": "other" }),
        )
        .await;
    let by_case = app
        .gql_as(&admin, BAN, json!({ "id": id_of(&shouted) }))
        .await;

    assert_no_errors(&made);
    let made = &made["data"]["banAuthor"];
    assert_eq!(made["reason"], "spam links");
    assert_eq!(made["moderator"], me);
    assert_eq!(
        made["exampleComment"],
        json!({ "id": id_of(&first), "authorEmail": "ann@readers.example" })
    );
    for answer in [&again, &by_case] {
        assert_no_errors(answer);
        assert_eq!(&answer["data"]["banAuthor"], made, "{answer}");
    }
    let log = log_of(&app, &admin, "BAN_AUTHOR").await;
    assert_eq!(
        log,
        vec![json!({ "action": "BAN_AUTHOR", "moderator": me })]
    );
    let bans = app
        .gql_as(&admin, "{ bans { nodes { id } } }", json!({}))
        .await;
    assert_eq!(node_ids(&bans["data"]["bans"]), vec![id_of(made)]);
}

async fn unbanning_lets_the_author_post_as_before_and_is_logged(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    let me = me(&app, &admin).await;
    let first = post_ok(&app, SLUG, "Ann", "ann@readers.example", "One.", None).await;
    let ban_id = id_of(&ban(&app, &admin, &id_of(&first)).await);
    let while_banned = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Two.", None).await;
    let unban = "mutation($id: ID!) { unbanAuthor(id: $id) { id } }";

    let lifted = app.gql_as(&admin, unban, json!({ "id": ban_id })).await;
    let after = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Three.", None).await;
    let again = app.gql_as(&admin, unban, json!({ "id": ban_id })).await;

    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&while_banned))
            .await
            .0,
        "HIDDEN"
    );
    assert_no_errors(&lifted);
    assert_eq!(lifted["data"]["unbanAuthor"]["id"], json!(ban_id));
    assert_eq!(after["status"], "APPROVED");
    assert_eq!(
        judged(&app, &admin, &id_of(&after)).await,
        json!({ "status": "APPROVED", "moderationReasons": [] })
    );
    assert!(readers_see(&app, SLUG, "Three.").await);
    assert_eq!(error_code(&again), "NOT_FOUND");
    assert_eq!(
        log_of(&app, &admin, "UNBAN_AUTHOR").await,
        vec![json!({ "action": "UNBAN_AUTHOR", "moderator": me })]
    );
    let bans = app
        .gql_as(&admin, "{ bans { nodes { id } } }", json!({}))
        .await;
    assert!(node_ids(&bans["data"]["bans"]).is_empty());
}

async fn bans_are_listed_newest_first_a_page_at_a_time(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    let mut ban_ids = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        let email = format!("{}@readers.example", name.to_lowercase());
        let posted = post_ok(&app, SLUG, name, &email, &format!("From {name}."), None).await;
        ban_ids.push(id_of(&ban(&app, &admin, &id_of(&posted)).await));
    }
    let page = "query($after: String) { bans(first: 2, after: $after) { nodes { id } edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";

    let first = app.gql_as(&admin, page, json!({})).await;
    let end = first["data"]["bans"]["pageInfo"]["endCursor"].clone();
    let second = app.gql_as(&admin, page, json!({ "after": end })).await;

    assert_no_errors(&first);
    assert_no_errors(&second);
    let first = &first["data"]["bans"];
    let second = &second["data"]["bans"];
    assert_eq!(
        node_ids(first),
        vec![ban_ids[2].clone(), ban_ids[1].clone()]
    );
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["edges"][1]["node"]["id"], json!(ban_ids[1]));
    assert_eq!(first["edges"][1]["cursor"], first["pageInfo"]["endCursor"]);
    assert_eq!(node_ids(second), vec![ban_ids[0].clone()]);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
}

async fn bans_are_for_moderators_only(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Post).await;
    let mia = plain_moderator(&app, &admin).await;
    let ann = post_ok(&app, SLUG, "Ann", "ann@readers.example", "From Ann.", None).await;
    let bob = post_ok(&app, SLUG, "Bob", "bob@readers.example", "From Bob.", None).await;
    let list = "{ bans { nodes { id } } }";

    let anonymous_ban = app.gql(BAN, json!({ "id": id_of(&ann) })).await;
    let anonymous_list = app.gql(list, json!({})).await;
    let by_moderator = app.gql_as(&mia, BAN, json!({ "id": id_of(&bob) })).await;
    let anonymous_unban = app
        .gql(
            "mutation($id: ID!) { unbanAuthor(id: $id) { id } }",
            json!({ "id": by_moderator["data"]["banAuthor"]["id"] }),
        )
        .await;
    let ann_after = post_ok(&app, SLUG, "Ann", "ann@readers.example", "Ann again.", None).await;

    assert_eq!(error_code(&anonymous_ban), "UNAUTHENTICATED");
    assert_eq!(error_code(&anonymous_list), "UNAUTHENTICATED");
    assert_eq!(error_code(&anonymous_unban), "UNAUTHENTICATED");
    assert_no_errors(&by_moderator);
    assert_eq!(ann_after["status"], "APPROVED", "Ann was not banned");
    let bans = app.gql_as(&admin, list, json!({})).await;
    assert_eq!(
        node_ids(&bans["data"]["bans"]),
        vec![
            by_moderator["data"]["banAuthor"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        ]
    );
}

// ---------------------------------------------------------------------------
// Trusted returning authors

async fn a_returning_author_with_their_token_and_email_is_approved_at_once(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    let first = post_ok(&app, SLUG, "Ann", "ann@readers.example", "My first.", None).await;
    let token = token_of(&first);
    app.approve(&admin, &id_of(&first)).await;

    let second = post_ok(
        &app,
        SLUG,
        "Ann",
        "Ann@Readers.Example",
        "My second.",
        Some(&token),
    )
    .await;

    assert_eq!(first["status"], "PENDING");
    assert_eq!(second["status"], "APPROVED");
    token_of(&second);
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&second)).await,
        ("APPROVED".to_owned(), vec!["TRUSTED_AUTHOR".to_owned()])
    );
    assert!(readers_see(&app, SLUG, "My second.").await);
    // The token is in the post's answer only.
    let later = app
        .gql_as(
            &admin,
            "query($id: ID!) { comment(id: $id) { authorToken } }",
            json!({ "id": id_of(&second) }),
        )
        .await;
    assert_eq!(later["data"]["comment"]["authorToken"], Value::Null);
    let thread = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments { nodes { authorToken } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_eq!(
        thread["data"]["article"]["comments"]["nodes"],
        json!([{ "authorToken": null }, { "authorToken": null }])
    );
}

async fn an_approved_authors_email_without_their_token_gets_the_first_time_answer(
    backend: Backend,
) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    let victim = post_ok(
        &app,
        SLUG,
        "Reader",
        "ann@readers.example",
        "Ann's own.",
        None,
    )
    .await;
    app.approve(&admin, &id_of(&victim)).await;
    // A token anyone can get: the one of their own post.
    let own = post_ok(&app, SLUG, "Reader", "me@readers.example", "Mine.", None).await;
    let someone_elses = token_of(&own);

    let guessed = [
        post_ok(
            &app,
            SLUG,
            "Reader",
            "ann@readers.example",
            "Guess one.",
            None,
        )
        .await,
        post_ok(
            &app,
            SLUG,
            "Reader",
            "ANN@readers.example",
            "Guess two.",
            Some(&someone_elses),
        )
        .await,
    ];
    let never_seen = [
        post_ok(
            &app,
            SLUG,
            "Reader",
            "nobody@readers.example",
            "Never one.",
            None,
        )
        .await,
        post_ok(
            &app,
            SLUG,
            "Reader",
            "none@readers.example",
            "Never two.",
            Some(&someone_elses),
        )
        .await,
    ];

    for (guess, never) in guessed.iter().zip(&never_seen) {
        assert_eq!(observed(guess, true), observed(never, true));
        assert_eq!(guess["status"], "PENDING");
        assert_eq!(
            judged(&app, &admin, &id_of(guess)).await,
            json!({ "status": "PENDING", "moderationReasons": [
                { "code": "PRE_MODERATION", "detail": "comments wait for a moderator on this article" }
            ] })
        );
    }
    assert!(!readers_see(&app, SLUG, "Guess one.").await);
    assert!(!readers_see(&app, SLUG, "Guess two.").await);
}

async fn trust_needs_an_approved_comment_with_that_token_the_same_email_and_the_setting_on(
    backend: Backend,
) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    let first = post_ok(&app, SLUG, "Ann", "ann@readers.example", "First.", None).await;
    let token = token_of(&first);
    let before_approval = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@readers.example",
        "While the first waits.",
        Some(&token),
    )
    .await;
    app.approve(&admin, &id_of(&first)).await;
    let other_email = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann.other@readers.example",
        "From another address.",
        Some(&token),
    )
    .await;
    update_settings(&app, &admin, json!({ "trustReturningAuthors": false })).await;
    let trust_off = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@readers.example",
        "With trust off.",
        Some(&token),
    )
    .await;
    update_settings(&app, &admin, json!({ "trustReturningAuthors": true })).await;
    let trust_on = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@readers.example",
        "With trust on.",
        Some(&token),
    )
    .await;

    for (posted, what) in [
        (&before_approval, "earlier comment still pending"),
        (&other_email, "another email"),
        (&trust_off, "trustReturningAuthors off"),
    ] {
        assert_eq!(posted["status"], "PENDING", "{what}");
        assert_eq!(
            status_and_codes(&app, &admin, &id_of(posted)).await,
            ("PENDING".to_owned(), vec!["PRE_MODERATION".to_owned()]),
            "{what}"
        );
    }
    assert_eq!(trust_on["status"], "APPROVED");
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&trust_on)).await,
        ("APPROVED".to_owned(), vec!["TRUSTED_AUTHOR".to_owned()])
    );
}

async fn a_malformed_author_token_is_bad_user_input(backend: Backend) {
    let (app, admin) = app_with_article(backend, ModerationMode::Pre).await;
    let malformed = [
        "not-a-token".to_owned(),
        "+".repeat(43),
        "A".repeat(44),
        "A".repeat(42),
    ];

    for (i, token) in malformed.iter().enumerate() {
        let answer = send_post(
            &app,
            SLUG,
            "Ann",
            "ann@readers.example",
            &format!("Attempt {i}."),
            Some(token),
        )
        .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{token}: {answer}");
        assert_eq!(error_field(&answer), "authorToken", "{token}");
    }
    let queue = app
        .gql_as(&admin, "{ moderationQueue { nodes { id } } }", json!({}))
        .await;
    assert!(node_ids(&queue["data"]["moderationQueue"]).is_empty());
}

// ---------------------------------------------------------------------------
// Articles' own mode and closing

async fn an_articles_own_mode_overrides_the_sites_and_null_follows_it_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let created = upsert(
        &app,
        &admin,
        json!({ "slug": "loose", "title": "Loose", "mode": "POST" }),
    )
    .await;
    let strict = upsert(
        &app,
        &admin,
        json!({ "slug": "strict", "title": "Strict", "mode": "PRE" }),
    )
    .await;
    let loose_form = form(&app, "loose").await;
    let approved = post_ok(
        &app,
        "loose",
        "Ann",
        "ann@readers.example",
        "Shown at once.",
        None,
    )
    .await;
    let kept = upsert(&app, &admin, json!({ "slug": "loose", "title": "Loose 2" })).await;
    let followed = upsert(
        &app,
        &admin,
        json!({ "slug": "loose", "title": "Loose 3", "mode": null }),
    )
    .await;
    let following_form = form(&app, "loose").await;
    let held = post_ok(
        &app,
        "loose",
        "Bob",
        "bob@readers.example",
        "Waits now.",
        None,
    )
    .await;
    // The site turns to post-moderation: "strict" keeps its own mode.
    update_settings(&app, &admin, json!({ "mode": "POST" })).await;
    let strict_form = form(&app, "strict").await;
    let strict_post = post_ok(
        &app,
        "strict",
        "Cy",
        "cy@readers.example",
        "Still waits.",
        None,
    )
    .await;
    let follows_post = post_ok(
        &app,
        "loose",
        "Dee",
        "dee@readers.example",
        "Site's mode.",
        None,
    )
    .await;

    assert_eq!(created["moderationMode"], "POST");
    assert_eq!(strict["moderationMode"], "PRE");
    assert_eq!(loose_form["moderation"], "POST");
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(
        judged(&app, &admin, &id_of(&approved)).await,
        json!({ "status": "APPROVED", "moderationReasons": [] })
    );
    assert_eq!(kept["moderationMode"], "POST", "left out keeps it");
    assert_eq!(followed["moderationMode"], Value::Null);
    assert_eq!(following_form["moderation"], "PRE");
    assert_eq!(held["status"], "PENDING");
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&held)).await,
        ("PENDING".to_owned(), vec!["PRE_MODERATION".to_owned()])
    );
    assert_eq!(strict_form["moderation"], "PRE");
    assert_eq!(strict_post["status"], "PENDING");
    assert_eq!(
        status_and_codes(&app, &admin, &id_of(&strict_post)).await,
        ("PENDING".to_owned(), vec!["PRE_MODERATION".to_owned()])
    );
    assert_eq!(follows_post["status"], "APPROVED");
}

async fn an_article_closes_close_after_days_after_its_creation(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let created = upsert(
        &app,
        &admin,
        json!({ "slug": "closing", "title": "Closing", "closeAfterDays": 1 }),
    )
    .await;
    let created_at = sql_number(
        &app,
        "SELECT created_at FROM articles WHERE slug = 'closing'",
    )
    .await;
    let read = "{ article(slug: \"closing\") { commentsOpen commentsCloseAt closeAfterDays } }";

    age_article(&app, "closing", 2).await;
    // Read by a moderator and for the first time by a reader: no answer
    // from before the ageing can be reused.
    let aged = app.gql_as(&admin, read, json!({})).await;
    let aged_form = form(&app, "closing").await;
    let refused = send_post(
        &app,
        "closing",
        "Ann",
        "ann@readers.example",
        "Too late.",
        None,
    )
    .await;
    let reopened = upsert(
        &app,
        &admin,
        json!({ "slug": "closing", "title": "Closing", "closeAfterDays": 0 }),
    )
    .await;
    let accepted = send_post(
        &app,
        "closing",
        "Ann",
        "ann@readers.example",
        "Open again.",
        None,
    )
    .await;

    assert_eq!(created["closeAfterDays"], 1);
    assert_eq!(created["commentsOpen"], true);
    let closes_at = chrono::DateTime::parse_from_rfc3339(
        created["commentsCloseAt"]
            .as_str()
            .unwrap_or_else(|| panic!("no commentsCloseAt in {created}")),
    )
    .unwrap();
    assert_eq!(closes_at.timestamp_micros(), created_at + MICROS_PER_DAY);
    assert_no_errors(&aged);
    assert_eq!(aged["data"]["article"]["commentsOpen"], false);
    assert_eq!(aged_form["commentsOpen"], false);
    assert_eq!(error_code(&refused), "COMMENTS_CLOSED", "{refused}");
    assert_eq!(reopened["closeAfterDays"], 0);
    assert_eq!(reopened["commentsOpen"], true);
    assert_eq!(reopened["commentsCloseAt"], Value::Null);
    assert_no_errors(&accepted);
}

async fn the_sites_close_after_days_applies_to_articles_without_their_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    update_settings(&app, &admin, json!({ "closeAfterDays": 1 })).await;
    let follows = upsert(&app, &admin, json!({ "slug": "follows", "title": "F" })).await;
    let never = upsert(
        &app,
        &admin,
        json!({ "slug": "never", "title": "N", "closeAfterDays": 0 }),
    )
    .await;
    let longer = upsert(
        &app,
        &admin,
        json!({ "slug": "longer", "title": "L", "closeAfterDays": 3 }),
    )
    .await;
    for slug in ["follows", "never", "longer"] {
        age_article(&app, slug, 2).await;
    }

    let mut open = Vec::new();
    for slug in ["follows", "never", "longer"] {
        open.push(form(&app, slug).await["commentsOpen"].clone());
    }
    let refused = send_post(&app, "follows", "Ann", "ann@readers.example", "Late.", None).await;
    let taken = send_post(
        &app,
        "never",
        "Ann",
        "ann@readers.example",
        "On time.",
        None,
    )
    .await;

    assert_eq!(follows["closeAfterDays"], Value::Null);
    assert!(follows["commentsCloseAt"].is_string(), "{follows}");
    assert_eq!(never["closeAfterDays"], 0);
    assert_eq!(never["commentsCloseAt"], Value::Null);
    assert_eq!(longer["closeAfterDays"], 3);
    assert_eq!(open, vec![json!(false), json!(true), json!(true)]);
    assert_eq!(error_code(&refused), "COMMENTS_CLOSED");
    assert_no_errors(&taken);
}

async fn an_article_close_after_days_out_of_range_is_bad_user_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;

    for days in [-1, 36501] {
        let answer = app
            .gql_as(
                &admin,
                UPSERT,
                json!({ "input": { "slug": "bad", "title": "Bad", "closeAfterDays": days } }),
            )
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{days}: {answer}");
        assert_eq!(error_field(&answer), "closeAfterDays", "{days}");
    }
    let none = app
        .gql("{ article(slug: \"bad\") { id } }", json!({}))
        .await;
    assert_eq!(none["data"]["article"], Value::Null);
}

/// Closing is a change readers can see that no action makes: an answer
/// computed while the article was open (and kept by the read cache) must
/// not be served once it closed.
async fn a_comment_form_read_before_closing_time_does_not_stay_open_after_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    upsert(
        &app,
        &admin,
        json!({ "slug": "closing", "title": "Closing", "closeAfterDays": 1 }),
    )
    .await;
    // Created a day ago less a few seconds: it closes in a few seconds.
    let closes_in = std::time::Duration::from_secs(5);
    let micros = i64::try_from(closes_in.as_micros()).unwrap();
    run_sql(
        &app,
        &format!(
            "UPDATE articles SET created_at = created_at - {} WHERE slug = 'closing'",
            MICROS_PER_DAY - micros
        ),
    )
    .await;
    let read = "{ article(slug: \"closing\") { commentsOpen } }";
    let before_form = form(&app, "closing").await;
    let before_article = app.gql(read, json!({})).await;
    let cached_form = form(&app, "closing").await;

    tokio::time::sleep(closes_in + std::time::Duration::from_millis(500)).await;
    let after_form = form(&app, "closing").await;
    let after_article = app.gql(read, json!({})).await;
    let refused = send_post(&app, "closing", "Ann", "ann@readers.example", "Late.", None).await;

    assert_eq!(before_form["commentsOpen"], true);
    assert_eq!(cached_form["commentsOpen"], true);
    assert_eq!(before_article["data"]["article"]["commentsOpen"], true);
    assert_eq!(error_code(&refused), "COMMENTS_CLOSED");
    assert_eq!(
        after_form["commentsOpen"], false,
        "the form says open but posting answers COMMENTS_CLOSED"
    );
    assert_eq!(after_article["data"]["article"]["commentsOpen"], false);
}

// ---------------------------------------------------------------------------
// Formatting

/// Fails unless every tag of `html` is one of the subset's, with no
/// attribute but a link's `href` (http, https or mailto) and `rel`.
fn assert_inert(html: &str, payload: &str) {
    const TAGS: [&str; 7] = ["p", "br", "em", "strong", "code", "blockquote", "a"];
    for needle in ["<script", "<img", "<iframe", "<svg", "<object", "<embed"] {
        assert!(
            !html.to_lowercase().contains(needle),
            "{payload:?} gave {html}"
        );
    }
    for chunk in html.split('<').skip(1) {
        let (tag, _) = chunk
            .split_once('>')
            .unwrap_or_else(|| panic!("an unclosed tag in {html} from {payload:?}"));
        let tag = tag.trim_end_matches('/').trim();
        let (name, mut rest) = tag
            .split_once(char::is_whitespace)
            .map_or((tag, ""), |(name, rest)| (name, rest));
        let name = name.trim_start_matches('/').to_lowercase();
        assert!(
            TAGS.contains(&name.as_str()),
            "<{name}> in {html} from {payload:?}"
        );
        // Attributes: name, optionally = and a quoted or bare value.
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let end = rest
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(rest.len());
            let attribute = rest[..end].to_lowercase();
            rest = &rest[end..];
            let mut value = "";
            if let Some(after) = rest.strip_prefix('=') {
                if let Some(quoted) = after.strip_prefix('"') {
                    let close = quoted.find('"').unwrap_or(quoted.len());
                    value = &quoted[..close];
                    rest = quoted.get(close + 1..).unwrap_or("");
                } else {
                    let close = after.find(char::is_whitespace).unwrap_or(after.len());
                    value = &after[..close];
                    rest = &after[close..];
                }
            }
            match (name.as_str(), attribute.as_str()) {
                ("a", "rel") => assert_eq!(value, "nofollow ugc noopener", "{html}"),
                ("a", "href") => assert!(
                    ["http://", "https://", "mailto:"]
                        .iter()
                        .any(|scheme| value.to_lowercase().starts_with(scheme)),
                    "href {value:?} in {html} from {payload:?}"
                ),
                _ => panic!("attribute {attribute} on <{name}> in {html} from {payload:?}"),
            }
            let lowered = value.to_lowercase();
            for needle in ["javascript:", "data:", "vbscript:"] {
                assert!(!lowered.contains(needle), "{html} from {payload:?}");
            }
        }
    }
}

async fn script_and_html_payloads_come_out_inert_in_body_html(backend: Backend) {
    let (app, _) = app_with_article(backend, ModerationMode::Post).await;
    let payloads = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[y](JaVaScRiPt:alert(1))",
        "[z](&#106;avascript:alert(1))",
        "<javascript:alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<svg onload=alert(1)>",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<p onclick=\"alert(1)\">hi</p>",
        "![pixel](https://tracker.example/p.png)",
        "**bold <img src=x onerror=alert(1)>** and `<script>`",
    ];

    for payload in payloads {
        let posted = post_ok(&app, SLUG, "Ann", "ann@readers.example", payload, None).await;
        assert_eq!(posted["body"], payload);
        assert_inert(posted["bodyHtml"].as_str().unwrap(), payload);
    }
    let thread = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments(first: 50) { nodes { body bodyHtml } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&thread);
    let nodes = thread["data"]["article"]["comments"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), payloads.len(), "every payload is published");
    for payload in payloads {
        let node = nodes
            .iter()
            .find(|n| n["body"] == payload)
            .unwrap_or_else(|| panic!("{payload:?} not in the thread as typed: {thread}"));
        assert_inert(node["bodyHtml"].as_str().unwrap(), payload);
    }
}

async fn the_markdown_subset_becomes_html_with_marked_links(backend: Backend) {
    let (app, _) = app_with_article(backend, ModerationMode::Post).await;
    let body = "*em* **strong** `code` and <b>raw</b>\nnext line\n\n> quoted\n\n[a](https://x.example) and https://y.example";

    let posted = post_ok(&app, SLUG, "Ann", "ann@readers.example", body, None).await;
    let thread = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments { nodes { body bodyHtml } } } }",
            json!({ "slug": SLUG }),
        )
        .await;

    assert_eq!(posted["status"], "APPROVED", "two links are allowed");
    let node = &thread["data"]["article"]["comments"]["nodes"][0];
    assert_eq!(node["body"], body);
    assert_eq!(node["bodyHtml"], posted["bodyHtml"]);
    let html = node["bodyHtml"].as_str().unwrap();
    for expected in [
        "<em>em</em>",
        "<strong>strong</strong>",
        "<code>code</code>",
        "&lt;b&gt;raw&lt;/b&gt;",
        "<br>",
        "<blockquote>",
        "href=\"https://x.example\"",
        "href=\"https://y.example\"",
    ] {
        assert!(html.contains(expected), "{expected} not in {html}");
    }
    assert_eq!(html.matches("<a ").count(), 2, "{html}");
    assert_eq!(
        html.matches("rel=\"nofollow ugc noopener\"").count(),
        2,
        "{html}"
    );
    assert_inert(html, body);
}

/// Nesting costs time to format and bytes to send: past eight levels a
/// body is plain text, its HTML within the bound the API charges for.
async fn deeply_nested_bodies_are_shown_as_plain_text(backend: Backend) {
    let (app, _) = app_with_article(backend, ModerationMode::Post).await;
    let body = format!("{}x https://a.example", ">".repeat(9_900));
    let posted = post_ok(&app, SLUG, "Ann", "ann@readers.example", &body, None).await;
    let html = posted["bodyHtml"].as_str().unwrap();
    assert!(html.starts_with("<p>&gt;&gt;&gt;"), "{}", &html[..40]);
    assert!(html.len() <= 6 * 10_000, "{} bytes", html.len());
    assert!(!html.contains("<blockquote>") && !html.contains("<a "));
    assert_eq!(posted["status"], "APPROVED", "no link a reader sees");

    let titled = post_ok(
        &app,
        SLUG,
        "Ann",
        "ann@readers.example",
        "[x](https://a.example \"a title\")",
        None,
    )
    .await;
    assert_inert(titled["bodyHtml"].as_str().unwrap(), "a titled link");
}

// ---------------------------------------------------------------------------
// Several instances

/// A settings change made on one instance is in force on another sharing
/// the PostgreSQL database at once: its next post and form follow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_reaches_other_instances_at_once() {
    if postgres_url().is_none() {
        assert!(std::env::var_os("PARLEY_REQUIRE_POSTGRES").is_none());
        return;
    }
    let (first, admin) = app_with_article(Backend::Postgres, ModerationMode::Pre).await;
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut settings = test_settings(&first.db);
    settings.statement_counter = Some(counter.clone());
    let second = start(TestDb::reuse(&first.db), settings).await;
    // The second instance keeps what it read once its change feed is
    // connected (in the background): wait until a form costs it nothing.
    wait_until(
        std::time::Duration::from_secs(10),
        "the other instance keeps the form",
        || async {
            let before = counter.load(std::sync::atomic::Ordering::SeqCst);
            let seen = form(&second, SLUG).await;
            assert_eq!(seen["moderation"], "PRE");
            counter.load(std::sync::atomic::Ordering::SeqCst) == before
        },
    )
    .await;

    update_settings(&first, &admin, json!({ "mode": "POST" })).await;

    wait_until(
        std::time::Duration::from_secs(1),
        "the other instance still uses the old mode",
        || async { form(&second, SLUG).await["moderation"] == "POST" },
    )
    .await;
    let posted = post_ok(&second, SLUG, "Ann", "ann@readers.example", "Hello.", None).await;
    assert_eq!(posted["status"], "APPROVED");
}
