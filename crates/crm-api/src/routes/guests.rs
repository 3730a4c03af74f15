//! Guest profiles (客户档案).

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    etag_for, merge_patch, parse_json, ApiJson, IfMatch, ListResponse, PageParams, RequestId,
};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{delete, get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::guest::{
    Address, BlacklistCategory, EmailEntry, Gender, GuestDraft, PhoneEntry, Preferences,
};
use crm_domain::identity::{DocumentNumber, DocumentType};
use crm_domain::search::query_prefix;
use crm_domain::values::{required_text, CountryCode};
use crm_storage::guests::{self, Blacklisting, Guest, GuestFilter};
use crm_storage::{organizations, properties, DbConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"category": "fraud", "reason": "Paid with a stolen card (2026-10-02).",
    "blacklisted_by": "019ab1c2-0000-7000-8000-000000000001", "blacklisted_at": "2026-11-24T08:30:00Z"}))]
pub struct BlacklistDto {
    pub category: BlacklistCategory,
    pub reason: String,
    /// User id of who blacklisted the guest.
    pub blacklisted_by: String,
    pub blacklisted_at: DateTime<Utc>,
}

/// A guest profile as the API shows it. Phone numbers are E.164, e-mails
/// lower case. Identity documents and consents have their own endpoints.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-000000000101", "display_name": "张伟",
    "family_name": "张", "given_name": "伟", "family_name_latin": "Zhang", "given_name_latin": "Wei",
    "gender": "male", "birthday": "1988-04-12", "nationality": "CN", "language": "zh-CN",
    "phones": [{"number": "+8613812345678", "kind": "mobile"}],
    "emails": [{"address": "zhang.wei@example.com", "kind": "personal"}],
    "company": "Acme Trading Co.", "address": {"city": "Hangzhou", "country": "CN"}, "notes": null,
    "preferences": {"floor": "high", "pillow": "buckwheat", "smoking": false, "diet": ["no_pork"]},
    "tags": ["business"], "resident": false, "blacklist": null, "erased_at": null,
    "version": 1, "created_by": "019ab1c2-0000-7000-8000-000000000001",
    "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"
}))]
pub struct GuestDto {
    pub id: String,
    /// 张伟 for Chinese names, "Wei Zhang" for Latin ones.
    pub display_name: String,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_latin: Option<String>,
    pub given_name_latin: Option<String>,
    pub gender: Option<Gender>,
    #[schema(value_type = Option<String>, format = Date)]
    pub birthday: Option<NaiveDate>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    pub phones: Vec<PhoneEntry>,
    pub emails: Vec<EmailEntry>,
    pub company: Option<String>,
    pub address: Option<Address>,
    pub notes: Option<String>,
    pub preferences: Preferences,
    pub tags: Vec<String>,
    /// Resident / long-stay guest (常驻客户).
    pub resident: bool,
    /// Present when the guest is blacklisted (黑名单).
    pub blacklist: Option<BlacklistDto>,
    /// Set once the guest's personal data was erased on request.
    pub erased_at: Option<DateTime<Utc>>,
    /// Set on a tombstone: this guest was merged into that one (follow it).
    pub merged_into: Option<String>,
    pub merged_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Guest> for GuestDto {
    fn from(g: Guest) -> Self {
        let display_name = g.profile.display_name();
        let p = g.profile;
        GuestDto {
            id: g.id,
            display_name,
            family_name: p.family_name,
            given_name: p.given_name,
            family_name_latin: p.family_name_latin,
            given_name_latin: p.given_name_latin,
            gender: p.gender,
            birthday: p.birthday,
            nationality: p.nationality.map(|c| c.as_str().to_string()),
            language: p.language.map(|l| l.as_str().to_string()),
            phones: p
                .phones
                .into_iter()
                .map(|(n, kind)| PhoneEntry {
                    number: n.as_str().to_string(),
                    kind,
                })
                .collect(),
            emails: p
                .emails
                .into_iter()
                .map(|(a, kind)| EmailEntry {
                    address: a.as_str().to_string(),
                    kind,
                })
                .collect(),
            company: p.company,
            address: p.address,
            notes: p.notes,
            preferences: p.preferences,
            tags: p.tags,
            resident: p.resident,
            blacklist: g.blacklist.map(|b| BlacklistDto {
                category: b.category,
                reason: b.reason,
                blacklisted_by: b.by,
                blacklisted_at: b.at,
            }),
            erased_at: g.erased_at,
            merged_into: g.merged_into,
            merged_at: g.merged_at,
            version: g.version,
            created_by: g.created_by,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

pub fn guest_response(status: StatusCode, g: Guest) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(g.version)));
    res.insert_header((header::CACHE_CONTROL, "private, no-store"));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/guests/{}", g.id)));
    }
    res.json(GuestDto::from(g))
}

