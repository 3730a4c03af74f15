//! Guest intelligence (客户分析), explainable: RFM scores and a value class
//! from thresholds the organisation sets, the travel purpose inferred from
//! stays, and a churn risk (流失预警) from the gap since the last stay
//! against the guest's own rhythm. Every conclusion carries its reasons.

use crate::{DomainError, Errors, FieldError};
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Thresholds of the RFM scores and the value classes, per organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InsightSettings {
    /// Days since the last stay at or under which recency scores 5, 4, 3, 2
    /// (above the last: 1). Ascending.
    pub recency_days: [i64; 4],
    /// Stays in the last two years at or above which frequency scores
    /// 2, 3, 4, 5. Ascending.
    pub frequency_stays: [i64; 4],
    /// Lifetime spend (minor units of the organisation's main currency) at
    /// or above which monetary scores 2, 3, 4, 5. Ascending.
    pub monetary_spend: [i64; 4],
    /// R + F + M at or above which a guest is VIP.
    pub vip_min_score: i64,
    /// R + F + M at or above which a guest is regular (below: potential).
    pub regular_min_score: i64,
    /// The gap since the last stay, as a multiple of the guest's usual
    /// interval (in percent), from which churn risk is medium and high.
    pub churn_medium_percent: i64,
    pub churn_high_percent: i64,
}

impl Default for InsightSettings {
    fn default() -> Self {
        InsightSettings {
            recency_days: [30, 90, 180, 365],
            frequency_stays: [2, 3, 5, 10],
            monetary_spend: [100_000, 300_000, 1_000_000, 3_000_000],
            vip_min_score: 13,
            regular_min_score: 8,
            churn_medium_percent: 150,
            churn_high_percent: 250,
        }
    }
}

impl InsightSettings {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Errors::new();
        let ascending = |a: &[i64; 4]| a.windows(2).all(|w| w[0] < w[1]) && a[0] >= 0;
        for (field, values) in [
            ("recency_days", &self.recency_days),
            ("frequency_stays", &self.frequency_stays),
            ("monetary_spend", &self.monetary_spend),
        ] {
            if !ascending(values) {
                errors.push(FieldError::new(
                    field,
                    "not_ascending",
                    "four non-negative thresholds, each above the one before",
                ));
            }
        }
        if !(3..=15).contains(&self.regular_min_score)
            || !(3..=15).contains(&self.vip_min_score)
            || self.regular_min_score >= self.vip_min_score
        {
            errors.push(FieldError::new(
                "vip_min_score",
                "out_of_range",
                "scores 3 to 15, the VIP one above the regular one",
            ));
        }
        if self.churn_medium_percent < 100 || self.churn_high_percent <= self.churn_medium_percent {
            errors.push(FieldError::new(
                "churn_high_percent",
                "out_of_range",
                "medium at least 100 %, high above medium",
            ));
        }
        errors.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ValueClass {
    Vip,
    Regular,
    Potential,
}

impl ValueClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueClass::Vip => "vip",
            ValueClass::Regular => "regular",
            ValueClass::Potential => "potential",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TravelPurpose {
    Business,
    Leisure,
    Family,
}

impl TravelPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TravelPurpose::Business => "business",
            TravelPurpose::Leisure => "leisure",
            TravelPurpose::Family => "family",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChurnGrade {
    Low,
    Medium,
    High,
}

impl ChurnGrade {
    pub fn as_str(self) -> &'static str {
        match self {
            ChurnGrade::Low => "low",
            ChurnGrade::Medium => "medium",
            ChurnGrade::High => "high",
        }
    }
}

/// One completed stay, as the insights read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayFacts {
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub nights: i64,
    /// In the organisation's main currency (stays in others count as 0).
    pub revenue: i64,
    pub room_revenue: i64,
    pub channel: String,
    pub adults: i64,
    pub children: i64,
}

