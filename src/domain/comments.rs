//! Posting a comment, and what readers may see of comments.

use std::net::IpAddr;

use uuid::Uuid;

use crate::error::{AppError, AppResult, Field};
use crate::events::{CommentEvents, QueueChange};
use crate::store::entities::comment;
use crate::store::{Store, articles, comments, now_micros};

use super::article_auto_create::ArticlePage;
use super::author_token::AuthorToken;
use super::email_privacy::Sealing;
use super::flood::{self, FloodPolicy};
use super::mail::Mail;
use super::moderation_rules::{self, Facts};
use super::moderation_settings::SettingsCache;
use super::{ArticleSlug, AuthorName, CommentBody, CommentStatus, Email};
use super::{article_policy as policy, formatting, id};

/// A new comment as a reader submits it, each value validated by its own
/// parser where it comes in ([`NewComment::parse`]).
#[derive(Debug, Clone)]
pub struct NewComment {
    pub article_slug: ArticleSlug,
    pub parent_id: Option<Uuid>,
    pub author_name: AuthorName,
    pub author_email: Email,
    pub body: CommentBody,
    /// Where the article is, for creating it on its first comment.
    pub page: ArticlePage,
    /// The token of the author's earlier comments, if they kept one.
    pub author_token: Option<AuthorToken>,
    /// Whether the author asked to be told of replies by mail.
    pub notify_replies: bool,
}

impl NewComment {
    /// Parses a submission, checking its fields in the order the form shows
    /// them; the first invalid one is the error.
    pub fn parse(
        article_slug: &str,
        parent_id: Option<&str>,
        author_name: &str,
        author_email: &str,
        body: &str,
        page: ArticlePage,
        author_token: Option<&str>,
    ) -> AppResult<Self> {
        Ok(Self {
            article_slug: ArticleSlug::parse_field(article_slug, Field::ArticleSlug)?,
            parent_id: parent_id
                .map(|raw| {
                    id::parse(raw)
                        .ok_or_else(|| AppError::bad_input(Field::ParentId, "not a valid id"))
                })
                .transpose()?,
            author_name: AuthorName::parse(author_name)?,
            author_email: Email::parse(author_email)?,
            body: CommentBody::parse(body)?,
            page,
            author_token: author_token.map(AuthorToken::parse).transpose()?,
            notify_replies: false,
        })
    }
}

/// The server's rules for posting, and where this post comes from.
pub struct PostRules<'a> {
    pub settings: &'a SettingsCache,
    pub flood: &'a FloodPolicy,
    pub sealing: &'a Sealing,
    pub client: Option<IpAddr>,
    /// The listed origins when the first comment on an unknown slug may
    /// create its article (`--article-auto-create`); `None` otherwise.
    pub auto_create: Option<&'a super::origins::CorsOrigins>,
    /// How mail is sent, where it is: reply notifications need it.
    pub mail: Option<&'a Mail>,
}

/// A stored comment and the author token its author gets back.
#[derive(Debug, Clone)]
pub struct Posted {
    pub comment: comment::Model,
    pub author_token: AuthorToken,
}

