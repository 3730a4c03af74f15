//! `Idempotency-Key` on POST: the first request with a key runs and its
//! response is stored; the same key and body within 24 h replays it; the
//! same key with another body is 422; a retry while the first is still
//! running is 409. Keys are scoped to the caller (organisation + principal).
//!
//! A node can die between the request's commit and storing its response.
//! So every write transaction of the request (through [`AppState::write`])
//! also marks the claim as applied: a claim left without a response is
//! run again only when it has no marker and its lease
//! (`HOTEL_CRM_IDEMPOTENCY_LEASE_SECS`) has passed; with the marker the
//! retry is told the request was applied (409 `idempotency_outcome_unknown`)
//! and nothing runs twice.
//!
//! [`AppState::write`]: crate::state::AppState::write

use crate::auth::principal::verify_bearer;
use crate::crypto::sha256_hex;
use crate::error::ApiError;
use crate::http::json::{body_too_large, MAX_BODY_BYTES};
use crate::state::AppState;
use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use chrono::Duration;
use crm_storage::idempotency::{self, Claim, StoredResponse};

pub const HEADER: &str = "idempotency-key";

/// The claim of the request being served, for [`current_claim`].
#[derive(Debug, Clone)]
pub struct ClaimKey {
    pub org_id: String,
    pub principal_id: String,
    pub key: String,
}

tokio::task_local! {
    static CLAIM: ClaimKey;
}

/// The idempotency claim of the request this task serves, if it has one.
pub fn current_claim() -> Option<ClaimKey> {
    CLAIM.try_with(Clone::clone).ok()
}
const KEPT_HEADERS: [&str; 3] = ["content-type", "location", "etag"];

fn error_response(req: ServiceRequest, err: ApiError) -> ServiceResponse<BoxBody> {
    let res = actix_web::ResponseError::error_response(&err);
    req.into_response(res)
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = match req.headers().get(HEADER) {
        Some(v) if req.method() == Method::POST => v.to_str().ok().map(str::to_string),
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    };
    let Some(key) =
        key.filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
    else {
        let err = ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        );
        return Ok(error_response(req, err));
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    // Without a valid token the route answers 401 itself; nothing to remember.
    let Ok(claims) = verify_bearer(req.request(), &state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let body = match req.extract::<web::Bytes>().await {
        Ok(b) if b.len() <= MAX_BODY_BYTES => b,
        _ => return Ok(error_response(req, body_too_large())),
    };
    let fingerprint = sha256_hex(
        [
            req.method().as_str().as_bytes(),
            b" ",
            req.uri().to_string().as_bytes(),
            b"\n",
            &body,
        ]
        .concat()
        .as_slice(),
    );
    let now = state.clock.now();
    let (org, principal, k, fp) = (
        claims.org.clone(),
        claims.sub.clone(),
        key.clone(),
        fingerprint.clone(),
    );
    let db = state.db.clone();
    let lease = state.settings.idempotency_lease;
    let claim = web::block(move || {
        db.write(|conn| {
            idempotency::claim(
                conn,
                &org,
                &principal,
                &k,
                &fp,
                now,
                now - Duration::hours(24),
                now - lease,
            )
        })
    })
    .await
    .map_err(ApiError::from)
    .and_then(|r| r.map_err(ApiError::from));
    match claim {
        Err(e) => Ok(error_response(req, e)),
        Ok(Claim::Seen { request_hash, .. }) if request_hash != fingerprint => Ok(error_response(
            req,
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request. Use a new key for a new request.",
            ),
        )),
        // Applied, and no response stored within the lease: the node that
        // ran it stopped before answering. (Within the lease it is still
        // answering: 409 in use, below.)
        Ok(Claim::Seen {
            response: None,
            applied: true,
            created_at,
            ..
        }) if created_at < now - lease => Ok(error_response(
            req,
            ApiError::conflict(
                "idempotency_outcome_unknown",
                "The request with this Idempotency-Key was applied, but its response was lost (the server stopped before sending it). Read the resource to see the outcome; do not send it again with a new key.",
            ),
        )),
        Ok(Claim::Seen { response: None, .. }) => Ok(error_response(
            req,
            ApiError::conflict(
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being processed. Retry shortly.",
            ),
        )),
        Ok(Claim::Seen { response: Some(stored), .. }) => {
            let mut res = HttpResponse::build(StatusCode::from_u16(stored.status_code).unwrap_or(StatusCode::OK));
            for (name, value) in &stored.headers {
                if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
                    res.insert_header((n, v));
                }
            }
            res.insert_header(("idempotent-replayed", "true"));
            Ok(req.into_response(res.body(stored.body)))
        }
        Ok(Claim::Claimed) => {
            let (_, mut payload) = actix_http::h1::Payload::create(true);
            payload.unread_data(body);
            req.set_payload(payload.into());
            let claim_key = ClaimKey {
                org_id: claims.org.clone(),
                principal_id: claims.sub.clone(),
                key: key.clone(),
            };
            let res = CLAIM.scope(claim_key, next.call(req)).await?;
            let status = res.status();
            let (org, principal) = (claims.org, claims.sub);
            if status.is_server_error() {
                let db = state.db.clone();
                let _ = web::block(move || db.write(|conn| idempotency::release(conn, &org, &principal, &key))).await;
                return Ok(res.map_into_boxed_body());
            }
            let (http_req, http_res) = res.into_parts();
            let headers: Vec<(String, String)> = KEPT_HEADERS
                .iter()
                .filter_map(|h| {
                    http_res
                        .headers()
                        .get(*h)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| (h.to_string(), v.to_string()))
                })
                .collect();
            let (head, body) = http_res.into_parts();
            let bytes = to_bytes(body).await.unwrap_or_default();
            let stored = StoredResponse {
                status_code: status.as_u16(),
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            };
            let db = state.db.clone();
            let saved = web::block(move || db.write(|conn| idempotency::complete(conn, &org, &principal, &key, &stored))).await;
            if !matches!(saved, Ok(Ok(()))) {
                log::warn!("could not store an idempotent response; a retry will run the request again");
            }
            let res = head.set_body(BoxBody::new(bytes));
            Ok(ServiceResponse::new(http_req, res))
        }
    }
}