/// Loads a live guest of the caller's organisation: `guest_not_found`
/// when there is none, 409 `guest_merged` (naming the survivor) for the
/// tombstone of a merged guest, which only `GET /guests/{id}` shows.
pub fn load_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> Result<Guest, ApiError> {
    let g = guests::find(conn, org_id, guest_id)
        .map_err(|e| or_not_found("guest_not_found", "guest")(e.into()))?;
    if let Some(into) = &g.merged_into {
        return Err(ApiError::conflict(
            "guest_merged",
            format!("This guest was merged into {into}; use that profile."),
        )
        .with_extension("merged_into", serde_json::json!(into)));
    }
    Ok(g)
}

pub fn refuse_erased(g: &Guest) -> Result<(), ApiError> {
    if g.erased_at.is_some() {
        return Err(ApiError::conflict(
            "guest_erased",
            "This guest's personal data was erased; the profile cannot change.",
        ));
    }
    Ok(())
}

/// The country phone numbers without a prefix are read in: the named
/// property's, else the organisation's default.
fn default_region(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: Option<&str>,
) -> Result<Option<CountryCode>, ApiError> {
    let country = match property_id {
        Some(raw) => {
            let id = uuid::Uuid::parse_str(raw)
                .map_err(|_| {
                    ApiError::field("property_id", "unknown_property", "no such property")
                })?
                .to_string();
            properties::find(conn, org_id, &id)
                .map_err(|_| {
                    ApiError::field("property_id", "unknown_property", "no such property")
                })?
                .country
        }
        None => organizations::find(conn, org_id)?.default_country,
    };
    Ok(CountryCode::parse(&country).ok())
}

/// Create a guest profile.
///
/// Phone numbers are normalised to E.164 (numbers without `+` are read in
/// the country of `property_id`, else the organisation's), e-mails
/// lower-cased. Every invalid field is reported at once (422).
#[utoipa::path(
    operation_id = "createGuest",
    tag = "guests",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(CreateGuestParams),
    request_body = GuestDraft,
    responses(
        (status = 201, description = "Created; `possible_duplicates` lists existing guests that look like the same person (also counted in `X-Possible-Duplicates`).", body = GuestCreated),
        (status = 409, description = "`on_duplicate=reject` and possible duplicates exist (`possible_duplicates` in the problem); nothing was created.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guests")]
