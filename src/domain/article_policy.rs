//! What an article's own settings change of the site's: its moderation
//! mode, and when it closes for comments (`closeAfterDays` after its
//! creation, the article's own value first, then the site's; 0 never).

use super::ModerationMode;
use super::moderation_settings::Settings;
use crate::store::entities::article;

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// The moderation mode of new comments on this article.
pub fn mode_of(article: &article::Model, settings: &Settings) -> ModerationMode {
    article.moderation_mode.unwrap_or(settings.mode)
}

/// Whether a returning author's proof can approve a comment here: only
/// under pre-moderation, and only when the site trusts returning authors.
pub fn trusts(settings: &Settings, article: &article::Model) -> bool {
    settings.trust_returning_authors && mode_of(article, settings) == ModerationMode::Pre
}

/// Days after creation when this article closes, if it does.
pub fn close_after_days(article: &article::Model, settings: &Settings) -> Option<u32> {
    match article.close_after_days {
        Some(days) => u32::try_from(days).ok().filter(|days| *days > 0),
        None => settings.close_after_days,
    }
}

/// When this article closes for comments, in microseconds since the Unix
/// epoch, if it does.
pub fn closes_at(article: &article::Model, settings: &Settings) -> Option<i64> {
    close_after_days(article, settings).map(|days| {
        article
            .created_at
            .saturating_add(i64::from(days).saturating_mul(MICROS_PER_DAY))
    })
}

/// When an article open at `now` closes by the clock alone, if it does:
/// until then, an answer saying it is open holds.
pub fn open_until(article: &article::Model, settings: &Settings, now: i64) -> Option<i64> {
    closes_at(article, settings).filter(|at| article.comments_open && now < *at)
}

/// Whether readers may post to this article at `now`.
pub fn comments_open(article: &article::Model, settings: &Settings, now: i64) -> bool {
    article.comments_open && closes_at(article, settings).is_none_or(|at| now < at)
}
