//! The `Auth<R>` extractor: verifies the bearer token, checks the role set
//! `R` from the token at once (before the body is read), then confirms in
//! the database that the account is still enabled and still has that role.

use crate::auth::jwt::Claims;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use crm_domain::role::Role;
use crm_storage::{api_clients, users};
use futures_util::future::LocalBoxFuture;
use std::marker::PhantomData;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    User,
    Client,
    /// hotel-crm itself: scheduled jobs. No token ever carries it.
    System,
    /// A guest acting through a signed link (a survey answer). No token
    /// carries it either.
    Guest,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Guest => "guest",
            PrincipalKind::Client => "client",
            PrincipalKind::System => "system",
        }
    }
}

/// Who is calling: a staff user or an integration client of one organisation.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub id: String,
    pub org_id: String,
    pub role: Role,
}

/// A set of roles allowed to call an operation. The same lists appear as
/// the operation's security scopes in the OpenAPI spec, and a test checks
/// that every operation refuses the roles its spec leaves out.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

pub mod roles {
    use super::RoleSet;
    use crm_domain::role::Role;

    macro_rules! role_set {
        ($($(#[$doc:meta])* $name:ident => [$($role:ident),+];)*) => {
            $($(#[$doc])* pub struct $name;
            impl RoleSet for $name {
                const ROLES: &'static [Role] = &[$(Role::$role),+];
            })*
        };
    }

    role_set! {
        /// Every authenticated caller.
        Any => [Admin, Manager, FrontDesk, Marketing, Integration];
        /// People, not integrations.
        Staff => [Admin, Manager, FrontDesk, Marketing];
        Admin => [Admin];
        Managers => [Admin, Manager];
        /// The front desk and above.
        Desk => [Admin, Manager, FrontDesk];
        /// Those who create and correct guest profiles, PMS/OTA included.
        GuestWriters => [Admin, Manager, FrontDesk, Integration];
        /// Channel managers and PMS pushing reservations, and their admins.
        ChannelPushers => [Admin, Manager, Integration];
        /// Managers and marketing: rewards, bonuses, campaigns.
        Marketers => [Admin, Manager, Marketing];
    }
}

pub struct Auth<R: RoleSet = roles::Any> {
    pub principal: Principal,
    _roles: PhantomData<R>,
}

impl<R: RoleSet> std::ops::Deref for Auth<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// Verifies the bearer token of `req` without touching the database.
pub fn verify_bearer(req: &HttpRequest, state: &AppState) -> Result<Claims, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "Send `Authorization: Bearer <access_token>`.",
        )
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "The Authorization header must be `Bearer <access_token>`.",
            )
        })?;
    state.jwt.verify(token).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::unauthorized(
            "token_expired",
            "The access token has expired; use your refresh token or log in again.",
        ),
        _ => ApiError::unauthorized("invalid_token", "The access token is not valid."),
    })
}

impl<R: RoleSet + 'static> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(async { Err(ApiError::internal("application state missing")) });
        };
        let claims = match verify_bearer(req, &state) {
            Ok(c) => c,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        if !R::ROLES.contains(&claims.role) {
            let allowed: Vec<&str> = R::ROLES.iter().map(|r| r.as_str()).collect();
            let err = ApiError::forbidden(format!(
                "Your role `{}` may not do this; allowed roles: {}.",
                claims.role,
                allowed.join(", ")
            ));
            return Box::pin(async { Err(err) });
        }
        Box::pin(async move {
            let kind = match claims.kind.as_str() {
                "client" => PrincipalKind::Client,
                _ => PrincipalKind::User,
            };
            let principal = Principal {
                kind,
                id: claims.sub,
                org_id: claims.org,
                role: claims.role,
            };
            let check = principal.clone();
            let cached = state.principal_cache.get(principal.kind, &principal.id);
            let db = state.db.clone();
            let current: Result<(bool, Role), ApiError> = match cached {
                Some(hit) => Ok(hit),
                None => web::block(move || {
                    db.read(|conn| match check.kind {
                        PrincipalKind::User => users::find(conn, &check.org_id, &check.id)
                            .map(|u| (u.disabled_at.is_none(), u.role)),
                        PrincipalKind::Client => api_clients::find(conn, &check.org_id, &check.id)
                            .map(|c| (c.disabled_at.is_none(), c.role)),
                        PrincipalKind::System | PrincipalKind::Guest => {
                            Err(crm_storage::StorageError::NotFound)
                        }
                    })
                })
                .await
                .map_err(ApiError::from)
                .and_then(|r| r.map_err(ApiError::from)),
            };
            if let (None, Ok((enabled, role))) = (cached, &current) {
                state
                    .principal_cache
                    .put(principal.kind, &principal.id, *enabled, *role);
            }
            match current {
                Ok((true, role)) if role == principal.role => Ok(Auth {
                    principal,
                    _roles: PhantomData,
                }),
                Ok((true, _)) => Err(ApiError::unauthorized(
                    "token_stale",
                    "Your role changed since this token was issued; log in again.",
                )),
                Ok((false, _)) => Err(ApiError::unauthorized(
                    "account_disabled",
                    "This account is disabled.",
                )),
                Err(e) if e.status == actix_web::http::StatusCode::NOT_FOUND => Err(
                    ApiError::unauthorized("invalid_token", "The access token is not valid."),
                ),
                Err(e) => Err(e),
            }
        })
    }
}
