//! Accounts (协议客户, agencies, OTAs, long-stay guests): the counterparties
//! of contracts, and the guests who book for them.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::guests::load_guest;
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{delete, get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::contract::{AccountKind, Contact};
use crm_domain::values::{bounded_text, required_text, CountryCode};
use crm_domain::Errors;
use crm_storage::accounts::{self, Account};
use crm_storage::{organizations, users, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "corporate", "legal_name": "上海示例科技有限公司", "tax_id": "91310000MA1FL8XQ2K",
    "address": "上海市浦东新区世纪大道 100 号",
    "contacts": [{"name": "王芳", "role": "行政经理", "phone": "13812345678", "email": "wang.fang@example.com"}],
    "notes": "Books for visiting engineers, mostly weekdays."
}))]
pub struct AccountWrite {
    pub kind: AccountKind,
    pub legal_name: String,
    /// 统一社会信用代码 or equivalent; unique in the organisation.
    #[serde(default)]
    pub tax_id: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// A staff user of the organisation.
    #[serde(default)]
    pub account_manager_id: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDto {
    pub id: String,
    pub kind: AccountKind,
    pub legal_name: String,
    pub tax_id: Option<String>,
    pub address: Option<String>,
    pub contacts: Vec<Contact>,
    pub account_manager_id: Option<String>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Account> for AccountDto {
    fn from(a: Account) -> Self {
        AccountDto {
            id: a.id,
            kind: a.kind,
            legal_name: a.legal_name,
            tax_id: a.tax_id,
            address: a.address,
            contacts: a.contacts,
            account_manager_id: a.account_manager_id,
            notes: a.notes,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

fn write_of(a: &Account) -> AccountWrite {
    AccountWrite {
        kind: a.kind,
        legal_name: a.legal_name.clone(),
        tax_id: a.tax_id.clone(),
        address: a.address.clone(),
        contacts: a.contacts.clone(),
        account_manager_id: a.account_manager_id.clone(),
        notes: a.notes.clone(),
    }
}

fn response(status: StatusCode, a: Account) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(a.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/accounts/{}", a.id)));
    }
    res.json(AccountDto::from(a))
}

/// The validated fields of an account.
struct AccountFields {
    kind: AccountKind,
    legal_name: String,
    tax_id: Option<String>,
    address: Option<String>,
    contacts: Vec<Contact>,
    account_manager_id: Option<String>,
    notes: Option<String>,
}

fn validate(
    conn: &mut DbConnection,
    org: &str,
    w: AccountWrite,
) -> Result<AccountFields, ApiError> {
    let region = CountryCode::parse(&organizations::find(conn, org)?.default_country).ok();
    let mut errors = Errors::new();
    let legal_name = errors.check("legal_name", required_text(&w.legal_name, 200));
    let tax_id = w
        .tax_id
        .and_then(|t| errors.check("tax_id", bounded_text(&t, 50)).flatten())
        .map(|t| t.to_ascii_uppercase());
    let address = w
        .address
        .and_then(|t| errors.check("address", bounded_text(&t, 500)).flatten());
    let notes = w
        .notes
        .and_then(|t| errors.check("notes", bounded_text(&t, 4000)).flatten());
    if w.contacts.len() > 20 {
        errors.push(crm_domain::FieldError::new(
            "contacts",
            "out_of_range",
            "at most 20 contacts",
        ));
    }
    let contacts: Vec<Contact> = w
        .contacts
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| errors.check(&format!("contacts[{i}]"), c.parse(region)))
        .collect();
    let account_manager_id = match w.account_manager_id {
        Some(raw) => {
            let found = uuid::Uuid::parse_str(&raw)
                .ok()
                .map(|u| u.to_string())
                .map(|id| users::find(conn, org, &id).map(|u| u.id));
            match found {
                Some(Ok(id)) => Some(id),
                Some(Err(StorageError::NotFound)) | None => {
                    errors.push(crm_domain::FieldError::new(
                        "account_manager_id",
                        "unknown_user",
                        "no staff user with this id",
                    ));
                    None
                }
                Some(Err(e)) => return Err(e.into()),
            }
        }
        None => None,
    };
    errors.finish()?;
    Ok(AccountFields {
        kind: w.kind,
        legal_name: legal_name.unwrap_or_default(),
        tax_id,
        address,
        contacts,
        account_manager_id,
        notes,
    })
}

fn tax_id_taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => {
            ApiError::conflict("tax_id_taken", "Another account already has this tax id.")
        }
        other => other.into(),
    }
}

pub fn load_account(conn: &mut DbConnection, org: &str, id: &str) -> Result<Account, ApiError> {
    accounts::find(conn, org, id)
        .map_err(|e| or_not_found("account_not_found", "account")(e.into()))
}

/// Create an account.
#[utoipa::path(
    operation_id = "createAccount",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = AccountWrite,
    responses(
        (status = 201, description = "Created.", body = AccountDto),
        (status = 409, description = "The tax id is taken (`tax_id_taken`).", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/accounts")]
pub async fn create_account(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<AccountWrite>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let write = body.0;
    let a = state
        .write(move |conn| {
            let f = validate(conn, &org, write)?;
            let a = Account {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                kind: f.kind,
                legal_name: f.legal_name,
                tax_id: f.tax_id,
                address: f.address,
                contacts: f.contacts,
                account_manager_id: f.account_manager_id,
                notes: f.notes,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            accounts::insert(conn, &a).map_err(tax_id_taken)?;
            actor.record(conn, now, "account.created", "account", &a.id, &[])?;
            Ok(a)
        })
        .await?;
    Ok(response(StatusCode::CREATED, a))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    pub kind: Option<AccountKind>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List accounts.
#[utoipa::path(
    operation_id = "listAccounts",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(AccountListParams),
    responses((status = 200, description = "A page of accounts.", body = ListResponse<AccountDto>))
)]
#[get("/accounts")]
pub async fn list_accounts(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<AccountListParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let (org, kind) = (auth.org_id.clone(), q.kind);
    let result = state
        .read(move |conn| accounts::list(conn, &org, kind, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, AccountDto::from)))
}

/// Get an account.
#[utoipa::path(
    operation_id = "getAccount",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("account_id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account.", body = AccountDto))
)]
#[get("/accounts/{account_id}")]
pub async fn get_account(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "account_not_found", "account")?;
    let org = auth.org_id.clone();
    let a = state
        .read(move |conn| load_account(conn, &org, &id))
        .await?;
    Ok(response(StatusCode::OK, a))
}

