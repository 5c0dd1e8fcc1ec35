//! The parts of an article a moderator (or the CMS) supplies.

use crate::error::{AppError, AppResult, Field};

use super::text;

/// The publisher's stable key for an article: a CMS id or a URL path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleSlug(String);

impl ArticleSlug {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> AppResult<Self> {
        Self::parse_field(raw, Field::Slug)
    }

    pub fn parse_field(raw: &str, field: Field) -> AppResult<Self> {
        let slug = text::single_line(raw, field, "slug", Self::MAX_CHARS)?;
        if slug.chars().any(char::is_whitespace) {
            return Err(AppError::bad_input(field, "slug must not contain spaces"));
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An article's title: 1–300 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleTitle(String);

impl ArticleTitle {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(raw: &str) -> AppResult<Self> {
        text::single_line(raw, Field::Title, "title", Self::MAX_CHARS).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An absolute `http` or `https` URL of at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleUrl(String);

impl ArticleUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(raw: &str) -> AppResult<Self> {
        let raw = raw.trim();
        let invalid =
            || AppError::bad_input(Field::Url, "url must be an absolute http or https URL");
        if raw.len() > Self::MAX_CHARS {
            return Err(AppError::bad_input(
                Field::Url,
                format!("url must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let url = url::Url::parse(raw).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid());
        }
        Ok(Self(url.into()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_may_be_paths_but_not_contain_spaces() {
        assert!(ArticleSlug::parse("/2026/11/budget-vote").is_ok());
        assert!(ArticleSlug::parse("cms-4711").is_ok());
        assert!(ArticleSlug::parse("two words").is_err());
        assert!(ArticleSlug::parse("").is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(ArticleUrl::parse("https://news.example/a").is_ok());
        for raw in [
            "javascript:alert(1)",
            "/relative",
            "ftp://x.example/",
            "not a url",
        ] {
            assert!(ArticleUrl::parse(raw).is_err(), "{raw}");
        }
    }
}
