//! Reports (客户分析报表): guest structure, channel mix, spend distribution,
//! repeat-stay rate (复住率), retention cohorts, lifetime value by
//! acquisition channel, churn risk, loyalty liability — as JSON, CSV or
//! XLSX, for a property and a date range — and the home screen's figures.

use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::table::{Cell, Format, Table};
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use crm_domain::analytics::age_band;
use crm_storage::insights;
use crm_storage::reports::{self as store, ReportScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Only this property's stays (and guests who stayed there).
    pub property_id: Option<String>,
    /// Stays arriving on or after this date.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Stays arriving on or before this date.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// `json` (default), `csv` or `xlsx`.
    #[param(inline)]
    pub format: Option<Format>,
}

impl ReportParams {
    fn scope(&self) -> Result<ReportScope, ApiError> {
        let property_id = match &self.property_id {
            Some(p) => Some(
                uuid::Uuid::parse_str(p)
                    .map_err(|_| {
                        ApiError::bad_request(
                            "invalid_property_id",
                            "`property_id` is a property id.",
                        )
                    })?
                    .to_string(),
            ),
            None => None,
        };
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f > t {
                return Err(ApiError::bad_request(
                    "invalid_range",
                    "`from` is after `to`.",
                ));
            }
        }
        Ok(ReportScope {
            property_id,
            from: self.from,
            to: self.to,
        })
    }
}

fn share(part: i64, whole: i64) -> Cell {
    if whole == 0 {
        Cell::Null
    } else {
        Cell::Float(part as f64 / whole as f64)
    }
}

async fn run(
    state: &web::Data<AppState>,
    org: String,
    params: &ReportParams,
    build: impl FnOnce(
            &mut crm_storage::DbConnection,
            &str,
            &ReportScope,
            NaiveDate,
        ) -> Result<Table, ApiError>
        + Send
        + 'static,
) -> ApiResult<HttpResponse> {
    let scope = params.scope()?;
    let format = params.format.unwrap_or_default();
    let today = state.clock.now().date_naive();
    let table = state
        .read_replica(move |conn| build(conn, &org, &scope, today))
        .await?;
    table.respond(format)
}

macro_rules! report {
    ($fn:ident, $path:literal, $id:literal, $summary:literal, $build:expr) => {
        #[doc = $summary]
        #[utoipa::path(
            operation_id = $id,
            tag = "reports",
            security(("bearer_auth" = ["admin", "manager", "marketing"])),
            params(ReportParams),
            responses((status = 200, description = "The report: JSON `{report, columns, rows}`, or a CSV/XLSX file.", content(
                (serde_json::Value = "application/json"),
                (String = "text/csv"),
                (crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )))
        )]
        #[get($path)]
        pub async fn $fn(
            auth: Auth<roles::Marketers>,
            state: web::Data<AppState>,
            q: web::Query<ReportParams>,
        ) -> ApiResult<HttpResponse> {
            run(&state, auth.org_id.clone(), &q, $build).await
        }
    };
}

report!(
    guest_structure,
    "/reports/guest-structure",
    "reportGuestStructure",
    "Guests by tier, value class, travel purpose, nationality, gender, age band and churn grade.",
    |conn, org, scope, today| {
        let mut t = Table::new(
            "guest-structure",
            &["dimension", "value", "guests", "share"],
        );
        for dim in [
            "tier",
            "value_class",
            "travel_purpose",
            "nationality",
            "gender",
            "churn_grade",
        ] {
            let mut rows = store::guests_by(conn, org, scope, dim)?;
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let total: i64 = rows.iter().map(|r| r.1).sum();
            for (value, n) in rows {
                t.push(vec![
                    dim.into(),
                    value.unwrap_or_else(|| "unknown".into()).into(),
                    Cell::Int(n),
                    share(n, total),
                ]);
            }
        }
        let mut bands: std::collections::BTreeMap<&str, i64> = Default::default();
        for (birthday, n) in store::guests_by_birthday(conn, org, scope)? {
            *bands.entry(age_band(birthday, today)).or_default() += n;
        }
        let total: i64 = bands.values().sum();
        for (band, n) in bands {
            t.push(vec![
                "age_band".into(),
                band.into(),
                Cell::Int(n),
                share(n, total),
            ]);
        }
        Ok(t)
    }
);

