//! The data keys and the database: a wrong key is refused at start-up,
//! before any value is read; values stored before sealing existed are
//! sealed then; and `parley keys rotate` re-seals every value under a new
//! key, in batches, while servers run.
//!
//! Each sealed value names the key that sealed it, so a database sealed with
//! a key that is not configured is refused. Each key also leaves a check
//! value in `server_secrets` (its id in the name), opened at every start:
//! a key that has the right id but is not the right key is refused too.
//! The keys that hash addresses (`Fingerprints`) and sign tokens are server
//! secrets, sealed like an email, so they stay the same when the data key
//! changes: flood control, bans and authors' tokens carry on.

use anyhow::Context;
use uuid::Uuid;

use crate::store::sealing::{DataKeys, Place};
use crate::store::{Store, comments, mail_recipients, outbox, secrets};

use super::email_privacy::Sealing;

/// The names of the check values: this prefix, then the key's id.
const CHECK_PREFIX: &str = "data_key_check:";

/// Marks, in `server_secrets`, an upgrade whose tables are still to be
/// rewritten: set before the first value is sealed, cleared once the plain
/// copies are gone, so an upgrade interrupted at any point finishes.
const REWRITE_PENDING: &str = "rewrite_pending";

/// Comments re-sealed per transaction.
const BATCH: u64 = 200;

/// Passes over the comments before giving up on rows that stay locked (a
/// pass skips rows a moderator's transaction holds), and the pause between.
const PASSES: u32 = 50;
const PASS_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether the secret `name` is one of the data keys' own records rather
/// than a secret to seal.
fn is_bookkeeping(name: &str) -> bool {
    name.starts_with(CHECK_PREFIX) || name == REWRITE_PENDING
}

/// Which stored values a pass seals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Only those stored before sealing existed.
    Plain,
    /// Every value not sealed by the sealing key.
    NotSealingKey,
}

/// Refuses keys that do not open this database, records the sealing key's
/// check value, and seals the server secrets stored before sealing existed.
/// The emails stored before then are sealed by [`seal_plain_emails`].
pub async fn unlock(store: &Store, keys: &DataKeys) -> anyhow::Result<()> {
    let db = store.db();
    let stored = secrets::all(db)
        .await
        .context("could not read the data keys' check values")?;
    let mut known_ids = Vec::new();
    for secret in &stored {
        if let Some(id) = secret.name.strip_prefix(CHECK_PREFIX) {
            if keys.knows(id) && !keys.verifies(&secret.value) {
                anyhow::bail!(
                    "the data key {id} does not open its check value: the key file or \
                     PARLEY_DATA_KEY holds another key than the one this database was made with"
                );
            }
            known_ids.push(id.to_owned());
        }
    }
    let mut in_use: Vec<String> = comments::email_key_ids(db)
        .await
        .context("could not read which data keys sealed the emails")?;
    in_use.extend(mail_recipients::key_ids(db).await?);
    in_use.extend(outbox::key_ids(db).await?);
    in_use.extend(
        stored
            .iter()
            .filter(|s| !is_bookkeeping(&s.name))
            .filter_map(|s| DataKeys::sealed_by(&s.value).map(str::to_owned)),
    );
    if let Some(missing) = in_use.iter().find(|id| !keys.knows(id)) {
        let configured = keys.ids().collect::<Vec<_>>().join(", ");
        anyhow::bail!(
            "this database's personal data is sealed with the data key {missing}, which is not \
             configured (configured: {configured}). Configure the key this database was made \
             with (the key file beside a SQLite database, PARLEY_DATA_KEY or --data-key-file); \
             a lost key cannot be recovered"
        );
    }
    let sealing = keys.sealing_id();
    if !known_ids.iter().any(|id| id == sealing) {
        let check = keys
            .check_value(sealing)
            .context("the sealing key has no check value")?;
        secrets::insert_or_read(db, &format!("{CHECK_PREFIX}{sealing}"), check)
            .await
            .context("could not store the data key's check value")?;
    }
    if stored
        .iter()
        .any(|s| !is_bookkeeping(&s.name) && !DataKeys::is_sealed(&s.value))
    {
        mark_rewrite_pending(store).await?;
    }
    reseal_secrets(store, keys, Scope::Plain).await?;
    Ok(())
}

async fn mark_rewrite_pending(store: &Store) -> anyhow::Result<()> {
    secrets::insert_or_read(store.db(), REWRITE_PENDING, "1".to_owned())
        .await
        .context("could not record the upgrade in progress")?;
    Ok(())
}

/// Seals the emails stored before sealing existed, in batches, then
/// rewrites the tables so that no plain copy lingers in their files; returns
/// how many were sealed. Runs at start-up, before the server serves, and
/// finishes an upgrade interrupted earlier.
pub async fn seal_plain_emails(store: &Store, sealing: &Sealing) -> anyhow::Result<u64> {
    if comments::any_email_unsealed(store.db()).await? {
        mark_rewrite_pending(store).await?;
    }
    let pending = secrets::all(store.db())
        .await?
        .iter()
        .any(|s| s.name == REWRITE_PENDING);
    if !pending {
        return Ok(0);
    }
    tracing::info!("sealing the emails stored before encryption at rest");
    let mut sealed = 0;
    for pass in 1..=PASSES {
        sealed += reseal_emails(store, sealing, Scope::Plain, &mut |done| {
            tracing::info!(done, "emails sealed so far");
        })
        .await?;
        if !comments::any_email_unsealed(store.db()).await? {
            break;
        }
        anyhow::ensure!(
            pass < PASSES,
            "some emails could not be sealed: their rows stayed locked"
        );
        tokio::time::sleep(PASS_PAUSE).await;
    }
    store
        .rewrite_personal_data()
        .await
        .context("could not rewrite the tables after sealing their emails")?;
    secrets::remove(store.db(), REWRITE_PENDING).await?;
    tracing::info!(sealed, "emails sealed");
    Ok(sealed)
}

