//! Storage: the database connection, its tuning, and the queries the domain
//! needs. Everything here speaks SeaORM; nothing here knows about GraphQL.

/// The PostgreSQL channel every change readers could see is announced on
/// (`NOTIFY`, in the transaction that makes it); `events` listens to it.
pub const CHANGES_CHANNEL: &str = "parley_changes";

pub mod articles;
pub mod audit;
pub mod bans;
pub mod comments;
pub mod database_url;
pub mod entities;
pub mod login_failures;
pub mod mail_recipients;
pub mod moderators;
pub mod outbox;
pub mod page;
pub mod post_marks;
pub mod sealing;
pub mod secrets;
pub mod settings;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
pub use database_url::DatabaseUrl;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// Connections in the pool. SQLite in WAL mode serves many readers beside one
/// writer; PostgreSQL connections are shared with other instances, so stay modest.
const SQLITE_POOL_SIZE: u32 = 8;
const POSTGRES_POOL_SIZE: u32 = 10;

/// The PostgreSQL advisory lock that serialises migrations ("parley" in ASCII).
const MIGRATION_LOCK: i64 = 0x7061_726c_6579;

/// The PostgreSQL advisory lock held by the instance applying the retention
/// period ("erase" in ASCII).
const RETENTION_LOCK: i64 = 0x65_7261_7365;

/// How often opening the database is tried while SQLite reports it locked.
const CONNECT_ATTEMPTS: u32 = 8;

/// How often SQLite's write-ahead log is copied back into the database
/// file, in the background.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How soon a truncating checkpoint after an erasure is tried again when
/// readers or a writer were in its way, at first and at most: each attempt
/// holds writers up for a moment, so the pauses double in between.
const TRUNCATE_RETRY: Duration = Duration::from_millis(50);
const TRUNCATE_RETRY_MAX: Duration = Duration::from_secs(2);

/// How long an erasure may wait for its truncating checkpoint before it is
/// logged as a warning (it is still tried).
const TRUNCATE_PATIENCE: Duration = Duration::from_secs(30);

/// How long connecting to the database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database behind Parley, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite's background checkpoints; none on PostgreSQL.
    checkpoints: Option<Arc<Checkpoints>>,
}

