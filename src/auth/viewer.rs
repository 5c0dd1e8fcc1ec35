//! The viewer: who a request comes from, resolved once by the HTTP layer and
//! read by resolvers.

use uuid::Uuid;

use crate::domain::ModeratorRole;
use crate::error::{AppError, AppResult};

/// A logged-in moderator, as loaded for this request.
#[derive(Debug, Clone)]
pub struct ViewerModerator {
    pub id: Uuid,
    pub role: ModeratorRole,
    /// The id of the token this request came with, for `logout`.
    pub token_id: Uuid,
    /// When that token expires, in seconds since the Unix epoch.
    pub token_expires_at: i64,
}

/// Who is asking.
#[derive(Debug, Clone, Default)]
pub enum Viewer {
    /// No credentials: a reader or a front end.
    #[default]
    Anonymous,
    /// A token was sent but is malformed, forged, expired, or its account is gone.
    InvalidToken,
    /// A moderator with a valid token.
    Moderator(ViewerModerator),
}

impl Viewer {
    /// The moderator behind this request, or the error for a caller who is
    /// not one: `UNAUTHENTICATED` without a valid token.
    pub fn require_moderator(&self) -> AppResult<&ViewerModerator> {
        match self {
            Self::Moderator(moderator) => Ok(moderator),
            Self::Anonymous => Err(AppError::Unauthenticated("a moderator token is required")),
            Self::InvalidToken => Err(AppError::Unauthenticated("the token is invalid or expired")),
        }
    }

    /// The admin behind this request: `UNAUTHENTICATED` without a valid
    /// token, `FORBIDDEN` for a moderator who is not an admin.
    pub fn require_admin(&self) -> AppResult<&ViewerModerator> {
        let moderator = self.require_moderator()?;
        if moderator.role == ModeratorRole::Admin {
            Ok(moderator)
        } else {
            Err(AppError::Forbidden("only admins may manage moderators"))
        }
    }

    pub fn is_moderator(&self) -> bool {
        matches!(self, Self::Moderator(_))
    }
}
