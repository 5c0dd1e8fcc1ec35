//! Front ends reading threads: only approved comments, threaded and
//! paginated, with no email anywhere.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    readers_see_only_approved_comments_threaded,
    pages_walk_every_top_level_comment_exactly_once,
    newest_first_reverses_the_order,
    replies_are_paginated_oldest_first,
    bad_page_arguments_are_bad_user_input,
    unknown_article_is_null,
    readers_get_only_approved_comments_by_id,
    author_email_is_forbidden_to_readers_and_shown_to_moderators,
    moderators_see_emails_throughout_a_thread,
    replies_five_levels_deep_in_one_query,
);

const THREAD: &str = r#"query($slug: String!) {
  article(slug: $slug) {
    commentCount
    comments(first: 10) {
      nodes {
        id authorName body replyCount createdAt status
        replies(first: 5) { nodes { id body replyCount replies(first: 5) { nodes { id body } } } }
      }
    }
  }
}"#;

async fn readers_see_only_approved_comments_threaded(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let first = app
        .post_approved(&token, "budget", "Ann", "first", None)
        .await;
    let _pending = app.post("budget", "Pat", "still pending", None).await;
    let second = app
        .post_approved(&token, "budget", "Bob", "second", None)
        .await;
    let reply = app
        .post_approved(&token, "budget", "Cy", "reply to first", Some(&first))
        .await;
    let _pending_reply = app
        .post("budget", "Dee", "pending reply", Some(&first))
        .await;
    let nested = app
        .post_approved(&token, "budget", "Eve", "reply to reply", Some(&reply))
        .await;

    let answer = app.gql(THREAD, json!({ "slug": "budget" })).await;

    assert_no_errors(&answer);
    let article = &answer["data"]["article"];
    assert_eq!(
        article["commentCount"], 4,
        "approved comments at every depth"
    );
    assert_eq!(
        node_ids(&article["comments"]),
        vec![first.clone(), second.clone()]
    );
    let top = &article["comments"]["nodes"][0];
    assert_eq!(top["replyCount"], 1);
    assert_eq!(top["status"], "APPROVED");
    assert_eq!(node_ids(&top["replies"]), vec![reply]);
    assert_eq!(top["replies"]["nodes"][0]["replyCount"], 1);
    assert_eq!(
        node_ids(&top["replies"]["nodes"][0]["replies"]),
        vec![nested]
    );
    assert_eq!(article["comments"]["nodes"][1]["replyCount"], 0);
    assert!(
        top["createdAt"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 in UTC: {}",
        top["createdAt"]
    );
}

async fn approved_top_level(app: &TestApp, token: &str, slug: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(
            app.post_approved(
                token,
                slug,
                &format!("Reader {i}"),
                &format!("comment {i}"),
                None,
            )
            .await,
        );
    }
    ids
}

async fn page(app: &TestApp, first: i64, after: Option<&str>, order: &str) -> Value {
    let answer = app
        .gql(
            "query($first: Int!, $after: String, $order: CommentOrder!) { article(slug: \"paged\") { comments(first: $first, after: $after, order: $order) { edges { cursor node { id } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }",
            json!({ "first": first, "after": after, "order": order }),
        )
        .await;
    assert_no_errors(&answer);
    answer["data"]["article"]["comments"].clone()
}

async fn pages_walk_every_top_level_comment_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "paged").await;
    let ids = approved_top_level(&app, &token, "paged", 7).await;

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    let mut last_end: Option<String>;
    loop {
        // Seven comments in pages of three: a page that never says it is
        // the last must not keep the walk going for ever.
        assert!(sizes.len() < 10, "still walking after {sizes:?}");
        let connection = page(&app, 3, after.as_deref(), "OLDEST_FIRST").await;
        let page_ids = node_ids(&connection);
        sizes.push(page_ids.len());
        assert!(!page_ids.is_empty(), "an empty page after {sizes:?}");
        assert_eq!(connection["pageInfo"]["hasPreviousPage"], after.is_some());
        assert_eq!(
            connection["edges"].as_array().unwrap().len(),
            page_ids.len()
        );
        assert_eq!(
            connection["pageInfo"]["endCursor"],
            connection["edges"][page_ids.len() - 1]["cursor"]
        );
        seen.extend(page_ids);
        last_end = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(
            connection["pageInfo"]["endCursor"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, ids);
    let empty = page(&app, 0, None, "OLDEST_FIRST").await;
    assert!(node_ids(&empty).is_empty());
    assert_eq!(empty["pageInfo"]["hasNextPage"], true);
    let last = last_end.expect("a last page");
    let at_the_end = page(&app, 0, Some(&last), "OLDEST_FIRST").await;
    assert_eq!(
        at_the_end["pageInfo"]["hasNextPage"], false,
        "nothing follows the last page"
    );
}

async fn newest_first_reverses_the_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "paged").await;
    let mut ids = approved_top_level(&app, &token, "paged", 5).await;
    ids.reverse();

    let first = page(&app, 2, None, "NEWEST_FIRST").await;
    let after = first["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let rest = page(&app, 10, Some(&after), "NEWEST_FIRST").await;

    let mut seen = node_ids(&first);
    seen.extend(node_ids(&rest));
    assert_eq!(seen, ids);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
}

