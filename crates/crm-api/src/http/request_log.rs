//! Request ids and the access log. A log line carries method, path (never
//! the query string, which may hold a searched name or phone), status,
//! latency and request id: no personal data.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id, available to handlers (for the audit log) through
/// request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| crm_domain::id::new_id().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path: String = req.path().chars().take(200).collect();
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let status = res.status();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        // The error's internal cause is logged here, with the request id the
        // client was given; the client saw only a generic problem.
        let cause = res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        log::error!(
            "{method} {path} {} {millis:.1}ms request_id={id} error={cause}",
            status.as_u16()
        );
    } else {
        log::info!(
            "{method} {path} {} {millis:.1}ms request_id={id}",
            status.as_u16()
        );
    }
    Ok(res)
}

impl actix_web::FromRequest for RequestId {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(crm_domain::id::new_id().to_string()));
        std::future::ready(Ok(id))
    }
}
