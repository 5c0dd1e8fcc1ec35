//! The moderators' types: the rules' reasons and settings, bans, bulk
//! results, the moderation log, counts, and the live queue's events.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};

use super::{Comment, DateTime, ModerationMode, PageInfo};
use crate::domain::audit::Action;
use crate::domain::bans::BanView;
use crate::domain::moderation::{BulkAction, BulkOutcome, Counts};
use crate::domain::moderation_log::LogEntry;
use crate::domain::moderation_rules::{self, Reason};
use crate::domain::moderation_settings::{Settings, SettingsChange};
use crate::domain::{Cursor, Page};
use crate::events::{QueueChange, QueueEvent};

/// What a moderation rule found.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "moderation_rules::ReasonCode")]
pub enum ModerationReasonCode {
    /// The article is pre-moderated and the author is not a trusted one.
    PreModeration,
    /// More links than `maxLinks`.
    Links,
    /// A hold word in the name, email or body.
    HoldWord,
    /// A block word in the name, email or body.
    BlockWord,
    /// The email's domain is blocked.
    BlockedEmailDomain,
    /// The author is banned.
    Banned,
    /// Approved at once: the author proved an earlier approved comment.
    TrustedAuthor,
}

/// A reason the rules gave a comment its status.
#[derive(SimpleObject)]
pub struct ModerationReason {
    pub code: ModerationReasonCode,
    /// For people, e.g. "3 links, more than 2".
    pub detail: String,
}

impl From<Reason> for ModerationReason {
    fn from(reason: Reason) -> Self {
        Self {
            code: reason.code.into(),
            detail: reason.detail,
        }
    }
}

/// The site-wide moderation rules.
pub struct ModerationSettings(pub Settings);

#[Object]
impl ModerationSettings {
    /// The mode of articles without their own.
    async fn mode(&self) -> ModerationMode {
        self.0.mode.into()
    }

    /// More links than this hold a comment (WordPress's default, 2).
    async fn max_links(&self) -> i32 {
        i32::try_from(self.0.max_links).unwrap_or(i32::MAX)
    }

    /// Words or phrases that hold a comment: whole words, any case or accent.
    async fn hold_words(&self) -> &[String] {
        &self.0.hold_words
    }

    /// Words or phrases that hide a comment.
    async fn block_words(&self) -> &[String] {
        &self.0.block_words
    }

    /// Email domains (with their subdomains) whose comments are hidden.
    async fn blocked_email_domains(&self) -> &[String] {
        &self.0.blocked_email_domains
    }

    /// Under pre-moderation, approve at once a comment whose author proves
    /// (with the author token of an earlier comment, and the same email)
    /// that an earlier comment of theirs was approved.
    async fn trust_returning_authors(&self) -> bool {
        self.0.trust_returning_authors
    }

    /// Days after an article's creation when it closes for comments, for
    /// articles without their own value; 0 never.
    async fn close_after_days(&self) -> i32 {
        self.0
            .close_after_days
            .map_or(0, |days| i32::try_from(days).unwrap_or(i32::MAX))
    }

    /// Minutes during which an author may edit or withdraw a comment.
    async fn edit_window_minutes(&self) -> i32 {
        i32::try_from(self.0.edit_window_minutes).unwrap_or(i32::MAX)
    }
}

/// A change to the moderation settings: fields left out keep their value.
#[derive(InputObject)]
pub struct ModerationSettingsInput {
    pub mode: Option<ModerationMode>,
    /// 0–1000.
    pub max_links: Option<i64>,
    /// Replaces the list; at most 500 entries of at most 100 characters.
    pub hold_words: Option<Vec<String>>,
    /// Replaces the list; at most 500 entries of at most 100 characters.
    pub block_words: Option<Vec<String>>,
    /// Replaces the list; at most 500 domain names.
    pub blocked_email_domains: Option<Vec<String>>,
    pub trust_returning_authors: Option<bool>,
    /// 0 turns closing off.
    pub close_after_days: Option<i64>,
    /// 0–1440; 0 turns editing off.
    pub edit_window_minutes: Option<i64>,
}

