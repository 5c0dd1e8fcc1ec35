//! Mail that reaches people: reply notifications with double opt-in
//! (`replies.rs`), written to a durable outbox in the transaction of the
//! event that causes them and sent by a worker with retries (`outbox.rs`)
//! over SMTP (`smtp.rs`). Without `PARLEY_SMTP_URL`, `PARLEY_MAIL_FROM` and
//! `PARLEY_PUBLIC_URL`, no feature that needs mail is offered.
//!
//! Every mail carries a one-click unsubscribe (RFC 8058): a link that works
//! without JavaScript, and the `List-Unsubscribe` and
//! `List-Unsubscribe-Post` headers.

pub mod outbox;
pub mod replies;
pub mod smtp;
mod tokens;

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::store::entities::outbox_mail;
use crate::store::sealing::Place;
use crate::store::{now_micros, outbox as stored_outbox};

use super::email_privacy::Sealing;

pub use tokens::Purpose;

/// How Parley sends mail, when it does.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The `From` of every mail, e.g. `Comments <comments@news.example>`.
    pub from: String,
    /// Where Parley itself is reached from the outside: the links in mail
    /// lead there.
    pub public_url: url::Url,
}

/// Writing mail: the settings, the keys that seal recipients and sign
/// links, and the worker to wake.
#[derive(Clone)]
pub struct Mail {
    settings: Arc<MailSettings>,
    sealing: Sealing,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A mail to write to the outbox.
struct Letter {
    to: String,
    subject: String,
    body: String,
    /// The address's blind index: its unsubscribe link.
    email_index: String,
    /// The comment it tells of: deleting the comment takes the mail back.
    comment: Option<Uuid>,
}

impl Mail {
    pub fn new(settings: MailSettings, sealing: Sealing) -> Self {
        Self {
            settings: Arc::new(settings),
            sealing,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    pub fn sealing(&self) -> &Sealing {
        &self.sealing
    }

    /// What the worker waits on between rounds.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Tells the worker a mail was committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A link to Parley's page `path` (under the public URL's own path)
    /// with a token signed for `subject`.
    fn link(&self, path: &str, purpose: Purpose, subject: &str) -> String {
        let mut url = self.settings.public_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url.query_pairs_mut().clear().append_pair(
            "token",
            &tokens::make(self.sealing.fingerprints(), purpose, subject),
        );
        url.to_string()
    }

    fn unsubscribe_link(&self, email_index: &str) -> String {
        self.link("/mail/unsubscribe", Purpose::Unsubscribe, email_index)
    }

    /// The site's name in mail: the host Parley is reached at.
    fn site(&self) -> String {
        self.settings
            .public_url
            .host_str()
            .unwrap_or("this site")
            .to_owned()
    }

    /// Writes `letter` to the outbox in the transaction `txn`, with its
    /// one-click unsubscribe; the caller wakes the worker once committed.
    async fn write(
        &self,
        txn: &impl ConnectionTrait,
        letter: Letter,
    ) -> crate::error::AppResult<()> {
        let id = Uuid::now_v7();
        let unsubscribe = self.unsubscribe_link(&letter.email_index);
        let body = format!(
            "{}\n\n-- \nTo stop mail from {} about comments, open {unsubscribe}\n",
            letter.body.trim_end(),
            self.site()
        );
        let headers = BTreeMap::from([
            ("List-Unsubscribe".to_owned(), format!("<{unsubscribe}>")),
            (
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ),
        ]);
        let now = now_micros();
        stored_outbox::insert(
            txn,
            outbox_mail::Model {
                id,
                comment_id: letter.comment,
                recipient: self.sealing.keys().seal(&letter.to, Place::OutboxMail(id)),
                subject: letter.subject,
                body,
                headers: serde_json::to_string(&headers)
                    .map_err(|err| crate::error::AppError::Internal(err.into()))?,
                created_at: now,
                next_attempt_at: now,
                attempts: 0,
                last_error: None,
            },
        )
        .await?;
        Ok(())
    }
}
