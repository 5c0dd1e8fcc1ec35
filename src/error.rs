//! The one error type of Parley, and how it reaches a client.
//!
//! Domain and storage code return [`AppError`]; `?` in a resolver turns it
//! into a GraphQL error whose `extensions.code` is one of the documented
//! codes (the conversion is `graphql::errors`'). `AppError` deliberately has no `Display`: async-graphql converts any
//! `Display` type into a code-less error, and without it that silent path
//! cannot be taken. An [`AppError::Internal`] is logged once,
//! where it is converted, and the client only ever sees "internal server
//! error": no SQL, no paths, no stack traces.

/// The documented `extensions.code` values: the one list every error body
/// takes its code from.
pub mod codes {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const COMMENTS_CLOSED: &str = "COMMENTS_CLOSED";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
}

/// The input a `BAD_USER_INPUT` error is about, in the domain's words. The
/// GraphQL edge gives each its field or argument name
/// (`graphql::errors::field_name`), so the domain never spells the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The article a new comment goes to.
    ArticleSlug,
    ParentId,
    AuthorName,
    AuthorEmail,
    Body,
    /// The size of a page.
    First,
    /// The cursor a page starts after.
    After,
    /// The id of the account an admin acts on.
    Id,
    /// A moderator's login email.
    Email,
    /// A moderator's display name.
    Name,
    Password,
    CurrentPassword,
    NewPassword,
    /// An article's own slug, title and URL.
    Slug,
    Title,
    Url,
    /// A moderator's reason for an action.
    Reason,
    /// The page and title of an article a first comment creates.
    ArticleUrl,
    ArticleTitle,
    /// The moderation settings, and an article's overrides of them.
    MaxLinks,
    HoldWords,
    BlockWords,
    BlockedEmailDomains,
    CloseAfterDays,
    EditWindowMinutes,
    /// The comment ids of a bulk action.
    Ids,
    /// The secret an author received with their comment.
    AuthorToken,
    /// A reader's wish to be told of replies by mail.
    NotifyReplies,
    /// The earliest time of a log page.
    Since,
    /// The moderator a log page is narrowed to.
    ModeratorId,
    /// The comment an action starts from.
    CommentId,
}

/// Every way a request can fail, by what the client can do about it.
#[derive(Debug)]
pub enum AppError {
    /// The input is missing or invalid; `field` names the input field or argument.
    BadUserInput { field: Field, message: String },
    /// No token, a bad or expired token, or a failed login.
    Unauthenticated(&'static str),
    /// The caller is known but may not do this.
    Forbidden(&'static str),
    /// The thing asked for does not exist (or no longer does).
    NotFound(&'static str),
    /// The article does not accept new comments.
    CommentsClosed,
    /// Too many requests; try again after `retry_after` seconds.
    RateLimited { retry_after: u64 },
    /// Anything the client cannot fix. The source is logged, never sent.
    Internal(anyhow::Error),
}

/// The `Result` of Parley's own code.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A `BAD_USER_INPUT` error naming `field`.
    pub fn bad_input(field: Field, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field,
            message: message.into(),
        }
    }

    /// The message a client sees.
    pub fn message(&self) -> String {
        match self {
            Self::BadUserInput { message, .. } => message.clone(),
            Self::Unauthenticated(message) | Self::Forbidden(message) => (*message).to_owned(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::CommentsClosed => "comments are closed on this article".to_owned(),
            Self::RateLimited { retry_after } => {
                format!("too many requests; try again in {retry_after} seconds")
            }
            Self::Internal(_) => "internal server error".to_owned(),
        }
    }

    /// The documented `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput { .. } => codes::BAD_USER_INPUT,
            Self::Unauthenticated(_) => codes::UNAUTHENTICATED,
            Self::Forbidden(_) => codes::FORBIDDEN,
            Self::NotFound(_) => codes::NOT_FOUND,
            Self::CommentsClosed => codes::COMMENTS_CLOSED,
            Self::RateLimited { .. } => codes::RATE_LIMITED,
            Self::Internal(_) => codes::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<std::sync::Arc<AppError>> for AppError {
    /// An error shared by a batch loader with every request it served.
    fn from(shared: std::sync::Arc<AppError>) -> Self {
        match std::sync::Arc::try_unwrap(shared) {
            Ok(err) => err,
            Err(shared) => Self::Internal(anyhow::anyhow!("{shared:?}")),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(err.into())
    }
}
