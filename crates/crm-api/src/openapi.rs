//! The OpenAPI 3.1 document. Paths come from the handlers registered in
//! [`crate::startup::routes`] (utoipa-actix-web), so the spec cannot list
//! a route the server lacks; conventions shared by every operation (error
//! responses, roles, Idempotency-Key) are added here in one pass.

use crate::startup::routes;
use actix_web::App;
use serde_json::{json, Value};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hotel-crm",
        description = "Guest relationship and contract platform for hotels and B&Bs.\n\n\
            Authenticate with `POST /api/v1/auth/token`, then send `Authorization: Bearer <access_token>`. \
            Errors are RFC 9457 problem details with a stable `code`. Lists use cursor pagination \
            (`limit`, `cursor` → `next_cursor`). Writes take `Idempotency-Key` (POST) and `If-Match` (PATCH).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::error::ProblemField)),
    tags(
        (name = "health", description = "Liveness and readiness."),
        (name = "auth", description = "Tokens and the caller."),
        (name = "organization", description = "The caller's organisation."),
        (name = "properties", description = "Hotels and B&Bs (门店)."),
        (name = "users", description = "Staff accounts."),
        (name = "clients", description = "Integration clients (OTA channel managers, PMS)."),
        (name = "guests", description = "Guest profiles (客户档案)."),
        (name = "identity documents", description = "Encrypted identity documents (证件)."),
        (name = "consents", description = "Consent per purpose and channel (同意)."),
        (name = "privacy", description = "Export and erasure of a guest's data."),
        (name = "audit", description = "Who read or changed what."),
        (name = "inventory", description = "Room types, rate plans, overrides and availability."),
        (name = "reservations", description = "Bookings, cancellations, check-in and check-out (客房预订)."),
        (name = "channels", description = "Reservations pushed by channel managers and PMS systems."),
        (name = "webhooks", description = "Event subscriptions, signed deliveries and their log."),
        (name = "stays", description = "Stay history and guest statistics (入住记录)."),
        (name = "loyalty", description = "Loyalty programme, tiers, rewards, membership and the points ledger (会员, 积分)."),
        (name = "accounts", description = "Corporate clients, travel agencies, OTAs and long-stay guests (协议客户) and the guests who book for them."),
        (name = "segments", description = "Segments, guest insights (RFM, value class, travel purpose, churn risk) and their settings (客户细分)."),
        (name = "reports", description = "Reports as JSON, CSV or XLSX, and the dashboard (客户分析)."),
        (name = "contracts", description = "Contract templates, contracts, e-signature, amendments, performance and alerts (合同管理)."),
        (name = "messages", description = "Message templates per trigger, channel and language, previews, and each property's triggers (全周期沟通)."),
        (name = "surveys", description = "Satisfaction surveys: templates, the invitation after check-out, the public answer behind a signed link (满意度调查)."),
        (name = "reviews", description = "Online reviews and the hotel's replies (口碑)."),
        (name = "campaigns", description = "Campaigns to a segment: templates, schedule, budget and cost, coupons or packages, redemptions on bookings, attribution and ROI (营销活动)."),
        (name = "imports", description = "Guest data import from CSV and Excel (数据迁移): jobs with progress, column mapping presets, dry runs and per-row problem reports."),
        (name = "duplicates", description = "One profile per real person: duplicate candidates with scores and reasons, merge with preview, unmerge (重复客户合并)."),
        (name = "retention", description = "Retention policy: anonymise guests with no stay for N years (定期删除过期数据)."),
        (name = "tickets", description = "Complaints and service requests with SLA deadlines, escalation, compensation and staff notifications (投诉/服务工单)."),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

const ALL_ROLES: usize = 5;

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn add_response(op: &mut Value, status: &str, description: &str) {
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    }
}

/// Applies the conventions every operation shares.
fn apply_conventions(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let roles: Vec<String> = op
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|req| req.get("bearer_auth"))
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
            let secured = !roles.is_empty();
            if secured {
                let text = format!(
                    "**Roles:** {}.",
                    roles
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let description = match op.get("description").and_then(Value::as_str) {
                    Some(d) if !d.is_empty() => format!("{d}\n\n{text}"),
                    _ => text,
                };
                op["description"] = Value::String(description);
                op["x-roles"] = json!(roles);
                add_response(
                    op,
                    "401",
                    "Missing, invalid or expired token, or the account is disabled.",
                );
                if roles.len() < ALL_ROLES {
                    add_response(op, "403", "The caller's role may not do this.");
                }
            }
            if path.contains('{') {
                add_response(op, "404", "No such resource in the caller's organisation.");
            }
            let has_body = op.get("requestBody").is_some();
            if has_body {
                add_response(op, "400", "Malformed JSON.");
                add_response(op, "413", "Body larger than 1 MiB.");
                add_response(op, "415", "Body is not JSON.");
                add_response(op, "422", "Invalid fields; `errors` names each one.");
            }
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let has_query = params.iter().any(|p| p.get("in") == Some(&json!("query")));
            if has_query {
                add_response(op, "400", "Unknown or malformed query parameter.");
                add_response(op, "422", "Invalid query values; `errors` names each one.");
            }
            let has_if_match = params
                .iter()
                .any(|p| p.get("name").and_then(Value::as_str) == Some("If-Match"));
            if method == "patch" || has_if_match {
                add_response(op, "412", "`If-Match` does not match the current ETag.");
            }
            if method == "patch" {
                add_response(
                    op,
                    "409",
                    "Conflict with the current state (a code or e-mail taken, the last admin…).",
                );
            }
            if method == "post" && secured {
                let header = json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "Retrying with the same key and body within 24 h replays the first response; the same key with another body is 422.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
                });
                add_response(
                    op,
                    "400",
                    "Malformed Idempotency-Key (1 to 255 visible ASCII characters).",
                );
                add_response(
                    op,
                    "422",
                    "The Idempotency-Key was used for a different request.",
                );
                let list = op
                    .as_object_mut()
                    .map(|o| o.entry("parameters").or_insert_with(|| json!([])));
                if let Some(Value::Array(list)) = list {
                    list.push(header);
                }
                add_response(
                    op,
                    "409",
                    "Conflict (for example, the Idempotency-Key is still in use).",
                );
            }
            add_response(op, "500", "Unexpected error; quote X-Request-Id.");
        }
    }
}

/// The whole document, as served at `/api-docs/openapi.json` and committed
/// at `openapi/openapi.json`.
pub fn spec_json() -> Value {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    let mut value = serde_json::to_value(&api).unwrap_or(Value::Null);
    apply_conventions(&mut value);
    value
}

pub fn spec() -> utoipa::openapi::OpenApi {
    serde_json::from_value(spec_json()).unwrap_or_else(|_| ApiDoc::openapi())
}

pub fn spec_pretty() -> String {
    let mut text = serde_json::to_string_pretty(&spec_json()).unwrap_or_default();
    text.push('\n');
    text
}

/// A file in the response body (PDF, XLSX): `type: string, format:
/// binary`, which generated clients read as bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BinaryFile(pub Vec<u8>);
