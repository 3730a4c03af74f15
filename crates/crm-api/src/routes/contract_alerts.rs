//! Contract alerts: expiry reminders (90/60/30 days), production pace
//! under the contract's threshold, bookings at another rate than the
//! negotiated one, nights where the allotment is used up. Raised by the
//! `contract-alerts` job and on demand (`POST /contract-alerts/scan`),
//! once per contract, kind and period, each with a webhook event.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{ListResponse, PageParams, RequestId};
use crate::routes::contracts::performance;
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use crm_domain::contract::{expiry_window, ContractStatus};
use crm_storage::contracts::{self as store, AlertFilter, AlertRow};
use crm_storage::DbConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The validity ends within 90, 60 or 30 days: time to renew.
    Expiring,
    /// Room-nights produced are under the contract's share of the
    /// pro-rata commitment.
    PaceBelowThreshold,
    /// Room-nights booked under the contract at another amount than the
    /// negotiated rate (a month of them per alert).
    RateViolation,
    /// Nights where the rooms booked under the contract reach its allotment
    /// (a month of them per alert).
    AllotmentExhausted,
}

impl AlertKind {
    fn as_str(self) -> &'static str {
        match self {
            AlertKind::Expiring => "expiring",
            AlertKind::PaceBelowThreshold => "pace_below_threshold",
            AlertKind::RateViolation => "rate_violation",
            AlertKind::AllotmentExhausted => "allotment_exhausted",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDto {
    pub id: String,
    pub contract_id: String,
    pub kind: String,
    /// What makes it one alert: the reminder window (`90`), the month
    /// (`2027-03`).
    pub period: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// `open` or `acknowledged`.
    pub status: String,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
}

impl From<AlertRow> for AlertDto {
    fn from(a: AlertRow) -> Self {
        AlertDto {
            details: serde_json::from_str(&a.details).unwrap_or(serde_json::Value::Null),
            id: a.id,
            contract_id: a.contract_id,
            kind: a.kind,
            period: a.period_key,
            message: a.message,
            status: a.status,
            raised_at: a.raised_at.and_utc(),
            acknowledged_at: a.acknowledged_at.map(|t| t.and_utc()),
            acknowledged_by: a.acknowledged_by,
        }
    }
}

/// An alert the scan found due.
struct Due {
    contract_id: String,
    kind: AlertKind,
    period: String,
    message: String,
    details: serde_json::Value,
}

fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// What is due for one contract on `today`.
fn due_for(
    conn: &mut DbConnection,
    org: &str,
    contract_id: &str,
    today: NaiveDate,
) -> Result<Vec<Due>, ApiError> {
    let contract = store::find_contract(conn, org, contract_id)?;
    let terms = store::terms(conn, org, contract_id, contract.current_version)?;
    let mut due = Vec::new();
    let code = &contract.code;
    if let Some(window) = expiry_window(terms.valid_to, today) {
        due.push(Due {
            contract_id: contract_id.to_string(),
            kind: AlertKind::Expiring,
            period: window.to_string(),
            message: format!(
                "Contract {code} ends on {} (within {window} days): time to renew.",
                terms.valid_to
            ),
            details: serde_json::json!({"valid_to": terms.valid_to, "days_left": (terms.valid_to - today).num_days()}),
        });
    }
    let perf = performance(conn, org, contract_id, today)?;
    // Pace means little in the first tenth of the validity.
    if let Some(ratio) = perf.pace.ratio.filter(|_| perf.pace.elapsed >= 0.1) {
        if ratio * 100.0 < f64::from(terms.pace_alert_percent) {
            due.push(Due {
                contract_id: contract_id.to_string(),
                kind: AlertKind::PaceBelowThreshold,
                period: month_of(today),
                message: format!(
                    "Contract {code} has produced {} room-nights where {} were expected by now ({:.0} %, threshold {} %).",
                    perf.pace.produced_room_nights,
                    perf.pace.expected_by_now,
                    ratio * 100.0,
                    terms.pace_alert_percent
                ),
                details: serde_json::to_value(perf.pace).unwrap_or_default(),
            });
        }
    }
    for m in perf.months.iter().filter(|m| m.off_rate_room_nights > 0) {
        due.push(Due {
            contract_id: contract_id.to_string(),
            kind: AlertKind::RateViolation,
            period: m.month.clone(),
            message: format!(
                "Contract {code}: {} room-night(s) in {} booked at another rate than the negotiated one.",
                m.off_rate_room_nights, m.month
            ),
            details: serde_json::json!({"month": m.month, "off_rate_room_nights": m.off_rate_room_nights}),
        });
    }
    if let Some(allotment) = terms.allotment_per_night {
        let nights = store::nights_at_allotment(conn, org, contract_id, allotment, today)?;
        let mut months: Vec<(String, Vec<NaiveDate>)> = Vec::new();
        for n in nights {
            match months.last_mut() {
                Some((m, list)) if *m == month_of(n) => list.push(n),
                _ => months.push((month_of(n), vec![n])),
            }
        }
        for (month, list) in months {
            due.push(Due {
                contract_id: contract_id.to_string(),
                kind: AlertKind::AllotmentExhausted,
                period: month.clone(),
                message: format!(
                    "Contract {code}: the allotment of {allotment} rooms is used up on {} night(s) in {month}.",
                    list.len()
                ),
                details: serde_json::json!({"allotment_per_night": allotment, "nights": list}),
            });
        }
    }
    Ok(due)
}

/// Scans the organisation's active contracts and raises what is due and
/// new, each in the transaction of its audit event and webhook event.
/// Returns the alerts raised.
pub fn scan(
    db: &crm_storage::Database,
    actor: &Actor,
    org: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<AlertRow>, ApiError> {
    let contracts = db.read(|conn| store::contracts_in(conn, org, &[ContractStatus::Active]))?;
    let mut raised = Vec::new();
    for c in contracts {
        let due = due_for(&mut *db.connection()?, org, &c.id, today)?;
        for d in due {
            let alert = AlertRow {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.to_string(),
                contract_id: d.contract_id,
                kind: d.kind.as_str().to_string(),
                period_key: d.period,
                message: d.message,
                details: d.details.to_string(),
                status: "open".into(),
                raised_at: now.naive_utc(),
                acknowledged_at: None,
                acknowledged_by: None,
            };
            let new = crate::state::write_transaction(db, |conn| {
                if !store::raise_alert(conn, &alert)? {
                    return Ok(false);
                }
                actor.record(
                    conn,
                    now,
                    "contract.alert_raised",
                    "contract_alert",
                    &alert.id,
                    &[],
                )?;
                Ok(true)
            })?;
            if new {
                raised.push(alert);
            }
        }
    }
    Ok(raised)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertListParams {
    pub contract_id: Option<String>,
    #[param(inline)]
    pub kind: Option<AlertKind>,
    /// `open` or `acknowledged`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List contract alerts.
#[utoipa::path(
    operation_id = "listContractAlerts",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(AlertListParams),
    responses((status = 200, description = "A page of alerts.", body = ListResponse<AlertDto>))
)]
#[get("/contract-alerts")]
pub async fn list_alerts(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    q: web::Query<AlertListParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    if q.status
        .as_deref()
        .is_some_and(|s| s != "open" && s != "acknowledged")
    {
        return Err(ApiError::bad_request(
            "invalid_status",
            "`status` is `open` or `acknowledged`.",
        ));
    }
    let filter = AlertFilter {
        contract_id: q.contract_id.as_deref().map(|c| {
            uuid::Uuid::parse_str(c)
                .map(|u| u.to_string())
                .unwrap_or_default()
        }),
        kind: q.kind.map(|k| k.as_str().to_string()),
        status: q.status.clone(),
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list_alerts(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, AlertDto::from)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    /// The alerts this scan raised (already raised ones are not repeated).
    pub raised: Vec<AlertDto>,
}

/// Scan the active contracts now and raise the alerts that are due.
#[utoipa::path(
    operation_id = "scanContractAlerts",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    responses((status = 200, description = "What was raised.", body = ScanResult))
)]
#[post("/contract-alerts/scan")]
pub async fn scan_alerts(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let (db, org, by) = (state.db.clone(), auth.org_id.clone(), actor.clone());
    let raised = web::block(move || scan(&db, &by, &org, now.date_naive(), now))
        .await
        .map_err(ApiError::internal)??;
    actor
        .record_alone(&state, "job.run", "job", "contract-alert-scan".into())
        .await?;
    Ok(HttpResponse::Ok().json(ScanResult {
        raised: raised.into_iter().map(AlertDto::from).collect(),
    }))
}

/// Acknowledge an alert: someone is on it.
#[utoipa::path(
    operation_id = "acknowledgeContractAlert",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("alert_id" = String, Path, description = "Alert id")),
    responses((status = 200, description = "Acknowledged.", body = AlertDto))
)]
#[post("/contract-alerts/{alert_id}/acknowledge")]
pub async fn acknowledge_alert(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_alert_not_found", "contract alert")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let a = state
        .write(move |conn| {
            let current = store::find_alert(conn, &org, &id).map_err(|e| {
                or_not_found("contract_alert_not_found", "contract alert")(e.into())
            })?;
            if current.status == "acknowledged" {
                return Ok(current);
            }
            store::acknowledge_alert(conn, &org, &id, &actor.principal.id, now)?;
            actor.record(
                conn,
                now,
                "contract.alert_acknowledged",
                "contract_alert",
                &id,
                &["status"],
            )?;
            Ok(store::find_alert(conn, &org, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AlertDto::from(a)))
}
