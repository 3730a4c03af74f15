//! Segments: stored rule trees, compiled to one diesel query over the
//! guest insights (and the tags table), on either database; and their
//! materialised membership.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{guest_insights, guest_tags, segment_members, segments};
use crate::time::{from_db, to_db};
use chrono::{DateTime, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use crm_domain::segment::{Condition, Field, Op, Operand, Rule};
use diesel::dsl::not;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

type Db = <DbConnection as diesel::Connection>::Backend;

/// A compiled condition: true or false for each insight row, never NULL.
pub type Predicate = Box<dyn BoxableExpression<guest_insights::table, Db, SqlType = Bool>>;

diesel::define_sql_function! {
    /// SQL `COALESCE(x, y)` of booleans: a comparison with a missing value
    /// is false, so `not` of it is true (a guest with no nationality is
    /// "not Chinese").
    #[sql_name = "COALESCE"]
    fn coalesce_bool(x: Nullable<Bool>, y: Bool) -> Bool;
}

diesel::define_sql_function! {
    #[sql_name = "LOWER"]
    fn lower(x: Nullable<diesel::sql_types::Text>) -> Nullable<diesel::sql_types::Text>;
}

/// Why a valid rule still cannot be compiled (an operand out of the
/// column's range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub field: &'static str,
    pub message: String,
}

/// A comparison that may be NULL (a missing value), boxed.
type MaybePredicate =
    Box<dyn BoxableExpression<guest_insights::table, Db, SqlType = Nullable<Bool>>>;

fn wrap(e: MaybePredicate) -> Predicate {
    Box::new(coalesce_bool(e, false))
}

/// `wrap` of an expression.
macro_rules! w {
    ($e:expr $(,)?) => {
        wrap(Box::new($e))
    };
}

fn any_of(mut preds: Vec<Predicate>) -> Predicate {
    let first = preds
        .pop()
        .unwrap_or_else(|| Box::new(false.into_sql::<Bool>()));
    preds.into_iter().fold(first, |acc, p| Box::new(acc.or(p)))
}

