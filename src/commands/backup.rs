//! `parley backup FILE`: a consistent copy of a running SQLite database.

use crate::config::BackupArgs;
use crate::domain::backup;
use crate::key_file::key_file_of;
use crate::store::{DatabaseUrl, Store};

pub async fn run(database_url: &str, args: BackupArgs) -> anyhow::Result<()> {
    super::import::require_existing(database_url)?;
    let store = Store::connect(database_url).await?;
    let copied = backup::copy_to(&store, &args.file).await;
    store.close().await;
    copied?;
    println!("Backed up the database to {}.", args.file.display());
    if let DatabaseUrl::Sqlite { path } = DatabaseUrl::parse(database_url)? {
        eprintln!(
            "note: the data key ({}, or the key you configured) is not in the copy, which \
             cannot be read without it: back the key up too, kept apart from the copy",
            key_file_of(&path).display()
        );
    }
    Ok(())
}
