//! `parley keys generate` and `parley keys rotate`.

use std::io::Write;

use crate::app::{Opened, open_store};
use crate::domain::data_keys;
use crate::key_file::DataKeySource;
use crate::store::sealing::DataKeys;

/// Prints a new data key, alone on its line, on standard output.
pub fn generate() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", DataKeys::generate())?;
    out.flush()?;
    Ok(())
}

/// Re-seals everything under the first configured key.
pub async fn rotate(database_url: &str, data_key: &DataKeySource) -> anyhow::Result<()> {
    super::import::require_existing(database_url)?;
    let Opened { store, sealing } = open_store(database_url, data_key, None).await?;
    let sealing_id = sealing.keys().sealing_id().to_owned();
    let rotated = data_keys::rotate(&store, &sealing, &mut |done| {
        eprint!("\rre-sealed {done} emails");
    })
    .await;
    store.close().await;
    let rotated = rotated?;
    eprintln!();
    println!(
        "Re-sealed {} emails and {} server secrets with the data key {sealing_id}.",
        rotated.emails, rotated.secrets
    );
    if sealing.keys().ids().count() > 1 {
        println!(
            "Nothing is sealed with the other keys any more: remove them from every server's \
             configuration, and restart the servers."
        );
    }
    Ok(())
}
