//! Bringing comments in from elsewhere (a WordPress or Disqus export, or
//! Parley's own) and out again ([`parley::export`]).
//!
//! Each format's reader (`wordpress`, `disqus`, `parley`) turns its file
//! into [`SourceArticle`]s and [`SourceComment`]s, streaming it; the
//! [`Importer`] holds the rules they share. A comment is checked as a
//! posted one is (name, email and body parsed by their own types) and
//! stored as a posted one is (formatted HTML, counts kept), with the status
//! its source gave it rather than the moderation rules' verdict. Ids are
//! derived from the source's own, so a second run of the same import finds
//! every comment already there and adds nothing. Writes go in batches, one
//! transaction each: a failure leaves whole batches behind, never half a
//! comment. An invalid comment is skipped and counted with its reason.

pub mod disqus;
mod html_text;
pub mod parley;
pub mod wordpress;
mod xml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use sea_orm::DatabaseTransaction;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::email_privacy::Sealing;
use crate::events::CommentEvents;
use crate::store::entities::{article, comment};
use crate::store::{Store, articles, comments, now_micros};

use super::formatting;
use super::{ArticleSlug, ArticleTitle, ArticleUrl, AuthorName, CommentBody, CommentStatus, Email};

/// Comments written per transaction.
const BATCH: usize = 500;

/// Where a comment or article comes from: a WordPress site (by its URL), a
/// Disqus forum, or a Parley export, whose ids are kept as they are.
#[derive(Debug, Clone)]
pub enum Origin {
    Derived { format: &'static str, site: String },
    Kept,
}

impl Origin {
    /// The id a source's comment gets here: the same on every run, and
    /// different for every site and format (a v8 UUID from a SHA-256).
    fn comment_id(&self, source_id: &str) -> Option<Uuid> {
        match self {
            Self::Derived { format, site } => Some(derived_id(format, site, source_id)),
            Self::Kept => Uuid::parse_str(source_id).ok(),
        }
    }
}

fn derived_id(format: &str, site: &str, source_id: &str) -> Uuid {
    let mut hash = Sha256::new();
    for part in ["parley-import", format, site, source_id] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// An article as a source describes it.
#[derive(Debug, Clone, Default)]
pub struct SourceArticle {
    /// An id the source may give (kept for Parley's own exports).
    pub id: Option<Uuid>,
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub comments_open: bool,
    /// Microseconds since the Unix epoch, if the source says.
    pub created_at: Option<i64>,
    /// The rest of a Parley article, kept when re-importing an export.
    pub kept: Option<article::Model>,
}

/// A comment as a source describes it, before any check.
#[derive(Debug, Clone)]
pub struct SourceComment {
    /// The source's id for it.
    pub source_id: String,
    /// The source's id for the comment it replies to.
    pub parent_source_id: Option<String>,
    pub author_name: String,
    pub author_email: String,
    /// Plain text (Markdown, as a reader would type it).
    pub body: String,
    /// Microseconds since the Unix epoch; `None` when the source's date
    /// could not be read.
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub status: CommentStatus,
    /// The moderation rules' reasons as stored, for Parley's own exports.
    pub moderation_reasons: Option<String>,
}

/// Why something in a source was not imported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// A WordPress comment in the trash.
    Trash,
    /// A Disqus post deleted by its author or a moderator.
    Deleted,
    /// A pingback or trackback, left out unless asked for.
    Pingback,
    /// Already here from an earlier run.
    AlreadyImported,
    /// A comment on a thread the export does not describe.
    UnknownThread,
    /// The article could not be made (its slug is not valid).
    InvalidArticle(String),
    /// A value failed its check: what, and why.
    Invalid { what: &'static str, why: String },
    /// A moderator account whose email another account here has.
    EmailTaken,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Trash => f.write_str("in the trash"),
            Self::Deleted => f.write_str("deleted"),
            Self::Pingback => f.write_str("pingback or trackback (--include-pingbacks takes them)"),
            Self::AlreadyImported => f.write_str("already imported"),
            Self::UnknownThread => f.write_str("on a thread the export does not describe"),
            Self::InvalidArticle(why) => write!(f, "article not valid: {why}"),
            Self::Invalid { what, why } => write!(f, "{what} not valid: {why}"),
            Self::EmailTaken => f.write_str("moderator email already used by another account"),
        }
    }
}