/// Whether this database holds values sealed with some data key: one
/// without a key file then has lost it.
pub async fn sealed_before(store: &Store) -> anyhow::Result<bool> {
    Ok(secrets::all(store.db())
        .await?
        .iter()
        .any(|s| s.name.starts_with(CHECK_PREFIX) || DataKeys::is_sealed(&s.value)))
}

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub emails: u64,
    pub secrets: u64,
}

/// Re-seals every email and server secret that the sealing key did not
/// seal, in batches of their own transactions: stopping half-way loses
/// nothing, and running it again carries on. Servers keep reading while it
/// runs, provided every one of them opens with the new key and the old and
/// seals with the new (README, "Keys and backups"). It ends once nothing is
/// sealed with another key, which may then be dropped.
pub async fn rotate(
    store: &Store,
    sealing: &Sealing,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Rotation> {
    let keys = sealing.keys();
    let secrets = reseal_secrets(store, keys, Scope::NotSealingKey).await?;
    reseal_mail(store, keys).await?;
    let sealing_id = keys.sealing_id();
    let mut emails = 0;
    for pass in 1..=PASSES {
        emails += reseal_emails(store, sealing, Scope::NotSealingKey, progress).await?;
        let in_use = comments::email_key_ids(store.db()).await?;
        if in_use.iter().all(|id| id == sealing_id) {
            return Ok(Rotation { emails, secrets });
        }
        anyhow::ensure!(
            pass < PASSES,
            "values sealed with another key remain: is a server still sealing with the old key? \
             Run this again once every server seals with the new one"
        );
        tokio::time::sleep(PASS_PAUSE).await;
    }
    Ok(Rotation { emails, secrets })
}

/// Re-seals the addresses that asked for mail and the outbox's recipients
/// (few: no batches of their own transactions).
async fn reseal_mail(store: &Store, keys: &DataKeys) -> anyhow::Result<()> {
    let db = store.db();
    let sealing_id = keys.sealing_id();
    loop {
        let rows = mail_recipients::not_sealed_by(db, sealing_id, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let place = Place::MailRecipient(&row.email_index);
            let plain = keys.open(&row.email, place)?;
            mail_recipients::reseal(db, &row.email_index, &row.email, keys.seal(&plain, place))
                .await?;
        }
    }
    loop {
        let rows = outbox::not_sealed_by(db, sealing_id, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let place = Place::OutboxMail(row.id);
            let plain = keys.open(&row.recipient, place)?;
            outbox::reseal(db, row.id, &row.recipient, keys.seal(&plain, place)).await?;
        }
    }
    Ok(())
}

async fn reseal_secrets(store: &Store, keys: &DataKeys, scope: Scope) -> anyhow::Result<u64> {
    let mut count = 0;
    for secret in secrets::all(store.db()).await? {
        if is_bookkeeping(&secret.name) {
            continue;
        }
        let place = Place::Secret(&secret.name);
        let plain = match DataKeys::sealed_by(&secret.value) {
            None => secret.value.clone(),
            Some(_) if scope == Scope::Plain => continue,
            Some(id) if id == keys.sealing_id() => continue,
            Some(_) => keys
                .open(&secret.value, place)
                .with_context(|| format!("could not open the server secret {}", secret.name))?,
        };
        if secrets::replace(
            store.db(),
            &secret.name,
            &secret.value,
            keys.seal(&plain, place),
        )
        .await?
        {
            count += 1;
        }
    }
    Ok(count)
}

async fn reseal_emails(
    store: &Store,
    sealing: &Sealing,
    scope: Scope,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    let keys = sealing.keys();
    let mut after: Option<Uuid> = None;
    let mut count = 0;
    loop {
        let txn = store.begin_write().await?;
        let batch = comments::emails_not_sealed_by(&txn, keys.sealing_id(), after, BATCH).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.id);
        for row in &batch {
            let place = Place::CommentEmail(row.id);
            let plain = match &row.email_key_id {
                // Sealed, but its key id was lost (a migration rolled back
                // and forward again): opened, not sealed twice.
                None if DataKeys::is_sealed(&row.author_email) => keys
                    .open(&row.author_email, place)
                    .with_context(|| format!("could not open the email of comment {}", row.id))?,
                None => row.author_email.clone(),
                Some(_) if scope == Scope::Plain => continue,
                Some(_) => keys
                    .open(&row.author_email, place)
                    .with_context(|| format!("could not open the email of comment {}", row.id))?,
            };
            let sealed = sealing.seal(row.id, &plain);
            // A row changed since it was read (erased, say) is left as it is.
            if comments::reseal_email(&txn, row, sealed.value, &sealed.key_id, sealed.index).await?
            {
                count += 1;
            }
        }
        txn.commit().await?;
        progress(count);
    }
    if count > 0 {
        // The plain addresses' pages go, on SQLite, from the log too.
        store.purge_erased_pages();
    }
    Ok(count)
}
