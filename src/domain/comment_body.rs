//! The text of a comment.

use crate::error::{AppError, AppResult, Field};

use super::text;

/// 1–10,000 characters after trimming, NFC-normalised. Line breaks and tabs
/// are kept; other control characters are refused. Stored as plain text and
/// returned exactly as accepted: front ends escape it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(raw: &str) -> AppResult<Self> {
        let text = text::normalized(raw, Field::Body, "body", Self::MAX_CHARS)?;
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(AppError::bad_input(
                Field::Body,
                "body must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(text))
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
    fn keeps_markup_and_line_breaks_as_plain_text() {
        let body = CommentBody::parse("  <b>Hi</b>\n\tthere  ").unwrap();
        assert_eq!(body.as_str(), "<b>Hi</b>\n\tthere");
    }

    #[test]
    fn accepts_ten_thousand_characters_and_no_more() {
        assert!(CommentBody::parse(&"ж".repeat(10_000)).is_ok());
        assert!(CommentBody::parse(&"ж".repeat(10_001)).is_err());
    }

    #[test]
    fn rejects_blank_bodies_and_nul_bytes() {
        assert!(CommentBody::parse(" \n ").is_err());
        assert!(CommentBody::parse("a\u{0}b").is_err());
    }
}
