//! Reply notifications, with double opt-in. A reader who posts with
//! `notifyReplies` gets a confirmation mail (at most one a day); once they
//! confirm, each approved reply to a comment of theirs that asked is mailed
//! to them, with its text and a link to it. The consent holds for the
//! address together with the browser that asked (its author token): typing
//! a confirmed address from elsewhere asks again, by mail to the address.
//! Unsubscribing stops them all until the address confirms again.
//!
//! Nothing here answers differently for an address that has asked before:
//! posting with `notifyReplies` gives the same answer whatever the
//! address's history.

use sea_orm::ConnectionTrait;

use crate::error::AppResult;
use crate::store::entities::comment::{self, CommentStatus};
use crate::store::sealing::Place;
use crate::store::{Store, articles, comments, mail_recipients, now_micros};

use super::tokens::{self, Purpose};
use super::{Letter, Mail};

const DAY_MICROS: i64 = 24 * 3_600 * 1_000_000;

/// Days after unsubscribing during which an address gets no confirmation,
/// however often someone asks with it.
const UNSUBSCRIBED_QUIET_DAYS: i64 = 30;

/// Days an address that asked but never confirmed (or unsubscribed) is
/// kept; the retention sweep forgets it then.
pub const UNCONFIRMED_KEPT_DAYS: i64 = 30;

/// A post from `email`, from the browser of `author_key`, asked to be told
/// of replies: the address is recorded and, unless it already agreed from
/// that browser, sent a confirmation. At most one a day goes to an address,
/// none in the 30 days after it unsubscribed, and none for a comment the
/// rules hid. Runs in the posting transaction `txn`; whether a mail was
/// written (the caller wakes the worker once committed).
pub async fn ask(
    txn: &impl ConnectionTrait,
    mail: &Mail,
    email: &str,
    author_key: &str,
    status: CommentStatus,
) -> AppResult<bool> {
    if status == CommentStatus::Hidden {
        return Ok(false);
    }
    let now = now_micros();
    let index = mail.sealing().blind_index(email);
    if mail_recipients::consented(txn, &index, author_key).await? {
        return Ok(false);
    }
    let sealed = mail
        .sealing()
        .keys()
        .seal(email, Place::MailRecipient(&index));
    mail_recipients::insert_if_absent(txn, &index, sealed, now).await?;
    if !mail_recipients::claim_confirmation(
        txn,
        &index,
        now,
        now - DAY_MICROS,
        now - UNSUBSCRIBED_QUIET_DAYS * DAY_MICROS,
    )
    .await?
    {
        return Ok(false);
    }
    let confirm = mail.link(
        "/mail/confirm",
        Purpose::Confirm,
        &format!("{index}.{author_key}"),
    );
    let site = mail.site();
    mail.write(
        txn,
        Letter {
            to: email.to_owned(),
            subject: format!("Confirm mail about replies to your comments on {site}"),
            body: format!(
                "Someone, hopefully you, posted a comment on {site} with this address and \
                 asked to be told by mail when someone replies.\n\n\
                 To confirm, open this link and press the button:\n{confirm}\n\n\
                 If it was not you, ignore this mail: no other will be sent about it."
            ),
            email_index: index.clone(),
            comment: None,
        },
    )
    .await?;
    Ok(true)
}

/// `reply` has just become visible: if it answers a comment whose author
/// asked to be told, and confirmed from the browser that comment came from,
/// a mail is written to them in `txn`, once per reply however often it is
/// hidden and approved again. Whether one was (the caller wakes the worker
/// once committed).
pub async fn reply_approved(
    txn: &impl ConnectionTrait,
    mail: &Mail,
    reply: &comment::Model,
) -> AppResult<bool> {
    let Some(parent_id) = reply.parent_id.filter(|_| !reply.reply_notified) else {
        return Ok(false);
    };
    let Some(parent) = comments::find(txn, parent_id).await? else {
        return Ok(false);
    };
    let (Some(index), Some(author_key)) = (
        parent
            .email_index
            .as_deref()
            .filter(|_| parent.notify_replies),
        parent.author_key.as_deref(),
    ) else {
        return Ok(false);
    };
    // Nobody is told of their own replies.
    if reply.email_index.as_deref() == Some(index)
        || reply.author_key.as_deref() == Some(author_key)
    {
        return Ok(false);
    }
    if !mail_recipients::consented(txn, index, author_key).await? {
        return Ok(false);
    }
    let Some(recipient) = mail_recipients::find(txn, index).await? else {
        return Ok(false);
    };
    let to = mail
        .sealing()
        .keys()
        .open(&recipient.email, Place::MailRecipient(index))
        .map_err(|err| crate::error::AppError::Internal(err.into()))?;
    let article = articles::find_by_ids(txn, &[reply.article_id])
        .await?
        .into_iter()
        .next();
    let title = article.as_ref().map_or("an article", |a| a.title.as_str());
    let read = article
        .as_ref()
        .and_then(|a| a.url.as_deref())
        .map(|url| format!("\n\nRead it in its thread: {url}#comment-{}", reply.id))
        .unwrap_or_default();
    mail.write(
        txn,
        Letter {
            to,
            subject: format!(
                "{} replied to your comment on \u{201c}{title}\u{201d}",
                reply.author_name
            ),
            body: format!(
                "{} replied to your comment on \u{201c}{title}\u{201d}:\n\n{}{read}",
                reply.author_name, reply.body
            ),
            email_index: index.to_owned(),
            comment: Some(reply.id),
        },
    )
    .await?;
    comments::mark_reply_notified(txn, reply.id).await?;
    Ok(true)
}

/// What a link from a mail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Done,
    /// Not a genuine link, or for an address Parley no longer knows.
    Unknown,
}

/// The confirmation link: notifications flow to the address, for comments
/// from the browser whose comment asked, from now on.
pub async fn confirm(store: &Store, mail: &Mail, token: &str) -> AppResult<LinkOutcome> {
    let Some((index, author_key)) =
        tokens::check(mail.sealing().fingerprints(), Purpose::Confirm, token)
            .and_then(|subject| subject.split_once('.'))
    else {
        return Ok(LinkOutcome::Unknown);
    };
    let done = mail_recipients::confirm(store.db(), index, author_key, now_micros()).await?;
    if done {
        tracing::info!("an address confirmed reply notifications");
    }
    Ok(if done {
        LinkOutcome::Done
    } else {
        LinkOutcome::Unknown
    })
}

/// The unsubscribe link (or its one-click `POST`): no more mail to the
/// address until it confirms again.
pub async fn unsubscribe(store: &Store, mail: &Mail, token: &str) -> AppResult<LinkOutcome> {
    let Some(index) = tokens::check(mail.sealing().fingerprints(), Purpose::Unsubscribe, token)
    else {
        return Ok(LinkOutcome::Unknown);
    };
    let done = mail_recipients::unsubscribe(store.db(), index, now_micros()).await?;
    if done {
        tracing::info!("an address unsubscribed from reply notifications");
    }
    Ok(if done {
        LinkOutcome::Done
    } else {
        LinkOutcome::Unknown
    })
}
