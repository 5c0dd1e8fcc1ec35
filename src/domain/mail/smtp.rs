//! Sending one mail over SMTP with lettre: `smtp://` (plain, for a relay on
//! the same host or network), `smtp://…?tls=required` (STARTTLS) or
//! `smtps://` (TLS), with credentials in the URL.

use std::collections::BTreeMap;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Why a mail was not sent, without the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server refused it for good (a 5xx answer): trying again would
    /// not help.
    Permanent(String),
    /// Anything else: tried again later.
    Transient(String),
}

/// An SMTP server to send through.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Smtp(<server>)")
    }
}

impl Smtp {
    /// The server of `url` (which may hold a password: never shown), and
    /// the `From` of every mail. Nothing is connected yet.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from.parse().map_err(|_| {
            anyhow::anyhow!(
                "PARLEY_MAIL_FROM is not an address (e.g. `Comments <comments@news.example>`)"
            )
        })?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| {
                anyhow::anyhow!(
                    "PARLEY_SMTP_URL is not an SMTP URL: use smtp://host:25, \
                     smtp://user:password@host:587?tls=required or smtps://user:password@host:465"
                )
            })?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Self { transport, from })
    }

    /// Sends one plain-text mail with `headers` besides the usual ones.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        headers: &BTreeMap<String, String>,
    ) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Permanent("the recipient is not an address".to_owned()))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for (name, value) in headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| SendError::Permanent(format!("bad header name {name}")))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let message = builder
            .body(body.to_owned())
            .map_err(|err| SendError::Permanent(format!("could not build the mail: {err}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) => {
                // The server's code only: its text may quote the address.
                let code = err
                    .status()
                    .map_or_else(|| "no answer".to_owned(), |code| code.to_string());
                if err.is_permanent() {
                    Err(SendError::Permanent(format!("refused with {code}")))
                } else {
                    Err(SendError::Transient(format!("failed ({code})")))
                }
            }
        }
    }
}
