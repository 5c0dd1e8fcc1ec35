//! The moderation log's vocabulary: what a moderator did, recorded in the
//! transaction of the action itself. Rows are only ever added.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::AppResult;
use crate::store::audit;

/// What a moderator did.
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
}

impl Action {
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
        }
    }
}

/// What an action was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Comment { id: Uuid, article_id: Uuid },
    Article(Uuid),
    Account(Uuid),
}

/// Records that `moderator` did `action` to `subject`, in the transaction
/// `txn` of the action.
pub async fn record(
    txn: &impl ConnectionTrait,
    moderator: Uuid,
    action: Action,
    subject: Subject,
    reason: Option<&str>,
) -> AppResult<()> {
    let (comment_id, article_id, account_id) = match subject {
        Subject::Comment { id, article_id } => (Some(id), Some(article_id), None),
        Subject::Article(id) => (None, Some(id), None),
        Subject::Account(id) => (None, None, Some(id)),
    };
    audit::record(
        txn,
        audit::Entry {
            moderator_id: moderator,
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
