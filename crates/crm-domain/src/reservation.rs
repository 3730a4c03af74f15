//! Reservations (客房预订): stay dates, cancellation policies and their fees,
//! overbooking allowances, the status a reservation moves through, and the
//! stay record that check-out produces.

use crate::error::{DomainError, Errors, FieldError};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

/// Longest stay one room stay may cover; longer stays are contracts.
pub const MAX_NIGHTS: i64 = 90;
/// Guests arrive from this hour, property-local; "N hours before arrival"
/// counts back from it.
pub const CHECK_IN_HOUR: u32 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Website,
    Ota,
    Phone,
    Email,
    TravelAgency,
    WalkIn,
    App,
}

impl Channel {
    /// The API name (`walk_in`), also the channel code of direct bookings.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Website => "website",
            Channel::Ota => "ota",
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::TravelAgency => "travel_agency",
            Channel::WalkIn => "walk_in",
            Channel::App => "app",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MealPlan {
    RoomOnly,
    Breakfast,
    HalfBoard,
    FullBoard,
    AllInclusive,
}

/// What a late cancellation costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CancellationFee {
    /// The first night's amount.
    FirstNight,
    /// The first `nights` nights' amounts.
    Nights { nights: u32 },
    /// A percentage of the total.
    Percent { percent: u32 },
}

/// A cancellation policy as data; the one in force is copied onto each
/// reservation so later edits of the rate plan do not change old bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CancellationPolicy {
    /// Free until `hours_before_arrival` hours before 14:00 property time on
    /// the arrival date; later, `fee`.
    FreeUntil {
        hours_before_arrival: u32,
        fee: CancellationFee,
    },
    /// Every cancellation costs the full amount.
    NonRefundable,
}

impl CancellationPolicy {
    pub fn validate(&self) -> Result<(), DomainError> {
        match self {
            CancellationPolicy::FreeUntil {
                hours_before_arrival,
                fee,
            } => {
                let mut errors = Errors::new();
                if *hours_before_arrival > 24 * 365 {
                    errors.push(FieldError::new(
                        "hours_before_arrival",
                        "out_of_range",
                        "at most one year",
                    ));
                }
                match fee {
                    CancellationFee::Nights { nights }
                        if *nights == 0 || i64::from(*nights) > MAX_NIGHTS =>
                    {
                        errors.push(FieldError::new(
                            "fee.nights",
                            "out_of_range",
                            "1 to 90 nights",
                        ));
                    }
                    CancellationFee::Percent { percent } if *percent == 0 || *percent > 100 => {
                        errors.push(FieldError::new(
                            "fee.percent",
                            "out_of_range",
                            "1 to 100 percent",
                        ));
                    }
                    _ => {}
                }
                errors.finish()
            }
            CancellationPolicy::NonRefundable => Ok(()),
        }
    }

    /// The fee, in minor units, for cancelling at `at` a stay arriving on
    /// `arrival` in `tz`, whose nights cost `nightly` (first night first).
    pub fn fee(
        &self,
        at: DateTime<Utc>,
        arrival: NaiveDate,
        tz: chrono_tz::Tz,
        nightly: &[i64],
    ) -> i64 {
        let total: i64 = nightly.iter().sum();
        match self {
            CancellationPolicy::NonRefundable => total,
            CancellationPolicy::FreeUntil {
                hours_before_arrival,
                fee,
            } => {
                let deadline = arrival_instant(arrival, tz)
                    - Duration::hours(i64::from(*hours_before_arrival));
                if at < deadline {
                    return 0;
                }
                match fee {
                    CancellationFee::FirstNight => nightly.first().copied().unwrap_or(0),
                    CancellationFee::Nights { nights } => {
                        nightly.iter().take(*nights as usize).sum()
                    }
                    CancellationFee::Percent { percent } => total * i64::from(*percent) / 100,
                }
            }
        }
    }
}

/// 14:00 on the arrival date in the property's zone, as an instant.
pub fn arrival_instant(arrival: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = arrival.and_time(NaiveTime::from_hms_opt(CHECK_IN_HOUR, 0, 0).unwrap_or_default());
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| local.and_utc())
}

