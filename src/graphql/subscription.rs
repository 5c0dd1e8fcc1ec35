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
use crate::events::QueueEvent;

pub struct Subscription;

#[SubscriptionObject]
impl Subscription {
    /// Each comment of the article as it becomes visible to readers; never a
    /// pending one.
    async fn comment_approved(
        &self,
        ctx: &Context<'_>,
        article_slug: String,
    ) -> Result<impl Stream<Item = Comment>> {
        let services = services(ctx);
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
        let receiver = services.events.subscribe();
        Ok(futures_util::stream::unfold(
            receiver,
            move |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(comment) if comment.article_id == article.id => {
                            return Some((Comment::from(comment), receiver));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
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
        let services = services(ctx);
        super::viewer(ctx).require_moderator()?;
        let credentials = ctx
            .data_opt::<SocketToken>()
            .cloned()
            .ok_or(AppError::Unauthenticated("a moderator token is required"))?;
        let receiver = services.events.subscribe_queue();
        let mut checks = tokio::time::interval(TOKEN_CHECK_INTERVAL);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let state = QueueFeed {
            receiver,
            checks,
            credentials,
            store: services.store.clone(),
            keys: services.keys.clone(),
            ended: false,
        };
        Ok(futures_util::stream::unfold(
            state,
            |mut state| async move {
                if state.ended {
                    return None;
                }
                loop {
                    tokio::select! {
                        event = state.receiver.recv() => match event {
                            Ok(event) => return Some((Ok(ModerationQueueEvent::from(event)), state)),
                            Err(RecvError::Lagged(_)) => continue,
                            Err(RecvError::Closed) => return None,
                        },
                        _ = state.checks.tick() => {
                            if !state.still_valid().await {
                                state.ended = true;
                                let error = AppError::Unauthenticated("the token is no longer valid");
                                return Some((Err(error.into()), state));
                            }
                        }
                    }
                }
            },
        ))
    }
}

/// How often a privileged subscription checks that its token still holds.
const TOKEN_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// The bearer token a WebSocket presented in `connection_init`.
#[derive(Clone)]
pub struct SocketToken(pub String);

struct QueueFeed {
    receiver: broadcast::Receiver<QueueEvent>,
    checks: tokio::time::Interval,
    credentials: SocketToken,
    store: crate::domain::Store,
    keys: crate::auth::TokenKeys,
    ended: bool,
}

impl QueueFeed {
    /// Whether the token still names a moderator (not revoked, not removed,
    /// not older than a password change). A failed check ends the feed too.
    async fn still_valid(&self) -> bool {
        matches!(
            Credentials::Bearer(&self.credentials.0)
                .viewer(&self.store, &self.keys)
                .await,
            Ok(Viewer::Moderator(_))
        )
    }
}
