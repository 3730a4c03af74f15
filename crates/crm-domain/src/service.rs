//! Guest service: complaints and service requests (投诉/服务工单), their
//! priority, their life and their service-level deadlines.
//!
//! The rule of the house (seed 001): acknowledge fast, resolve within 24
//! hours and never later than 48; VIP guests first; overdue tickets go up
//! to the managers.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Complaint,
    ServiceRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketCategory {
    Attitude,
    Quality,
    Price,
    Communication,
    Hardware,
    Hygiene,
    LostItem,
    Compensation,
    Other,
}

impl TicketCategory {
    pub const ALL: [TicketCategory; 9] = [
        TicketCategory::Attitude,
        TicketCategory::Quality,
        TicketCategory::Price,
        TicketCategory::Communication,
        TicketCategory::Hardware,
        TicketCategory::Hygiene,
        TicketCategory::LostItem,
        TicketCategory::Compensation,
        TicketCategory::Other,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Where the guest raised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    FrontDesk,
    Phone,
    Email,
    App,
    Wechat,
    Survey,
    OnlineReview,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
}

/// What can be done to a ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketAction {
    /// New → acknowledged: somebody has it and the guest was told.
    Acknowledge,
    /// New or acknowledged → in progress.
    Start,
    /// Any open status → resolved, with a resolution.
    Resolve,
    /// Resolved → closed (the guest accepted, or time passed).
    Close,
    /// Resolved or closed → acknowledged again; counts as a reopen.
    Reopen,
}

impl TicketAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketAction::Acknowledge => "acknowledge",
            TicketAction::Start => "start",
            TicketAction::Resolve => "resolve",
            TicketAction::Close => "close",
            TicketAction::Reopen => "reopen",
        }
    }
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Acknowledged => "acknowledged",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    /// Not yet resolved: the SLA clock runs.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketStatus::New | TicketStatus::Acknowledged | TicketStatus::InProgress
        )
    }

    pub fn allowed(self) -> &'static [TicketAction] {
        use TicketAction::*;
        match self {
            TicketStatus::New => &[Acknowledge, Start, Resolve],
            TicketStatus::Acknowledged => &[Start, Resolve],
            TicketStatus::InProgress => &[Resolve],
            TicketStatus::Resolved => &[Close, Reopen],
            TicketStatus::Closed => &[Reopen],
        }
    }

    /// The status after `action`, or the actions allowed instead.
    pub fn apply(self, action: TicketAction) -> Result<TicketStatus, &'static [TicketAction]> {
        if !self.allowed().contains(&action) {
            return Err(self.allowed());
        }
        Ok(match action {
            TicketAction::Acknowledge | TicketAction::Reopen => TicketStatus::Acknowledged,
            TicketAction::Start => TicketStatus::InProgress,
            TicketAction::Resolve => TicketStatus::Resolved,
            TicketAction::Close => TicketStatus::Closed,
        })
    }
}

/// 1 is handled first. Severity sets the base (critical 1 … low 4); a VIP
/// guest moves one step up.
pub fn priority(severity: Severity, vip: bool) -> i32 {
    let base = match severity {
        Severity::Critical => 1,
        Severity::High => 2,
        Severity::Medium => 3,
        Severity::Low => 4,
    };
    if vip {
        (base - 1).max(1)
    } else {
        base
    }
}

/// Service-level targets of one category, in minutes from creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaTarget {
    pub acknowledge_minutes: i32,
    pub resolve_minutes: i32,
    pub hard_limit_minutes: i32,
}

impl SlaTarget {
    /// Acknowledge within an hour (30 minutes when the room itself is at
    /// fault: hygiene, hardware), resolve within 24 h, never after 48 h.
    pub fn default_for(category: TicketCategory) -> SlaTarget {
        let acknowledge_minutes = match category {
            TicketCategory::Hygiene | TicketCategory::Hardware => 30,
            _ => 60,
        };
        SlaTarget {
            acknowledge_minutes,
            resolve_minutes: 24 * 60,
            hard_limit_minutes: 48 * 60,
        }
    }

    /// Positive, ordered, and within the house rule's 48 hours.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.acknowledge_minutes < 1 {
            return Err("acknowledge_minutes must be at least 1");
        }
        if self.resolve_minutes < self.acknowledge_minutes {
            return Err("resolve_minutes cannot be shorter than acknowledge_minutes");
        }
        if self.hard_limit_minutes < self.resolve_minutes {
            return Err("hard_limit_minutes cannot be shorter than resolve_minutes");
        }
        if self.hard_limit_minutes > 48 * 60 {
            return Err("hard_limit_minutes is at most 2880 (48 hours)");
        }
        Ok(())
    }
}

/// The deadlines of a ticket, fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub acknowledge_due: DateTime<Utc>,
    pub resolve_due: DateTime<Utc>,
    pub hard_due: DateTime<Utc>,
}

/// A VIP guest's ticket gets half the time to acknowledge.
pub fn deadlines(created: DateTime<Utc>, target: SlaTarget, vip: bool) -> Deadlines {
    let ack = if vip {
        (target.acknowledge_minutes / 2).max(1)
    } else {
        target.acknowledge_minutes
    };
    Deadlines {
        acknowledge_due: created + Duration::minutes(i64::from(ack)),
        resolve_due: created + Duration::minutes(i64::from(target.resolve_minutes)),
        hard_due: created + Duration::minutes(i64::from(target.hard_limit_minutes)),
    }
}

