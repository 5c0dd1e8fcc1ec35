//! Baseline (b), the storage limit: a minimal axum server that answers each
//! scenario with hand-written SQL through sqlx (the version SeaORM uses)
//! and serialises the same JSON Parley answers with, using serde.
//!
//! It runs the statements Parley runs for the same request, one for one
//! (the article by slug with its stored count of approved comments, the
//! page with each comment's stored count of replies, then per level of the
//! thread the first replies, batched over the level),
//! on a pool tuned like Parley's. The ratio between the two is what Parley
//! spends beyond the SQL itself: GraphQL parsing and validation, resolvers,
//! batch loaders, SeaORM. It takes the slug, the cursor and the new comment
//! from the request's variables, but does not parse the GraphQL document or
//! verify a token's signature.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use sea_orm::sqlx::postgres::{PgPool, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::sqlx::{self, AssertSqlSafe};
use serde::Deserialize;
use uuid::Uuid;

use crate::shapes::{
    ArticleField, ArticleOut, CommentOut, Data, Nodes, PostCommentField, PostedOut, QueueField,
    QueuedOut, SlugOut, Time,
};

#[derive(Debug, Args)]
pub struct ServeSqlxArgs {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = crate::any_loopback_port())]
    listen: SocketAddr,
    /// The moderator whose account the queue's session check reads.
    #[arg(long)]
    moderator_id: Uuid,
}

/// A pool on either database; the same SQL runs on both (`$n` parameters
/// work on SQLite too).
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to whichever pool this is.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

struct Baseline {
    pool: Pool,
    moderator_id: Uuid,
    /// A token id that was never revoked: the revocation check's key.
    token_id: Uuid,
}

type Shared = State<Arc<Baseline>>;

pub async fn run(args: ServeSqlxArgs) -> anyhow::Result<()> {
    let pool = connect(&args.database_url).await?;
    let state = Arc::new(Baseline {
        pool,
        moderator_id: args.moderator_id,
        token_id: Uuid::now_v7(),
    });
    let router = Router::new()
        .route("/s1", post(read_thread))
        .route("/s2", get(read_thread_get))
        .route("/s3", post(read_thread_with_replies))
        .route("/s4", post(read_page_after))
        .route("/s5", post(post_comment))
        .route("/s6", post(moderation_queue))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    crate::children::announce(listener.local_addr()?, None);
    crate::children::ready();
    axum::serve(listener, router).await?;
    Ok(())
}

/// A pool like Parley's: the same size, and on SQLite the same pragmas.
async fn connect(url: &str) -> anyhow::Result<Pool> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            // Parley's planner setting: statements are compiled once.
            .after_connect(|conn, _| Box::pin(parley::store::stable_query_plans(conn)))
            .connect_with(options)
            .await
            .context("could not open the SQLite database")?;
        Ok(Pool::Sqlite(pool))
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .context("could not connect to PostgreSQL")?;
        Ok(Pool::Postgres(pool))
    }
}

/// The parts of a GraphQL request body this baseline reads.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    variables: Variables,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Variables {
    slug: Option<String>,
    after: Option<String>,
    input: Option<NewComment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewComment {
    article_slug: String,
    author_name: String,
    author_email: String,
    body: String,
}

/// What to read of a thread.
#[derive(Debug, Clone, Copy)]
struct Shape {
    first: i64,
    after: Option<(i64, Uuid)>,
    /// Levels of replies under each top-level comment.
    reply_levels: u32,
    replies_first: i64,
}

const THREAD: Shape = Shape {
    first: 50,
    after: None,
    reply_levels: 0,
    replies_first: 0,
};

async fn read_thread(State(state): Shared, body: Bytes) -> Response {
    match envelope(&body) {
        Ok(vars) => answer_thread(&state, vars.slug, THREAD).await,
        Err(response) => response,
    }
}

async fn read_thread_get(State(state): Shared, RawQuery(query): RawQuery) -> Response {
    let variables = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "variables")
        .and_then(|(_, value)| serde_json::from_str::<Variables>(&value).ok());
    match variables {
        Some(vars) => answer_thread(&state, vars.slug, THREAD).await,
        None => bad_request("GET takes JSON `variables` with a `slug`"),
    }
}