/// Erasures asked for, and erasures whose log has been truncated since:
/// the background checkpointer truncates while `done` is behind.
#[derive(Debug, Default)]
struct Checkpoints {
    asked: AtomicU64,
    wake: tokio::sync::Notify,
    /// The checkpointer, awaited when the store closes.
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Store {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), creating a SQLite
    /// file if there is none, and tunes SQLite for a server: WAL,
    /// `synchronous=NORMAL`, a busy timeout, foreign keys on, several connections.
    /// A URL Parley cannot use, a missing folder or an unreachable server
    /// is refused at once with the reason and the place.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let target = DatabaseUrl::parse(url)?;
        target.check_reachable(CONNECT_TIMEOUT).await?;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .min_connections(1);
        if target.is_sqlite() {
            options
                .max_connections(SQLITE_POOL_SIZE)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                        // Deleted comments are overwritten, not just unlinked.
                        .pragma("secure_delete", "ON")
                        // The log is copied back by `keep_checkpointing`,
                        // not by whichever request commits past 1,000 pages.
                        .pragma("wal_autocheckpoint", "0")
                })
                .map_sqlx_sqlite_pool_opts(|pool| {
                    pool.after_connect(|conn, _| Box::pin(stable_query_plans(conn)))
                });
        } else {
            options.max_connections(POSTGRES_POOL_SIZE);
        }
        let db = connect_retrying_while_locked(options)
            .await
            .with_context(|| format!("could not open {}", target.describe()))?;
        let mut store = Self {
            db,
            checkpoints: None,
        };
        if target.is_sqlite() {
            store.keep_checkpointing();
        }
        Ok(store)
    }

    /// SQLite: copies the write-ahead log back into the database file every
    /// half second, on a connection of its own, so that no request pays for
    /// it: with SQLite's automatic checkpoints, the commit that crossed
    /// 1,000 pages of log did, and on a large database that was the slowest
    /// post in a hundred. A passive checkpoint waits for no one and blocks
    /// no one. After an erasure it truncates the log instead (see
    /// [`Store::purge_erased_pages`]), without waiting (no busy timeout on
    /// this connection): when readers or a writer are in the way it tries
    /// again shortly (backing off), instead of holding writers up while it
    /// waits. When the pool closes it truncates once more if an erasure is
    /// owed one, and `close` waits for it.
    fn keep_checkpointing(&mut self) {
        let checkpoints = Arc::new(Checkpoints::default());
        self.checkpoints = Some(Arc::clone(&checkpoints));
        let pool = self.db.get_sqlite_connection_pool().clone();
        let shared = Arc::clone(&checkpoints);
        let task = tokio::spawn(async move {
            use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
            let checkpoints = shared;
            let mut connection: Option<sea_orm::sqlx::SqliteConnection> = None;
            let mut done = 0;
            let mut waiting_since: Option<std::time::Instant> = None;
            let mut retry = TRUNCATE_RETRY;
            let closed = pool.close_event();
            tokio::pin!(closed);
            loop {
                let pause = if waiting_since.is_some() {
                    retry
                } else {
                    CHECKPOINT_EVERY
                };
                tokio::select! {
                    () = &mut closed => break,
                    () = checkpoints.wake.notified() => {}
                    () = tokio::time::sleep(pause) => {}
                }
                if connection.is_none() {
                    let options = (*pool.connect_options())
                        .clone()
                        .busy_timeout(Duration::ZERO);
                    connection = match options.connect().await {
                        Ok(open) => Some(open),
                        Err(err) => {
                            tracing::debug!(error = %err, "no connection for checkpoints");
                            continue;
                        }
                    };
                }
                let Some(open) = connection.as_mut() else {
                    continue;
                };
                let asked = checkpoints.asked.load(Ordering::SeqCst);
                let truncate = asked != done;
                let pragma = if truncate {
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                } else {
                    "PRAGMA wal_checkpoint(PASSIVE)"
                };
                // The first column is 1 when the checkpoint could not finish.
                match sea_orm::sqlx::query_as::<_, (i64, i64, i64)>(pragma)
                    .fetch_one(&mut *open)
                    .await
                {
                    Ok((0, _, _)) if truncate => {
                        done = asked;
                        waiting_since = None;
                        retry = TRUNCATE_RETRY;
                    }
                    Ok(_) if truncate => {
                        retry = (retry * 2).min(TRUNCATE_RETRY_MAX);
                        let since = *waiting_since.get_or_insert_with(std::time::Instant::now);
                        if since.elapsed() > TRUNCATE_PATIENCE {
                            tracing::warn!(
                                "the write-ahead log could not be truncated after an erasure for {:?}; still trying",
                                since.elapsed()
                            );
                            waiting_since = Some(std::time::Instant::now());
                        }
                    }
                    Ok(_) => {}
                    Err(err) => {
                        tracing::debug!(error = %err, "background checkpoint failed");
                        if truncate {
                            waiting_since.get_or_insert_with(std::time::Instant::now);
                            retry = (retry * 2).min(TRUNCATE_RETRY_MAX);
                        }
                        connection = None;
                    }
                }
            }
            if let Some(mut open) = connection {
                // The pool is closed: nothing is in the way of a last
                // truncation, owed to an erasure not yet purged.
                if checkpoints.asked.load(Ordering::SeqCst) != done {
                    let _ = sea_orm::sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(&mut open)
                        .await;
                }
                let _ = open.close().await;
            }
        });
        if let Ok(mut slot) = checkpoints.task.lock() {
            *slot = Some(task);
        }
    }

    /// Counts every SQL statement this store runs into `counter`: for tests
    /// and benchmarks that check how many statements a request costs.
    pub fn count_statements(&mut self, counter: Arc<AtomicU64>) {
        self.db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Brings the schema up to date. Safe to run from several instances at
    /// once: the migrations run in one write transaction, which on
    /// PostgreSQL first takes an advisory lock, so instances starting
    /// together apply them one after the other.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let txn = self.begin_write().await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await?;
        }
        Migrator::up(&txn, None)
            .await
            .context("could not migrate the database")?;
        txn.commit().await?;
        Ok(())
    }

    /// The connection pool, for reads.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so it waits for other writers under the busy
    /// timeout instead of failing with `SQLITE_BUSY` when it first writes.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// After an erasure, makes sure no copy of the erased rows lingers in
    /// SQLite's write-ahead log (the main file is covered by
    /// `secure_delete`): the background checkpointer truncates the log as
    /// soon as no reader or writer is in the way, so the request does not
    /// wait. PostgreSQL reclaims dead rows through (auto)vacuum.
    pub fn purge_erased_pages(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.asked.fetch_add(1, Ordering::SeqCst);
            checkpoints.wake.notify_one();
        }
    }

    /// Takes, for the rest of `txn`, the lock that lets one instance at a
    /// time apply the retention period; `false` if another holds it. SQLite
    /// has one writer anyway.
    pub async fn try_lock_retention(&self, txn: &DatabaseTransaction) -> Result<bool, DbErr> {
        if self.backend() != DbBackend::Postgres {
            return Ok(true);
        }
        let row = txn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_try_advisory_xact_lock({RETENTION_LOCK}) AS locked"),
            ))
            .await?;
        Ok(row
            .map(|row| row.try_get::<bool>("", "locked"))
            .transpose()?
            .unwrap_or(false))
    }

    /// Rewrites the tables of personal data so that no copy of a value
    /// replaced in them lingers in free space: after emails stored as typed
    /// are sealed on upgrade (written, perhaps, before `secure_delete`).
    /// SQLite rebuilds the whole file (`VACUUM`), then the log is
    /// truncated; PostgreSQL rewrites the two tables (`VACUUM FULL`, which
    /// holds them for the while). Runs once, before the server serves.
    pub async fn rewrite_personal_data(&self) -> Result<(), DbErr> {
        match self.backend() {
            DbBackend::Postgres => {
                self.db
                    .execute_unprepared("VACUUM FULL comments, server_secrets")
                    .await?;
            }
            _ => {
                self.db.execute_unprepared("VACUUM").await?;
                self.purge_erased_pages();
            }
        }
        Ok(())
    }

    /// Starts a read-only transaction that sees one moment of the database
    /// throughout, however long it runs and whatever is written meanwhile:
    /// what an export reads (`REPEATABLE READ` on PostgreSQL; on SQLite in
    /// WAL mode, any read transaction).
    pub async fn begin_snapshot(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.backend() {
            DbBackend::Postgres => {
                self.db
                    .begin_with_config(
                        Some(sea_orm::IsolationLevel::RepeatableRead),
                        Some(sea_orm::AccessMode::ReadOnly),
                    )
                    .await
            }
            _ => self.db.begin().await,
        }
    }

    /// Writes a consistent copy of a SQLite database to a new file at
    /// `path` (`VACUUM INTO`), while others go on reading and writing.
    pub async fn vacuum_into(&self, path: &str) -> Result<(), DbErr> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [path.into()],
            ))
            .await?;
        Ok(())
    }

    /// How the connection pool is used now.
    pub fn pool_use(&self) -> PoolUse {
        let (size, idle, max) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
        };
        PoolUse { size, idle, max }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.db.execute_unprepared("SELECT 1").await.is_ok()
    }

    /// Closes every pooled connection.
    pub async fn close(self) {
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database failed");
        }
        // SQLite: the checkpointer's last truncation and its connection,
        // the last one, whose closing leaves no log behind.
        let task = self
            .checkpoints
            .as_ref()
            .and_then(|checkpoints| checkpoints.task.lock().ok()?.take());
        if let Some(task) = task
            && tokio::time::timeout(CONNECT_TIMEOUT, task).await.is_err()
        {
            tracing::warn!("the background checkpoint did not finish in time");
        }
    }
}

