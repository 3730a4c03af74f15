//! Tokens: password grant (staff), client credentials (integrations),
//! refresh (rotating), logout; `/me` and changing one's own password.

use crate::audit::Actor;
use crate::auth::jwt::Claims;
use crate::auth::{password, roles, Auth, Principal, PrincipalKind};
use crate::crypto::{random_token, sha256_hex};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, RequestId};
use crate::state::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use crm_domain::role::Role;
use crm_storage::refresh_tokens::{self, RefreshToken};
use crm_storage::{api_clients, organizations, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"grant_type": "password", "email": "admin@localhost", "password": "correct horse battery staple"}))]
pub enum TokenRequest {
    /// Staff log-in with e-mail and password.
    Password { email: String, password: String },
    /// Integration clients (OTA channel managers, PMS).
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
    /// Exchange a refresh token for a new access token (and a new refresh
    /// token: each one works once).
    RefreshToken { refresh_token: String },
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9...",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "3q2-7wEjR0...",
    "role": "front_desk",
    "password_change_required": false
}))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    /// Staff only; absent for client credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub role: Role,
    /// The user was given a temporary password and should change it.
    pub password_change_required: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "3q2-7wEjR0..."}))]
pub struct LogoutRequest {
    pub refresh_token: String,
}

fn access_token(
    state: &AppState,
    kind: PrincipalKind,
    id: &str,
    org: &str,
    role: Role,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let claims = Claims {
        sub: id.to_string(),
        org: org.to_string(),
        role,
        kind: kind.as_str().to_string(),
        iat: now.timestamp(),
        exp: (now + Duration::seconds(state.settings.access_token_ttl_secs)).timestamp(),
        jti: crm_domain::id::new_id().to_string(),
    };
    state.jwt.sign(&claims).map_err(ApiError::internal)
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "The e-mail or password is wrong.")
}

