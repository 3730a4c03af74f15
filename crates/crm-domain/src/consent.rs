//! Consent (同意) per purpose and channel. No marketing message goes out
//! without a current grant for that channel.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// Promotional messages, per channel.
    Marketing,
    /// Analysing the guest's stays and spend for segments and offers.
    Profiling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    Email,
    Sms,
    Wechat,
    Push,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Granted,
    Withdrawn,
}

macro_rules! str_enum {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

str_enum!(ConsentPurpose { Marketing => "marketing", Profiling => "profiling" });
str_enum!(ConsentChannel { Email => "email", Sms => "sms", Wechat => "wechat", Push => "push" });
str_enum!(ConsentStatus { Granted => "granted", Withdrawn => "withdrawn" });

/// Marketing consent is given per channel; profiling covers all channels.
pub fn check_scope(
    purpose: ConsentPurpose,
    channel: Option<ConsentChannel>,
) -> Result<(), DomainError> {
    match (purpose, channel) {
        (ConsentPurpose::Marketing, None) => Err(DomainError::field(
            "channel",
            "required",
            "marketing consent is recorded per channel (email, sms, wechat, push)",
        )),
        (ConsentPurpose::Profiling, Some(_)) => Err(DomainError::field(
            "channel",
            "not_applicable",
            "profiling consent is not per channel; omit `channel`",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketing_needs_a_channel_and_profiling_has_none() {
        assert!(check_scope(ConsentPurpose::Marketing, Some(ConsentChannel::Sms)).is_ok());
        assert!(check_scope(ConsentPurpose::Marketing, None).is_err());
        assert!(check_scope(ConsentPurpose::Profiling, None).is_ok());
        assert!(check_scope(ConsentPurpose::Profiling, Some(ConsentChannel::Email)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for c in [
            ConsentChannel::Email,
            ConsentChannel::Sms,
            ConsentChannel::Wechat,
            ConsentChannel::Push,
        ] {
            assert_eq!(ConsentChannel::parse(c.as_str()), Some(c));
        }
    }
}
