//! A property (门店): one hotel or B&B of the organisation.

use crate::error::{DomainError, Errors, FieldError};
use crate::guest::Address;
use crate::values::{required_text, CountryCode, CurrencyCode, TimeZone};

/// A validated property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDetails {
    pub code: String,
    pub name: String,
    pub time_zone: TimeZone,
    pub currency: CurrencyCode,
    pub country: CountryCode,
    pub address: Option<Address>,
}

/// Property codes are what OTAs and the PMS use (`SHA01`): short, upper
/// case, letters, digits, `-` and `_`.
pub fn parse_code(raw: &str) -> Result<String, DomainError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty()
        || code.len() > 20
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DomainError::field(
            "",
            "invalid_code",
            "1 to 20 letters, digits, `-` or `_`",
        ));
    }
    Ok(code)
}

impl PropertyDetails {
    pub fn parse(
        code: &str,
        name: &str,
        time_zone: &str,
        currency: &str,
        country: &str,
        address: Option<Address>,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::new();
        let code = errors.check("code", parse_code(code));
        let name = errors.check("name", required_text(name, 200));
        let time_zone = errors.check("time_zone", TimeZone::parse(time_zone));
        let currency = errors.check("currency", CurrencyCode::parse(currency));
        let country = errors.check("country", CountryCode::parse(country));
        let address = address
            .and_then(|a| errors.check("address", a.parse()))
            .flatten();
        errors.finish()?;
        match (code, name, time_zone, currency, country) {
            (Some(code), Some(name), Some(time_zone), Some(currency), Some(country)) => {
                Ok(PropertyDetails {
                    code,
                    name,
                    time_zone,
                    currency,
                    country,
                    address,
                })
            }
            _ => Err(DomainError::Validation(vec![FieldError::new(
                "",
                "invalid",
                "invalid property",
            )])),
        }
    }
}

/// An organisation's display name.
pub fn parse_organisation_name(raw: &str) -> Result<String, DomainError> {
    required_text(raw, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_property_needs_valid_zone_currency_and_country() {
        let p = PropertyDetails::parse("sha01", "外滩酒店", "Asia/Shanghai", "cny", "cn", None)
            .unwrap();
        assert_eq!(p.code, "SHA01");
        assert_eq!(p.currency.as_str(), "CNY");
        let err = PropertyDetails::parse("bad code!", "", "Mars/Olympus", "XXX", "ZZ", None)
            .unwrap_err()
            .into_field_errors();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["code", "name", "time_zone", "currency", "country"]
        );
    }
}