/// Issue an access token.
///
/// `grant_type=password` for staff (returns a refresh token too),
/// `client_credentials` for integration clients, `refresh_token` to renew.
/// Requests are limited per account (or client id) and per IP address,
/// failed attempts further (429 with `Retry-After`).
#[utoipa::path(
    operation_id = "createToken",
    tag = "auth",
    security(()),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Tokens issued.", body = TokenResponse),
        (status = 401, description = "Wrong credentials or an unusable refresh token.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests or failed attempts; see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn token(
    req: HttpRequest,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let ip = crate::http::client_ip(&req, &state.settings.trusted_proxies);
    let by_ip = format!("ip:{ip}");
    let account = match &body.0 {
        TokenRequest::Password { email, .. } => {
            Some(format!("acct:{}", email.trim().to_lowercase()))
        }
        TokenRequest::ClientCredentials { client_id, .. } => {
            Some(format!("client:{}", client_id.trim()))
        }
        TokenRequest::RefreshToken { .. } => None,
    };
    let keys: Vec<&str> = std::iter::once(by_ip.as_str())
        .chain(account.as_deref())
        .collect();
    if let Some(wait) = state.login_rate.take(&keys, std::time::Instant::now()) {
        return Err(ApiError::rate_limited(wait));
    }
    match body.0 {
        TokenRequest::Password {
            email,
            password: given,
        } => {
            let email = email.trim().to_lowercase();
            if let Some(wait) = state.login_limiter.check(&email, &ip, now) {
                return Err(ApiError::rate_limited(wait));
            }
            let lookup = email.clone();
            let user = state
                .read(move |conn| users::find_by_email(conn, &lookup))
                .await?;
            let hash = user
                .as_ref()
                .map(|u| u.password_hash.clone())
                .unwrap_or_else(|| password::dummy_hash().to_string());
            let ok = web::block(move || password::verify(&given, &hash)).await?;
            let user = match user {
                Some(u) if ok && u.disabled_at.is_none() => u,
                Some(u) if ok && u.disabled_at.is_some() => {
                    return Err(ApiError::unauthorized(
                        "account_disabled",
                        "This account is disabled.",
                    ))
                }
                known => {
                    state.login_limiter.record_failure(&email, &ip, now);
                    if let Some(u) = known {
                        let who = login_actor(PrincipalKind::User, &u.id, &u.org_id, u.role);
                        audit_failure(&state, &request_id, who, "user.login_failed");
                    }
                    return Err(invalid_credentials());
                }
            };
            state.login_limiter.record_success(&email);
            let access = access_token(
                &state,
                PrincipalKind::User,
                &user.id,
                &user.org_id,
                user.role,
                now,
            )?;
            let refresh = random_token(32);
            let row = RefreshToken {
                id: crm_domain::id::new_id().to_string(),
                org_id: user.org_id.clone(),
                user_id: user.id.clone(),
                family_id: crm_domain::id::new_id().to_string(),
                token_hash: sha256_hex(refresh.as_bytes()),
                expires_at: now + Duration::days(state.settings.refresh_token_ttl_days),
                used_at: None,
                revoked_at: None,
                created_at: now,
            };
            let actor = Actor::new(
                &login_actor(PrincipalKind::User, &user.id, &user.org_id, user.role),
                &request_id,
                &state,
            );
            state
                .write(move |conn| {
                    refresh_tokens::insert(conn, &row)?;
                    actor.record(conn, now, "user.logged_in", "user", &row.user_id, &[])
                })
                .await?;
            Ok(HttpResponse::Ok().json(TokenResponse {
                access_token: access,
                token_type: "Bearer",
                expires_in: state.settings.access_token_ttl_secs,
                refresh_token: Some(refresh),
                role: user.role,
                password_change_required: user.must_change_password,
            }))
        }
        TokenRequest::ClientCredentials {
            client_id,
            client_secret,
        } => {
            let client_id = client_id.trim().to_string();
            if let Some(wait) = state.login_limiter.check(&client_id, &ip, now) {
                return Err(ApiError::rate_limited(wait));
            }
            let lookup = client_id.clone();
            let client = state
                .read(move |conn| api_clients::find_by_client_id(conn, &lookup))
                .await?;
            let hash = client
                .as_ref()
                .map(|c| c.secret_hash.clone())
                .unwrap_or_else(|| password::dummy_hash().to_string());
            let ok = web::block(move || password::verify(&client_secret, &hash)).await?;
            let client = match client {
                Some(c) if ok && c.disabled_at.is_none() => c,
                Some(c) if ok && c.disabled_at.is_some() => {
                    return Err(ApiError::unauthorized(
                        "account_disabled",
                        "This client is disabled.",
                    ))
                }
                known => {
                    state.login_limiter.record_failure(&client_id, &ip, now);
                    if let Some(c) = known {
                        let who = login_actor(PrincipalKind::Client, &c.id, &c.org_id, c.role);
                        audit_failure(&state, &request_id, who, "client.login_failed");
                    }
                    return Err(ApiError::unauthorized(
                        "invalid_credentials",
                        "The client id or secret is wrong.",
                    ));
                }
            };
            state.login_limiter.record_success(&client_id);
            let who = login_actor(
                PrincipalKind::Client,
                &client.id,
                &client.org_id,
                client.role,
            );
            audit_login(&state, &request_id, who, "client.token_issued").await?;
            let access = access_token(
                &state,
                PrincipalKind::Client,
                &client.id,
                &client.org_id,
                client.role,
                now,
            )?;
            Ok(HttpResponse::Ok().json(TokenResponse {
                access_token: access,
                token_type: "Bearer",
                expires_in: state.settings.access_token_ttl_secs,
                refresh_token: None,
                role: client.role,
                password_change_required: false,
            }))
        }
        TokenRequest::RefreshToken { refresh_token } => {
            let hash = sha256_hex(refresh_token.trim().as_bytes());
            let ttl_days = state.settings.refresh_token_ttl_days;
            let issued = state
                .write(move |conn| {
                    let invalid = || {
                        ApiError::unauthorized(
                            "invalid_grant",
                            "The refresh token is unknown, expired or revoked.",
                        )
                    };
                    let Some(old) = refresh_tokens::find_by_hash(conn, &hash)? else {
                        return Err(invalid());
                    };
                    if old.revoked_at.is_some() || old.expires_at <= now {
                        return Err(invalid());
                    }
                    if !refresh_tokens::mark_used(conn, &old.id, now)? {
                        // A used token presented again: someone kept a copy.
                        // End the whole session family.
                        refresh_tokens::revoke_family(conn, &old.org_id, &old.family_id, now)?;
                        return Ok(Err(invalid()));
                    }
                    let user = users::find(conn, &old.org_id, &old.user_id)?;
                    if user.disabled_at.is_some() {
                        return Err(ApiError::unauthorized(
                            "account_disabled",
                            "This account is disabled.",
                        ));
                    }
                    let fresh = random_token(32);
                    refresh_tokens::insert(
                        conn,
                        &RefreshToken {
                            id: crm_domain::id::new_id().to_string(),
                            org_id: old.org_id.clone(),
                            user_id: old.user_id.clone(),
                            family_id: old.family_id.clone(),
                            token_hash: sha256_hex(fresh.as_bytes()),
                            expires_at: now + Duration::days(ttl_days),
                            used_at: None,
                            revoked_at: None,
                            created_at: now,
                        },
                    )?;
                    Ok(Ok((user, fresh)))
                })
                .await?;
            // The family revocation above must commit, so the replay error
            // is returned only after the transaction.
            let (user, fresh) = issued?;
            let access = access_token(
                &state,
                PrincipalKind::User,
                &user.id,
                &user.org_id,
                user.role,
                now,
            )?;
            Ok(HttpResponse::Ok().json(TokenResponse {
                access_token: access,
                token_type: "Bearer",
                expires_in: state.settings.access_token_ttl_secs,
                refresh_token: Some(fresh),
                role: user.role,
                password_change_required: user.must_change_password,
            }))
        }
    }
}

