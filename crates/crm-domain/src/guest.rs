//! A guest profile (客户档案): one per real person, fed by every channel.

use crate::error::{DomainError, Errors, FieldError};
use crate::values::{bounded_text, CountryCode, Email, LanguageTag, PhoneE164};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const MAX_PHONES: usize = 5;
pub const MAX_EMAILS: usize = 5;
pub const MAX_TAGS: usize = 30;
pub const MAX_ALLERGIES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    NonBinary,
    Undisclosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    Mobile,
    Home,
    Work,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    Personal,
    Work,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FloorPreference {
    Low,
    Middle,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PillowPreference {
    Soft,
    Medium,
    Firm,
    Feather,
    Buckwheat,
    MemoryFoam,
    Hypoallergenic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DietaryRequirement {
    Vegetarian,
    Vegan,
    Halal,
    Kosher,
    GlutenFree,
    LactoseFree,
    NoPork,
    NoBeef,
    LowSugar,
}

/// A phone number as the API accepts it: any common notation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhoneEntry {
    /// Any common notation; stored and returned in E.164.
    #[cfg_attr(feature = "openapi", schema(example = "+86 138 1234 5678"))]
    pub number: String,
    #[serde(default = "default_phone_kind")]
    pub kind: PhoneKind,
}

fn default_phone_kind() -> PhoneKind {
    PhoneKind::Mobile
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailEntry {
    #[cfg_attr(feature = "openapi", schema(example = "zhang.wei@example.com"))]
    pub address: String,
    #[serde(default = "default_email_kind")]
    pub kind: EmailKind,
}

fn default_email_kind() -> EmailKind {
    EmailKind::Personal
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    pub fn parse(self) -> Result<Option<Address>, DomainError> {
        let mut errors = Errors::new();
        let text = |errors: &mut Errors, name: &str, v: Option<String>, max: usize| {
            v.and_then(|v| errors.check(name, bounded_text(&v, max)).flatten())
        };
        let address = Address {
            line1: text(&mut errors, "line1", self.line1, 200),
            line2: text(&mut errors, "line2", self.line2, 200),
            city: text(&mut errors, "city", self.city, 100),
            region: text(&mut errors, "region", self.region, 100),
            postal_code: text(&mut errors, "postal_code", self.postal_code, 20),
            country: self
                .country
                .and_then(|c| errors.check("country", CountryCode::parse(&c)))
                .map(|c| c.as_str().to_string()),
        };
        errors.finish()?;
        Ok((address != Address::default()).then_some(address))
    }
}

/// Preferences (偏好) the front desk acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Preferred room type code or description, e.g. `DLK` or "king bed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<FloorPreference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pillow: Option<PillowPreference>,
    /// `true` asks for a smoking room, `false` for non-smoking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoking: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diet: Vec<DietaryRequirement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allergies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

impl Preferences {
    pub fn parse(self) -> Result<Preferences, DomainError> {
        let mut errors = Errors::new();
        let room_type = self
            .room_type
            .and_then(|v| errors.check("room_type", bounded_text(&v, 50)).flatten());
        let free_text = self
            .free_text
            .and_then(|v| errors.check("free_text", bounded_text(&v, 1000)).flatten());
        if self.allergies.len() > MAX_ALLERGIES {
            errors.push(FieldError::new(
                "allergies",
                "too_many",
                format!("at most {MAX_ALLERGIES} entries"),
            ));
        }
        let mut allergies: Vec<String> = Vec::new();
        for (i, a) in self.allergies.iter().enumerate() {
            if let Some(Some(a)) = errors.check(&format!("allergies[{i}]"), bounded_text(a, 60)) {
                if !allergies.contains(&a) {
                    allergies.push(a);
                }
            }
        }
        let mut diet = self.diet;
        diet.dedup();
        errors.finish()?;
        Ok(Preferences {
            room_type,
            floor: self.floor,
            pillow: self.pillow,
            smoking: self.smoking,
            diet,
            allergies,
            free_text,
        })
    }
}

/// A guest profile as written by clients, before validation. Merge-patch
/// works on this shape: the current profile is rendered as a draft, the patch
/// applied, and the result parsed again, so a PATCH is validated exactly like
/// a create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuestDraft {
    /// Family name in the guest's own script, e.g. 张.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "张"))]
    pub family_name: Option<String>,
    /// Given name in the guest's own script, e.g. 伟.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "伟"))]
    pub given_name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "Zhang"))]
    pub family_name_latin: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "Wei"))]
    pub given_name_latin: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date, example = "1988-04-12"))]
    pub birthday: Option<NaiveDate>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "CN"))]
    pub nationality: Option<String>,
    /// BCP 47 language tag.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "zh-CN"))]
    pub language: Option<String>,
    #[serde(default)]
    pub phones: Option<Vec<PhoneEntry>>,
    #[serde(default)]
    pub emails: Option<Vec<EmailEntry>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "Acme Trading Co."))]
    pub company: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub preferences: Option<Preferences>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = json!(["business", "商务"])))]
    pub tags: Option<Vec<String>>,
    /// Resident / long-stay guest (常驻客户).
    #[serde(default)]
    pub resident: Option<bool>,
    /// Input only: the property registering the guest. Phone numbers
    /// without a country code are read in its country (else in the
    /// organisation's default country).
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub property_id: Option<String>,
}