/// Validates and stores a new comment, with the status and reasons the
/// moderation rules give it (`moderation_rules`). An exact repeat (the same
/// body on the same article, whoever sends it) is refused, and so is a post
/// over the client address's flood limits. Nothing here reads the history
/// of the email given, except with the proof of an author token.
#[tracing::instrument(skip_all)]
pub async fn post(
    store: &Store,
    events: &CommentEvents,
    rules: PostRules<'_>,
    input: NewComment,
) -> AppResult<Posted> {
    let NewComment {
        article_slug: slug,
        parent_id,
        author_name: name,
        author_email: email,
        body,
        page,
        author_token,
        notify_replies,
    } = input;
    let fingerprints = rules.sealing.fingerprints();
    let mail = match (notify_replies, rules.mail) {
        (true, None) => {
            return Err(AppError::bad_input(
                Field::NotifyReplies,
                "reply notifications are not offered on this site",
            ));
        }
        (true, Some(mail)) => Some(mail),
        (false, _) => None,
    };
    // A client over its flood limits is refused before any costly work
    // (formatting, lookups); the check in the transaction below decides.
    flood::precheck(
        store.db(),
        rules.flood,
        fingerprints,
        rules.client,
        now_micros(),
    )
    .await?;
    let (article, to_create) = match articles::find_by_slug(store.db(), slug.as_str()).await? {
        Some(article) => (article, None),
        None => {
            let fresh =
                super::article_auto_create::article_to_create(rules.auto_create, &slug, &page)?;
            (fresh.clone(), Some(fresh))
        }
    };
    let settings = super::moderation_settings::current(store, events, rules.settings).await?;
    let formatted = formatting::format(body.as_str());
    // A token is kept only if Parley gave it (a comment carries it): a
    // client cannot pick one, say one that others might pick too.
    let kept = match author_token {
        Some(token) => {
            let key = token.key(fingerprints);
            comments::author_key_in_use(store.db(), &key)
                .await?
                .then_some((token, key))
        }
        None => None,
    };
    let (author_token, author_key) = kept.unwrap_or_else(|| {
        let token = AuthorToken::generate();
        let key = token.key(fingerprints);
        (token, key)
    });
    let decision = super::moderation_rules::decide(
        &settings,
        policy::mode_of(&article, &settings),
        &Facts {
            name: name.as_str(),
            email: email.as_str(),
            body: body.as_str(),
            links: formatted.links,
            banned: super::bans::is_banned(store.db(), fingerprints, email.as_str()).await?,
            proven_returning_author: policy::trusts(&settings, &article)
                && comments::approved_with_author_key(
                    store.db(),
                    &author_key,
                    &rules.sealing.blind_index(email.as_str()),
                    None,
                )
                .await?,
        },
    );
    let status = decision.status;

    let txn = store.begin_write().await?;
    let created = match to_create {
        Some(fresh) => super::article_auto_create::create(&txn, fresh).await?,
        None => false,
    };
    // The lock keeps moderators from closing the article, or from hiding or
    // deleting the parent, until this comment is stored. A held comment
    // changes nothing readers see, so a shared lock does and posters do not
    // wait for each other; a comment approved at once adds to the article's
    // count, so it takes the lock that writing the count needs from the
    // start (taking it later, under another poster's shared lock, would
    // deadlock on PostgreSQL).
    let article = if status == CommentStatus::Approved {
        articles::lock_for_update_by_slug(&txn, slug.as_str()).await?
    } else {
        articles::lock_shared_by_slug(&txn, slug.as_str()).await?
    }
    .ok_or(AppError::NotFound("article"))?;
    // The id and the stored time are taken together: the id's own time is
    // the comment's creation time.
    let now = now_micros();
    let id = Uuid::now_v7();
    if !policy::comments_open(&article, &settings, now) {
        return Err(AppError::CommentsClosed);
    }
    if let Some(parent_id) = parent_id {
        let parent = comments::find(&txn, parent_id).await?;
        let replyable = parent.is_some_and(|parent| {
            parent.article_id == article.id && parent.status == CommentStatus::Approved
        });
        if !replyable {
            return Err(AppError::bad_input(
                Field::ParentId,
                "replies must go to an approved comment of the same article",
            ));
        }
    }
    // Recognised by content alone: whether the email matched would tell a
    // stranger that its owner wrote this.
    if comments::exists_repeat(&txn, article.id, body.as_str()).await? {
        return Err(AppError::bad_input(
            Field::Body,
            "this comment has already been posted",
        ));
    }
    flood::admit(&txn, rules.flood, fingerprints, rules.client, now).await?;
    let sealed = rules.sealing.seal(id, email.as_str());
    let stored = comments::insert(
        &txn,
        comment::Model {
            id,
            article_id: article.id,
            parent_id,
            author_name: name.into_inner(),
            author_email: sealed.value,
            body: body.into_inner(),
            status,
            created_at: now,
            updated_at: now,
            approved_reply_count: 0,
            moderation_reasons: moderation_rules::to_stored(&decision.reasons),
            body_html: Some(formatted.html),
            author_key: Some(author_key),
            email_key_id: Some(sealed.key_id),
            email_index: Some(sealed.index),
            hidden_at: (status == CommentStatus::Hidden).then_some(now),
            notify_replies,
            reply_notified: false,
        },
    )
    .await?;
    let mut mailed = false;
    if let (Some(mail), Some(author_key)) = (mail, stored.author_key.as_deref()) {
        mailed |= super::mail::replies::ask(&txn, mail, email.as_str(), author_key, status).await?;
    }
    if status == CommentStatus::Approved
        && let Some(mail) = rules.mail
    {
        mailed |= super::mail::replies::reply_approved(&txn, mail, &stored).await?;
    }
    let approved = status == CommentStatus::Approved;
    let mut news = events.news();
    if created {
        news.article(article.id);
    }
    let queue = (!approved).then_some(QueueChange::Added);
    news.comment(&stored, approved, approved, queue);
    news.announce(&txn).await?;
    txn.commit().await?;
    news.publish();
    if mailed && let Some(mail) = rules.mail {
        mail.wake();
    }
    if created {
        tracing::info!(article = %article.id, "article created by its first comment");
    }
    tracing::info!(comment = %stored.id, article = %article.id, status = status.as_str(), "comment posted");
    Ok(Posted {
        comment: stored,
        author_token,
    })
}
