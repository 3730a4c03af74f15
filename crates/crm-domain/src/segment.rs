//! Segments (客户细分): a rule tree of `all`, `any`, `not` and conditions
//! over what hotel-crm knows of a guest. Parsing checks every field,
//! operator and operand and names the path of what is wrong
//! (`rule.all[1].any[0].value`), so storage only ever compiles valid trees.

use crate::{DomainError, FieldError};
use chrono::NaiveDate;
use serde_json::Value;

/// What a field holds, which decides its operators and operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Integer,
    /// Minor units of the organisation's main currency.
    Money,
    /// Whole days before today (`last_stay_days_ago`).
    DaysAgo,
    Text,
    Enum(&'static [&'static str]),
    Bool,
    Date,
    /// Something a guest has several of (tags; channels and properties
    /// stayed through; consents granted).
    Set(&'static [&'static str]),
}

macro_rules! fields {
    ($($variant:ident => $name:literal, $ty:expr, $doc:literal;)*) => {
        /// A field a condition may test.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Field { $($variant),* }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),* }
            }

            pub fn field_type(self) -> FieldType {
                match self { $(Field::$variant => $ty),* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Field::$variant => $doc),* }
            }

            pub fn parse(name: &str) -> Option<Field> {
                match name { $($name => Some(Field::$variant),)* _ => None }
            }
        }
    };
}

const ANY: &[&str] = &[];
const GENDERS: &[&str] = &["female", "male", "non_binary", "undisclosed"];
const CHANNELS: &[&str] = &[
    "website",
    "ota",
    "phone",
    "email",
    "travel_agency",
    "walk_in",
    "app",
];
const PURPOSES: &[&str] = &["business", "leisure", "family"];
const VALUE_CLASSES: &[&str] = &["vip", "regular", "potential"];
const CHURN_GRADES: &[&str] = &["low", "medium", "high"];
const CONSENTS: &[&str] = &[
    "marketing_email",
    "marketing_sms",
    "marketing_wechat",
    "marketing_push",
    "profiling",
];

fields! {
    Gender => "gender", FieldType::Enum(GENDERS), "female, male, non_binary, undisclosed";
    Nationality => "nationality", FieldType::Text, "ISO 3166-1 alpha-2";
    Language => "language", FieldType::Text, "BCP 47 tag";
    City => "city", FieldType::Text, "city of the guest's address";
    Age => "age", FieldType::Integer, "years, from the birthday";
    BirthdayMonth => "birthday_month", FieldType::Integer, "1 to 12";
    Resident => "resident", FieldType::Bool, "long-stay resident (常驻客户)";
    Blacklisted => "blacklisted", FieldType::Bool, "on the blacklist";
    CreatedOn => "created_on", FieldType::Date, "day the profile was created";
    Tag => "tag", FieldType::Set(ANY), "the guest's tags";
    Consent => "consent", FieldType::Set(CONSENTS), "consents currently granted";
    Tier => "tier", FieldType::Text, "loyalty tier code";
    TierRank => "tier_rank", FieldType::Integer, "loyalty tier rank (0 = the first tier)";
    PointsBalance => "points_balance", FieldType::Integer, "points available";
    Stays => "stays", FieldType::Integer, "completed stays";
    Nights => "nights", FieldType::Integer, "nights stayed";
    Spend => "spend", FieldType::Money, "lifetime spend";
    AverageRate => "average_rate", FieldType::Money, "room revenue per night";
    LastStayDaysAgo => "last_stay_days_ago", FieldType::DaysAgo, "days since the last stay began";
    FirstStayDaysAgo => "first_stay_days_ago", FieldType::DaysAgo, "days since the first stay began";
    LastStay => "last_stay", FieldType::Date, "arrival of the last stay";
    FirstStay => "first_stay", FieldType::Date, "arrival of the first stay";
    Channel => "channel", FieldType::Set(CHANNELS), "channels the guest has stayed through";
    MainChannel => "main_channel", FieldType::Enum(CHANNELS), "the channel most stays came through";
    Property => "property", FieldType::Set(ANY), "properties (ids) the guest has stayed at";
    TravelPurpose => "travel_purpose", FieldType::Enum(PURPOSES), "business, leisure or family";
    ValueClass => "value_class", FieldType::Enum(VALUE_CLASSES), "vip, regular or potential";
    ChurnGrade => "churn_grade", FieldType::Enum(CHURN_GRADES), "low, medium or high";
    ChurnScore => "churn_score", FieldType::Integer, "0 to 100";
    Recency => "rfm_recency", FieldType::Integer, "R score, 1 to 5";
    Frequency => "rfm_frequency", FieldType::Integer, "F score, 1 to 5";
    Monetary => "rfm_monetary", FieldType::Integer, "M score, 1 to 5";
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    In,
    NotIn,
    Contains,
    StartsWith,
    /// Set fields: has every one of the values.
    HasAll,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "between" => Op::Between,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "contains" => Op::Contains,
            "starts_with" => Op::StartsWith,
            "has_all" => Op::HasAll,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Between => "between",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::HasAll => "has_all",
        }
    }
}

