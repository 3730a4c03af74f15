//! Channel managers and PMS systems pushing reservations: their codes, what
//! an integration client is granted, and removing payment card data from
//! messages before anything is stored.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};

/// A channel's code in push URLs: `ctrip`, `booking`, `airbnb`, `pms`…
pub fn parse_channel_code(raw: &str) -> Result<String, DomainError> {
    let code = raw.trim().to_ascii_lowercase();
    if code.is_empty()
        || code.len() > 30
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(DomainError::field(
            "",
            "invalid_channel_code",
            "1 to 30 letters, digits, `-` or `_`",
        ));
    }
    Ok(code)
}

/// What an integration client may push reservations for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientGrants {
    /// Channel codes the client may push as; none by default.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Properties it may push for; `null` means every property.
    #[serde(default)]
    pub property_ids: Option<Vec<String>>,
}

impl ClientGrants {
    pub fn normalised(self) -> Result<ClientGrants, DomainError> {
        let mut channels = Vec::new();
        for c in &self.channels {
            let code = parse_channel_code(c).map_err(|e| e.at("channels"))?;
            if !channels.contains(&code) {
                channels.push(code);
            }
        }
        if channels.len() > 50 || self.property_ids.as_ref().is_some_and(|p| p.len() > 500) {
            return Err(DomainError::field(
                "",
                "too_many",
                "at most 50 channels and 500 properties",
            ));
        }
        Ok(ClientGrants {
            channels,
            property_ids: self.property_ids,
        })
    }

    pub fn allows(&self, channel: &str, property_id: &str) -> bool {
        self.channels.iter().any(|c| c == channel)
            && self
                .property_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|p| p == property_id))
    }
}

const CARD_KEYS: [&str; 12] = [
    "card_number",
    "cardnumber",
    "card_no",
    "pan",
    "cvv",
    "cvc",
    "cvv2",
    "cvc2",
    "security_code",
    "seriescode",
    "cardcode",
    "card_security_code",
];

/// Removes payment card data from a JSON message: values of card-ish keys,
/// and any 13–19 digit run passing the Luhn check inside strings.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let k = key.to_ascii_lowercase().replace(['-', ' '], "_");
                if CARD_KEYS.contains(&k.as_str())
                    || CARD_KEYS.contains(&k.replace('_', "").as_str())
                {
                    *v = Value::String("[redacted]".into());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) => *s = redact_text(s),
        Value::Number(n) => {
            let digits = n.to_string();
            if looks_like_card(&digits) {
                *value = Value::String("[redacted]".into());
            }
        }
        _ => {}
    }
}

/// Replaces card-number-like digit runs (13–19 digits, spaces or dashes
/// allowed between, Luhn-valid, not after a `+`) in free text.
pub fn redact_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // A run after `+` is an international phone number, not a card.
        if chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_ascii_digit() || chars[i - 1] == '+'))
        {
            // The longest run of digits with single separators.
            let mut j = i;
            let mut digits = String::new();
            let mut end = i;
            while j < chars.len() {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                    end = j + 1;
                    j += 1;
                } else if (chars[j] == ' ' || chars[j] == '-')
                    && j + 1 < chars.len()
                    && chars[j + 1].is_ascii_digit()
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if looks_like_card(&digits) {
                out.push_str("[redacted]");
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn looks_like_card(digits: &str) -> bool {
    (13..=19).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && luhn(digits)
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut d = c.to_digit(10).unwrap_or(0);
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_numbers_and_cvv_are_removed() {
        let mut msg = json!({
            "guest": {"name": "Li", "phone": "+8613812345678"},
            "payment_card": {"card_number": "4111 1111 1111 1111", "CVV": "123", "holder": "LI NA"},
            "comments": "pay with 5500-0000-0000-0004 please",
            "raw_pan": 4111111111111111u64
        });
        redact_json(&mut msg);
        let text = msg.to_string();
        assert!(!text.contains("4111"), "{text}");
        assert!(!text.contains("5500"), "{text}");
        assert!(!text.contains("\"123\""), "{text}");
        assert!(
            text.contains("+8613812345678"),
            "phone numbers are not cards: {text}"
        );
        assert!(text.contains("LI NA"));
    }

    #[test]
    fn grants_limit_channels_and_properties() {
        let g = ClientGrants {
            channels: vec!["Ctrip".into()],
            property_ids: Some(vec!["p1".into()]),
        }
        .normalised()
        .unwrap();
        assert!(g.allows("ctrip", "p1"));
        assert!(!g.allows("booking", "p1"));
        assert!(!g.allows("ctrip", "p2"));
        let all = ClientGrants {
            channels: vec!["pms".into()],
            property_ids: None,
        };
        assert!(all.allows("pms", "anything"));
        assert!(!ClientGrants::default().allows("pms", "p1"));
        assert!(parse_channel_code("bad code!").is_err());
    }
}
