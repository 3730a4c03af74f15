//! Staff users, managed by admins.

use crate::audit::Actor;
use crate::auth::{password, roles, Auth, PrincipalKind};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::role::Role;
use crm_domain::values::{required_text, Email};
use crm_domain::Errors;
use crm_storage::refresh_tokens;
use crm_storage::users::{self, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-00000000000a", "email": "li.na@hotel.example", "display_name": "Li Na",
    "role": "front_desk", "disabled": false, "disabled_at": null, "password_change_required": true,
    "version": 1, "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"
}))]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub password_change_required: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only in the response that set it (create, reset): shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            disabled: u.disabled_at.is_some(),
            disabled_at: u.disabled_at,
            password_change_required: u.must_change_password,
            version: u.version,
            created_at: u.created_at,
            updated_at: u.updated_at,
            temporary_password: None,
        }
    }
}

fn user_response(status: actix_web::http::StatusCode, dto: UserDto) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(dto.version)));
    if status == actix_web::http::StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/users/{}", dto.id)));
    }
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    res.json(dto)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "li.na@hotel.example", "display_name": "Li Na", "role": "front_desk"}))]
pub struct CreateUserRequest {
    pub email: String,
    pub display_name: String,
    /// Any role but `integration`, which belongs to API clients.
    pub role: Role,
    /// Omit to have one generated; the user must then change it.
    #[serde(default)]
    pub password: Option<String>,
}

fn staff_role(role: Role, errors: &mut Errors) {
    if !role.is_staff() {
        errors.push(crm_domain::FieldError::new(
            "role",
            "not_a_staff_role",
            "`integration` is for API clients; create a client instead",
        ));
    }
}

/// Create a staff user.
#[utoipa::path(
    operation_id = "createUser",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created. A generated password is in `temporary_password`, shown once.", body = UserDto),
        (status = 409, description = "The e-mail already has an account.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let CreateUserRequest {
        email,
        display_name,
        role,
        password: given,
    } = body.0;
    let mut errors = Errors::new();
    let email = errors.check("email", Email::parse(&email));
    let display_name = errors.check("display_name", required_text(&display_name, 100));
    staff_role(role, &mut errors);
    if let (Some(e), Some(p)) = (&email, &given) {
        if let Err(why) = password::check_policy(p, e.as_str()) {
            errors.push(crm_domain::FieldError::new(
                "password",
                "weak_password",
                why,
            ));
        }
    }
    errors.finish()?;
    let (Some(email), Some(display_name)) = (email, display_name) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let temporary = given.is_none().then(password::generate);
    let secret = given
        .clone()
        .or_else(|| temporary.clone())
        .unwrap_or_default();
    let hash = web::block(move || password::hash(&secret))
        .await?
        .map_err(ApiError::internal)?;
    let now = state.clock.now();
    let user = User {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        email: email.as_str().to_string(),
        display_name,
        role,
        password_hash: hash,
        must_change_password: temporary.is_some(),
        disabled_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = user.clone();
    state
        .write(move |conn| {
            users::insert(conn, &stored).map_err(|e| match e {
                crm_storage::StorageError::Duplicate { .. } => ApiError::conflict(
                    "email_taken",
                    "A staff account with this e-mail already exists.",
                ),
                other => other.into(),
            })?;
            actor.record(
                conn,
                now,
                "user.created",
                "user",
                &stored.id,
                &["email", "display_name", "role"],
            )
        })
        .await?;
    let mut dto = UserDto::from(user);
    dto.temporary_password = temporary;
    Ok(user_response(actix_web::http::StatusCode::CREATED, dto))
}

/// List staff users.
#[utoipa::path(
    operation_id = "listUsers",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "A page of users.", body = ListResponse<UserDto>))
)]
#[get("/users")]
pub async fn list_users(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| users::list(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, UserDto::from)))
}

/// Get a staff user.
#[utoipa::path(
    operation_id = "getUser",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user.", body = UserDto))
)]
#[get("/users/{user_id}")]
pub async fn get_user(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "user_not_found", "user")?;
    let org = auth.org_id.clone();
    let user = state
        .read(move |conn| users::find(conn, &org, &id))
        .await
        .map_err(or_not_found("user_not_found", "user"))?;
    Ok(user_response(actix_web::http::StatusCode::OK, user.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "manager"}))]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
}

