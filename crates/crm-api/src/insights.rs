//! Computing guest insights from what the database holds: the job writes
//! them for segments and reports, `GET /guests/{id}/insights` computes one
//! guest's live.

use crate::error::ApiError;
use crate::state::write_transaction;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use crm_domain::analytics::{
    churn, rfm, spend_band, stay_figures, travel_purpose, Churn, GuestFacts, Purpose, Rfm,
    StayFacts, StayFigures,
};
use crm_storage::guests::{self, Guest};
use crm_storage::insights::{
    self as store, set_text, AnalyticsSettings, InsightRow, StayMonthRow, StayRecord,
};
use crm_storage::{Database, DbConnection};
use std::collections::{HashMap, HashSet};

/// Everything known about one guest that insights read.
pub struct Inputs {
    pub stays: Vec<StayRecord>,
    pub membership: Option<(String, i32, i64)>,
    pub consents: Vec<String>,
    pub withdrew_profiling: bool,
    pub corporate: bool,
    /// Unresolved complaint tickets.
    pub open_complaints: i64,
    /// Average survey score, 1–5, if the guest answered any.
    pub satisfaction: Option<f64>,
}

/// The explainable part, for the API.
pub struct Computed {
    pub figures: StayFigures,
    pub rfm: Option<Rfm>,
    pub purpose: Option<Purpose>,
    pub churn: Option<Churn>,
}

fn stay_facts(stays: &[StayRecord], currency: &str) -> Vec<StayFacts> {
    stays
        .iter()
        .map(|s| {
            let own = s.currency == currency;
            StayFacts {
                arrival: s.arrival,
                departure: s.departure,
                nights: s.nights,
                revenue: if own { s.total_revenue } else { 0 },
                room_revenue: if own { s.room_revenue } else { 0 },
                channel: s.channel.clone(),
                adults: s.adults,
                children: s.children,
            }
        })
        .collect()
}

pub fn compute(inputs: &Inputs, settings: &AnalyticsSettings, today: NaiveDate) -> Computed {
    let facts = stay_facts(&inputs.stays, &settings.currency);
    let figures = stay_figures(&facts, today);
    if inputs.withdrew_profiling {
        return Computed {
            figures,
            rfm: None,
            purpose: None,
            churn: None,
        };
    }
    let guest = GuestFacts {
        corporate_account: inputs.corporate,
        open_complaints: inputs.open_complaints,
        satisfaction: inputs.satisfaction,
    };
    Computed {
        rfm: Some(rfm(&figures, &settings.settings, today)),
        purpose: travel_purpose(&facts, &guest),
        churn: churn(&figures, &guest, &settings.settings, today),
        figures,
    }
}

pub fn row(g: &Guest, inputs: &Inputs, c: &Computed, now: DateTime<Utc>) -> InsightRow {
    let p = &g.profile;
    let f = &c.figures;
    let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let reasons = |r: Option<&Vec<String>>| r.map(|r| serde_json::to_string(r).unwrap_or_default());
    InsightRow {
        guest_id: g.id.clone(),
        org_id: g.org_id.clone(),
        gender: p
            .gender
            .and_then(|x| serde_json::to_value(x).ok())
            .and_then(|v| v.as_str().map(str::to_string)),
        nationality: p.nationality.as_ref().map(|n| n.as_str().to_string()),
        language: p.language.as_ref().map(|l| l.as_str().to_string()),
        city: p.address.as_ref().and_then(|a| a.city.clone()),
        birthday: p.birthday,
        birthday_month: p.birthday.map(|b| b.month() as i32),
        resident: p.resident,
        blacklisted: g.blacklist.is_some(),
        created_on: g.created_at.date_naive(),
        consents: set_text(inputs.consents.iter().map(String::as_str)),
        channels: set_text(inputs.stays.iter().map(|s| s.channel.as_str())),
        properties: set_text(inputs.stays.iter().map(|s| s.property_id.as_str())),
        tier_code: inputs.membership.as_ref().map(|m| m.0.clone()),
        tier_rank: inputs.membership.as_ref().map(|m| m.1),
        points_balance: inputs.membership.as_ref().map_or(0, |m| m.2),
        stays: to_i32(f.stays),
        nights: to_i32(f.nights),
        spend: f.spend,
        average_rate: f.average_rate,
        first_stay_on: f.first_stay_on,
        last_stay_on: f.last_stay_on,
        first_stay_month: f
            .first_stay_on
            .map(|d| format!("{:04}-{:02}", d.year(), d.month())),
        usual_interval_days: f.usual_interval_days.map(to_i32),
        stays_last_12_months: to_i32(f.stays_last_12_months),
        stays_previous_12_months: to_i32(f.stays_previous_12_months),
        main_channel: f.main_channel.clone(),
        acquisition_channel: f.acquisition_channel.clone(),
        profiled: !inputs.withdrew_profiling,
        rfm_recency: c.rfm.as_ref().map(|r| to_i32(r.recency)),
        rfm_frequency: c.rfm.as_ref().map(|r| to_i32(r.frequency)),
        rfm_monetary: c.rfm.as_ref().map(|r| to_i32(r.monetary)),
        value_class: c.rfm.as_ref().map(|r| r.value_class.as_str().to_string()),
        rfm_reasons: reasons(c.rfm.as_ref().map(|r| &r.reasons)),
        travel_purpose: c.purpose.as_ref().map(|p| p.purpose.as_str().to_string()),
        purpose_reasons: reasons(c.purpose.as_ref().map(|p| &p.reasons)),
        churn_score: c.churn.as_ref().map(|ch| to_i32(ch.score)),
        churn_grade: c.churn.as_ref().map(|ch| ch.grade.as_str().to_string()),
        churn_reasons: reasons(c.churn.as_ref().map(|ch| &ch.reasons)),
        spend_band: spend_band(f.spend).to_string(),
        computed_at: now.naive_utc(),
    }
}

