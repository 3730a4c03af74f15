use crate::auth::{roles, Auth};
use crate::error::ApiResult;
use crate::http::{ListResponse, PageParams};
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_storage::audit::{self, AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-0000000000e1", "actor_kind": "user",
    "actor_id": "019ab1c2-0000-7000-8000-000000000001", "action": "identity_document.read",
    "entity_type": "identity_document", "entity_id": "019ab1c2-0000-7000-8000-0000000000d1",
    "request_id": "019ab1c2-0000-7000-8000-0000000000f1", "changed_fields": [],
    "created_at": "2026-11-24T08:30:00Z"
}))]
pub struct AuditEventDto {
    pub id: String,
    /// `user`, `client` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub request_id: Option<String>,
    /// Names of the fields changed; never their values.
    pub changed_fields: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        AuditEventDto {
            id: e.id,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            request_id: e.request_id,
            changed_fields: e.changed_fields,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only events about this entity (e.g. a guest id).
    pub entity_id: Option<String>,
    /// Only this action, e.g. `guest.updated`.
    pub action: Option<String>,
    /// Only events by this user or client.
    pub actor_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` or `-created_at` (default: newest first).
    pub sort: Option<String>,
}

/// Read the audit log: who read or changed what, and when.
#[utoipa::path(
    operation_id = "listAuditEvents",
    tag = "audit",
    security(("bearer_auth" = ["admin"])),
    params(AuditParams),
    responses((status = 200, description = "A page of audit events.", body = ListResponse<AuditEventDto>))
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
    q: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let page = PageParams::request(
        q.limit,
        q.cursor.as_deref(),
        Some(q.sort.as_deref().unwrap_or("-created_at")),
    )?;
    let filter = AuditFilter {
        entity_id: q.entity_id,
        action: q.action,
        actor_id: q.actor_id,
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| audit::list(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, AuditEventDto::from)))
}