/// Which deadline a ticket missed, in the order they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Breach {
    Acknowledge,
    Resolve,
    HardLimit,
}

/// What the ticket state says about its deadlines at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaState {
    /// Every deadline passed without the step it asks for.
    pub breaches: Vec<Breach>,
    /// The next deadline still to watch, if any.
    pub next_due: Option<DateTime<Utc>>,
}

/// `acknowledged` is whether the ticket was ever acknowledged (or moved on);
/// `open` is whether it is still unresolved.
pub fn sla_state(d: &Deadlines, acknowledged: bool, open: bool, now: DateTime<Utc>) -> SlaState {
    let mut breaches = Vec::new();
    let mut watch = Vec::new();
    let steps = [
        (
            Breach::Acknowledge,
            d.acknowledge_due,
            open && !acknowledged,
        ),
        (Breach::Resolve, d.resolve_due, open),
        (Breach::HardLimit, d.hard_due, open),
    ];
    for (breach, due, pending) in steps {
        if !pending {
            continue;
        }
        if now >= due {
            breaches.push(breach);
        } else {
            watch.push(due);
        }
    }
    SlaState {
        breaches,
        next_due: watch.into_iter().min(),
    }
}

/// How far up an overdue ticket goes: 1 to the property's managers when a
/// target is missed, 2 to every manager and admin past the hard limit.
pub fn escalation_level(breaches: &[Breach]) -> i32 {
    if breaches.contains(&Breach::HardLimit) {
        2
    } else if breaches.is_empty() {
        0
    } else {
        1
    }
}

/// A manager who judged this many of a guest's complaints malicious within
/// a year is shown a blacklist suggestion; blacklisting stays their call.
pub const MALICIOUS_COMPLAINTS_FOR_SUGGESTION: i64 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, m, 0).unwrap()
    }

    #[test]
    fn tickets_move_only_along_allowed_transitions() {
        use TicketAction::*;
        let s = TicketStatus::New.apply(Acknowledge).unwrap();
        assert_eq!(s, TicketStatus::Acknowledged);
        let s = s.apply(Start).unwrap().apply(Resolve).unwrap();
        assert_eq!(s, TicketStatus::Resolved);
        assert_eq!(s.apply(Reopen).unwrap(), TicketStatus::Acknowledged);
        assert_eq!(
            TicketStatus::Closed.apply(Resolve).unwrap_err(),
            &[Reopen][..]
        );
        assert!(TicketStatus::InProgress.apply(Acknowledge).is_err());
        assert!(!TicketStatus::Resolved.is_open());
    }

    #[test]
    fn vip_guests_come_first() {
        assert_eq!(priority(Severity::Medium, false), 3);
        assert_eq!(priority(Severity::Medium, true), 2);
        assert_eq!(priority(Severity::Critical, true), 1);
        assert!(priority(Severity::Low, true) < priority(Severity::Low, false));
    }

    #[test]
    fn deadlines_follow_the_category_and_the_guest() {
        let t = SlaTarget::default_for(TicketCategory::Hygiene);
        let d = deadlines(at(10, 0), t, false);
        assert_eq!(d.acknowledge_due, at(10, 30));
        assert_eq!(d.resolve_due - at(10, 0), Duration::hours(24));
        assert_eq!(d.hard_due - at(10, 0), Duration::hours(48));
        let vip = deadlines(at(10, 0), t, true);
        assert_eq!(vip.acknowledge_due, at(10, 15));
        assert!(SlaTarget {
            acknowledge_minutes: 60,
            resolve_minutes: 30,
            hard_limit_minutes: 90
        }
        .validate()
        .is_err());
        assert!(SlaTarget {
            hard_limit_minutes: 3000,
            ..t
        }
        .validate()
        .is_err());
    }

    #[test]
    fn breaches_are_the_deadlines_passed_without_their_step() {
        let d = deadlines(
            at(10, 0),
            SlaTarget::default_for(TicketCategory::Price),
            false,
        );
        let before = sla_state(&d, false, true, at(10, 59));
        assert!(before.breaches.is_empty());
        assert_eq!(before.next_due, Some(at(11, 0)));
        let late = sla_state(&d, false, true, at(11, 0));
        assert_eq!(late.breaches, vec![Breach::Acknowledge]);
        assert_eq!(late.next_due, Some(d.resolve_due));
        // Acknowledged in time: only the resolution is watched.
        let acked = sla_state(&d, true, true, at(11, 30));
        assert!(acked.breaches.is_empty());
        let past_hard = sla_state(&d, true, true, d.hard_due);
        assert_eq!(past_hard.breaches, vec![Breach::Resolve, Breach::HardLimit]);
        assert_eq!(past_hard.next_due, None);
        assert_eq!(escalation_level(&past_hard.breaches), 2);
        assert_eq!(escalation_level(&late.breaches), 1);
        // Resolved tickets have nothing to watch.
        assert_eq!(sla_state(&d, true, false, d.hard_due).breaches, vec![]);
    }
}
