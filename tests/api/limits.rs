//! Query limits: hostile shapes are refused before any resolver runs;
//! every query a front end needs still passes.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    deep_nesting_is_refused,
    many_aliases_are_refused,
    large_pages_nested_deep_are_refused,
    anonymous_callers_get_no_field_suggestions,
    introspection_can_be_closed_to_anonymous_callers,
);

fn nested_replies(levels: usize, first: u32) -> String {
    let mut inner = String::from("id");
    for _ in 0..levels {
        inner = format!("id replies(first: {first}) {{ nodes {{ {inner} }} }}");
    }
    format!(
        "{{ article(slug: \"deep\") {{ comments(first: {first}) {{ nodes {{ {inner} }} }} }} }}"
    )
}

async fn deep_nesting_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app.gql(&nested_replies(50, 1), json!({})).await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(
        answer.get("data").is_none(),
        "refused before running: {answer}"
    );
}

async fn many_aliases_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let fields: String = (0..1000).map(|i| format!("a{i}: __typename ")).collect();

    let answer = app.gql(&format!("{{ {fields} }}"), json!({})).await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases")
    );
}

async fn large_pages_nested_deep_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app.gql(&nested_replies(4, 100), json!({})).await;

    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(answer.get("data").is_none());
}

async fn anonymous_callers_get_no_field_suggestions(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let typo = "{ moderationQueu { nodes { id } } }";

    let anonymous = app.gql(typo, json!({})).await;
    let moderator = app.gql_as(&token, typo, json!({})).await;

    let message =
        |answer: &serde_json::Value| answer["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(
        !message(&anonymous).contains("moderationQueue"),
        "{anonymous}"
    );
    assert!(
        message(&moderator).contains("moderationQueue"),
        "{moderator}"
    );
}

async fn introspection_can_be_closed_to_anonymous_callers(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.limits.anonymous_introspection = false).await;
    let token = app.admin_token().await;
    let introspect = "{ __schema { queryType { name } } }";

    let anonymous = app.gql(introspect, json!({})).await;
    let moderator = app.gql_as(&token, introspect, json!({})).await;

    assert_eq!(
        anonymous["data"]["__schema"],
        serde_json::Value::Null,
        "{anonymous}"
    );
    assert_eq!(moderator["data"]["__schema"]["queryType"]["name"], "Query");
}