pub async fn create_guest(
    auth: Auth<roles::GuestWriters>,
    request_id: RequestId,
    state: web::Data<AppState>,
    q: web::Query<CreateGuestParams>,
    body: ApiJson<GuestDraft>,
) -> ApiResult<HttpResponse> {
    let reject = match q.on_duplicate.as_deref() {
        None | Some("create") => false,
        Some("reject") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "`on_duplicate` is `create` or `reject`.",
            ))
        }
    };
    let draft = body.0;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let guest = state
        .write(move |conn| {
            let region = default_region(conn, &org, draft.property_id.as_deref())?;
            let profile = draft.parse(region, now.date_naive())?;
            let guest = Guest {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                profile,
                blacklist: None,
                erased_at: None,
                merged_into: None,
                merged_at: None,
                version: 1,
                created_by: actor.principal.id.clone(),
                created_at: now,
                updated_at: now,
            };
            guests::insert(conn, &guest)?;
            let duplicates =
                crate::duplicates::check(conn, &org, &guest.id, &guest.profile, now)?;
            if reject && !duplicates.is_empty() {
                // Rolls back the guest and the pairs just recorded.
                return Err(ApiError::conflict(
                    "possible_duplicate",
                    "Guests that look like the same person exist; merge into one of them, or create with on_duplicate=create.",
                )
                .with_extension(
                    "possible_duplicates",
                    serde_json::to_value(&duplicates).unwrap_or_default(),
                ));
            }
            actor.record(conn, now, "guest.created", "guest", &guest.id, &[])?;
            Ok((guest, duplicates))
        })
        .await?;
    let (guest, possible_duplicates) = guest;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag_for(guest.version)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::LOCATION, format!("/api/v1/guests/{}", guest.id)))
        .insert_header((
            "X-Possible-Duplicates",
            possible_duplicates.len().to_string(),
        ))
        .json(GuestCreated {
            guest: GuestDto::from(guest),
            possible_duplicates,
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreateGuestParams {
    /// `create` (default): create and list look-alikes in
    /// `possible_duplicates`; `reject`: create nothing when there are any
    /// (409 `possible_duplicate`).
    pub on_duplicate: Option<String>,
}

/// A created guest, with the existing guests that look like the same person.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestCreated {
    #[serde(flatten)]
    pub guest: GuestDto,
    /// Best first; empty when none. Also recorded as duplicate candidates.
    pub possible_duplicates: Vec<crate::duplicates::PossibleDuplicate>,
}

/// Get a guest profile.
#[utoipa::path(
    operation_id = "getGuest",
    tag = "guests",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "The guest.", body = GuestDto))
)]
#[get("/guests/{guest_id}")]
pub async fn get_guest(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let guest = state
        .read(move |conn| guests::find(conn, &org, &id))
        .await
        .map_err(or_not_found("guest_not_found", "guest"))?;
    Ok(guest_response(StatusCode::OK, guest))
}

/// Update a guest profile with a JSON merge patch (RFC 7396).
///
/// Send only what changes; `null` clears a field; arrays (phones, emails,
/// tags) are replaced whole. The patched profile is validated like a new
/// one. Send `If-Match` with the ETag you read to avoid overwriting a
/// colleague's change (412 if it moved on).
#[utoipa::path(
    operation_id = "updateGuest",
    tag = "guests",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = GuestDraft, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated.", body = GuestDto),
        (status = 409, description = "The guest was erased.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/guests/{guest_id}")]