report!(
    channel_mix,
    "/reports/channel-mix",
    "reportChannelMix",
    "Reservations (and those cancelled), stays, room-nights and revenue per channel.",
    |conn, org, scope, _today| {
        let currency = insights::settings(conn, org)?.currency;
        let stays = store::stays_by_channel(conn, org, scope, &currency)?;
        let reservations = store::reservations_by_channel(conn, org, scope)?;
        let revenue_total: i64 = stays.iter().map(|s| s.3).sum();
        let mut channels: Vec<String> = stays.iter().map(|s| s.0.clone()).collect();
        channels.extend(reservations.iter().map(|r| r.0.clone()));
        channels.sort();
        channels.dedup();
        let mut t = Table::new(
            "channel-mix",
            &[
                "channel",
                "reservations",
                "cancelled",
                "stays",
                "room_nights",
                "revenue",
                "currency",
                "revenue_share",
            ],
        );
        for c in channels {
            let (res, cancelled) = reservations
                .iter()
                .find(|r| r.0 == c)
                .map_or((0, 0), |r| (r.1, r.2));
            let (n, nights, revenue) = stays
                .iter()
                .find(|s| s.0 == c)
                .map_or((0, 0, 0), |s| (s.1, s.2, s.3));
            t.push(vec![
                c.into(),
                Cell::Int(res),
                Cell::Int(cancelled),
                Cell::Int(n),
                Cell::Int(nights),
                Cell::Int(revenue),
                currency.clone().into(),
                share(revenue, revenue_total),
            ]);
        }
        Ok(t)
    }
);

/// Spend bands, in order.
const BANDS: [&str; 6] = [
    "0",
    "1_999",
    "1000_4999",
    "5000_19999",
    "20000_49999",
    "50000_plus",
];

report!(
    spend_distribution,
    "/reports/spend-distribution",
    "reportSpendDistribution",
    "Guests and their spend per lifetime-spend band (major units of the main currency).",
    |conn, org, scope, _today| {
        let rows = store::spend_bands(conn, org, scope)?;
        let total: i64 = rows.iter().map(|r| r.1).sum();
        let mut t = Table::new("spend-distribution", &["band", "guests", "share", "spend"]);
        for band in BANDS {
            let (n, spend) = rows
                .iter()
                .find(|r| r.0 == band)
                .map_or((0, 0), |r| (r.1, r.2));
            t.push(vec![
                band.into(),
                Cell::Int(n),
                share(n, total),
                Cell::Int(spend),
            ]);
        }
        Ok(t)
    }
);

report!(
    repeat_stay_rate,
    "/reports/repeat-stay-rate",
    "reportRepeatStayRate",
    "复住率: of the guests with a stay in the range, the share with two or more.",
    |conn, org, scope, _today| {
        let (guests, repeat) = store::repeat_guests(conn, org, scope)?;
        let mut t = Table::new(
            "repeat-stay-rate",
            &["guests_with_stays", "repeat_guests", "repeat_rate"],
        );
        t.push(vec![
            Cell::Int(guests),
            Cell::Int(repeat),
            share(repeat, guests),
        ]);
        Ok(t)
    }
);

