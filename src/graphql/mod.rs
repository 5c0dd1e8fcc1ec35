//! The GraphQL API: one schema builder shared by the server and the tests,
//! the root objects, and the output types.
//!
//! Resolvers stay thin: they read the viewer and the services from the
//! context, call `domain`, and wrap what comes back in a type from `types`,
//! which decides what each caller may see.

pub mod errors;
mod loaders;
mod mutation;
mod query;
mod subscription;
pub mod types;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Schema};

use crate::auth::{TokenKeys, Viewer};
use crate::domain::ModerationMode;
use crate::events::CommentEvents;
use crate::store::Store;

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

/// The schema Parley serves.
pub type ParleySchema = Schema<Query, Mutation, Subscription>;

/// Deepest selection a request may make. Replies five levels deep need about
/// fifteen; this leaves room while refusing pathological nesting.
const MAX_DEPTH: usize = 32;

/// What resolvers need from the server, shared by every request.
pub struct Services {
    pub store: Store,
    pub keys: TokenKeys,
    pub events: CommentEvents,
    pub moderation: ModerationMode,
}

/// Builds the schema with its services and batch loaders.
pub fn build(services: Services) -> ParleySchema {
    let articles = DataLoader::new(loaders::ArticleLoader(services.store.clone()), tokio::spawn);
    let reply_counts = DataLoader::new(
        loaders::ReplyCountLoader(services.store.clone()),
        tokio::spawn,
    );
    Schema::build(Query, Mutation, Subscription)
        .data(services)
        .data(articles)
        .data(reply_counts)
        .limit_depth(MAX_DEPTH)
        .finish()
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
