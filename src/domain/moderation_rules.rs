//! The policy every new or edited comment goes through: from the settings,
//! the article's mode and what is known of the comment, it decides APPROVED,
//! PENDING or HIDDEN and says every reason that applied.
//!
//! - A banned author, a block word or a blocked email domain hides it.
//! - More links than allowed, or a hold word, holds it.
//! - Otherwise, under pre-moderation it waits, unless its author proved an
//!   earlier approved comment (and trusting returning authors is on); under
//!   post-moderation it is approved.
//!
//! Words match whole words, in any case and with or without accents
//! ("Café" matches "cafe"), in the name, the email or the body; an entry of
//! several words matches them in a row.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use super::moderation_settings::Settings;
use super::{CommentStatus, ModerationMode};

/// Why the rules decided what they did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReasonCode {
    /// The article is pre-moderated and the author is not trusted.
    PreModeration,
    Links,
    HoldWord,
    BlockWord,
    BlockedEmailDomain,
    Banned,
    /// Approved at once: the author proved an earlier approved comment.
    TrustedAuthor,
}

/// A reason, with a detail for moderators (e.g. "3 links, more than 2").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub detail: String,
}

impl Reason {
    fn new(code: ReasonCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// The reasons as stored with a comment (a JSON array).
pub fn to_stored(reasons: &[Reason]) -> String {
    serde_json::to_string(reasons).unwrap_or_else(|_| "[]".to_owned())
}

/// The reasons stored with a comment; none if they cannot be read.
pub fn from_stored(raw: &str) -> Vec<Reason> {
    serde_json::from_str(raw).unwrap_or_default()
}

/// What the rules look at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub body: &'a str,
    /// Links in the formatted body, as readers will see them.
    pub links: usize,
    pub banned: bool,
    /// The post carried the token of an earlier approved comment by the
    /// same email.
    pub proven_returning_author: bool,
}

/// The outcome for one comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: CommentStatus,
    pub reasons: Vec<Reason>,
}

/// Decides a comment's status under `settings`, on an article moderated
/// in `mode`.
pub fn decide(settings: &Settings, mode: ModerationMode, facts: &Facts<'_>) -> Decision {
    let mut hiding = Vec::new();
    let mut holding = Vec::new();
    if facts.banned {
        hiding.push(Reason::new(ReasonCode::Banned, "the author is banned"));
    }
    if let Some(domain) = blocked_domain(&settings.blocked_email_domains, facts.email) {
        hiding.push(Reason::new(
            ReasonCode::BlockedEmailDomain,
            format!("email domain {domain} is blocked"),
        ));
    }
    let texts = [
        ("name", facts.name),
        ("email", facts.email),
        ("body", facts.body),
    ];
    let words: Vec<(&str, Words)> = texts
        .iter()
        .map(|(field, text)| (*field, Words::of(text)))
        .collect();
    for (found, field) in matches(&settings.block_words, &words) {
        hiding.push(Reason::new(
            ReasonCode::BlockWord,
            format!("\"{found}\" in the {field}"),
        ));
    }
    if facts.links > settings.max_links as usize {
        holding.push(Reason::new(
            ReasonCode::Links,
            format!(
                "{} link{}, more than {}",
                facts.links,
                if facts.links == 1 { "" } else { "s" },
                settings.max_links
            ),
        ));
    }
    for (found, field) in matches(&settings.hold_words, &words) {
        holding.push(Reason::new(
            ReasonCode::HoldWord,
            format!("\"{found}\" in the {field}"),
        ));
    }
    let status = if !hiding.is_empty() {
        CommentStatus::Hidden
    } else if !holding.is_empty() {
        CommentStatus::Pending
    } else if mode == ModerationMode::Pre {
        if settings.trust_returning_authors && facts.proven_returning_author {
            holding.push(Reason::new(
                ReasonCode::TrustedAuthor,
                "approved at once: the author has an approved comment",
            ));
            CommentStatus::Approved
        } else {
            holding.push(Reason::new(
                ReasonCode::PreModeration,
                "comments wait for a moderator on this article",
            ));
            CommentStatus::Pending
        }
    } else {
        CommentStatus::Approved
    };
    hiding.extend(holding);
    Decision {
        status,
        reasons: hiding,
    }
}