async fn replies_are_paginated_oldest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let parent = app
        .post_approved(&token, "budget", "Ann", "parent", None)
        .await;
    let mut replies = Vec::new();
    for i in 0..3 {
        replies.push(
            app.post_approved(
                &token,
                "budget",
                &format!("R{i}"),
                &format!("reply {i}"),
                Some(&parent),
            )
            .await,
        );
    }
    let query = "query($id: ID!, $after: String) { comment(id: $id) { replyCount replies(first: 2, after: $after) { nodes { id parentId } pageInfo { hasNextPage endCursor } } } }";

    let first = app.gql(query, json!({ "id": parent })).await;
    let after = first["data"]["comment"]["replies"]["pageInfo"]["endCursor"].clone();
    let second = app
        .gql(query, json!({ "id": parent, "after": after }))
        .await;

    assert_eq!(first["data"]["comment"]["replyCount"], 3);
    assert_eq!(
        first["data"]["comment"]["replies"]["pageInfo"]["hasNextPage"],
        true
    );
    assert_eq!(
        first["data"]["comment"]["replies"]["nodes"][0]["parentId"],
        json!(parent)
    );
    let mut seen = node_ids(&first["data"]["comment"]["replies"]);
    seen.extend(node_ids(&second["data"]["comment"]["replies"]));
    assert_eq!(seen, replies);
}

async fn bad_page_arguments_are_bad_user_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "paged").await;
    let cases = [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 3_000_000_000_i64 }), "first"),
        (json!({ "first": 5, "after": "not a cursor" }), "after"),
        (json!({ "first": 5, "after": "YzE6eDp5" }), "after"),
        (json!({ "first": 5, "after": "" }), "after"),
    ];
    for (variables, field) in cases {
        let answer = app
            .gql(
                "query($first: Int!, $after: String) { article(slug: \"paged\") { comments(first: $first, after: $after) { nodes { id } } } }",
                variables.clone(),
            )
            .await;
        assert_eq!(
            error_code(&answer),
            "BAD_USER_INPUT",
            "{variables}: {answer}"
        );
        assert_eq!(error_field(&answer), field, "{variables}: {answer}");
    }
    let queue = app
        .gql_as(
            &token,
            "{ moderationQueue(first: 1000) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&queue), "BAD_USER_INPUT", "{queue}");
    assert_eq!(error_field(&queue), "first");
}

async fn unknown_article_is_null(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app
        .gql("{ article(slug: \"nothing-here\") { id } }", json!({}))
        .await;

    assert_no_errors(&answer);
    assert_eq!(answer["data"]["article"], Value::Null);
}

async fn readers_get_only_approved_comments_by_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let pending = app.post("budget", "Pat", "pending", None).await;
    let approved = app
        .post_approved(&token, "budget", "Ann", "approved", None)
        .await;
    let query = "query($id: ID!) { comment(id: $id) { id status article { slug } } }";

    let as_reader = app.gql(query, json!({ "id": pending })).await;
    let as_moderator = app.gql_as(&token, query, json!({ "id": pending })).await;
    let approved_as_reader = app.gql(query, json!({ "id": approved })).await;
    let junk = app.gql(query, json!({ "id": "junk" })).await;

    assert_eq!(as_reader["data"]["comment"], Value::Null);
    assert_eq!(as_moderator["data"]["comment"]["status"], "PENDING");
    assert_eq!(
        approved_as_reader["data"]["comment"]["article"]["slug"],
        "budget"
    );
    assert_eq!(junk["data"]["comment"], Value::Null);
}

