//! `GET /graphql/ws`: subscriptions over WebSocket (`graphql-transport-ws`,
//! and the older `graphql-ws`). Only subscription operations run here:
//! queries and mutations go through `/graphql`, under its rules. Messages
//! are capped at the same size as request bodies.

use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::AppState;
use super::graphql::runs_only;
use crate::graphql::{ParleySchema, errors};

pub async fn graphql_ws(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> impl IntoResponse {
    let executor = SubscriptionsOnly(state.schemas.anonymous.clone());
    upgrade
        .max_message_size(state.max_body_bytes)
        .max_frame_size(state.max_body_bytes)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| GraphQLWebSocket::new(socket, executor, protocol).serve())
}

/// Runs subscription operations and refuses every other kind.
#[derive(Clone)]
struct SubscriptionsOnly(ParleySchema);

fn refusal() -> Response {
    let mut error = ServerError::new(
        "only subscriptions run over WebSocket; send queries and mutations to POST /graphql",
        None,
    );
    errors::label(&mut error);
    Response::from_errors(vec![error])
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        refusal()
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let document = async_graphql::parser::parse_query(&request.query).ok();
        let operation = request.operation_name.as_deref();
        if !runs_only(document.as_ref(), operation, OperationType::Subscription) {
            return futures_util::stream::once(async { refusal() }).boxed();
        }
        Executor::execute_stream(&self.0, request, session_data)
            .map(|mut response| {
                errors::label_response(&mut response);
                response
            })
            .boxed()
    }
}
