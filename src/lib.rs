//! Parley: a self-hosted comment service for news sites and blogs.
//!
//! - [`config`]: flags and environment.
//! - [`app`]: build the server and run it.
//! - [`http`]: the routes and the GraphQL-over-HTTP transport.
//! - [`graphql`]: the schema, its resolvers and output types.
//! - [`domain`]: the rules: validated inputs, posting, moderation, accounts.
//! - [`auth`]: password hashing, tokens, the viewer of a request.
//! - [`store`]: the database, its entities and queries.
//! - [`events`]: in-process notifications for subscriptions.
//! - [`error`]: the error type and its documented codes.
//! - [`key_file`]: where the data key comes from.
//! - [`machine`]: facts about the machine, such as its cores.
//! - [`commands`]: what each command-line command does.

pub mod app;
pub mod auth;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod key_file;
pub mod machine;
pub mod store;

/// The memory allocator of every program that links Parley. A GraphQL
/// answer is built from many small, short-lived allocations made on several
/// threads; mimalloc serves them faster than the system allocator and
/// returns freed memory instead of keeping an arena per thread. It is built
/// not to ask for transparent huge pages (the `no_thp` feature), which under
/// load took a third more resident memory for the same work; where the
/// kernel uses them for every mapping (`always` rather than `madvise`),
/// `MIMALLOC_ALLOW_THP=0` turns them off for the process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use app::App;
pub use config::Settings;
