//! Satisfaction surveys (满意度调查) and online reviews (口碑): what a
//! survey asks, how an answer is checked, what counts as a low score, and
//! the net promoter score.

use crate::service::TicketCategory;
use crate::{Errors, FieldError};
use serde::{Deserialize, Serialize};

/// The dimensions a guest scores from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    RoomHygiene,
    FoodBeverage,
    FrontDesk,
    StaffAttitude,
    Value,
    Location,
}

impl Dimension {
    pub const ALL: [Dimension; 6] = [
        Dimension::RoomHygiene,
        Dimension::FoodBeverage,
        Dimension::FrontDesk,
        Dimension::StaffAttitude,
        Dimension::Value,
        Dimension::Location,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::RoomHygiene => "room_hygiene",
            Dimension::FoodBeverage => "food_beverage",
            Dimension::FrontDesk => "front_desk",
            Dimension::StaffAttitude => "staff_attitude",
            Dimension::Value => "value",
            Dimension::Location => "location",
        }
    }

    /// The complaint category a low score on this dimension opens.
    pub fn ticket_category(self) -> TicketCategory {
        match self {
            Dimension::RoomHygiene => TicketCategory::Hygiene,
            Dimension::FoodBeverage => TicketCategory::Quality,
            Dimension::FrontDesk => TicketCategory::Communication,
            Dimension::StaffAttitude => TicketCategory::Attitude,
            Dimension::Value => TicketCategory::Price,
            Dimension::Location => TicketCategory::Other,
        }
    }
}

/// What a survey template asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SurveyDefinition {
    /// Shown above the questions.
    pub intro: String,
    /// Each scored 1–5; at least one, no repeats.
    pub dimensions: Vec<Dimension>,
    /// Ask "How likely are you to recommend us?" (0–10).
    #[serde(default = "yes")]
    pub nps: bool,
    /// Ask for free text.
    #[serde(default = "yes")]
    pub free_text: bool,
    /// A dimension scored at or below this opens a complaint (1–4;
    /// default 2).
    #[serde(default = "two")]
    pub low_score_at_most: i32,
    /// An NPS at or below this opens a complaint (0–9; default 4).
    #[serde(default = "four")]
    pub low_nps_at_most: i32,
    /// Days the link stays valid after check-out (1–90; default 14).
    #[serde(default = "fourteen")]
    pub valid_days: i32,
}

fn yes() -> bool {
    true
}
fn two() -> i32 {
    2
}
fn four() -> i32 {
    4
}
fn fourteen() -> i32 {
    14
}

impl SurveyDefinition {
    pub fn validate(&self) -> Result<(), crate::DomainError> {
        let mut errors = Errors::new();
        let intro = self.intro.trim().chars().count();
        if intro == 0 || intro > 2000 {
            errors.push(FieldError::new(
                "intro",
                "out_of_range",
                "1 to 2,000 characters",
            ));
        }
        if self.dimensions.is_empty() {
            errors.push(FieldError::new(
                "dimensions",
                "required",
                "at least one dimension",
            ));
        }
        let mut seen = Vec::new();
        for (i, d) in self.dimensions.iter().enumerate() {
            if seen.contains(d) {
                errors.push(FieldError::new(
                    format!("dimensions[{i}]"),
                    "duplicate",
                    "asked twice",
                ));
            }
            seen.push(*d);
        }
        for (field, value, range) in [
            ("low_score_at_most", self.low_score_at_most, 1..=4),
            ("low_nps_at_most", self.low_nps_at_most, 0..=9),
            ("valid_days", self.valid_days, 1..=90),
        ] {
            if !range.contains(&value) {
                errors.push(FieldError::new(
                    field,
                    "out_of_range",
                    format!("{} to {}", range.start(), range.end()),
                ));
            }
        }
        errors.finish()
    }
}

/// A guest's answer, as checked against the survey it answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub scores: Vec<(Dimension, i32)>,
    pub nps: Option<i32>,
    pub comment: Option<String>,
}

