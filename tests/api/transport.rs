//! GraphQL over HTTP: methods, media types, batches, body size, GraphiQL,
//! health.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    get_runs_queries,
    get_honours_operation_name,
    unknown_fields_are_bad_user_input_without_a_field,
    syntax_errors_do_not_echo_the_document,
    get_refuses_mutations_and_stores_nothing,
    post_requires_json,
    batches_are_refused,
    oversized_bodies_are_refused,
    answers_in_the_media_type_asked_for,
    graphiql_is_served_to_browsers,
    health_check_answers_when_the_database_does,
);

const POST_MUTATION: &str = "mutation { postComment(input: { articleSlug: \"budget\", authorName: \"Ann\", authorEmail: \"ann@readers.example\", body: \"hi\" }) { id } }";

async fn queue_len(app: &TestApp, token: &str) -> usize {
    let answer = app
        .gql_as(token, "{ moderationQueue { nodes { id } } }", json!({}))
        .await;
    node_ids(&answer["data"]["moderationQueue"]).len()
}

async fn get_runs_queries(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;

    let response = app
        .client()
        .get(app.graphql_url())
        .query(&[
            ("query", "query($s: String!) { article(slug: $s) { slug } }"),
            ("variables", r#"{"s":"budget"}"#),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["article"]["slug"], "budget");
}

async fn get_honours_operation_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = format!("query Read {{ __typename }} {POST_MUTATION}").replacen(
        "mutation {",
        "mutation Write {",
        1,
    );
    let get = |operation: &'static str| {
        app.client()
            .get(app.graphql_url())
            .query(&[("query", document.as_str()), ("operationName", operation)])
            .send()
    };

    let read = get("Read").await.unwrap();
    let write = get("Write").await.unwrap();

    assert_eq!(read.status(), StatusCode::OK);
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
    assert_eq!(write.status(), StatusCode::METHOD_NOT_ALLOWED);
}

async fn unknown_fields_are_bad_user_input_without_a_field(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app.gql("{ nope }", json!({})).await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    assert!(
        answer["errors"][0]["extensions"].get("field").is_none(),
        "{answer}"
    );
}

async fn syntax_errors_do_not_echo_the_document(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app
        .gql(
            "mutation { postComment(input: { articleSlug: \"a\", authorName: \"Ann\", authorEmail: \"ann.secret@readers.example\", body: \"it\"s\" }) { id } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    assert!(
        answer["errors"][0]["locations"].is_array(),
        "the position is still given: {answer}"
    );
}

async fn get_refuses_mutations_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    app.remember_emails(&json!({ "authorEmail": "ann@readers.example" }));

    let response = app
        .client()
        .get(app.graphql_url())
        .query(&[("query", POST_MUTATION)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    app.assert_no_email_in(&response.text().await.unwrap());
    assert_eq!(queue_len(&app, &token).await, 0);
}

async fn post_requires_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "budget").await;
    let body = json!({ "query": POST_MUTATION }).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .client()
            .post(app.graphql_url())
            .header(CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    let missing = app
        .client()
        .post(app.graphql_url())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(queue_len(&app, &token).await, 0);
}

async fn batches_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app
        .client()
        .post(app.graphql_url())
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("batch")
    );
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge = json!({ "query": "{ __typename }", "variables": { "pad": "x".repeat(70 * 1024) } });

    let response = app
        .client()
        .post(app.graphql_url())
        .json(&huge)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("a JSON error");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
}

async fn answers_in_the_media_type_asked_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let send = |accept: Option<&'static str>, query: &'static str| {
        let mut request = app
            .client()
            .post(app.graphql_url())
            .json(&json!({ "query": query }));
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        request.send()
    };

    let modern = send(Some("application/graphql-response+json"), "{ __typename }")
        .await
        .unwrap();
    let legacy = send(Some("application/json"), "{ __typename }")
        .await
        .unwrap();
    let none = send(None, "{ __typename }").await.unwrap();
    let invalid_modern = send(Some("application/graphql-response+json"), "{ noSuchField }")
        .await
        .unwrap();
    let invalid_legacy = send(Some("application/json"), "{ noSuchField }")
        .await
        .unwrap();
    let unparsable = send(Some("application/graphql-response+json"), "{ article(")
        .await
        .unwrap();
    let unacceptable = send(Some("text/csv"), "{ __typename }").await.unwrap();

    assert_eq!(modern.status(), StatusCode::OK);
    assert!(
        modern.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    assert!(
        legacy.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        none.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(invalid_modern.status(), StatusCode::BAD_REQUEST);
    assert_eq!(invalid_legacy.status(), StatusCode::OK);
    assert_eq!(unparsable.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unacceptable.status(), StatusCode::NOT_ACCEPTABLE);
    let body: Value = invalid_modern.json().await.unwrap();
    assert!(
        body.get("data").is_none(),
        "a request error has no data entry: {body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

async fn graphiql_is_served_to_browsers(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app
        .client()
        .get(app.graphql_url())
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.to_lowercase().contains("graphiql"));
    assert!(page.contains("/graphql/ws"));
}

async fn health_check_answers_when_the_database_does(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app
        .client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}
