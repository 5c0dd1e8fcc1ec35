//! The moderation log's vocabulary: who did what, recorded in the
//! transaction of the action itself. Rows are only ever added.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::AppResult;
use crate::store::audit;
use crate::store::entities::comment;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ApproveComment,
    HideComment,
    DeleteComment,
    CreateArticle,
    UpdateArticle,
    AddModerator,
    SetModeratorRole,
    RemoveModerator,
    UpdateSettings,
    BanAuthor,
    UnbanAuthor,
    /// An author changed their comment within the edit window.
    EditComment,
    /// An author took their comment back within the edit window.
    WithdrawComment,
    /// Parley erased a comment hidden for longer than the retention period.
    EraseExpired,
}

impl Action {
    /// Every action, in the order the API lists them.
    pub const ALL: [Self; 14] = [
        Self::ApproveComment,
        Self::HideComment,
        Self::DeleteComment,
        Self::CreateArticle,
        Self::UpdateArticle,
        Self::AddModerator,
        Self::SetModeratorRole,
        Self::RemoveModerator,
        Self::UpdateSettings,
        Self::BanAuthor,
        Self::UnbanAuthor,
        Self::EditComment,
        Self::WithdrawComment,
        Self::EraseExpired,
    ];

    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApproveComment => "APPROVE_COMMENT",
            Self::HideComment => "HIDE_COMMENT",
            Self::DeleteComment => "DELETE_COMMENT",
            Self::CreateArticle => "CREATE_ARTICLE",
            Self::UpdateArticle => "UPDATE_ARTICLE",
            Self::AddModerator => "ADD_MODERATOR",
            Self::SetModeratorRole => "SET_MODERATOR_ROLE",
            Self::RemoveModerator => "REMOVE_MODERATOR",
            Self::UpdateSettings => "UPDATE_SETTINGS",
            Self::BanAuthor => "BAN_AUTHOR",
            Self::UnbanAuthor => "UNBAN_AUTHOR",
            Self::EditComment => "EDIT_COMMENT",
            Self::WithdrawComment => "WITHDRAW_COMMENT",
            Self::EraseExpired => "ERASE_EXPIRED",
        }
    }

    /// The action of a stored name.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == name)
    }
}

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Moderator(Uuid),
    /// The author of the comment, proving it with their token.
    Author,
    /// Parley itself, applying the retention period.
    Retention,
}

/// What an action was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Comment {
        id: Uuid,
        article_id: Uuid,
    },
    Article(Uuid),
    Account(Uuid),
    /// The site-wide moderation settings.
    Settings,
}

impl Subject {
    /// A comment, on its article.
    pub fn comment(comment: &comment::Model) -> Self {
        Self::Comment {
            id: comment.id,
            article_id: comment.article_id,
        }
    }
}

/// How many times `action` was recorded for a comment.
pub async fn count_for_comment(
    db: &impl ConnectionTrait,
    comment_id: Uuid,
    action: Action,
) -> AppResult<u64> {
    Ok(audit::count_for_comment(db, comment_id, action.as_str()).await?)
}

/// Whether a moderator's last decision on a comment was to hide it: then
/// it is theirs to bring back, not an author's edit.
pub async fn hidden_last_by_a_moderator(
    db: &impl ConnectionTrait,
    comment_id: Uuid,
) -> AppResult<bool> {
    // Moderators' decisions only: an author's edit of a comment a
    // moderator hid keeps it hidden, and so does the next edit.
    let changes = [
        Action::HideComment.as_str(),
        Action::ApproveComment.as_str(),
    ];
    let latest = audit::latest_for_comment(db, comment_id, &changes).await?;
    Ok(latest.as_deref() == Some(Action::HideComment.as_str()))
}

/// Records that `actor` did `action` to `subject`, in the transaction
/// `txn` of the action.
pub async fn record(
    txn: &impl ConnectionTrait,
    actor: Actor,
    action: Action,
    subject: Subject,
    reason: Option<&str>,
) -> AppResult<()> {
    let (comment_id, article_id, account_id) = match subject {
        Subject::Comment { id, article_id } => (Some(id), Some(article_id), None),
        Subject::Article(id) => (None, Some(id), None),
        Subject::Account(id) => (None, None, Some(id)),
        Subject::Settings => (None, None, None),
    };
    audit::record(
        txn,
        audit::Entry {
            moderator_id: match actor {
                Actor::Moderator(id) => Some(id),
                Actor::Author | Actor::Retention => None,
            },
            action: action.as_str(),
            comment_id,
            article_id,
            account_id,
            reason,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_stored_name() {
        for action in Action::ALL {
            assert_eq!(Action::from_stored(action.as_str()), Some(action));
        }
        assert_eq!(Action::from_stored("SOMETHING_ELSE"), None);
    }
}
