//! The site-wide moderation settings: stored in the database, changed at
//! run time by admins (audited), read by every post.
//!
//! Every instance keeps the settings it last read, tagged with the site's
//! generation in `events` at the time. Changing them announces a site-wide
//! change (PostgreSQL `NOTIFY` to the other instances), which moves that
//! generation on everywhere, so the next post reads them again; changes to
//! comments and articles leave it alone.
//! While the change feed is down nothing is kept: each read goes to the
//! database.

use std::sync::{Arc, Mutex};

use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Field};
use crate::events::CommentEvents;
use crate::store::entities::moderation_settings as stored;
use crate::store::{Store, now_micros, settings};

use super::ModerationMode;
use super::audit::{self, Action, Subject};

/// The defaults, and where each comes from.
pub mod defaults {
    /// WordPress's `comment_max_links`.
    pub const MAX_LINKS: u32 = 2;
    /// WordPress's "comment author must have a previously approved comment".
    pub const TRUST_RETURNING_AUTHORS: bool = true;
    /// Isso's 15 minutes (Remark42 allows 5).
    pub const EDIT_WINDOW_MINUTES: u32 = 15;
}

/// The most entries a word or domain list may hold.
pub const MAX_LIST_ENTRIES: usize = 500;
/// The longest word or phrase in a list.
pub const MAX_WORD_CHARS: usize = 100;
pub const MAX_LINKS_LIMIT: u32 = 1000;
pub const MAX_CLOSE_AFTER_DAYS: u32 = 36_500;
pub const MAX_EDIT_WINDOW_MINUTES: u32 = 24 * 60;

/// The rules every post is judged by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: ModerationMode,
    /// More links than this hold a comment.
    pub max_links: u32,
    /// Words or phrases that hold a comment (whole words, any case or accent).
    pub hold_words: Vec<String>,
    /// Words or phrases that hide a comment.
    pub block_words: Vec<String>,
    /// Email domains (and their subdomains) whose comments are hidden.
    pub blocked_email_domains: Vec<String>,
    /// Under pre-moderation, approve at once an author who proves an
    /// earlier approved comment.
    pub trust_returning_authors: bool,
    /// Days after its creation when an article closes; `None` never.
    pub close_after_days: Option<u32>,
    /// Minutes during which an author may edit or withdraw a comment.
    pub edit_window_minutes: u32,
}

impl Settings {
    /// The settings of a new installation, in the mode the server was
    /// started with (`PARLEY_MODERATION`).
    pub fn initial(mode: ModerationMode) -> Self {
        Self {
            mode,
            max_links: defaults::MAX_LINKS,
            hold_words: Vec::new(),
            block_words: Vec::new(),
            blocked_email_domains: Vec::new(),
            trust_returning_authors: defaults::TRUST_RETURNING_AUTHORS,
            close_after_days: None,
            edit_window_minutes: defaults::EDIT_WINDOW_MINUTES,
        }
    }

    fn from_stored(row: stored::Model) -> AppResult<Self> {
        let list = |raw: &str| -> AppResult<Vec<String>> {
            serde_json::from_str(raw).map_err(|err| AppError::Internal(err.into()))
        };
        Ok(Self {
            mode: row.mode,
            max_links: u32::try_from(row.max_links).unwrap_or(0),
            hold_words: list(&row.hold_words)?,
            block_words: list(&row.block_words)?,
            blocked_email_domains: list(&row.blocked_email_domains)?,
            trust_returning_authors: row.trust_returning_authors,
            close_after_days: row.close_after_days.and_then(|d| u32::try_from(d).ok()),
            edit_window_minutes: u32::try_from(row.edit_window_minutes).unwrap_or(0),
        })
    }

    fn to_stored(&self, updated_at: i64) -> AppResult<stored::Model> {
        let list = |words: &[String]| -> AppResult<String> {
            serde_json::to_string(words).map_err(|err| AppError::Internal(err.into()))
        };
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(stored::Model {
            id: settings::ROW_ID,
            mode: self.mode,
            max_links: int(self.max_links),
            hold_words: list(&self.hold_words)?,
            block_words: list(&self.block_words)?,
            blocked_email_domains: list(&self.blocked_email_domains)?,
            trust_returning_authors: self.trust_returning_authors,
            close_after_days: self.close_after_days.map(int),
            edit_window_minutes: int(self.edit_window_minutes),
            updated_at,
        })
    }
}

/// A change to the settings: fields left out keep their value. A
/// `close_after_days` of 0 turns closing off.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub mode: Option<ModerationMode>,
    pub max_links: Option<i64>,
    pub hold_words: Option<Vec<String>>,
    pub block_words: Option<Vec<String>>,
    pub blocked_email_domains: Option<Vec<String>>,
    pub trust_returning_authors: Option<bool>,
    pub close_after_days: Option<i64>,
    pub edit_window_minutes: Option<i64>,
}

