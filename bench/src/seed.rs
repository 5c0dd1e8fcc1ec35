//! The data every scenario reads, written through Parley's own storage
//! layer (`parley::store`: its connection, migrations, entities and
//! queries) and its moderator accounts:
//!
//! - `bench/hot`: 50 approved top-level comments; every fifth has three
//!   approved replies, the first of which has two approved replies of its
//!   own (100 comments in all, two levels of replies);
//! - `bench/article-0000` to `bench/article-0999`: 20 approved comments
//!   each, and one pending comment on every fifth (the moderation queue);
//! - `bench/long`: 100,000 approved top-level comments;
//! - one moderator account.
//!
//! Times start 40 days ago and grow by a millisecond per comment, so the
//! order of every list is fixed and every seeded comment is older than
//! anything posted during the run.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use parley::app::{Opened, open_store};
use parley::domain::accounts::{self, NewModerator};
use parley::domain::email_privacy::Sealing;
use parley::domain::{CommentStatus, ModeratorRole, formatting};
use parley::key_file::DataKeySource;
use parley::store::entities::{article, comment};
use parley::store::{Store, articles, now_micros};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

pub const HOT_SLUG: &str = "bench/hot";
pub const LONG_SLUG: &str = "bench/long";
pub const ARTICLES: usize = 1_000;
pub const PER_ARTICLE: usize = 20;
pub const HOT_TOP_LEVEL: usize = 50;
pub const LONG_COMMENTS: usize = 100_000;
pub const MODERATOR_EMAIL: &str = "moderator@bench.example";
pub const MODERATOR_PASSWORD: &str = "bench moderator password";

/// Rows per `INSERT`, and rows per transaction.
const BATCH: usize = 500;
const ROWS_PER_TRANSACTION: usize = 20_000;

pub fn article_slug(n: usize) -> String {
    format!("bench/article-{n:04}")
}

/// What seeding made, for the rest of the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seeded {
    pub moderator_id: Uuid,
    pub articles: usize,
    pub comments: usize,
    pub pending: usize,
    /// Whether the planner has statistics (`ANALYZE` ran).
    pub analyzed: bool,
    pub seconds: f64,
}

/// The data key of every benchmark database: they are made and thrown away
/// by the harness, and the servers it starts are given the same key.
pub const DATA_KEY: &str = "pdk1_Puti7AGSY1UWJ70Q7AOr6XarRICyYVrmswaDaRdyt-M";

/// The benchmark's database, opened as Parley opens it (migrated, its data
/// key checked).
async fn open(database_url: &str) -> anyhow::Result<Opened> {
    open_store(database_url, &DataKeySource::given(DATA_KEY), None).await
}

