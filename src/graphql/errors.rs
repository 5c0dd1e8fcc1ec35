//! Errors that async-graphql raises on its own (a document that does not
//! parse or validate, an argument of the wrong type, a query over the
//! limits) carry no `extensions.code`. Each is the caller's bad input, so
//! they all get `BAD_USER_INPUT`, naming the argument or input field when the
//! message points at one. Syntax errors quote the offending source line,
//! which may hold a reader's email: their message is replaced.

use async_graphql::{ErrorExtensions, Response, ServerError};

use crate::error::{AppError, Field, codes};

/// The name of the input field or argument a domain error is about: the
/// one mapping from the domain's words to the API's.
pub fn field_name(field: Field) -> &'static str {
    match field {
        Field::ArticleSlug => "articleSlug",
        Field::ParentId => "parentId",
        Field::AuthorName => "authorName",
        Field::AuthorEmail => "authorEmail",
        Field::Body => "body",
        Field::First => "first",
        Field::After => "after",
        Field::Id => "id",
        Field::Email => "email",
        Field::Name => "name",
        Field::Password => "password",
        Field::CurrentPassword => "currentPassword",
        Field::NewPassword => "newPassword",
        Field::Slug => "slug",
        Field::Title => "title",
        Field::Url => "url",
        Field::Reason => "reason",
        Field::ArticleUrl => "articleUrl",
        Field::ArticleTitle => "articleTitle",
        Field::MaxLinks => "maxLinks",
        Field::HoldWords => "holdWords",
        Field::BlockWords => "blockWords",
        Field::BlockedEmailDomains => "blockedEmailDomains",
        Field::CloseAfterDays => "closeAfterDays",
        Field::EditWindowMinutes => "editWindowMinutes",
        Field::Ids => "ids",
        Field::AuthorToken => "authorToken",
        Field::NotifyReplies => "notifyReplies",
        Field::Since => "since",
        Field::ModeratorId => "moderatorId",
        Field::CommentId => "commentId",
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
                Self::BadUserInput { field, .. } => ext.set("field", field_name(*field)),
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

/// An error in GraphQL's shape, for answers made outside execution (the
/// transport's refusals): `message` and `extensions.code`, with the field
/// at fault when there is one.
pub fn json(code: &str, message: &str, field: Option<&str>) -> serde_json::Value {
    let mut extensions = serde_json::json!({ "code": code });
    if let Some(field) = field {
        extensions["field"] = field.into();
    }
    serde_json::json!({ "message": message, "extensions": extensions })
}

/// A `BAD_USER_INPUT` error about a rule of the API itself, naming the
/// field at fault.
pub fn bad_input(field: &str, message: &str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", codes::BAD_USER_INPUT);
        ext.set("field", field);
    })
}

/// An [`AppError`] in GraphQL's shape, as a resolver would answer it.
pub fn json_of(err: AppError) -> serde_json::Value {
    let err = async_graphql::Error::from(err);
    serde_json::json!({ "message": err.message, "extensions": err.extensions })
}

/// Labels every code-less error of `response`.
pub fn label_response(response: &mut Response) {
    response.errors.iter_mut().for_each(label);
}

/// Gives a code-less error the `BAD_USER_INPUT` code (and a field where
/// one can be named); leaves Parley's own errors as they are.
pub fn label(error: &mut ServerError) {
    if error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
    {
        return;
    }
    if error.message.contains('\n') {
        error.message = "the document is not valid GraphQL (syntax error)".to_owned();
    }
    let field = error
        .message
        .starts_with("Invalid value for argument")
        .then(|| {
            quoted_after(&error.message, "field \"")
                .or_else(|| quoted_after(&error.message, "argument \""))
        })
        .flatten();
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", codes::BAD_USER_INPUT);
    if let Some(field) = field {
        extensions.set("field", field);
    }
}

/// The text between `marker` (its last occurrence) and the next quote;
/// `input.authorEmail` names the field `authorEmail`.
fn quoted_after(message: &str, marker: &str) -> Option<String> {
    let start = message.rfind(marker)? + marker.len();
    let rest = &message[start..];
    let name = &rest[..rest.find('"')?];
    Some(name.rsplit('.').next().unwrap_or(name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(message: &str) -> serde_json::Value {
        let mut error = ServerError::new(message, None);
        label(&mut error);
        serde_json::to_value(&error).unwrap()
    }

    #[test]
    fn missing_input_fields_are_named() {
        let error = labelled(
            "Invalid value for argument \"input\", field \"authorEmail\" of type \"String!\" is required but not provided",
        );
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], "authorEmail");
    }

    #[test]
    fn mistyped_arguments_are_named() {
        let error = labelled("Invalid value for argument \"first\", expected type \"Int\"");
        assert_eq!(error["extensions"]["field"], "first");
    }

    #[test]
    fn other_errors_get_the_code_without_a_field() {
        let error = labelled("Unknown field \"nope\" on type \"Query\".");
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
        assert!(error["extensions"].get("field").is_none());
    }

    #[test]
    fn syntax_errors_do_not_quote_the_document() {
        let error = labelled(
            " --> 1:40\n  |\n1 | { postComment(authorEmail: \"ann@x.org\" \n  |   ^---\n  = expected name",
        );
        assert!(!error.to_string().contains("ann@x.org"));
    }

    #[test]
    fn parleys_own_codes_are_kept() {
        let mut error = ServerError::new("comment not found", None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "NOT_FOUND");
        label(&mut error);
        assert_eq!(
            serde_json::to_value(&error).unwrap()["extensions"]["code"],
            "NOT_FOUND"
        );
    }

    fn extensions(err: AppError) -> serde_json::Value {
        let gql = async_graphql::Error::from(err);
        let server = gql.into_server_error(async_graphql::Pos::default());
        serde_json::to_value(server.extensions).unwrap()
    }

    #[test]
    fn bad_input_names_its_field() {
        let ext = extensions(AppError::bad_input(Field::AuthorEmail, "not an address"));
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
