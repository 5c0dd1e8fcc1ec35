//! Moderator sessions under attack and after account changes: login
//! throttling, logout, password changes, removal and demotion, each taking
//! effect at once and on every instance.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    logout_ends_this_session_only_and_everywhere,
    changing_the_password_ends_every_earlier_session,
    change_password_checks_both_passwords,
    passwords_are_never_truncated,
    removing_a_moderator_takes_effect_at_once,
    demoting_a_moderator_takes_effect_at_once,
    only_admins_manage_moderators,
    repeated_login_failures_for_an_account_are_throttled,
    repeated_login_failures_from_an_address_are_throttled,
    failures_from_many_addresses_do_not_lock_the_owner_out,
    past_the_account_limit_the_owner_waits_seconds_not_minutes,
    repeated_failures_from_one_address_at_one_account_back_off,
    wrong_current_passwords_are_throttled_like_logins,
    addresses_in_one_ipv6_64_share_login_limits,
    logins_to_known_and_unknown_accounts_take_about_the_same_time,
);

const QUEUE: &str = "{ moderationQueue { nodes { id } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";

async fn works(app: &TestApp, token: &str) -> bool {
    let answer = app.gql_as(token, QUEUE, json!({})).await;
    match answer.get("errors") {
        None => true,
        Some(_) => {
            assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
            false
        }
    }
}

async fn add_moderator(app: &TestApp, email: &str, password: &str) {
    let (url, email, password) = (app.db.url.clone(), email.to_owned(), password.to_owned());
    let output =
        tokio::task::spawn_blocking(move || crate::cli::moderator_add(&url, &email, &password))
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn moderator_id(app: &TestApp, token: &str) -> String {
    let me = app.gql_as(token, "{ me { id } }", json!({})).await;
    me["data"]["me"]["id"].as_str().unwrap().to_owned()
}

async fn logout_ends_this_session_only_and_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_instance = start(TestDb::reuse(&app.db), test_settings(&app.db)).await;
    let laptop = app.admin_token().await;
    let phone = app.admin_token().await;

    let answer = app.gql_as(&laptop, "mutation { logout }", json!({})).await;

    assert_eq!(answer["data"]["logout"], true);
    assert!(!works(&app, &laptop).await);
    assert!(!works(&other_instance, &laptop).await);
    assert!(works(&app, &phone).await);
    assert!(works(&other_instance, &phone).await);
}

async fn changing_the_password_ends_every_earlier_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_instance = start(TestDb::reuse(&app.db), test_settings(&app.db)).await;
    let laptop = app.admin_token().await;
    let phone = app.admin_token().await;

    let answer = app
        .gql_as(
            &laptop,
            "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) { token } }",
            json!({ "current": ADMIN_PASSWORD, "new": "a brand new passphrase" }),
        )
        .await;

    assert_no_errors(&answer);
    let fresh = answer["data"]["changePassword"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!works(&app, &laptop).await);
    assert!(!works(&other_instance, &phone).await);
    assert!(works(&other_instance, &fresh).await);
    let old_password = app
        .gql(
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&old_password), "UNAUTHENTICATED");
    app.login(ADMIN_EMAIL, "a brand new passphrase").await;
}

async fn change_password_checks_both_passwords(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let change = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) { token } }";

    let wrong_current = app
        .gql_as(
            &token,
            change,
            json!({ "current": "not my password", "new": "a brand new passphrase" }),
        )
        .await;
    let too_short = app
        .gql_as(
            &token,
            change,
            json!({ "current": ADMIN_PASSWORD, "new": "short" }),
        )
        .await;
    let too_long = app
        .gql_as(
            &token,
            change,
            json!({ "current": ADMIN_PASSWORD, "new": "x".repeat(129) }),
        )
        .await;
    let anonymous = app
        .gql(
            change,
            json!({ "current": ADMIN_PASSWORD, "new": "a brand new passphrase" }),
        )
        .await;

    assert_eq!(error_field(&wrong_current), "currentPassword");
    assert_eq!(error_field(&too_short), "newPassword");
    assert_eq!(error_field(&too_long), "newPassword");
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert!(
        works(&app, &token).await,
        "a refused change ends no session"
    );
}

