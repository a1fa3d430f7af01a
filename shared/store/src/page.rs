//! Pagination and sorting, already validated at the edge: the sort column comes from a
//! whitelist, never from the caller's text.

use tokio_postgres::{Row, Transaction, types::ToSql, types::Type};

use crate::StoreError;

/// A page request: 1-based page, at most 100 rows, a whitelisted sort column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub limit: i64,
    pub sort_column: &'static str,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        })
    }
}

impl Page {
    pub const MAX_LIMIT: i64 = 100;
    pub const DEFAULT_LIMIT: i64 = 20;

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.limit
    }
}

/// The total behind a listed page: the window count (`count(*) OVER ()`) in `column` of its
/// first row, without another query; a page past the end has no row, so then the rows are
/// counted with `count_sql` (its parameters `params`).
pub async fn total(
    tx: &Transaction<'_>,
    rows: &[Row],
    column: usize,
    count_sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<i64, StoreError> {
    match rows.first() {
        Some(row) => Ok(row.get(column)),
        None => {
            let counted = tx
                .query_typed(count_sql, params)
                .await
                .map_err(StoreError::query("counting the rows of a list"))?;
            Ok(counted.first().map_or(0, |row| row.get(0)))
        }
    }
}