/// Arrival and departure dates of a room stay (hotel-local calendar days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StayDates {
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
}

impl StayDates {
    pub fn new(arrival: NaiveDate, departure: NaiveDate) -> Result<StayDates, DomainError> {
        let nights = (departure - arrival).num_days();
        if nights < 1 {
            return Err(DomainError::field(
                "departure",
                "before_arrival",
                "departure must be after arrival",
            ));
        }
        if nights > MAX_NIGHTS {
            return Err(DomainError::field(
                "departure",
                "too_long",
                "at most 90 nights per room stay",
            ));
        }
        Ok(StayDates { arrival, departure })
    }

    pub fn nights(&self) -> i64 {
        (self.departure - self.arrival).num_days()
    }

    /// The nights of the stay: each date a room is occupied.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> {
        let arrival = self.arrival;
        (0..self.nights()).map(move |i| arrival + Duration::days(i))
    }

    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.arrival < to && from < self.departure
    }
}

/// Splits a room stay's amount into nights, the remainder on the first
/// nights, so the nights always add up to the amount.
pub fn nightly_amounts(amount: i64, nights: i64) -> Vec<i64> {
    if nights <= 0 {
        return Vec::new();
    }
    let base = amount / nights;
    let remainder = amount % nights;
    (0..nights)
        .map(|i| base + i64::from(i < remainder))
        .collect()
}

/// Rooms that may be sold: the physical count plus the overbooking
/// allowance (超额预订), rounded down.
pub fn sellable_rooms(rooms: i64, overbooking_percent: i64) -> i64 {
    rooms + rooms * overbooking_percent / 100
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Confirmed,
    CheckedIn,
    CheckedOut,
    Cancelled,
    NoShow,
    /// Moved to another hotel because of overbooking, with compensation.
    Walked,
}

impl ReservationStatus {
    /// Does the reservation hold rooms (count against availability)?
    pub fn holds_rooms(self) -> bool {
        matches!(
            self,
            ReservationStatus::Confirmed | ReservationStatus::CheckedIn
        )
    }

    /// Can it move from `self` to `next`?
    pub fn can_become(self, next: ReservationStatus) -> bool {
        use ReservationStatus::*;
        matches!(
            (self, next),
            (Confirmed, CheckedIn)
                | (Confirmed, Cancelled)
                | (Confirmed, NoShow)
                | (Confirmed, Walked)
                | (CheckedIn, CheckedOut)
        )
    }
}

/// Charges posted at check-out, by category, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PostedCharges {
    #[serde(default)]
    pub room: i64,
    #[serde(default)]
    pub food_and_beverage: i64,
    #[serde(default)]
    pub other: i64,
}