/// What an import did, counted.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub articles_created: u64,
    pub articles_found: u64,
    /// Comments stored, by status.
    pub comments: BTreeMap<&'static str, u64>,
    /// Replies whose parent was skipped or absent, stored under the nearest
    /// ancestor that was imported (or at the top of the thread).
    pub moved_up: u64,
    pub moderators: u64,
    pub audit_entries: u64,
    /// Items left out, by what they are and why.
    pub skipped: BTreeMap<(&'static str, Skip), u64>,
}

impl Summary {
    /// Comments stored so far.
    pub fn comments_imported(&self) -> u64 {
        self.comments.values().sum()
    }

    /// Items left out so far.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    fn skip(&mut self, kind: &'static str, reason: Skip) {
        *self.skipped.entry((kind, reason)).or_default() += 1;
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses: Vec<String> = self
            .comments
            .iter()
            .map(|(status, n)| format!("{n} {}", status.to_lowercase()))
            .collect();
        writeln!(
            f,
            "Imported {} comments ({}) on {} articles ({} new, {} already here).",
            self.comments_imported(),
            if statuses.is_empty() {
                "none".to_owned()
            } else {
                statuses.join(", ")
            },
            self.articles_created + self.articles_found,
            self.articles_created,
            self.articles_found,
        )?;
        if self.moderators > 0 || self.audit_entries > 0 {
            writeln!(
                f,
                "Imported {} moderator accounts and {} audit log entries.",
                self.moderators, self.audit_entries
            )?;
        }
        if self.moved_up > 0 {
            writeln!(
                f,
                "{} replies moved up: the comment they answer was not imported.",
                self.moved_up
            )?;
        }
        writeln!(f, "Skipped {}.", self.skipped_total())?;
        for ((kind, reason), n) in &self.skipped {
            writeln!(f, "  {n} {kind}: {reason}")?;
        }
        Ok(())
    }
}

/// A comment checked and ready to store, waiting perhaps for its parent.
struct Ready {
    row: comment::Model,
    /// Whether it no longer hangs where its source put it.
    moved: bool,
}

/// Writes what the readers find, in batches, and counts it.
pub struct Importer<'a> {
    store: &'a Store,
    sealing: &'a Sealing,
    events: CommentEvents,
    origin: Origin,
    txn: Option<DatabaseTransaction>,
    in_batch: usize,
    /// Comments stored or found in the open batch.
    present: HashSet<Uuid>,
    /// Replies whose parent has not come yet, by the parent's id.
    waiting: HashMap<Uuid, Vec<Ready>>,
    /// Skipped comments, with the parent their replies move up to.
    skipped: HashMap<Uuid, Option<Uuid>>,
    /// Approved comments added in the open batch, per article and parent.
    article_counts: HashMap<Uuid, i64>,
    reply_counts: HashMap<Uuid, i64>,
    /// Articles met so far, by slug.
    articles: HashMap<String, Uuid>,
    summary: Summary,
}

