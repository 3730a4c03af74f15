//! Data subject rights: export everything held on a guest; erase
//! (anonymise) on request.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::RequestId;
use crate::routes::audit_events::AuditEventDto;
use crate::routes::consents::ConsentDto;
use crate::routes::guests::{guest_response, load_guest, GuestDto};
use crate::routes::identity_documents::{masked_dto, IdentityDocumentDto};
use crate::routes::path_id;
use crate::routes::reservations::ReservationDto;
use crate::routes::stays::StayDto;
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_storage::audit::{self, AuditFilter};
use crm_storage::guests::{self, Guest};
use crm_storage::identity_documents;
use crm_storage::pagination::all_pages;
use crm_storage::reservations::{self, ReservationFilter};
use crm_storage::{consents, consents::ConsentRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything hotel-crm holds on one guest.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestExport {
    pub exported_at: DateTime<Utc>,
    pub guest: GuestDto,
    /// With full numbers.
    pub identity_documents: Vec<IdentityDocumentDto>,
    /// Every consent change, oldest first.
    pub consents: Vec<ConsentDto>,
    /// Who read or changed this profile.
    pub audit_events: Vec<AuditEventDto>,
    pub reservations: Vec<ReservationDto>,
    pub stays: Vec<StayDto>,
    /// The profiling hotel-crm derived (scores, classes, reasons), as last
    /// computed.
    #[schema(value_type = Option<Object>)]
    pub insights: Option<serde_json::Value>,
    /// Accounts (corporate clients…) the guest is linked to.
    pub account_ids: Vec<String>,
    /// Complaints and service requests about the guest.
    pub tickets: Vec<crate::routes::tickets::TicketDto>,
    /// Survey answers.
    pub survey_responses: Vec<crate::routes::surveys::SurveyResponseDto>,
    /// Online reviews linked to the guest.
    pub reviews: Vec<crate::routes::reviews::ReviewDto>,
    /// Messages sent to the guest, or not sent and why.
    pub messages: Vec<crate::routes::messages::OutboxMessageDto>,
    /// Merges the guest took part in (counts of what moved, not the other
    /// person's data).
    pub merges: Vec<crate::routes::merges::MergeDto>,
    /// Pairs with other profiles that looked like the same person.
    pub duplicate_candidates: Vec<crate::routes::duplicates::CandidateDto>,
    /// The import rows the profile came from.
    pub import_sources: Vec<ImportSourceDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportSourceDto {
    /// `ext:<the file's guest id>` or `row:<hash of the row>`.
    pub source_key: String,
    pub import_id: String,
    pub imported_at: DateTime<Utc>,
}

/// Export everything held on a guest (data subject access request).
/// Audited.
#[utoipa::path(
    operation_id = "exportGuest",
    tag = "privacy",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "The guest's data.", body = GuestExport))
)]
#[get("/guests/{guest_id}/export")]
pub async fn export_guest(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let (guest, docs, consent_records, events, bookings, stays, insights, accounts, tickets, answers, reviews, messages, (merges, candidates, sources)) = state
        .write(move |conn| {
            let guest = load_guest(conn, &org, &guest_id)?;
            let docs = identity_documents::list_for_guest(conn, &org, &guest_id)?;
            let consent_records: Vec<ConsentRecord> =
                consents::all_for_guest(conn, &org, &guest_id)?;
            let filter = AuditFilter {
                entity_id: Some(guest_id.clone()),
                ..AuditFilter::default()
            };
            let events = all_pages(|p| audit::list(conn, &org, &filter, p))?;
            let bookings_filter = ReservationFilter {
                guest_id: Some(guest_id.clone()),
                ..ReservationFilter::default()
            };
            let bookings = all_pages(|p| reservations::list(conn, &org, &bookings_filter, p))?;
            let stays = all_pages(|p| reservations::stays_of_guest(conn, &org, &guest_id, p))?;
            let insights = crm_storage::insights::find(conn, &org, &guest_id)?.map(|r| {
                serde_json::json!({
                    "computed_at": r.computed_at.and_utc(),
                    "rfm": {"recency": r.rfm_recency, "frequency": r.rfm_frequency, "monetary": r.rfm_monetary},
                    "value_class": r.value_class,
                    "travel_purpose": r.travel_purpose,
                    "churn_score": r.churn_score,
                    "churn_grade": r.churn_grade,
                    "reasons": {
                        "rfm": r.rfm_reasons.and_then(|x| serde_json::from_str::<serde_json::Value>(&x).ok()),
                        "travel_purpose": r.purpose_reasons.and_then(|x| serde_json::from_str::<serde_json::Value>(&x).ok()),
                        "churn": r.churn_reasons.and_then(|x| serde_json::from_str::<serde_json::Value>(&x).ok()),
                    },
                })
            });
            let accounts = crm_storage::accounts::accounts_of_guest(conn, &org, &guest_id)?;
            let ticket_filter = crm_storage::tickets::TicketFilter {
                guest_id: Some(guest_id.clone()),
                ..Default::default()
            };
            let tickets =
                all_pages(|p| crm_storage::tickets::list(conn, &org, &ticket_filter, p))?;
            let answer_filter = crm_storage::surveys::ResponseFilter {
                guest_id: Some(guest_id.clone()),
                ..Default::default()
            };
            let answers =
                all_pages(|p| crm_storage::surveys::list_responses(conn, &org, &answer_filter, p))?;
            let review_filter = crm_storage::surveys::ReviewFilter {
                guest_id: Some(guest_id.clone()),
                ..Default::default()
            };
            let reviews =
                all_pages(|p| crm_storage::surveys::list_reviews(conn, &org, &review_filter, p))?;
            let messages =
                all_pages(|p| crm_storage::messages::messages_of_guest(conn, &org, &guest_id, p))?;
            let extra = (
                crm_storage::merges::involving(conn, &org, &guest_id)?,
                crm_storage::duplicates::all_for(conn, &org, &guest_id)?,
                crm_storage::imports::source_keys_of(conn, &org, &guest_id)?,
            );
            actor.record(conn, now, "guest.exported", "guest", &guest_id, &[])?;
            Ok((guest, docs, consent_records, events, bookings, stays, insights, accounts, tickets, answers, reviews, messages, extra))
        })
        .await?;
    let mut identity = Vec::new();
    for d in docs {
        let number = state
            .cipher
            .decrypt(&d.number_encrypted)
            .map_err(ApiError::internal)?;
        let mut dto = masked_dto(d);
        dto.number = Some(number);
        identity.push(dto);
    }
    let export = GuestExport {
        exported_at: now,
        guest: guest.into(),
        identity_documents: identity,
        consents: consent_records.into_iter().map(ConsentDto::from).collect(),
        audit_events: events.into_iter().map(AuditEventDto::from).collect(),
        reservations: bookings.into_iter().map(ReservationDto::from).collect(),
        stays: stays.into_iter().map(StayDto::from).collect(),
        insights,
        account_ids: accounts,
        tickets: tickets
            .into_iter()
            .map(crate::routes::tickets::TicketDto::from)
            .collect(),
        survey_responses: answers
            .into_iter()
            .map(crate::routes::surveys::response_dto)
            .collect(),
        reviews: reviews
            .into_iter()
            .map(crate::routes::reviews::dto)
            .collect::<Result<Vec<_>, _>>()?,
        messages: messages
            .into_iter()
            .map(crate::routes::messages::outbox_dto)
            .collect(),
        merges: merges
            .into_iter()
            .map(crate::routes::merges::merge_dto)
            .collect(),
        duplicate_candidates: candidates
            .into_iter()
            .map(crate::routes::duplicates::dto)
            .collect(),
        import_sources: sources
            .into_iter()
            .map(|(source_key, import_id, imported_at)| ImportSourceDto {
                source_key,
                import_id,
                imported_at,
            })
            .collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"guest-export.json\"",
        ))
        .json(export))
}

