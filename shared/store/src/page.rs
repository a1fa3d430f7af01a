//! Pagination and sorting, already validated at the edge: the sort column comes from a
//! whitelist, never from the caller's text.

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