impl PostedCharges {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Errors::new();
        for (field, v) in [
            ("room", self.room),
            ("food_and_beverage", self.food_and_beverage),
            ("other", self.other),
        ] {
            if !(0..=100_000_000_000).contains(&v) {
                errors.push(FieldError::new(
                    field,
                    "out_of_range",
                    "0 to 1,000,000,000.00 in minor units",
                ));
            }
        }
        errors.finish()
    }

    pub fn total(&self) -> i64 {
        self.room + self.food_and_beverage + self.other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn free_until_48_hours_before_then_first_night() {
        let policy = CancellationPolicy::FreeUntil {
            hours_before_arrival: 48,
            fee: CancellationFee::FirstNight,
        };
        let nights = [45800, 40000];
        // Arrival 2026-12-10 14:00 Shanghai = 06:00 UTC; deadline 2026-12-08 06:00 UTC.
        assert_eq!(
            policy.fee(
                t("2026-12-08T05:59:59Z"),
                d("2026-12-10"),
                SHANGHAI,
                &nights
            ),
            0
        );
        assert_eq!(
            policy.fee(
                t("2026-12-08T06:00:00Z"),
                d("2026-12-10"),
                SHANGHAI,
                &nights
            ),
            45800
        );
    }

    #[test]
    fn nights_percent_and_non_refundable_fees() {
        let nights = [10000, 10000, 10001];
        let late = t("2026-12-10T00:00:00Z");
        let n2 = CancellationPolicy::FreeUntil {
            hours_before_arrival: 24,
            fee: CancellationFee::Nights { nights: 2 },
        };
        assert_eq!(n2.fee(late, d("2026-12-10"), SHANGHAI, &nights), 20000);
        let pct = CancellationPolicy::FreeUntil {
            hours_before_arrival: 24,
            fee: CancellationFee::Percent { percent: 50 },
        };
        assert_eq!(pct.fee(late, d("2026-12-10"), SHANGHAI, &nights), 15000);
        assert_eq!(
            CancellationPolicy::NonRefundable.fee(
                t("2020-01-01T00:00:00Z"),
                d("2026-12-10"),
                SHANGHAI,
                &nights
            ),
            30001
        );
    }

    #[test]
    fn policies_are_validated() {
        let bad = CancellationPolicy::FreeUntil {
            hours_before_arrival: 24,
            fee: CancellationFee::Percent { percent: 0 },
        };
        assert!(bad.validate().is_err());
        assert!(CancellationPolicy::NonRefundable.validate().is_ok());
    }

    #[test]
    fn stay_dates_and_nightly_split() {
        assert!(StayDates::new(d("2026-12-10"), d("2026-12-10")).is_err());
        assert!(StayDates::new(d("2026-12-10"), d("2027-06-10")).is_err());
        let s = StayDates::new(d("2026-12-30"), d("2027-01-02")).unwrap();
        assert_eq!(
            s.dates().collect::<Vec<_>>(),
            vec![d("2026-12-30"), d("2026-12-31"), d("2027-01-01")]
        );
        assert!(s.overlaps(d("2027-01-01"), d("2027-01-05")));
        assert!(!s.overlaps(d("2027-01-02"), d("2027-01-05")));
        assert_eq!(nightly_amounts(100, 3), vec![34, 33, 33]);
        assert_eq!(nightly_amounts(100, 3).iter().sum::<i64>(), 100);
    }

    #[test]
    fn overbooking_allowance_rounds_down() {
        assert_eq!(sellable_rooms(10, 10), 11);
        assert_eq!(sellable_rooms(9, 10), 9);
        assert_eq!(sellable_rooms(20, 0), 20);
    }

    #[test]
    fn channel_names_match_their_serde_names() {
        for c in [
            Channel::Website,
            Channel::Ota,
            Channel::Phone,
            Channel::Email,
            Channel::TravelAgency,
            Channel::WalkIn,
            Channel::App,
        ] {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::String(c.as_str().into())
            );
        }
    }

    #[test]
    fn status_transitions() {
        use ReservationStatus::*;
        assert!(Confirmed.can_become(CheckedIn));
        assert!(CheckedIn.can_become(CheckedOut));
        assert!(!Cancelled.can_become(CheckedIn));
        assert!(!CheckedOut.can_become(Cancelled));
        assert!(!Confirmed.can_become(CheckedOut));
        assert!(Confirmed.holds_rooms() && CheckedIn.holds_rooms() && !Walked.holds_rooms());
    }
}

/// One room type on one date: what is sold and what may still be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayInventory {
    pub date: NaiveDate,
    /// Physical rooms that night (the room type's count or an override).
    pub rooms: i64,
    pub sold: i64,
    /// Extra rooms the overbooking percentage allows.
    pub overbooking_allowance: i64,
    pub closed: bool,
}

impl DayInventory {
    pub fn available(&self) -> i64 {
        if self.closed {
            0
        } else {
            (self.rooms + self.overbooking_allowance - self.sold).max(0)
        }
    }

    /// Sold past what may be sold: a booking that just raised `sold` to
    /// this does not fit. Every room of a closed night is past it.
    pub fn oversold(&self) -> bool {
        self.closed || self.sold > self.rooms + self.overbooking_allowance
    }
}