impl<'a> Importer<'a> {
    pub fn new(store: &'a Store, sealing: &'a Sealing, origin: Origin) -> Self {
        Self {
            store,
            sealing,
            events: CommentEvents::standalone(),
            origin,
            txn: None,
            in_batch: 0,
            present: HashSet::new(),
            waiting: HashMap::new(),
            skipped: HashMap::new(),
            article_counts: HashMap::new(),
            reply_counts: HashMap::new(),
            articles: HashMap::new(),
            summary: Summary::default(),
        }
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Counts an item left out before it reached the importer.
    pub fn skip(&mut self, kind: &'static str, reason: Skip) {
        self.summary.skip(kind, reason);
    }

    /// Counts a comment left out before it reached the importer, so that
    /// its replies move up past it.
    pub fn skip_comment(&mut self, source: &SourceComment, reason: Skip) {
        self.summary.skip("comments", reason);
        if let Some(id) = self.origin.comment_id(&source.source_id) {
            let parent = self.parent_id(source);
            self.skipped.insert(id, parent);
        }
    }

    fn parent_id(&self, source: &SourceComment) -> Option<Uuid> {
        source
            .parent_source_id
            .as_deref()
            .and_then(|parent| self.origin.comment_id(parent))
    }

    /// The open batch's transaction, begun if need be.
    async fn txn(&mut self) -> anyhow::Result<&DatabaseTransaction> {
        if self.txn.is_none() {
            self.txn = Some(self.store.begin_write().await?);
        }
        self.txn
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no open transaction"))
    }

    /// The article a source describes, made unless one with its slug is
    /// here (which is then left as it is); its id, or why it cannot be.
    pub async fn article(&mut self, source: SourceArticle) -> anyhow::Result<Result<Uuid, Skip>> {
        let slug = match ArticleSlug::parse(&source.slug) {
            Ok(slug) => slug,
            Err(err) => return Ok(Err(Skip::InvalidArticle(err.message()))),
        };
        if let Some(id) = self.articles.get(slug.as_str()) {
            return Ok(Ok(*id));
        }
        let txn = self.txn().await?;
        if let Some(found) = articles::find_by_slug(txn, slug.as_str()).await? {
            self.summary.articles_found += 1;
            self.articles.insert(found.slug, found.id);
            return Ok(Ok(found.id));
        }
        let now = now_micros();
        let title = ArticleTitle::parse(&source.title)
            .or_else(|_| ArticleTitle::parse(slug.as_str()))
            .map(ArticleTitle::into_inner)
            .unwrap_or_else(|_| slug.as_str().to_owned());
        let url = source
            .url
            .as_deref()
            .and_then(|url| ArticleUrl::parse(url).ok())
            .map(ArticleUrl::into_inner);
        let created_at = source.created_at.unwrap_or(now);
        let model = match source.kept {
            Some(kept) => article::Model {
                slug: slug.as_str().to_owned(),
                title,
                url,
                approved_comment_count: 0,
                ..kept
            },
            None => article::Model {
                id: source.id.unwrap_or_else(Uuid::now_v7),
                slug: slug.as_str().to_owned(),
                title,
                url,
                comments_open: source.comments_open,
                created_at,
                updated_at: created_at,
                approved_comment_count: 0,
                moderation_mode: None,
                close_after_days: None,
            },
        };
        let id = model.id;
        articles::insert_if_absent(txn, model).await?;
        self.summary.articles_created += 1;
        self.articles.insert(slug.as_str().to_owned(), id);
        Ok(Ok(id))
    }

    /// Checks a comment on `article` and stores it, now or once the
    /// comment it answers has come; or counts why it is left out.
    pub async fn comment(&mut self, article: Uuid, source: SourceComment) -> anyhow::Result<()> {
        let Some(id) = self.origin.comment_id(&source.source_id) else {
            self.summary.skip(
                "comments",
                Skip::Invalid {
                    what: "id",
                    why: "not a UUID".to_owned(),
                },
            );
            return Ok(());
        };
        let parent = self.parent_id(&source);
        let row = match check(self.sealing, id, article, parent, source) {
            Ok(row) => row,
            Err(reason) => {
                self.summary.skip("comments", reason);
                self.skipped.insert(id, parent);
                // Replies already waiting for it move up past it.
                if let Some(replies) = self.waiting.remove(&id) {
                    for mut reply in replies {
                        reply.row.parent_id = parent;
                        reply.moved = true;
                        Box::pin(self.place(reply)).await?;
                    }
                }
                return Ok(());
            }
        };
        self.place(Ready { row, moved: false }).await?;
        if self.in_batch >= BATCH {
            self.commit().await?;
        }
        Ok(())
    }

    /// Stores a comment whose parent is here, or sets it aside until its
    /// parent comes; then the replies that were waiting for it.
    async fn place(&mut self, first: Ready) -> anyhow::Result<()> {
        let mut queue = vec![first];
        while let Some(mut ready) = queue.pop() {
            // Past skipped ancestors, to the nearest that may be here; a
            // source whose skipped comments answer each other in a circle
            // leaves the reply at the top.
            let mut steps = 0;
            while let Some(parent) = ready.row.parent_id {
                let Some(grandparent) = self.skipped.get(&parent) else {
                    break;
                };
                steps += 1;
                ready.row.parent_id = if steps > self.skipped.len() {
                    None
                } else {
                    *grandparent
                };
                ready.moved = true;
            }
            if let Some(parent) = ready.row.parent_id {
                let here = self.present.contains(&parent)
                    || comments::exists(self.txn().await?, parent).await?;
                if !here {
                    self.waiting.entry(parent).or_default().push(ready);
                    continue;
                }
            }
            let id = ready.row.id;
            self.store_row(ready).await?;
            if let Some(replies) = self.waiting.remove(&id) {
                queue.extend(replies);
            }
        }
        Ok(())
    }

    async fn store_row(&mut self, ready: Ready) -> anyhow::Result<()> {
        let Ready { row, moved } = ready;
        let (id, article, parent, status) = (row.id, row.article_id, row.parent_id, row.status);
        let inserted = comments::insert_if_absent(self.txn().await?, row).await?;
        self.present.insert(id);
        self.in_batch += 1;
        if !inserted {
            self.summary.skip("comments", Skip::AlreadyImported);
            return Ok(());
        }
        *self.summary.comments.entry(status.as_str()).or_default() += 1;
        if moved {
            self.summary.moved_up += 1;
        }
        if status == CommentStatus::Approved {
            *self.article_counts.entry(article).or_default() += 1;
            if let Some(parent) = parent {
                *self.reply_counts.entry(parent).or_default() += 1;
            }
        }
        Ok(())
    }

    /// Ends a thread whose comments all came together (a WordPress post):
    /// replies still waiting for a parent that never came go to the top.
    pub async fn end_thread(&mut self) -> anyhow::Result<()> {
        self.settle_waiting().await?;
        self.skipped.clear();
        Ok(())
    }

    async fn settle_waiting(&mut self) -> anyhow::Result<()> {
        let waiting: Vec<Ready> = self.waiting.drain().flat_map(|(_, r)| r).collect();
        for mut ready in waiting {
            ready.row.parent_id = None;
            ready.moved = true;
            self.place(ready).await?;
        }
        Ok(())
    }

    /// Writes the counts of the open batch and commits it, telling every
    /// other instance on the database that anything may have changed.
    async fn commit(&mut self) -> anyhow::Result<()> {
        let Some(txn) = self.txn.take() else {
            return Ok(());
        };
        for (article, delta) in self.article_counts.drain() {
            comments::add_to_comment_count(&txn, article, delta).await?;
        }
        for (parent, delta) in self.reply_counts.drain() {
            comments::add_to_reply_count(&txn, parent, delta).await?;
        }
        let mut news = self.events.news();
        news.site();
        news.announce(&txn).await?;
        txn.commit().await?;
        news.publish();
        self.present.clear();
        self.in_batch = 0;
        Ok(())
    }

    /// The transaction of the open batch, for the other rows an import
    /// writes (Parley's accounts and audit log).
    pub async fn write_txn(&mut self) -> anyhow::Result<&DatabaseTransaction> {
        self.in_batch += 1;
        self.txn().await
    }

    /// Counts another row written through [`Importer::write_txn`], and
    /// commits when the batch is full.
    pub async fn wrote(&mut self) -> anyhow::Result<()> {
        if self.in_batch >= BATCH {
            self.commit().await?;
        }
        Ok(())
    }

    pub fn summary_mut(&mut self) -> &mut Summary {
        &mut self.summary
    }

    /// Settles what is still waiting and commits the last batch.
    pub async fn finish(mut self) -> anyhow::Result<Summary> {
        self.settle_waiting().await?;
        self.commit().await?;
        Ok(self.summary)
    }
}

/// A source's comment checked as a posted one is, and made into a row.
fn check(
    sealing: &Sealing,
    id: Uuid,
    article: Uuid,
    parent: Option<Uuid>,
    source: SourceComment,
) -> Result<comment::Model, Skip> {
    let invalid = |what| {
        move |err: crate::error::AppError| Skip::Invalid {
            what,
            why: err.message(),
        }
    };
    let name = AuthorName::parse(&source.author_name).map_err(invalid("name"))?;
    let email = Email::parse(&source.author_email).map_err(invalid("email"))?;
    let body = CommentBody::parse(&source.body).map_err(invalid("body"))?;
    let created_at = source.created_at.ok_or_else(|| Skip::Invalid {
        what: "date",
        why: "missing or not a date".to_owned(),
    })?;
    let formatted = formatting::format(body.as_str());
    let sealed = sealing.seal(id, email.as_str());
    Ok(comment::Model {
        id,
        article_id: article,
        parent_id: parent,
        author_name: name.into_inner(),
        author_email: sealed.value,
        body: body.into_inner(),
        status: source.status,
        created_at,
        updated_at: source.updated_at.unwrap_or(created_at),
        approved_reply_count: 0,
        moderation_reasons: source.moderation_reasons.unwrap_or_else(|| "[]".to_owned()),
        body_html: Some(formatted.html),
        author_key: None,
        email_key_id: Some(sealed.key_id),
        email_index: Some(sealed.index),
        // The retention period counts from the import.
        hidden_at: (source.status == CommentStatus::Hidden).then(now_micros),
        notify_replies: false,
        reply_notified: false,
    })
}

/// A time as the sources write it: RFC 3339 (`2024-05-01T10:00:00Z`) or
/// WordPress's `2024-05-01 10:00:00` (taken as UTC); in microseconds.
pub(crate) fn parse_time(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Some(time.timestamp_micros());
    }
    let time = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(time.and_utc().timestamp_micros())
}