impl From<ModerationSettingsInput> for SettingsChange {
    fn from(input: ModerationSettingsInput) -> Self {
        Self {
            mode: input.mode.map(Into::into),
            max_links: input.max_links,
            hold_words: input.hold_words,
            block_words: input.block_words,
            blocked_email_domains: input.blocked_email_domains,
            trust_returning_authors: input.trust_returning_authors,
            close_after_days: input.close_after_days,
            edit_window_minutes: input.edit_window_minutes,
        }
    }
}

/// A banned author. The email is never shown here: moderators see it on
/// the example comment.
pub struct Ban(pub BanView);

#[Object]
impl Ban {
    async fn id(&self) -> ID {
        ID(self.0.ban.id.to_string())
    }

    /// Who banned the author.
    async fn moderator(&self) -> ModeratorRef {
        ModeratorRef {
            id: ID(self.0.ban.moderator_id.to_string()),
            name: self.0.moderator_name.clone().unwrap_or_default(),
        }
    }

    async fn reason(&self) -> Option<&str> {
        self.0.ban.reason.as_deref()
    }

    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.ban.created_at)
    }

    /// The comment the ban was made from; null once it is deleted.
    async fn example_comment(&self) -> Option<Comment> {
        self.0.example.clone().map(Comment::from)
    }
}

/// A moderator as the log and the bans name them (removed ones included).
#[derive(SimpleObject)]
pub struct ModeratorRef {
    pub id: ID,
    pub name: String,
}

/// A page of bans, newest first.
pub struct BanConnection(pub Page<BanView>);

#[Object]
impl BanConnection {
    async fn nodes(&self) -> Vec<Ban> {
        self.0.items.iter().cloned().map(Ban).collect()
    }

    async fn edges(&self) -> Vec<BanEdge> {
        self.0
            .items
            .iter()
            .cloned()
            .map(|view| BanEdge {
                cursor: ban_cursor(&view),
                node: Ban(view),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            has_previous_page: self.0.has_previous_page,
            start_cursor: self.0.items.first().map(ban_cursor),
            end_cursor: self.0.items.last().map(ban_cursor),
        }
    }
}

fn ban_cursor(view: &BanView) -> String {
    Cursor {
        created_at: view.ban.created_at,
        id: view.ban.id,
    }
    .encode()
}

/// A ban and the cursor to continue after it.
#[derive(SimpleObject)]
pub struct BanEdge {
    pub cursor: String,
    pub node: Ban,
}

/// What `moderateComments` does to each comment.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "BulkAction")]
pub enum BulkModerationAction {
    Approve,
    Hide,
    Delete,
}

/// What became of one id.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkModerationOutcome {
    Done,
    /// No comment has this id (or it was not a valid id).
    NotFound,
}

/// The result for one id of `moderateComments`, in the order given.
#[derive(SimpleObject)]
pub struct BulkModerationResult {
    pub id: ID,
    pub outcome: BulkModerationOutcome,
    /// The comment as it is now; null when not found or deleted.
    pub comment: Option<Comment>,
}

impl BulkModerationResult {
    pub fn new(id: String, outcome: BulkOutcome, action: BulkAction) -> Self {
        match outcome {
            BulkOutcome::Done(comment) => Self {
                id: ID(id),
                outcome: BulkModerationOutcome::Done,
                comment: (action != BulkAction::Delete).then(|| Comment::from(*comment)),
            },
            BulkOutcome::NotFound => Self {
                id: ID(id),
                outcome: BulkModerationOutcome::NotFound,
                comment: None,
            },
        }
    }
}

/// The actions the moderation log records.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Action")]
pub enum ModerationLogAction {
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
    /// By the comment's author, within the edit window.
    EditComment,
    /// By the comment's author, within the edit window.
    WithdrawComment,
    /// By Parley: a comment hidden for longer than the retention period
    /// (`--retention-days`), erased as `deleteComment` erases it.
    EraseExpired,
}

