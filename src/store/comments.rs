//! Queries on comments: the threaded reads readers make on every page view,
//! the moderation queue, and the writes of posting and moderating.

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, QueryFilter, QueryOrder, QuerySelect, Select, Set, Statement,
};
use uuid::Uuid;

use super::entities::article::{self, Entity as Article};
use super::entities::comment::CommentStatus;
use super::entities::comment::{self, Column, Entity as Comment};
use super::page::{Cursor, Page, PageRequest};

/// Which way a list runs along `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    OldestFirst,
    NewestFirst,
}

/// Where the comments of a list hang in their article's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    TopLevel,
    RepliesTo(Uuid),
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<comment::Model>, DbErr> {
    Comment::find_by_id(id).one(db).await
}

/// Whether a thread read fetches the authors' email addresses (and the
/// moderation rules' reasons): for moderators only, so for anyone else they
/// never leave the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emails {
    Include,
    Leave,
}

/// An approved comment as a thread read fetches it: the columns readers
/// see (its article and status are those the read asked for).
#[derive(Debug, Clone, FromQueryResult)]
pub struct ThreadComment {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_name: String,
    /// `None` unless the read included emails.
    pub author_email: Option<String>,
    pub body: String,
    pub body_html: Option<String>,
    pub created_at: i64,
    pub approved_reply_count: i64,
    /// `None` unless the read included emails (the moderators' columns).
    pub moderation_reasons: Option<String>,
}

/// The columns of a thread read, besides the moderators' own.
const THREAD_COLUMNS: [Column; 7] = [
    Column::Id,
    Column::ParentId,
    Column::AuthorName,
    Column::Body,
    Column::BodyHtml,
    Column::CreatedAt,
    Column::ApprovedReplyCount,
];

/// The columns only moderators' reads fetch.
const MODERATOR_COLUMNS: [Column; 2] = [Column::AuthorEmail, Column::ModerationReasons];

/// The select list of a thread read, as SQL.
fn thread_select_list(emails: Emails) -> String {
    let mut list: Vec<String> = THREAD_COLUMNS
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    list.extend(MODERATOR_COLUMNS.iter().map(|c| match emails {
        Emails::Include => c.as_str().to_owned(),
        Emails::Leave => format!("NULL AS {}", c.as_str()),
    }));
    list.join(", ")
}