async fn passwords_are_never_truncated(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let long = format!("{}b", "a".repeat(127));
    let change = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) { token } }";
    assert_no_errors(
        &app.gql_as(
            &token,
            change,
            json!({ "current": ADMIN_PASSWORD, "new": long }),
        )
        .await,
    );

    let near_miss = app
        .gql(
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": format!("{}c", "a".repeat(127)) }),
        )
        .await;

    assert_eq!(error_code(&near_miss), "UNAUTHENTICATED");
    app.login(ADMIN_EMAIL, &long).await;
}

async fn removing_a_moderator_takes_effect_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_instance = start(TestDb::reuse(&app.db), test_settings(&app.db)).await;
    let admin = app.admin_token().await;
    add_moderator(&app, "desk@parley.test", "desk password 123").await;
    let desk = app.login("desk@parley.test", "desk password 123").await;
    let desk_id = moderator_id(&app, &desk).await;

    let removed = app
        .gql_as(
            &admin,
            "mutation($id: ID!) { removeModerator(id: $id) { email } }",
            json!({ "id": desk_id }),
        )
        .await;

    assert_eq!(
        removed["data"]["removeModerator"]["email"],
        "desk@parley.test"
    );
    assert!(!works(&other_instance, &desk).await);
    let again = app
        .gql(
            LOGIN,
            json!({ "email": "desk@parley.test", "password": "desk password 123" }),
        )
        .await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED");
    let list = app
        .gql_as(&admin, "{ moderators { email } }", json!({}))
        .await;
    assert_eq!(
        list["data"]["moderators"],
        json!([{ "email": ADMIN_EMAIL }])
    );
    let twice = app
        .gql_as(
            &admin,
            "mutation($id: ID!) { removeModerator(id: $id) { email } }",
            json!({ "id": desk_id }),
        )
        .await;
    assert_eq!(error_code(&twice), "NOT_FOUND");
}

/// `setModeratorRole` applies to the next request on every instance: a
/// demoted admin's token is refused for admin actions on an instance other
/// than the one that demoted them, and still moderates there.
async fn demoting_a_moderator_takes_effect_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_instance = start(TestDb::reuse(&app.db), test_settings(&app.db)).await;
    let admin = app.admin_token().await;
    add_moderator(&app, "desk@parley.test", "desk password 123").await;
    let desk = app.login("desk@parley.test", "desk password 123").await;
    let desk_id = moderator_id(&app, &desk).await;
    let set_role = "mutation($id: ID!, $role: ModeratorRole!) { setModeratorRole(id: $id, role: $role) { role } }";
    let admin_only = "{ moderators { email } }";

    let promoted = app
        .gql_as(&admin, set_role, json!({ "id": desk_id, "role": "ADMIN" }))
        .await;
    let as_admin_here = app.gql_as(&desk, admin_only, json!({})).await;
    let as_admin_there = other_instance.gql_as(&desk, admin_only, json!({})).await;
    app.gql_as(
        &admin,
        set_role,
        json!({ "id": desk_id, "role": "MODERATOR" }),
    )
    .await;
    let demoted_here = app.gql_as(&desk, admin_only, json!({})).await;
    let demoted_there = other_instance.gql_as(&desk, admin_only, json!({})).await;

    assert_eq!(promoted["data"]["setModeratorRole"]["role"], "ADMIN");
    assert_no_errors(&as_admin_here);
    assert_no_errors(&as_admin_there);
    assert_eq!(error_code(&demoted_here), "FORBIDDEN");
    assert_eq!(
        error_code(&demoted_there),
        "FORBIDDEN",
        "the demotion holds on the other instance: {demoted_there}"
    );
    assert!(
        works(&other_instance, &desk).await,
        "a demoted moderator still moderates"
    );
}