/// One entry of the moderation log.
pub struct ModerationLogEntry(pub LogEntry);

#[Object]
impl ModerationLogEntry {
    async fn id(&self) -> ID {
        ID(self.0.row.id.to_string())
    }

    async fn action(&self) -> Option<ModerationLogAction> {
        self.0.action.map(Into::into)
    }

    /// Who acted; null when the comment's author did (an edit or
    /// withdrawal), or Parley (`ERASE_EXPIRED`).
    async fn moderator(&self) -> Option<ModeratorRef> {
        self.0.moderator.as_ref().map(|(id, name)| ModeratorRef {
            id: ID(id.to_string()),
            name: name.clone(),
        })
    }

    /// The comment acted on, by id (it may since have been deleted).
    async fn comment_id(&self) -> Option<ID> {
        self.0.row.comment_id.map(|id| ID(id.to_string()))
    }

    /// The article of the comment or the article acted on.
    async fn article_slug(&self) -> Option<&str> {
        self.0.article_slug.as_deref()
    }

    /// The moderator account acted on, for account changes.
    async fn account_id(&self) -> Option<ID> {
        self.0.row.account_id.map(|id| ID(id.to_string()))
    }

    async fn reason(&self) -> Option<&str> {
        self.0.row.reason.as_deref()
    }

    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.row.created_at)
    }
}

/// A page of the moderation log, newest first.
pub struct ModerationLogConnection(pub Page<LogEntry>);

fn log_cursor(entry: &LogEntry) -> String {
    Cursor {
        created_at: entry.row.created_at,
        id: entry.row.id,
    }
    .encode()
}

#[Object]
impl ModerationLogConnection {
    async fn nodes(&self) -> Vec<ModerationLogEntry> {
        self.0
            .items
            .iter()
            .cloned()
            .map(ModerationLogEntry)
            .collect()
    }

    async fn edges(&self) -> Vec<ModerationLogEdge> {
        self.0
            .items
            .iter()
            .cloned()
            .map(|entry| ModerationLogEdge {
                cursor: log_cursor(&entry),
                node: ModerationLogEntry(entry),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            has_previous_page: self.0.has_previous_page,
            start_cursor: self.0.items.first().map(log_cursor),
            end_cursor: self.0.items.last().map(log_cursor),
        }
    }
}

/// An entry of the log and the cursor to continue after it.
#[derive(SimpleObject)]
pub struct ModerationLogEdge {
    pub cursor: String,
    pub node: ModerationLogEntry,
}

/// Comments by status.
#[derive(SimpleObject)]
pub struct ModerationCounts {
    pub pending: i32,
    pub approved: i32,
    pub hidden: i32,
}

impl From<Counts> for ModerationCounts {
    fn from(counts: Counts) -> Self {
        let int = super::comment::saturating_i32;
        Self {
            pending: int(counts.pending),
            approved: int(counts.approved),
            hidden: int(counts.hidden),
        }
    }
}

/// How a comment moved in the moderation queue.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "QueueChange")]
pub enum ModerationQueueChange {
    /// Posted and not approved at once: PENDING, or HIDDEN by the rules.
    Added,
    /// Changed by its author within the edit window.
    Edited,
    Approved,
    Hidden,
    /// Deleted by a moderator or withdrawn by its author. The comment comes
    /// erased: its id, article, status and time, with an empty name and
    /// body and no email.
    Deleted,
}

/// A move in the moderation queue, with the comment as it was then.
#[derive(SimpleObject)]
pub struct ModerationQueueEvent {
    pub change: ModerationQueueChange,
    pub comment: Comment,
}

impl From<QueueEvent> for ModerationQueueEvent {
    fn from(event: QueueEvent) -> Self {
        Self {
            change: event.change.into(),
            comment: Comment::from(event.comment),
        }
    }
}