/// The listed domain the email's domain is, or is under.
fn blocked_domain<'a>(domains: &'a [String], email: &str) -> Option<&'a str> {
    let domain = email.rsplit_once('@')?.1.to_lowercase();
    let domain = domain.trim_end_matches('.');
    domains
        .iter()
        .find(|blocked| {
            domain == blocked.as_str()
                || domain
                    .strip_suffix(blocked.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
        .map(String::as_str)
}

/// Every listed entry found, with the first field it was found in.
fn matches<'a>(
    entries: &'a [String],
    texts: &[(&'static str, Words)],
) -> Vec<(&'a str, &'static str)> {
    entries
        .iter()
        .filter_map(|entry| {
            let wanted = words_of(entry);
            texts
                .iter()
                .find(|(_, words)| words.contains(&wanted))
                .map(|(field, _)| (entry.as_str(), *field))
        })
        .collect()
}

/// The words of a text, folded for matching: compatibility-decomposed,
/// marks dropped, lower-cased; anything but letters and digits separates.
pub fn words_of(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| c.general_category_group() != GeneralCategoryGroup::Mark)
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A text's words, indexed by word for quick lookups.
struct Words {
    words: Vec<String>,
    positions: HashMap<String, Vec<usize>>,
}

impl Words {
    fn of(text: &str) -> Self {
        let words = words_of(text);
        let mut positions: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, word) in words.iter().enumerate() {
            positions.entry(word.clone()).or_default().push(i);
        }
        Self { words, positions }
    }

    /// Whether `wanted` occurs as consecutive words.
    fn contains(&self, wanted: &[String]) -> bool {
        let Some(first) = wanted.first() else {
            return false;
        };
        self.positions.get(first).is_some_and(|starts| {
            starts
                .iter()
                .any(|&start| self.words.get(start..start + wanted.len()) == Some(wanted))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::initial(ModerationMode::Post)
    }

    fn facts<'a>(body: &'a str) -> Facts<'a> {
        Facts {
            name: "Ann",
            email: "ann@example.com",
            body,
            links: 0,
            banned: false,
            proven_returning_author: false,
        }
    }

    #[test]
    fn words_match_whole_words_in_any_case_or_accent() {
        let mut s = settings();
        s.hold_words = vec!["cafe".into(), "free money".into()];
        let held = decide(&s, ModerationMode::Post, &facts("Meet me at the CAFÉ."));
        assert_eq!(held.status, CommentStatus::Pending);
        assert_eq!(held.reasons[0].code, ReasonCode::HoldWord);
        assert!(held.reasons[0].detail.contains("body"));
        let phrase = decide(&s, ModerationMode::Post, &facts("get FREE   money now"));
        assert_eq!(phrase.status, CommentStatus::Pending);
        for clean in ["cafeteria food", "free of money", "decafe"] {
            assert_eq!(
                decide(&s, ModerationMode::Post, &facts(clean)).status,
                CommentStatus::Approved,
                "{clean}"
            );
        }
    }

    #[test]
    fn words_are_looked_for_in_the_name_and_email_too() {
        let mut s = settings();
        s.block_words = vec!["casino".into()];
        let mut by_email = facts("hello");
        by_email.email = "best.casino@example.com";
        let decided = decide(&s, ModerationMode::Post, &by_email);
        assert_eq!(decided.status, CommentStatus::Hidden);
        assert!(decided.reasons[0].detail.contains("email"));
    }

    #[test]
    fn blocked_domains_cover_their_subdomains_only() {
        let mut s = settings();
        s.blocked_email_domains = vec!["spam.example".into()];
        let mut f = facts("hi");
        for (email, hidden) in [
            ("a@spam.example", true),
            ("a@mx.SPAM.example", true),
            ("a@notspam.example", false),
            ("a@spam.example.org", false),
        ] {
            f.email = email;
            let status = decide(&s, ModerationMode::Post, &f).status;
            assert_eq!(status == CommentStatus::Hidden, hidden, "{email}");
        }
    }

    #[test]
    fn links_over_the_limit_hold_and_say_how_many() {
        let s = settings();
        let mut f = facts("x");
        f.links = 3;
        let decided = decide(&s, ModerationMode::Post, &f);
        assert_eq!(decided.status, CommentStatus::Pending);
        assert_eq!(decided.reasons[0].detail, "3 links, more than 2");
        f.links = 2;
        assert_eq!(
            decide(&s, ModerationMode::Post, &f).status,
            CommentStatus::Approved
        );
    }

    #[test]
    fn trust_approves_under_pre_moderation_unless_another_rule_holds() {
        let s = settings();
        let mut f = facts("hello");
        f.proven_returning_author = true;
        let trusted = decide(&s, ModerationMode::Pre, &f);
        assert_eq!(trusted.status, CommentStatus::Approved);
        assert_eq!(trusted.reasons[0].code, ReasonCode::TrustedAuthor);
        f.links = 5;
        assert_eq!(
            decide(&s, ModerationMode::Pre, &f).status,
            CommentStatus::Pending
        );
        f.links = 0;
        f.banned = true;
        assert_eq!(
            decide(&s, ModerationMode::Pre, &f).status,
            CommentStatus::Hidden
        );
        let mut off = settings();
        off.trust_returning_authors = false;
        f.banned = false;
        assert_eq!(
            decide(&off, ModerationMode::Pre, &f).status,
            CommentStatus::Pending
        );
    }

    #[test]
    fn stored_reasons_round_trip() {
        let reasons = vec![Reason::new(ReasonCode::Links, "3 links, more than 2")];
        let stored = to_stored(&reasons);
        assert_eq!(
            stored,
            r#"[{"code":"LINKS","detail":"3 links, more than 2"}]"#
        );
        assert_eq!(from_stored(&stored), reasons);
    }
}
