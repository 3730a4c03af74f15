//! Survey templates, invitations and responses; online reviews; and the
//! satisfaction figures reports and insights read.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{reviews, survey_invitations, survey_responses, survey_templates};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::survey::SurveyDefinition;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_templates)]
struct TemplateRow {
    id: String,
    org_id: String,
    name: String,
    definition: String,
    active: bool,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SurveyTemplate {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub definition: SurveyDefinition,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<TemplateRow> for SurveyTemplate {
    type Error = StorageError;
    fn try_from(r: TemplateRow) -> StorageResult<Self> {
        Ok(SurveyTemplate {
            definition: serde_json::from_str(&r.definition)?,
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            active: r.active,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn template_row(t: &SurveyTemplate) -> StorageResult<TemplateRow> {
    Ok(TemplateRow {
        id: t.id.clone(),
        org_id: t.org_id.clone(),
        name: t.name.clone(),
        definition: serde_json::to_string(&t.definition)?,
        active: t.active,
        version: t.version,
        created_at: to_db(t.created_at),
        updated_at: to_db(t.updated_at),
    })
}

/// Makes `id` the only active template of the organisation (or none).
fn deactivate_others(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<()> {
    diesel::update(
        survey_templates::table
            .filter(survey_templates::org_id.eq(org_id))
            .filter(survey_templates::id.ne(id))
            .filter(survey_templates::active.eq(true)),
    )
    .set(survey_templates::active.eq(false))
    .execute(conn)?;
    Ok(())
}

pub fn insert_template(conn: &mut DbConnection, t: &SurveyTemplate) -> StorageResult<()> {
    if t.active {
        deactivate_others(conn, &t.org_id, &t.id)?;
    }
    diesel::insert_into(survey_templates::table)
        .values(template_row(t)?)
        .execute(conn)?;
    Ok(())
}

pub fn update_template(
    conn: &mut DbConnection,
    t: &SurveyTemplate,
    expected_version: i32,
) -> StorageResult<()> {
    if t.active {
        deactivate_others(conn, &t.org_id, &t.id)?;
    }
    let row = template_row(t)?;
    let n = diesel::update(
        survey_templates::table
            .filter(survey_templates::org_id.eq(&t.org_id))
            .filter(survey_templates::id.eq(&t.id))
            .filter(survey_templates::version.eq(expected_version)),
    )
    .set((
        survey_templates::name.eq(row.name),
        survey_templates::definition.eq(row.definition),
        survey_templates::active.eq(row.active),
        survey_templates::version.eq(row.version),
        survey_templates::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

pub fn find_template(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> StorageResult<SurveyTemplate> {
    survey_templates::table
        .filter(survey_templates::org_id.eq(org_id))
        .filter(survey_templates::id.eq(id))
        .select(TemplateRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn active_template(
    conn: &mut DbConnection,
    org_id: &str,
) -> StorageResult<Option<SurveyTemplate>> {
    survey_templates::table
        .filter(survey_templates::org_id.eq(org_id))
        .filter(survey_templates::active.eq(true))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?
        .map(SurveyTemplate::try_from)
        .transpose()
}

pub fn list_templates(
    conn: &mut DbConnection,
    org_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<SurveyTemplate>> {
    let q = survey_templates::table
        .filter(survey_templates::org_id.eq(org_id.to_string()))
        .select(TemplateRow::as_select())
        .into_boxed();
    let rows: Vec<TemplateRow> = paginate!(q, survey_templates::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(SurveyTemplate::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |t| t.id.clone()))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_invitations)]
struct InvitationRow {
    id: String,
    org_id: String,
    template_id: String,
    template_version: i32,
    definition: String,
    guest_id: String,
    stay_id: String,
    property_id: String,
    expires_at: NaiveDateTime,
    answered_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: String,
    pub org_id: String,
    pub template_id: String,
    pub template_version: i32,
    /// As it was when sent.
    pub definition: SurveyDefinition,
    pub guest_id: String,
    pub stay_id: String,
    pub property_id: String,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StorageError;
    fn try_from(r: InvitationRow) -> StorageResult<Self> {
        Ok(Invitation {
            definition: serde_json::from_str(&r.definition)?,
            id: r.id,
            org_id: r.org_id,
            template_id: r.template_id,
            template_version: r.template_version,
            guest_id: r.guest_id,
            stay_id: r.stay_id,
            property_id: r.property_id,
            expires_at: from_db(r.expires_at),
            answered_at: r.answered_at.map(from_db),
            created_at: from_db(r.created_at),
        })
    }
}

pub fn insert_invitation(conn: &mut DbConnection, i: &Invitation) -> StorageResult<()> {
    diesel::insert_into(survey_invitations::table)
        .values(InvitationRow {
            id: i.id.clone(),
            org_id: i.org_id.clone(),
            template_id: i.template_id.clone(),
            template_version: i.template_version,
            definition: serde_json::to_string(&i.definition)?,
            guest_id: i.guest_id.clone(),
            stay_id: i.stay_id.clone(),
            property_id: i.property_id.clone(),
            expires_at: to_db(i.expires_at),
            answered_at: i.answered_at.map(to_db),
            created_at: to_db(i.created_at),
        })
        .execute(conn)?;
    Ok(())
}

/// By id alone: the public answer endpoint knows only the signed link,
/// which names the invitation; the row then says which organisation.
pub fn find_invitation_by_link(
    conn: &mut DbConnection,
    id: &str,
) -> StorageResult<Option<Invitation>> {
    survey_invitations::table
        .filter(survey_invitations::id.eq(id))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?
        .map(Invitation::try_from)
        .transpose()
}

pub fn invitations_of_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Invitation>> {
    let q = survey_invitations::table
        .filter(survey_invitations::org_id.eq(org_id.to_string()))
        .filter(survey_invitations::guest_id.eq(guest_id.to_string()))
        .select(InvitationRow::as_select())
        .into_boxed();
    let rows: Vec<InvitationRow> = paginate!(q, survey_invitations::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Invitation::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |i| i.id.clone()))
}

/// Marks the invitation answered if it was not; false if it was (a second
/// answer racing the first loses here).
pub fn claim_invitation(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    let n = diesel::update(
        survey_invitations::table
            .filter(survey_invitations::org_id.eq(org_id))
            .filter(survey_invitations::id.eq(id))
            .filter(survey_invitations::answered_at.is_null()),
    )
    .set(survey_invitations::answered_at.eq(Some(to_db(now))))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_responses)]
pub struct Response {
    pub id: String,
    pub org_id: String,
    pub invitation_id: String,
    pub guest_id: String,
    pub stay_id: String,
    pub property_id: String,
    pub room_hygiene: Option<i32>,
    pub food_beverage: Option<i32>,
    pub front_desk: Option<i32>,
    pub staff_attitude: Option<i32>,
    pub value: Option<i32>,
    pub location: Option<i32>,
    pub nps: Option<i32>,
    pub comment: Option<String>,
    pub ticket_id: Option<String>,
    pub answered_on: NaiveDate,
    pub answered_at: NaiveDateTime,
}

impl Response {
    pub fn at(&self) -> DateTime<Utc> {
        from_db(self.answered_at)
    }
}

pub fn insert_response(conn: &mut DbConnection, r: &Response) -> StorageResult<()> {
    diesel::insert_into(survey_responses::table)
        .values(r)
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct ResponseFilter {
    pub property_id: Option<String>,
    pub guest_id: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

pub fn list_responses(
    conn: &mut DbConnection,
    org_id: &str,
    f: &ResponseFilter,
    page: &PageRequest,
) -> StorageResult<Page<Response>> {
    let mut q = survey_responses::table
        .filter(survey_responses::org_id.eq(org_id.to_string()))
        .select(Response::as_select())
        .into_boxed();
    if let Some(p) = &f.property_id {
        q = q.filter(survey_responses::property_id.eq(p.clone()));
    }
    if let Some(g) = &f.guest_id {
        q = q.filter(survey_responses::guest_id.eq(g.clone()));
    }
    if let Some(d) = f.from {
        q = q.filter(survey_responses::answered_on.ge(d));
    }
    if let Some(d) = f.to {
        q = q.filter(survey_responses::answered_on.le(d));
    }
    let rows: Vec<Response> = paginate!(q, survey_responses::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |r| r.id.clone()))
}

/// Average of every dimension a guest ever scored, per guest (1–5).
pub fn satisfaction_of(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<HashMap<String, f64>> {
    let mut sums: HashMap<String, (i64, i64)> = HashMap::new();
    for chunk in guest_ids.chunks(500) {
        let rows: Vec<Response> = survey_responses::table
            .filter(survey_responses::org_id.eq(org_id))
            .filter(survey_responses::guest_id.eq_any(chunk))
            .select(Response::as_select())
            .load(conn)?;
        for r in rows {
            let e = sums.entry(r.guest_id.clone()).or_default();
            for s in [
                r.room_hygiene,
                r.food_beverage,
                r.front_desk,
                r.staff_attitude,
                r.value,
                r.location,
            ]
            .into_iter()
            .flatten()
            {
                e.0 += i64::from(s);
                e.1 += 1;
            }
        }
    }
    Ok(sums
        .into_iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(g, (sum, n))| (g, sum as f64 / n as f64))
        .collect())
}

/// Guests who answered a survey since `since` (incremental insights).
pub fn guests_answered_since(
    conn: &mut DbConnection,
    org_id: &str,
    since: NaiveDateTime,
) -> StorageResult<Vec<String>> {
    Ok(survey_responses::table
        .filter(survey_responses::org_id.eq(org_id))
        .filter(survey_responses::answered_at.ge(since))
        .select(survey_responses::guest_id)
        .distinct()
        .load(conn)?)
}

/// Per (property, month of answer): responses, the sum and count of each
/// dimension's scores, NPS promoters, detractors and answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SatisfactionCell {
    pub responses: i64,
    /// Sum and count per dimension, in `Dimension::ALL` order.
    pub dimensions: [(i64, i64); 6],
    pub promoters: i64,
    pub detractors: i64,
    pub nps_answers: i64,
}

type ScoreRow = (
    String,
    NaiveDate,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<i32>,
);

/// Responses in a date range folded into cells; survey responses are a
/// small table next to stays (one per answered stay).
pub fn satisfaction(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> StorageResult<std::collections::BTreeMap<(String, String), SatisfactionCell>> {
    let mut q = survey_responses::table
        .filter(survey_responses::org_id.eq(org_id.to_string()))
        .filter(survey_responses::answered_on.between(from, to))
        .select((
            survey_responses::property_id,
            survey_responses::answered_on,
            survey_responses::room_hygiene,
            survey_responses::food_beverage,
            survey_responses::front_desk,
            survey_responses::staff_attitude,
            survey_responses::value,
            survey_responses::location,
            survey_responses::nps,
        ))
        .into_boxed();
    if let Some(p) = property_id {
        q = q.filter(survey_responses::property_id.eq(p.to_string()));
    }
    let rows: Vec<ScoreRow> = q.load(conn)?;
    let mut out: std::collections::BTreeMap<(String, String), SatisfactionCell> =
        Default::default();
    for r in rows {
        let month = r.1.format("%Y-%m").to_string();
        let c = out.entry((r.0, month)).or_default();
        c.responses += 1;
        for (i, s) in [r.2, r.3, r.4, r.5, r.6, r.7].into_iter().enumerate() {
            if let Some(s) = s {
                c.dimensions[i].0 += i64::from(s);
                c.dimensions[i].1 += 1;
            }
        }
        if let Some(n) = r.8 {
            c.nps_answers += 1;
            if n >= 9 {
                c.promoters += 1;
            } else if n <= 6 {
                c.detractors += 1;
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reviews, treat_none_as_null = true)]
pub struct Review {
    pub id: String,
    pub org_id: String,
    pub property_id: String,
    pub source: String,
    pub external_id: Option<String>,
    pub rating_tenths: i32,
    pub scale: i32,
    pub score: i32,
    pub title: Option<String>,
    pub body: Option<String>,
    pub language: Option<String>,
    pub author_name: Option<String>,
    pub reviewed_on: NaiveDate,
    pub guest_id: Option<String>,
    pub stay_id: Option<String>,
    pub reply_text: Option<String>,
    pub reply_status: String,
    pub replied_at: Option<NaiveDateTime>,
    pub replied_by: Option<String>,
    pub version: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_review(conn: &mut DbConnection, r: &Review) -> StorageResult<()> {
    diesel::insert_into(reviews::table)
        .values(r)
        .execute(conn)?;
    Ok(())
}

pub fn find_review(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Review> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::id.eq(id))
        .select(Review::as_select())
        .first(conn)?)
}

pub fn update_review(
    conn: &mut DbConnection,
    r: &Review,
    expected_version: i32,
) -> StorageResult<()> {
    let n = diesel::update(
        reviews::table
            .filter(reviews::org_id.eq(&r.org_id))
            .filter(reviews::id.eq(&r.id))
            .filter(reviews::version.eq(expected_version)),
    )
    .set(r)
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    pub property_id: Option<String>,
    pub source: Option<String>,
    pub reply_status: Option<String>,
    pub guest_id: Option<String>,
}

pub fn list_reviews(
    conn: &mut DbConnection,
    org_id: &str,
    f: &ReviewFilter,
    page: &PageRequest,
) -> StorageResult<Page<Review>> {
    let mut q = reviews::table
        .filter(reviews::org_id.eq(org_id.to_string()))
        .select(Review::as_select())
        .into_boxed();
    if let Some(p) = &f.property_id {
        q = q.filter(reviews::property_id.eq(p.clone()));
    }
    if let Some(s) = &f.source {
        q = q.filter(reviews::source.eq(s.clone()));
    }
    if let Some(s) = &f.reply_status {
        q = q.filter(reviews::reply_status.eq(s.clone()));
    }
    if let Some(g) = &f.guest_id {
        q = q.filter(reviews::guest_id.eq(g.clone()));
    }
    let rows: Vec<Review> = paginate!(q, reviews::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |r| r.id.clone()))
}

/// (property, `YYYY-MM`, source) → (reviews, sum of scores).
pub type RatingCells = std::collections::BTreeMap<(String, String, String), (i64, i64)>;

/// Reviews per (property, month, source): count and sum of scores (0–100).
pub fn review_ratings(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> StorageResult<RatingCells> {
    let mut q = reviews::table
        .filter(reviews::org_id.eq(org_id.to_string()))
        .filter(reviews::reviewed_on.between(from, to))
        .select((
            reviews::property_id,
            reviews::reviewed_on,
            reviews::source,
            reviews::score,
        ))
        .into_boxed();
    if let Some(p) = property_id {
        q = q.filter(reviews::property_id.eq(p.to_string()));
    }
    let rows: Vec<(String, NaiveDate, String, i32)> = q.load(conn)?;
    let mut out: std::collections::BTreeMap<(String, String, String), (i64, i64)> =
        Default::default();
    for (p, d, s, score) in rows {
        let e = out
            .entry((p, d.format("%Y-%m").to_string(), s))
            .or_default();
        e.0 += 1;
        e.1 += i64::from(score);
    }
    Ok(out)
}

/// Erasure: the guest's survey comments and the authorship of reviews
/// linked to them go; scores stay for the reports.
pub fn scrub_guest(conn: &mut DbConnection, org_id: &str, guest_id: &str) -> StorageResult<()> {
    diesel::update(
        survey_responses::table
            .filter(survey_responses::org_id.eq(org_id))
            .filter(survey_responses::guest_id.eq(guest_id)),
    )
    .set(survey_responses::comment.eq(None::<String>))
    .execute(conn)?;
    diesel::update(
        reviews::table
            .filter(reviews::org_id.eq(org_id))
            .filter(reviews::guest_id.eq(guest_id)),
    )
    .set((
        reviews::author_name.eq(None::<String>),
        reviews::guest_id.eq(None::<String>),
        reviews::stay_id.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(())
}