/// Update an account (JSON merge patch).
#[utoipa::path(
    operation_id = "updateAccount",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("account_id" = String, Path, description = "Account id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = AccountWrite, content_type = "application/merge-patch+json", description = "Any subset of the fields; `contacts` is replaced whole."),
    responses((status = 200, description = "Updated.", body = AccountDto))
)]
#[patch("/accounts/{account_id}")]
pub async fn update_account(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "account_not_found", "account")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let a = state
        .write(move |conn| {
            let current = load_account(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let patched: AccountWrite = apply_merge_patch(&write_of(&current), &body.0)?;
            let f = validate(conn, &org, patched)?;
            let next = Account {
                kind: f.kind,
                legal_name: f.legal_name,
                tax_id: f.tax_id,
                address: f.address,
                contacts: f.contacts,
                account_manager_id: f.account_manager_id,
                notes: f.notes,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            let mut changed = Vec::new();
            for (name, differs) in [
                ("kind", next.kind != current.kind),
                ("legal_name", next.legal_name != current.legal_name),
                ("tax_id", next.tax_id != current.tax_id),
                ("address", next.address != current.address),
                ("contacts", next.contacts != current.contacts),
                (
                    "account_manager_id",
                    next.account_manager_id != current.account_manager_id,
                ),
                ("notes", next.notes != current.notes),
            ] {
                if differs {
                    changed.push(name);
                }
            }
            if changed.is_empty() {
                return Ok(current);
            }
            accounts::update(conn, &next, expected).map_err(tax_id_taken)?;
            actor.record(conn, now, "account.updated", "account", &next.id, &changed)?;
            Ok(next)
        })
        .await?;
    Ok(response(StatusCode::OK, a))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"guest_id": "019ab1c2-0000-7000-8000-000000000101"}))]
