//! The small vocabularies of the domain: comment status and moderator role
//! (defined once, with their stored names, beside the tables that hold
//! them), and the moderation mode (site-wide and per article).

pub use crate::store::entities::comment::CommentStatus;
pub use crate::store::entities::moderation_settings::ModerationMode;
pub use crate::store::entities::moderator::ModeratorRole;

impl ModerationMode {
    /// The status a new comment gets.
    pub fn initial_status(self) -> CommentStatus {
        match self {
            Self::Pre => CommentStatus::Pending,
            Self::Post => CommentStatus::Approved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_mode_decides_the_initial_status() {
        assert_eq!(ModerationMode::Pre.initial_status(), CommentStatus::Pending);
        assert_eq!(
            ModerationMode::Post.initial_status(),
            CommentStatus::Approved
        );
    }
}
