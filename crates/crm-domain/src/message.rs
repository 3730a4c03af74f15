//! Guest messages (全周期沟通): templates per trigger, channel and
//! language, written with `{{ variable }}` placeholders from the guest,
//! the reservation, the property and the membership.

use crate::template::{fill, parse_body, Segment};
use crate::{DomainError, Errors, FieldError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Email,
    Sms,
    Wechat,
    AppPush,
}

impl MessageChannel {
    /// Longest body a channel carries, in characters.
    pub fn max_body(self) -> usize {
        match self {
            MessageChannel::Email => 20_000,
            MessageChannel::Sms => 500,
            MessageChannel::Wechat => 2_000,
            MessageChannel::AppPush => 500,
        }
    }

    /// E-mail and push notifications have a subject (title).
    pub fn has_subject(self) -> bool {
        matches!(self, MessageChannel::Email | MessageChannel::AppPush)
    }
}

/// When a message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageTrigger {
    BookingConfirmation,
    PreArrival,
    InStayWelcome,
    PostStayThankYou,
    Birthday,
    TierChange,
    PointsExpiring,
    /// Sent by a campaign, not by an event.
    Campaign,
}

impl MessageTrigger {
    pub const ALL: [MessageTrigger; 8] = [
        MessageTrigger::BookingConfirmation,
        MessageTrigger::PreArrival,
        MessageTrigger::InStayWelcome,
        MessageTrigger::PostStayThankYou,
        MessageTrigger::Birthday,
        MessageTrigger::TierChange,
        MessageTrigger::PointsExpiring,
        MessageTrigger::Campaign,
    ];

    /// Service messages about a stay go to every guest with an address;
    /// the others need marketing consent on the channel.
    pub fn is_marketing(self) -> bool {
        matches!(
            self,
            MessageTrigger::Birthday | MessageTrigger::Campaign | MessageTrigger::PointsExpiring
        )
    }

    /// The variable groups the trigger's messages can use.
    fn groups(self) -> &'static [&'static str] {
        match self {
            MessageTrigger::BookingConfirmation
            | MessageTrigger::PreArrival
            | MessageTrigger::InStayWelcome => &["guest", "property", "membership", "reservation"],
            MessageTrigger::PostStayThankYou => {
                &["guest", "property", "membership", "reservation", "survey"]
            }
            MessageTrigger::Birthday | MessageTrigger::TierChange => {
                &["guest", "property", "membership"]
            }
            MessageTrigger::Campaign => &["guest", "property", "membership", "offer"],
            MessageTrigger::PointsExpiring => &["guest", "property", "membership", "points"],
        }
    }
}

/// Every variable, with a description and the sample a preview shows.
pub const MESSAGE_VARIABLES: &[(&str, &str, &str)] = &[
    ("guest.display_name", "the guest's name as shown", "张伟"),
    ("guest.family_name", "family name", "张"),
    ("guest.given_name", "given name", "伟"),
    ("property.name", "the hotel", "外滩精品酒店"),
    ("property.phone", "the hotel's phone", "+86 21 6321 0000"),
    ("membership.tier", "the member's tier", "金卡"),
    ("membership.member_number", "the member number", "M00012345"),
    ("membership.points", "points available", "12,800"),
    (
        "reservation.confirmation_number",
        "the booking's confirmation number",
        "SHA-20261201-0042",
    ),
    ("reservation.arrival", "arrival date", "2026-12-24"),
    ("reservation.departure", "departure date", "2026-12-27"),
    ("reservation.nights", "nights", "3"),
    (
        "reservation.room_type",
        "the room type booked",
        "Deluxe King",
    ),
    (
        "survey.link",
        "the post-stay survey link",
        "https://hotel.example/s/XyZ",
    ),
    ("points.expiring", "points expiring", "1,200"),
    ("points.expiring_on", "when they expire", "2026-12-31"),
    (
        "offer.code",
        "the campaign's coupon or package code (the guest's own where personal)",
        "SPR-7KQ2M9XD",
    ),
    ("offer.title", "what the offer is", "15% off"),
    (
        "offer.valid_until",
        "last day to book with the code",
        "2027-01-31",
    ),
];

/// Whether `trigger`'s messages may use `name`.
pub fn variable_allowed(trigger: MessageTrigger, name: &str) -> bool {
    let Some((group, _)) = name.split_once('.') else {
        return false;
    };
    trigger.groups().contains(&group) && MESSAGE_VARIABLES.iter().any(|(v, _, _)| *v == name)
}

/// Checks a template: a subject where the channel has one, a body within
/// the channel's length, every `{{ }}` closed and known for the trigger.
pub fn validate_template(
    trigger: MessageTrigger,
    channel: MessageChannel,
    subject: Option<&str>,
    body: &str,
) -> Result<(), DomainError> {
    let mut errors = Errors::new();
    if channel.has_subject() {
        check_text(&mut errors, trigger, "subject", subject.unwrap_or(""), 200);
    }
    check_text(&mut errors, trigger, "body", body, channel.max_body());
    if !channel.has_subject() && subject.is_some() {
        errors.push(FieldError::new(
            "subject",
            "not_allowed",
            "this channel has no subject",
        ));
    }
    errors.finish()
}

fn check_text(errors: &mut Errors, trigger: MessageTrigger, field: &str, text: &str, max: usize) {
    if text.trim().is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
        return;
    }
    if text.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    match parse_body(text) {
        Err(why) => errors.push(FieldError::new(field, "invalid_placeholder", why)),
        Ok(segments) => {
            for s in segments {
                if let Segment::Variable(v) = s {
                    if !variable_allowed(trigger, v) {
                        errors.push(FieldError::new(
                            field,
                            "unknown_variable",
                            format!("`{{{{{v}}}}}` is not a variable of this trigger's messages"),
                        ));
                    }
                }
            }
        }
    }
}