/// Connections of the pool: open, idle among them, and the most it opens.
#[derive(Debug, Clone, Copy)]
pub struct PoolUse {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// Announces `payload`, inside a write transaction, to the other instances
/// on this database (PostgreSQL `NOTIFY`, delivered when the transaction
/// commits). Nothing to do on SQLite, which has no other instances.
pub async fn announce(txn: &DatabaseTransaction, payload: &str) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANGES_CHANNEL.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Opens the pool. Instances opening a new SQLite file at the same moment
/// can find it locked while another switches it to WAL (SQLite does not
/// wait out that lock): such a failure is retried a few times.
async fn connect_retrying_while_locked(
    options: ConnectOptions,
) -> Result<DatabaseConnection, DbErr> {
    let mut attempt = 1;
    loop {
        match Database::connect(options.clone()).await {
            Err(err) if attempt < CONNECT_ATTEMPTS && is_locked(&err) => {
                tracing::debug!(attempt, "the database is locked; connecting again");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Whether SQLite answered SQLITE_BUSY ("database is locked").
fn is_locked(err: &DbErr) -> bool {
    let DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err)) = err else {
        return false;
    };
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "5")
}

/// Turns on SQLite's query planner stability guarantee for a new
/// connection. Without it, a statement whose `LIMIT` is a bound parameter
/// (every page of comments) is planned for the value bound, so SQLite
/// compiles it again each time it runs, and the statement cache saves
/// nothing. Parley's plans never depend on the values bound.
pub async fn stable_query_plans(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> sea_orm::sqlx::Result<()> {
    use std::os::raw::c_int;
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, locked away from its
    // worker thread until `handle` drops; SQLITE_DBCONFIG_ENABLE_QPSG takes
    // an int and an optional int pointer for the new setting.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Protocol(format!(
            "could not set SQLITE_DBCONFIG_ENABLE_QPSG (code {rc})"
        )));
    }
    Ok(())
}

/// Now, in microseconds since the Unix epoch: the unit of every stored time.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
