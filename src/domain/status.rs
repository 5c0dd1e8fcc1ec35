//! The small vocabularies of the domain: comment status, moderation mode,
//! moderator role. Stored as the upper-case names below.

use std::str::FromStr;

/// Where a comment stands in moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStatus {
    /// Waiting for a moderator; visible to moderators only.
    Pending,
    /// Visible to readers.
    Approved,
    /// Taken down by a moderator; visible to moderators only.
    Hidden,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Hidden => "HIDDEN",
        }
    }
}

impl FromStr for CommentStatus {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PENDING" => Ok(Self::Pending),
            "APPROVED" => Ok(Self::Approved),
            "HIDDEN" => Ok(Self::Hidden),
            other => Err(anyhow::anyhow!(
                "unknown comment status {other:?} in storage"
            )),
        }
    }
}

/// Whether new comments wait for a moderator (`pre`) or show at once (`post`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ModerationMode {
    /// New comments are PENDING until a moderator approves them.
    #[default]
    Pre,
    /// New comments are APPROVED at once; moderators hide what breaks the rules.
    Post,
}

impl ModerationMode {
    /// The status a new comment gets.
    pub fn initial_status(self) -> CommentStatus {
        match self {
            Self::Pre => CommentStatus::Pending,
            Self::Post => CommentStatus::Approved,
        }
    }
}

/// What a moderator account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ModeratorRole {
    /// Moderates, and manages other moderators.
    Admin,
    /// Moderates comments and articles.
    #[default]
    Moderator,
}

impl ModeratorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Moderator => "MODERATOR",
        }
    }
}

impl FromStr for ModeratorRole {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ADMIN" => Ok(Self::Admin),
            "MODERATOR" => Ok(Self::Moderator),
            other => Err(anyhow::anyhow!(
                "unknown moderator role {other:?} in storage"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_storage_names() {
        for status in [
            CommentStatus::Pending,
            CommentStatus::Approved,
            CommentStatus::Hidden,
        ] {
            assert_eq!(status.as_str().parse::<CommentStatus>().unwrap(), status);
        }
    }

    #[test]
    fn moderation_mode_decides_the_initial_status() {
        assert_eq!(ModerationMode::Pre.initial_status(), CommentStatus::Pending);
        assert_eq!(
            ModerationMode::Post.initial_status(),
            CommentStatus::Approved
        );
    }
}