/// What else is known about the guest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestFacts {
    /// Linked to a corporate account (an employee of a 协议客户).
    pub corporate_account: bool,
    /// Open complaints (when guest service records them).
    pub open_complaints: i64,
    /// Average satisfaction, 1–5, if surveyed.
    pub satisfaction: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rfm {
    pub recency: i64,
    pub frequency: i64,
    pub monetary: i64,
    /// `545`: recency, frequency, monetary.
    pub code: String,
    pub value_class: ValueClass,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Purpose {
    pub purpose: TravelPurpose,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Churn {
    /// 0 (staying loyal) to 100 (gone).
    pub score: i64,
    pub grade: ChurnGrade,
    pub reasons: Vec<String>,
}

/// The figures every insight starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StayFigures {
    pub stays: i64,
    pub nights: i64,
    pub spend: i64,
    /// Room revenue per night.
    pub average_rate: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub first_stay_on: Option<NaiveDate>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub last_stay_on: Option<NaiveDate>,
    /// Mean days between consecutive arrivals; with two stays or more.
    pub usual_interval_days: Option<i64>,
    pub stays_last_12_months: i64,
    pub stays_previous_12_months: i64,
    /// The channel most stays came through (ties: the latest).
    pub main_channel: Option<String>,
    /// The channel of the first stay.
    pub acquisition_channel: Option<String>,
}

pub fn stay_figures(stays: &[StayFacts], today: NaiveDate) -> StayFigures {
    let mut sorted: Vec<&StayFacts> = stays.iter().collect();
    sorted.sort_by_key(|s| s.arrival);
    let nights: i64 = sorted.iter().map(|s| s.nights).sum();
    let room_revenue: i64 = sorted.iter().map(|s| s.room_revenue).sum();
    let intervals: Vec<i64> = sorted
        .windows(2)
        .map(|w| (w[1].arrival - w[0].arrival).num_days())
        .collect();
    let within = |from: i64, to: i64| {
        sorted
            .iter()
            .filter(|s| {
                let ago = (today - s.arrival).num_days();
                ago >= from && ago < to
            })
            .count() as i64
    };
    let mut channels: Vec<(&str, usize, NaiveDate)> = Vec::new();
    for s in &sorted {
        match channels.iter_mut().find(|(c, _, _)| *c == s.channel) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 = s.arrival;
            }
            None => channels.push((&s.channel, 1, s.arrival)),
        }
    }
    StayFigures {
        stays: sorted.len() as i64,
        nights,
        spend: sorted.iter().map(|s| s.revenue).sum(),
        average_rate: (nights > 0).then(|| room_revenue / nights),
        first_stay_on: sorted.first().map(|s| s.arrival),
        last_stay_on: sorted.last().map(|s| s.arrival),
        usual_interval_days: (!intervals.is_empty())
            .then(|| intervals.iter().sum::<i64>() / intervals.len() as i64),
        stays_last_12_months: within(0, 365),
        stays_previous_12_months: within(365, 730),
        main_channel: channels
            .iter()
            .max_by_key(|(_, n, last)| (*n, *last))
            .map(|(c, _, _)| c.to_string()),
        acquisition_channel: sorted.first().map(|s| s.channel.clone()),
    }
}

fn score_low_is_good(value: i64, thresholds: &[i64; 4]) -> i64 {
    // Recency: at or under the first threshold scores 5.
    5 - thresholds.iter().take_while(|t| value > **t).count() as i64
}

fn score_high_is_good(value: i64, thresholds: &[i64; 4]) -> i64 {
    1 + thresholds.iter().filter(|t| value >= **t).count() as i64
}