/// A validated guest profile: what the hotel knows about a person.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestProfile {
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_latin: Option<String>,
    pub given_name_latin: Option<String>,
    pub gender: Option<Gender>,
    pub birthday: Option<NaiveDate>,
    pub nationality: Option<CountryCode>,
    pub language: Option<LanguageTag>,
    pub phones: Vec<(PhoneE164, PhoneKind)>,
    pub emails: Vec<(Email, EmailKind)>,
    pub company: Option<String>,
    pub address: Option<Address>,
    pub notes: Option<String>,
    pub preferences: Preferences,
    pub tags: Vec<String>,
    pub resident: bool,
}

impl GuestDraft {
    /// Validates every field, reporting all problems at once. Phone numbers
    /// without a country prefix are read in `default_region`.
    pub fn parse(
        self,
        default_region: Option<CountryCode>,
        today: NaiveDate,
    ) -> Result<GuestProfile, DomainError> {
        let mut errors = Errors::new();
        let name = |errors: &mut Errors, field: &str, v: Option<String>| {
            v.and_then(|v| errors.check(field, bounded_text(&v, 100)).flatten())
        };
        let family_name = name(&mut errors, "family_name", self.family_name);
        let given_name = name(&mut errors, "given_name", self.given_name);
        let family_name_latin = name(&mut errors, "family_name_latin", self.family_name_latin);
        let given_name_latin = name(&mut errors, "given_name_latin", self.given_name_latin);
        if [
            &family_name,
            &given_name,
            &family_name_latin,
            &given_name_latin,
        ]
        .iter()
        .all(|n| n.is_none())
        {
            errors.push(FieldError::new(
                "family_name",
                "required",
                "a guest needs at least one name (local script or Latin)",
            ));
        }
        for (field, latin) in [
            ("family_name_latin", &family_name_latin),
            ("given_name_latin", &given_name_latin),
        ] {
            if let Some(latin) = latin {
                if !latin
                    .chars()
                    .all(|c| c.is_alphabetic() && !is_cjk(c) || " -'.".contains(c))
                {
                    errors.push(FieldError::new(
                        field,
                        "not_latin",
                        "Latin letters, spaces, hyphens and apostrophes only",
                    ));
                }
            }
        }
        if let Some(birthday) = self.birthday {
            if birthday > today
                || birthday < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
            {
                errors.push(FieldError::new(
                    "birthday",
                    "out_of_range",
                    "a birthday between 1900-01-01 and today",
                ));
            }
        }
        let nationality = self
            .nationality
            .and_then(|c| errors.check("nationality", CountryCode::parse(&c)));
        let language = self
            .language
            .and_then(|l| errors.check("language", LanguageTag::parse(&l)));

        let phones_in = self.phones.unwrap_or_default();
        if phones_in.len() > MAX_PHONES {
            errors.push(FieldError::new(
                "phones",
                "too_many",
                format!("at most {MAX_PHONES} phone numbers"),
            ));
        }
        let mut phones: Vec<(PhoneE164, PhoneKind)> = Vec::new();
        for (i, p) in phones_in.into_iter().enumerate() {
            if let Some(number) = errors.check(
                &format!("phones[{i}].number"),
                PhoneE164::parse(&p.number, default_region),
            ) {
                if !phones.iter().any(|(n, _)| *n == number) {
                    phones.push((number, p.kind));
                }
            }
        }
        let emails_in = self.emails.unwrap_or_default();
        if emails_in.len() > MAX_EMAILS {
            errors.push(FieldError::new(
                "emails",
                "too_many",
                format!("at most {MAX_EMAILS} e-mail addresses"),
            ));
        }
        let mut emails: Vec<(Email, EmailKind)> = Vec::new();
        for (i, e) in emails_in.into_iter().enumerate() {
            if let Some(address) =
                errors.check(&format!("emails[{i}].address"), Email::parse(&e.address))
            {
                if !emails.iter().any(|(a, _)| *a == address) {
                    emails.push((address, e.kind));
                }
            }
        }
        let company = self
            .company
            .and_then(|v| errors.check("company", bounded_text(&v, 200)).flatten());
        let notes = self
            .notes
            .and_then(|v| errors.check("notes", bounded_text(&v, 4000)).flatten());
        let address = self
            .address
            .and_then(|a| errors.check("address", a.parse()))
            .flatten();
        let preferences = self
            .preferences
            .and_then(|p| errors.check("preferences", p.parse()))
            .unwrap_or_default();
        let tags_in = self.tags.unwrap_or_default();
        if tags_in.len() > MAX_TAGS {
            errors.push(FieldError::new(
                "tags",
                "too_many",
                format!("at most {MAX_TAGS} tags"),
            ));
        }
        let mut tags: Vec<String> = Vec::new();
        for (i, t) in tags_in.iter().enumerate() {
            if let Some(tag) = errors.check(&format!("tags[{i}]"), normalise_tag(t)) {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        errors.finish()?;
        Ok(GuestProfile {
            family_name,
            given_name,
            family_name_latin,
            given_name_latin,
            gender: self.gender,
            birthday: self.birthday,
            nationality,
            language,
            phones,
            emails,
            company,
            address,
            notes,
            preferences,
            tags,
            resident: self.resident.unwrap_or(false),
        })
    }
}

/// Tags are compared case-insensitively: stored trimmed and lower-cased.
pub fn normalise_tag(raw: &str) -> Result<String, DomainError> {
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() || tag.chars().count() > 40 {
        return Err(DomainError::field(
            "",
            "invalid_tag",
            "tags are 1 to 40 characters",
        ));
    }
    if tag.chars().any(|c| c.is_control() || c == ',') {
        return Err(DomainError::field(
            "",
            "invalid_tag",
            "tags may not contain commas or control characters",
        ));
    }
    Ok(tag)
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF)
}

impl GuestProfile {
    /// The name staff see in lists: 张伟 for Chinese names, "Wei Zhang"
    /// for Latin ones.
    pub fn display_name(&self) -> String {
        let local = join_name(self.family_name.as_deref(), self.given_name.as_deref());
        if !local.is_empty() {
            return local;
        }
        join_name(
            self.family_name_latin.as_deref(),
            self.given_name_latin.as_deref(),
        )
    }

