//! `commentApproved` over WebSocket (`graphql-transport-ws`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    unknown_article_subscription_is_an_error,
    messages_larger_than_the_body_cap_close_the_socket,
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

/// The ids of the comments published to learn that a subscription is
/// registered; [`next`] skips their events.
static PROBES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn is_probe(message: &Value) -> bool {
    message["type"] == "next"
        && message["payload"]["data"]["commentApproved"]["id"]
            .as_str()
            .is_some_and(|id| PROBES.lock().unwrap().iter().any(|probe| probe == id))
}

/// Publishes a comment on `slug` that subscribers will see, approving it
/// under pre-moderation.
async fn publish_probe(app: &TestApp, slug: &str, token: &mut Option<String>) {
    let answer = app
        .post_comment(json!({
            "articleSlug": slug,
            "authorName": "Probe",
            "authorEmail": "probe@readers.example",
            "body": format!("probe {}", uuid::Uuid::now_v7()),
        }))
        .await;
    assert_no_errors(&answer);
    let posted = &answer["data"]["postComment"];
    let id = posted["id"].as_str().unwrap().to_owned();
    PROBES.lock().unwrap().push(id.clone());
    if posted["status"] == "PENDING" {
        if token.is_none() {
            *token = Some(app.admin_token().await);
        }
        app.approve(token.as_deref().unwrap(), &id).await;
    }
}

async fn send_subscription(socket: &mut Socket, slug: &str, selection: &str) {
    send(
        socket,
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
}

/// Subscribes to the comments of `slug` (with `selection`, which must hold
/// `id`), and returns once the subscription is registered: comments are
/// published on the article until one of them is delivered.
pub(crate) async fn subscribe_with(app: &TestApp, slug: &str, selection: &str) -> Socket {
    assert!(selection.split_whitespace().any(|field| field == "id"));
    let mut socket = connect(app).await;
    send_subscription(&mut socket, slug, selection).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut token = None;
    loop {
        publish_probe(app, slug, &mut token).await;
        match message_within(app, &mut socket, Duration::from_millis(200)).await {
            Some(message) if is_probe(&message) => return socket,
            Some(message) => panic!("unexpected message while subscribing: {message}"),
            None => assert!(
                Instant::now() < deadline,
                "the subscription never delivered a comment"
            ),
        }
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next protocol message other than a ping, or `None` if none comes
/// within `limit`.
async fn message_within(app: &TestApp, socket: &mut Socket, limit: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
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

/// The next protocol message (probes aside), or `None` if none comes
/// within a second.
pub(crate) async fn next(app: &TestApp, socket: &mut Socket) -> Option<Value> {
    loop {
        let message = message_within(app, socket, Duration::from_secs(1)).await?;
        if !is_probe(&message) {
            return Some(message);
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
    let mut socket = connect(&app).await;
    send_subscription(&mut socket, "no-such-article", "id").await;

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

/// A WebSocket message is capped like a request body: one larger than
/// `PARLEY_MAX_BODY_BYTES` is not read, and the socket is closed.
async fn messages_larger_than_the_body_cap_close_the_socket(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.max_body_bytes = 4096).await;
    let mut socket = connect(&app).await;
    // A subscription to an unknown article answers at once; the comment
    // pads the message to `size` bytes.
    let padded = |id: &str, size: usize| {
        let message = |padding: usize| {
            json!({
                "id": id,
                "type": "subscribe",
                "payload": { "query": format!(
                    "subscription {{ commentApproved(articleSlug: \"no-such-article\") {{ id }} }} #{}",
                    "x".repeat(padding)
                ) },
            })
            .to_string()
        };
        let bare = message(0).len();
        let text = message(size - bare);
        assert_eq!(text.len(), size);
        text
    };

    socket
        .send(Message::text(padded("within", 4000)))
        .await
        .unwrap();
    let answered = next(&app, &mut socket).await.expect("an answer");
    assert_eq!(answered["id"], "within", "{answered}");
    assert_eq!(
        answered["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{answered}"
    );
    assert_eq!(
        next(&app, &mut socket).await.expect("completion")["type"],
        "complete"
    );

    socket
        .send(Message::text(padded("over", 8192)))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => panic!("the socket stayed open after an oversized message"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(Message::Text(text)))) => {
                app.assert_no_email_in(&text);
                let value: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    value["type"], "ping",
                    "the oversized message was read: {value}"
                );
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}
