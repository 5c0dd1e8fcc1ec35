//! Backups of a running database: a consistent copy of a SQLite file
//! (`VACUUM INTO`, which readers and writers do not wait for in WAL mode).
//! PostgreSQL has its own tool for this, `pg_dump`.

use std::path::Path;

use sea_orm::DbBackend;

use super::Store;

/// Copies the database to a new file at `path`.
pub async fn copy_to(store: &Store, path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        store.backend() == DbBackend::Sqlite,
        "parley backup copies SQLite databases only; back up PostgreSQL with pg_dump \
         (for example `pg_dump --format=custom --file=parley.dump \"$DATABASE_URL\"`)"
    );
    anyhow::ensure!(
        !path.exists(),
        "{} already exists; a backup never overwrites a file",
        path.display()
    );
    let target = path
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("{} is not a UTF-8 path", path.display()))?;
    store
        .vacuum_into(target)
        .await
        .map_err(|err| anyhow::anyhow!("could not write the backup to {}: {err}", path.display()))
}