/// RFM scores and the value class. A guest who never stayed has recency 1,
/// frequency 1, monetary 1: potential.
pub fn rfm(f: &StayFigures, settings: &InsightSettings, today: NaiveDate) -> Rfm {
    let days = f.last_stay_on.map(|d| (today - d).num_days());
    let recency = days.map_or(1, |d| score_low_is_good(d, &settings.recency_days));
    // Frequency counts the last two years, so an old habit fades.
    let frequency = score_high_is_good(
        f.stays_last_12_months + f.stays_previous_12_months,
        &settings.frequency_stays,
    );
    let monetary = score_high_is_good(f.spend, &settings.monetary_spend);
    let total = recency + frequency + monetary;
    let value_class = if total >= settings.vip_min_score {
        ValueClass::Vip
    } else if total >= settings.regular_min_score {
        ValueClass::Regular
    } else {
        ValueClass::Potential
    };
    let mut reasons = vec![
        match days {
            Some(d) => format!("last stay {d} days ago: recency {recency}"),
            None => "no stay yet: recency 1".to_string(),
        },
        format!(
            "{} stays in the last two years, {} in all: frequency {frequency}",
            f.stays_last_12_months + f.stays_previous_12_months,
            f.stays
        ),
        format!("lifetime spend {}: monetary {monetary}", f.spend),
    ];
    reasons.push(format!(
        "R+F+M = {total}: {} (VIP from {}, regular from {})",
        value_class.as_str(),
        settings.vip_min_score,
        settings.regular_min_score
    ));
    Rfm {
        recency,
        frequency,
        monetary,
        code: format!("{recency}{frequency}{monetary}"),
        value_class,
        reasons,
    }
}

fn weekday_night(d: NaiveDate) -> bool {
    // A night from Sunday to Thursday is a working-week night.
    !matches!(d.weekday(), Weekday::Fri | Weekday::Sat)
}

/// Business, leisure or family, from the stays: children in the party
/// mean family; a corporate account, short stays and mostly working-week
/// nights of a guest travelling alone mean business; else leisure.
pub fn travel_purpose(stays: &[StayFacts], facts: &GuestFacts) -> Option<Purpose> {
    if stays.is_empty() {
        return None;
    }
    let n = stays.len() as f64;
    let with_children = stays.iter().filter(|s| s.children > 0).count() as f64;
    let alone = stays
        .iter()
        .filter(|s| s.adults <= 1 && s.children == 0)
        .count() as f64;
    let (mut weekday, mut total) = (0i64, 0i64);
    for s in stays {
        let mut d = s.arrival;
        while d < s.departure {
            total += 1;
            weekday += i64::from(weekday_night(d));
            d += chrono::Duration::days(1);
        }
    }
    let weekday_share = if total > 0 {
        weekday as f64 / total as f64
    } else {
        0.0
    };
    let average_nights = stays.iter().map(|s| s.nights).sum::<i64>() as f64 / n;
    let pct = |x: f64| (x * 100.0).round() as i64;
    if with_children / n >= 0.5 {
        return Some(Purpose {
            purpose: TravelPurpose::Family,
            reasons: vec![format!("children in {} % of stays", pct(with_children / n))],
        });
    }
    let mut business = Vec::new();
    if facts.corporate_account {
        business.push("linked to a corporate account".to_string());
    }
    if weekday_share >= 0.7 {
        business.push(format!(
            "{} % of nights Sunday to Thursday",
            pct(weekday_share)
        ));
    }
    if average_nights <= 3.0 && alone / n >= 0.6 {
        business.push(format!(
            "short stays ({average_nights:.1} nights on average), alone in {} %",
            pct(alone / n)
        ));
    }
    if business.len() >= 2 || (facts.corporate_account && !business.is_empty()) {
        return Some(Purpose {
            purpose: TravelPurpose::Business,
            reasons: business,
        });
    }
    let mut reasons = vec![format!(
        "{} % of nights on Friday or Saturday",
        pct(1.0 - weekday_share)
    )];
    if average_nights > 3.0 {
        reasons.push(format!("{average_nights:.1} nights per stay on average"));
    }
    Some(Purpose {
        purpose: TravelPurpose::Leisure,
        reasons,
    })
}