/// The slug of an article at `link`: the link's path without its outer
/// slashes (`https://blog.example/2024/05/hello/` gives `2024/05/hello`),
/// or `None` for a link without a path.
pub(crate) fn slug_from_link(link: &str) -> Option<String> {
    let url = url::Url::parse(link.trim()).ok()?;
    let path = url.path().trim_matches('/');
    (!path.is_empty()).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_differ_by_site_and_format() {
        let a = derived_id("wordpress", "https://a.example", "7");
        assert_eq!(a, derived_id("wordpress", "https://a.example", "7"));
        assert_ne!(a, derived_id("wordpress", "https://b.example", "7"));
        assert_ne!(a, derived_id("disqus", "https://a.example", "7"));
        assert_ne!(a, derived_id("wordpress", "https://a.example", "8"));
    }

    #[test]
    fn times_are_read_in_both_shapes() {
        assert_eq!(parse_time("1970-01-01 00:00:01"), Some(1_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_time("0000-00-00 00:00:00"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn slugs_are_link_paths() {
        assert_eq!(
            slug_from_link("https://blog.example/2024/05/hello/").as_deref(),
            Some("2024/05/hello")
        );
        assert_eq!(slug_from_link("https://blog.example/?p=12"), None);
        assert_eq!(slug_from_link("not a link"), None);
    }
}
