//! Merging two profiles of one person: field by field, with where each
//! value came from and which fields disagree. The survivor keeps its id;
//! the other becomes a tombstone (the API's concern).
//!
//! Rules: a field both hold with different values is a conflict, resolved
//! by the caller's choice (the survivor's value by default); a field one of
//! them holds is taken from it; phones, e-mails and tags are the union
//! (survivor's first, within the profile limits); preferences are the
//! survivor's with the other's filling what it lacks; `resident` holds if
//! either is.

use crate::error::{DomainError, FieldError};
use crate::guest::{GuestDraft, GuestProfile, MAX_EMAILS, MAX_PHONES, MAX_TAGS};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where a merged value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ValueSource {
    /// Both hold the same value.
    Both,
    Survivor,
    Other,
    /// Combined from both (lists, preferences).
    Combined,
    /// Neither holds one.
    None,
}

/// Which side's value a conflicting field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Survivor,
    Other,
}

/// One field of the merged profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldMerge {
    pub field: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub survivor: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub other: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub merged: Value,
    pub source: ValueSource,
    /// Both hold different values: `merged` is the chosen side's.
    pub conflict: bool,
}

/// Fields taken whole from one side.
const SCALARS: &[&str] = &[
    "family_name",
    "given_name",
    "family_name_latin",
    "given_name_latin",
    "gender",
    "birthday",
    "nationality",
    "language",
    "company",
    "address",
    "notes",
];

/// Fields merged as the union of both lists, and their limits.
const LISTS: &[(&str, usize)] = &[
    ("phones", MAX_PHONES),
    ("emails", MAX_EMAILS),
    ("tags", MAX_TAGS),
];

/// The fields a choice can name.
pub fn choosable(field: &str) -> bool {
    SCALARS.contains(&field)
}