fn all_of(mut preds: Vec<Predicate>) -> Predicate {
    let first = preds
        .pop()
        .unwrap_or_else(|| Box::new(true.into_sql::<Bool>()));
    preds.into_iter().fold(first, |acc, p| Box::new(acc.and(p)))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as escape.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn int32(field: Field, v: i64) -> Result<i32, CompileError> {
    i32::try_from(v).map_err(|_| CompileError {
        field: field.name(),
        message: "out of range".into(),
    })
}

/// Numeric comparisons for a column of SQL type `$st` taking Rust values
/// converted by `$conv`.
macro_rules! numeric {
    ($col:expr, $op:expr, $value:expr, $conv:expr) => {{
        let col = $col;
        let conv = $conv;
        let p: Predicate = match ($op, $value) {
            (Op::Eq, Operand::Int(v)) => w!(col.eq(conv(*v)?).nullable()),
            (Op::Ne, Operand::Int(v)) => w!(col.ne(conv(*v)?).nullable()),
            (Op::Gt, Operand::Int(v)) => w!(col.gt(conv(*v)?).nullable()),
            (Op::Gte, Operand::Int(v)) => w!(col.ge(conv(*v)?).nullable()),
            (Op::Lt, Operand::Int(v)) => w!(col.lt(conv(*v)?).nullable()),
            (Op::Lte, Operand::Int(v)) => w!(col.le(conv(*v)?).nullable()),
            (Op::Between, Operand::IntRange(a, b)) => {
                w!(col.between(conv(*a)?, conv(*b)?).nullable())
            }
            (Op::In, Operand::Ints(vs)) => {
                let vs = vs.iter().map(|v| conv(*v)).collect::<Result<Vec<_>, _>>()?;
                w!(col.eq_any(vs).nullable())
            }
            (Op::NotIn, Operand::Ints(vs)) => {
                let vs = vs.iter().map(|v| conv(*v)).collect::<Result<Vec<_>, _>>()?;
                Box::new(not(w!(col.eq_any(vs).nullable())))
            }
            _ => return Err(mismatch()),
        };
        p
    }};
}

/// Date comparisons.
macro_rules! dates {
    ($col:expr, $op:expr, $value:expr) => {{
        let col = $col;
        let p: Predicate = match ($op, $value) {
            (Op::Eq, Operand::Date(d)) => w!(col.eq(*d).nullable()),
            (Op::Gt, Operand::Date(d)) => w!(col.gt(*d).nullable()),
            (Op::Gte, Operand::Date(d)) => w!(col.ge(*d).nullable()),
            (Op::Lt, Operand::Date(d)) => w!(col.lt(*d).nullable()),
            (Op::Lte, Operand::Date(d)) => w!(col.le(*d).nullable()),
            (Op::Between, Operand::DateRange(a, b)) => w!(col.between(*a, *b).nullable()),
            _ => return Err(mismatch()),
        };
        p
    }};
}

/// Text comparisons (`$map` normalises the operand, e.g. upper-cases a
/// country code).
macro_rules! texts {
    ($col:expr, $op:expr, $value:expr, $map:expr) => {{
        let col = $col;
        let map = $map;
        let p: Predicate = match ($op, $value) {
            (Op::Eq, Operand::Text(v)) => w!(col.eq(map(v)).nullable()),
            (Op::Ne, Operand::Text(v)) => w!(col.ne(map(v)).nullable()),
            (Op::In, Operand::Texts(vs)) => {
                w!(col
                    .eq_any(vs.iter().map(|v| map(v)).collect::<Vec<String>>())
                    .nullable())
            }
            (Op::NotIn, Operand::Texts(vs)) => Box::new(not(w!(col
                .eq_any(vs.iter().map(|v| map(v)).collect::<Vec<String>>())
                .nullable(),))),
            (Op::Contains, Operand::Text(v)) => w!(lower(col.nullable())
                .like(format!("%{}%", like_escape(&v.to_lowercase())))
                .escape('\\')
                .nullable(),),
            (Op::StartsWith, Operand::Text(v)) => w!(lower(col.nullable())
                .like(format!("{}%", like_escape(&v.to_lowercase())))
                .escape('\\')
                .nullable(),),
            _ => return Err(mismatch()),
        };
        p
    }};
}

fn mismatch() -> CompileError {
    CompileError {
        field: "rule",
        message: "operand does not fit the operator".into(),
    }
}

macro_rules! set_field {
    ($col:expr, $op:expr, $value:expr) => {{
        let one = |v: &str| -> Predicate {
            Box::new($col.like(format!("%|{}|%", like_escape(v))).escape('\\'))
        };
        let p: Predicate = match ($op, $value) {
            (Op::Eq, Operand::Text(v)) => one(v),
            (Op::In, Operand::Texts(vs)) => any_of(vs.iter().map(|v| one(v)).collect()),
            (Op::HasAll, Operand::Texts(vs)) => all_of(vs.iter().map(|v| one(v)).collect()),
            (Op::NotIn, Operand::Texts(vs)) => {
                Box::new(not(any_of(vs.iter().map(|v| one(v)).collect())))
            }
            _ => return Err(mismatch()),
        };
        p
    }};
}

/// Birthdays that make the age `a` (whole years) on `today`:
/// `(today - (a+1) years, today - a years]`.
fn age_range(today: NaiveDate, from_age: i64, to_age: i64) -> (NaiveDate, NaiveDate) {
    let years = |n: i64| Months::new(u32::try_from(n.clamp(0, 200) * 12).unwrap_or(0));
    let latest = today
        .checked_sub_months(years(from_age))
        .unwrap_or(NaiveDate::MIN);
    let earliest = today
        .checked_sub_months(years(to_age + 1))
        .unwrap_or(NaiveDate::MIN)
        + Duration::days(1);
    (earliest, latest)
}

fn age(op: Op, value: &Operand, today: NaiveDate) -> Result<Predicate, CompileError> {
    let col = guest_insights::birthday;
    let range = |a: i64, b: i64| -> Predicate {
        let (earliest, latest) = age_range(today, a, b);
        w!(col.between(earliest, latest).nullable())
    };
    Ok(match (op, value) {
        (Op::Eq, Operand::Int(a)) => range(*a, *a),
        (Op::Ne, Operand::Int(a)) => Box::new(not(range(*a, *a))),
        (Op::Gte, Operand::Int(a)) => range(*a, 200),
        (Op::Gt, Operand::Int(a)) => range(a + 1, 200),
        (Op::Lte, Operand::Int(a)) => range(0, *a),
        (Op::Lt, Operand::Int(a)) => range(0, a - 1),
        (Op::Between, Operand::IntRange(a, b)) => range(*a, *b),
        (Op::In, Operand::Ints(vs)) => any_of(vs.iter().map(|a| range(*a, *a)).collect()),
        (Op::NotIn, Operand::Ints(vs)) => {
            Box::new(not(any_of(vs.iter().map(|a| range(*a, *a)).collect())))
        }
        _ => return Err(mismatch()),
    })
}

/// `days ago` conditions as date conditions on `$col`: N days ago is
/// `today - N`, and more days ago is earlier.
macro_rules! days_ago {
    ($col:expr, $op:expr, $value:expr, $today:expr) => {{
        let col = $col;
        let today: NaiveDate = $today;
        let day = |n: i64| today - Duration::days(n.clamp(-100_000, 100_000));
        let converted = match ($op, $value) {
            (Op::Eq, Operand::Int(n)) => Some((Op::Eq, Operand::Date(day(*n)))),
            (Op::Gt, Operand::Int(n)) => Some((Op::Lt, Operand::Date(day(*n)))),
            (Op::Gte, Operand::Int(n)) => Some((Op::Lte, Operand::Date(day(*n)))),
            (Op::Lt, Operand::Int(n)) => Some((Op::Gt, Operand::Date(day(*n)))),
            (Op::Lte, Operand::Int(n)) => Some((Op::Gte, Operand::Date(day(*n)))),
            (Op::Between, Operand::IntRange(a, b)) => {
                Some((Op::Between, Operand::DateRange(day(*b), day(*a))))
            }
            _ => None,
        };
        let p: Predicate = match (converted, $op, $value) {
            (Some((op, v)), _, _) => dates!(col, op, &v),
            (None, Op::Ne, Operand::Int(n)) => Box::new(not(w!(col.eq(day(*n)).nullable()))),
            (None, Op::In, Operand::Ints(ns)) => {
                w!(col
                    .eq_any(ns.iter().map(|n| day(*n)).collect::<Vec<_>>())
                    .nullable())
            }
            (None, Op::NotIn, Operand::Ints(ns)) => Box::new(not(w!(col
                .eq_any(ns.iter().map(|n| day(*n)).collect::<Vec<_>>())
                .nullable()))),
            _ => return Err(mismatch()),
        };
        p
    }};
}

fn tag(org: &str, op: Op, value: &Operand) -> Result<Predicate, CompileError> {
    let org = org.to_string();
    // Tags are stored lower-cased (see the guest profile).
    let tagged = move |tags: Vec<String>| -> Predicate {
        let tags: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
        Box::new(
            guest_insights::guest_id.eq_any(
                guest_tags::table
                    .filter(guest_tags::org_id.eq(org.clone()))
                    .filter(guest_tags::tag.eq_any(tags))
                    .select(guest_tags::guest_id),
            ),
        )
    };
    Ok(match (op, value) {
        (Op::Eq, Operand::Text(t)) => tagged(vec![t.clone()]),
        (Op::In, Operand::Texts(ts)) => tagged(ts.clone()),
        (Op::HasAll, Operand::Texts(ts)) => {
            all_of(ts.iter().map(|t| tagged(vec![t.clone()])).collect())
        }
        (Op::NotIn, Operand::Texts(ts)) => Box::new(not(tagged(ts.clone()))),
        _ => return Err(mismatch()),
    })
}

fn condition(org: &str, c: &Condition, today: NaiveDate) -> Result<Predicate, CompileError> {
    use guest_insights as gi;
    let f = c.field;
    let (op, v) = (c.op, &c.value);
    let i32_of = move |n: i64| int32(f, n);
    let i64_of = |n: i64| -> Result<i64, CompileError> { Ok(n) };
    let same = |s: &String| s.clone();
    let upper = |s: &String| s.to_ascii_uppercase();
    let lower_case = |s: &String| s.to_ascii_lowercase();
    Ok(match f {
        Field::Gender => texts!(gi::gender, op, v, same),
        Field::Nationality => texts!(gi::nationality, op, v, upper),
        Field::Language => texts!(gi::language, op, v, lower_case),
        Field::City => texts!(gi::city, op, v, same),
        Field::Age => age(op, v, today)?,
        Field::BirthdayMonth => numeric!(gi::birthday_month, op, v, i32_of),
        Field::Resident => match v {
            Operand::Bool(b) => Box::new(gi::resident.eq(*b)),
            _ => return Err(mismatch()),
        },
        Field::Blacklisted => match v {
            Operand::Bool(b) => Box::new(gi::blacklisted.eq(*b)),
            _ => return Err(mismatch()),
        },
        Field::CreatedOn => dates!(gi::created_on, op, v),
        Field::Tag => tag(org, op, v)?,
        Field::Consent => set_field!(gi::consents, op, v),
        Field::Tier => texts!(gi::tier_code, op, v, upper),
        Field::TierRank => numeric!(gi::tier_rank, op, v, i32_of),
        Field::PointsBalance => numeric!(gi::points_balance, op, v, i64_of),
        Field::Stays => numeric!(gi::stays, op, v, i32_of),
        Field::Nights => numeric!(gi::nights, op, v, i32_of),
        Field::Spend => numeric!(gi::spend, op, v, i64_of),
        Field::AverageRate => numeric!(gi::average_rate, op, v, i64_of),
        Field::LastStayDaysAgo => days_ago!(gi::last_stay_on, op, v, today),
        Field::FirstStayDaysAgo => days_ago!(gi::first_stay_on, op, v, today),
        Field::LastStay => dates!(gi::last_stay_on, op, v),
        Field::FirstStay => dates!(gi::first_stay_on, op, v),
        Field::Channel => set_field!(gi::channels, op, v),
        Field::MainChannel => texts!(gi::main_channel, op, v, same),
        Field::Property => {
            // Property ids, as stored: hyphenated lower-case UUIDs.
            let ids = |v: &Operand| -> Result<Operand, CompileError> {
                let one = |s: &String| {
                    uuid::Uuid::parse_str(s)
                        .map(|u| u.to_string())
                        .map_err(|_| CompileError {
                            field: "property",
                            message: format!("`{s}` is not a property id"),
                        })
                };
                Ok(match v {
                    Operand::Text(s) => Operand::Text(one(s)?),
                    Operand::Texts(ss) => {
                        Operand::Texts(ss.iter().map(one).collect::<Result<_, _>>()?)
                    }
                    other => other.clone(),
                })
            };
            let v = ids(v)?;
            set_field!(gi::properties, op, &v)
        }
        Field::TravelPurpose => texts!(gi::travel_purpose, op, v, same),
        Field::ValueClass => texts!(gi::value_class, op, v, same),
        Field::ChurnGrade => texts!(gi::churn_grade, op, v, same),
        Field::ChurnScore => numeric!(gi::churn_score, op, v, i32_of),
        Field::Recency => numeric!(gi::rfm_recency, op, v, i32_of),
        Field::Frequency => numeric!(gi::rfm_frequency, op, v, i32_of),
        Field::Monetary => numeric!(gi::rfm_monetary, op, v, i32_of),
    })
}

/// The rule as one predicate over the organisation's insight rows.
pub fn compile(org: &str, rule: &Rule, today: NaiveDate) -> Result<Predicate, CompileError> {
    Ok(match rule {
        Rule::All(rules) => all_of(
            rules
                .iter()
                .map(|r| compile(org, r, today))
                .collect::<Result<_, _>>()?,
        ),
        Rule::Any(rules) => any_of(
            rules
                .iter()
                .map(|r| compile(org, r, today))
                .collect::<Result<_, _>>()?,
        ),
        Rule::Not(r) => Box::new(not(compile(org, r, today)?)),
        Rule::Condition(c) => condition(org, c, today)?,
    })
}

/// How many guests match, and the first `sample` of their ids.
pub fn preview(
    conn: &mut DbConnection,
    org: &str,
    rule: &Rule,
    today: NaiveDate,
    sample: i64,
) -> StorageResult<Result<(i64, Vec<String>), CompileError>> {
    let count_pred = match compile(org, rule, today) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let count: i64 = guest_insights::table
        .filter(guest_insights::org_id.eq(org.to_string()))
        .filter(count_pred)
        .count()
        .get_result(conn)?;
    let sample_pred = match compile(org, rule, today) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let ids: Vec<String> = guest_insights::table
        .filter(guest_insights::org_id.eq(org.to_string()))
        .filter(sample_pred)
        .order(guest_insights::guest_id.asc())
        .select(guest_insights::guest_id)
        .limit(sample)
        .load(conn)?;
    Ok(Ok((count, ids)))
}

/// A page of matching guest ids, by id.
pub fn members(
    conn: &mut DbConnection,
    org: &str,
    rule: &Rule,
    today: NaiveDate,
    page: &PageRequest,
) -> StorageResult<Result<Page<String>, CompileError>> {
    let pred = match compile(org, rule, today) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let query = guest_insights::table
        .filter(guest_insights::org_id.eq(org.to_string()))
        .filter(pred)
        .select(guest_insights::guest_id)
        .into_boxed();
    let rows: Vec<String> = paginate!(query, guest_insights::guest_id, page).load(conn)?;
    Ok(Ok(Page::from_rows(rows, page.limit, |g| g.clone())))
}

/// Replaces the segment's materialised membership with who matches now,
/// in one `INSERT … SELECT`; returns the count.
pub fn refresh(
    conn: &mut DbConnection,
    org: &str,
    segment_id: &str,
    rule: &Rule,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StorageResult<Result<i64, CompileError>> {
    let pred = match compile(org, rule, today) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    diesel::delete(
        segment_members::table
            .filter(segment_members::org_id.eq(org))
            .filter(segment_members::segment_id.eq(segment_id)),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(segment_members::table)
        .values(
            guest_insights::table
                .filter(guest_insights::org_id.eq(org.to_string()))
                .filter(pred)
                .select((
                    guest_insights::org_id,
                    segment_id.to_string().into_sql::<diesel::sql_types::Text>(),
                    guest_insights::guest_id,
                )),
        )
        .into_columns((
            segment_members::org_id,
            segment_members::segment_id,
            segment_members::guest_id,
        ))
        .execute(conn)?;
    let count = i64::try_from(inserted).unwrap_or(i64::MAX);
    diesel::update(
        segments::table
            .filter(segments::org_id.eq(org))
            .filter(segments::id.eq(segment_id)),
    )
    .set((
        segments::member_count.eq(Some(i32::try_from(count).unwrap_or(i32::MAX))),
        segments::refreshed_at.eq(Some(to_db(now))),
    ))
    .execute(conn)?;
    Ok(Ok(count))
}

/// Up to `limit` guest ids of the materialised membership after `after`,
/// by id: a campaign's send walks the audience frozen when it started.
pub fn snapshot_ids_after(
    conn: &mut DbConnection,
    org: &str,
    segment_id: &str,
    after: &str,
    limit: i64,
) -> StorageResult<Vec<String>> {
    Ok(segment_members::table
        .filter(segment_members::org_id.eq(org))
        .filter(segment_members::segment_id.eq(segment_id))
        .filter(segment_members::guest_id.gt(after))
        .order(segment_members::guest_id.asc())
        .select(segment_members::guest_id)
        .limit(limit)
        .load(conn)?)
}

/// A page of the materialised membership.
pub fn snapshot_members(
    conn: &mut DbConnection,
    org: &str,
    segment_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<String>> {
    let query = segment_members::table
        .filter(segment_members::org_id.eq(org.to_string()))
        .filter(segment_members::segment_id.eq(segment_id.to_string()))
        .select(segment_members::guest_id)
        .into_boxed();
    let rows: Vec<String> = paginate!(query, segment_members::guest_id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |g| g.clone()))
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = segments)]
struct SegmentRow {
    id: String,
    org_id: String,
    name: String,
    description: Option<String>,
    rule: String,
    member_count: Option<i32>,
    refreshed_at: Option<NaiveDateTime>,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    /// The rule as written (JSON); parsed with `Rule::parse`.
    pub rule: serde_json::Value,
    pub member_count: Option<i64>,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<SegmentRow> for Segment {
    type Error = StorageError;
    fn try_from(r: SegmentRow) -> StorageResult<Self> {
        Ok(Segment {
            rule: serde_json::from_str(&r.rule)?,
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            description: r.description,
            member_count: r.member_count.map(i64::from),
            refreshed_at: r.refreshed_at.map(from_db),
            version: r.version,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConnection, s: &Segment) -> StorageResult<()> {
    diesel::insert_into(segments::table)
        .values(SegmentRow {
            id: s.id.clone(),
            org_id: s.org_id.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            rule: s.rule.to_string(),
            member_count: None,
            refreshed_at: None,
            version: s.version,
            created_by: s.created_by.clone(),
            created_at: to_db(s.created_at),
            updated_at: to_db(s.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<Segment> {
    segments::table
        .filter(segments::org_id.eq(org))
        .filter(segments::id.eq(id))
        .select(SegmentRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list(
    conn: &mut DbConnection,
    org: &str,
    page: &PageRequest,
) -> StorageResult<Page<Segment>> {
    let query = segments::table
        .filter(segments::org_id.eq(org.to_string()))
        .select(SegmentRow::as_select())
        .into_boxed();
    let rows: Vec<SegmentRow> = paginate!(query, segments::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Segment::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |s| s.id.clone()))
}

/// Writes name, description and rule if the version is still `expected`;
/// a changed rule forgets the materialised count.
pub fn update(
    conn: &mut DbConnection,
    s: &Segment,
    expected: i32,
    rule_changed: bool,
) -> StorageResult<()> {
    let n = diesel::update(
        segments::table
            .filter(segments::org_id.eq(&s.org_id))
            .filter(segments::id.eq(&s.id))
            .filter(segments::version.eq(expected)),
    )
    .set((
        segments::name.eq(&s.name),
        segments::description.eq(&s.description),
        segments::rule.eq(s.rule.to_string()),
        segments::version.eq(s.version),
        segments::updated_at.eq(to_db(s.updated_at)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    if rule_changed {
        diesel::delete(
            segment_members::table
                .filter(segment_members::org_id.eq(&s.org_id))
                .filter(segment_members::segment_id.eq(&s.id)),
        )
        .execute(conn)?;
        diesel::update(segments::table.filter(segments::id.eq(&s.id)))
            .set((
                segments::member_count.eq(None::<i32>),
                segments::refreshed_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<bool> {
    diesel::delete(
        segment_members::table
            .filter(segment_members::org_id.eq(org))
            .filter(segment_members::segment_id.eq(id)),
    )
    .execute(conn)?;
    let n = diesel::delete(
        segments::table
            .filter(segments::org_id.eq(org))
            .filter(segments::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
