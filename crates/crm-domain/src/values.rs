//! Small values that can only hold valid content.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = raw.trim().to_lowercase();
        let invalid = || DomainError::field("", "invalid_email", "not a valid e-mail address");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country (or territory) code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode(&'static str);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let upper = raw.trim().to_ascii_uppercase();
        COUNTRY_NAMES
            .iter()
            .find(|c| **c == upper)
            .map(|c| CountryCode(c))
            .ok_or_else(|| {
                DomainError::field(
                    "",
                    "invalid_country",
                    "expected an ISO 3166-1 alpha-2 country code such as `CN`",
                )
            })
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    fn phone_region(&self) -> Option<phonenumber::country::Id> {
        phonenumber::country::Id::from_str(self.0).ok()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        CountryCode::parse(&raw).map_err(|_| serde::de::Error::custom("invalid country code"))
    }
}

const COUNTRY_NAMES: &[&str] = &[
    "AC", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO",
    "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG",
    "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG",
    "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GT", "GU", "GW", "GY", "HK", "HN", "HR", "HT",
    "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE",
    "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR",
    "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN",
    "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF",
    "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL",
    "PM", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD",
    "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY",
    "SZ", "TA", "TC", "TD", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK",
    "YE", "YT", "ZA", "ZM", "ZW",
];

/// A phone number in E.164 form (`+8613812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Parses a number as a guest or clerk typed it. Numbers without a `+`
    /// country prefix are read in `default_region` (the property's country).
    pub fn parse(raw: &str, default_region: Option<CountryCode>) -> Result<Self, DomainError> {
        let invalid = |why: &str| DomainError::field("", "invalid_phone", why.to_string());
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.len() > 40 {
            return Err(invalid("not a valid phone number"));
        }
        let parsed = phonenumber::parse(default_region.and_then(|c| c.phone_region()), trimmed)
            .map_err(|_| {
                invalid(
                    "not a valid phone number; include the country code, e.g. +86 138 1234 5678",
                )
            })?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid("not a valid phone number for its country"));
        }
        Ok(PhoneE164(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Trusts a value already stored in E.164 form.
    pub fn from_stored(value: String) -> Self {
        PhoneE164(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The national significant number, e.g. `13812345678` for a Chinese
    /// mobile: what a clerk types when searching.
    pub fn national_digits(&self) -> Option<String> {
        phonenumber::parse(None, &self.0)
            .ok()
            .map(|n| n.national().value().to_string())
    }
}

/// An ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyCode(&'static str);

const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
];

impl CurrencyCode {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let upper = raw.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|c| **c == upper)
            .map(|c| CurrencyCode(c))
            .ok_or_else(|| {
                DomainError::field(
                    "",
                    "invalid_currency",
                    "expected an ISO 4217 currency code such as `CNY`",
                )
            })
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// An IANA time zone name such as `Asia/Shanghai`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                DomainError::field(
                    "",
                    "invalid_time_zone",
                    "expected an IANA time zone such as `Asia/Shanghai`",
                )
            })
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