fn as_object(p: &GuestProfile) -> Map<String, Value> {
    match serde_json::to_value(p.to_draft()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The identity of a list item: an e-mail's address, a phone's number, a
/// tag itself.
fn item_key(v: &Value) -> Value {
    match v {
        Value::Object(o) => o
            .get("number")
            .or_else(|| o.get("address"))
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// The merged profile field by field. `choices` picks the side of
/// conflicting fields (unknown or non-conflicting fields are refused by
/// `merge`, ignored here).
pub fn preview(
    survivor: &GuestProfile,
    other: &GuestProfile,
    choices: &BTreeMap<String, Side>,
) -> Vec<FieldMerge> {
    let s = as_object(survivor);
    let o = as_object(other);
    let get = |m: &Map<String, Value>, k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    for field in SCALARS {
        let (sv, ov) = (get(&s, field), get(&o, field));
        let (merged, source, conflict) = match (is_empty(&sv), is_empty(&ov)) {
            (true, true) => (Value::Null, ValueSource::None, false),
            (false, true) => (sv.clone(), ValueSource::Survivor, false),
            (true, false) => (ov.clone(), ValueSource::Other, false),
            (false, false) if sv == ov => (sv.clone(), ValueSource::Both, false),
            (false, false) => match choices.get(*field) {
                Some(Side::Other) => (ov.clone(), ValueSource::Other, true),
                _ => (sv.clone(), ValueSource::Survivor, true),
            },
        };
        out.push(FieldMerge {
            field: (*field).to_string(),
            survivor: sv,
            other: ov,
            merged,
            source,
            conflict,
        });
    }
    for (field, limit) in LISTS {
        let (sv, ov) = (get(&s, field), get(&o, field));
        let mut items: Vec<Value> = sv.as_array().cloned().unwrap_or_default();
        let before = items.len();
        for item in ov.as_array().cloned().unwrap_or_default() {
            if items.len() < *limit && !items.iter().any(|i| item_key(i) == item_key(&item)) {
                items.push(item);
            }
        }
        let source = match (before, items.len(), ov.as_array().map_or(0, Vec::len)) {
            (0, 0, _) => ValueSource::None,
            (0, _, _) => ValueSource::Other,
            (b, n, _) if n > b => ValueSource::Combined,
            (_, _, 0) => ValueSource::Survivor,
            _ => ValueSource::Both,
        };
        out.push(FieldMerge {
            field: (*field).to_string(),
            survivor: sv,
            other: ov,
            merged: Value::Array(items),
            source,
            conflict: false,
        });
    }
    let (sp, op) = (get(&s, "preferences"), get(&o, "preferences"));
    let mut prefs = sp.as_object().cloned().unwrap_or_default();
    let mut filled = false;
    for (k, v) in op.as_object().cloned().unwrap_or_default() {
        if !prefs.contains_key(&k) && !is_empty(&v) {
            prefs.insert(k, v);
            filled = true;
        }
    }
    let source = match (is_empty(&sp), prefs.is_empty(), filled) {
        (_, true, _) => ValueSource::None,
        (true, false, _) => ValueSource::Other,
        (false, false, true) => ValueSource::Combined,
        (false, false, false) if sp == op => ValueSource::Both,
        _ => ValueSource::Survivor,
    };
    out.push(FieldMerge {
        field: "preferences".into(),
        survivor: sp,
        other: op,
        merged: Value::Object(prefs),
        source,
        conflict: false,
    });
    let resident = survivor.resident || other.resident;
    out.push(FieldMerge {
        field: "resident".into(),
        survivor: Value::Bool(survivor.resident),
        other: Value::Bool(other.resident),
        merged: Value::Bool(resident),
        source: match (survivor.resident, other.resident) {
            (a, b) if a == b => ValueSource::Both,
            (true, _) => ValueSource::Survivor,
            _ => ValueSource::Other,
        },
        conflict: false,
    });
    out
}

/// The merged profile, after checking the choices name conflicting fields.
pub fn merge(
    survivor: &GuestProfile,
    other: &GuestProfile,
    choices: &BTreeMap<String, Side>,
    today: NaiveDate,
) -> Result<GuestProfile, DomainError> {
    let fields = preview(survivor, other, choices);
    let mut errors = Vec::new();
    for name in choices.keys() {
        match fields.iter().find(|f| f.field == *name) {
            Some(f) if f.conflict => {}
            Some(_) if choosable(name) => errors.push(FieldError::new(
                format!("choices.{name}"),
                "no_conflict",
                "the two profiles do not disagree on this field",
            )),
            _ => errors.push(FieldError::new(
                format!("choices.{name}"),
                "unknown_field",
                format!("choices name one of: {}", SCALARS.join(", ")),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let mut draft = Map::new();
    for f in fields {
        draft.insert(f.field, f.merged);
    }
    let draft: GuestDraft = serde_json::from_value(Value::Object(draft)).map_err(|_| {
        DomainError::field(
            "choices",
            "invalid_merge",
            "the merged profile is not valid",
        )
    })?;
    // Stored phones are E.164 already: no default region is needed.
    draft.parse(None, today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::{EmailEntry, PhoneEntry};

    fn profile(draft: GuestDraft) -> GuestProfile {
        draft
            .parse(None, NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"))
            .expect("valid")
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
    }

    fn survivor() -> GuestProfile {
        profile(GuestDraft {
            family_name: Some("张".into()),
            given_name: Some("伟".into()),
            birthday: NaiveDate::from_ymd_opt(1988, 4, 12),
            company: Some("Acme".into()),
            phones: Some(vec![PhoneEntry {
                number: "+8613812345678".into(),
                kind: crate::guest::PhoneKind::Mobile,
            }]),
            tags: Some(vec!["vip".into()]),
            ..GuestDraft::default()
        })
    }

    fn other() -> GuestProfile {
        profile(GuestDraft {
            family_name_latin: Some("Zhang".into()),
            given_name_latin: Some("Wei".into()),
            birthday: NaiveDate::from_ymd_opt(1988, 4, 12),
            company: Some("Acme Trading".into()),
            phones: Some(vec![PhoneEntry {
                number: "+8613812345678".into(),
                kind: crate::guest::PhoneKind::Mobile,
            }]),
            emails: Some(vec![EmailEntry {
                address: "zw@example.com".into(),
                kind: crate::guest::EmailKind::Personal,
            }]),
            tags: Some(vec!["business".into()]),
            resident: Some(true),
            ..GuestDraft::default()
        })
    }

    #[test]
    fn fills_gaps_unions_lists_and_flags_conflicts() {
        let fields = preview(&survivor(), &other(), &BTreeMap::new());
        let f = |name: &str| fields.iter().find(|f| f.field == name).expect("field");
        assert_eq!(f("family_name").source, ValueSource::Survivor);
        assert_eq!(f("family_name_latin").source, ValueSource::Other);
        assert_eq!(f("birthday").source, ValueSource::Both);
        assert!(f("company").conflict);
        assert_eq!(f("company").merged, Value::String("Acme".into()));
        assert_eq!(f("phones").source, ValueSource::Both);
        assert_eq!(f("tags").source, ValueSource::Combined);
        assert_eq!(f("resident").merged, Value::Bool(true));
        let merged = merge(&survivor(), &other(), &BTreeMap::new(), today()).expect("merge");
        assert_eq!(merged.family_name.as_deref(), Some("张"));
        assert_eq!(merged.family_name_latin.as_deref(), Some("Zhang"));
        assert_eq!(merged.phones.len(), 1);
        assert_eq!(merged.emails.len(), 1);
        assert_eq!(merged.tags, vec!["vip".to_string(), "business".to_string()]);
        assert!(merged.resident);
    }

    #[test]
    fn a_choice_takes_the_other_side_of_a_conflict_only() {
        let mut choices = BTreeMap::new();
        choices.insert("company".to_string(), Side::Other);
        let merged = merge(&survivor(), &other(), &choices, today()).expect("merge");
        assert_eq!(merged.company.as_deref(), Some("Acme Trading"));
        choices.insert("birthday".to_string(), Side::Other);
        choices.insert("phones".to_string(), Side::Other);
        let errors = merge(&survivor(), &other(), &choices, today())
            .expect_err("refused")
            .into_field_errors();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(codes.contains(&("choices.birthday", "no_conflict")));
        assert!(codes.contains(&("choices.phones", "unknown_field")));
    }
}
