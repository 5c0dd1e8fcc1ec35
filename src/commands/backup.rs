//! `parley backup FILE`: a consistent copy of a running SQLite database.

use crate::config::BackupArgs;
use crate::domain::backup;
use crate::store::Store;

pub async fn run(database_url: &str, args: BackupArgs) -> anyhow::Result<()> {
    super::import::require_existing(database_url)?;
    let store = Store::connect(database_url).await?;
    let copied = backup::copy_to(&store, &args.file).await;
    store.close().await;
    copied?;
    println!("Backed up the database to {}.", args.file.display());
    Ok(())
}