/// A BCP 47 language tag in its common short forms: `zh`, `zh-CN`, `en-GB`,
/// `zh-Hans-CN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        let mut parts = raw.split('-');
        let primary = parts.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !primary_ok || !rest_ok || raw.len() > 35 {
            return Err(DomainError::field(
                "",
                "invalid_language",
                "expected a BCP 47 language tag such as `zh-CN` or `en`",
            ));
        }
        Ok(LanguageTag(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Trims a free-text value and checks its length in characters. Empty
/// strings become `None`, so "clearing" a field by sending "" works.
pub fn bounded_text(raw: &str, max_chars: usize) -> Result<Option<String>, DomainError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max_chars {
        return Err(DomainError::field(
            "",
            "too_long",
            format!("at most {max_chars} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(DomainError::field(
            "",
            "invalid_characters",
            "control characters are not allowed",
        ));
    }
    Ok(Some(trimmed.to_string()))
}

/// Like [`bounded_text`] but the value must be present.
pub fn required_text(raw: &str, max_chars: usize) -> Result<String, DomainError> {
    bounded_text(raw, max_chars)?
        .ok_or_else(|| DomainError::field("", "required", "must not be empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("  Li.Na@Example.COM ").unwrap().as_str(),
            "li.na@example.com"
        );
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a@.com",
            "a b@c.com",
            "@c.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn phones_normalise_to_e164_in_the_default_region() {
        let cn = CountryCode::parse("cn").unwrap();
        assert_eq!(
            PhoneE164::parse("138 1234 5678", Some(cn))
                .unwrap()
                .as_str(),
            "+8613812345678"
        );
        assert_eq!(
            PhoneE164::parse("+44 20 7946 0958", Some(cn))
                .unwrap()
                .as_str(),
            "+442079460958"
        );
        assert!(PhoneE164::parse("12345", Some(cn)).is_err());
        assert!(PhoneE164::parse("not a phone", None).is_err());
        assert!(
            PhoneE164::parse("13812345678", None).is_err(),
            "no region, no country code"
        );
    }

    #[test]
    fn national_digits_are_what_clerks_type() {
        let p = PhoneE164::parse("+8613812345678", None).unwrap();
        assert_eq!(p.national_digits().as_deref(), Some("13812345678"));
    }

    #[test]
    fn countries_currencies_zones_and_languages() {
        assert_eq!(CountryCode::parse("cn").unwrap().as_str(), "CN");
        assert!(CountryCode::parse("QQ").is_err());
        assert!(CountryCode::parse("CHN").is_err());
        assert_eq!(CurrencyCode::parse("cny").unwrap().as_str(), "CNY");
        assert!(CurrencyCode::parse("RMB").is_err());
        assert_eq!(
            TimeZone::parse("Asia/Shanghai").unwrap().name(),
            "Asia/Shanghai"
        );
        assert!(TimeZone::parse("Beijing").is_err());
        assert!(LanguageTag::parse("zh-CN").is_ok());
        assert!(LanguageTag::parse("chinese please").is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("  hi ", 5).unwrap().as_deref(), Some("hi"));
        assert_eq!(bounded_text("   ", 5).unwrap(), None);
        assert!(bounded_text("张三李四王五", 5).is_err());
        assert!(required_text(" ", 5).is_err());
    }
}

/// Digits after the decimal point of a currency's minor unit (ISO 4217).
pub fn currency_exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// "916.00" CNY → 91600; "1200" JPY → 1200. `None` for anything that is
/// not a plain non-negative decimal with at most the currency's digits.
pub fn decimal_to_minor_units(amount: &str, currency: &str) -> Option<i64> {
    let exp = currency_exponent(currency);
    let (whole, frac) = match amount.trim().split_once('.') {
        Some((w, f)) => (w, f),
        None => (amount.trim(), ""),
    };
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > exp as usize || whole.len() > 13 {
        return None;
    }
    let scale = 10i64.pow(exp);
    let frac_value = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10i64.pow(exp - frac.len() as u32)
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(frac_value)
}

#[cfg(test)]
mod money_tests {
    use super::*;

    #[test]
    fn decimals_become_minor_units_by_currency() {
        assert_eq!(decimal_to_minor_units("916.00", "CNY"), Some(91600));
        assert_eq!(decimal_to_minor_units("916.5", "CNY"), Some(91650));
        assert_eq!(decimal_to_minor_units("1200", "JPY"), Some(1200));
        assert_eq!(decimal_to_minor_units("12.345", "KWD"), Some(12345));
        assert_eq!(decimal_to_minor_units("1.234", "CNY"), None);
        assert_eq!(decimal_to_minor_units("-5", "CNY"), None);
        assert_eq!(decimal_to_minor_units("abc", "CNY"), None);
    }
}