impl FieldType {
    /// The operators this type of field takes.
    pub fn operators(self) -> &'static [Op] {
        use Op::*;
        match self {
            FieldType::Integer | FieldType::Money | FieldType::DaysAgo => {
                &[Eq, Ne, Gt, Gte, Lt, Lte, Between, In, NotIn]
            }
            FieldType::Date => &[Eq, Gt, Gte, Lt, Lte, Between],
            FieldType::Text => &[Eq, Ne, In, NotIn, Contains, StartsWith],
            FieldType::Enum(_) => &[Eq, Ne, In, NotIn],
            FieldType::Bool => &[Eq],
            // eq: has this one; in: has any of them; has_all: every one;
            // not_in: has none of them.
            FieldType::Set(_) => &[Eq, In, NotIn, HasAll],
        }
    }
}

/// A condition's operand, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Int(i64),
    Ints(Vec<i64>),
    IntRange(i64, i64),
    Text(String),
    Texts(Vec<String>),
    Bool(bool),
    Date(NaiveDate),
    DateRange(NaiveDate, NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: Operand,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Condition(Condition),
}

/// Limits that keep a rule a query, not a denial of service.
pub const MAX_DEPTH: usize = 8;
pub const MAX_CONDITIONS: usize = 100;
pub const MAX_VALUES: usize = 1000;

impl Rule {
    /// Parses and checks a rule tree; every problem is reported, each with
    /// its path under `path` (`rule`).
    pub fn parse(value: &Value, path: &str) -> Result<Rule, DomainError> {
        let mut errors = Vec::new();
        let mut count = 0;
        let rule = parse_node(value, path, 1, &mut count, &mut errors);
        if count > MAX_CONDITIONS {
            errors.push(FieldError::new(
                path,
                "too_many_conditions",
                format!("at most {MAX_CONDITIONS} conditions"),
            ));
        }
        match rule {
            Some(r) if errors.is_empty() => Ok(r),
            _ => Err(DomainError::Validation(errors)),
        }
    }

    /// Every condition, depth first.
    pub fn conditions(&self) -> Vec<&Condition> {
        match self {
            Rule::All(rs) | Rule::Any(rs) => rs.iter().flat_map(|r| r.conditions()).collect(),
            Rule::Not(r) => r.conditions(),
            Rule::Condition(c) => vec![c],
        }
    }
}

