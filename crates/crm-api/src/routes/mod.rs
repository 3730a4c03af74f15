pub mod accounts;
pub mod audit_events;
pub mod auth;
pub mod campaigns;
pub mod channels;
pub mod clients;
pub mod consents;
pub mod contract_alerts;
pub mod contract_templates;
pub mod contracts;
pub mod duplicates;
pub mod guests;
pub mod health;
pub mod identity_documents;
pub mod imports;
pub mod insights;
pub mod inventory;
pub mod loyalty;
pub mod membership;
pub mod merges;
pub mod messages;
pub mod organization;
pub mod ota;
pub mod privacy;
pub mod properties;
pub mod reports;
pub mod reservations;
pub mod retention;
pub mod reviews;
pub mod segments;
pub mod stays;
pub mod surveys;
pub mod tickets;
pub mod users;
pub mod webhooks;

use crate::error::ApiError;

/// Ids in paths are UUIDs; anything else cannot name a resource, so it is
/// a 404 like any unknown id.
pub fn path_id(raw: &str, not_found_code: &'static str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ApiError::not_found(not_found_code, what))
}

/// Maps a storage "not found" to the resource's own code.
pub fn or_not_found(code: &'static str, what: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |e| {
        if e.status == actix_web::http::StatusCode::NOT_FOUND {
            ApiError::not_found(code, what)
        } else {
            e
        }
    }
}

/// An optional id from a query parameter: absent, or a UUID (400
/// `invalid_parameter` otherwise).
pub fn query_id(
    raw: &Option<String>,
    name: &str,
) -> Result<Option<String>, crate::error::ApiError> {
    raw.as_deref()
        .map(|r| {
            uuid::Uuid::parse_str(r)
                .map(|u| u.to_string())
                .map_err(|_| {
                    crate::error::ApiError::bad_request(
                        "invalid_parameter",
                        format!("`{name}` is not an id."),
                    )
                })
        })
        .transpose()
}

/// An optional id in a body: absent, or a UUID (a field error otherwise).
pub fn body_id(errors: &mut crm_domain::Errors, field: &str, raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    match uuid::Uuid::parse_str(raw) {
        Ok(u) => Some(u.to_string()),
        Err(_) => {
            errors.push(crm_domain::FieldError::new(
                field,
                "invalid_id",
                "not an id",
            ));
            None
        }
    }
}
