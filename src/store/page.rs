//! Keyset pagination: opaque cursors over `(created_at, id)` and the bounds
//! of a page request.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::error::{AppError, AppResult, Field};

/// A position in a list ordered by `(created_at, id)`. Encoded as opaque
/// base64url text; it carries nothing but the time and the comment id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    pub id: Uuid,
}

impl Cursor {
    const VERSION: &'static str = "c1";

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", Self::VERSION, self.created_at, self.id))
    }

    /// Decodes a cursor given as the argument `field`.
    pub fn decode(raw: &str, field: Field) -> AppResult<Self> {
        let invalid =
            || AppError::bad_input(field, "not a valid cursor; pass a cursor from pageInfo");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, ':');
        let (Some(Self::VERSION), Some(time), Some(id)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(Self {
            created_at: time.parse().map_err(|_| invalid())?,
            id: Uuid::parse_str(id).map_err(|_| invalid())?,
        })
    }
}

/// A validated request for one page: at most `first` items after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub const MAX_FIRST: i64 = 100;
    /// The page size when `first` is not given (or given as null).
    pub const DEFAULT_FIRST: i64 = 20;

    pub fn parse(first: i64, after: Option<&str>) -> AppResult<Self> {
        if !(0..=Self::MAX_FIRST).contains(&first) {
            return Err(AppError::bad_input(
                Field::First,
                format!("`first` must be between 0 and {}", Self::MAX_FIRST),
            ));
        }
        Ok(Self {
            first: first.unsigned_abs(),
            after: after
                .map(|raw| Cursor::decode(raw, Field::After))
                .transpose()?,
        })
    }
}

/// One page of items, in order, with whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` fetched rows: the extra row only
    /// says that another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, request: &PageRequest) -> Self {
        let has_next_page = rows.len() as u64 > request.first;
        rows.truncate(request.first as usize);
        Self {
            items: rows,
            has_next_page,
            has_previous_page: request.after.is_some(),
        }
    }
}

/// One page of `query`, newest first by `(created_at, id)`, after the
/// request's cursor: the keyset pagination of every newest-first list.
pub async fn newest_first<E>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    (created_at_column, id_column): (E::Column, E::Column),
    page: &PageRequest,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
{
    let mut query = query;
    if let Some(Cursor { created_at, id }) = page.after {
        let position = Expr::tuple([Expr::col(created_at_column), Expr::col(id_column)]);
        query = query.filter(position.lt(Expr::tuple([Expr::value(created_at), Expr::value(id)])));
    }
    let rows = query
        .order_by_desc(created_at_column)
        .order_by_desc(id_column)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

/// Up to `limit` rows after `after`, oldest first on `(created_at, id)`:
/// how an export walks a whole table in bounded memory.
pub async fn oldest_first<E>(
    db: &impl ConnectionTrait,
    (created_at_column, id_column): (E::Column, E::Column),
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
{
    let mut query = E::find();
    if let Some(Cursor { created_at, id }) = after {
        let position = Expr::tuple([Expr::col(created_at_column), Expr::col(id_column)]);
        query = query.filter(position.gt(Expr::tuple([Expr::value(created_at), Expr::value(id)])));
    }
    query
        .order_by_asc(created_at_column)
        .order_by_asc(id_column)
        .limit(limit)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            created_at: 1_764_000_000_123_456,
            id: Uuid::now_v7(),
        };
        assert_eq!(
            Cursor::decode(&cursor.encode(), Field::After).unwrap(),
            cursor
        );
    }

    #[test]
    fn malformed_cursors_are_bad_input_naming_the_argument() {
        let forged = URL_SAFE_NO_PAD.encode("c1:notanumber:x");
        for raw in ["", "%%%", "bm9wZQ", forged.as_str()] {
            let err = Cursor::decode(raw, Field::After).unwrap_err();
            assert!(
                matches!(
                    err,
                    AppError::BadUserInput {
                        field: Field::After,
                        ..
                    }
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn first_must_be_between_zero_and_one_hundred() {
        assert!(PageRequest::parse(0, None).is_ok());
        assert!(PageRequest::parse(100, None).is_ok());
        for first in [-1, 101, i64::from(i32::MAX) + 1, i64::MAX] {
            let err = PageRequest::parse(first, None).unwrap_err();
            assert!(matches!(
                err,
                AppError::BadUserInput {
                    field: Field::First,
                    ..
                }
            ));
        }
    }

    #[test]
    fn overfetched_row_only_signals_a_next_page() {
        let request = PageRequest::parse(2, None).unwrap();
        let page = Page::from_overfetch(vec![1, 2, 3], &request);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_next_page);
        assert!(!page.has_previous_page);
    }
}