report!(
    retention_cohorts,
    "/reports/retention-cohorts",
    "reportRetentionCohorts",
    "Guests by month of first stay, and how many of them stayed again n months later (the range filters the first stay).",
    |conn, org, scope, _today| {
        let rows = store::cohorts(conn, org, scope)?;
        let mut size: std::collections::HashMap<String, i64> = Default::default();
        for (cohort, after, n) in &rows {
            if *after == 0 {
                size.insert(cohort.clone(), *n);
            }
        }
        let mut cells: Vec<(String, i64, i64)> = rows
            .into_iter()
            .filter(|(_, after, _)| *after >= 0)
            .map(|(c, after, n)| (c, i64::from(after), n))
            .collect();
        cells.sort();
        let mut t = Table::new("retention-cohorts", &["cohort", "months_after", "guests", "retention"]);
        for (c, offset, n) in cells {
            let whole = size.get(&c).copied().unwrap_or(0);
            t.push(vec![c.into(), Cell::Int(offset), Cell::Int(n), share(n, whole)]);
        }
        Ok(t)
    }
);

report!(
    lifetime_value,
    "/reports/lifetime-value",
    "reportLifetimeValue",
    "Lifetime value by acquisition channel (the channel of the first stay): guests, total and average spend and stays.",
    |conn, org, scope, _today| {
        let currency = insights::settings(conn, org)?.currency;
        let rows = store::value_by_acquisition_channel(conn, org, scope)?;
        let mut t = Table::new(
            "lifetime-value",
            &["acquisition_channel", "guests", "total_spend", "average_lifetime_value", "average_stays", "currency"],
        );
        for (channel, guests, spend, stays) in rows {
            t.push(vec![
                channel.unwrap_or_else(|| "unknown".into()).into(),
                Cell::Int(guests),
                Cell::Int(spend),
                (guests > 0).then(|| spend / guests).into(),
                (guests > 0).then(|| stays as f64 / guests as f64).into(),
                currency.clone().into(),
            ]);
        }
        Ok(t)
    }
);

report!(
    churn_risk,
    "/reports/churn-risk",
    "reportChurnRisk",
    "Guests per churn-risk grade (流失预警); guests never profiled count as unknown.",
    |conn, org, scope, _today| {
        let rows = store::guests_by(conn, org, scope, "churn_grade")?;
        let total: i64 = rows.iter().map(|r| r.1).sum();
        let mut t = Table::new("churn-risk", &["grade", "guests", "share"]);
        for grade in ["high", "medium", "low"] {
            let n = rows
                .iter()
                .find(|r| r.0.as_deref() == Some(grade))
                .map_or(0, |r| r.1);
            t.push(vec![grade.into(), Cell::Int(n), share(n, total)]);
        }
        let unknown = rows.iter().find(|r| r.0.is_none()).map_or(0, |r| r.1);
        t.push(vec![
            "unknown".into(),
            Cell::Int(unknown),
            share(unknown, total),
        ]);
        Ok(t)
    }
);