async fn only_admins_manage_moderators(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let admin_id = moderator_id(&app, &admin).await;
    add_moderator(&app, "desk@parley.test", "desk password 123").await;
    let desk = app.login("desk@parley.test", "desk password 123").await;
    let remove = "mutation($id: ID!) { removeModerator(id: $id) { id } }";

    let by_moderator = app.gql_as(&desk, remove, json!({ "id": admin_id })).await;
    let anonymous = app.gql(remove, json!({ "id": admin_id })).await;
    let self_removal = app.gql_as(&admin, remove, json!({ "id": admin_id })).await;
    let unknown = app
        .gql_as(&admin, remove, json!({ "id": uuid::Uuid::now_v7() }))
        .await;

    assert_eq!(error_code(&by_moderator), "FORBIDDEN");
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(error_field(&self_removal), "id");
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    assert!(works(&app, &admin).await);
}

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> Value {
    let response = app
        .client()
        .post(app.graphql_url())
        .header("X-Forwarded-For", address)
        .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn behind_a_proxy(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]
    })
    .await
}

/// Moves every recorded login failure `seconds` into the past, as if that
/// much time had gone by.
async fn age_login_failures(app: &TestApp, seconds: i64) {
    use sea_orm::ConnectionTrait;
    app.db
        .connect()
        .await
        .execute_unprepared(&format!(
            "UPDATE login_failures SET created_at = created_at - {}",
            seconds * 1_000_000
        ))
        .await
        .unwrap();
}

