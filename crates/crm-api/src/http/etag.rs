use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{dev::Payload, FromRequest, HttpRequest};

/// A strong ETag for a resource version.
pub fn etag_for(version: i32) -> String {
    format!("\"{version}\"")
}

/// The `If-Match` header of a write, if any.
#[derive(Debug, Clone)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// With `If-Match`, the write goes ahead only when it names the current
    /// version (or `*`); without it the write goes ahead (last writer
    /// wins). Returns the version the storage layer must still find.
    pub fn check(&self, current_version: i32) -> Result<i32, ApiError> {
        let Some(value) = &self.0 else {
            return Ok(current_version);
        };
        let matches = value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag_for(current_version));
        if matches {
            Ok(current_version)
        } else {
            Err(ApiError::precondition_failed())
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match req.headers().get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(v) => v
                .to_str()
                .map(|s| IfMatch(Some(s.to_string())))
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_if_match",
                        "If-Match must be an ETag such as \"3\".",
                    )
                }),
        })
    }
}