fn parse_node(
    value: &Value,
    path: &str,
    depth: usize,
    count: &mut usize,
    errors: &mut Vec<FieldError>,
) -> Option<Rule> {
    let Some(obj) = value.as_object() else {
        errors.push(FieldError::new(
            path,
            "invalid_rule",
            "an object: {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or a condition",
        ));
        return None;
    };
    if depth > MAX_DEPTH {
        errors.push(FieldError::new(
            path,
            "too_deep",
            format!("rules nest at most {MAX_DEPTH} levels"),
        ));
        return None;
    }
    let group = |key: &str, errors: &mut Vec<FieldError>, count: &mut usize| -> Option<Vec<Rule>> {
        let Some(items) = obj.get(key).and_then(Value::as_array) else {
            errors.push(FieldError::new(
                format!("{path}.{key}"),
                "invalid_rule",
                "an array of rules",
            ));
            return None;
        };
        if items.is_empty() {
            errors.push(FieldError::new(
                format!("{path}.{key}"),
                "invalid_rule",
                "at least one rule",
            ));
        }
        let parsed: Vec<Option<Rule>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                parse_node(
                    item,
                    &format!("{path}.{key}[{i}]"),
                    depth + 1,
                    count,
                    errors,
                )
            })
            .collect();
        parsed.into_iter().collect()
    };
    if obj.len() == 1 && obj.contains_key("all") {
        return group("all", errors, count).map(Rule::All);
    }
    if obj.len() == 1 && obj.contains_key("any") {
        return group("any", errors, count).map(Rule::Any);
    }
    if obj.len() == 1 && obj.contains_key("not") {
        return parse_node(
            &obj["not"],
            &format!("{path}.not"),
            depth + 1,
            count,
            errors,
        )
        .map(|r| Rule::Not(Box::new(r)));
    }
    *count += 1;
    parse_condition(obj, path, errors).map(Rule::Condition)
}