/// Erase a guest's personal data (right to be forgotten). Irreversible.
///
/// Names, contacts, birthday, address, notes, preferences, tags, identity
/// documents and the blacklist entry are removed; the profile id, its
/// nationality and timestamps stay so statistics still add up. Consent
/// records (which hold no personal data) stay as proof; reservations and
/// stays stay for the hotel's figures, their free-text requests and
/// comments cleared.
#[utoipa::path(
    operation_id = "eraseGuest",
    tag = "privacy",
    security(("bearer_auth" = ["admin"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses(
        (status = 200, description = "Erased; the anonymised profile.", body = GuestDto),
        (status = 409, description = "Already erased.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guests/{guest_id}/erase")]
pub async fn erase_guest(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let guest = state
        .write(move |conn| {
            let current = load_guest(conn, &org, &guest_id)?;
            if current.erased_at.is_some() {
                return Err(ApiError::conflict(
                    "guest_already_erased",
                    "This guest was already erased.",
                ));
            }
            erase(conn, &actor, &current, now)
        })
        .await?;
    Ok(guest_response(StatusCode::OK, guest))
}

/// Erases a guest in the caller's transaction: the profile anonymised,
/// documents deleted, free texts of bookings, tickets, surveys and
/// messages cleared, duplicate pairs forgotten and merge snapshots
/// cleared (such a merge can no longer be undone). The retention job
/// erases the same way.
pub fn erase(
    conn: &mut crm_storage::DbConnection,
    actor: &Actor,
    current: &Guest,
    now: DateTime<Utc>,
) -> Result<Guest, ApiError> {
    let org = current.org_id.clone();
    let guest_id = current.id.clone();
    let next = Guest {
        profile: current.profile.anonymised(),
        blacklist: None,
        erased_at: Some(now),
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    guests::update(conn, &next, current.version)?;
    identity_documents::delete_all_for_guest(conn, &org, &guest_id)?;
    reservations::scrub_guest(conn, &org, &guest_id)?;
    crm_storage::insights::forget_guest(conn, &org, &guest_id)?;
    crm_storage::tickets::scrub_guest(conn, &org, &guest_id)?;
    crm_storage::surveys::scrub_guest(conn, &org, &guest_id)?;
    crm_storage::messages::scrub_guest(conn, &org, &guest_id)?;
    crm_storage::duplicates::delete_all_for(conn, &org, &guest_id)?;
    crm_storage::merges::clear_snapshots(conn, &org, &guest_id)?;
    // The profiles merged into this one are the same person's data.
    for tomb in guests::tombstones_of(conn, &org, &guest_id)? {
        if tomb.erased_at.is_some() {
            continue;
        }
        let gone = Guest {
            profile: tomb.profile.anonymised(),
            blacklist: None,
            erased_at: Some(now),
            version: tomb.version + 1,
            updated_at: now,
            ..tomb.clone()
        };
        guests::update(conn, &gone, tomb.version)?;
        identity_documents::delete_all_for_guest(conn, &org, &tomb.id)?;
        crm_storage::merges::clear_snapshots(conn, &org, &tomb.id)?;
    }
    let mut fields = current.profile.changed_fields(&next.profile);
    fields.push("identity_documents");
    fields.push("reservation_texts");
    fields.push("insights");
    fields.push("ticket_texts");
    fields.push("survey_comments");
    fields.push("messages");
    fields.push("duplicate_candidates");
    fields.push("merge_snapshots");
    actor.record(conn, now, "guest.erased", "guest", &guest_id, &fields)?;
    Ok(next)
}
