//! Channel ingestion: channel managers and PMS systems push the same
//! booking many times, late and out of order. The natural key is
//! (organisation, channel, channel reservation id); a repeat answers like
//! the first; an older modification changes nothing; a cancel that comes
//! before its booking is remembered; the raw message is kept with card data
//! removed.

use crate::audit::Actor;
use crate::auth::{roles, Auth, PrincipalKind};
use crate::crypto::sha256_hex;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{parse_json, ApiJson, RequestId};
use crate::routes::reservations;
use crate::routes::reservations::{
    book, BookingSource, CreateReservationRequest, PendingBooking, ReservationGuestInput,
    RoomStayInput, Warning,
};
use crate::state::AppState;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::channel::{parse_channel_code, redact_json};
use crm_domain::reservation::{Channel, ReservationStatus};
use crm_storage::reservations::{self as store, ChannelMessage};
use crm_storage::{properties, DbConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelAction {
    Create,
    Modify,
    Cancel,
}

impl ChannelAction {
    fn as_str(self) -> &'static str {
        match self {
            ChannelAction::Create => "create",
            ChannelAction::Modify => "modify",
            ChannelAction::Cancel => "cancel",
        }
    }
}

/// A reservation message in hotel-crm's normalised JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "action": "create", "channel_reservation_id": "CTRIP-1029384756", "last_modified": "2026-11-24T08:30:00Z",
    "property_code": "SHA01",
    "guest": {"profile": {"family_name": "李", "given_name": "娜", "emails": [{"address": "lina@example.cn"}]}},
    "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": "2026-12-10", "departure": "2026-12-12", "adults": 2, "amount": 91600}],
    "guest_comments": "Late arrival, around 23:00"
}))]
pub struct ChannelReservationPush {
    pub action: ChannelAction,
    pub channel_reservation_id: String,
    /// The channel's last-modified time of this version of the booking;
    /// messages apply in this order, whatever order they arrive in.
    pub last_modified: DateTime<Utc>,
    /// The property, by hotel-crm id…
    #[serde(default)]
    pub property_id: Option<String>,
    /// …or by its code (the OTA's hotel code).
    #[serde(default)]
    pub property_code: Option<String>,
    /// Required for create and modify.
    #[serde(default)]
    pub guest: Option<ReservationGuestInput>,
    /// Required for create and modify.
    #[serde(default)]
    pub rooms: Option<Vec<RoomStayInput>>,
    #[serde(default)]
    pub special_requests: Option<String>,
    #[serde(default)]
    pub guest_comments: Option<String>,
    /// A corporate or agency contract code the booking quotes; for a
    /// channel's booking, contract problems (validity, allotment) are
    /// warnings, since the room is already sold.
    #[serde(default)]
    pub contract_code: Option<String>,
    /// Accepted so channels can send it, never stored: card data is removed
    /// before anything is written.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payment_card: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"outcome": "created", "reservation_id": "019ab1c2-0000-7000-8000-0000000000f1", "replayed": false, "warnings": []}))]
pub struct ChannelPushResult {
    /// `created`, `modified`, `cancelled`, `unchanged`, `stale` (older than
    /// what was applied: nothing changed), `cancel_remembered` (a cancel
    /// for a booking not yet received), `already_cancelled`.
    pub outcome: String,
    pub reservation_id: Option<String>,
    /// True when this exact message was received before.
    pub replayed: bool,
    pub warnings: Vec<Warning>,
}

fn property_of(
    conn: &mut DbConnection,
    state: &AppState,
    org: &str,
    push: &ChannelReservationPush,
) -> Result<properties::Property, ApiError> {
    let unknown = || {
        ApiError::field(
            "property_code",
            "unknown_hotel_code",
            "no property with this id or code",
        )
    };
    match (&push.property_id, &push.property_code) {
        (Some(id), _) => {
            let id = uuid::Uuid::parse_str(id)
                .map_err(|_| unknown())?
                .to_string();
            state
                .config_cache
                .property(conn, org, &id)?
                .ok_or_else(unknown)
        }
        (None, Some(code)) => {
            let code = code.trim().to_ascii_uppercase();
            state
                .config_cache
                .property_by_code(conn, org, &code)?
                .ok_or_else(unknown)
        }
        (None, None) => Err(ApiError::field(
            "property_code",
            "required",
            "give `property_id` or `property_code`",
        )),
    }
}

/// Push a reservation (create, modify, cancel) from a channel manager or PMS.
///
/// Safe to repeat and to deliver out of order: see the outcome. Bookings a
/// channel already sold are kept even past the allowance (with an
/// `overbooked` warning). Integration clients may push only for the
/// channels and properties they are granted.
#[utoipa::path(
    operation_id = "pushChannelReservation",
    tag = "channels",
    security(("bearer_auth" = ["admin", "manager", "integration"])),
    params(("channel_code" = String, Path, description = "The channel: `ctrip`, `booking`, `pms`…")),
    request_body = ChannelReservationPush,
    responses(
        (status = 200, description = "What was done with the message.", body = ChannelPushResult),
        (status = 429, description = "Too many pushes from this client or address; see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/channels/{channel_code}/reservations")]
pub async fn push_reservation(
    auth: Auth<roles::ChannelPushers>,
    req: HttpRequest,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    push_allowed(&state, &auth.principal, &req)?;
    let channel_code = parse_channel_code(&path)
        .map_err(|_| ApiError::not_found("channel_not_found", "channel"))?;
    let mut redacted = body.0;
    redact_json(&mut redacted);
    let raw = redacted.to_string();
    let hash = sha256_hex(raw.as_bytes());
    // Parsed from the redacted copy too: a card number typed into a comment
    // must not reach the reservation either.
    parse_json::<ChannelReservationPush>(raw.as_bytes())?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let result =
        ingest_with_retry(&state, &actor, &channel_code, raw.clone(), raw, hash, now).await?;
    Ok(HttpResponse::Ok().json(result))
}

/// The channel-push rate limit, per principal and per IP (429 with
/// `Retry-After`).
pub fn push_allowed(
    state: &AppState,
    principal: &crate::auth::Principal,
    req: &HttpRequest,
) -> ApiResult<()> {
    let by_client = format!("client:{}", principal.id);
    let by_ip = format!(
        "ip:{}",
        crate::http::client_ip(req, &state.settings.trusted_proxies)
    );
    match state
        .channel_rate
        .take(&[&by_client, &by_ip], std::time::Instant::now())
    {
        Some(wait) => Err(ApiError::rate_limited(wait)),
        None => Ok(()),
    }
}

/// Runs [`ingest`] of `push_json` in its own transaction. Two deliveries
/// of one booking racing each other: the loser's insert hits the natural
/// key; run once more, it sees the winner's result.
pub async fn ingest_with_retry(
    state: &web::Data<AppState>,
    actor: &Actor,
    channel_code: &str,
    push_json: String,
    raw: String,
    hash: String,
    now: DateTime<Utc>,
) -> Result<ChannelPushResult, ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (shared, actor, code) = (
            state.get_ref().clone(),
            actor.clone(),
            channel_code.to_string(),
        );
        let (push_json, raw, hash) = (push_json.clone(), raw.clone(), hash.clone());
        let result = state
            .write(move |conn| {
                let push: ChannelReservationPush = parse_json(push_json.as_bytes())?;
                ingest(conn, &shared, &actor, &code, push, raw, hash, now)
            })
            .await;
        match result {
            Err(e) if attempt == 1 && matches!(e.code, "reservation_exists" | "duplicate") => {
                continue
            }
            other => return other,
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn ingest(
    conn: &mut DbConnection,
    state: &AppState,
    actor: &Actor,
    channel_code: &str,
    push: ChannelReservationPush,
    raw: String,
    hash: String,
    now: DateTime<Utc>,
) -> Result<ChannelPushResult, ApiError> {
    let org = actor.principal.org_id.clone();
    let channel_reservation_id =
        crm_domain::values::required_text(&push.channel_reservation_id, 100)
            .map_err(|e| ApiError::from(e.at("channel_reservation_id")))?;
    let (same, cancel) =
        store::earlier_messages(conn, &org, channel_code, &hash, &channel_reservation_id)?;
    if let Some(prev) = same {
        return Ok(ChannelPushResult {
            outcome: prev.outcome,
            reservation_id: prev.reservation_id,
            replayed: true,
            warnings: Vec::new(),
        });
    }
    let property = property_of(conn, state, &org, &push)?;
    if actor.principal.kind == PrincipalKind::Client {
        let granted = state
            .config_cache
            .client(conn, &org, &actor.principal.id)?
            .is_some_and(|c| c.grants.allows(channel_code, &property.id));
        if !granted {
            return Err(ApiError::forbidden(format!(
                "This client is not granted channel `{channel_code}` for this property."
            ))
            .with_code("channel_not_granted"));
        }
    }
    let existing = store::find_by_channel_key(conn, &org, channel_code, &channel_reservation_id)?;
    let mut warnings = Vec::new();
    let mut pending: Option<PendingBooking> = None;
    let lm = push.last_modified;
    let stale = existing
        .as_ref()
        .and_then(|r| r.channel_last_modified)
        .is_some_and(|applied| lm <= applied);
    let (outcome, reservation_id): (&str, Option<String>) = match (push.action, existing) {
        (_, Some(r)) if stale => {
            warnings.push(Warning {
                code: "stale_message".into(),
                message: "A newer version of this reservation was already applied; this one changed nothing.".into(),
            });
            ("stale", Some(r.id))
        }
        (ChannelAction::Cancel, None) => ("cancel_remembered", None),
        (ChannelAction::Cancel, Some(r)) if r.status == ReservationStatus::Cancelled => {
            ("unchanged", Some(r.id))
        }
        (ChannelAction::Cancel, Some(r)) => {
            let id = r.id.clone();
            reservations::apply_cancellation(conn, actor, r, Some(lm), Some(raw.clone()), now)?;
            ("cancelled", Some(id))
        }
        (ChannelAction::Create | ChannelAction::Modify, None) => {
            if cancel.is_some_and(|c| c.last_modified >= lm) {
                warnings.push(Warning {
                    code: "cancelled_before".into(),
                    message: "A later cancel for this reservation was received first; it stays cancelled.".into(),
                });
                ("already_cancelled", None)
            } else {
                let (guest, rooms) = booking_parts(push.guest, push.rooms)?;
                let request = CreateReservationRequest {
                    property_id: property.id.clone(),
                    channel: Channel::Ota,
                    channel_reservation_id: Some(channel_reservation_id.clone()),
                    confirmation_number: None,
                    guest,
                    rooms,
                    special_requests: push.special_requests,
                    guest_comments: push.guest_comments,
                    contract_code: push.contract_code,
                    coupon_code: None,
                    account_id: None,
                };
                let source = BookingSource {
                    channel_code: channel_code.to_string(),
                    last_modified: Some(lm),
                    raw_message: Some(raw.clone()),
                    enforce_availability: false,
                    property: Some(property.clone()),
                };
                let booking = book(conn, state, actor, request, &source, now)?;
                let id = booking.reservation.id.clone();
                pending = Some(booking);
                ("created", Some(id))
            }
        }
        (ChannelAction::Create | ChannelAction::Modify, Some(r)) if !r.status.holds_rooms() => {
            warnings.push(Warning {
                code: "not_modifiable".into(),
                message: format!(
                    "The reservation is {:?}; the modification changed nothing.",
                    r.status
                )
                .to_lowercase(),
            });
            ("unchanged", Some(r.id))
        }
        (ChannelAction::Create | ChannelAction::Modify, Some(r)) => {
            let (_, rooms) = booking_parts(push.guest, push.rooms)?;
            let id = r.id.clone();
            let w = reservations::modify_from_channel(
                conn,
                state,
                actor,
                r,
                rooms,
                push.special_requests,
                push.guest_comments,
                lm,
                raw.clone(),
                now,
            )?;
            warnings.extend(w);
            ("modified", Some(id))
        }
    };
    store::insert_message(
        conn,
        &ChannelMessage {
            id: crm_domain::id::new_id().to_string(),
            org_id: org,
            channel_code: channel_code.to_string(),
            channel_reservation_id,
            action: push.action.as_str().to_string(),
            last_modified: lm,
            message_hash: hash,
            outcome: outcome.to_string(),
            reservation_id: reservation_id.clone(),
            created_at: now,
        },
    )?;
    // Last: the nights' locks are held until commit.
    if let Some(booking) = pending {
        let (_, held) = booking.hold(conn)?;
        warnings.extend(held);
    }
    Ok(ChannelPushResult {
        outcome: outcome.to_string(),
        reservation_id,
        replayed: false,
        warnings,
    })
}

fn booking_parts(
    guest: Option<ReservationGuestInput>,
    rooms: Option<Vec<RoomStayInput>>,
) -> Result<(ReservationGuestInput, Vec<RoomStayInput>), ApiError> {
    match (guest, rooms) {
        (Some(g), Some(r)) => Ok((g, r)),
        (None, _) => Err(ApiError::field(
            "guest",
            "required",
            "create and modify carry the guest",
        )),
        (_, None) => Err(ApiError::field(
            "rooms",
            "required",
            "create and modify carry the room stays",
        )),
    }
}
