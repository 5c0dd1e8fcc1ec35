//! The moderation log as moderators read it: every audited action, newest
//! first, narrowed by moderator, article, action or time, with who acted
//! and on which article.

use std::collections::HashMap;

use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Field};
use crate::store::audit::LogFilter;
use crate::store::entities::moderation_action;
use crate::store::{Store, articles, audit as stored_log, moderators};

use super::audit::Action;
use super::{Page, PageRequest};

/// What a page of the log is narrowed to, as asked for.
#[derive(Debug, Clone, Default)]
pub struct LogQuery<'a> {
    pub moderator_id: Option<&'a str>,
    pub article_slug: Option<&'a str>,
    pub action: Option<Action>,
    /// Microseconds since the Unix epoch.
    pub since: Option<i64>,
}

/// One entry, with the names a reader of the log needs.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub row: moderation_action::Model,
    pub action: Option<Action>,
    /// `None` for an author's own edit or withdrawal.
    pub moderator: Option<(Uuid, String)>,
    pub article_slug: Option<String>,
}

/// A page of the log. Moderators only.
pub async fn page(
    store: &Store,
    viewer: &Viewer,
    query: LogQuery<'_>,
    page: &PageRequest,
) -> AppResult<Page<LogEntry>> {
    viewer.require_moderator()?;
    let moderator_id = query
        .moderator_id
        .map(|raw| {
            super::id::parse(raw)
                .ok_or_else(|| AppError::bad_input(Field::ModeratorId, "not a valid id"))
        })
        .transpose()?;
    let article_id = super::articles::id_of(store, query.article_slug).await?;
    let filter = LogFilter {
        moderator_id,
        article_id,
        action: query.action.map(Action::as_str),
        since: query.since,
    };
    let found = stored_log::list(store.db(), &filter, page).await?;

    let moderator_ids: Vec<Uuid> = found.items.iter().filter_map(|r| r.moderator_id).collect();
    let article_ids: Vec<Uuid> = found.items.iter().filter_map(|r| r.article_id).collect();
    let names: HashMap<Uuid, String> = moderators::find_any_by_ids(store.db(), &moderator_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let slugs: HashMap<Uuid, String> = articles::find_by_ids(store.db(), &article_ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a.slug))
        .collect();
    Ok(Page {
        items: found
            .items
            .into_iter()
            .map(|row| LogEntry {
                action: Action::from_stored(&row.action),
                moderator: row
                    .moderator_id
                    .map(|id| (id, names.get(&id).cloned().unwrap_or_default())),
                article_slug: row.article_id.and_then(|id| slugs.get(&id).cloned()),
                row,
            })
            .collect(),
        has_next_page: found.has_next_page,
        has_previous_page: found.has_previous_page,
    })
}
