//! Batch loaders: the articles and first pages of replies of a page of
//! comments cost one query each, whatever the page's length, so a thread
//! read costs the same number of statements however many comments it holds.
//! (Reply counts are stored on each comment.) They batch only; nothing is
//! cached across requests.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::domain::Store;
use crate::domain::email_privacy::Emails;
use crate::domain::threads::{self, StoredArticle, ThreadComment};
use crate::error::AppError;

/// Articles by id.
pub struct ArticleLoader(pub Store);

impl Loader<Uuid> for ArticleLoader {
    type Value = StoredArticle;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = threads::articles_by_id(&self.0, keys)
            .await
            .map_err(Arc::new)?;
        Ok(found.into_iter().map(|a| (a.id, a)).collect())
    }
}

/// The first page of a comment's approved replies (no cursor), of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirstReplies {
    pub article: Uuid,
    pub parent: Uuid,
    pub first: u64,
    pub emails: Emails,
}

/// First pages of replies: up to `first + 1` replies per parent, so the
/// resolver can tell whether another page follows.
pub struct RepliesLoader(pub Store);

impl Loader<FirstReplies> for RepliesLoader {
    type Value = Vec<ThreadComment>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[FirstReplies],
    ) -> Result<HashMap<FirstReplies, Self::Value>, Self::Error> {
        let mut batches: HashMap<(Uuid, u64, Emails), Vec<Uuid>> = HashMap::new();
        for key in keys {
            batches
                .entry((key.article, key.first, key.emails))
                .or_default()
                .push(key.parent);
        }
        let mut pages: HashMap<FirstReplies, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for ((article, first, emails), parents) in batches {
            let rows = threads::first_replies(&self.0, article, &parents, first, emails)
                .await
                .map_err(Arc::new)?;
            for row in rows {
                let Some(parent) = row.parent_id else {
                    continue;
                };
                let key = FirstReplies {
                    article,
                    parent,
                    first,
                    emails,
                };
                if let Some(page) = pages.get_mut(&key) {
                    page.push(row);
                }
            }
        }
        Ok(pages)
    }
}