/// One page of an article's approved comments at one level of the thread.
pub async fn list_thread(
    db: &impl ConnectionTrait,
    article_id: Uuid,
    level: Level,
    direction: Direction,
    page: &PageRequest,
    emails: Emails,
) -> Result<Page<ThreadComment>, DbErr> {
    let mut query = Comment::find().select_only().columns(THREAD_COLUMNS);
    for column in MODERATOR_COLUMNS {
        query = match emails {
            Emails::Include => query.column(column),
            Emails::Leave => query.column_as(Expr::cust("NULL"), column.as_str()),
        };
    }
    let query = query
        .filter(Column::ArticleId.eq(article_id))
        .filter(match level {
            Level::TopLevel => Column::ParentId.is_null(),
            Level::RepliesTo(parent) => Column::ParentId.eq(parent),
        })
        .filter(Column::Status.eq(CommentStatus::Approved));
    let query = keyset(query, direction, page.after);
    if page.first == 0 {
        return empty_page(db, query, page).await;
    }
    let rows = ordered(query, direction)
        .limit(page.first + 1)
        .into_model::<ThreadComment>()
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

/// One page of the moderation queue: comments with `status`, oldest first,
/// across all articles or within one.
pub async fn list_queue(
    db: &impl ConnectionTrait,
    status: CommentStatus,
    article_id: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<comment::Model>, DbErr> {
    let mut query = Comment::find().filter(Column::Status.eq(status));
    if let Some(article_id) = article_id {
        query = query.filter(Column::ArticleId.eq(article_id));
    }
    fetch_page(db, query, Direction::OldestFirst, page).await
}

/// The first `first + 1` approved replies of each of `parents` (comments of
/// the article `article_id`), oldest first, in one query (a window function
/// numbers each parent's replies). The extra reply only says that another
/// page exists.
pub async fn first_replies(
    db: &impl ConnectionTrait,
    article_id: Uuid,
    parents: &[Uuid],
    first: u64,
    emails: Emails,
) -> Result<Vec<ThreadComment>, DbErr> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let article = placeholder(1);
    let parent_list: Vec<String> = (2..=parents.len() + 1).map(placeholder).collect();
    let status = placeholder(parents.len() + 2);
    let limit = placeholder(parents.len() + 3);
    let sql = format!(
        "SELECT {} \
         FROM (SELECT comments.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY created_at, id) AS position \
               FROM comments WHERE article_id = {article} AND parent_id IN ({}) AND status = {status}) AS numbered \
         WHERE position <= {limit} ORDER BY parent_id, created_at, id",
        thread_select_list(emails),
        parent_list.join(", ")
    );
    let mut values: Vec<sea_orm::Value> = vec![article_id.into()];
    values.extend(parents.iter().map(|id| sea_orm::Value::from(*id)));
    values.push(CommentStatus::Approved.as_str().into());
    values.push(i64::try_from(first + 1).unwrap_or(i64::MAX).into());
    ThreadComment::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await
}

/// Keyset pagination on `(created_at, id)`: no OFFSET, so page 1,000 costs
/// what page 1 costs.
async fn fetch_page(
    db: &impl ConnectionTrait,
    query: Select<Comment>,
    direction: Direction,
    page: &PageRequest,
) -> Result<Page<comment::Model>, DbErr> {
    let query = keyset(query, direction, page.after);
    if page.first == 0 {
        return empty_page(db, query, page).await;
    }
    let rows = ordered(query, direction)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

/// The rows after the cursor, if any.
fn keyset(query: Select<Comment>, direction: Direction, after: Option<Cursor>) -> Select<Comment> {
    let Some(Cursor { created_at, id }) = after else {
        return query;
    };
    // A row-value comparison, `(created_at, id) > (…)`: both databases seek
    // straight to it in the index, where the equivalent OR of two
    // conditions makes PostgreSQL walk the pages before it.
    let position = Expr::tuple([Expr::col(Column::CreatedAt), Expr::col(Column::Id)]);
    let cursor = Expr::tuple([Expr::value(created_at), Expr::value(id)]);
    query.filter(match direction {
        Direction::OldestFirst => position.gt(cursor),
        Direction::NewestFirst => position.lt(cursor),
    })
}

fn ordered(query: Select<Comment>, direction: Direction) -> Select<Comment> {
    let order = match direction {
        Direction::OldestFirst => Order::Asc,
        Direction::NewestFirst => Order::Desc,
    };
    query
        .order_by(Column::CreatedAt, order.clone())
        .order_by(Column::Id, order)
}

/// A page of `first: 0`: no rows, only whether any follow.
async fn empty_page<T>(
    db: &impl ConnectionTrait,
    query: Select<Comment>,
    page: &PageRequest,
) -> Result<Page<T>, DbErr> {
    let has_next_page = query
        .select_only()
        .column(Column::Id)
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some();
    Ok(Page {
        items: Vec::new(),
        has_next_page,
        has_previous_page: page.after.is_some(),
    })
}

/// How many leading characters of a body the repeat index holds: enough to
/// tell most bodies apart, short enough for any index entry. The index's
/// expression is `substr(body, 1, 64)`: a query uses the index only when it
/// compares that very expression (written out, not with bound numbers)
/// with a value.
const REPEAT_PREFIX_CHARS: usize = 64;
const REPEAT_PREFIX_EXPR: &str = "substr(body, 1, 64)";
/// The full body, compared as an expression: given `body = ?`, SQLite
/// would put the value in place of `body` in the prefix too, which then no
/// longer matches the index, and it would read every comment of the
/// article.
const REPEAT_BODY_EXPR: &str = "body || ''";

/// Whether the article already has a comment with exactly this body,
/// whoever wrote it and whatever its status. The index on
/// `(article_id, substr(body, 1, 64))` finds the candidates; the full body
/// decides.
pub async fn exists_repeat(
    db: &impl ConnectionTrait,
    article_id: Uuid,
    body: &str,
) -> Result<bool, DbErr> {
    // Both databases count `substr` in characters.
    let prefix: String = body.chars().take(REPEAT_PREFIX_CHARS).collect();
    let found = Comment::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ArticleId.eq(article_id))
        .filter(Expr::cust(REPEAT_PREFIX_EXPR).eq(prefix))
        .filter(Expr::cust(REPEAT_BODY_EXPR).eq(body))
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Stores a new comment; an approved one counts at once in its article's
/// and its parent's counts.
pub async fn insert(
    db: &impl ConnectionTrait,
    model: comment::Model,
) -> Result<comment::Model, DbErr> {
    let approved = is_approved(&model.status);
    let stored = comment::ActiveModel {
        id: Set(model.id),
        article_id: Set(model.article_id),
        parent_id: Set(model.parent_id),
        author_name: Set(model.author_name),
        author_email: Set(model.author_email),
        body: Set(model.body),
        status: Set(model.status),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
        approved_reply_count: Set(0),
        moderation_reasons: Set(model.moderation_reasons),
        body_html: Set(model.body_html),
        author_key: Set(model.author_key),
        email_key_id: Set(model.email_key_id),
        email_index: Set(model.email_index),
        hidden_at: Set(model.hidden_at),
        notify_replies: Set(model.notify_replies),
        reply_notified: Set(model.reply_notified),
    }
    .insert(db)
    .await?;
    if approved {
        adjust_counts(db, stored.article_id, stored.parent_id, 1).await?;
    }
    Ok(stored)
}

/// Changes a comment's status, and the counts it enters or leaves.
pub async fn set_status(
    db: &impl ConnectionTrait,
    comment: comment::Model,
    status: CommentStatus,
    now: i64,
) -> Result<comment::Model, DbErr> {
    let was_approved = is_approved(&comment.status);
    let hidden_at = match (comment.status, status) {
        (CommentStatus::Hidden, CommentStatus::Hidden) => comment.hidden_at,
        (_, CommentStatus::Hidden) => Some(now),
        _ => None,
    };
    let mut row: comment::ActiveModel = comment.into();
    row.status = Set(status);
    row.updated_at = Set(now);
    row.hidden_at = Set(hidden_at);
    let updated = row.update(db).await?;
    let delta = match (was_approved, status == CommentStatus::Approved) {
        (false, true) => 1,
        (true, false) => -1,
        _ => return Ok(updated),
    };
    adjust_counts(db, updated.article_id, updated.parent_id, delta).await?;
    Ok(updated)
}

/// Deletes a comment for good (its name, email and body go with the row),
/// first moving its replies up to its own parent so no reply is lost. The
/// counts follow: the article loses the comment if it was approved, and
/// the parent, if any, loses it and gains its approved replies. `comment`
/// must have been read in this transaction, after its article was locked,
/// so that its own reply count is current.
pub async fn delete_and_reparent(
    db: &impl ConnectionTrait,
    comment: &comment::Model,
) -> Result<(), DbErr> {
    Comment::update_many()
        .col_expr(Column::ParentId, Expr::value(comment.parent_id))
        .filter(Column::ParentId.eq(comment.id))
        .exec(db)
        .await?;
    Comment::delete_by_id(comment.id).exec(db).await?;
    // A mail about it (a reply notification with its text) goes with it.
    super::outbox::forget_comment(db, comment.id).await?;
    let leaving = i64::from(is_approved(&comment.status));
    if leaving > 0 {
        add_to_comment_count(db, comment.article_id, -leaving).await?;
    }
    let moved_up = comment.approved_reply_count - leaving;
    if let Some(parent) = comment.parent_id.filter(|_| moved_up != 0) {
        add_to_reply_count(db, parent, moved_up).await?;
    }
    Ok(())
}

fn is_approved(status: &CommentStatus) -> bool {
    *status == CommentStatus::Approved
}

/// Adds `delta` approved comments to the article's count and, for a reply,
/// to its parent's count of replies.
async fn adjust_counts(
    db: &impl ConnectionTrait,
    article_id: Uuid,
    parent_id: Option<Uuid>,
    delta: i64,
) -> Result<(), DbErr> {
    add_to_comment_count(db, article_id, delta).await?;
    if let Some(parent) = parent_id {
        add_to_reply_count(db, parent, delta).await?;
    }
    Ok(())
}

/// Adds `delta` approved comments to an article's count.
pub async fn add_to_comment_count(
    db: &impl ConnectionTrait,
    article_id: Uuid,
    delta: i64,
) -> Result<(), DbErr> {
    Article::update_many()
        .col_expr(
            article::Column::ApprovedCommentCount,
            Expr::col(article::Column::ApprovedCommentCount).add(delta),
        )
        .filter(article::Column::Id.eq(article_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds `delta` approved replies to a comment's count.
pub async fn add_to_reply_count(
    db: &impl ConnectionTrait,
    parent: Uuid,
    delta: i64,
) -> Result<(), DbErr> {
    Comment::update_many()
        .col_expr(
            Column::ApprovedReplyCount,
            Expr::col(Column::ApprovedReplyCount).add(delta),
        )
        .filter(Column::Id.eq(parent))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether an APPROVED comment was posted with this author key and an
/// email of this blind index, other than `except`: the proof a trusted
/// returning author gives.
pub async fn approved_with_author_key(
    db: &impl ConnectionTrait,
    author_key: &str,
    email_index: &str,
    except: Option<Uuid>,
) -> Result<bool, DbErr> {
    let mut query = Comment::find();
    if let Some(except) = except {
        query = query.filter(Column::Id.ne(except));
    }
    let found = query
        .select_only()
        .column(Column::Id)
        .filter(Column::AuthorKey.eq(author_key))
        .filter(Column::Status.eq(CommentStatus::Approved))
        .filter(Column::EmailIndex.eq(email_index))
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Whether any comment was posted with this author key.
pub async fn author_key_in_use(db: &impl ConnectionTrait, author_key: &str) -> Result<bool, DbErr> {
    let found = Comment::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::AuthorKey.eq(author_key))
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Comments by status, for one article or all: `(status, count)` pairs.
pub async fn count_by_status(
    db: &impl ConnectionTrait,
    article_id: Option<Uuid>,
) -> Result<Vec<(CommentStatus, i64)>, DbErr> {
    let mut query = Comment::find()
        .select_only()
        .column(Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "count")
        .group_by(Column::Status);
    if let Some(article_id) = article_id {
        query = query.filter(Column::ArticleId.eq(article_id));
    }
    query.into_tuple::<(CommentStatus, i64)>().all(db).await
}

/// The comments with these ids that exist.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<comment::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Comment::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// What an author's edit changes: the text, its HTML, the rules' reasons.
#[derive(Debug, Clone)]
pub struct Edit {
    pub body: String,
    pub body_html: String,
    pub moderation_reasons: String,
}

/// Replaces a comment's text after an edit by its author, and moves it to
/// `status` (the rules ran again), keeping the counts right.
pub async fn apply_edit(
    db: &impl ConnectionTrait,
    comment: comment::Model,
    edit: Edit,
    status: CommentStatus,
    now: i64,
) -> Result<comment::Model, DbErr> {
    let mut row: comment::ActiveModel = comment.into();
    row.body = Set(edit.body);
    row.body_html = Set(Some(edit.body_html));
    row.moderation_reasons = Set(edit.moderation_reasons);
    let edited = row.update(db).await?;
    set_status(db, edited, status, now).await
}

/// Stores a comment brought in from elsewhere unless one with its id
/// exists; says whether it did. The counts are left to the caller, which
/// adds up a whole batch's ([`add_to_comment_count`],
/// [`add_to_reply_count`]).
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    model: comment::Model,
) -> Result<bool, DbErr> {
    let inserted = Comment::insert(comment::ActiveModel {
        approved_reply_count: Set(0),
        ..comment::ActiveModel::from(model)
    })
    .on_conflict_do_nothing_on([Column::Id])
    .exec(db)
    .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}

/// Whether a comment with this id exists.
pub async fn exists(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let found = Comment::find_by_id(id)
        .select_only()
        .column(Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// An author's email as stored, for sealing it (again).
#[derive(Debug, Clone, FromQueryResult)]
pub struct StoredEmail {
    pub id: Uuid,
    pub author_email: String,
    pub email_key_id: Option<String>,
}

/// Up to `limit` comments whose email is not sealed by the key `key_id`
/// (stored before sealing existed, or by another key), after `after` in id
/// order. On PostgreSQL the rows are locked for the transaction `db`, and
/// rows another transaction holds (a moderator's) are skipped, so a batch
/// never waits on one and cannot deadlock with it; a later pass takes them.
pub async fn emails_not_sealed_by(
    db: &impl ConnectionTrait,
    key_id: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredEmail>, DbErr> {
    let mut query = Comment::find()
        .select_only()
        .columns([Column::Id, Column::AuthorEmail, Column::EmailKeyId])
        .filter(Column::AuthorEmail.ne(""))
        .filter(
            Column::EmailKeyId
                .is_null()
                .or(Column::EmailKeyId.ne(key_id)),
        );
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    let mut query = query.order_by_asc(Column::Id).limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    query.into_model::<StoredEmail>().all(db).await
}

/// Replaces a comment's email with its sealed form, unless it changed since
/// it was read (`was`); whether it was replaced.
pub async fn reseal_email(
    db: &impl ConnectionTrait,
    was: &StoredEmail,
    sealed: String,
    key_id: &str,
    index: String,
) -> Result<bool, DbErr> {
    let result = Comment::update_many()
        .col_expr(Column::AuthorEmail, Expr::value(sealed))
        .col_expr(Column::EmailKeyId, Expr::value(key_id))
        .col_expr(Column::EmailIndex, Expr::value(index))
        .filter(Column::Id.eq(was.id))
        .filter(Column::AuthorEmail.eq(was.author_email.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The ids of the data keys that sealed some comment's email.
pub async fn email_key_ids(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    Comment::find()
        .select_only()
        .column(Column::EmailKeyId)
        .filter(Column::EmailKeyId.is_not_null())
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Whether some comment's email is stored as it was typed (before sealing
/// existed).
pub async fn any_email_unsealed(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let found = Comment::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::AuthorEmail.ne(""))
        .filter(Column::EmailKeyId.is_null())
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Up to `limit` comments hidden before `before` (microseconds), the
/// longest hidden first.
pub async fn hidden_before(
    db: &impl ConnectionTrait,
    before: i64,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    Comment::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(CommentStatus::Hidden))
        .filter(Column::HiddenAt.lt(before))
        .order_by_asc(Column::HiddenAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(db)
        .await
}

/// Notes that the author of the comment `id` replies to was told of it.
pub async fn mark_reply_notified(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Comment::update_many()
        .col_expr(Column::ReplyNotified, Expr::value(true))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
