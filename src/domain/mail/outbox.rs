//! The outbox worker: sends the mails that are due, oldest first, each
//! taken for ten minutes before it is sent (a send may take two at most),
//! so that two instances never send the same one, and removed once the
//! SMTP server took it. A failure is tried again with a growing pause; a
//! mail refused for good three times, or still not sent after three days,
//! is dropped with a warning. A crash loses nothing: a mail taken but not
//! sent is tried again when its turn lapses. A crash after the server took
//! a mail but before it is removed sends it twice; nothing else does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::sealing::Place;
use crate::store::{Store, now_micros, outbox};

use super::smtp::{SendError, Smtp};
use crate::domain::email_privacy::Sealing;

/// Mails read per round.
const ROUND: u64 = 20;
/// How long a taken mail is left to its sender before another may try:
/// well over the longest a send may take ([`SEND_LIMIT`]).
const TURN: Duration = Duration::from_secs(600);
/// The longest one mail's sending may take, connection included.
const SEND_LIMIT: Duration = Duration::from_secs(120);
/// Attempts refused for good (a 5xx answer) before a mail is dropped: a
/// server misconfigured for a while refuses every mail.
const REFUSALS: i32 = 3;
/// Age after which a mail that still could not be sent is dropped.
const GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3_600);
/// How often the outbox is looked at without being woken (mail written by
/// other instances, retries coming due).
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// The pause after a failure: doubled each time, from a minute to an hour.
const FIRST_RETRY: Duration = Duration::from_secs(60);
const LAST_RETRY: Duration = Duration::from_secs(3_600);

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// The pause before attempt `attempts + 1`.
fn retry_after(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 12)).unwrap_or(0);
    FIRST_RETRY.saturating_mul(1 << doublings).min(LAST_RETRY)
}

/// How many mails wait in the outbox.
pub async fn waiting(store: &Store) -> crate::error::AppResult<u64> {
    Ok(outbox::depth(store.db()).await?)
}

/// Sends what is due until the process ends.
pub async fn keep_sending(store: Store, sealing: Sealing, smtp: Smtp, wake: Arc<Notify>) {
    loop {
        let sent = match send_due(&store, &sealing, &smtp).await {
            Ok(sent) => sent,
            Err(err) => {
                tracing::warn!(error = %err, "could not read the outbox");
                0
            }
        };
        if sent == 0 {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    }
}

/// One round: the mails due now; how many were tried.
async fn send_due(store: &Store, sealing: &Sealing, smtp: &Smtp) -> anyhow::Result<usize> {
    let due = outbox::due(store.db(), now_micros(), ROUND).await?;
    let mut tried = 0;
    for mail in due {
        // Each mail is taken for a whole turn from when its own sending
        // starts.
        let now = now_micros();
        if !outbox::take(store.db(), &mail, now + micros(TURN)).await? {
            continue;
        }
        tried += 1;
        let attempts = mail.attempts + 1;
        let too_old = now - mail.created_at > micros(GIVE_UP_AFTER);
        let outcome = match sealing
            .keys()
            .open(&mail.recipient, Place::OutboxMail(mail.id))
        {
            Ok(to) => {
                let headers: BTreeMap<String, String> =
                    serde_json::from_str(&mail.headers).unwrap_or_default();
                tokio::time::timeout(
                    SEND_LIMIT,
                    smtp.send(&to, &mail.subject, &mail.body, &headers),
                )
                .await
                .unwrap_or_else(|_| Err(SendError::Transient("timed out".to_owned())))
            }
            Err(err) => Err(SendError::Transient(format!(
                "recipient does not open: {err}"
            ))),
        };
        match outcome {
            Ok(()) => {
                outbox::sent(store.db(), mail.id).await?;
                tracing::info!(mail = %mail.id, "mail sent");
            }
            Err(SendError::Permanent(why)) if attempts >= REFUSALS => {
                outbox::sent(store.db(), mail.id).await?;
                tracing::warn!(mail = %mail.id, %why, attempts, "mail refused for good; dropped");
            }
            Err(SendError::Permanent(why) | SendError::Transient(why)) if too_old => {
                outbox::sent(store.db(), mail.id).await?;
                tracing::warn!(mail = %mail.id, %why, attempts, "mail not sent for three days; dropped");
            }
            Err(SendError::Permanent(why) | SendError::Transient(why)) => {
                let next = now_micros() + micros(retry_after(attempts));
                outbox::failed(store.db(), mail.id, next, &why).await?;
                tracing::warn!(mail = %mail.id, %why, attempts, "mail not sent; tried again later");
            }
        }
    }
    Ok(tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_a_minute_to_an_hour() {
        assert_eq!(retry_after(1), Duration::from_secs(60));
        assert_eq!(retry_after(2), Duration::from_secs(120));
        assert_eq!(retry_after(3), Duration::from_secs(240));
        assert_eq!(retry_after(20), Duration::from_secs(3_600));
    }
}
