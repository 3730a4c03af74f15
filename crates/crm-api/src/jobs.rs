//! Background jobs: the loyalty tier review, points expiry and the ledger
//! audit. Each runs from the command line (`hotel-crm jobs run <job>`) and
//! the first two also from the in-process scheduler. Jobs are safe to run
//! on several nodes at once: a review only touches members still due, and
//! expiry re-reads lots under the members' locks.

use crate::audit::Actor;
use crate::error::ApiError;
use crate::loyalty::{review_member, Loyalty};
use crate::state::{write_transaction, AppState};
use chrono::{DateTime, NaiveDate, Utc};
use crm_storage::loyalty as store;
use crm_storage::{organizations, Database};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Downgrades (or keeps, or raises) members whose review date has come.
    LoyaltyReview,
    /// Expires what is left of lots past their expiry date.
    PointsExpiry,
    /// Recomputes every balance from the ledger and the lots.
    LoyaltyAudit,
    /// Activates signed contracts whose validity has begun, expires
    /// active ones past their last day.
    ContractLifecycle,
    /// Raises contract alerts: expiry, pace, rate violations, allotment.
    ContractAlerts,
    /// Recomputes the insights of guests changed since the last run.
    GuestInsights,
    /// Recomputes every guest's insights (recency moves with the calendar).
    GuestInsightsFull,
    /// Marks tickets that missed a deadline and escalates them.
    TicketSla,
    /// Queues today's birthday greetings.
    BirthdayMessages,
    /// Queues the pre-arrival messages of reservations arriving soon.
    PreArrivalMessages,
    /// Reminds members of points about to expire.
    PointsExpiringMessages,
    /// Sends the campaigns whose time has come, and resumes any whose
    /// sender stopped.
    Campaigns,
    /// Finds duplicate candidates among guests new or changed since the
    /// last scan.
    DuplicateScan,
    /// The same over every guest.
    DuplicateScanFull,
    /// Applies the organisations' retention policies.
    Retention,
}

impl Job {
    pub const ALL: [Job; 15] = [
        Job::LoyaltyReview,
        Job::PointsExpiry,
        Job::LoyaltyAudit,
        Job::ContractLifecycle,
        Job::ContractAlerts,
        Job::GuestInsights,
        Job::GuestInsightsFull,
        Job::TicketSla,
        Job::BirthdayMessages,
        Job::PreArrivalMessages,
        Job::PointsExpiringMessages,
        Job::Campaigns,
        Job::DuplicateScan,
        Job::DuplicateScanFull,
        Job::Retention,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::LoyaltyReview => "loyalty-review",
            Job::PointsExpiry => "points-expiry",
            Job::LoyaltyAudit => "loyalty-audit",
            Job::ContractLifecycle => "contract-lifecycle",
            Job::ContractAlerts => "contract-alerts",
            Job::GuestInsights => "guest-insights",
            Job::GuestInsightsFull => "guest-insights-full",
            Job::TicketSla => "ticket-sla",
            Job::BirthdayMessages => "birthday-messages",
            Job::PreArrivalMessages => "pre-arrival-messages",
            Job::PointsExpiringMessages => "points-expiring-messages",
            Job::Campaigns => "campaigns",
            Job::DuplicateScan => "duplicate-scan",
            Job::DuplicateScanFull => "duplicate-scan-full",
            Job::Retention => "retention",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }
}

/// What a run did, per organisation summed up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Members reviewed, lots expired, or members audited.
    pub processed: u64,
    /// Tier changes, or points expired.
    pub changed: i64,
    /// Audit only: members whose balance disagrees with the ledger or lots.
    pub discrepancies: Vec<store::Discrepancy>,
}

const REVIEW_BATCH: i64 = 200;
const EXPIRY_BATCH: i64 = 10_000;

