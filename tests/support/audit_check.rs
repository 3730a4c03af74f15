//! The audit check every black-box test runs when it ends: each change
//! made through the API (a POST, PUT, PATCH or DELETE answered 2xx) and
//! each read of sensitive data must have written an audit event under the
//! request's `X-Request-Id`. A handler that forgets to audit fails every
//! test that touches it.

use crate::Response;
use crm_storage::schema::audit_events;
use crm_storage::Database;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;

/// Requests that answer 2xx and change nothing, with why ("POST 200":
/// only when they answer 200).
const CHANGES_NOTHING: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/segments/preview", "counts a rule"),
    (
        "POST 200",
        "/api/v1/accounts/{}/guests",
        "the guest was linked before",
    ),
    (
        "POST 200",
        "/api/v1/guests/{}/points/bonuses",
        "granted before: the first entry is returned",
    ),
    ("POST", "/api/v1/segments/{}/preview", "counts a segment"),
    ("POST", "/api/v1/guests/{}/merge/preview", "shows a merge"),
    (
        "POST",
        "/api/v1/message-templates/{}/preview",
        "renders a template",
    ),
];

/// Reads of personal data that are audited: a document number in full
/// and the exports.
const SENSITIVE_READS: &[&str] = &[
    "/api/v1/guests/{}/identity-documents/{}",
    "/api/v1/guests/{}/export",
    "/api/v1/segments/{}/export",
];

#[derive(Debug)]
struct Request {
    what: String,
    request_id: String,
}

#[derive(Default)]
pub(crate) struct Seen(Mutex<Vec<Request>>);

/// `/api/v1/guests/{}/export` matches `/api/v1/guests/0192…/export`.
fn matches(pattern: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| *p == "{}" || p == a)
}

fn changes_nothing(method: &Method, path: &str, sent: Option<&Value>, res: &Response) -> bool {
    if res.header("idempotent-replayed").is_some() || path.contains("dry_run=true") {
        return true;
    }
    // A channel message already applied, overtaken by a newer one, or
    // about a booking that does not exist (only the message log has it).
    if path.starts_with("/api/v1/channels/")
        && (res.body["replayed"] == true
            || matches!(
                res.body["outcome"].as_str(),
                Some("stale" | "unchanged" | "cancel_remembered" | "already_cancelled")
            ))
    {
        return true;
    }
    // Logins are audited; a refresh continues the session one started.
    if path == "/api/v1/auth/token" {
        return sent.is_some_and(|b| b["grant_type"] == "refresh_token");
    }
    let with_status = format!("{method} {}", res.status.as_u16());
    CHANGES_NOTHING
        .iter()
        .any(|(m, p, _)| (*m == method.as_str() || *m == with_status) && matches(p, path))
}

impl Seen {
    pub(crate) fn remember(
        &self,
        method: &Method,
        path: &str,
        sent: Option<&Value>,
        res: &Response,
    ) {
        if !res.status.is_success() {
            return;
        }
        let change = matches!(
            *method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        let sensitive = *method == Method::GET && SENSITIVE_READS.iter().any(|p| matches(p, path));
        if !(change || sensitive) || (change && changes_nothing(method, path, sent, res)) {
            return;
        }
        let Some(request_id) = res.header("x-request-id") else {
            panic!("{method} {path}: no X-Request-Id");
        };
        let path = path.split('?').next().unwrap_or(path);
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Request {
                what: format!("{method} {path} → {}", res.status.as_u16()),
                request_id,
            });
    }

    pub(crate) fn forget(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub(crate) fn check(&self, db: &Database) {
        let seen = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if seen.is_empty() {
            return;
        }
        let ids: Vec<String> = seen.iter().map(|r| r.request_id.clone()).collect();
        let audited: HashSet<String> = ids
            .chunks(500)
            .flat_map(|chunk| {
                db.read(|conn| {
                    Ok(audit_events::table
                        .filter(audit_events::request_id.eq_any(chunk))
                        .select(audit_events::request_id)
                        .load::<Option<String>>(conn)?)
                })
                .expect("audit events can be read")
            })
            .flatten()
            .collect();
        let missing: Vec<&str> = seen
            .iter()
            .filter(|r| !audited.contains(&r.request_id))
            .map(|r| r.what.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "changes or sensitive reads without an audit event:\n  {}",
            missing.join("\n  ")
        );
    }
}