/// Who is logging in, as the audit log names them.
fn login_actor(kind: PrincipalKind, id: &str, org_id: &str, role: Role) -> Principal {
    Principal {
        kind,
        id: id.to_string(),
        org_id: org_id.to_string(),
        role,
    }
}

/// A log-in event with nothing else to write.
async fn audit_login(
    state: &web::Data<AppState>,
    request_id: &RequestId,
    who: Principal,
    action: &'static str,
) -> Result<(), ApiError> {
    let entity = if who.kind == PrincipalKind::Client {
        "client"
    } else {
        "user"
    };
    let id = who.id.clone();
    Actor::new(&who, request_id, state)
        .record_alone(state, action, entity, id)
        .await
}

/// A failed log-in to a known account, recorded after the answer: the
/// answer must take as long as for an account that does not exist.
fn audit_failure(
    state: &web::Data<AppState>,
    request_id: &RequestId,
    who: Principal,
    action: &'static str,
) {
    let (state, request_id) = (state.clone(), request_id.clone());
    actix_web::rt::spawn(async move {
        if let Err(e) = audit_login(&state, &request_id, who, action).await {
            log::error!(
                "audit of a failed log-in (request_id={}) not written: {}",
                request_id.0,
                e.internal.as_deref().unwrap_or(e.code)
            );
        }
    });
}