async fn read_thread_with_replies(State(state): Shared, body: Bytes) -> Response {
    let shape = Shape {
        reply_levels: 2,
        replies_first: 10,
        ..THREAD
    };
    match envelope(&body) {
        Ok(vars) => answer_thread(&state, vars.slug, shape).await,
        Err(response) => response,
    }
}

async fn read_page_after(State(state): Shared, body: Bytes) -> Response {
    let vars = match envelope(&body) {
        Ok(vars) => vars,
        Err(response) => return response,
    };
    let Some(cursor) = vars
        .after
        .as_deref()
        .and_then(|raw| parley::domain::Cursor::decode(raw, parley::error::Field::After).ok())
    else {
        return bad_request("`after` is not a valid cursor");
    };
    let shape = Shape {
        first: 100,
        after: Some((cursor.created_at, cursor.id)),
        ..THREAD
    };
    answer_thread(&state, vars.slug, shape).await
}

async fn post_comment(State(state): Shared, body: Bytes) -> Response {
    let Some(input) = envelope(&body).ok().and_then(|vars| vars.input) else {
        return bad_request("`input` is missing");
    };
    match insert_comment(&state.pool, input).await {
        Ok(Some(posted)) => json(&Data {
            data: PostCommentField {
                post_comment: posted,
            },
        }),
        Ok(None) => bad_request("no such article, or a repeated comment"),
        Err(err) => internal(&err),
    }
}

async fn moderation_queue(State(state): Shared, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7);
    if !bearer {
        return (StatusCode::UNAUTHORIZED, "a moderator token is needed").into_response();
    }
    match queue(&state).await {
        Ok(Some(nodes)) => json(&Data {
            data: QueueField {
                moderation_queue: Nodes { nodes },
            },
        }),
        Ok(None) => (StatusCode::UNAUTHORIZED, "no such moderator").into_response(),
        Err(err) => internal(&err),
    }
}

#[allow(clippy::result_large_err)]
fn envelope(body: &[u8]) -> Result<Variables, Response> {
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.variables)
        .map_err(|_| bad_request("the body is not a GraphQL request"))
}

async fn answer_thread(state: &Baseline, slug: Option<String>, shape: Shape) -> Response {
    let Some(slug) = slug else {
        return bad_request("`slug` is missing");
    };
    match thread(&state.pool, &slug, shape).await {
        Ok(article) => json(&Data {
            data: ArticleField { article },
        }),
        Err(err) => internal(&err),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::VARY, "Accept, Authorization"),
            ],
            body,
        )
            .into_response(),
        Err(err) => internal(&err),
    }
}

