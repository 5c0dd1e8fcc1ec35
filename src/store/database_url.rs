//! The database a `DATABASE_URL` names, checked before anything opens it,
//! and why it cannot be opened, said once and with where it is. Messages
//! never show a password.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions, Connection};

const SUPPORTED: &str = "use sqlite://FILE or postgres://user:password@host:5432/db";

/// A database Parley can use.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    /// A SQLite file (`sqlite://parley.db`, `sqlite:///var/lib/parley.db`).
    Sqlite { path: PathBuf },
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`).
    Postgres { options: Box<PgConnectOptions> },
}

impl DatabaseUrl {
    /// Reads `raw` without connecting. An unsupported scheme, or a path
    /// without one, is refused with what to write instead.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        if raw.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(raw)
                .map_err(|err| anyhow::anyhow!("DATABASE_URL is not a SQLite URL: {err}"))?;
            return Ok(Self::Sqlite {
                path: options.get_filename().to_owned(),
            });
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            // sqlx's message names the part at fault, never the URL itself.
            let options = PgConnectOptions::from_str(raw)
                .map_err(|err| anyhow::anyhow!("DATABASE_URL is not a PostgreSQL URL: {err}"))?;
            return Ok(Self::Postgres {
                options: Box::new(options),
            });
        }
        match url::Url::parse(raw) {
            // Only the scheme is shown: the rest may hold a password.
            Ok(url) => anyhow::bail!(
                "DATABASE_URL starts with `{}:`, which is not a database Parley supports: {SUPPORTED}",
                url.scheme()
            ),
            Err(_) if raw.trim().is_empty() => anyhow::bail!("DATABASE_URL is empty: {SUPPORTED}"),
            Err(_) if raw.contains('@') => {
                anyhow::bail!("DATABASE_URL has no scheme: {SUPPORTED}")
            }
            Err(_) => anyhow::bail!(
                "DATABASE_URL `{raw}` has no scheme: for a SQLite file write `sqlite://{raw}`; \
                 for PostgreSQL, `postgres://user:password@host:5432/db`"
            ),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }

    /// Where the database is, for messages: the SQLite file, or
    /// PostgreSQL's host, port and database.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("the SQLite database {}", shown_path(path)),
            Self::Postgres { options } => {
                let database = options.get_database().unwrap_or("(the user's)");
                format!(
                    "PostgreSQL database {database} at {}",
                    postgres_address(options)
                )
            }
        }
    }

    /// Fails at once, with the reason, where opening the pool would fail
    /// less clearly: a SQLite file in a folder that does not exist, or a
    /// PostgreSQL server that cannot be reached (the pool would keep
    /// retrying a refused connection until its timeout and then report only
    /// that it timed out).
    pub async fn check_reachable(&self, timeout: Duration) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { path } => {
                let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) else {
                    return Ok(());
                };
                if path.as_os_str() != ":memory:" && !folder.is_dir() {
                    anyhow::bail!(
                        "cannot open {}: the folder {} does not exist",
                        self.describe(),
                        shown_path(folder)
                    );
                }
                Ok(())
            }
            Self::Postgres { options } => {
                let failed = |reason: String| {
                    anyhow::anyhow!(
                        "could not connect to PostgreSQL at {}: {reason}",
                        postgres_address(options)
                    )
                };
                match tokio::time::timeout(timeout, options.connect()).await {
                    Ok(Ok(connection)) => {
                        // The pool opens its own; a failed goodbye changes nothing.
                        let _ = connection.close().await;
                        Ok(())
                    }
                    Ok(Err(err)) => Err(failed(reason(&err))),
                    Err(_) => Err(failed(format!("no answer within {}s", timeout.as_secs()))),
                }
            }
        }
    }
}

/// `host:port`, or the Unix socket's folder.
fn postgres_address(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

/// A path as given, and where it is when it is relative.
fn shown_path(path: &Path) -> String {
    match std::path::absolute(path) {
        Ok(absolute) if absolute != path => {
            format!("{} ({})", path.display(), absolute.display())
        }
        _ => path.display().to_string(),
    }
}

/// The reason of a failed connection, without sqlx's framing.
fn reason(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Tls(tls) => format!("TLS: {tls}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(raw: &str) -> String {
        DatabaseUrl::parse(raw).unwrap_err().to_string()
    }

    #[test]
    fn sqlite_and_postgres_urls_are_accepted() {
        assert!(
            DatabaseUrl::parse("sqlite://parley.db")
                .unwrap()
                .is_sqlite()
        );
        assert!(
            DatabaseUrl::parse("sqlite:///var/lib/parley/parley.db")
                .unwrap()
                .is_sqlite()
        );
        assert!(
            !DatabaseUrl::parse("postgres://u:p@db:5432/parley")
                .unwrap()
                .is_sqlite()
        );
        assert!(
            !DatabaseUrl::parse("postgresql://db/parley")
                .unwrap()
                .is_sqlite()
        );
    }

    #[test]
    fn an_unsupported_scheme_is_named_without_the_rest() {
        let message = refusal("mysql://admin:hunter2@db/parley");
        assert!(message.contains("`mysql:`"), "{message}");
        assert!(message.contains("sqlite://"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_bare_path_is_told_to_use_sqlite() {
        let message = refusal("parley.db");
        assert!(message.contains("`sqlite://parley.db`"), "{message}");
    }

    #[test]
    fn a_bare_address_with_credentials_is_not_repeated() {
        let message = refusal("admin:hunter2@db/parley");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn where_a_postgres_database_is_shows_no_password() {
        let url =
            DatabaseUrl::parse("postgres://parley:hunter2@db.internal:6543/comments").unwrap();
        let described = url.describe();
        assert_eq!(
            described,
            "PostgreSQL database comments at db.internal:6543"
        );
    }
}