/// Change a user's name or role. A role change ends the user's sessions.
#[utoipa::path(
    operation_id = "updateUser",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    params(("user_id" = String, Path, description = "User id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = UpdateUserRequest, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = UserDto))
)]
#[patch("/users/{user_id}")]
pub async fn update_user(
    auth: Auth<roles::Admin>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "user_not_found", "user")?;
    let UpdateUserRequest { display_name, role } = body.0;
    let mut errors = Errors::new();
    let display_name =
        display_name.and_then(|n| errors.check("display_name", required_text(&n, 100)));
    if let Some(r) = role {
        staff_role(r, &mut errors);
    }
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let self_id = auth.id.clone();
    let user = state
        .write(move |conn| {
            let current = users::find(conn, &org, &id)
                .map_err(|e| or_not_found("user_not_found", "user")(e.into()))?;
            let expected = if_match.check(current.version)?;
            if role.is_some_and(|r| r != Role::Admin) && current.id == self_id {
                return Err(ApiError::conflict(
                    "cannot_demote_self",
                    "Admins cannot remove their own admin role.",
                ));
            }
            let mut changed = Vec::new();
            let mut next = current.clone();
            if let Some(n) = display_name.filter(|n| *n != current.display_name) {
                next.display_name = n;
                changed.push("display_name");
            }
            if let Some(r) = role.filter(|r| *r != current.role) {
                next.role = r;
                changed.push("role");
                refresh_tokens::revoke_user(conn, &org, &current.id, now)?;
            }
            if changed.is_empty() {
                return Ok(current);
            }
            next.version += 1;
            next.updated_at = now;
            users::update(conn, &next, expected)?;
            actor.record(conn, now, "user.updated", "user", &next.id, &changed)?;
            Ok(next)
        })
        .await?;
    // After the commit, so no request can cache the old role again.
    state
        .principal_cache
        .invalidate(PrincipalKind::User, &user.id);
    Ok(user_response(actix_web::http::StatusCode::OK, user.into()))
}

async fn set_disabled(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    raw_id: &str,
    disable: bool,
) -> ApiResult<HttpResponse> {
    let id = path_id(raw_id, "user_not_found", "user")?;
    if disable && id == auth.id {
        return Err(ApiError::conflict(
            "cannot_disable_self",
            "Admins cannot disable their own account.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let user = state
        .write(move |conn| {
            let current = users::find(conn, &org, &id)
                .map_err(|e| or_not_found("user_not_found", "user")(e.into()))?;
            if current.disabled_at.is_some() == disable {
                return Ok(current);
            }
            let next = User {
                disabled_at: disable.then_some(now),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            users::update(conn, &next, current.version)?;
            if disable {
                refresh_tokens::revoke_user(conn, &org, &next.id, now)?;
            }
            let action = if disable {
                "user.disabled"
            } else {
                "user.enabled"
            };
            actor.record(conn, now, action, "user", &next.id, &["disabled_at"])?;
            Ok(next)
        })
        .await?;
    state
        .principal_cache
        .invalidate(PrincipalKind::User, &user.id);
    Ok(user_response(actix_web::http::StatusCode::OK, user.into()))
}

/// Disable a user: their tokens stop working at once.
#[utoipa::path(
    operation_id = "disableUser",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "Disabled.", body = UserDto))
)]
#[post("/users/{user_id}/disable")]
pub async fn disable_user(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_disabled(auth, request_id, state, &path, true).await
}

/// Enable a disabled user again.
#[utoipa::path(
    operation_id = "enableUser",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "Enabled.", body = UserDto))
)]
#[post("/users/{user_id}/enable")]
pub async fn enable_user(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_disabled(auth, request_id, state, &path, false).await
}

/// Reset a user's password to a generated one, shown once. Ends their
/// sessions; they must change it at next log-in.
#[utoipa::path(
    operation_id = "resetUserPassword",
    tag = "users",
    security(("bearer_auth" = ["admin"])),
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The new temporary password is in `temporary_password`.", body = UserDto))
)]
#[post("/users/{user_id}/reset-password")]
pub async fn reset_password(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "user_not_found", "user")?;
    let temporary = password::generate();
    let secret = temporary.clone();
    let hash = web::block(move || password::hash(&secret))
        .await?
        .map_err(ApiError::internal)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let user = state
        .write(move |conn| {
            let current = users::find(conn, &org, &id)
                .map_err(|e| or_not_found("user_not_found", "user")(e.into()))?;
            let next = User {
                password_hash: hash,
                must_change_password: true,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            users::update(conn, &next, current.version)?;
            refresh_tokens::revoke_user(conn, &org, &next.id, now)?;
            actor.record(
                conn,
                now,
                "user.password_reset",
                "user",
                &next.id,
                &["password"],
            )?;
            Ok(next)
        })
        .await?;
    let mut dto = UserDto::from(user);
    dto.temporary_password = Some(temporary);
    Ok(user_response(actix_web::http::StatusCode::OK, dto))
}