/// Renders a checked text with `values` (missing values render empty).
pub fn render(text: &str, values: &BTreeMap<String, String>) -> String {
    match parse_body(text) {
        Ok(segments) => fill(&segments, |v| values.get(v).cloned()),
        Err(_) => text.to_string(),
    }
}

/// The samples a preview fills in, for the trigger's variables.
pub fn sample_values(trigger: MessageTrigger) -> BTreeMap<String, String> {
    MESSAGE_VARIABLES
        .iter()
        .filter(|(v, _, _)| variable_allowed(trigger, v))
        .map(|(v, _, sample)| (v.to_string(), sample.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_use_only_their_triggers_variables() {
        use MessageChannel::*;
        use MessageTrigger::*;
        assert!(validate_template(
            PreArrival,
            Sms,
            None,
            "{{guest.display_name}}您好，{{reservation.arrival}}见！"
        )
        .is_ok());
        let e = validate_template(
            Birthday,
            Email,
            Some("生日快乐"),
            "{{reservation.arrival}} {{guest.age}}",
        )
        .unwrap_err()
        .into_field_errors();
        assert_eq!(e.len(), 2);
        assert!(e
            .iter()
            .all(|f| f.field == "body" && f.code == "unknown_variable"));
        let e = validate_template(TierChange, Email, None, "{{membership.tier")
            .unwrap_err()
            .into_field_errors();
        let codes: Vec<&str> = e.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["required", "invalid_placeholder"]);
        let e = validate_template(PreArrival, Sms, Some("x"), &"字".repeat(501))
            .unwrap_err()
            .into_field_errors();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["body", "subject"]);
        assert!(Birthday.is_marketing() && !PreArrival.is_marketing());
    }

    #[test]
    fn rendering_fills_the_samples() {
        let v = sample_values(MessageTrigger::PostStayThankYou);
        assert!(v.contains_key("survey.link") && !v.contains_key("points.expiring"));
        assert_eq!(
            render("谢谢{{ guest.display_name }}，请评价：{{survey.link}}", &v),
            "谢谢张伟，请评价：https://hotel.example/s/XyZ"
        );
    }
}

/// Quiet hours in the property's time zone: SMS, WeChat and push wait
/// for the morning; e-mail does not wake anyone.
pub const QUIET_FROM: u32 = 21;
pub const QUIET_UNTIL: u32 = 8;

/// When a message created at `local` (property time) may go out: `None`
/// for now, or the end of the quiet hours.
pub fn after_quiet_hours(
    channel: MessageChannel,
    local: chrono::NaiveDateTime,
) -> Option<chrono::NaiveDateTime> {
    use chrono::{Duration, Timelike};
    if channel == MessageChannel::Email {
        return None;
    }
    let hour = local.hour();
    let morning = |d: chrono::NaiveDate| d.and_hms_opt(QUIET_UNTIL, 0, 0);
    if hour >= QUIET_FROM {
        morning(local.date() + Duration::days(1))
    } else if hour < QUIET_UNTIL {
        morning(local.date())
    } else {
        None
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// No address for the channel.
    NoAddress,
    /// Marketing without the guest's consent on the channel.
    NoConsent,
    /// More marketing messages in 7 days than the cap allows.
    FrequencyCap,
    /// Erased or blacklisted guests get nothing.
    GuestExcluded,
    /// No active template for the trigger, channel and language.
    NoTemplate,
    /// The campaign was cancelled before the message went out.
    CampaignCancelled,
}

/// Marketing messages a guest may receive in 7 days.
pub const MARKETING_CAP_PER_WEEK: i64 = 3;

/// Whether a message may be sent: an address, consent for marketing, the
/// weekly cap for marketing.
pub fn may_send(
    trigger: MessageTrigger,
    has_address: bool,
    marketing_consent: bool,
    marketing_sent_last_week: i64,
) -> Result<(), Suppression> {
    if !has_address {
        return Err(Suppression::NoAddress);
    }
    if trigger.is_marketing() {
        if !marketing_consent {
            return Err(Suppression::NoConsent);
        }
        if marketing_sent_last_week >= MARKETING_CAP_PER_WEEK {
            return Err(Suppression::FrequencyCap);
        }
    }
    Ok(())
}

#[cfg(test)]
mod sending_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn quiet_hours_hold_texts_until_morning() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let at = |h, m| d.and_hms_opt(h, m, 0).unwrap();
        assert_eq!(after_quiet_hours(MessageChannel::Sms, at(14, 0)), None);
        assert_eq!(
            after_quiet_hours(MessageChannel::Sms, at(22, 30)),
            Some(
                (d + chrono::Duration::days(1))
                    .and_hms_opt(8, 0, 0)
                    .unwrap()
            )
        );
        assert_eq!(
            after_quiet_hours(MessageChannel::Wechat, at(6, 0)),
            Some(at(8, 0))
        );
        assert_eq!(after_quiet_hours(MessageChannel::Email, at(23, 0)), None);
    }

    #[test]
    fn marketing_needs_consent_and_respects_the_cap() {
        use MessageTrigger::*;
        assert_eq!(may_send(PostStayThankYou, true, false, 9), Ok(()));
        assert_eq!(
            may_send(PostStayThankYou, false, true, 0),
            Err(Suppression::NoAddress)
        );
        assert_eq!(
            may_send(Birthday, true, false, 0),
            Err(Suppression::NoConsent)
        );
        assert_eq!(
            may_send(Birthday, true, true, 3),
            Err(Suppression::FrequencyCap)
        );
        assert_eq!(may_send(Birthday, true, true, 2), Ok(()));
    }
}