fn bad_request(message: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

fn internal(err: &dyn std::fmt::Display) -> Response {
    eprintln!("request failed: {err}");
    (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response()
}

/// `$first, $first+1, …`: the placeholders of an `IN` list.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type CommentRow = (Uuid, String, String, i64, i64);
type ReplyRow = (Uuid, Uuid, String, String, i64, i64);

/// An article's approved comments: the article, the page, then one
/// statement per level of replies.
async fn thread(pool: &Pool, slug: &str, shape: Shape) -> Result<Option<ArticleOut>, sqlx::Error> {
    let article: Option<(Uuid, i64)> = on_pool!(pool, |p| {
        sqlx::query_as("SELECT id, approved_comment_count FROM articles WHERE slug = $1")
            .bind(slug)
            .fetch_optional(p)
            .await
    })?;
    let Some((article_id, comment_count)) = article else {
        return Ok(None);
    };
    let rows: Vec<CommentRow> = match shape.after {
        None => on_pool!(pool, |p| {
            sqlx::query_as(
                "SELECT id, author_name, body, created_at, approved_reply_count FROM comments \
                 WHERE article_id = $1 AND parent_id IS NULL AND status = 'APPROVED' \
                 ORDER BY created_at, id LIMIT $2",
            )
            .bind(article_id)
            .bind(shape.first)
            .fetch_all(p)
            .await
        })?,
        Some((created_at, id)) => on_pool!(pool, |p| {
            sqlx::query_as(
                "SELECT id, author_name, body, created_at, approved_reply_count FROM comments \
                 WHERE article_id = $1 AND parent_id IS NULL AND status = 'APPROVED' \
                 AND (created_at, id) > ($2, $3) \
                 ORDER BY created_at, id LIMIT $4",
            )
            .bind(article_id)
            .bind(created_at)
            .bind(id)
            .bind(shape.first)
            .fetch_all(p)
            .await
        })?,
    };
    let mut top: Vec<CommentOut> = rows.into_iter().map(comment_out).collect();
    fill_levels(
        pool,
        article_id,
        &mut top,
        shape.reply_levels,
        shape.replies_first,
    )
    .await?;
    Ok(Some(ArticleOut {
        comment_count,
        comments: Nodes { nodes: top },
    }))
}

fn comment_out((id, author_name, body, created_at, reply_count): CommentRow) -> CommentOut {
    CommentOut {
        id,
        author_name,
        body,
        created_at: Time(created_at),
        reply_count,
        replies: None,
    }
}

/// Hangs `levels` levels of first replies under `level`: one statement per
/// level.
async fn fill_levels(
    pool: &Pool,
    article_id: Uuid,
    level: &mut [CommentOut],
    levels: u32,
    first: i64,
) -> Result<(), sqlx::Error> {
    // Each level's comments, top first, with the index of their parent in
    // the level above.
    let mut stack: Vec<Vec<(usize, CommentOut)>> = Vec::new();
    let mut ids: Vec<Uuid> = level.iter().map(|c| c.id).collect();
    for _ in 0..levels {
        let rows = first_replies(pool, article_id, &ids, first).await?;
        let index: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let below: Vec<(usize, CommentOut)> = rows
            .into_iter()
            .map(|(id, parent, author_name, body, created_at, replies)| {
                let at = index.get(&parent).copied().unwrap_or(usize::MAX);
                (
                    at,
                    comment_out((id, author_name, body, created_at, replies)),
                )
            })
            .collect();
        ids = below.iter().map(|(_, c)| c.id).collect();
        stack.push(below);
    }
    // Hang each level under the one above, bottom up.
    while let Some(below) = stack.pop() {
        let mut grouped: Vec<Vec<CommentOut>> = Vec::new();
        let parents = stack.last().map_or(level.len(), Vec::len);
        grouped.resize_with(parents, Vec::new);
        for (at, comment) in below {
            if let Some(group) = grouped.get_mut(at) {
                group.push(comment);
            }
        }
        let attach = |parent: &mut CommentOut, nodes: Vec<CommentOut>| {
            parent.replies = Some(Nodes { nodes });
        };
        match stack.last_mut() {
            Some(above) => {
                for ((_, parent), nodes) in above.iter_mut().zip(grouped) {
                    attach(parent, nodes);
                }
            }
            None => {
                for (parent, nodes) in level.iter_mut().zip(grouped) {
                    attach(parent, nodes);
                }
            }
        }
    }
    Ok(())
}

/// The first `first` approved replies of each of `parents`, in one
/// statement (a window function numbers each parent's replies).
async fn first_replies(
    pool: &Pool,
    article_id: Uuid,
    parents: &[Uuid],
    first: i64,
) -> Result<Vec<ReplyRow>, sqlx::Error> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, parent_id, author_name, body, created_at, approved_reply_count FROM \
         (SELECT id, parent_id, author_name, body, created_at, approved_reply_count, \
          ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY created_at, id) AS position \
          FROM comments WHERE article_id = $1 AND parent_id IN ({}) \
          AND status = 'APPROVED') AS numbered \
         WHERE position <= ${} ORDER BY parent_id, created_at, id",
        placeholders(2, parents.len()),
        parents.len() + 2
    );
    on_pool!(pool, |p| {
        let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(article_id);
        for id in parents {
            query = query.bind(*id);
        }
        query.bind(first).fetch_all(p).await
    })
}

