//! The one error type of Parley, and how it reaches a client.
//!
//! Domain and storage code return [`AppError`]; `?` in a resolver turns it
//! into a GraphQL error whose `extensions.code` is one of the documented
//! codes. `AppError` deliberately has no `Display`: async-graphql converts any
//! `Display` type into a code-less error, and without it that silent path
//! cannot be taken. An [`AppError::Internal`] is logged once,
//! where it is converted, and the client only ever sees "internal server
//! error": no SQL, no paths, no stack traces.

use async_graphql::ErrorExtensions;

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

/// Every way a request can fail, by what the client can do about it.
#[derive(Debug)]
pub enum AppError {
    /// The input is missing or invalid; `field` names the input field or argument.
    BadUserInput {
        field: &'static str,
        message: String,
    },
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
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
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

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(source) = self {
            tracing::error!(error = format!("{source:#}"), "internal error");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", *field),
                Self::RateLimited { retry_after } => ext.set("retryAfter", *retry_after),
                _ => {}
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(err: AppError) -> serde_json::Value {
        let gql = async_graphql::Error::from(err);
        let server = gql.into_server_error(async_graphql::Pos::default());
        serde_json::to_value(server.extensions).unwrap()
    }

    #[test]
    fn bad_input_names_its_field() {
        let ext = extensions(AppError::bad_input("authorEmail", "not an address"));
        assert_eq!(ext["code"], "BAD_USER_INPUT");
        assert_eq!(ext["field"], "authorEmail");
    }

    #[test]
    fn each_variant_maps_to_its_documented_code() {
        let cases = [
            (AppError::Unauthenticated("x"), "UNAUTHENTICATED"),
            (AppError::Forbidden("x"), "FORBIDDEN"),
            (AppError::NotFound("comment"), "NOT_FOUND"),
            (AppError::CommentsClosed, "COMMENTS_CLOSED"),
            (AppError::RateLimited { retry_after: 3 }, "RATE_LIMITED"),
        ];
        for (err, code) in cases {
            assert_eq!(extensions(err)["code"], code);
        }
    }

    #[test]
    fn rate_limited_says_when_to_retry() {
        let ext = extensions(AppError::RateLimited { retry_after: 7 });
        assert_eq!(ext["retryAfter"], 7);
    }

    #[test]
    fn internal_error_hides_its_source() {
        let err = AppError::Internal(anyhow::anyhow!("SELECT * FROM secret_table"));
        let gql = async_graphql::Error::from(err);
        assert_eq!(gql.message, "internal server error");
        assert_eq!(
            extensions(AppError::Internal(anyhow::anyhow!("x")))["code"],
            "INTERNAL_SERVER_ERROR"
        );
    }
}
