//! Connections that go quiet are closed, and caps on connections and
//! subscriptions refuse the excess at once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::*;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A request cut off in the middle of its headers.
const HALF_SENT: &[u8] = b"POST /graphql HTTP/1.1\r\nHost: parley.test\r\nContent-Type: appl";

fn server_addr(app: &TestApp) -> SocketAddr {
    app.base
        .trim_start_matches("http://")
        .parse()
        .expect("the base is an address")
}

/// A TCP connection to the server from `local` (any 127.0.0.0/8 address is
/// the loopback on Linux).
async fn connect_from(app: &TestApp, local: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(local), 0)).unwrap();
    socket.connect(server_addr(app)).await.unwrap()
}

/// Reads until the server closes the connection, for at most `within`;
/// returns what it sent, or `None` if it was still open at the deadline.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

async fn half_sent_headers_are_closed_after_the_header_timeout(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.connections.header_timeout = Duration::from_secs(1);
        s.connections.keep_alive = Duration::from_secs(30);
    })
    .await;
    let mut slow = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    slow.write_all(HALF_SENT).await.unwrap();
    let began = Instant::now();

    let closed = read_until_closed(&mut slow, Duration::from_secs(8)).await;

    assert!(closed.is_some(), "half-sent headers still open after 8 s");
    assert!(
        began.elapsed() >= Duration::from_millis(800),
        "closed before the header timeout: {:?}",
        began.elapsed()
    );
    let answer = app.gql("{ __typename }", json!({})).await;
    assert_eq!(answer["data"]["__typename"], "Query");
}

async fn idle_keep_alive_connections_are_closed(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.connections.keep_alive = Duration::from_secs(1);
    })
    .await;
    let mut idle = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: parley.test\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0_u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let closed = read_until_closed(&mut idle, Duration::from_secs(8)).await;

    assert!(
        closed.is_some(),
        "an idle keep-alive connection stayed open"
    );
}

async fn the_per_address_cap_refuses_the_excess_and_others_still_get_answers(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.connections.max_connections_per_address = 3;
        s.connections.header_timeout = Duration::from_secs(60);
        s.connections.keep_alive = Duration::from_secs(60);
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(&app, Ipv4Addr::LOCALHOST).await;
        stream.write_all(HALF_SENT).await.unwrap();
        slow.push(stream);
    }

    // Accepted in order: the fourth comes after the three hold their slots.
    let mut excess = connect_from(&app, Ipv4Addr::LOCALHOST).await;
    let refused = read_until_closed(&mut excess, Duration::from_secs(5)).await;
    let refused = refused.expect("the connection over the cap was left open");
    let text = String::from_utf8_lossy(&refused);
    assert!(
        refused.is_empty() || text.starts_with("HTTP/1.1 503"),
        "unexpected answer: {text}"
    );

    // Another address is not held up by the slow ones.
    let other = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let answer: Value = other
        .post(app.graphql_url())
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("a client at another address is answered")
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"]["__typename"], "Query");

    // The slow clients were not closed for it.
    for stream in &mut slow {
        let mut byte = [0_u8; 1];
        let still_open = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte))
            .await
            .is_err();
        assert!(still_open, "a slow client within the cap was closed");
    }
}

async fn ws_connect(app: &TestApp) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!("{}/graphql/ws", app.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

async fn ws_send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next frame other than a ping or pong, within `within`.
async fn ws_next(socket: &mut Socket, within: Duration) -> Option<Message> {
    let deadline = Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Text(ref text) if text.contains("\"ping\"") => continue,
            other => return Some(other),
        }
    }
}

/// The next protocol message as JSON.
async fn ws_next_json(socket: &mut Socket) -> Value {
    match ws_next(socket, Duration::from_secs(5)).await {
        Some(Message::Text(text)) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn ws_initialised(app: &TestApp) -> Socket {
    let mut socket = ws_connect(app).await.expect("WebSocket connects");
    ws_send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_next_json(&mut socket).await["type"], "connection_ack");
    socket
}

async fn subscribe(socket: &mut Socket, id: &str, selection: &str) {
    ws_send(
        socket,
        json!({
            "id": id,
            "type": "subscribe",
            "payload": {
                "query": format!("subscription {{ commentApproved(articleSlug: \"live\") {{ {selection} }} }}"),
            },
        }),
    )
    .await;
}

async fn a_websocket_without_connection_init_is_closed_with_4408(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.connections.websocket_init_timeout = Duration::from_secs(1);
    })
    .await;
    let mut silent = ws_connect(&app).await.expect("WebSocket connects");

    let closed = ws_next(&mut silent, Duration::from_secs(8)).await;

    match closed {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::from(4408));
            assert_eq!(frame.reason.as_str(), "Connection initialisation timeout");
        }
        other => panic!("expected a close frame with 4408, got {other:?}"),
    }
}