/// Churn risk: the gap since the last stay against the guest's usual
/// interval (or a year for one-time guests), a falling frequency, low
/// satisfaction and open complaints.
pub fn churn(
    f: &StayFigures,
    facts: &GuestFacts,
    settings: &InsightSettings,
    today: NaiveDate,
) -> Option<Churn> {
    let last = f.last_stay_on?;
    let gap = (today - last).num_days().max(0);
    let usual = f.usual_interval_days.filter(|d| *d > 0).unwrap_or(365);
    let ratio = gap * 100 / usual;
    let mut score: i64 = if ratio >= settings.churn_high_percent {
        70
    } else if ratio >= settings.churn_medium_percent {
        45
    } else {
        (ratio * 30 / settings.churn_medium_percent).min(30)
    };
    let mut reasons = vec![format!(
        "{gap} days since the last stay against a usual {usual} days ({ratio} %)"
    )];
    if f.stays_previous_12_months > 0 && f.stays_last_12_months < f.stays_previous_12_months {
        score += 15;
        reasons.push(format!(
            "fewer stays this year ({}) than the year before ({})",
            f.stays_last_12_months, f.stays_previous_12_months
        ));
    }
    if let Some(s) = facts.satisfaction.filter(|s| *s < 3.0) {
        score += 10;
        reasons.push(format!("low satisfaction ({s:.1} of 5)"));
    }
    if facts.open_complaints > 0 {
        score += 10;
        reasons.push(format!("{} open complaint(s)", facts.open_complaints));
    }
    let score = score.min(100);
    let grade = if score >= 70 {
        ChurnGrade::High
    } else if score >= 40 {
        ChurnGrade::Medium
    } else {
        ChurnGrade::Low
    };
    Some(Churn {
        score,
        grade,
        reasons,
    })
}

/// Age bands for reports, from a birth date.
pub fn age_band(birthday: Option<NaiveDate>, today: NaiveDate) -> &'static str {
    let Some(b) = birthday else { return "unknown" };
    let mut age = today.year() - b.year();
    if (today.month(), today.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    match age {
        i32::MIN..=17 => "under_18",
        18..=24 => "18_24",
        25..=34 => "25_34",
        35..=44 => "35_44",
        45..=54 => "45_54",
        55..=64 => "55_64",
        _ => "65_plus",
    }
}

