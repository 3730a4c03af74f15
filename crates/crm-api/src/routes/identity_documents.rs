//! Identity documents (证件): stored encrypted, shown masked; the full
//! number only to the desk and above, and every such read is audited.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ListResponse, RequestId};
use crate::routes::guests::{load_guest, refuse_erased};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{delete, get, http::header, http::StatusCode, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::identity::{DocumentNumber, DocumentType};
use crm_domain::values::CountryCode;
use crm_domain::Errors;
use crm_storage::identity_documents::{self, IdentityDocument};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "national_id", "number": "11010519491231002X", "issuing_country": "CN", "expires_on": "2036-05-01"}))]
pub struct IdentityDocumentWrite {
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// Spaces and dashes are ignored; letters are upper-cased. Chinese
    /// resident identity card numbers are checked against their check digit.
    pub number: String,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub issuing_country: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-0000000000d1", "guest_id": "019ab1c2-0000-7000-8000-000000000101",
    "type": "national_id", "number_masked": "110***********002X", "issuing_country": "CN",
    "expires_on": "2036-05-01", "created_by": "019ab1c2-0000-7000-8000-000000000001", "created_at": "2026-11-24T08:30:00Z"
}))]
pub struct IdentityDocumentDto {
    pub id: String,
    pub guest_id: String,
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// First three and last four characters (`110***********1234`).
    pub number_masked: String,
    /// The full number: only from `GET …/identity-documents/{document_id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub issuing_country: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn masked_dto(d: IdentityDocument) -> IdentityDocumentDto {
    IdentityDocumentDto {
        id: d.id,
        guest_id: d.guest_id,
        doc_type: d.doc_type,
        number_masked: d.number_masked,
        number: None,
        issuing_country: d.issuing_country,
        expires_on: d.expires_on,
        created_by: d.created_by,
        created_at: d.created_at,
    }
}

/// Record an identity document for a guest.
#[utoipa::path(
    operation_id = "createIdentityDocument",
    tag = "identity documents",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = IdentityDocumentWrite,
    responses(
        (status = 201, description = "Stored encrypted; the response shows it masked.", body = IdentityDocumentDto),
        (status = 409, description = "The guest already has this document.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guests/{guest_id}/identity-documents")]
pub async fn create_identity_document(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<IdentityDocumentWrite>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let w = body.0;
    let mut errors = Errors::new();
    let country = w
        .issuing_country
        .and_then(|c| errors.check("issuing_country", CountryCode::parse(&c)));
    let number = errors.check(
        "number",
        DocumentNumber::parse(&w.number, w.doc_type, country.map(|c| c.as_str())),
    );
    errors.finish()?;
    let Some(number) = number else {
        return Err(ApiError::internal("validated number missing"));
    };
    let now = state.clock.now();
    let doc = IdentityDocument {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        guest_id: guest_id.clone(),
        doc_type: w.doc_type,
        number_encrypted: state.cipher.encrypt(number.as_str()),
        number_hash: state.cipher.blind_index(number.as_str()),
        number_masked: number.masked(),
        issuing_country: country.map(|c| c.as_str().to_string()),
        expires_on: w.expires_on,
        created_by: auth.id.clone(),
        created_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = doc.clone();
    state
        .write(move |conn| {
            let guest = load_guest(conn, &stored.org_id, &stored.guest_id)?;
            refuse_erased(&guest)?;
            if identity_documents::exists_for_guest(
                conn,
                &stored.org_id,
                &stored.guest_id,
                stored.doc_type,
                &stored.number_hash,
            )? {
                return Err(ApiError::conflict(
                    "identity_document_exists",
                    "The guest already has this document.",
                ));
            }
            identity_documents::insert(conn, &stored)?;
            actor.record(
                conn,
                now,
                "identity_document.created",
                "identity_document",
                &stored.id,
                &["type", "number", "issuing_country", "expires_on"],
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/guests/{guest_id}/identity-documents/{}", doc.id),
        ))
        .json(masked_dto(doc)))
}

/// List a guest's identity documents, masked.
#[utoipa::path(
    operation_id = "listIdentityDocuments",
    tag = "identity documents",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "The documents, numbers masked.", body = ListResponse<IdentityDocumentDto>))
)]
#[get("/guests/{guest_id}/identity-documents")]
pub async fn list_identity_documents(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let docs = state
        .read(move |conn| {
            load_guest(conn, &org, &guest_id)?;
            Ok::<_, ApiError>(identity_documents::list_for_guest(conn, &org, &guest_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        data: docs.into_iter().map(masked_dto).collect(),
        next_cursor: None,
    }))
}

/// Read one identity document with its full number. Audited.
#[utoipa::path(
    operation_id = "getIdentityDocument",
    tag = "identity documents",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("guest_id" = String, Path, description = "Guest id"), ("document_id" = String, Path, description = "Document id")),
    responses((status = 200, description = "The document with `number` in full.", body = IdentityDocumentDto))
)]
#[get("/guests/{guest_id}/identity-documents/{document_id}")]
pub async fn get_identity_document(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (raw_guest, raw_doc) = path.into_inner();
    let guest_id = path_id(&raw_guest, "guest_not_found", "guest")?;
    let doc_id = path_id(&raw_doc, "identity_document_not_found", "identity document")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let doc = state
        .write(move |conn| {
            let doc = identity_documents::find(conn, &org, &guest_id, &doc_id).map_err(|e| {
                or_not_found("identity_document_not_found", "identity document")(e.into())
            })?;
            // The read is recorded in the same transaction that returns it.
            actor.record(
                conn,
                now,
                "identity_document.read",
                "identity_document",
                &doc.id,
                &[],
            )?;
            Ok(doc)
        })
        .await?;
    let number = state
        .cipher
        .decrypt(&doc.number_encrypted)
        .map_err(ApiError::internal)?;
    let mut dto = masked_dto(doc);
    dto.number = Some(number);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto))
}

/// Delete an identity document.
#[utoipa::path(
    operation_id = "deleteIdentityDocument",
    tag = "identity documents",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id"), ("document_id" = String, Path, description = "Document id")),
    responses((status = 204, description = "Deleted."))
)]
#[delete("/guests/{guest_id}/identity-documents/{document_id}")]
pub async fn delete_identity_document(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (raw_guest, raw_doc) = path.into_inner();
    let guest_id = path_id(&raw_guest, "guest_not_found", "guest")?;
    let doc_id = path_id(&raw_doc, "identity_document_not_found", "identity document")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    state
        .write(move |conn| {
            if !identity_documents::delete(conn, &org, &guest_id, &doc_id)? {
                return Err(ApiError::not_found(
                    "identity_document_not_found",
                    "identity document",
                ));
            }
            actor.record(
                conn,
                now,
                "identity_document.deleted",
                "identity_document",
                &doc_id,
                &[],
            )
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
