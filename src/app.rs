//! Building and running the server: `App::build(settings)` connects and
//! migrates the database, prepares the schema and binds the port, so a test
//! can bind port 0 and ask which port it got.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use crate::auth::{TokenKeys, password};
use crate::config::Settings;
use crate::domain::flood::Fingerprints;
use crate::domain::moderators;
use crate::events::CommentEvents;
use crate::graphql::{self, Services};
use crate::http::{self, AppState};
use crate::store::Store;

/// A server ready to run.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    address: SocketAddr,
    shutdown_grace: Duration,
}

impl App {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // A bad configured key is refused before anything touches the database.
        let configured_keys = settings
            .jwt_secret
            .as_deref()
            .map(|secret| TokenKeys::new(secret.as_bytes(), settings.token_ttl))
            .transpose()?;
        let mut store = Store::connect(&settings.database_url).await?;
        if let Some(counter) = &settings.statement_counter {
            store.count_statements(counter.clone());
        }
        store.migrate().await?;
        let keys = match configured_keys {
            Some(keys) => keys,
            None => TokenKeys::stored(&store, settings.token_ttl).await?,
        };
        ensure_a_moderator(&store, &settings).await?;
        // The first failed login should not pay for the dummy hash.
        tokio::spawn(password::warm_up());

        let events = if store.backend() == sea_orm::DbBackend::Postgres {
            let events = CommentEvents::shared();
            tokio::spawn(crate::events::listen_for_changes(
                settings.database_url.clone(),
                events.clone(),
            ));
            events
        } else {
            CommentEvents::standalone()
        };
        let schemas = graphql::build(
            Services {
                store: store.clone(),
                keys: keys.clone(),
                events: events.clone(),
                moderation: settings.moderation,
                flood: settings.flood,
                fingerprints: Fingerprints::stored(&store).await?,
                auto_create: settings
                    .article_auto_create
                    .then(|| settings.cors_origins.clone()),
            },
            &settings.limits,
        );
        let state = AppState {
            schemas,
            max_aliases: settings.limits.max_aliases,
            request_timeout: settings.request_timeout,
            executions: Arc::new(Semaphore::new(settings.max_concurrent_requests.max(1))),
            trusted_proxies: settings.trusted_proxies.clone(),
            read_cache: settings.response_cache.then(Default::default),
            events,
            http_max_age_secs: settings.http_max_age_secs,
            store: store.clone(),
            keys,
            max_body_bytes: settings.max_body_bytes,
            cors_origins: settings.cors_origins.clone(),
            demo: settings.demo,
            playground: settings.playground,
        };
        if settings.cors_origins.any() {
            tracing::warn!(
                "PARLEY_CORS_ORIGINS is `*`: pages on any site may call this API from a browser"
            );
        }
        let router = http::router(state);
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("could not listen on {}", settings.listen))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            store,
            address,
            shutdown_grace: settings.shutdown_grace,
        })
    }

    /// The address the server listens on (with the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until SIGTERM or Ctrl-C, stops accepting, lets in-flight
    /// requests finish within the grace period, then closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let base = format!("http://{}", self.address);
        tracing::info!("Parley is listening on {base}");
        tracing::info!("GraphiQL playground: {base}/graphql");
        let stopping = Arc::new(Notify::new());
        let signalled = stopping.clone();
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            signalled.notify_one();
        });
        let grace = self.shutdown_grace;
        tokio::select! {
            served = server => served.context("the server failed")?,
            () = async {
                stopping.notified().await;
                tokio::time::sleep(grace).await;
            } => tracing::warn!(?grace, "requests still running after the grace period; stopping anyway"),
        }
        // Closing waits for every connection to come back; one held by a
        // request cut off at the end of the grace period never does. Its
        // transaction is rolled back when the process exits.
        if tokio::time::timeout(CLOSE_TIMEOUT, self.store.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "database connections still in use at exit; their transactions are rolled back"
            );
        }
        tracing::info!("Parley stopped");
        Ok(())
    }
}

/// Longest the database may take to close at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Creates the admin from the environment on an empty database, or says how
/// to create the first moderator.
async fn ensure_a_moderator(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    if let Some(admin) = &settings.admin {
        let created = moderators::bootstrap_admin(store, &admin.email, "Admin", &admin.password)
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "could not create the admin from PARLEY_ADMIN_EMAIL: {}",
                    err.message()
                )
            })?;
        if created {
            tracing::info!(
                "created the first admin from PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD"
            );
        }
        return Ok(());
    }
    let count = crate::store::moderators::count(store.db()).await?;
    if count == 0 {
        tracing::warn!(
            "no moderator exists yet; create one with: \
             parley moderator add --email you@example.com --name \"Your Name\" --role admin \
             (or `cargo run --release -- moderator add …`), or start with \
             PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD set"
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