pub fn run(
    db: &Database,
    job: Job,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, ApiError> {
    let mut report = Report::default();
    if job == Job::Campaigns {
        // Every organisation's due campaigns in one query.
        let (considered, completed) = crate::campaigns::run_due(db, now)?;
        report.processed = considered;
        report.changed = completed;
        return Ok(report);
    }
    if job == Job::Retention {
        report.changed = i64::try_from(crate::retention::run_all(db, now)?).unwrap_or(i64::MAX);
        return Ok(report);
    }
    let orgs = db.read(organizations::list_all)?;
    for org in orgs {
        match job {
            Job::LoyaltyReview => {
                let Some(loyalty) = Loyalty::load(&mut *db.connection()?, &org.id)? else {
                    continue;
                };
                let mut after = String::new();
                loop {
                    let due = db.read(|conn| {
                        store::members_due_review(conn, &org.id, today, &after, REVIEW_BATCH)
                    })?;
                    let Some(last) = due.last() else { break };
                    after = last.id.clone();
                    // A fresh actor per batch: it caches the organisation's
                    // webhook subscriptions for as long as it lives.
                    let actor = Actor::system(&org.id, job.name());
                    let changed = write_transaction(db, |conn| {
                        let mut changed = 0;
                        for m in &due {
                            // Another node may have reviewed it meanwhile.
                            let Some(current) = store::member_of_guest(conn, &org.id, &m.guest_id)?
                            else {
                                continue;
                            };
                            if current.next_review_on > today {
                                continue;
                            }
                            if review_member(conn, &actor, &loyalty, &current, today, now)? {
                                changed += 1;
                            }
                        }
                        Ok(changed)
                    })?;
                    report.processed += due.len() as u64;
                    report.changed += changed;
                }
            }
            Job::PointsExpiry => {
                let mut from = String::new();
                loop {
                    let batch = write_transaction(db, |conn| {
                        Ok(store::expire_batch(
                            conn,
                            &org.id,
                            today,
                            &from,
                            EXPIRY_BATCH,
                            now,
                        )?)
                    })?;
                    let Some(next) = batch.next_member else { break };
                    from = next;
                    report.processed += batch.lots as u64;
                    report.changed += batch.points;
                }
            }
            Job::LoyaltyAudit => {
                let (checked, wrong) = db.read(|conn| store::audit(conn, &org.id))?;
                report.processed += checked as u64;
                report.discrepancies.extend(wrong);
            }
            Job::ContractLifecycle => {
                use crm_domain::contract::ContractStatus;
                let open = db.read(|conn| {
                    crm_storage::contracts::contracts_in(
                        conn,
                        &org.id,
                        &[ContractStatus::Signed, ContractStatus::Active],
                    )
                })?;
                let actor = Actor::system(&org.id, job.name());
                for c in open {
                    report.processed += 1;
                    // Each contract on its own: another node may move it
                    // meanwhile, and its version check then refuses.
                    let moved = write_transaction(db, |conn| {
                        crate::routes::contracts::apply_due(
                            conn, &actor, &org.id, &c.id, today, now,
                        )
                    });
                    match moved {
                        Ok(Some(_)) => report.changed += 1,
                        Ok(None) => {}
                        Err(e) if e.code == "version_conflict" => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Job::GuestInsights | Job::GuestInsightsFull => {
                let full = job == Job::GuestInsightsFull;
                report.processed += crate::insights::run(db, &org.id, full, today, now)? as u64;
            }
            Job::TicketSla => {
                let r = crate::routes::tickets::scan(db, &org.id, now)?;
                report.processed += r.examined;
                report.changed += r.escalated as i64;
            }
            Job::BirthdayMessages => {
                report.processed += crate::messaging::birthday_run(db, &org.id, today, now)?;
            }
            Job::PreArrivalMessages => {
                report.processed += crate::messaging::pre_arrival_run(db, &org.id, now)?;
            }
            Job::PointsExpiringMessages => {
                report.processed += crate::messaging::points_expiring_run(db, &org.id, today, now)?;
            }
            Job::Campaigns | Job::Retention => {}
            Job::DuplicateScan | Job::DuplicateScanFull => {
                let full = job == Job::DuplicateScanFull;
                let r = crate::duplicates::scan(db, &org.id, full, now)?;
                report.processed += r.focus;
                report.changed += i64::try_from(r.new_pairs).unwrap_or(i64::MAX);
            }
            Job::ContractAlerts => {
                let actor = Actor::system(&org.id, job.name());
                let raised = crate::routes::contract_alerts::scan(db, &actor, &org.id, today, now)?;
                report.processed += 1;
                report.changed += raised.len() as i64;
            }
        }
    }
    Ok(report)
}

/// Runs the jobs every `interval` on the blocking pool, and the ticket SLA
/// scan and due campaigns every minute (or every `interval`, if shorter):
/// deadlines and schedules are minutes apart.
pub fn spawn_scheduler(state: AppState, interval: std::time::Duration) {
    let sla_state = state.clone();
    let sla_interval = interval.min(std::time::Duration::from_secs(60));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(sla_interval).await;
            // Imports whose node stopped say so (their heartbeat stopped).
            {
                let db = sla_state.db.clone();
                let now = sla_state.clock.now();
                let _ = tokio::task::spawn_blocking(move || {
                    db.write(|conn| {
                        crm_storage::imports::fail_abandoned(
                            conn,
                            now - chrono::Duration::minutes(10),
                            now,
                        )
                    })
                })
                .await;
            }
            for job in [Job::TicketSla, Job::Campaigns] {
                let db = sla_state.db.clone();
                let now = sla_state.clock.now();
                let outcome =
                    tokio::task::spawn_blocking(move || run(&db, job, now.date_naive(), now)).await;
                match outcome {
                    Ok(Ok(r)) if r.changed > 0 || (job == Job::Campaigns && r.processed > 0) => {
                        log::info!(
                            "job {}: {} processed, {} changed",
                            job.name(),
                            r.processed,
                            r.changed
                        )
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => log::warn!("job {} failed: {e}", job.name()),
                    Err(e) => log::warn!("job {} panicked: {e}", job.name()),
                }
            }
        }
    });
    tokio::spawn(async move {
        // Insights are refreshed for changed guests every round, and for
        // everyone once a day (recency and churn move with the calendar).
        let mut last_full: Option<chrono::NaiveDate> = None;
        loop {
            tokio::time::sleep(interval).await;
            let today = state.clock.now().date_naive();
            let insights = if last_full == Some(today) {
                Job::GuestInsights
            } else {
                last_full = Some(today);
                Job::GuestInsightsFull
            };
            for job in [
                Job::LoyaltyReview,
                Job::PointsExpiry,
                Job::ContractLifecycle,
                Job::ContractAlerts,
                Job::BirthdayMessages,
                Job::PreArrivalMessages,
                Job::PointsExpiringMessages,
                insights,
                Job::DuplicateScan,
                Job::Retention,
            ] {
                let db = state.db.clone();
                let now = state.clock.now();
                let outcome =
                    tokio::task::spawn_blocking(move || run(&db, job, now.date_naive(), now)).await;
                match outcome {
                    Ok(Ok(r)) => log::info!(
                        "job {}: {} processed, {} changed",
                        job.name(),
                        r.processed,
                        r.changed
                    ),
                    Ok(Err(e)) => log::warn!("job {} failed: {e}", job.name()),
                    Err(e) => log::warn!("job {} panicked: {e}", job.name()),
                }
            }
        }
    });
}
