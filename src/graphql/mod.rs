//! The GraphQL API: one schema builder shared by the server and the tests,
//! the root objects, and the output types.
//!
//! Resolvers stay thin: they read the viewer and the services from the
//! context, call `domain`, and wrap what comes back in a type from `types`,
//! which decides what each caller may see.

mod answer_expiry;
mod answer_size;
mod cache_scope;
pub mod errors;
pub mod limits;
mod loaders;
mod mutation;
mod query;
mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{Context, Response, Schema};
use tokio::sync::Semaphore;

use crate::auth::{TokenKeys, Viewer};
use crate::domain::Store;
use crate::domain::flood::FloodPolicy;
use crate::events::CommentEvents;

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::{SocketToken, Subscription};

/// The schema Parley serves.
pub type ParleySchema = Schema<Query, Mutation, Subscription>;

pub use answer_expiry::AnswerExpiry;
pub use cache_scope::{CacheScope, selected_operation};
pub use limits::QueryLimits;

/// What resolvers need from the server, shared by every request.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub keys: TokenKeys,
    pub events: CommentEvents,
    /// The moderation settings this instance last read.
    pub settings: crate::domain::moderation_settings::SettingsCache,
    pub flood: FloodPolicy,
    /// Seals and opens authors' emails.
    pub sealing: crate::domain::email_privacy::Sealing,
    /// How mail is written, where Parley sends it.
    pub mail: Option<crate::domain::mail::Mail>,
    /// The listed CORS origins when `--article-auto-create` is on.
    pub auto_create: Option<crate::domain::origins::CorsOrigins>,
}

/// The client a request came from as per-address limits see it: the
/// address the HTTP layer resolved (the peer, or the client a trusted proxy
/// forwarded), with an IPv6 address reduced to its /64 network.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Turns to execute GraphQL: at most so many operations execute at once.
/// In a subscription's data, each event the subscription delivers takes a
/// turn while it is resolved (HTTP requests take theirs in the HTTP layer).
#[derive(Clone)]
pub struct ExecutionTurns(pub Arc<Semaphore>);

/// Makes each subscription event wait for a turn.
struct TurnPerEvent;

impl ExtensionFactory for TurnPerEvent {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TurnPerEvent)
    }
}

#[async_trait::async_trait]
impl Extension for TurnPerEvent {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        // Held while the event's fields are resolved.
        let _turn = match ctx.data_opt::<ExecutionTurns>() {
            Some(turns) => turns.0.acquire().await.ok(),
            None => None,
        };
        next.run(ctx, operation_name).await
    }
}

/// The schema, built once per kind of caller. Callers without a moderator
/// token get no field suggestions (they would map fields they cannot see)
/// and introspection only if the limits allow it.
#[derive(Clone)]
pub struct Schemas {
    pub anonymous: ParleySchema,
    pub moderator: ParleySchema,
}

impl Schemas {
    /// The schema a request from `viewer` runs against.
    pub fn for_viewer(&self, viewer: &Viewer) -> &ParleySchema {
        if viewer.is_moderator() {
            &self.moderator
        } else {
            &self.anonymous
        }
    }
}

/// Builds the schemas with their services, batch loaders and limits.
pub fn build(services: Services, limits: &QueryLimits) -> Schemas {
    let schema = |for_moderators: bool| {
        let articles =
            DataLoader::new(loaders::ArticleLoader(services.store.clone()), tokio::spawn);
        let replies = DataLoader::new(loaders::RepliesLoader(services.store.clone()), tokio::spawn);
        let mut builder = Schema::build(Query, Mutation, Subscription)
            .data(services.clone())
            .data(articles)
            .data(replies)
            .extension(TurnPerEvent)
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            .extension(answer_size::AnswerSizeLimit {
                max_bytes: limits.max_answer_bytes,
            });
        if !for_moderators {
            builder = builder.disable_suggestions();
            if !limits.anonymous_introspection {
                builder = builder.disable_introspection();
            }
        }
        builder.finish()
    };
    Schemas {
        anonymous: schema(false),
        moderator: schema(true),
    }
}

/// The schema in SDL, as written to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription)
        .finish()
        .sdl_with_options(
            async_graphql::SDLExportOptions::new()
                .sorted_fields()
                .sorted_enum_items(),
        )
}

fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

/// The viewer the HTTP layer resolved; anonymous where there is none
/// (subscriptions over WebSocket).
fn viewer<'a>(ctx: &Context<'a>) -> &'a Viewer {
    static ANONYMOUS: Viewer = Viewer::Anonymous;
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}
