//! Security headers on every response (OWASP secure headers for APIs):
//! no MIME sniffing, no framing, no referrer, no caching of personal data,
//! HSTS for the TLS terminator in front, and a CSP that allows nothing —
//! except for Swagger UI, which needs its own scripts and styles.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

const ALWAYS: &[(HeaderName, &str)] = &[
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    ),
];

/// For everything but the documentation pages: JSON needs no scripts.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let docs = req.path().starts_with("/swagger-ui");
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    for (name, value) in ALWAYS {
        headers.insert(name.clone(), HeaderValue::from_static(value));
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if docs { DOCS_CSP } else { API_CSP }),
    );
    // Responses carry personal data: no shared or browser caches keep
    // them unless a handler said otherwise (conditional requests still
    // work through ETags).
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
