//! The retention policy's job: guests with no stay for N years (and no
//! open booking) are anonymised exactly as an erasure request would; a dry
//! run reports who would be.

use crate::audit::Actor;
use crate::error::ApiError;
use crate::state::write_transaction;
use chrono::{DateTime, Months, Utc};
use crm_storage::{guests, retention, Database};
use serde::Serialize;

const BATCH: i64 = 200;
/// Ids shown in a report.
const SAMPLE: usize = 100;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RetentionReport {
    pub dry_run: bool,
    /// Guests whose last stay began before this instant (or who never
    /// stayed and were created before it).
    pub cutoff: DateTime<Utc>,
    /// Guests the policy applies to.
    pub matched: u64,
    /// Guests anonymised (0 in a dry run).
    pub anonymised: u64,
    /// The first of them, by id.
    pub sample_guest_ids: Vec<String>,
}

/// Applies an organisation's policy of `years`, or reports it (`dry_run`).
pub fn apply(
    db: &Database,
    org: &str,
    years: i32,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<RetentionReport, ApiError> {
    let cutoff = now
        .checked_sub_months(Months::new(u32::try_from(years.max(1)).unwrap_or(1) * 12))
        .unwrap_or(now);
    let mut report = RetentionReport {
        dry_run,
        cutoff,
        ..RetentionReport::default()
    };
    let actor = Actor::system(org, "retention");
    let mut after = String::new();
    loop {
        let due = db.read(|conn| {
            guests::retention_due(conn, org, cutoff, cutoff.date_naive(), &after, BATCH)
        })?;
        let Some(last) = due.last() else { break };
        after = last.clone();
        report.matched += due.len() as u64;
        for id in &due {
            if report.sample_guest_ids.len() < SAMPLE {
                report.sample_guest_ids.push(id.clone());
            }
        }
        if dry_run {
            continue;
        }
        report.anonymised += write_transaction(db, |conn| {
            let mut n = 0;
            for g in guests::find_many(conn, org, &due)? {
                // Changed since it was read (a booking, an erasure): skip.
                if g.erased_at.is_some() || g.merged_into.is_some() {
                    continue;
                }
                crate::routes::privacy::erase(conn, &actor, &g, now)?;
                n += 1;
            }
            Ok(n)
        })?;
    }
    if !dry_run {
        write_transaction(db, |conn| {
            Ok(retention::record_run(
                conn,
                org,
                now,
                i32::try_from(report.anonymised).unwrap_or(i32::MAX),
            )?)
        })?;
    }
    Ok(report)
}

/// Every enabled policy, applied (the scheduled job).
pub fn run_all(db: &Database, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let mut total = 0;
    for org in db.read(retention::enabled_orgs)? {
        let Some(p) = db.read(|conn| retention::find(conn, &org))? else {
            continue;
        };
        total += apply(db, &org, p.anonymise_after_years, false, now)?.anonymised;
    }
    Ok(total)
}