pub async fn update_guest(
    auth: Auth<roles::GuestWriters>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let patch = body.0;
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let guest = state
        .write(move |conn| {
            let current = load_guest(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            refuse_erased(&current)?;
            let mut doc =
                serde_json::to_value(current.profile.to_draft()).map_err(ApiError::internal)?;
            merge_patch(&mut doc, &patch);
            let draft: GuestDraft = parse_json(doc.to_string().as_bytes())?;
            let region = default_region(conn, &org, draft.property_id.as_deref())?;
            let profile = draft.parse(region, now.date_naive())?;
            let changed = current.profile.changed_fields(&profile);
            if changed.is_empty() {
                return Ok(current);
            }
            let next = Guest {
                profile,
                version: current.version + 1,
                updated_at: now,
                ..current
            };
            guests::update(conn, &next, expected)?;
            actor.record(conn, now, "guest.updated", "guest", &next.id, &changed)?;
            Ok(next)
        })
        .await?;
    Ok(guest_response(StatusCode::OK, guest))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GuestListParams {
    /// Prefix search over names (local script and Latin, either order),
    /// pinyin of Chinese names (`zhangwei`, `zw`), phone numbers (`138…`,
    /// `+86138…`), e-mails and company.
    pub q: Option<String>,
    /// Guests with this tag.
    pub tag: Option<String>,
    pub blacklisted: Option<bool>,
    pub resident: Option<bool>,
    /// ISO 3166-1 alpha-2.
    pub nationality: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Exact identity document number (any type).
    pub document_number: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List and search guests.
#[utoipa::path(
    operation_id = "listGuests",
    tag = "guests",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(GuestListParams),
    responses((status = 200, description = "A page of guests.", body = ListResponse<GuestDto>))
)]
#[get("/guests")]
pub async fn list_guests(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    q: web::Query<GuestListParams>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let mut errors = crm_domain::Errors::new();
    let nationality = q
        .nationality
        .and_then(|n| errors.check("nationality", CountryCode::parse(&n)));
    let tag = q
        .tag
        .and_then(|t| errors.check("tag", crm_domain::guest::normalise_tag(&t)));
    // A document number is hashed like a stored one: any type's rules for
    // normalising apply, so use the most permissive.
    let document_hashes = q
        .document_number
        .and_then(|n| {
            errors.check(
                "document_number",
                DocumentNumber::parse(&n, DocumentType::Other, None),
            )
        })
        .map(|n| state.cipher.blind_indexes(n.as_str()))
        .unwrap_or_default();
    errors.finish()?;
    if let Some(q) = &q.q {
        if q.chars().count() > 100 {
            return Err(ApiError::field("q", "too_long", "at most 100 characters"));
        }
    }
    let search_prefix = match q.q.as_deref() {
        Some(text) => match query_prefix(text) {
            Some(p) => Some(p),
            None => {
                return Err(ApiError::field(
                    "q",
                    "empty_query",
                    "nothing searchable in `q`",
                ))
            }
        },
        None => None,
    };
    let filter = GuestFilter {
        search_prefix,
        tag,
        blacklisted: q.blacklisted,
        resident: q.resident,
        nationality: nationality.map(|c| c.as_str().to_string()),
        created_from: q.created_from,
        created_before: q.created_to,
        document_hashes,
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| guests::list(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, GuestDto::from)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"category": "property_damage", "reason": "Broke the TV in room 1203 and refused to pay (2026-10-02)."}))]
pub struct BlacklistRequest {
    pub category: BlacklistCategory,
    /// What happened, for colleagues at every property.
    pub reason: String,
}

/// Put a guest on the blacklist (黑名单).
#[utoipa::path(
    operation_id = "blacklistGuest",
    tag = "guests",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = BlacklistRequest,
    responses((status = 200, description = "Blacklisted.", body = GuestDto))
)]
#[post("/guests/{guest_id}/blacklist")]
pub async fn blacklist_guest(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<BlacklistRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let BlacklistRequest { category, reason } = body.0;
    let reason = required_text(&reason, 1000).map_err(|e| ApiError::from(e.at("reason")))?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let guest = state
        .write(move |conn| {
            let current = load_guest(conn, &org, &id)?;
            refuse_erased(&current)?;
            let next = Guest {
                blacklist: Some(Blacklisting {
                    category,
                    reason,
                    by: actor.principal.id.clone(),
                    at: now,
                }),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            guests::update(conn, &next, current.version)?;
            actor.record(
                conn,
                now,
                "guest.blacklisted",
                "guest",
                &next.id,
                &["blacklist"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(guest_response(StatusCode::OK, guest))
}

/// Take a guest off the blacklist.
#[utoipa::path(
    operation_id = "unblacklistGuest",
    tag = "guests",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "No longer blacklisted.", body = GuestDto))
)]
#[delete("/guests/{guest_id}/blacklist")]
pub async fn unblacklist_guest(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let guest = state
        .write(move |conn| {
            let current = load_guest(conn, &org, &id)?;
            if current.blacklist.is_none() {
                return Ok(current);
            }
            let next = Guest {
                blacklist: None,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            guests::update(conn, &next, current.version)?;
            actor.record(
                conn,
                now,
                "guest.unblacklisted",
                "guest",
                &next.id,
                &["blacklist"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(guest_response(StatusCode::OK, guest))
}
