//! Queries on the addresses that asked for reply notifications.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use super::entities::mail_recipient::{self, Column, Entity as MailRecipient};

pub async fn find(
    db: &impl ConnectionTrait,
    email_index: &str,
) -> Result<Option<mail_recipient::Model>, DbErr> {
    MailRecipient::find_by_id(email_index.to_owned())
        .one(db)
        .await
}

/// Records an address that asked for notifications, unless it is known.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    email_index: &str,
    sealed_email: String,
    now: i64,
) -> Result<(), DbErr> {
    MailRecipient::insert(mail_recipient::ActiveModel {
        email_index: Set(email_index.to_owned()),
        email: Set(sealed_email),
        confirmed_at: Set(None),
        confirmation_sent_at: Set(None),
        unsubscribed_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([Column::EmailIndex])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Notes that a confirmation mail was written at `now`.
pub async fn confirmation_sent(
    db: &impl ConnectionTrait,
    email_index: &str,
    now: i64,
) -> Result<(), DbErr> {
    MailRecipient::update_many()
        .col_expr(Column::ConfirmationSentAt, Expr::value(now))
        .filter(Column::EmailIndex.eq(email_index))
        .exec(db)
        .await?;
    Ok(())
}

/// The address confirmed at `now`: notifications flow (again).
pub async fn confirm(
    db: &impl ConnectionTrait,
    email_index: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let done = MailRecipient::update_many()
        .col_expr(Column::ConfirmedAt, Expr::value(now))
        .col_expr(Column::UnsubscribedAt, Expr::value(Option::<i64>::None))
        .filter(Column::EmailIndex.eq(email_index))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The address unsubscribed at `now`: no more notifications until it
/// confirms again.
pub async fn unsubscribe(
    db: &impl ConnectionTrait,
    email_index: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let done = MailRecipient::update_many()
        .col_expr(Column::UnsubscribedAt, Expr::value(now))
        .col_expr(Column::ConfirmedAt, Expr::value(Option::<i64>::None))
        .filter(Column::EmailIndex.eq(email_index))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Up to `limit` addresses the key `key_id` did not seal.
pub async fn not_sealed_by(
    db: &impl ConnectionTrait,
    key_id: &str,
    limit: u64,
) -> Result<Vec<mail_recipient::Model>, DbErr> {
    MailRecipient::find()
        .filter(Column::Email.not_like(format!("{key_id}:%")))
        .limit(limit)
        .all(db)
        .await
}

/// Replaces an address's sealed form, unless it changed since it was read.
pub async fn reseal(
    db: &impl ConnectionTrait,
    email_index: &str,
    was: &str,
    sealed: String,
) -> Result<bool, DbErr> {
    let done = MailRecipient::update_many()
        .col_expr(Column::Email, Expr::value(sealed))
        .filter(Column::EmailIndex.eq(email_index))
        .filter(Column::Email.eq(was))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The ids of the keys that sealed some of them.
pub async fn key_ids(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    super::sealing::key_ids_in::<MailRecipient, _>(db, Column::Email).await
}
