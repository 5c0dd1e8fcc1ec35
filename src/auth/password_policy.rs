//! The password policy for moderator accounts.

use crate::error::{AppError, AppResult, Field};

/// A new password: 12–128 characters, used as given (no trimming, no
/// truncation). Its `Debug` output is redacted.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> AppResult<Self> {
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            return Err(AppError::bad_input(
                Field::Password,
                format!("password must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(AppError::bad_input(
                Field::Password,
                format!("password must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_bounds() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("twelve chars").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn keeps_surrounding_spaces() {
        assert_eq!(
            Password::parse("  spaced out  ").unwrap().expose(),
            "  spaced out  "
        );
    }
}
