//! The root `Subscription`.

use async_graphql::{Context, Result, Subscription as SubscriptionObject};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use std::time::Duration;

use tokio::sync::broadcast;

use super::services;
use super::types::{Comment, ModerationQueueEvent};
use crate::auth::{Credentials, Viewer};
use crate::domain::articles;
use crate::error::AppError;

pub struct Subscription;

#[SubscriptionObject]
impl Subscription {
    /// Each comment of the article as it becomes visible to readers; never a
    /// pending one. On a moderator's socket the comments carry what
    /// moderators see, for as long as the token holds: when it stops (logout,
    /// password change, removal) the subscription ends within a second, with
    /// an UNAUTHENTICATED error.
    async fn comment_approved(
        &self,
        ctx: &Context<'_>,
        article_slug: String,
    ) -> Result<impl Stream<Item = Result<Comment>>> {
        let services = services(ctx);
        let watch = TokenWatch::of(ctx).await?;
        // The lookup waits its turn like any request; each event takes its
        // own (see `ExecutionTurns`).
        let turn = match ctx.data_opt::<super::ExecutionTurns>() {
            Some(turns) => turns.0.acquire().await.ok(),
            None => None,
        };
        let article = articles::find_by_slug(&services.store, &article_slug)
            .await?
            .ok_or(AppError::NotFound("article"))?;
        drop(turn);
        let feed = Feed::new(services.events.subscribe(), watch);
        Ok(feed.into_stream(move |comment| {
            (comment.article_id == article.id).then(|| Comment::from(comment))
        }))
    }

    /// Moderators only: each comment entering or leaving the moderation
    /// queue (posted and held or hidden, edited by its author, approved,
    /// hidden, deleted), with its reasons and email. Send the token in the
    /// `connection_init` payload (`{"Authorization": "Bearer …"}`); without a
    /// valid one the subscription is refused with UNAUTHENTICATED. When the
    /// token stops being valid (logout, password change, removal) the
    /// subscription ends within a second, with an UNAUTHENTICATED error.
    async fn moderation_queue_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<ModerationQueueEvent>>> {
        super::viewer(ctx).require_moderator()?;
        let watch = TokenWatch::of(ctx)
            .await?
            .ok_or(AppError::Unauthenticated("a moderator token is required"))?;
        let feed = Feed::new(services(ctx).events.subscribe_queue(), Some(watch));
        Ok(feed.into_stream(|event| Some(ModerationQueueEvent::from(event))))
    }
}

/// How often a privileged subscription checks that its token still holds.
const TOKEN_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// The bearer token a WebSocket presented in `connection_init`.
#[derive(Clone)]
pub struct SocketToken(pub String);

/// The moderator's token behind a subscription, checked when it starts and
/// every `TOKEN_CHECK_INTERVAL` after: what a moderator's socket sees
/// stops when the token stops.
struct TokenWatch {
    checks: tokio::time::Interval,
    credentials: SocketToken,
    store: crate::domain::Store,
    keys: crate::auth::TokenKeys,
}

impl TokenWatch {
    /// The watch of a moderator's socket, its token checked now (it may
    /// have been revoked since the socket opened); none for other sockets.
    async fn of(ctx: &Context<'_>) -> Result<Option<Self>> {
        let (Viewer::Moderator(_), Some(credentials)) =
            (super::viewer(ctx), ctx.data_opt::<SocketToken>())
        else {
            return Ok(None);
        };
        let services = services(ctx);
        let mut checks = tokio::time::interval(TOKEN_CHECK_INTERVAL);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let watch = Self {
            checks,
            credentials: credentials.clone(),
            store: services.store.clone(),
            keys: services.keys.clone(),
        };
        if !watch.still_valid().await {
            return Err(AppError::Unauthenticated("the token is no longer valid").into());
        }
        Ok(Some(watch))
    }

    /// Whether the token still names a moderator (not revoked, not removed,
    /// not older than a password change). A failed check counts as no.
    async fn still_valid(&self) -> bool {
        matches!(
            Credentials::Bearer(&self.credentials.0)
                .viewer(&self.store, &self.keys)
                .await,
            Ok(Viewer::Moderator(_))
        )
    }

    /// Resolves when the token is found no longer valid.
    async fn revoked(&mut self) {
        loop {
            self.checks.tick().await;
            if !self.still_valid().await {
                return;
            }
        }
    }
}

/// Events from a channel, for as long as the watched token (if any) holds.
struct Feed<T> {
    receiver: broadcast::Receiver<T>,
    watch: Option<TokenWatch>,
    ended: bool,
}

impl<T: Clone + Send + 'static> Feed<T> {
    fn new(receiver: broadcast::Receiver<T>, watch: Option<TokenWatch>) -> Self {
        Self {
            receiver,
            watch,
            ended: false,
        }
    }

    /// The events `pick` keeps, then an UNAUTHENTICATED error and the end
    /// when the token stops holding.
    fn into_stream<U: Send + 'static>(
        self,
        pick: impl Fn(T) -> Option<U> + Send + Sync + 'static,
    ) -> impl Stream<Item = Result<U>> {
        futures_util::stream::unfold((self, pick), |(mut feed, pick)| async move {
            if feed.ended {
                return None;
            }
            loop {
                let step = {
                    let Feed {
                        receiver, watch, ..
                    } = &mut feed;
                    let revoked = async {
                        match watch.as_mut() {
                            Some(watch) => watch.revoked().await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        event = receiver.recv() => Some(event),
                        () = revoked => None,
                    }
                };
                let item = match step {
                    Some(Ok(event)) => pick(event),
                    Some(Err(RecvError::Lagged(_))) => continue,
                    Some(Err(RecvError::Closed)) => return None,
                    None => {
                        feed.ended = true;
                        let error = AppError::Unauthenticated("the token is no longer valid");
                        return Some((Err(error.into()), (feed, pick)));
                    }
                };
                let Some(item) = item else { continue };
                // Each event for a moderator's socket is checked against the
                // token just before it goes out.
                if let Some(watch) = feed.watch.as_mut()
                    && !watch.still_valid().await
                {
                    feed.ended = true;
                    let error = AppError::Unauthenticated("the token is no longer valid");
                    return Some((Err(error.into()), (feed, pick)));
                }
                return Some((Ok(item), (feed, pick)));
            }
        })
    }
}