pub struct AccountGuestLink {
    pub guest_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountGuestDto {
    pub account_id: String,
    pub guest_id: String,
}

/// Link a guest to an account (an employee of a corporate client).
#[utoipa::path(
    operation_id = "linkAccountGuest",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("account_id" = String, Path, description = "Account id")),
    request_body = AccountGuestLink,
    responses(
        (status = 201, description = "Linked.", body = AccountGuestDto),
        (status = 200, description = "Already linked.", body = AccountGuestDto),
    )
)]
#[post("/accounts/{account_id}/guests")]
pub async fn link_guest(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<AccountGuestLink>,
) -> ApiResult<HttpResponse> {
    let account_id = path_id(&path, "account_not_found", "account")?;
    let guest_id = uuid::Uuid::parse_str(&body.0.guest_id)
        .map_err(|_| ApiError::field("guest_id", "unknown_guest", "no such guest"))?
        .to_string();
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let (account, guest) = (account_id.clone(), guest_id.clone());
    let added = state
        .write(move |conn| {
            load_account(conn, &org, &account)?;
            let g = load_guest(conn, &org, &guest)
                .map_err(|_| ApiError::field("guest_id", "unknown_guest", "no such guest"))?;
            crate::routes::guests::refuse_erased(&g)?;
            let added = accounts::link_guest(conn, &org, &account, &guest, now)?;
            if added {
                actor.record(
                    conn,
                    now,
                    "account.guest_linked",
                    "account",
                    &account,
                    &["guests"],
                )?;
            }
            Ok(added)
        })
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(AccountGuestDto {
        account_id,
        guest_id,
    }))
}

/// Unlink a guest from an account.
#[utoipa::path(
    operation_id = "unlinkAccountGuest",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("account_id" = String, Path, description = "Account id"), ("guest_id" = String, Path, description = "Guest id")),
    responses((status = 204, description = "Unlinked."))
)]
#[delete("/accounts/{account_id}/guests/{guest_id}")]
pub async fn unlink_guest(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (raw_account, raw_guest) = path.into_inner();
    let account = path_id(&raw_account, "account_not_found", "account")?;
    let guest = path_id(&raw_guest, "guest_not_found", "guest")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    state
        .write(move |conn| {
            load_account(conn, &org, &account)?;
            if !accounts::unlink_guest(conn, &org, &account, &guest)? {
                return Err(ApiError::not_found("guest_not_linked", "guest link"));
            }
            actor.record(
                conn,
                now,
                "account.guest_unlinked",
                "account",
                &account,
                &["guests"],
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List the guests linked to an account (ids; fetch each guest for details).
#[utoipa::path(
    operation_id = "listAccountGuests",
    tag = "accounts",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("account_id" = String, Path, description = "Account id"), PageQuery),
    responses((status = 200, description = "A page of links.", body = ListResponse<AccountGuestDto>))
)]
#[get("/accounts/{account_id}/guests")]
pub async fn list_account_guests(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let account = path_id(&path, "account_not_found", "account")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let id = account.clone();
    let result = state
        .read(move |conn| {
            load_account(conn, &org, &id)?;
            Ok::<_, ApiError>(accounts::guests_of(conn, &org, &id, &page)?)
        })
        .await?;
    Ok(
        HttpResponse::Ok().json(ListResponse::from_page(result, |guest_id| {
            AccountGuestDto {
                account_id: account.clone(),
                guest_id,
            }
        })),
    )
}
