//! The Parley under test: `parley::App` as its own binary would run it
//! (logs at `info` to standard error, one runtime worker per core, default
//! settings), with flood control off, on the seeded database, and with its
//! read cache on or, with `--no-cache`, off. Beside it, a second port
//! answers `GET /statements` with the number of SQL statements Parley has
//! run so far.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use clap::Args;
use parley::Settings;
use parley::domain::flood::FloodPolicy;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Args)]
pub struct ServeParleyArgs {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = crate::any_loopback_port())]
    listen: SocketAddr,
    /// Turn Parley's read cache off: every request reaches the database.
    #[arg(long)]
    no_cache: bool,
    /// Post-moderation: new comments reach subscribers at once.
    #[arg(long)]
    post_moderation: bool,
    /// Connections allowed at once (Parley's default otherwise).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Connections, and WebSockets, allowed at once from one address
    /// (Parley's defaults otherwise): a harness whose every virtual user
    /// comes from 127.0.0.1 needs more than one reader's browser.
    #[arg(long)]
    per_address: Option<usize>,
}

pub async fn run(args: ServeParleyArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let statements = Arc::new(AtomicU64::new(0));
    let mut settings = Settings::for_database(args.database_url);
    settings.listen = args.listen;
    settings.data_key = parley::key_file::DataKeySource::given(crate::seed::DATA_KEY);
    settings.flood = FloodPolicy::off();
    settings.shutdown_grace = Duration::from_secs(1);
    settings.statement_counter = Some(statements.clone());
    settings.response_cache = !args.no_cache;
    if args.post_moderation {
        settings.moderation = parley::domain::ModerationMode::Post;
    }
    settings.connections.max_connections = args.max_connections;
    if let Some(cap) = args.per_address {
        settings.connections.max_connections_per_address = cap;
        settings.connections.max_websockets_per_address = cap;
    }
    // Parley's own metrics, on a port of their own: the read cache's hits.
    settings.metrics_listen = Some(crate::any_loopback_port());
    let app = parley::App::build(settings)
        .await
        .context("Parley did not start")?;

    let stats = tokio::net::TcpListener::bind(crate::any_loopback_port()).await?;
    let stats_addr = stats.local_addr()?;
    let counter = statements.clone();
    let stats_router = Router::new().route(
        "/statements",
        get(move || {
            let counter = counter.clone();
            async move { counter.load(Ordering::SeqCst).to_string() }
        }),
    );
    tokio::spawn(async move { axum::serve(stats, stats_router).await });

    crate::children::announce(app.address(), Some(stats_addr));
    if let Some(metrics) = app.metrics_address() {
        crate::children::announce_metrics(metrics);
    }
    crate::children::ready();
    app.run_until(std::future::pending()).await
}
