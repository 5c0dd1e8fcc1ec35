//! Hand-crafted tokens are refused, one test per forgery, each beside a
//! correctly signed control that is accepted.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    a_correctly_signed_token_is_accepted,
    alg_none_is_refused,
    another_algorithm_is_refused,
    another_key_is_refused,
    a_wrong_issuer_is_refused,
    a_wrong_audience_is_refused,
    exp_as_a_string_is_refused,
    an_expired_token_is_refused,
    a_token_not_yet_valid_is_refused,
);

const SECRET: &str = "a signing key of forty bytes, for tests";

/// What to get wrong.
enum Forgery {
    Nothing,
    AlgNone,
    Algorithm,
    Key,
    Issuer,
    Audience,
    ExpAsString,
    Expired,
    NotYetValid,
}

async fn moderation_queue_with(backend: Backend, forgery: Forgery) -> Value {
    let app = spawn_app_with(backend, |s| s.jwt_secret = Some(SECRET.into())).await;
    let valid = app.admin_token().await;
    let me = app.gql_as(&valid, "{ me { id } }", json!({})).await;
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": me["data"]["me"]["id"], "iss": "parley", "aud": "parley-moderation",
        "iat": now, "exp": now + 600, "jti": uuid::Uuid::now_v7(), "ver": 0,
    });
    let (mut algorithm, mut key) = (Algorithm::HS256, SECRET.as_bytes().to_vec());
    match forgery {
        Forgery::Nothing | Forgery::AlgNone => {}
        Forgery::Algorithm => algorithm = Algorithm::HS512,
        Forgery::Key => key = vec![b'x'; 40],
        Forgery::Issuer => claims["iss"] = json!("someone-else"),
        Forgery::Audience => claims["aud"] = json!("someone-else"),
        Forgery::ExpAsString => claims["exp"] = json!((now + 600).to_string()),
        Forgery::Expired => claims["exp"] = json!(now - 600),
        Forgery::NotYetValid => claims["nbf"] = json!(now + 300),
    }
    let token = if matches!(forgery, Forgery::AlgNone) {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(claims.to_string())
        )
    } else {
        jsonwebtoken::encode(
            &Header::new(algorithm),
            &claims,
            &EncodingKey::from_secret(&key),
        )
        .unwrap()
    };
    app.gql_as(&token, "{ moderationQueue { nodes { id } } }", json!({}))
        .await
}

async fn refused(backend: Backend, forgery: Forgery) {
    let answer = moderation_queue_with(backend, forgery).await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
}

async fn a_correctly_signed_token_is_accepted(backend: Backend) {
    assert_no_errors(&moderation_queue_with(backend, Forgery::Nothing).await);
}

async fn alg_none_is_refused(backend: Backend) {
    refused(backend, Forgery::AlgNone).await;
}

async fn another_algorithm_is_refused(backend: Backend) {
    refused(backend, Forgery::Algorithm).await;
}

async fn another_key_is_refused(backend: Backend) {
    refused(backend, Forgery::Key).await;
}

async fn a_wrong_issuer_is_refused(backend: Backend) {
    refused(backend, Forgery::Issuer).await;
}

async fn a_wrong_audience_is_refused(backend: Backend) {
    refused(backend, Forgery::Audience).await;
}

async fn exp_as_a_string_is_refused(backend: Backend) {
    refused(backend, Forgery::ExpAsString).await;
}

async fn an_expired_token_is_refused(backend: Backend) {
    refused(backend, Forgery::Expired).await;
}

async fn a_token_not_yet_valid_is_refused(backend: Backend) {
    refused(backend, Forgery::NotYetValid).await;
}
