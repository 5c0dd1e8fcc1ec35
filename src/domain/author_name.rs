//! The name a reader signs a comment with (also a moderator's display name).

use crate::error::{AppResult, Field};

use super::text;

/// A name of 1–100 characters after trimming, NFC-normalised, with no control
/// or bidi-override characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorName(String);

impl AuthorName {
    pub const MAX_CHARS: usize = 100;

    /// Parses the `authorName` input.
    pub fn parse(raw: &str) -> AppResult<Self> {
        Self::parse_field(raw, Field::AuthorName)
    }

    /// Parses a name given in another input field (e.g. a moderator's `name`).
    pub fn parse_field(raw: &str, field: Field) -> AppResult<Self> {
        text::single_line(raw, field, "name", Self::MAX_CHARS).map(Self)
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
    fn trims_and_normalises_to_nfc() {
        let name = AuthorName::parse("  Cafe\u{301} Owner ").unwrap();
        assert_eq!(name.as_str(), "Caf\u{e9} Owner");
    }

    #[test]
    fn rejects_blank_names() {
        for raw in ["", "   ", "\t\n"] {
            assert!(AuthorName::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn accepts_exactly_one_hundred_characters_and_no_more() {
        assert!(AuthorName::parse(&"é".repeat(100)).is_ok());
        assert!(AuthorName::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn rejects_control_and_bidi_override_characters() {
        for raw in ["Ann\u{0}", "Ann\nBob", "Ann\u{202E}txt.exe", "\u{2066}Ann"] {
            assert!(AuthorName::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn errors_name_the_input_field() {
        let err = AuthorName::parse("").unwrap_err();
        assert!(matches!(
            err,
            crate::error::AppError::BadUserInput {
                field: crate::error::Field::AuthorName,
                ..
            }
        ));
    }
}
