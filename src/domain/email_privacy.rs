//! Readers' emails, and the rules' reasons, are for moderators only: a thread read fetches them
//! only for a moderator, and a comment's email is shown to a moderator and
//! refused to anyone else. This is the one place that decides it.

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};

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

/// A comment's email as this viewer may see it: the address for a
/// moderator, `FORBIDDEN` for a reader, `UNAUTHENTICATED` for a bad token.
pub fn author_email<'a>(viewer: &Viewer, email: Option<&'a str>) -> AppResult<Option<&'a str>> {
    match viewer {
        Viewer::Moderator(_) => Ok(email),
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