/// Seeds an empty database; with `analyze`, SQLite also gets statistics.
pub async fn seed(database_url: &str, analyze: bool) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let Opened { store, sealing } = open(database_url).await?;

    let now = now_micros();
    let mut writer = Writer {
        store: &store,
        sealing,
        txn: None,
        batch: Vec::with_capacity(BATCH),
        in_transaction: 0,
        clock: now - 40 * 24 * 3_600 * 1_000_000,
        written: 0,
        pending: 0,
        approved_in: HashMap::new(),
        replies_of: HashMap::new(),
        text: Text::new(0x5eed),
        addresses: 5_000,
    };

    let txn = store.begin_write().await?;
    let hot = new_article(&txn, HOT_SLUG, "The hot article", now).await?;
    let long = new_article(&txn, LONG_SLUG, "The long thread", now).await?;
    let mut others = Vec::with_capacity(ARTICLES);
    for n in 0..ARTICLES {
        let slug = article_slug(n);
        others.push(new_article(&txn, &slug, &format!("Article {n}"), now).await?);
    }
    txn.commit().await?;

    // The hot article: top-level comments first, then replies, then
    // replies to the first replies.
    let mut top = Vec::with_capacity(HOT_TOP_LEVEL);
    for _ in 0..HOT_TOP_LEVEL {
        top.push(writer.comment(hot, None, CommentStatus::Approved).await?);
    }
    let mut first_replies = Vec::new();
    for parent in top.iter().step_by(5) {
        for r in 0..3 {
            let reply = writer
                .comment(hot, Some(*parent), CommentStatus::Approved)
                .await?;
            if r == 0 {
                first_replies.push(reply);
            }
        }
    }
    for parent in &first_replies {
        for _ in 0..2 {
            writer
                .comment(hot, Some(*parent), CommentStatus::Approved)
                .await?;
        }
    }

    for (n, article) in others.iter().enumerate() {
        for _ in 0..PER_ARTICLE {
            writer
                .comment(*article, None, CommentStatus::Approved)
                .await?;
        }
        if n % 5 == 0 {
            writer
                .comment(*article, None, CommentStatus::Pending)
                .await?;
        }
    }

    for _ in 0..LONG_COMMENTS {
        writer.comment(long, None, CommentStatus::Approved).await?;
    }
    let (comments, pending) = writer.finish().await?;

    let moderator_id = add_moderator(&store).await?;

    let store_is_postgres = store.backend() == DbBackend::Postgres;
    // PostgreSQL: what autovacuum would do on a live database before long.
    if analyze || store_is_postgres {
        store.db().execute_unprepared("ANALYZE").await?;
    }
    store.close().await;
    Ok(Seeded {
        moderator_id,
        articles: ARTICLES + 2,
        comments,
        pending,
        analyzed: analyze || store_is_postgres,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn new_article(
    txn: &DatabaseTransaction,
    slug: &str,
    title: &str,
    now: i64,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let inserted = articles::insert_if_absent(
        txn,
        article::Model {
            id,
            slug: slug.to_owned(),
            title: title.to_owned(),
            url: Some(format!("https://news.example/{slug}")),
            comments_open: true,
            created_at: now,
            updated_at: now,
            approved_comment_count: 0,
            moderation_mode: None,
            close_after_days: None,
        },
    )
    .await?;
    anyhow::ensure!(inserted, "the article {slug} already exists");
    Ok(id)
}

/// Writes comments in multi-row `INSERT`s, many to a transaction.
struct Writer<'a> {
    store: &'a Store,
    sealing: Sealing,
    txn: Option<DatabaseTransaction>,
    batch: Vec<comment::ActiveModel>,
    in_transaction: usize,
    clock: i64,
    written: usize,
    pending: usize,
    /// The stored counts the comments add up to: approved comments per
    /// article, approved replies per comment.
    approved_in: HashMap<Uuid, i64>,
    replies_of: HashMap<Uuid, i64>,
    text: Text,
    /// Distinct author addresses the comments come from.
    addresses: usize,
}

impl Writer<'_> {
    async fn comment(
        &mut self,
        article_id: Uuid,
        parent_id: Option<Uuid>,
        status: CommentStatus,
    ) -> anyhow::Result<Uuid> {
        let id = Uuid::now_v7();
        self.clock += 1_000;
        let n = self.written;
        let body = self.text.body(n);
        let html = formatting::format(&body).html;
        let sealed = self
            .sealing
            .seal(id, &format!("reader{}@example.org", n % self.addresses));
        self.batch.push(comment::ActiveModel {
            id: Set(id),
            article_id: Set(article_id),
            parent_id: Set(parent_id),
            author_name: Set(self.text.name()),
            author_email: Set(sealed.value),
            body: Set(body),
            status: Set(status),
            created_at: Set(self.clock),
            updated_at: Set(self.clock),
            approved_reply_count: Set(0),
            moderation_reasons: Set("[]".to_owned()),
            body_html: Set(Some(html)),
            author_key: Set(None),
            email_key_id: Set(Some(sealed.key_id)),
            email_index: Set(Some(sealed.index)),
            hidden_at: Set((status == CommentStatus::Hidden).then_some(self.clock)),
            notify_replies: Set(false),
            reply_notified: Set(false),
        });
        self.written += 1;
        if status == CommentStatus::Approved {
            *self.approved_in.entry(article_id).or_default() += 1;
            if let Some(parent) = parent_id {
                *self.replies_of.entry(parent).or_default() += 1;
            }
        } else if status == CommentStatus::Pending {
            self.pending += 1;
        }
        if self.batch.len() == BATCH {
            self.flush().await?;
        }
        Ok(id)
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if self.txn.is_none() {
            self.txn = Some(self.store.begin_write().await?);
        }
        let txn = self.txn.as_ref().context("no transaction")?;
        let rows = std::mem::take(&mut self.batch);
        self.in_transaction += rows.len();
        comment::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        self.batch.reserve(BATCH);
        if self.in_transaction >= ROWS_PER_TRANSACTION
            && let Some(txn) = self.txn.take()
        {
            txn.commit().await?;
            self.in_transaction = 0;
        }
        Ok(())
    }

    /// Writes what is left, then adds the counts the comments add up to, as
    /// Parley keeps them when comments are posted and moderated one by one.
    async fn finish(mut self) -> anyhow::Result<(usize, usize)> {
        self.flush().await?;
        if let Some(txn) = self.txn.take() {
            txn.commit().await?;
        }
        let txn = self.store.begin_write().await?;
        for (article_id, count) in &self.approved_in {
            article::Entity::update_many()
                .col_expr(
                    article::Column::ApprovedCommentCount,
                    Expr::col(article::Column::ApprovedCommentCount).add(*count),
                )
                .filter(article::Column::Id.eq(*article_id))
                .exec(&txn)
                .await?;
        }
        for (comment_id, count) in &self.replies_of {
            comment::Entity::update_many()
                .col_expr(
                    comment::Column::ApprovedReplyCount,
                    Expr::col(comment::Column::ApprovedReplyCount).add(*count),
                )
                .filter(comment::Column::Id.eq(*comment_id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok((self.written, self.pending))
    }
}

/// Names and bodies of varied length, the same on every run. Some bodies
/// hold line breaks, quotes and non-ASCII letters, which JSON escapes or
/// keeps as they are.
struct Text {
    state: u64,
}

const WORDS: &[&str] = &[
    "the",
    "council",
    "vote",
    "budget",
    "would",
    "have",
    "been",
    "better",
    "if",
    "anyone",
    "had",
    "read",
    "appendix",
    "numbers",
    "school",
    "road",
    "tax",
    "mayor",
    "we",
    "finally",
    "know",
    "what",
    "this",
    "costs",
    "and",
    "who",
    "pays",
    "for",
    "it",
    "agree",
    "not",
    "sure",
    "about",
    "that",
    "last",
    "year",
    "same",
    "story",
    "again",
    "thanks",
    "reporting",
];
const NAMES: &[&str] = &[
    "Maria", "Jon", "Aiko", "Zoë", "Chidi", "Ingrid", "Mateus", "Noor", "Pavel", "Siobhán",
];

impl Text {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// xorshift64*: cheap and repeatable.
    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn name(&mut self) -> String {
        let n = self.next() as usize;
        format!("{} {}", NAMES[n % NAMES.len()], (n >> 8) % 100)
    }

    /// 40 to 600 characters.
    fn body(&mut self, n: usize) -> String {
        let target = 40 + (self.next() % 560) as usize;
        let mut body = String::with_capacity(target + 16);
        while body.len() < target {
            if !body.is_empty() {
                body.push(' ');
            }
            body.push_str(WORDS[self.next() as usize % WORDS.len()]);
        }
        match n % 10 {
            3 => body.push_str("\n\n\"Quoted,\" she said — café closed."),
            7 => body.push_str(" (see \\appendix\\)\tok"),
            _ => body.push('.'),
        }
        let mut chars = body.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

/// The articles of the growth scenario.
pub fn growth_slug(n: usize) -> String {
    format!("growth/article-{n:04}")
}

/// A post's body in the growth scenario: 40 to 600 characters, different
/// for every `run` and `n`.
pub fn growth_body(run: &str, n: u64) -> String {
    let mut text = Text::new(0x9000 + n);
    format!("{} ({run} post {n})", text.body(n as usize))
}

/// The growth scenario's empty database: the articles, no comment, and the
/// moderator.
pub async fn growth_articles(database_url: &str, slugs: &[String]) -> anyhow::Result<()> {
    let Opened { store, .. } = open(database_url).await?;
    let now = now_micros();
    let txn = store.begin_write().await?;
    for (n, slug) in slugs.iter().enumerate() {
        new_article(&txn, slug, &format!("Article {n}"), now).await?;
    }
    txn.commit().await?;
    add_moderator(&store).await?;
    store.close().await;
    Ok(())
}

/// The moderator account every scenario logs in with; its id.
async fn add_moderator(store: &Store) -> anyhow::Result<Uuid> {
    let moderator = accounts::add(
        store,
        NewModerator {
            email: MODERATOR_EMAIL.to_owned(),
            name: "Bench Moderator".to_owned(),
            role: ModeratorRole::Moderator,
            password: MODERATOR_PASSWORD.to_owned(),
        },
    )
    .await
    .map_err(|err| anyhow::anyhow!("could not create the moderator: {}", err.message()))?;
    Ok(moderator.id)
}

/// Adds `count` comments over the articles, an equal share to each, as a
/// site that has run for a while holds them: 90% approved (three in ten of
/// those replying to an earlier approved comment of the same article), 8%
/// hidden, 2% waiting; from 20,000 addresses. Older than anything posted
/// during a run.
pub async fn growth_comments(
    database_url: &str,
    slugs: &[String],
    count: usize,
) -> anyhow::Result<usize> {
    let Opened { store, sealing } = open(database_url).await?;
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let article = articles::find_by_slug(store.db(), slug)
            .await?
            .with_context(|| format!("no article {slug}"))?;
        ids.push(article.id);
    }
    let mut writer = Writer {
        store: &store,
        sealing,
        txn: None,
        batch: Vec::with_capacity(BATCH),
        in_transaction: 0,
        clock: now_micros() - 80 * 24 * 3_600 * 1_000_000,
        written: 0,
        pending: 0,
        approved_in: HashMap::new(),
        replies_of: HashMap::new(),
        text: Text::new(0x6e0),
        addresses: 20_000,
    };
    let per_article = count / ids.len().max(1);
    let mut dice = Text::new(0xd1ce);
    for (n, article) in ids.iter().enumerate() {
        let share = per_article + usize::from(n < count % ids.len().max(1));
        let mut approved: Vec<Uuid> = Vec::with_capacity(share);
        for _ in 0..share {
            let roll = dice.next() % 100;
            let status = match roll {
                0..90 => CommentStatus::Approved,
                90..98 => CommentStatus::Hidden,
                _ => CommentStatus::Pending,
            };
            let parent =
                (status == CommentStatus::Approved && !approved.is_empty() && dice.next() % 10 < 3)
                    .then(|| approved[(dice.next() % approved.len() as u64) as usize]);
            let id = writer.comment(*article, parent, status).await?;
            if status == CommentStatus::Approved {
                approved.push(id);
            }
        }
    }
    let (written, _) = writer.finish().await?;
    if store.backend() == DbBackend::Postgres {
        store.db().execute_unprepared("ANALYZE").await?;
    }
    store.close().await;
    Ok(written)
}

/// An empty database with one article, for the subscriber scenario.
pub async fn one_article(database_url: &str, slug: &str) -> anyhow::Result<()> {
    let Opened { store, .. } = open(database_url).await?;
    let txn = store.begin_write().await?;
    new_article(&txn, slug, "Live", now_micros()).await?;
    txn.commit().await?;
    store.close().await;
    Ok(())
}
