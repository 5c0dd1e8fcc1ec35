//! Readers' emails, and the rules' reasons, are for moderators only: a thread read fetches them
//! only for a moderator, and a comment's email is shown to a moderator and
//! refused to anyone else. This is the one place that decides it.
//!
//! At rest an email is sealed under the data key, bound to its comment
//! (`store::sealing`); lookups by email match its blind index, a keyed hash
//! of the normalised address, never the address.

use std::sync::Arc;

use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::store::sealing::{DataKeys, Place};

use super::flood::Fingerprints;

pub use crate::store::comments::Emails;

/// Whether this viewer's thread reads fetch authors' emails: for anyone but
/// a moderator they never leave the database.
pub fn thread_emails(viewer: &Viewer) -> Emails {
    if viewer.is_moderator() {
        Emails::Include
    } else {
        Emails::Leave
    }
}

/// The namespace of emails' blind index among the keyed hashes.
const INDEX_KIND: &str = "email";

/// An author's email as stored: sealed, with the key that sealed it and
/// its blind index.
#[derive(Debug, Clone)]
pub struct SealedEmail {
    pub value: String,
    pub key_id: String,
    pub index: String,
}

/// Seals and opens authors' emails: the data keys, and the keyed hashes
/// for the blind index.
#[derive(Clone)]
pub struct Sealing {
    keys: Arc<DataKeys>,
    fingerprints: Fingerprints,
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing").field("keys", &self.keys).finish()
    }
}

impl Sealing {
    pub fn new(keys: Arc<DataKeys>, fingerprints: Fingerprints) -> Self {
        Self { keys, fingerprints }
    }

    pub fn keys(&self) -> &DataKeys {
        &self.keys
    }

    pub fn fingerprints(&self) -> &Fingerprints {
        &self.fingerprints
    }

    /// `email`, the author's email of the comment `comment`, as it is
    /// stored.
    pub fn seal(&self, comment: Uuid, email: &str) -> SealedEmail {
        SealedEmail {
            value: self.keys.seal(email, Place::CommentEmail(comment)),
            key_id: self.keys.sealing_id().to_owned(),
            index: self.blind_index(email),
        }
    }

    /// The blind index of an address: equal for two spellings that differ
    /// only in case or surrounding space.
    pub fn blind_index(&self, email: &str) -> String {
        self.fingerprints
            .of(INDEX_KIND, &email.trim().to_lowercase())
    }

    /// The address of a comment's stored email (`None` when erased). One
    /// stored before sealing existed (by an instance not yet upgraded) is
    /// read as it is; the next start seals it.
    pub fn open(&self, comment: Uuid, stored: &str) -> AppResult<Option<String>> {
        if stored.is_empty() {
            return Ok(None);
        }
        if !DataKeys::is_sealed(stored) {
            return Ok(Some(stored.to_owned()));
        }
        self.keys
            .open(stored, Place::CommentEmail(comment))
            .map(Some)
            .map_err(|err| AppError::Internal(anyhow::anyhow!("comment {comment}: {err}")))
    }
}

/// A comment's email as this viewer may see it: the address for a
/// moderator, `FORBIDDEN` for a reader, `UNAUTHENTICATED` for a bad token.
pub fn author_email(
    viewer: &Viewer,
    sealing: &Sealing,
    comment: Uuid,
    stored: Option<&str>,
) -> AppResult<Option<String>> {
    match viewer {
        Viewer::Moderator(_) => Ok(match stored {
            Some(stored) => sealing.open(comment, stored)?,
            None => None,
        }),
        Viewer::InvalidToken => Err(AppError::Unauthenticated("the token is invalid or expired")),
        Viewer::Anonymous => Err(AppError::Forbidden(
            "only moderators may see email addresses",
        )),
    }
}

/// A comment's moderation reasons as this viewer may see them: for a
/// moderator, refused to anyone else like the email.
pub fn moderation_reasons(
    viewer: &Viewer,
    stored: Option<&str>,
) -> AppResult<Vec<super::moderation_rules::Reason>> {
    match viewer {
        Viewer::Moderator(_) => Ok(stored
            .map(super::moderation_rules::from_stored)
            .unwrap_or_default()),
        Viewer::InvalidToken => Err(AppError::Unauthenticated("the token is invalid or expired")),
        Viewer::Anonymous => Err(AppError::Forbidden(
            "only moderators may see why a comment was held",
        )),
    }
}
