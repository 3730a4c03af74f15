use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgresql` (only on /ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sqlite")]
    pub database: Option<&'static str>,
}

/// Liveness: the process answers.
#[utoipa::path(
    operation_id = "getHealth",
    tag = "health",
    security(()),
    responses((status = 200, description = "The process is alive.", body = HealthStatus))
)]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    operation_id = "getReady",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Ready to serve.", body = HealthStatus),
        (status = 503, description = "The database is unreachable.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let backend = db.backend().name();
    web::block(move || db.ping())
        .await?
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(HealthStatus {
        status: "ok",
        database: Some(backend),
    }))
}