/// Spend bands for reports (major units of the main currency).
pub fn spend_band(spend_minor: i64) -> &'static str {
    match spend_minor {
        i64::MIN..=0 => "0",
        1..=99_999 => "1_999",
        100_000..=499_999 => "1000_4999",
        500_000..=1_999_999 => "5000_19999",
        2_000_000..=4_999_999 => "20000_49999",
        _ => "50000_plus",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn stay(arrival: &str, nights: i64, revenue: i64, adults: i64, children: i64) -> StayFacts {
        let a = d(arrival);
        StayFacts {
            arrival: a,
            departure: a + chrono::Duration::days(nights),
            nights,
            revenue,
            room_revenue: revenue,
            channel: "phone".into(),
            adults,
            children,
        }
    }

    #[test]
    fn figures_add_up_and_find_the_rhythm() {
        let stays = [
            stay("2026-01-05", 2, 80_000, 1, 0),
            stay("2026-04-05", 1, 40_000, 1, 0),
            stay("2026-07-04", 3, 120_000, 1, 0),
        ];
        let f = stay_figures(&stays, d("2026-12-01"));
        assert_eq!((f.stays, f.nights, f.spend), (3, 6, 240_000));
        assert_eq!(f.average_rate, Some(40_000));
        assert_eq!(f.usual_interval_days, Some(90));
        assert_eq!(f.stays_last_12_months, 3);
        assert_eq!(f.first_stay_on, Some(d("2026-01-05")));
        assert_eq!(f.main_channel.as_deref(), Some("phone"));
    }

    #[test]
    fn rfm_scores_follow_the_thresholds() {
        let s = InsightSettings::default();
        let today = d("2026-12-01");
        let loyal: Vec<StayFacts> = (0..12)
            .map(|i| stay(&format!("2026-{:02}-01", 1 + i % 11), 2, 400_000, 1, 0))
            .collect();
        let r = rfm(&stay_figures(&loyal, today), &s, today);
        assert_eq!((r.recency, r.frequency, r.monetary), (5, 5, 5));
        assert_eq!(r.value_class, ValueClass::Vip);
        assert_eq!(r.code, "555");
        let nobody = rfm(&stay_figures(&[], today), &s, today);
        assert_eq!(nobody.value_class, ValueClass::Potential);
        assert_eq!(nobody.code, "111");
        let once = rfm(
            &stay_figures(&[stay("2026-11-20", 1, 50_000, 1, 0)], today),
            &s,
            today,
        );
        assert_eq!(once.recency, 5);
        assert_eq!(once.value_class, ValueClass::Potential);
        assert!(once.reasons.iter().any(|r| r.contains("11 days ago")));
    }

    #[test]
    fn purpose_reads_the_party_and_the_calendar() {
        let none = GuestFacts::default();
        // 2026-11-02 is a Monday.
        let weekdays = [
            stay("2026-11-02", 2, 1, 1, 0),
            stay("2026-11-09", 3, 1, 1, 0),
        ];
        let p = travel_purpose(&weekdays, &none).unwrap();
        assert_eq!(p.purpose, TravelPurpose::Business, "{p:?}");
        let family = [
            stay("2026-11-06", 2, 1, 2, 2),
            stay("2026-08-07", 5, 1, 2, 1),
        ];
        assert_eq!(
            travel_purpose(&family, &none).unwrap().purpose,
            TravelPurpose::Family
        );
        // Weekend couples.
        let weekend = [
            stay("2026-11-06", 2, 1, 2, 0),
            stay("2026-10-02", 2, 1, 2, 0),
        ];
        let p = travel_purpose(&weekend, &none).unwrap();
        assert_eq!(p.purpose, TravelPurpose::Leisure);
        assert!(p.reasons[0].contains("Friday or Saturday"));
        assert!(travel_purpose(&[], &none).is_none());
    }

    #[test]
    fn churn_compares_the_gap_with_the_guests_own_rhythm() {
        let s = InsightSettings::default();
        let stays = [
            stay("2025-01-10", 1, 1, 1, 0),
            stay("2025-02-10", 1, 1, 1, 0),
            stay("2025-03-10", 1, 1, 1, 0),
        ];
        let f = stay_figures(&stays, d("2025-03-20"));
        let fresh = churn(&f, &GuestFacts::default(), &s, d("2025-03-20")).unwrap();
        assert_eq!(fresh.grade, ChurnGrade::Low);
        let late = churn(&f, &GuestFacts::default(), &s, d("2025-06-20")).unwrap();
        assert_eq!(late.grade, ChurnGrade::High, "{late:?}");
        assert!(late.reasons[0].contains("usual 29 days"));
        let unhappy = GuestFacts {
            open_complaints: 1,
            satisfaction: Some(2.0),
            ..Default::default()
        };
        let medium = churn(&f, &unhappy, &s, d("2025-04-05")).unwrap();
        assert!(
            medium.score
                > churn(&f, &GuestFacts::default(), &s, d("2025-04-05"))
                    .unwrap()
                    .score
        );
        assert!(churn(
            &stay_figures(&[], d("2025-01-01")),
            &GuestFacts::default(),
            &s,
            d("2025-01-01")
        )
        .is_none());
    }

    #[test]
    fn settings_must_ascend() {
        assert!(InsightSettings::default().validate().is_ok());
        let bad = InsightSettings {
            recency_days: [90, 30, 180, 365],
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn bands() {
        assert_eq!(age_band(Some(d("1990-06-01")), d("2026-05-31")), "35_44");
        assert_eq!(age_band(Some(d("1990-06-01")), d("2026-06-01")), "35_44");
        assert_eq!(age_band(Some(d("1992-06-02")), d("2026-06-01")), "25_34");
        assert_eq!(age_band(None, d("2026-06-01")), "unknown");
        assert_eq!(spend_band(0), "0");
        assert_eq!(spend_band(250_000), "1000_4999");
    }
}
