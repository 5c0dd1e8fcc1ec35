//! `GET /graphql/ws`: subscriptions over WebSocket (`graphql-transport-ws`,
//! and the older `graphql-ws`). Only subscription operations run here:
//! queries and mutations go through `/graphql`, under its rules. Messages
//! are capped at the same size as request bodies, and subscriptions get the
//! same checks as requests over HTTP (aliases, integers, depth and
//! complexity).
//!
//! A connection must send `connection_init` in time (or is closed with
//! `4408`), is pinged, and is closed when it sends nothing at all, pongs
//! included, for too long. Each client address may hold so many WebSockets,
//! and each WebSocket run so many subscriptions. Each event a subscription
//! delivers is executed in turn with HTTP requests, under the same limit.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, WebSocket as GraphqlSocket, WebSocketProtocols, WsMessage,
};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::stream::{BoxStream, SplitSink};
use futures_util::{SinkExt, Stream, StreamExt};
use tokio::time::Instant;

use super::AppState;
use super::client_addr::client_ip;
use super::connections::Slot;
use super::graphql::runs_only;
use super::metrics::Held;
use crate::auth::{Credentials, Viewer};
use crate::graphql::limits::{count_aliases, out_of_range_integer};
use crate::graphql::{ExecutionTurns, ParleySchema, SocketToken, errors};
use prometheus_client::metrics::gauge::Gauge;

/// Bytes read from the socket at a time. GraphQL messages are small, and a
/// larger one is still read whole; tungstenite zero-fills the whole buffer,
/// so each byte here is resident for every open socket (the default of
/// 128 KiB would be most of an idle subscriber's memory; 4 KiB was a fifth).
const READ_BUFFER_BYTES: usize = 512;

/// The most an answer may wait unsent for a client that does not read.
const MAX_WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// The close code of graphql-transport-ws for a missing `connection_init`.
const INIT_TIMEOUT_CODE: u16 = 4408;

/// The close code for a connection that went quiet (going away).
const IDLE_CODE: u16 = 1001;

/// The WebSocket settings handlers need.
#[derive(Debug, Clone)]
pub struct SocketLimits {
    pub max_subscriptions: usize,
    pub init_timeout: Duration,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
}

pub async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    // What async-graphql-axum's `GraphQLProtocol` extractor reads.
    let Some(protocol) = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        })
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let client = client_ip(peer.ip(), &headers, &state.trusted_proxies);
    let Some(slot) = state.websockets.try_take(Some(client)) else {
        let body = serde_json::json!({ "errors": [{
            "message": "too many WebSocket connections from this address",
        }] });
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    };
    let executor = SubscriptionsOnly {
        schema: state.schemas.anonymous.clone(),
        max_aliases: state.max_aliases,
        max_subscriptions: state.socket_limits.max_subscriptions,
        running: Arc::default(),
        open: state.metrics.subscriptions(),
    };
    let open = state.metrics.websocket_open();
    let limits = state.socket_limits.clone();
    let turns = ExecutionTurns(state.executions.clone());
    let identity = Identity {
        store: state.store.clone(),
        keys: state.keys.clone(),
    };
    upgrade
        .max_message_size(state.max_body_bytes)
        .max_frame_size(state.max_body_bytes)
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message is written as it comes: there are few, and small.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES.max(state.max_body_bytes))
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            serve(
                socket,
                executor,
                protocol,
                turns,
                limits,
                identity,
                (slot, open),
            )
        })
        .into_response()
}

