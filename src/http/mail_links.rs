//! The pages the links in mail lead to. Each `GET` shows a button (a plain
//! form, no JavaScript) that `POST`s to the same address, and only the
//! `POST` acts: mail scanners follow links, and must neither confirm an
//! address for its owner nor unsubscribe it. `/mail/confirm` confirms an
//! address for reply notifications; `/mail/unsubscribe` stops them, and
//! its `POST` is also the one-click unsubscribe of RFC 8058 that mail
//! clients send. Without mail, these answer 404.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::pages::guarded_html;
use crate::domain::mail::replies::{self, LinkOutcome};

#[derive(Debug, Deserialize)]
pub struct Link {
    #[serde(default)]
    token: String,
}

const CSP: &str = "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

fn answer(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<main class="site">
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#
    );
    let mut response = guarded_html(html, CSP, "no-store");
    *response.status_mut() = status;
    response
}

fn not_valid() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        "This link is not valid",
        "<p>It may have been cut short. Open the whole link from the mail.</p>",
    )
}

fn failed() -> Response {
    answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>Nothing was changed. Try the link again in a while.</p>",
    )
}

/// `GET /mail/confirm?token=…`: the button, not the deed. The form posts
/// back to the page's own address, token included.
pub async fn confirm_page(State(state): State<AppState>) -> Response {
    if state.mail.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    answer(
        StatusCode::OK,
        "Mail about replies",
        r#"<p>Confirm that you want a mail when someone replies to a comment you asked about.</p>
<form method="post">
<button type="submit">Confirm</button>
</form>"#,
    )
}

/// `POST /mail/confirm?token=…`: the page's button.
pub async fn confirm(State(state): State<AppState>, Query(link): Query<Link>) -> Response {
    let Some(mail) = &state.mail else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match replies::confirm(&state.store, mail, &link.token).await {
        Ok(LinkOutcome::Done) => answer(
            StatusCode::OK,
            "Confirmed",
            "<p>You will get a mail when someone replies to a comment you asked about. \
             Each one has a link to stop them.</p>",
        ),
        Ok(LinkOutcome::Unknown) => not_valid(),
        Err(err) => {
            tracing::error!(error = %err.message(), "could not confirm an address");
            failed()
        }
    }
}

/// `GET /mail/unsubscribe?token=…`: the button, not the deed.
pub async fn unsubscribe_page(State(state): State<AppState>) -> Response {
    if state.mail.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    answer(
        StatusCode::OK,
        "Stop mail about replies",
        r#"<p>Press the button to stop mail to your address about replies to your comments.</p>
<form method="post">
<button type="submit">Stop these mails</button>
</form>"#,
    )
}

/// `POST /mail/unsubscribe?token=…`: the form's button, or a mail
/// client's one-click unsubscribe.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(link): Query<Link>,
    _headers: HeaderMap,
) -> Response {
    let Some(mail) = &state.mail else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match replies::unsubscribe(&state.store, mail, &link.token).await {
        Ok(LinkOutcome::Done) => answer(
            StatusCode::OK,
            "Unsubscribed",
            "<p>No more mail will be sent to your address about replies. Asking again \
             when you post a comment sends a new confirmation.</p>",
        ),
        Ok(LinkOutcome::Unknown) => not_valid(),
        Err(err) => {
            tracing::error!(error = %err.message(), "could not unsubscribe an address");
            failed()
        }
    }
}