/// The months a guest stayed in, counted from the month of the first
/// stay: the guest's cells of the retention cohorts.
pub fn stay_months(g: &Guest, inputs: &Inputs, c: &Computed) -> Vec<StayMonthRow> {
    let Some(first) = c.figures.first_stay_on else {
        return vec![];
    };
    let index = |d: NaiveDate| d.year() * 12 + d.month() as i32;
    let cohort = format!("{:04}-{:02}", first.year(), first.month());
    let mut months: Vec<i32> = inputs
        .stays
        .iter()
        .filter(|s| s.arrival >= first)
        .map(|s| index(s.arrival) - index(first))
        .collect();
    months.sort_unstable();
    months.dedup();
    months
        .into_iter()
        .map(|m| StayMonthRow {
            org_id: g.org_id.clone(),
            guest_id: g.id.clone(),
            months_after: m,
            cohort_month: cohort.clone(),
        })
        .collect()
}

/// Reads the inputs of these guests (a few queries for the whole batch).
pub fn inputs_of(
    conn: &mut DbConnection,
    org: &str,
    ids: &[String],
) -> Result<HashMap<String, Inputs>, ApiError> {
    let mut stays: HashMap<String, Vec<StayRecord>> = HashMap::new();
    for s in store::stays_of(conn, org, ids)? {
        stays.entry(s.guest_id.clone()).or_default().push(s);
    }
    let memberships = store::memberships_of(conn, org, ids)?;
    let (mut consents, withdrew) = store::consents_of(conn, org, ids)?;
    let corporate: HashSet<String> = store::corporate_guests(conn, org, ids)?;
    let complaints = crm_storage::tickets::open_complaints(conn, org, ids)?;
    let satisfaction = crm_storage::surveys::satisfaction_of(conn, org, ids)?;
    Ok(ids
        .iter()
        .map(|id| {
            (
                id.clone(),
                Inputs {
                    stays: stays.remove(id).unwrap_or_default(),
                    membership: memberships.get(id).cloned(),
                    consents: consents.remove(id).unwrap_or_default(),
                    withdrew_profiling: withdrew.contains(id),
                    corporate: corporate.contains(id),
                    open_complaints: complaints.get(id).copied().unwrap_or(0),
                    satisfaction: satisfaction.get(id).copied(),
                },
            )
        })
        .collect())
}

/// Recomputes and stores the insights of these guests in one transaction.
pub fn refresh_guests(
    db: &Database,
    org: &str,
    ids: &[String],
    settings: &AnalyticsSettings,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    write_transaction(db, |conn| {
        let guests = guests::find_many(conn, org, ids)?;
        let mut inputs = inputs_of(conn, org, ids)?;
        let mut rows = Vec::with_capacity(guests.len());
        let mut months = Vec::new();
        let mut gone = Vec::new();
        for g in &guests {
            // Erased guests and tombstones of merges are not analysed.
            if g.erased_at.is_some() || g.merged_into.is_some() {
                gone.push(g.id.clone());
                continue;
            }
            let Some(i) = inputs.remove(&g.id) else {
                continue;
            };
            let c = compute(&i, settings, today);
            months.extend(stay_months(g, &i, &c));
            rows.push(row(g, &i, &c, now));
        }
        store::replace(conn, org, &rows, &months, &gone)?;
        Ok(rows.len())
    })
}

const BATCH: i64 = 500;

/// The insights job for one organisation: every guest (`full`), or those
/// changed since the last run began (with a margin for changes that were
/// committing while it ran). Returns how many were recomputed.
pub fn run(
    db: &Database,
    org: &str,
    full: bool,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let settings = db.read(|conn| store::settings(conn, org))?;
    let last = db.read(|conn| store::last_run(conn, org))?;
    let mut done = 0;
    match last.filter(|_| !full) {
        Some(last) => {
            let since = last - Duration::minutes(5);
            let mut ids: Vec<String> = db
                .read(|conn| {
                    let mut ids = store::related_changes_since(conn, org, since)?;
                    ids.extend(guests::changed_since(conn, org, since)?);
                    ids.extend(crm_storage::tickets::guests_with_tickets_since(
                        conn, org, since,
                    )?);
                    Ok(ids)
                })?
                .into_iter()
                .collect();
            ids.sort();
            for chunk in ids.chunks(BATCH as usize) {
                done += refresh_guests(db, org, chunk, &settings, today, now)?;
            }
        }
        None => {
            let mut after = String::new();
            loop {
                let ids = db.read(|conn| guests::ids_after(conn, org, &after, BATCH))?;
                let Some(last) = ids.last() else { break };
                after = last.clone();
                done += refresh_guests(db, org, &ids, &settings, today, now)?;
            }
        }
    }
    Ok(done)
}