fn retry_after(answer: &Value) -> u64 {
    assert_eq!(error_code(answer), "RATE_LIMITED", "{answer}");
    answer["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("retryAfter: {answer}"))
}

fn assert_throttled_for_at_most(answer: &Value, seconds: u64) {
    let retry = retry_after(answer);
    assert!(
        (1..=seconds).contains(&retry),
        "a wait of at most {seconds} s, got {retry}"
    );
}

fn assert_throttled(answer: &Value) {
    assert_eq!(error_code(answer), "RATE_LIMITED", "{answer}");
    let retry = answer["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!(
        (1..=600).contains(&retry),
        "a pause of at most ten minutes, got {retry}"
    );
}

/// Past the account-wide threshold, every try at the account waits a few
/// seconds after the latest failure: other accounts are not affected.
async fn repeated_login_failures_for_an_account_are_throttled(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    for i in 0..20 {
        let answer = login_from(
            &app,
            &format!("198.51.100.{i}"),
            ADMIN_EMAIL,
            "a wrong guess",
        )
        .await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    }

    let next_guess = login_from(&app, "203.0.113.5", ADMIN_EMAIL, "another guess").await;

    assert_throttled_for_at_most(&next_guess, 10);
    let other_account =
        login_from(&app, "203.0.113.5", "nobody@parley.test", "a wrong guess").await;
    assert_eq!(
        error_code(&other_account),
        "UNAUTHENTICATED",
        "other accounts are not affected"
    );
}

async fn repeated_login_failures_from_an_address_are_throttled(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]
    })
    .await;
    for i in 0..10 {
        let answer = login_from(
            &app,
            "198.51.100.66",
            &format!("guess{i}@parley.test"),
            "a wrong guess",
        )
        .await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    }

    let from_attacker = login_from(&app, "198.51.100.66", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let from_elsewhere = login_from(&app, "203.0.113.5", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_throttled(&from_attacker);
    assert_no_errors(&from_elsewhere);
}

/// Ten wrong passwords from ten addresses used to lock the account for ten
/// minutes, renewable at will: the owner now logs in from a fresh address.
async fn failures_from_many_addresses_do_not_lock_the_owner_out(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    for i in 0..19 {
        let answer = login_from(
            &app,
            &format!("198.51.100.{i}"),
            ADMIN_EMAIL,
            "a wrong guess",
        )
        .await;
        assert_eq!(
            error_code(&answer),
            "UNAUTHENTICATED",
            "guess {i}: {answer}"
        );
    }

    let owner = login_from(&app, "203.0.113.5", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_no_errors(&owner);
}

/// Past the account-wide threshold the owner, from a fresh address, waits
/// a few seconds at most, and then gets in.
async fn past_the_account_limit_the_owner_waits_seconds_not_minutes(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    for i in 0..40 {
        let answer = login_from(
            &app,
            &format!("198.51.100.{i}"),
            ADMIN_EMAIL,
            "a wrong guess",
        )
        .await;
        if error_code(&answer) == "RATE_LIMITED" {
            assert_throttled_for_at_most(&answer, 10);
        } else {
            assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
        }
    }

    let refused = login_from(&app, "203.0.113.5", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_throttled_for_at_most(&refused, 10);
    age_login_failures(&app, retry_after(&refused) as i64).await;
    let owner = login_from(&app, "203.0.113.5", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_no_errors(&owner);
}

/// One address guessing at one account gets five tries, then waits a
/// minute, then two, four...
async fn repeated_failures_from_one_address_at_one_account_back_off(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    for _ in 0..5 {
        let answer = login_from(&app, "198.51.100.7", ADMIN_EMAIL, "a wrong guess").await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
    }

    let sixth = login_from(&app, "198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!((50..=60).contains(&retry_after(&sixth)), "{sixth}");
    age_login_failures(&app, 60).await;
    let after_a_minute = login_from(&app, "198.51.100.7", ADMIN_EMAIL, "a wrong guess").await;
    assert_eq!(error_code(&after_a_minute), "UNAUTHENTICATED");
    let seventh = login_from(&app, "198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!((110..=120).contains(&retry_after(&seventh)), "{seventh}");

    let elsewhere = login_from(&app, "203.0.113.5", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_no_errors(&elsewhere);
}

async fn change_password_from(app: &TestApp, address: &str, token: &str, current: &str) -> Value {
    let change = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) { token } }";
    let response = app
        .client()
        .post(app.graphql_url())
        .header("X-Forwarded-For", address)
        .bearer_auth(token)
        .json(&json!({ "query": change, "variables": { "current": current, "new": "a brand new passphrase" } }))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// A stolen token must not let its holder guess the password: wrong
/// current passwords count as failed logins for the account and address.
async fn wrong_current_passwords_are_throttled_like_logins(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    let login = login_from(&app, "198.51.100.20", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = login["data"]["login"]["token"].as_str().unwrap().to_owned();
    for i in 0..5 {
        let answer =
            change_password_from(&app, "198.51.100.20", &token, &format!("guess {i}")).await;
        assert_eq!(error_field(&answer), "currentPassword", "{answer}");
    }

    let sixth = change_password_from(&app, "198.51.100.20", &token, "guess 5").await;
    let right = change_password_from(&app, "198.51.100.20", &token, ADMIN_PASSWORD).await;
    let login_here = login_from(&app, "198.51.100.20", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let login_elsewhere = login_from(&app, "203.0.113.5", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_throttled(&sixth);
    assert_throttled(&right);
    assert_throttled(&login_here);
    assert_no_errors(&login_elsewhere);
}

/// An IPv6 client holds a whole /64: its addresses share one set of limits.
async fn addresses_in_one_ipv6_64_share_login_limits(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    for i in 0..10 {
        let answer = login_from(
            &app,
            &format!("2001:db8:5:6:{i:x}::1"),
            &format!("guess{i}@parley.test"),
            "a wrong guess",
        )
        .await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
    }

    let same_64 = login_from(&app, "2001:db8:5:6:ffff::9", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let next_64 = login_from(&app, "2001:db8:5:7::1", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_throttled(&same_64);
    assert_no_errors(&next_64);
}

/// A failed login to an existing account and one to an unknown email take
/// about the same time (a dummy hash is verified for the unknown one), so
/// timing tells no one which emails have accounts. Medians of a few tries
/// each, interleaved, from fresh addresses so that no limit is reached; the
/// bounds are wide enough for a busy machine, and far narrower than the
/// gap a skipped hash would open.
async fn logins_to_known_and_unknown_accounts_take_about_the_same_time(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    const TRIES: usize = 5;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // The first of each warms up what the first try pays for once.
    for n in 0..=TRIES {
        for (email, times) in [
            (ADMIN_EMAIL, &mut known),
            ("nobody@parley.test", &mut unknown),
        ] {
            let address = format!("203.0.113.{}", 2 * n + usize::from(email == ADMIN_EMAIL));
            let started = std::time::Instant::now();
            let answer = login_from(&app, &address, email, "not the password at all").await;
            let took = started.elapsed();
            assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
            if n > 0 {
                times.push(took);
            }
        }
    }
    let median = |times: &mut Vec<std::time::Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let ratio = known / unknown;
    assert!(
        (0.33..=3.0).contains(&ratio),
        "a failed login took {known:.4} s for an account and {unknown:.4} s for an unknown email"
    );
}
