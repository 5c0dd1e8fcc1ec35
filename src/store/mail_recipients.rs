//! Queries on the addresses that asked for reply notifications, and the
//! consents they gave.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use super::entities::mail_consent::{self, Column as ConsentColumn, Entity as MailConsent};
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
        confirmation_sent_at: Set(None),
        unsubscribed_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([Column::EmailIndex])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Claims today's confirmation mail for the address: notes `now` as sent,
/// unless one went after `sent_since` or it unsubscribed after
/// `unsubscribed_since`; whether it may be sent. One statement, so that two
/// posts at once cannot both claim it.
pub async fn claim_confirmation(
    db: &impl ConnectionTrait,
    email_index: &str,
    now: i64,
    sent_since: i64,
    unsubscribed_since: i64,
) -> Result<bool, DbErr> {
    let done = MailRecipient::update_many()
        .col_expr(Column::ConfirmationSentAt, Expr::value(now))
        .filter(Column::EmailIndex.eq(email_index))
        .filter(
            Column::ConfirmationSentAt
                .is_null()
                .or(Column::ConfirmationSentAt.lt(sent_since)),
        )
        .filter(
            Column::UnsubscribedAt
                .is_null()
                .or(Column::UnsubscribedAt.lt(unsubscribed_since)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Whether the address confirmed from the browser of `author_key`.
pub async fn consented(
    db: &impl ConnectionTrait,
    email_index: &str,
    author_key: &str,
) -> Result<bool, DbErr> {
    Ok(
        MailConsent::find_by_id((email_index.to_owned(), author_key.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// The address confirmed, for comments from the browser of `author_key`:
/// notifications flow; an unsubscription ends. `false` when Parley does not
/// know the address.
pub async fn confirm(
    db: &impl ConnectionTrait,
    email_index: &str,
    author_key: &str,
    now: i64,
) -> Result<bool, DbErr> {
    if find(db, email_index).await?.is_none() {
        return Ok(false);
    }
    MailConsent::insert(mail_consent::ActiveModel {
        email_index: Set(email_index.to_owned()),
        author_key: Set(author_key.to_owned()),
        confirmed_at: Set(now),
    })
    .on_conflict_do_nothing_on([ConsentColumn::EmailIndex, ConsentColumn::AuthorKey])
    .exec_without_returning(db)
    .await?;
    MailRecipient::update_many()
        .col_expr(Column::UnsubscribedAt, Expr::value(Option::<i64>::None))
        .filter(Column::EmailIndex.eq(email_index))
        .exec(db)
        .await?;
    Ok(true)
}

/// The address unsubscribed at `now`: every consent it gave goes. `false`
/// when Parley does not know the address.
pub async fn unsubscribe(
    db: &impl ConnectionTrait,
    email_index: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let done = MailRecipient::update_many()
        .col_expr(Column::UnsubscribedAt, Expr::value(now))
        .filter(Column::EmailIndex.eq(email_index))
        .exec(db)
        .await?;
    MailConsent::delete_many()
        .filter(ConsentColumn::EmailIndex.eq(email_index))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Forgets the addresses that asked before `before` and never confirmed,
/// or unsubscribed before it: nothing needs them any more.
pub async fn prune(db: &impl ConnectionTrait, before: i64) -> Result<u64, DbErr> {
    let confirmed = Query::select()
        .column(ConsentColumn::EmailIndex)
        .from(MailConsent)
        .to_owned();
    let done = MailRecipient::delete_many()
        .filter(Column::CreatedAt.lt(before))
        .filter(Column::EmailIndex.not_in_subquery(confirmed))
        .filter(
            Column::UnsubscribedAt
                .is_null()
                .or(Column::UnsubscribedAt.lt(before)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected)
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