    /// Renders the profile in the shape clients write, for merge-patch.
    pub fn to_draft(&self) -> GuestDraft {
        GuestDraft {
            family_name: self.family_name.clone(),
            given_name: self.given_name.clone(),
            family_name_latin: self.family_name_latin.clone(),
            given_name_latin: self.given_name_latin.clone(),
            gender: self.gender,
            birthday: self.birthday,
            nationality: self.nationality.map(|c| c.as_str().to_string()),
            language: self.language.as_ref().map(|l| l.as_str().to_string()),
            phones: Some(
                self.phones
                    .iter()
                    .map(|(n, kind)| PhoneEntry {
                        number: n.as_str().to_string(),
                        kind: *kind,
                    })
                    .collect(),
            ),
            emails: Some(
                self.emails
                    .iter()
                    .map(|(a, kind)| EmailEntry {
                        address: a.as_str().to_string(),
                        kind: *kind,
                    })
                    .collect(),
            ),
            company: self.company.clone(),
            address: self.address.clone(),
            notes: self.notes.clone(),
            preferences: Some(self.preferences.clone()),
            tags: Some(self.tags.clone()),
            resident: Some(self.resident),
            property_id: None,
        }
    }

    /// What erasure leaves: no name, contact, document, note or preference;
    /// nationality stays as a non-personal statistic.
    pub fn anonymised(&self) -> GuestProfile {
        GuestProfile {
            nationality: self.nationality,
            ..GuestProfile::default()
        }
    }

