//! Batch loaders: the articles and reply counts of a page of comments cost
//! one query each, whatever the page's length. They batch only; nothing is
//! cached across requests.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DbErr;
use uuid::Uuid;

use crate::store::entities::article;
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
