//! `ApiJson<T>`: a JSON body whose errors name the offending field.

use crate::error::ApiError;
use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use crm_domain::FieldError;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct ApiJson<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Parses JSON; type and shape errors become 422 with the field path,
/// syntax errors 400.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::validation(vec![FieldError::new(
                if path == "." { String::new() } else { path },
                "invalid_value",
                strip_position(&inner.to_string()),
            )]),
            _ => ApiError::bad_request(
                "malformed_json",
                format!("The body is not valid JSON: {}", inner),
            ),
        }
    })
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_BODY_BYTES);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if too_large {
                return Err(body_too_large());
            }
            if !json {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Send the body as `Content-Type: application/json`.",
                ));
            }
            let bytes = body.await.map_err(|_| body_too_large())?;
            parse_json(&bytes).map(ApiJson)
        })
    }
}

pub fn body_too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "The body is larger than 1 MiB.",
    )
}

/// `current` with a merge patch applied, read back (and type-checked) as
/// the resource's write shape: how every PATCH starts.
pub fn apply_merge_patch<W: serde::Serialize + DeserializeOwned>(
    current: &W,
    patch: &serde_json::Value,
) -> Result<W, ApiError> {
    let mut doc = serde_json::to_value(current).map_err(ApiError::internal)?;
    merge_patch(&mut doc, patch);
    parse_json(doc.to_string().as_bytes())
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes,
/// anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(changes) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(map) = target {
                for (key, value) in changes {
                    if value.is_null() {
                        map.remove(key);
                    } else {
                        merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "tags": ["x"]});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "tags": ["y"], "n": 1}),
        );
        assert_eq!(
            doc,
            json!({"a": "z", "c": {"d": "e"}, "tags": ["y"], "n": 1})
        );
    }
}