    /// Names of the fields that differ, for the audit log (never values).
    pub fn changed_fields(&self, other: &GuestProfile) -> Vec<&'static str> {
        let mut changed = Vec::new();
        macro_rules! cmp {
            ($($field:ident),*) => {
                $(if self.$field != other.$field { changed.push(stringify!($field)); })*
            };
        }
        cmp!(
            family_name,
            given_name,
            family_name_latin,
            given_name_latin,
            gender,
            birthday,
            nationality,
            language,
            phones,
            emails,
            company,
            address,
            notes,
            preferences,
            tags,
            resident
        );
        changed
    }
}

fn join_name(family: Option<&str>, given: Option<&str>) -> String {
    match (family, given) {
        (Some(f), Some(g)) if f.chars().chain(g.chars()).any(is_cjk) => format!("{f}{g}"),
        (Some(f), Some(g)) => format!("{g} {f}"),
        (Some(n), None) | (None, Some(n)) => n.to_string(),
        (None, None) => String::new(),
    }
}

/// Why a guest is on the blacklist (黑名单).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlacklistCategory {
    MaliciousComplaints,
    PropertyDamage,
    Fraud,
    UnpaidBill,
    Violence,
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn cn() -> Option<CountryCode> {
        Some(CountryCode::parse("CN").unwrap())
    }

    #[test]
    fn a_draft_with_a_chinese_name_and_local_phone_parses() {
        let draft = GuestDraft {
            family_name: Some("张".into()),
            given_name: Some(" 伟 ".into()),
            phones: Some(vec![PhoneEntry {
                number: "138-1234-5678".into(),
                kind: PhoneKind::Mobile,
            }]),
            emails: Some(vec![EmailEntry {
                address: "Zhang.Wei@Example.com".into(),
                kind: EmailKind::Work,
            }]),
            tags: Some(vec!["VIP".into(), "vip".into(), "商务".into()]),
            ..Default::default()
        };
        let profile = draft.parse(cn(), today()).unwrap();
        assert_eq!(profile.display_name(), "张伟");
        assert_eq!(profile.phones[0].0.as_str(), "+8613812345678");
        assert_eq!(profile.emails[0].0.as_str(), "zhang.wei@example.com");
        assert_eq!(profile.tags, vec!["vip".to_string(), "商务".to_string()]);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let draft = GuestDraft {
            nationality: Some("XX".into()),
            phones: Some(vec![PhoneEntry {
                number: "12".into(),
                kind: PhoneKind::Mobile,
            }]),
            emails: Some(vec![EmailEntry {
                address: "nope".into(),
                kind: EmailKind::Personal,
            }]),
            birthday: NaiveDate::from_ymd_opt(2030, 1, 1),
            ..Default::default()
        };
        let errors = draft.parse(cn(), today()).unwrap_err().into_field_errors();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "family_name",
                "birthday",
                "nationality",
                "phones[0].number",
                "emails[0].address"
            ]
        );
    }

    #[test]
    fn latin_names_reject_other_scripts() {
        let draft = GuestDraft {
            family_name_latin: Some("张".into()),
            ..Default::default()
        };
        let errors = draft.parse(None, today()).unwrap_err().into_field_errors();
        assert_eq!(errors[0].code, "not_latin");
    }

    #[test]
    fn latin_display_name_puts_the_given_name_first() {
        let draft = GuestDraft {
            family_name_latin: Some("Müller".into()),
            given_name_latin: Some("Anna-Lena".into()),
            ..Default::default()
        };
        assert_eq!(
            draft.parse(None, today()).unwrap().display_name(),
            "Anna-Lena Müller"
        );
    }

    #[test]
    fn a_profile_round_trips_through_its_draft() {
        let draft = GuestDraft {
            family_name: Some("李".into()),
            given_name: Some("娜".into()),
            nationality: Some("cn".into()),
            address: Some(Address {
                city: Some("Hangzhou".into()),
                ..Default::default()
            }),
            preferences: Some(Preferences {
                floor: Some(FloorPreference::High),
                ..Default::default()
            }),
            ..Default::default()
        };
        let profile = draft.parse(cn(), today()).unwrap();
        let again = profile.to_draft().parse(cn(), today()).unwrap();
        assert_eq!(profile, again);
        assert!(profile.changed_fields(&again).is_empty());
    }

    #[test]
    fn changed_fields_names_only_what_changed() {
        let a = GuestDraft {
            family_name: Some("王".into()),
            ..Default::default()
        }
        .parse(None, today())
        .unwrap();
        let mut b = a.clone();
        b.notes = Some("late arrival".into());
        b.resident = true;
        assert_eq!(a.changed_fields(&b), vec!["notes", "resident"]);
    }
}