/// Log out: revoke a refresh token (and every token rotated from it).
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    request_body = LogoutRequest,
    responses((status = 204, description = "The refresh token no longer works."))
)]
#[post("/auth/logout")]
pub async fn logout(
    auth: Auth<roles::Staff>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<LogoutRequest>,
) -> ApiResult<HttpResponse> {
    let hash = sha256_hex(body.0.refresh_token.trim().as_bytes());
    let now = state.clock.now();
    let principal = auth.principal.clone();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    state
        .write(move |conn| {
            if let Some(t) = refresh_tokens::find_by_hash(conn, &hash)? {
                // Only one's own tokens; others' are ignored without saying so.
                if t.user_id == principal.id && t.org_id == principal.org_id {
                    refresh_tokens::revoke_family(conn, &t.org_id, &t.family_id, now)?;
                }
            }
            actor.record(conn, now, "user.logged_out", "user", &principal.id, &[])
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-000000000001", "kind": "user", "role": "admin",
    "organization": {"id": "019ab1c2-0000-7000-8000-000000000000", "name": "My Hotel"},
    "email": "admin@localhost", "display_name": "Administrator", "password_change_required": false
}))]
pub struct MeResponse {
    pub id: String,
    /// `user` (staff) or `client` (integration).
    pub kind: &'static str,
    pub role: Role,
    pub organization: OrganizationRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub display_name: String,
    pub password_change_required: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationRef {
    pub id: String,
    pub name: String,
}

/// Who am I?
#[utoipa::path(
    operation_id = "getMe",
    tag = "auth",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    responses((status = 200, description = "The caller.", body = MeResponse))
)]
#[get("/me")]
pub async fn me(auth: Auth<roles::Any>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let p = auth.principal.clone();
    let response = state
        .read(move |conn| {
            let org = organizations::find(conn, &p.org_id)?;
            let organization = OrganizationRef {
                id: org.id,
                name: org.name,
            };
            Ok::<_, ApiError>(match p.kind {
                PrincipalKind::User => {
                    let u = users::find(conn, &p.org_id, &p.id)?;
                    MeResponse {
                        id: u.id,
                        kind: "user",
                        role: u.role,
                        organization,
                        email: Some(u.email),
                        display_name: u.display_name,
                        password_change_required: u.must_change_password,
                    }
                }
                PrincipalKind::Client => {
                    let c = api_clients::find(conn, &p.org_id, &p.id)?;
                    MeResponse {
                        id: c.id,
                        kind: "client",
                        role: c.role,
                        organization,
                        email: None,
                        display_name: c.name,
                        password_change_required: false,
                    }
                }
                PrincipalKind::System | PrincipalKind::Guest => {
                    return Err(ApiError::not_found("not_found", "caller"));
                }
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "the one I was given", "new_password": "a long passphrase of mine"}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

/// Change your own password. Ends your other sessions.
#[utoipa::path(
    operation_id = "changeOwnPassword",
    tag = "auth",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed; refresh tokens issued before are revoked."))
)]
#[post("/me/password")]
pub async fn change_password(
    auth: Auth<roles::Staff>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.0;
    let p = auth.principal.clone();
    let user = state
        .read(move |conn| users::find(conn, &p.org_id, &p.id))
        .await?;
    if let Err(why) = password::check_policy(&new_password, &user.email) {
        return Err(ApiError::field("new_password", "weak_password", why));
    }
    let stored = user.password_hash.clone();
    let (ok, new_hash) = web::block(move || {
        (
            password::verify(&current_password, &stored),
            password::hash(&new_password),
        )
    })
    .await?;
    if !ok {
        return Err(ApiError::field(
            "current_password",
            "wrong_password",
            "The current password is wrong.",
        ));
    }
    let new_hash = new_hash.map_err(ApiError::internal)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    state
        .write(move |conn| {
            let expected = user.version;
            let updated = users::User {
                password_hash: new_hash,
                must_change_password: false,
                version: user.version + 1,
                updated_at: now,
                ..user
            };
            users::update(conn, &updated, expected)?;
            refresh_tokens::revoke_user(conn, &updated.org_id, &updated.id, now)?;
            actor.record(
                conn,
                now,
                "user.password_changed",
                "user",
                &updated.id,
                &["password"],
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
