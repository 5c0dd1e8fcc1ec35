//! The root `Subscription`.

use async_graphql::{Context, Result, Subscription as SubscriptionObject};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::services;
use super::types::Comment;
use crate::domain::articles;
use crate::error::AppError;

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
}
