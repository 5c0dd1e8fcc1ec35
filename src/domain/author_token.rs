//! Author tokens: the secret a reader's browser gets back with each
//! comment it posts. It proves authorship, never by the email alone:
//! - the author may edit or withdraw the comment within the edit window;
//! - a later post carrying it, with the same email as an earlier comment
//!   posted with it and since approved, is trusted under pre-moderation.
//!
//! Only a keyed hash of the token is stored (`comments.author_key`). A post
//! may bring the token it got before (the widget keeps one per browser), so
//! that all of a reader's comments share it; a post without one, or with
//! one Parley never gave (no comment carries it), gets a new one. A token is 32 random bytes, base64url: whoever did not receive it
//! cannot guess it, so a guessed email alone proves nothing.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::flood::Fingerprints;
use crate::error::{AppError, AppResult, Field};

/// The namespace of the tokens' keyed hashes.
const KIND: &str = "author-token";
const TOKEN_BYTES: usize = 32;

/// An author token, as received or as newly made.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorToken(String);

impl std::fmt::Debug for AuthorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthorToken(<secret>)")
    }
}

impl AuthorToken {
    /// A new random token.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; TOKEN_BYTES]>()))
    }

    /// A token sent back by a client: exactly the shape Parley makes.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let invalid = || {
            AppError::bad_input(
                Field::AuthorToken,
                "not an author token; send the authorToken a post answered with",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        if bytes.len() != TOKEN_BYTES {
            return Err(invalid());
        }
        Ok(Self(raw.trim().to_owned()))
    }

    /// The keyed hash stored with the comments posted with it.
    pub fn key(&self, fingerprints: &Fingerprints) -> String {
        fingerprints.of(KIND, &self.0)
    }

    /// The token itself, for the answer to its author.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_others_do_not() {
        let token = AuthorToken::generate();
        assert_eq!(AuthorToken::parse(token.reveal()).unwrap(), token);
        for raw in ["", "short", "A".repeat(43).as_str(), "!!!!"] {
            let parsed = AuthorToken::parse(raw);
            if raw.len() == 43 {
                // 43 base64url characters hold 32 bytes: a well-formed token
                // (`A` leaves the unused trailing bits at zero, as required).
                assert!(parsed.is_ok());
            } else {
                assert!(parsed.is_err(), "{raw}");
            }
        }
    }
}
