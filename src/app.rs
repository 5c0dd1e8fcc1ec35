//! Building and running the server: `App::build(settings)` connects and
//! migrates the database, prepares the schema and binds the port, so a test
//! can bind port 0 and ask which port it got.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use crate::auth::{TokenKeys, password};
use crate::config::{AdminBootstrap, Settings};
use crate::domain::ModeratorRole;
use crate::domain::accounts::{self, NewModerator};
use crate::domain::data_keys;
use crate::domain::email_privacy::Sealing;
use crate::domain::flood::Fingerprints;
use crate::domain::mail::Mail;
use crate::domain::mail::smtp::Smtp;
use crate::domain::retention::RetentionPolicy;
use crate::events::CommentEvents;
use crate::graphql::{self, Services};
use crate::http::connections::{self, Server, Slots};
use crate::http::metrics::Metrics;
use crate::http::{self, AppState, SocketLimits};
use crate::key_file::DataKeySource;
use crate::store::{DatabaseUrl, Store};

/// A database opened for use, and how its personal data is sealed.
pub struct Opened {
    pub store: Store,
    pub sealing: Sealing,
}

/// Opens and migrates the database, checks its data key (a wrong one is
/// refused before any value is read; a SQLite database's new key is written
/// beside it first), and seals what was stored before sealing existed.
pub async fn open_store(
    database_url: &str,
    data_key: &DataKeySource,
    statement_counter: Option<Arc<std::sync::atomic::AtomicU64>>,
) -> anyhow::Result<Opened> {
    // A key that cannot be used is refused before the database is touched.
    let loaded = data_key.load(database_url)?;
    let mut store = Store::connect(database_url).await?;
    if let Some(counter) = statement_counter {
        store.count_statements(counter);
    }
    store.migrate().await?;
    let keys = loaded.keep(data_keys::sealed_before(&store).await?)?;
    data_keys::unlock(&store, &keys).await?;
    let keys = Arc::new(keys);
    let fingerprints = Fingerprints::stored(&store, &keys).await?;
    let sealing = Sealing::new(keys, fingerprints);
    data_keys::seal_plain_emails(&store, &sealing).await?;
    Ok(Opened { store, sealing })
}

/// A server ready to run.
pub struct App {
    server: Server,
    /// Applies the retention period in the background while serving.
    retention: (CommentEvents, RetentionPolicy),
    /// Sends the outbox while serving, when Parley sends mail.
    mailer: Option<(Sealing, Smtp, Arc<Notify>)>,
    metrics_server: Option<MetricsServer>,
    store: Store,
    address: SocketAddr,
    shutdown_grace: Duration,
    executions: Arc<Semaphore>,
    max_executions: usize,
}

/// The second listener, for `GET /metrics`.
struct MetricsServer {
    listener: TcpListener,
    address: SocketAddr,
    router: axum::Router,
}

/// How many GraphQL requests hold a turn to execute right now: for tests
/// that need to know a request is running before they send the next one.
#[derive(Clone, Debug)]
pub struct Executing {
    turns: Arc<Semaphore>,
    total: usize,
}

impl Executing {
    pub fn count(&self) -> usize {
        self.total - self.turns.available_permits()
    }
}

impl App {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Bad configuration is refused before anything touches the database.
        DatabaseUrl::parse(&settings.database_url)?;
        if let Some(admin) = &settings.admin {
            admin_account(admin).check().map_err(|err| {
                anyhow::anyhow!(
                    "the admin from PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD cannot be created: {}",
                    err.message()
                )
            })?;
        }
        // The mail settings are checked before the database is touched.
        let smtp = settings
            .mail
            .as_ref()
            .map(|mail| Smtp::new(mail.smtp_url.expose_secret(), &mail.settings.from))
            .transpose()?;
        let configured_keys = settings
            .jwt_secret
            .as_ref()
            .map(|secret| TokenKeys::new(secret.expose_secret().as_bytes(), settings.token_ttl))
            .transpose()?;
        let Opened { store, sealing } = open_store(
            &settings.database_url,
            &settings.data_key,
            settings.statement_counter.clone(),
        )
        .await?;
        let keys = match configured_keys {
            Some(keys) => keys,
            None => TokenKeys::stored(&store, sealing.keys(), settings.token_ttl).await?,
        };
        ensure_a_moderator(&store, &settings).await?;
        crate::domain::moderation_settings::ensure(&store, settings.moderation)
            .await
            .map_err(|err| match err {
                crate::error::AppError::Internal(source) => source,
                other => anyhow::anyhow!(other.message()),
            })
            .map_err(|err| err.context("could not store the initial moderation settings"))?;
        // The first failed login should not pay for the dummy hash.
        tokio::spawn(password::warm_up());

