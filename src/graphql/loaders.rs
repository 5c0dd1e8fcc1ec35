//! Batch loaders: the articles, reply counts and first pages of replies of
//! a page of comments cost one query each, whatever the page's length, so a
//! thread read costs the same number of statements however many comments it
//! holds. They batch only; nothing is cached across requests.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DbErr;
use uuid::Uuid;

use crate::store::entities::{article, comment};
use crate::store::{Store, articles, comments};

/// Articles by id.
pub struct ArticleLoader(pub Store);

impl Loader<Uuid> for ArticleLoader {
    type Value = article::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = articles::find_by_ids(self.0.db(), keys)
            .await
            .map_err(Arc::new)?;
        Ok(found.into_iter().map(|a| (a.id, a)).collect())
    }
}

/// Approved direct replies by parent comment id.
pub struct ReplyCountLoader(pub Store);

impl Loader<Uuid> for ReplyCountLoader {
    type Value = u64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        comments::count_approved_replies(self.0.db(), keys)
            .await
            .map_err(Arc::new)
    }
}

/// The first page of a comment's approved replies (no cursor), of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirstReplies {
    pub parent: Uuid,
    pub first: u64,
}

/// First pages of replies: up to `first + 1` replies per parent, so the
/// resolver can tell whether another page follows.
pub struct RepliesLoader(pub Store);

impl Loader<FirstReplies> for RepliesLoader {
    type Value = Vec<comment::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[FirstReplies],
    ) -> Result<HashMap<FirstReplies, Self::Value>, Self::Error> {
        let mut by_size: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_size.entry(key.first).or_default().push(key.parent);
        }
        let mut pages: HashMap<FirstReplies, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (first, parents) in by_size {
            let rows = comments::first_replies(self.0.db(), &parents, first)
                .await
                .map_err(Arc::new)?;
            for row in rows {
                if let Some(parent) = row.parent_id
                    && let Some(page) = pages.get_mut(&FirstReplies { parent, first })
                {
                    page.push(row);
                }
            }
        }
        Ok(pages)
    }
}
