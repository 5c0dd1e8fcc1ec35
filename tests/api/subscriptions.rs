//! `commentApproved` over WebSocket (`graphql-transport-ws`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    approved_comments_reach_subscribers_and_pending_ones_do_not,
    only_subscriptions_run_over_websocket,
    subscribers_never_see_an_email,
    post_moderation_delivers_on_posting,
    unknown_article_subscription_is_an_error
);

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp) -> Socket {
    let url = format!("{}/graphql/ws", app.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket connects");
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(
        next(app, &mut socket).await.expect("ack")["type"],
        "connection_ack"
    );
    socket
}

async fn subscribe(app: &TestApp, slug: &str) -> Socket {
    subscribe_with(app, slug, "id body status authorName").await
}

pub(crate) async fn subscribe_with(app: &TestApp, slug: &str, selection: &str) -> Socket {
    let mut socket = connect(app).await;
    send(
        &mut socket,
        json!({
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": format!("subscription($slug: String!) {{ commentApproved(articleSlug: $slug) {{ {selection} }} }}"),
                "variables": { "slug": slug },
            },
        }),
    )
    .await;
    // Let the subscription register before anything is published.
    tokio::time::sleep(Duration::from_millis(200)).await;
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next protocol message, or `None` if none comes within a second.
pub(crate) async fn next(app: &TestApp, socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(1), socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = message {
            app.assert_no_email_in(&text);
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ping" {
                return Some(value);
            }
        }
    }
}

async fn approved_comments_reach_subscribers_and_pending_ones_do_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    app.create_article(&token, "other").await;
    let mut socket = subscribe(&app, "live").await;

    let pending = app.post("live", "Pat", "waiting", None).await;
    assert_eq!(
        next(&app, &mut socket).await,
        None,
        "a pending comment was delivered"
    );
    let elsewhere = app.post("other", "Sam", "elsewhere", None).await;
    app.approve(&token, &elsewhere).await;
    assert_eq!(
        next(&app, &mut socket).await,
        None,
        "another article's comment was delivered"
    );
    app.approve(&token, &pending).await;
    let delivered = next(&app, &mut socket)
        .await
        .expect("delivered within a second");

    assert_eq!(delivered["type"], "next");
    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["id"],
        json!(pending)
    );
    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["status"],
        "APPROVED"
    );
}

async fn post_moderation_delivers_on_posting(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    let mut socket = subscribe(&app, "live").await;

    let id = app.post("live", "Ann", "straight through", None).await;
    let delivered = next(&app, &mut socket)
        .await
        .expect("delivered within a second");

    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["id"],
        json!(id)
    );
    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["body"],
        "straight through"
    );
}

async fn unknown_article_subscription_is_an_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut socket = subscribe(&app, "no-such-article").await;

    let answer = next(&app, &mut socket).await.expect("an answer");

    // A failing subscription field answers `next` with the error, then `complete`.
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        next(&app, &mut socket).await.expect("completion")["type"],
        "complete"
    );
}

async fn only_subscriptions_run_over_websocket(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    let mut socket = connect(&app).await;

    send(
        &mut socket,
        json!({
            "id": "m",
            "type": "subscribe",
            "payload": { "query": "mutation { postComment(input: { articleSlug: \"live\", authorName: \"Ws\", authorEmail: \"ws@readers.example\", body: \"sneaky\" }) { id } }" },
        }),
    )
    .await;
    let refused = next(&app, &mut socket).await.expect("an answer");

    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    let queue = app
        .gql_as(&token, "{ moderationQueue { nodes { id } } }", json!({}))
        .await;
    assert!(
        node_ids(&queue["data"]["moderationQueue"]).is_empty(),
        "nothing was stored"
    );
}

async fn subscribers_never_see_an_email(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    let mut socket = subscribe_with(&app, "live", "id authorEmail").await;

    let id = app.post("live", "Ann", "hello", None).await;
    let delivered = next(&app, &mut socket).await.expect("delivered");

    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["id"],
        json!(id)
    );
    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["authorEmail"],
        Value::Null
    );
    assert_eq!(
        delivered["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );
}
