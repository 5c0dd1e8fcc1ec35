//! The viewer: who a request comes from, decided once per request from its
//! credentials (here, and nowhere else) and read by the domain's
//! permission checks.

use uuid::Uuid;

use super::TokenKeys;
use crate::error::{AppError, AppResult};
use crate::store::entities::moderator::ModeratorRole;
use crate::store::{Store, moderators, tokens};

/// What a request presents as credentials: its `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// No `Authorization` header: a reader or a front end.
    None,
    /// A header that is not a usable bearer token.
    Malformed,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
}

impl<'a> Credentials<'a> {
    /// The credentials of an `Authorization` header value, if there is one.
    pub fn from_header(value: Option<&'a [u8]>) -> Self {
        let Some(value) = value else {
            return Self::None;
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return Self::Malformed;
        };
        match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Self::Bearer(token.trim())
            }
            _ => Self::Malformed,
        }
    }

    /// Whether the request comes without credentials at all: its answers
    /// may be cached and shared.
    pub fn is_none(self) -> bool {
        self == Self::None
    }

    /// Who these credentials belong to: a moderator only while the token is
    /// valid, not revoked, as recent as the account's last password change,
    /// and the account is not removed.
    pub async fn viewer(self, store: &Store, keys: &TokenKeys) -> AppResult<Viewer> {
        let token = match self {
            Self::None => return Ok(Viewer::Anonymous),
            Self::Malformed => return Ok(Viewer::InvalidToken),
            Self::Bearer(token) => token,
        };
        let Some(claims) = keys.verify(token) else {
            return Ok(Viewer::InvalidToken);
        };
        let Some(account) = moderators::find_by_id(store.db(), claims.moderator_id).await? else {
            return Ok(Viewer::InvalidToken);
        };
        if account.token_version != claims.version
            || tokens::is_revoked(store.db(), claims.token_id).await?
        {
            return Ok(Viewer::InvalidToken);
        }
        Ok(Viewer::Moderator(ViewerModerator {
            id: account.id,
            role: account.role,
            token_id: claims.token_id,
            token_expires_at: claims.expires_at,
        }))
    }
}

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
        self.require_admin_for("only admins may manage moderators")
    }

    /// As [`Viewer::require_admin`], saying `why` to a moderator who is not
    /// an admin.
    pub fn require_admin_for(&self, why: &'static str) -> AppResult<&ViewerModerator> {
        let moderator = self.require_moderator()?;
        if moderator.role == ModeratorRole::Admin {
            Ok(moderator)
        } else {
            Err(AppError::Forbidden(why))
        }
    }

    /// The moderator's id, for logs.
    pub fn moderator_id(&self) -> Option<Uuid> {
        match self {
            Self::Moderator(moderator) => Some(moderator.id),
            _ => None,
        }
    }

    pub fn is_moderator(&self) -> bool {
        matches!(self, Self::Moderator(_))
    }
}