/// Stores a new comment as PENDING, in one write transaction that first
/// reads the article (sharing its lock on PostgreSQL) and refuses an exact
/// repeat, as Parley does. `None` for an unknown or closed article or a
/// repeat.
async fn insert_comment(pool: &Pool, input: NewComment) -> Result<Option<PostedOut>, sqlx::Error> {
    let name = input.author_name.trim().to_owned();
    let email = input.author_email.trim().to_owned();
    let body = input.body.trim().to_owned();
    let id = Uuid::now_v7();
    let now = chrono::Utc::now().timestamp_micros();
    macro_rules! in_transaction {
        ($tx:ident, $article_sql:expr) => {{
            let article: Option<(Uuid, bool)> = sqlx::query_as($article_sql)
                .bind(&input.article_slug)
                .fetch_optional(&mut *$tx)
                .await?;
            let Some((article_id, true)) = article else {
                return Ok(None);
            };
            let repeat: Option<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM comments WHERE article_id = $1 \
                 AND lower(author_email) = $2 AND body = $3 LIMIT 1",
            )
            .bind(article_id)
            .bind(email.to_lowercase())
            .bind(&body)
            .fetch_optional(&mut *$tx)
            .await?;
            if repeat.is_some() {
                return Ok(None);
            }
            sqlx::query(
                "INSERT INTO comments (id, article_id, parent_id, author_name, author_email, \
                 body, status, created_at, updated_at) \
                 VALUES ($1, $2, NULL, $3, $4, $5, 'PENDING', $6, $7)",
            )
            .bind(id)
            .bind(article_id)
            .bind(&name)
            .bind(&email)
            .bind(&body)
            .bind(now)
            .bind(now)
            .execute(&mut *$tx)
            .await?;
            $tx.commit().await?;
        }};
    }
    match pool {
        Pool::Sqlite(p) => {
            let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
            in_transaction!(tx, "SELECT id, comments_open FROM articles WHERE slug = $1");
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin().await?;
            in_transaction!(
                tx,
                "SELECT id, comments_open FROM articles WHERE slug = $1 FOR SHARE"
            );
        }
    }
    Ok(Some(PostedOut {
        id,
        status: "PENDING",
        created_at: Time(now),
    }))
}

type QueuedRow = (Uuid, Uuid, String, String, String, i64, String);

/// The oldest 50 pending comments with their articles' slugs, after the
/// two reads of a session check (the account, the revocation list).
async fn queue(state: &Baseline) -> Result<Option<Vec<QueuedOut>>, sqlx::Error> {
    let pool = &state.pool;
    let account: Option<(Uuid, String, i64)> = on_pool!(pool, |p| {
        sqlx::query_as(
            "SELECT id, role, token_version FROM moderators WHERE id = $1 AND removed_at IS NULL",
        )
        .bind(state.moderator_id)
        .fetch_optional(p)
        .await
    })?;
    if account.is_none() {
        return Ok(None);
    }
    let revoked: Option<(Uuid,)> = on_pool!(pool, |p| {
        sqlx::query_as("SELECT token_id FROM revoked_tokens WHERE token_id = $1")
            .bind(state.token_id)
            .fetch_optional(p)
            .await
    })?;
    if revoked.is_some() {
        return Ok(None);
    }
    let rows: Vec<QueuedRow> = on_pool!(pool, |p| {
        sqlx::query_as(
            "SELECT id, article_id, author_name, author_email, body, created_at, status \
             FROM comments WHERE status = 'PENDING' ORDER BY created_at, id LIMIT 50",
        )
        .fetch_all(p)
        .await
    })?;
    let mut article_ids: Vec<Uuid> = rows.iter().map(|row| row.1).collect();
    article_ids.sort_unstable();
    article_ids.dedup();
    let slugs: HashMap<Uuid, String> = if article_ids.is_empty() {
        HashMap::new()
    } else {
        let sql = format!(
            "SELECT id, slug FROM articles WHERE id IN ({})",
            placeholders(1, article_ids.len())
        );
        let found: Vec<(Uuid, String)> = on_pool!(pool, |p| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql));
            for id in &article_ids {
                query = query.bind(*id);
            }
            query.fetch_all(p).await
        })?;
        found.into_iter().collect()
    };
    Ok(Some(
        rows.into_iter()
            .map(
                |(id, article_id, author_name, author_email, body, created_at, status)| QueuedOut {
                    id,
                    author_name,
                    author_email,
                    body,
                    created_at: Time(created_at),
                    status,
                    article: SlugOut {
                        slug: slugs.get(&article_id).cloned().unwrap_or_default(),
                    },
                },
            )
            .collect(),
    ))
}