async fn a_connection_runs_only_so_many_subscriptions(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.connections.max_subscriptions_per_connection = 2;
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    let mut socket = ws_initialised(&app).await;

    subscribe(&mut socket, "1", "id").await;
    subscribe(&mut socket, "2", "id").await;
    subscribe(&mut socket, "3", "id").await;
    let refused = ws_next_json(&mut socket).await;

    assert_eq!(refused["id"], "3", "{refused}");
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let message = refused["payload"]["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("2 subscriptions"), "{message}");
    assert_eq!(ws_next_json(&mut socket).await["type"], "complete");

    // Completing one makes room for another.
    ws_send(&mut socket, json!({ "id": "1", "type": "complete" })).await;
    subscribe(&mut socket, "4", "id").await;
    // Comments are posted until both running subscriptions have delivered
    // one (each starts listening once its article is looked up).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut delivered = std::collections::BTreeSet::new();
    let mut round = 0;
    while delivered.len() < 2 {
        assert!(Instant::now() < deadline, "delivered only to {delivered:?}");
        round += 1;
        let id = app
            .post("live", "Ann", &format!("hello number {round}"), None)
            .await;
        app.approve(&token, &id).await;
        while let Some(Message::Text(text)) = ws_next(&mut socket, Duration::from_millis(300)).await
        {
            let message: Value = serde_json::from_str(&text).unwrap();
            match message["type"].as_str() {
                Some("complete") => assert_eq!(message["id"], "1", "{message}"),
                Some("next") => {
                    assert!(message["payload"]["errors"].is_null(), "{message}");
                    delivered.insert(message["id"].as_str().unwrap().to_owned());
                }
                _ => panic!("unexpected message: {message}"),
            }
        }
    }
    assert_eq!(delivered.into_iter().collect::<Vec<_>>(), ["2", "4"]);
}

async fn a_subscription_with_too_many_aliases_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    let mut socket = ws_initialised(&app).await;
    let aliases: Vec<String> = (0..40).map(|i| format!("a{i}: id")).collect();

    subscribe(&mut socket, "1", &aliases.join(" ")).await;
    let refused = ws_next_json(&mut socket).await;

    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert!(
        refused["payload"]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{refused}"
    );
}

async fn a_subscription_over_the_depth_limit_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.limits.max_depth = 3).await;
    let token = app.admin_token().await;
    app.create_article(&token, "live").await;
    let mut socket = ws_initialised(&app).await;

    subscribe(
        &mut socket,
        "1",
        "id replies { nodes { id replies { nodes { id } } } }",
    )
    .await;
    let refused = ws_next_json(&mut socket).await;

    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
}

async fn an_address_holds_only_so_many_websockets(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.connections.max_websockets_per_address = 2;
    })
    .await;
    let _first = ws_initialised(&app).await;
    let _second = ws_initialised(&app).await;

    let third = ws_connect(&app).await;

    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        Err(other) => panic!("expected a 503, got {other}"),
        Ok(_) => panic!("a third WebSocket was accepted"),
    }
    let answer = app.gql("{ __typename }", json!({})).await;
    assert_eq!(answer["data"]["__typename"], "Query");
}

crate::on_both_databases!(
    half_sent_headers_are_closed_after_the_header_timeout,
    idle_keep_alive_connections_are_closed,
    the_per_address_cap_refuses_the_excess_and_others_still_get_answers,
    a_websocket_without_connection_init_is_closed_with_4408,
    a_connection_runs_only_so_many_subscriptions,
    a_subscription_with_too_many_aliases_is_refused,
    a_subscription_over_the_depth_limit_is_refused,
    an_address_holds_only_so_many_websockets
);
