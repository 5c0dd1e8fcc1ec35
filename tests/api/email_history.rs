//! The rule in SECURITY.md: what an anonymous caller can observe (the answer
//! to a post, and what then shows in the thread) never depends on the
//! history of the email they typed. For each check that could read that
//! history, two posts that differ only in whether a guessed email belongs to
//! someone who has posted get the same answer and the same visibility, under
//! both moderation modes.

use std::time::Duration;

use parley::domain::ModerationMode;
use parley::domain::flood::FloodPolicy;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    repeating_a_comment_answers_the_same_whatever_email_is_guessed,
    the_flood_interval_answers_the_same_whatever_email_is_guessed,
    the_hourly_cap_answers_the_same_whatever_email_is_guessed,
);

const SLUG: &str = "guessed";
const VICTIM: &str = "victim@readers.example";
const STRANGER: &str = "stranger@readers.example";
const MODES: [ModerationMode; 2] = [ModerationMode::Pre, ModerationMode::Post];

/// A server in `mode` that believes the test's `X-Forwarded-For`, so each
/// post can come from an address of its own.
async fn app_in(backend: Backend, mode: ModerationMode, flood: FloodPolicy) -> (TestApp, String) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = mode;
        s.flood = flood;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    (app, token)
}

/// What an anonymous poster observes of one post: the HTTP status and the
/// answer, with the new comment's id (which differs by nature) blanked.
async fn post_from(app: &TestApp, address: &str, email: &str, body: &str) -> (u16, Value) {
    let variables = json!({ "input": {
        "articleSlug": SLUG,
        "authorName": "Reader",
        "authorEmail": email,
        "body": body,
    } });
    app.remember_emails(&variables);
    let response = app
        .client()
        .post(app.graphql_url())
        .header("X-Forwarded-For", address)
        .json(&json!({
            "query": "mutation($input: PostCommentInput!) { postComment(input: $input) { id status parentId authorName body } }",
            "variables": variables,
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    app.assert_no_email_in(&text);
    let mut answer: Value = serde_json::from_str(&text).unwrap();
    if let Some(id) = answer.pointer_mut("/data/postComment/id") {
        *id = json!("<id>");
    }
    // The body differs between the two posts only where the test made it.
    if let Some(body) = answer.pointer_mut("/data/postComment/body") {
        *body = json!("<body>");
    }
    (status, answer)
}

/// Whether a reader of the thread sees a comment with this body.
async fn readers_see(app: &TestApp, body: &str) -> bool {
    let answer = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments(first: 100) { nodes { body } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["article"]["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|node| node["body"] == body)
}

/// Posts `right` with the victim's email and `wrong` with a stranger's, each
/// from a fresh address, and checks that the answers and what readers then
/// see are the same.
async fn assert_guesses_look_alike(
    app: &TestApp,
    mode: ModerationMode,
    (right, wrong): (&str, &str),
) -> (u16, Value) {
    let right_answer = post_from(app, "203.0.113.10", VICTIM, right).await;
    let wrong_answer = post_from(app, "203.0.113.20", STRANGER, wrong).await;

    assert_eq!(right_answer, wrong_answer, "{mode:?}: the answers differ");
    assert_eq!(
        readers_see(app, right).await,
        readers_see(app, wrong).await,
        "{mode:?}: readers see one guess and not the other"
    );
    right_answer
}

async fn repeating_a_comment_answers_the_same_whatever_email_is_guessed(backend: Backend) {
    for mode in MODES {
        // Flood control off: this is about the repeat check alone.
        let (app, token) = app_in(backend, mode, FloodPolicy::off()).await;
        let held = "Words only the victim has written, still in the queue.";
        let published = "Words the victim has written, approved.";
        assert_no_errors(&post_from(&app, "198.51.100.1", VICTIM, held).await.1);
        let approved = post_from(&app, "198.51.100.2", VICTIM, published).await;
        assert_no_errors(&approved.1);
        let queue = app
            .gql_as(
                &token,
                "{ moderationQueue(first: 10) { nodes { id body } } }",
                json!({}),
            )
            .await;
        for node in queue["data"]["moderationQueue"]["nodes"]
            .as_array()
            .unwrap()
        {
            if node["body"] == published {
                app.approve(&token, node["id"].as_str().unwrap()).await;
            }
        }

        for (i, body) in [held, published].into_iter().enumerate() {
            // Both guesses copy the victim's words: the same body on the same
            // article is a repeat whoever sends it.
            let right = post_from(&app, &format!("203.0.113.{}", 2 * i + 1), VICTIM, body).await;
            let wrong = post_from(&app, &format!("203.0.113.{}", 2 * i + 2), STRANGER, body).await;
            assert_eq!(right, wrong, "{mode:?}: repeating {body:?}");
            assert_eq!(
                error_code(&right.1),
                "BAD_USER_INPUT",
                "{mode:?}: {right:?}"
            );
            assert_eq!(error_field(&right.1), "body");
        }
    }
}

async fn the_flood_interval_answers_the_same_whatever_email_is_guessed(backend: Backend) {
    for mode in MODES {
        let (app, _) = app_in(backend, mode, FloodPolicy::default()).await;
        // The victim has just posted: an interval keyed on the email would
        // still be running.
        assert_no_errors(&post_from(&app, "198.51.100.1", VICTIM, "Just now.").await.1);

        let (status, answer) =
            assert_guesses_look_alike(&app, mode, ("Right guess.", "Wrong guess.")).await;

        assert_eq!(status, 200);
        assert_no_errors(&answer);
    }
}

async fn the_hourly_cap_answers_the_same_whatever_email_is_guessed(backend: Backend) {
    let flood = FloodPolicy {
        interval: Duration::from_millis(1),
        hourly_cap: 2,
    };
    for mode in MODES {
        let (app, _) = app_in(backend, mode, flood).await;
        // The victim has reached the hourly cap, from two addresses.
        for (i, address) in ["198.51.100.1", "198.51.100.2"].into_iter().enumerate() {
            let answer = post_from(&app, address, VICTIM, &format!("Post {i}.")).await;
            assert_no_errors(&answer.1);
        }

        let (_, answer) =
            assert_guesses_look_alike(&app, mode, ("Right guess.", "Wrong guess.")).await;

        assert_no_errors(&answer);
    }
}