/// How rooms sold per `(room type, night)` change when a reservation's
/// inventory-holding stays `(room type, arrival, departure)` go from
/// `before` to `after`. Nights that net to zero are left out; the rest come
/// sorted, so concurrent writers touch counters in the same order.
pub fn room_night_deltas(
    before: &[(&str, NaiveDate, NaiveDate)],
    after: &[(&str, NaiveDate, NaiveDate)],
) -> Vec<(String, NaiveDate, i64)> {
    let mut net: std::collections::BTreeMap<(String, NaiveDate), i64> = Default::default();
    for (stays, sign) in [(before, -1), (after, 1)] {
        for (room_type, arrival, departure) in stays {
            let dates = StayDates {
                arrival: *arrival,
                departure: *departure,
            };
            for night in dates.dates() {
                *net.entry((room_type.to_string(), night)).or_default() += sign;
            }
        }
    }
    net.into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((t, d), n)| (t, d, n))
        .collect()
}

/// The nights `[from, to)` of one room type, given its room count, its
/// overbooking percentage, per-date overrides `(date, rooms, closed)` and
/// the rooms sold per night (nights not listed sold none).
pub fn inventory_calendar(
    from: NaiveDate,
    to: NaiveDate,
    room_count: i64,
    overbooking_percent: i64,
    overrides: &[(NaiveDate, Option<i64>, bool)],
    sold_per_night: &[(NaiveDate, i64)],
) -> Vec<DayInventory> {
    let days = (to - from).num_days().max(0);
    (0..days)
        .map(|i| {
            let date = from + Duration::days(i);
            let (rooms, closed) = overrides
                .iter()
                .find(|(d, _, _)| *d == date)
                .map(|(_, rooms, closed)| (rooms.unwrap_or(room_count), *closed))
                .unwrap_or((room_count, false));
            let sold = sold_per_night
                .iter()
                .find(|(d, _)| *d == date)
                .map_or(0, |(_, n)| *n);
            DayInventory {
                date,
                rooms,
                sold,
                overbooking_allowance: sellable_rooms(rooms, overbooking_percent) - rooms,
                closed,
            }
        })
        .collect()
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    #[test]
    fn a_night_is_oversold_past_its_allowance_or_when_closed() {
        let day = |sold, closed| DayInventory {
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            rooms: 10,
            sold,
            overbooking_allowance: 1,
            closed,
        };
        assert!(!day(10, false).oversold());
        assert!(!day(11, false).oversold());
        assert!(day(12, false).oversold());
        assert!(day(1, true).oversold());
        assert_eq!(day(11, false).available(), 0);
    }

    #[test]
    fn the_calendar_counts_nights_overrides_and_allowance() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let stays = [
            ("DLK", d("2026-12-01"), d("2026-12-03")),
            ("DLK", d("2026-12-02"), d("2026-12-04")),
        ];
        let held: Vec<(NaiveDate, i64)> = room_night_deltas(&[], &stays)
            .into_iter()
            .map(|(_, night, n)| (night, n))
            .collect();
        let overrides = [
            (d("2026-12-03"), Some(5), false),
            (d("2026-12-04"), None, true),
        ];
        let cal = inventory_calendar(d("2026-12-01"), d("2026-12-05"), 10, 10, &overrides, &held);
        let sold: Vec<i64> = cal.iter().map(|c| c.sold).collect();
        assert_eq!(sold, vec![1, 2, 1, 0]);
        let available: Vec<i64> = cal.iter().map(|c| c.available()).collect();
        assert_eq!(
            available,
            vec![10, 9, 4, 0],
            "11 sellable, then an override of 5 rooms, then closed"
        );
    }

    #[test]
    fn a_modification_moves_only_the_nights_that_changed() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Two nights on DLK become the second night on DLK plus one on TWN.
        let before = [("DLK", d("2026-12-01"), d("2026-12-03"))];
        let after = [
            ("DLK", d("2026-12-02"), d("2026-12-03")),
            ("TWN", d("2026-12-03"), d("2026-12-04")),
        ];
        assert_eq!(
            room_night_deltas(&before, &after),
            vec![
                ("DLK".to_string(), d("2026-12-01"), -1),
                ("TWN".to_string(), d("2026-12-03"), 1),
            ]
        );
        assert!(room_night_deltas(&before, &before).is_empty());
        let cancelled = room_night_deltas(&before, &[]);
        assert_eq!(cancelled.iter().map(|(_, _, n)| n).sum::<i64>(), -2);
    }
}
