use crate::error::ApiError;
use base64::Engine;
use crm_storage::pagination::{Page, PageRequest, SortOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The list envelope every collection returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    pub fn from_page<S>(page: Page<S>, f: impl FnMut(S) -> T) -> Self {
        let next_cursor = page.next_after.as_deref().map(encode_cursor);
        ListResponse {
            data: page.items.into_iter().map(f).collect(),
            next_cursor,
        }
    }
}

/// `limit`, `cursor` and `sort`: the query of a list with no filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// Turns `limit`, `cursor` and `sort` into a storage page request.
pub struct PageParams;

impl PageParams {
    pub fn request(
        limit: Option<i64>,
        cursor: Option<&str>,
        sort: Option<&str>,
    ) -> Result<PageRequest, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("`limit` must be between 1 and {MAX_LIMIT}."),
            ));
        }
        let order = match sort {
            None | Some("created_at") => SortOrder::OldestFirst,
            Some("-created_at") => SortOrder::NewestFirst,
            Some(other) => {
                return Err(ApiError::bad_request(
                    "invalid_sort",
                    format!("Cannot sort by `{other}`; use `created_at` or `-created_at`."),
                ))
            }
        };
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(PageRequest {
            limit,
            after,
            order,
        })
    }
}

fn encode_cursor(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid =
        || ApiError::bad_request("invalid_cursor", "The cursor is not one this API returned.");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let id = text.strip_prefix("v1:").ok_or_else(invalid)?;
    uuid::Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let id = "019a0000-0000-7000-8000-000000000001";
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("bm9wZQ").is_err());
        assert!(decode_cursor("!!").is_err());
        assert!(PageParams::request(Some(0), None, None).is_err());
        assert!(PageParams::request(Some(201), None, None).is_err());
        assert!(PageParams::request(None, None, Some("name")).is_err());
    }
}
