//! Email addresses: a reader's private contact, a moderator's login.

use email_address::{EmailAddress, Options};

use crate::error::{AppError, AppResult, Field};

/// A plain `local@domain.tld` address of at most 254 characters, without a
/// display name or domain literal. Never shown to anyone but a moderator, and
/// never echoed in an error.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl Email {
    pub const MAX_CHARS: usize = 254;

    /// Parses the `authorEmail` input.
    pub fn parse(raw: &str) -> AppResult<Self> {
        Self::parse_field(raw, Field::AuthorEmail)
    }

    /// Parses an address given in another input field.
    pub fn parse_field(raw: &str, field: Field) -> AppResult<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(AppError::bad_input(field, "email address is required"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(AppError::bad_input(
                field,
                format!(
                    "email address must be at most {} characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        let options = Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        let address = EmailAddress::parse_with_options(raw, options)
            .map_err(|_| AppError::bad_input(field, "email address is not valid"))?;
        let tld = address.domain().rsplit('.').next().unwrap_or_default();
        if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(AppError::bad_input(field, "email address is not valid"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The same address with the domain lower-cased and, for logins, the
    /// whole address lower-cased.
    pub fn to_login_key(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses() {
        for raw in ["reader@example.com", " a.b+tag@mail.example.co.uk "] {
            assert!(Email::parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn rejects_what_is_not_local_at_domain_dot_tld() {
        for raw in [
            "",
            "reader",
            "reader@",
            "@example.com",
            "reader@localhost",
            "Reader <reader@example.com>",
            "reader@[127.0.0.1]",
            "reader@example.c",
            "two@@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn rejects_addresses_over_254_characters() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert!(long.len() > 254);
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn errors_never_echo_the_address() {
        let err = Email::parse("secret-person@@example.com").unwrap_err();
        assert!(!err.message().contains("secret-person"));
    }

    #[test]
    fn debug_output_is_redacted() {
        let email = Email::parse("hidden@example.com").unwrap();
        assert!(!format!("{email:?}").contains("hidden"));
    }
}