/// Checks an answer: every asked dimension scored 1–5 and nothing else,
/// NPS 0–10 if asked, a comment of at most 4,000 characters if asked.
pub fn check_answer(
    def: &SurveyDefinition,
    scores: &[(Dimension, i32)],
    nps: Option<i32>,
    comment: Option<&str>,
) -> Result<Answer, crate::DomainError> {
    let mut errors = Errors::new();
    let mut out = Vec::new();
    for d in &def.dimensions {
        match scores.iter().find(|(x, _)| x == d) {
            Some((_, s)) if (1..=5).contains(s) => out.push((*d, *s)),
            Some(_) => errors.push(FieldError::new(
                format!("scores.{}", d.as_str()),
                "out_of_range",
                "1 to 5",
            )),
            None => errors.push(FieldError::new(
                format!("scores.{}", d.as_str()),
                "required",
                "this survey asks it",
            )),
        }
    }
    for (d, _) in scores {
        if !def.dimensions.contains(d) {
            errors.push(FieldError::new(
                format!("scores.{}", d.as_str()),
                "not_asked",
                "this survey does not ask it",
            ));
        }
    }
    let nps = match (def.nps, nps) {
        (true, Some(n)) if (0..=10).contains(&n) => Some(n),
        (true, Some(_)) => {
            errors.push(FieldError::new("nps", "out_of_range", "0 to 10"));
            None
        }
        (true, None) => {
            errors.push(FieldError::new("nps", "required", "this survey asks it"));
            None
        }
        (false, Some(_)) => {
            errors.push(FieldError::new(
                "nps",
                "not_asked",
                "this survey does not ask it",
            ));
            None
        }
        (false, None) => None,
    };
    let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(_) if !def.free_text => {
            errors.push(FieldError::new(
                "comment",
                "not_asked",
                "this survey does not ask it",
            ));
            None
        }
        Some(c) if c.chars().count() > 4000 => {
            errors.push(FieldError::new(
                "comment",
                "too_long",
                "at most 4,000 characters",
            ));
            None
        }
        other => other.map(str::to_string),
    };
    errors.finish()?;
    Ok(Answer {
        scores: out,
        nps,
        comment,
    })
}

/// The dimensions scored low, lowest first, and whether the NPS was.
pub fn low_scores(def: &SurveyDefinition, a: &Answer) -> (Vec<Dimension>, bool) {
    let mut low: Vec<(i32, Dimension)> = a
        .scores
        .iter()
        .filter(|(_, s)| *s <= def.low_score_at_most)
        .map(|(d, s)| (*s, *d))
        .collect();
    low.sort();
    let nps_low = a.nps.is_some_and(|n| n <= def.low_nps_at_most);
    (low.into_iter().map(|(_, d)| d).collect(), nps_low)
}

/// Net promoter score, −100 to 100: promoters (9–10) minus detractors
/// (0–6), as shares of all answers. `None` without answers.
pub fn net_promoter_score(promoters: i64, detractors: i64, answers: i64) -> Option<f64> {
    if answers == 0 {
        return None;
    }
    Some((promoters - detractors) as f64 * 100.0 / answers as f64)
}

/// Where an online review was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewSource {
    Ctrip,
    Meituan,
    Fliggy,
    Dianping,
    Booking,
    Expedia,
    Agoda,
    Google,
    Tripadvisor,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplyStatus {
    /// Nobody answered yet.
    Pending,
    /// A reply is written but not yet posted on the site.
    Drafted,
    /// Posted.
    Replied,
}

/// A rating on the site's own scale (5 or 10), in tenths, as 0–100.
pub fn normalised_rating(rating_tenths: i32, scale: i32) -> Option<i32> {
    if !(scale == 5 || scale == 10) || rating_tenths < 0 || rating_tenths > scale * 10 {
        return None;
    }
    Some(rating_tenths * 10 / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> SurveyDefinition {
        SurveyDefinition {
            intro: "感谢入住".into(),
            dimensions: vec![Dimension::RoomHygiene, Dimension::StaffAttitude],
            nps: true,
            free_text: true,
            low_score_at_most: 2,
            low_nps_at_most: 4,
            valid_days: 14,
        }
    }

    #[test]
    fn a_definition_asks_something_once_within_limits() {
        assert!(def().validate().is_ok());
        let mut d = def();
        d.dimensions = vec![Dimension::Value, Dimension::Value];
        d.valid_days = 0;
        let e = d.validate().unwrap_err().into_field_errors();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["dimensions[1]", "valid_days"]);
    }

    #[test]
    fn an_answer_scores_what_was_asked_and_nothing_else() {
        let ok = check_answer(
            &def(),
            &[(Dimension::RoomHygiene, 2), (Dimension::StaffAttitude, 5)],
            Some(3),
            Some("  "),
        )
        .unwrap();
        assert_eq!(ok.comment, None);
        let (low, nps_low) = low_scores(&def(), &ok);
        assert_eq!((low, nps_low), (vec![Dimension::RoomHygiene], true));
        let e = check_answer(
            &def(),
            &[(Dimension::RoomHygiene, 6), (Dimension::Location, 3)],
            None,
            None,
        )
        .unwrap_err()
        .into_field_errors();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "scores.room_hygiene",
                "scores.staff_attitude",
                "scores.location",
                "nps"
            ]
        );
    }

    #[test]
    fn nps_and_ratings() {
        assert_eq!(net_promoter_score(6, 2, 10), Some(40.0));
        assert_eq!(net_promoter_score(0, 0, 0), None);
        assert_eq!(normalised_rating(45, 5), Some(90));
        assert_eq!(normalised_rating(83, 10), Some(83));
        assert_eq!(normalised_rating(51, 5), None);
        assert_eq!(normalised_rating(40, 7), None);
        assert_eq!(
            Dimension::StaffAttitude.ticket_category(),
            TicketCategory::Attitude
        );
    }
}