        let events = if store.backend() == sea_orm::DbBackend::Postgres {
            let events = CommentEvents::shared();
            tokio::spawn(crate::events::listen_for_changes(
                settings.database_url.clone(),
                store.clone(),
                events.clone(),
            ));
            events
        } else {
            CommentEvents::standalone()
        };
        let mail = settings
            .mail
            .as_ref()
            .map(|config| Mail::new(config.settings.clone(), sealing.clone()));
        let mailer = match (&mail, smtp) {
            (Some(mail), Some(smtp)) => Some((sealing.clone(), smtp, mail.wake_handle())),
            _ => None,
        };
        let schemas = graphql::build(
            Services {
                store: store.clone(),
                keys: keys.clone(),
                events: events.clone(),
                settings: Default::default(),
                flood: settings.flood,
                sealing,
                mail: mail.clone(),
                auto_create: settings
                    .article_auto_create
                    .then(|| settings.cors_origins.clone()),
            },
            &settings.limits,
        );
        let limits = &settings.connections;
        let descriptors = connections::raise_descriptor_limit();
        let max_connections = match (limits.max_connections, descriptors) {
            (Some(wanted), Some(descriptors))
                if wanted > connections::fitting_connections(descriptors) =>
            {
                let allowed = connections::fitting_connections(descriptors);
                tracing::warn!(
                    wanted,
                    allowed,
                    "PARLEY_MAX_CONNECTIONS is more than the open-file limit leaves room for; using the lower figure"
                );
                allowed
            }
            (Some(wanted), _) => wanted,
            (None, descriptors) => connections::default_max_connections(descriptors),
        };
        tracing::info!(
            open_files = descriptors,
            max_connections,
            per_address = limits.max_connections_per_address,
            "connection caps"
        );
        let metrics = Arc::new(Metrics::default());
        let metrics_listener = match settings.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("could not listen for metrics on {address}"))?,
            ),
            None => None,
        };
        let max_executions = settings.max_concurrent_requests.max(1);
        let executions = Arc::new(Semaphore::new(max_executions));
        let state = AppState {
            schemas,
            max_aliases: settings.limits.max_aliases,
            request_timeout: settings.request_timeout,
            executions: executions.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            read_cache: settings.response_cache.then(Default::default),
            events: events.clone(),
            http_max_age_secs: settings.http_max_age_secs,
            store: store.clone(),
            keys,
            max_body_bytes: settings.max_body_bytes,
            websockets: Slots::new(usize::MAX, limits.max_websockets_per_address),
            socket_limits: SocketLimits {
                max_subscriptions: limits.max_subscriptions_per_connection,
                init_timeout: limits.websocket_init_timeout,
                ping_interval: limits.websocket_ping_interval,
                idle_timeout: limits.websocket_idle_timeout,
            },
            cors_origins: settings.cors_origins.clone(),
            demo: settings.demo,
            playground: settings.playground,
            metrics: metrics.clone(),
            mail,
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
        let server = Server {
            listener,
            router,
            connections: Slots::new(max_connections, limits.max_connections_per_address),
            header_timeout: limits.header_timeout,
            keep_alive: limits.keep_alive,
            trusted_proxies: settings.trusted_proxies.clone(),
        };
        let metrics_server = match metrics_listener {
            Some(listener) => Some(MetricsServer {
                address: listener.local_addr()?,
                listener,
                router: http::metrics::router(metrics, store.clone()),
            }),
            None => None,
        };
        Ok(Self {
            server,
            retention: (events, settings.retention),
            mailer,
            metrics_server,
            store,
            address,
            shutdown_grace: settings.shutdown_grace,
            executions,
            max_executions,
        })
    }

    /// The address the server listens on (with the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address `GET /metrics` is served on, if it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(|metrics| metrics.address)
    }

    /// A view of the requests executing on this server.
    pub fn executing(&self) -> Executing {
        Executing {
            turns: self.executions.clone(),
            total: self.max_executions,
        }
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
        let metrics = self.metrics_server.map(|metrics| {
            tracing::info!("metrics for Prometheus: http://{}/metrics", metrics.address);
            tokio::spawn(async move {
                if let Err(err) = axum::serve(metrics.listener, metrics.router).await {
                    tracing::warn!(error = %err, "the metrics listener stopped");
                }
            })
        });
        let (events, policy) = self.retention;
        let retention = tokio::spawn(crate::domain::retention::keep_sweeping(
            self.store.clone(),
            events,
            policy,
        ));
        let mailer = self.mailer.map(|(sealing, smtp, wake)| {
            tokio::spawn(crate::domain::mail::outbox::keep_sending(
                self.store.clone(),
                sealing,
                smtp,
                wake,
            ))
        });
        let stopping = Arc::new(Notify::new());
        let signalled = stopping.clone();
        let server = self.server.serve(async move {
            shutdown.await;
            signalled.notify_one();
        });
        let grace = self.shutdown_grace;
        tokio::select! {
            () = server => {}
            () = async {
                stopping.notified().await;
                tokio::time::sleep(grace).await;
            } => tracing::warn!(?grace, "requests still running after the grace period; stopping anyway"),
        }
        retention.abort();
        if let Some(mailer) = mailer {
            mailer.abort();
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
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        tracing::info!("Parley stopped");
        Ok(())
    }
}

/// Longest the database may take to close at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The account `PARLEY_ADMIN_EMAIL` and `PARLEY_ADMIN_PASSWORD` describe.
fn admin_account(admin: &AdminBootstrap) -> NewModerator {
    NewModerator {
        email: admin.email.clone(),
        name: ADMIN_NAME.to_owned(),
        role: ModeratorRole::Admin,
        password: admin.password.expose_secret().to_owned(),
    }
}

/// The name of the admin created from the environment.
const ADMIN_NAME: &str = "Admin";

/// Creates the admin from the environment on an empty database, or says how
/// to create the first moderator.
async fn ensure_a_moderator(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    if let Some(admin) = &settings.admin {
        let created = accounts::bootstrap_admin(
            store,
            &admin.email,
            ADMIN_NAME,
            admin.password.expose_secret(),
        )
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