impl SettingsChange {
    /// `current` with this change applied, each value checked.
    fn apply(self, current: &Settings) -> AppResult<Settings> {
        let mut next = current.clone();
        if let Some(mode) = self.mode {
            next.mode = mode;
        }
        if let Some(n) = self.max_links {
            next.max_links = in_range(n, MAX_LINKS_LIMIT, Field::MaxLinks)?;
        }
        if let Some(words) = self.hold_words {
            next.hold_words = word_list(words, Field::HoldWords)?;
        }
        if let Some(words) = self.block_words {
            next.block_words = word_list(words, Field::BlockWords)?;
        }
        if let Some(domains) = self.blocked_email_domains {
            next.blocked_email_domains = domain_list(domains)?;
        }
        if let Some(trust) = self.trust_returning_authors {
            next.trust_returning_authors = trust;
        }
        if let Some(days) = self.close_after_days {
            let days = in_range(days, MAX_CLOSE_AFTER_DAYS, Field::CloseAfterDays)?;
            next.close_after_days = (days > 0).then_some(days);
        }
        if let Some(minutes) = self.edit_window_minutes {
            next.edit_window_minutes =
                in_range(minutes, MAX_EDIT_WINDOW_MINUTES, Field::EditWindowMinutes)?;
        }
        Ok(next)
    }
}

/// A whole number from 0 to `max`.
pub fn in_range(n: i64, max: u32, field: Field) -> AppResult<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| AppError::bad_input(field, format!("must be between 0 and {max}")))
}

/// Words or phrases: trimmed, blanks dropped, duplicates (in any case)
/// dropped, each at most `MAX_WORD_CHARS`.
fn word_list(words: Vec<String>, field: Field) -> AppResult<Vec<String>> {
    if words.len() > MAX_LIST_ENTRIES {
        return Err(AppError::bad_input(
            field,
            format!("at most {MAX_LIST_ENTRIES} entries"),
        ));
    }
    let mut kept: Vec<String> = Vec::new();
    for word in words {
        let word = word.split_whitespace().collect::<Vec<_>>().join(" ");
        if word.is_empty() {
            continue;
        }
        if word.chars().count() > MAX_WORD_CHARS {
            return Err(AppError::bad_input(
                field,
                format!("each entry must be at most {MAX_WORD_CHARS} characters"),
            ));
        }
        if super::moderation_rules::words_of(&word).is_empty() {
            return Err(AppError::bad_input(
                field,
                format!("\"{word}\" has no letters or digits to match"),
            ));
        }
        if !kept.iter().any(|k| k.to_lowercase() == word.to_lowercase()) {
            kept.push(word);
        }
    }
    Ok(kept)
}

/// Domain names, lower-cased, without a leading `@` or dot.
fn domain_list(domains: Vec<String>) -> AppResult<Vec<String>> {
    let field = Field::BlockedEmailDomains;
    if domains.len() > MAX_LIST_ENTRIES {
        return Err(AppError::bad_input(
            field,
            format!("at most {MAX_LIST_ENTRIES} entries"),
        ));
    }
    let mut kept: Vec<String> = Vec::new();
    for raw in domains {
        let domain = raw
            .trim()
            .trim_start_matches('@')
            .trim_start_matches('.')
            .to_lowercase();
        if domain.is_empty() {
            continue;
        }
        let valid = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(AppError::bad_input(
                field,
                format!("\"{}\" is not a domain name", raw.trim()),
            ));
        }
        if !kept.contains(&domain) {
            kept.push(domain);
        }
    }
    Ok(kept)
}

/// The settings this instance last read, and the site generation then.
#[derive(Debug, Clone, Default)]
pub struct SettingsCache(Arc<Mutex<Option<Kept>>>);

/// Settings as read at a site generation.
type Kept = (u64, Arc<Settings>);

/// Stores the initial settings unless there are settings already.
pub async fn ensure(store: &Store, mode: ModerationMode) -> AppResult<()> {
    let initial = Settings::initial(mode).to_stored(now_micros())?;
    settings::insert_if_absent(store.db(), initial).await?;
    Ok(())
}

/// The settings now in force.
pub async fn current(
    store: &Store,
    events: &CommentEvents,
    cache: &SettingsCache,
) -> AppResult<Arc<Settings>> {
    let generation = events.site_generation();
    if let Some(generation) = generation
        && let Ok(kept) = cache.0.lock()
        && let Some((kept_generation, settings)) = kept.as_ref()
        && *kept_generation == generation
    {
        return Ok(settings.clone());
    }
    let row = settings::get(store.db())
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no moderation settings stored")))?;
    let settings = Arc::new(Settings::from_stored(row)?);
    if let Some(generation) = generation
        && let Ok(mut kept) = cache.0.lock()
    {
        *kept = Some((generation, settings.clone()));
    }
    Ok(settings)
}

/// The settings, for moderators.
pub async fn read(
    store: &Store,
    events: &CommentEvents,
    cache: &SettingsCache,
    viewer: &Viewer,
) -> AppResult<Arc<Settings>> {
    viewer.require_moderator()?;
    current(store, events, cache).await
}

/// Changes the settings. Admins only; audited; in force on every instance
/// from the next post.
#[tracing::instrument(skip_all, fields(by = ?viewer.moderator_id()))]
pub async fn update(
    store: &Store,
    events: &CommentEvents,
    viewer: &Viewer,
    change: SettingsChange,
) -> AppResult<Settings> {
    let admin = viewer.require_admin_for("only admins may change the moderation settings")?;
    let txn = store.begin_write().await?;
    let row = settings::get(&txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no moderation settings stored")))?;
    let next = change.apply(&Settings::from_stored(row)?)?;
    settings::replace(&txn, next.to_stored(now_micros())?).await?;
    audit::record(
        &txn,
        audit::Actor::Moderator(admin.id),
        Action::UpdateSettings,
        Subject::Settings,
        None,
    )
    .await?;
    let mut news = events.news();
    news.site();
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    tracing::info!("moderation settings changed");
    Ok(next)
}
