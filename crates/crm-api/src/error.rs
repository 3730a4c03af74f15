//! The one API error type, rendered as RFC 9457 problem details.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use crm_domain::{DomainError, FieldError};
use crm_storage::StorageError;
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

/// RFC 9457 problem details. `code` is stable: clients switch on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:hotel-crm:problem:validation_failed",
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "The request has invalid fields.",
    "code": "validation_failed",
    "errors": [{"field": "phones[0].number", "code": "invalid_phone", "message": "not a valid phone number for its country"}]
}))]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
    /// Logged with the request id, never sent.
    pub internal: Option<String>,
    /// RFC 9457 extension members, e.g. `alternatives` of a full hotel.
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            internal: None,
            extensions: None,
        }
    }

    /// The same error with a more specific code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_extension(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extensions
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value);
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(code: &'static str, what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            code,
            format!("No {what} with that id in this organisation."),
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
            "The resource changed since you read it (If-Match does not match its ETag). Fetch it again and retry.",
        )
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        ApiError {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "The request has invalid fields.",
            )
        }
    }

    /// Well-formed, but not something that can be done as asked.
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many failed attempts. Wait before trying again.",
            )
        }
    }

    pub fn internal(why: impl fmt::Display) -> Self {
        ApiError {
            internal: Some(why.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side. Quote the X-Request-Id header when reporting it.",
            )
        }
    }

    pub fn unavailable(why: impl fmt::Display) -> Self {
        ApiError {
            internal: Some(why.to_string()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The service is temporarily unavailable. Retry shortly.",
            )
        }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:hotel-crm:problem:{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            errors: (!self.errors.is_empty()).then(|| {
                self.errors
                    .iter()
                    .map(|e| ProblemField {
                        field: e.field.clone(),
                        code: e.code.to_string(),
                        message: e.message.clone(),
                    })
                    .collect()
            }),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)?;
        if let Some(internal) = &self.internal {
            write!(f, ": {internal}")?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        let mut body = serde_json::to_value(self.problem()).unwrap_or_default();
        if let (Some(extra), Some(map)) = (&self.extensions, body.as_object_mut()) {
            for (k, v) in extra.iter() {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        res.body(body.to_string())
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        ApiError::validation(err.into_field_errors())
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
            }
            StorageError::VersionConflict => ApiError::precondition_failed(),
            StorageError::Duplicate { .. } => {
                ApiError::conflict("duplicate", "A record with these values already exists.")
            }
            StorageError::Pool(e) => ApiError::unavailable(e),
            other => ApiError::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::internal(err)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
