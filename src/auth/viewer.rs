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

    pub fn is_moderator(&self) -> bool {
        matches!(self, Self::Moderator(_))
    }
}