async fn author_email_is_forbidden_to_readers_and_shown_to_moderators(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let id = app
        .post_approved(&token, "budget", "Ann", "hello", None)
        .await;
    let query = "query($id: ID!) { comment(id: $id) { id authorEmail } }";

    let as_reader = app.gql(query, json!({ "id": id })).await;
    let as_moderator = app.gql_as(&token, query, json!({ "id": id })).await;
    let with_bad_token = app.gql_as("not-a-token", query, json!({ "id": id })).await;

    assert_eq!(error_code(&as_reader), "FORBIDDEN");
    assert_eq!(
        as_reader["data"]["comment"].get("authorEmail"),
        Some(&Value::Null)
    );
    assert_eq!(
        as_reader["data"]["comment"]["id"],
        json!(id),
        "the rest of the comment still reads"
    );
    assert_eq!(
        as_reader["errors"][0]["path"],
        json!(["comment", "authorEmail"])
    );
    assert_eq!(
        as_moderator["data"]["comment"]["authorEmail"],
        "ann@readers.example"
    );
    assert_eq!(error_code(&with_bad_token), "UNAUTHENTICATED");
    app.assert_no_email_in(&with_bad_token.to_string());
}

async fn replies_five_levels_deep_in_one_query(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "deep").await;
    let mut parent: Option<String> = None;
    let mut chain = Vec::new();
    for level in 0..6 {
        let id = app
            .post_approved(
                &token,
                "deep",
                &format!("Level {level}"),
                &format!("deeper {level}"),
                parent.as_deref(),
            )
            .await;
        chain.push(id.clone());
        parent = Some(id);
    }
    let replies = "replies(first: 2) { nodes { id authorName body createdAt replyCount NEXT } }";
    let mut nested = String::new();
    for _ in 0..5 {
        nested = replies.replace("NEXT", &nested);
    }
    let query = format!(
        "{{ article(slug: \"deep\") {{ commentCount comments(first: 5) {{ nodes {{ id {nested} }} }} }} }}"
    );

    let answer = app.gql(&query, json!({})).await;

    assert_no_errors(&answer);
    let mut node = &answer["data"]["article"]["comments"]["nodes"][0];
    for expected in &chain[..5] {
        assert_eq!(&node["id"], expected);
        node = &node["replies"]["nodes"][0];
    }
    assert_eq!(node["id"], json!(chain[5]));
    assert_eq!(answer["data"]["article"]["commentCount"], 6);
}

/// Thread reads fetch emails only for moderators: a moderator reading the
/// thread sees every author's email at every level, on first pages of
/// replies (batched) and later ones (by cursor); a reader sees none.
async fn moderators_see_emails_throughout_a_thread(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let top = app
        .post_approved(&token, "budget", "Ann", "top", None)
        .await;
    app.post_approved(&token, "budget", "Bo", "first reply", Some(&top))
        .await;
    app.post_approved(&token, "budget", "Cy", "second reply", Some(&top))
        .await;
    let query = r#"query($slug: String!, $after: String) { article(slug: $slug) { comments {
        nodes { authorEmail
          replies(first: 1) { nodes { authorEmail } pageInfo { endCursor } }
          later: replies(first: 5, after: $after) { nodes { authorEmail } } } } } }"#;
    // The cursor after the first reply, as a reader's page gives it.
    let first_page = app.gql(query, json!({ "slug": "budget" })).await;
    let cursor_of_first =
        first_page["data"]["article"]["comments"]["nodes"][0]["replies"]["pageInfo"]["endCursor"]
            .clone();
    assert!(cursor_of_first.is_string(), "no cursor in {first_page}");

    let as_moderator = app
        .gql_as(
            &token,
            query,
            json!({ "slug": "budget", "after": cursor_of_first }),
        )
        .await;
    assert_no_errors(&as_moderator);
    let node = &as_moderator["data"]["article"]["comments"]["nodes"][0];
    assert_eq!(node["authorEmail"], "ann@readers.example");
    assert_eq!(
        node["replies"]["nodes"][0]["authorEmail"],
        "bo@readers.example"
    );
    assert_eq!(
        node["later"]["nodes"][0]["authorEmail"],
        "cy@readers.example"
    );

    let as_reader = app
        .gql(query, json!({ "slug": "budget", "after": cursor_of_first }))
        .await;
    let node = &as_reader["data"]["article"]["comments"]["nodes"][0];
    assert_eq!(node["authorEmail"], Value::Null);
    assert_eq!(node["replies"]["nodes"][0]["authorEmail"], Value::Null);
    assert_eq!(node["later"]["nodes"][0]["authorEmail"], Value::Null);
    let codes: Vec<&str> = as_reader["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(codes, ["FORBIDDEN"; 3]);
}
