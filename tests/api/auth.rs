//! Moderator authentication: login, tokens, the first admin, the signing key.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    login_returns_a_token_that_identifies_the_moderator,
    failed_logins_look_the_same_whether_or_not_the_account_exists,
    me_is_null_without_a_valid_token,
    expired_tokens_are_unauthenticated,
    generated_signing_key_survives_a_restart,
    short_signing_keys_are_refused,
    bootstrap_admin_is_created_only_on_an_empty_database,
    a_hash_of_earlier_settings_is_replaced_at_login,
);

const ME: &str = "{ me { id email name role createdAt } }";

async fn login_returns_a_token_that_identifies_the_moderator(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app
        .gql(
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token expiresAt moderator { email role } } }",
            json!({ "email": ADMIN_EMAIL.to_uppercase(), "password": ADMIN_PASSWORD }),
        )
        .await;

    assert_no_errors(&answer);
    let login = &answer["data"]["login"];
    assert_eq!(login["moderator"]["email"], ADMIN_EMAIL);
    assert_eq!(login["moderator"]["role"], "ADMIN");
    let expires =
        chrono::DateTime::parse_from_rfc3339(login["expiresAt"].as_str().unwrap()).unwrap();
    let hours =
        (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!(
        (11.9..=12.1).contains(&hours),
        "tokens last 12 hours, got {hours}"
    );
    let me = app
        .gql_as(login["token"].as_str().unwrap(), ME, json!({}))
        .await;
    assert_eq!(me["data"]["me"]["email"], ADMIN_EMAIL);
    assert_eq!(me["data"]["me"]["name"], "Admin");
}

async fn failed_logins_look_the_same_whether_or_not_the_account_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let login = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";
    let attempts = [
        (ADMIN_EMAIL, "wrong password entirely"),
        ("nobody@parley.test", ADMIN_PASSWORD),
        ("not an email", ADMIN_PASSWORD),
        (ADMIN_EMAIL, ""),
    ];
    let mut errors = Vec::new();
    for (email, password) in attempts {
        let answer = app
            .gql(login, json!({ "email": email, "password": password }))
            .await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{email}");
        errors.push(answer["errors"][0]["message"].clone());
    }
    assert!(errors.windows(2).all(|w| w[0] == w[1]), "{errors:?}");
}

async fn me_is_null_without_a_valid_token(backend: Backend) {
    let app = spawn_app(backend).await;

    let anonymous = app.gql(ME, json!({})).await;
    let garbage = app.gql_as("garbage", ME, json!({})).await;

    assert_no_errors(&anonymous);
    assert_eq!(anonymous["data"]["me"], Value::Null);
    assert_eq!(garbage["data"]["me"], Value::Null);
}

async fn expired_tokens_are_unauthenticated(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.token_ttl = chrono::TimeDelta::seconds(-60)).await;
    let token = app.admin_token().await;

    let answer = app
        .gql_as(&token, "{ moderationQueue { nodes { id } } }", json!({}))
        .await;

    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
}

async fn generated_signing_key_survives_a_restart(backend: Backend) {
    let first = spawn_app(backend).await;
    let token = first.admin_token().await;
    assert_eq!(
        first.gql_as(&token, ME, json!({})).await["data"]["me"]["email"],
        ADMIN_EMAIL
    );
    let db = first.stop().await;
    let settings = test_settings(&db);

    let restarted = start(db, settings).await;
    let answer = restarted.gql_as(&token, ME, json!({})).await;

    assert_eq!(answer["data"]["me"]["email"], ADMIN_EMAIL, "{answer}");
}

async fn short_signing_keys_are_refused(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut settings = test_settings(&db);
    settings.jwt_secret = Some("only-31-bytes-long-secret-value".into());

    let result = parley::App::build(settings).await;

    let err = result.err().expect("a short key is refused");
    assert!(format!("{err:#}").contains("32 bytes"), "{err:#}");
    if backend == Backend::Sqlite {
        let file = db.url.trim_start_matches("sqlite://");
        assert!(
            !std::path::Path::new(file).exists(),
            "refused before creating the database"
        );
    }
}

async fn bootstrap_admin_is_created_only_on_an_empty_database(backend: Backend) {
    let first = spawn_app(backend).await;
    first.admin_token().await;
    let db = first.db;
    let mut settings = test_settings(&db);
    settings.admin = Some(parley::config::AdminBootstrap {
        email: "second@parley.test".to_owned(),
        password: "another long password".into(),
    });

    let second = start(db, settings).await;
    let answer = second
        .gql(
            "mutation { login(email: \"second@parley.test\", password: \"another long password\") { token } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    second.admin_token().await;
}

/// Accounts made by earlier versions hold argon2id hashes of 19 MiB: they
/// still log in, and their hash is replaced by one of today's settings.
async fn a_hash_of_earlier_settings_is_replaced_at_login(backend: Backend) {
    use argon2::password_hash::PasswordHasher;
    use parley::store::entities::moderator::{Column, Entity as Moderator};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = spawn_app(backend).await;
    let before = app.admin_token().await;
    let conn = app.db.connect().await;
    let earlier = argon2::Argon2::default()
        .hash_password(ADMIN_PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    assert!(earlier.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    Moderator::update_many()
        .col_expr(Column::PasswordHash, Expr::value(earlier.clone()))
        .filter(Column::Email.eq(ADMIN_EMAIL))
        .exec(&conn)
        .await
        .unwrap();
    let stored = || async {
        Moderator::find()
            .filter(Column::Email.eq(ADMIN_EMAIL))
            .one(&conn)
            .await
            .unwrap()
            .unwrap()
            .password_hash
    };

    app.admin_token().await;

    // The upgrade runs after the login has answered.
    let mut upgraded = stored().await;
    for _ in 0..100 {
        if upgraded != earlier {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        upgraded = stored().await;
    }
    assert_ne!(upgraded, earlier);
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
        "{upgraded}"
    );
    app.admin_token().await;
    assert_eq!(stored().await, upgraded, "an up-to-date hash stays");
    let me = app.gql_as(&before, ME, json!({})).await;
    assert_eq!(
        me["data"]["me"]["email"], ADMIN_EMAIL,
        "tokens issued before the upgrade stay valid"
    );
    let wrong = app
        .gql(
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
            json!({ "email": ADMIN_EMAIL, "password": "not the password at all" }),
        )
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
}
