//! The one pagination scheme: keyset on the UUIDv7 id, which sorts by
//! creation time. A cursor is the last id of the previous page, so pages
//! stay stable while rows are inserted.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    OldestFirst,
    NewestFirst,
}

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
    pub order: SortOrder,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Id of the last item, when more items follow.
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says
    /// that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_after,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after: self.next_after,
        }
    }
}

/// Every item of a paginated listing, oldest first, fetched page by page
/// (exports and other "all of it" reads).
pub fn all_pages<T, E>(
    mut fetch: impl FnMut(&PageRequest) -> Result<Page<T>, E>,
) -> Result<Vec<T>, E> {
    let mut out = Vec::new();
    let mut page = Some(PageRequest {
        limit: 200,
        after: None,
        order: SortOrder::OldestFirst,
    });
    while let Some(p) = page {
        let got = fetch(&p)?;
        page = got.next_after.clone().map(|after| PageRequest {
            after: Some(after),
            ..p.clone()
        });
        out.extend(got.items);
    }
    Ok(out)
}

/// Applies keyset pagination to a boxed query over a table with a text `id`.
macro_rules! paginate {
    ($query:expr, $id:expr, $page:expr) => {{
        let mut q = $query;
        match $page.order {
            $crate::pagination::SortOrder::OldestFirst => {
                if let Some(after) = &$page.after {
                    q = q.filter($id.gt(after.clone()));
                }
                q = q.order($id.asc());
            }
            $crate::pagination::SortOrder::NewestFirst => {
                if let Some(after) = &$page.after {
                    q = q.filter($id.lt(after.clone()));
                }
                q = q.order($id.desc());
            }
        }
        q.limit($page.limit + 1)
    }};
}
pub(crate) use paginate;