fn parse_condition(
    obj: &serde_json::Map<String, Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Condition> {
    if let Some(extra) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "field" | "op" | "value"))
    {
        errors.push(FieldError::new(
            format!("{path}.{extra}"),
            "unknown_key",
            "a condition has `field`, `op` and `value`",
        ));
        return None;
    }
    let field_name = obj.get("field").and_then(Value::as_str).unwrap_or("");
    let Some(field) = Field::parse(field_name) else {
        errors.push(FieldError::new(
            format!("{path}.field"),
            "unknown_field",
            format!(
                "one of: {}",
                Field::ALL
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        return None;
    };
    let ty = field.field_type();
    let op_name = obj.get("op").and_then(Value::as_str).unwrap_or("");
    let Some(op) = Op::parse(op_name).filter(|op| ty.operators().contains(op)) else {
        errors.push(FieldError::new(
            format!("{path}.op"),
            "invalid_operator",
            format!(
                "`{}` takes: {}",
                field.name(),
                ty.operators()
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        return None;
    };
    let value = obj.get("value").unwrap_or(&Value::Null);
    let at = format!("{path}.value");
    match operand(field, ty, op, value) {
        Ok(v) => Some(Condition {
            field,
            op,
            value: v,
        }),
        Err(why) => {
            errors.push(FieldError::new(at, "invalid_operand", why));
            None
        }
    }
}

fn operand(field: Field, ty: FieldType, op: Op, v: &Value) -> Result<Operand, String> {
    let int = |v: &Value| -> Result<i64, String> {
        v.as_i64()
            .ok_or_else(|| format!("`{}` compares with whole numbers", field.name()))
    };
    let date = |v: &Value| -> Result<NaiveDate, String> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "a date, YYYY-MM-DD".to_string())
    };
    let text = |v: &Value| -> Result<String, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("`{}` compares with text", field.name()))?;
        if s.is_empty() || s.chars().count() > 200 {
            return Err("1 to 200 characters".into());
        }
        match ty {
            FieldType::Enum(allowed) | FieldType::Set(allowed)
                if !allowed.is_empty() && !allowed.contains(&s) =>
            {
                Err(format!("one of: {}", allowed.join(", ")))
            }
            _ => Ok(s.to_string()),
        }
    };
    fn list(v: &Value) -> Result<&Vec<Value>, String> {
        let items = v.as_array().ok_or_else(|| "a list of values".to_string())?;
        if items.is_empty() || items.len() > MAX_VALUES {
            return Err(format!("1 to {MAX_VALUES} values"));
        }
        Ok(items)
    }
    let numeric = matches!(
        ty,
        FieldType::Integer | FieldType::Money | FieldType::DaysAgo
    );
    match (ty, op) {
        (FieldType::Bool, _) => v
            .as_bool()
            .map(Operand::Bool)
            .ok_or_else(|| "true or false".into()),
        (_, Op::Between) => {
            let items = v.as_array().filter(|a| a.len() == 2).ok_or("[from, to]")?;
            if ty == FieldType::Date {
                let (a, b) = (date(&items[0])?, date(&items[1])?);
                if a > b {
                    return Err("from must not be after to".into());
                }
                Ok(Operand::DateRange(a, b))
            } else {
                let (a, b) = (int(&items[0])?, int(&items[1])?);
                if a > b {
                    return Err("from must not be above to".into());
                }
                Ok(Operand::IntRange(a, b))
            }
        }
        (_, Op::In | Op::NotIn | Op::HasAll) if numeric => Ok(Operand::Ints(
            list(v)?.iter().map(int).collect::<Result<_, _>>()?,
        )),
        (_, Op::In | Op::NotIn | Op::HasAll) => Ok(Operand::Texts(
            list(v)?.iter().map(text).collect::<Result<_, _>>()?,
        )),
        (FieldType::Date, _) => date(v).map(Operand::Date),
        _ if numeric => int(v).map(Operand::Int),
        _ => text(v).map(Operand::Text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(e: DomainError) -> Vec<(String, &'static str)> {
        e.into_field_errors()
            .into_iter()
            .map(|f| (f.field, f.code))
            .collect()
    }

    #[test]
    fn a_tree_parses_into_typed_conditions() {
        let rule = Rule::parse(
            &json!({"all": [
                {"field": "stays", "op": "gte", "value": 3},
                {"any": [
                    {"field": "value_class", "op": "eq", "value": "vip"},
                    {"field": "tag", "op": "in", "value": ["商务", "VIP"]}
                ]},
                {"not": {"field": "blacklisted", "op": "eq", "value": true}},
                {"field": "last_stay", "op": "between", "value": ["2026-01-01", "2026-06-30"]}
            ]}),
            "rule",
        )
        .unwrap();
        let conditions = rule.conditions();
        assert_eq!(conditions.len(), 5);
        assert_eq!(conditions[0].value, Operand::Int(3));
        assert_eq!(
            conditions[2].value,
            Operand::Texts(vec!["商务".into(), "VIP".into()])
        );
        assert!(matches!(conditions[4].value, Operand::DateRange(_, _)));
    }

    #[test]
    fn errors_name_the_path_of_the_problem() {
        let err = Rule::parse(
            &json!({"all": [
                {"field": "stays", "op": "gte", "value": "three"},
                {"any": [{"field": "shoe_size", "op": "eq", "value": 42}]},
                {"field": "value_class", "op": "gt", "value": "vip"},
                {"field": "value_class", "op": "eq", "value": "platinum"},
                {"field": "nights", "op": "between", "value": [5, 2]}
            ]}),
            "rule",
        )
        .unwrap_err();
        let f = fields(err);
        assert!(
            f.contains(&("rule.all[0].value".into(), "invalid_operand")),
            "{f:?}"
        );
        assert!(
            f.contains(&("rule.all[1].any[0].field".into(), "unknown_field")),
            "{f:?}"
        );
        assert!(
            f.contains(&("rule.all[2].op".into(), "invalid_operator")),
            "{f:?}"
        );
        assert!(
            f.contains(&("rule.all[3].value".into(), "invalid_operand")),
            "{f:?}"
        );
        assert!(
            f.contains(&("rule.all[4].value".into(), "invalid_operand")),
            "{f:?}"
        );
        assert_eq!(f.len(), 5);
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let mut deep = json!({"field": "stays", "op": "gte", "value": 1});
        for _ in 0..10 {
            deep = json!({"not": deep});
        }
        let f = fields(Rule::parse(&deep, "rule").unwrap_err());
        assert!(f.iter().any(|(_, c)| *c == "too_deep"));
        let many: Vec<Value> = (0..101)
            .map(|i| json!({"field": "stays", "op": "gte", "value": i}))
            .collect();
        let f = fields(Rule::parse(&json!({"any": many}), "rule").unwrap_err());
        assert_eq!(f, vec![("rule".to_string(), "too_many_conditions")]);
        assert!(Rule::parse(&json!({"all": []}), "rule").is_err());
        assert!(Rule::parse(&json!("stays > 3"), "rule").is_err());
        assert!(Rule::parse(
            &json!({"field": "stays", "op": "gte", "value": 1, "x": 1}),
            "rule"
        )
        .is_err());
    }
}