/// Runs the protocol on one socket until either side closes it, the
/// client misses `connection_init`, or the client goes quiet.
async fn serve(
    socket: WebSocket,
    executor: SubscriptionsOnly,
    protocol: WebSocketProtocols,
    turns: ExecutionTurns,
    limits: SocketLimits,
    identity: Identity,
    _held: (Slot, Held),
) {
    let began = Instant::now();
    let elapsed_ms = move || u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    let heard_ms = Arc::new(AtomicU64::new(0));
    let initialised = Arc::new(AtomicBool::new(false));

    let (mut sink, stream) = socket.split();
    let heard = heard_ms.clone();
    let input = stream
        .take_while(|message| std::future::ready(message.is_ok()))
        .filter_map(move |message| {
            // Any frame, pongs included, shows the client is there.
            heard.store(elapsed_ms(), Ordering::Relaxed);
            std::future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let mut data = Data::default();
    data.insert(turns);
    let init = initialised.clone();
    let messages = GraphqlSocket::new(executor, input, protocol)
        .connection_data(data)
        .on_connection_init(move |payload| {
            init.store(true, Ordering::Relaxed);
            identity.of(payload)
        });
    let mut messages = std::pin::pin!(messages);

    let init_deadline = tokio::time::sleep(limits.init_timeout);
    tokio::pin!(init_deadline);
    let mut init_checked = false;
    let mut pings = tokio::time::interval_at(
        began + limits.ping_interval,
        limits.ping_interval.max(Duration::from_millis(10)),
    );
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let heard = Duration::from_millis(heard_ms.load(Ordering::Relaxed));
        let idle_deadline = began + heard + limits.idle_timeout;
        let outgoing = tokio::select! {
            message = messages.next() => match message {
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => {
                    close(&mut sink, code, &reason, limits.idle_timeout).await;
                    break;
                }
                None => break,
            },
            () = &mut init_deadline, if !init_checked => {
                init_checked = true;
                if initialised.load(Ordering::Relaxed) {
                    continue;
                }
                close(&mut sink, INIT_TIMEOUT_CODE, "Connection initialisation timeout", limits.idle_timeout).await;
                break;
            }
            _ = pings.tick() => Message::Ping(Bytes::new()),
            () = tokio::time::sleep_until(idle_deadline) => {
                if Duration::from_millis(heard_ms.load(Ordering::Relaxed)) > heard {
                    continue;
                }
                close(&mut sink, IDLE_CODE, "idle for too long", limits.idle_timeout).await;
                break;
            }
        };
        // A client that does not read cannot hold the connection forever.
        match tokio::time::timeout(limits.idle_timeout, sink.send(outgoing)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
}

/// Who a socket belongs to, from the `Authorization` its
/// `connection_init` payload carries: a moderator's subscriptions see what
/// moderators see. Without one the socket is anonymous.
#[derive(Clone)]
struct Identity {
    store: crate::domain::Store,
    keys: crate::auth::TokenKeys,
}

impl Identity {
    async fn of(self, payload: serde_json::Value) -> async_graphql::Result<Data> {
        let header = payload.as_object().and_then(|fields| {
            fields
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, value)| value.as_str())
                .map(str::to_owned)
        });
        let credentials = Credentials::from_header(header.as_deref().map(str::as_bytes));
        let viewer = match credentials.viewer(&self.store, &self.keys).await {
            Ok(viewer) => viewer,
            // Unverifiable now (the database is away): not a moderator.
            Err(_) => Viewer::InvalidToken,
        };
        let mut data = Data::default();
        if let Credentials::Bearer(token) = credentials {
            data.insert(SocketToken(token.to_owned()));
        }
        data.insert(viewer);
        Ok(data)
    }
}

async fn close(
    sink: &mut SplitSink<WebSocket, Message>,
    code: u16,
    reason: &str,
    within: Duration,
) {
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = tokio::time::timeout(within, sink.send(Message::Close(Some(frame)))).await;
}

/// Runs subscription operations and refuses every other kind, and more
/// than so many at once on one connection.
#[derive(Clone)]
struct SubscriptionsOnly {
    schema: ParleySchema,
    max_aliases: usize,
    max_subscriptions: usize,
    /// Subscriptions running on this connection.
    running: Arc<AtomicUsize>,
    /// Subscriptions running on every connection, for metrics.
    open: Gauge,
}

/// An answer of one error, labelled like async-graphql's own.
fn refusal(message: &str) -> Response {
    let mut error = ServerError::new(message, None);
    errors::label(&mut error);
    Response::from_errors(vec![error])
}

fn refused(message: String) -> BoxStream<'static, Response> {
    futures_util::stream::once(async move { refusal(&message) }).boxed()
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        refusal(ONLY_SUBSCRIPTIONS)
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let document = async_graphql::parser::parse_query(&request.query).ok();
        let operation = request.operation_name.as_deref();
        if !runs_only(document.as_ref(), operation, OperationType::Subscription) {
            return refused(ONLY_SUBSCRIPTIONS.to_owned());
        }
        let aliases = document.as_ref().map_or(0, count_aliases);
        if aliases > self.max_aliases {
            return refused(format!(
                "the request has {aliases} aliases; at most {} are allowed",
                self.max_aliases
            ));
        }
        if let Some(name) = out_of_range_integer(&request.variables, document.as_ref()) {
            let mut error = ServerError::new(
                format!("`{name}` is outside the range of Int (32-bit)"),
                None,
            );
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", "BAD_USER_INPUT");
            extensions.set("field", name);
            return futures_util::stream::once(async move { Response::from_errors(vec![error]) })
                .boxed();
        }
        let Some(running) = Running::start(&self.running, self.max_subscriptions, &self.open)
        else {
            return refused(format!(
                "this connection already runs {} subscriptions, the most allowed; \
                 complete one first",
                self.max_subscriptions
            ));
        };
        let mut request = request;
        if let Some(document) = document {
            request.set_parsed_query(document);
        }
        let responses =
            Executor::execute_stream(&self.schema, request, session_data).map(|mut response| {
                errors::label_response(&mut response);
                response
            });
        Counted {
            inner: responses.boxed(),
            _running: running,
        }
        .boxed()
    }
}

const ONLY_SUBSCRIPTIONS: &str =
    "only subscriptions run over WebSocket; send queries and mutations to POST /graphql";

/// One running subscription of a connection, counted (there and in the
/// metrics) until dropped.
struct Running {
    count: Arc<AtomicUsize>,
    _open: Held,
}

impl Running {
    fn start(running: &Arc<AtomicUsize>, max: usize, open: &Gauge) -> Option<Self> {
        running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self {
                count: running.clone(),
                _open: Held::new(open),
            })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A subscription's answers, counted as running while the stream lives.
struct Counted {
    inner: BoxStream<'static, Response>,
    _running: Running,
}

impl Stream for Counted {
    type Item = Response;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Response>> {
        self.inner.poll_next_unpin(cx)
    }
}
