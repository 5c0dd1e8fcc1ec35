//! `parley export`: everything, as JSON Lines, to standard output.

use std::io::Write;

use crate::app::{Opened, open_store};
use crate::domain::import::parley;
use crate::key_file::DataKeySource;

pub async fn run(database_url: &str, data_key: &DataKeySource) -> anyhow::Result<()> {
    super::import::require_existing(database_url)?;
    eprintln!(
        "warning: this export holds personal data (readers' email addresses, moderators' \
         accounts); store it safely and delete it when it is no longer needed"
    );
    let Opened { store, sealing } = open_store(database_url, data_key, None).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let exported = parley::export(&store, &sealing, &mut out).await;
    store.close().await;
    let exported = exported?;
    out.flush()?;
    eprintln!(
        "Exported {} articles, {} comments, {} moderator accounts and {} audit log entries.",
        exported.articles, exported.comments, exported.moderators, exported.audit_entries
    );
    Ok(())
}
