//! Queries on the outbox: writing a mail with the event that causes it,
//! taking the mails that are due, and what became of each.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entities::outbox_mail::{self, Column, Entity as Outbox};

pub async fn insert(db: &impl ConnectionTrait, mail: outbox_mail::Model) -> Result<(), DbErr> {
    outbox_mail::ActiveModel::from(mail).insert(db).await?;
    Ok(())
}

/// Up to `limit` mails due at `now`, the oldest first.
pub async fn due(
    db: &impl ConnectionTrait,
    now: i64,
    limit: u64,
) -> Result<Vec<outbox_mail::Model>, DbErr> {
    Outbox::find()
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await
}

/// Takes a due mail for sending: moves its next attempt to `until` and
/// counts the attempt, unless another worker took it first (then `false`).
pub async fn take(
    db: &impl ConnectionTrait,
    mail: &outbox_mail::Model,
    until: i64,
) -> Result<bool, DbErr> {
    let taken = Outbox::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(until))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(mail.id))
        .filter(Column::NextAttemptAt.eq(mail.next_attempt_at))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// A mail the SMTP server took: it leaves the outbox.
pub async fn sent(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Outbox::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// A failed attempt: the mail is tried again at `next`.
pub async fn failed(
    db: &impl ConnectionTrait,
    id: Uuid,
    next: i64,
    error: &str,
) -> Result<(), DbErr> {
    Outbox::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .col_expr(Column::LastError, Expr::value(error))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes back the mails about a comment that is being deleted.
pub async fn forget_comment(db: &impl ConnectionTrait, comment_id: Uuid) -> Result<(), DbErr> {
    Outbox::delete_many()
        .filter(Column::CommentId.eq(comment_id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many mails wait.
pub async fn depth(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Outbox::find().count(db).await
}

/// Up to `limit` mails whose recipient the key `key_id` did not seal.
pub async fn not_sealed_by(
    db: &impl ConnectionTrait,
    key_id: &str,
    limit: u64,
) -> Result<Vec<outbox_mail::Model>, DbErr> {
    Outbox::find()
        .filter(Column::Recipient.not_like(format!("{key_id}:%")))
        .limit(limit)
        .all(db)
        .await
}

/// Replaces a mail's sealed recipient, unless it changed since it was read.
pub async fn reseal(
    db: &impl ConnectionTrait,
    id: Uuid,
    was: &str,
    sealed: String,
) -> Result<bool, DbErr> {
    let done = Outbox::update_many()
        .col_expr(Column::Recipient, Expr::value(sealed))
        .filter(Column::Id.eq(id))
        .filter(Column::Recipient.eq(was))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The ids of the keys that sealed some of them.
pub async fn key_ids(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    super::sealing::key_ids_in::<Outbox, _>(db, Column::Recipient).await
}