report!(
    loyalty_liability,
    "/reports/loyalty-liability",
    "reportLoyaltyLiability",
    "Points outstanding per tier, and the points expiring within 90 days (the range does not apply).",
    |conn, org, _scope, today| {
        let (tiers, expiring) = store::points_liability(conn, org, today + chrono::Duration::days(90))?;
        let total: i64 = tiers.iter().map(|r| r.2).sum();
        let mut t = Table::new("loyalty-liability", &["tier", "members", "points", "share"]);
        for (tier, members, points) in tiers {
            t.push(vec![tier.into(), Cell::Int(members), Cell::Int(points), share(points, total)]);
        }
        t.push(vec!["all".into(), Cell::Null, Cell::Int(total), share(total, total)]);
        t.push(vec!["expiring_within_90_days".into(), Cell::Null, Cell::Int(expiring), share(expiring, total)]);
        Ok(t)
    }
);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardParams {
    pub property_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardDto {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub guests: i64,
    pub new_guests_this_month: i64,
    pub members: i64,
    pub arrivals_today: i64,
    pub in_house: i64,
    pub departures_today: i64,
    pub rooms: i64,
    pub rooms_sold_tonight: i64,
    /// rooms sold ÷ rooms; `null` without rooms.
    pub occupancy_tonight: Option<f64>,
    pub stays_this_month: i64,
    pub revenue_this_month: crate::routes::reservations::Money,
    pub vip_guests: i64,
    pub high_churn_guests: i64,
}

/// The app's home screen: today's arrivals, in-house and departures,
/// occupancy tonight, this month's guests, stays and revenue, VIPs and
/// guests at high churn risk.
#[utoipa::path(
    operation_id = "getDashboard",
    tag = "reports",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(DashboardParams),
    responses((status = 200, description = "The figures.", body = DashboardDto))
)]
#[get("/reports/dashboard")]
pub async fn dashboard(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<DashboardParams>,
) -> ApiResult<HttpResponse> {
    let property = match &q.property_id {
        Some(p) => Some(
            uuid::Uuid::parse_str(p)
                .map_err(|_| {
                    ApiError::bad_request("invalid_property_id", "`property_id` is a property id.")
                })?
                .to_string(),
        ),
        None => None,
    };
    let now = state.clock.now();
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let org = auth.org_id.clone();
    let dto = state
        .read_replica(move |conn| {
            let currency = insights::settings(conn, &org)?.currency;
            let d = store::dashboard(
                conn,
                &org,
                property.as_deref(),
                today,
                month_start,
                month_start.and_hms_opt(0, 0, 0).unwrap_or_default(),
                &currency,
            )?;
            Ok::<_, ApiError>(DashboardDto {
                date: today,
                occupancy_tonight: (d.rooms > 0)
                    .then(|| d.rooms_sold_tonight as f64 / d.rooms as f64),
                guests: d.guests,
                new_guests_this_month: d.new_guests_this_month,
                members: d.members,
                arrivals_today: d.arrivals_today,
                in_house: d.in_house,
                departures_today: d.departures_today,
                rooms: d.rooms,
                rooms_sold_tonight: d.rooms_sold_tonight,
                stays_this_month: d.stays_this_month,
                revenue_this_month: crate::routes::reservations::Money {
                    amount: d.revenue_this_month,
                    currency,
                },
                vip_guests: d.vip_guests,
                high_churn_guests: d.high_churn_guests,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// Ticket KPIs of one group (a staff member or a property).
#[derive(Default)]
struct Kpi {
    tickets: i64,
    open: i64,
    resolved: i64,
    breached: i64,
    ack_minutes: Vec<i64>,
    resolve_minutes: Vec<i64>,
    attained: i64,
    missed: i64,
    reopened: i64,
}

fn average(v: &[i64]) -> Cell {
    if v.is_empty() {
        Cell::Null
    } else {
        Cell::Float(v.iter().sum::<i64>() as f64 / v.len() as f64)
    }
}

report!(
    ticket_kpis,
    "/reports/ticket-kpis",
    "reportTicketKpis",
    "Complaint and service-request KPIs per assigned staff member and per property, for tickets created in the range: counts, average minutes to acknowledge and to resolve (first resolution), SLA attainment (resolved within the target, of those resolved or already past it) and the reopen rate.",
    |conn, org, scope, today| {
        use chrono::{TimeZone, Utc};
        use std::collections::BTreeMap;
        let day = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
        let (from, to) = scope.dates();
        let facts = crm_storage::tickets::kpi_facts(conn, org, scope.property_id.as_deref(), from, to)?;
        let mut groups: BTreeMap<(&str, String), Kpi> = BTreeMap::new();
        let start_of_today = day(today);
        for f in &facts {
            let mut keys = vec![("property", f.property_id.clone())];
            keys.push(("assignee", f.assignee_id.clone().unwrap_or_else(|| "unassigned".into())));
            for key in keys {
                let k = groups.entry(key).or_default();
                k.tickets += 1;
                if f.status.is_open() {
                    k.open += 1;
                }
                if f.breached {
                    k.breached += 1;
                }
                if let Some(a) = f.acknowledged_at {
                    k.ack_minutes.push((a - f.created_at).num_minutes());
                }
                match f.first_resolved_at {
                    Some(r) => {
                        k.resolved += 1;
                        k.resolve_minutes.push((r - f.created_at).num_minutes());
                        if r <= f.resolve_due {
                            k.attained += 1;
                        } else {
                            k.missed += 1;
                        }
                        if f.reopen_count > 0 {
                            k.reopened += 1;
                        }
                    }
                    None if f.resolve_due < start_of_today => k.missed += 1,
                    None => {}
                }
            }
        }
        let names: BTreeMap<String, String> = crm_storage::users::with_roles(
            conn,
            org,
            &[
                crm_domain::role::Role::Admin,
                crm_domain::role::Role::Manager,
                crm_domain::role::Role::FrontDesk,
                crm_domain::role::Role::Marketing,
            ],
        )?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
        let mut t = Table::new(
            "ticket-kpis",
            &[
                "group",
                "key",
                "name",
                "tickets",
                "open",
                "resolved",
                "breached",
                "minutes_to_acknowledge",
                "minutes_to_resolve",
                "sla_attainment",
                "reopen_rate",
            ],
        );
        for ((group, key), k) in groups {
            let name = if group == "assignee" {
                names.get(&key).cloned().map_or(Cell::Null, Cell::from)
            } else {
                crm_storage::properties::find(conn, org, &key)
                    .map(|p| Cell::from(p.name))
                    .unwrap_or(Cell::Null)
            };
            t.push(vec![
                group.into(),
                key.into(),
                name,
                Cell::Int(k.tickets),
                Cell::Int(k.open),
                Cell::Int(k.resolved),
                Cell::Int(k.breached),
                average(&k.ack_minutes),
                average(&k.resolve_minutes),
                share(k.attained, k.attained + k.missed),
                share(k.reopened, k.resolved),
            ]);
        }
        Ok(t)
    }
);

report!(
    satisfaction,
    "/reports/satisfaction",
    "reportSatisfaction",
    "Survey satisfaction per property and month of answer: responses, the average of each dimension (1–5) and the net promoter score (−100 to 100).",
    |conn, org, scope, _today| {
        use crm_domain::survey::{net_promoter_score, Dimension};
        let (from, to) = scope.dates();
        let cells = crm_storage::surveys::satisfaction(conn, org, scope.property_id.as_deref(), from, to)?;
        let mut columns = vec!["property_id", "month", "responses"];
        columns.extend(Dimension::ALL.iter().map(|d| d.as_str()));
        columns.extend(["nps", "nps_answers"]);
        let mut t = Table::new("satisfaction", &columns);
        for ((property, month), c) in cells {
            let mut row: Vec<Cell> = vec![property.into(), month.into(), Cell::Int(c.responses)];
            for (sum, n) in c.dimensions {
                row.push(if n == 0 {
                    Cell::Null
                } else {
                    Cell::Float(sum as f64 / n as f64)
                });
            }
            row.push(
                net_promoter_score(c.promoters, c.detractors, c.nps_answers)
                    .map_or(Cell::Null, Cell::Float),
            );
            row.push(Cell::Int(c.nps_answers));
            t.push(row);
        }
        Ok(t)
    }
);

report!(
    review_ratings,
    "/reports/review-ratings",
    "reportReviewRatings",
    "Online reviews per property, month and site: how many and their average score (0–100, comparable across sites' scales).",
    |conn, org, scope, _today| {
        let (from, to) = scope.dates();
        let cells = crm_storage::surveys::review_ratings(conn, org, scope.property_id.as_deref(), from, to)?;
        let mut t = Table::new(
            "review-ratings",
            &["property_id", "month", "source", "reviews", "average_score"],
        );
        for ((property, month, source), (n, sum)) in cells {
            t.push(vec![
                property.into(),
                month.into(),
                source.into(),
                Cell::Int(n),
                Cell::Float(sum as f64 / n as f64),
            ]);
        }
        Ok(t)
    }
);
