//! Reservations from the front desk and app: create with overbooking
//! control, modify, cancel with the snapshotted policy's fee, no-show, walk,
//! check-in and check-out into a stay.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, ListResponse, PageParams, RequestId};
use crate::routes::identity_documents::IdentityDocumentWrite;
use crate::routes::inventory::{alternatives, load_property};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::contract::stay_price;
use crm_domain::guest::GuestDraft;
use crm_domain::identity::DocumentNumber;
use crm_domain::message::MessageTrigger;
use crm_domain::reservation::{
    arrival_instant, inventory_calendar, nightly_amounts, CancellationPolicy, Channel,
    PostedCharges, ReservationStatus, StayDates,
};
use crm_domain::values::{bounded_text, CountryCode};
use crm_domain::{Errors, FieldError};
use crm_storage::contracts::Terms;
use crm_storage::guests::{self, Guest};
use crm_storage::identity_documents::{self, IdentityDocument};
use crm_storage::inventory::{self, RatePlan, RoomType, SoldNight};
use crm_storage::reservations::{self, Reservation, ReservationFilter, Revision, RoomStay, Stay};
use crm_storage::{properties, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An amount in minor units of an ISO 4217 currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"amount": 45800, "currency": "CNY"}))]
pub struct Money {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationGuestInput {
    /// An existing guest.
    #[serde(default)]
    pub id: Option<String>,
    /// Otherwise a profile: matched to an existing guest by e-mail, phone
    /// or identity document, or created.
    #[serde(default)]
    pub profile: Option<GuestDraft>,
    #[serde(default)]
    pub identity_document: Option<IdentityDocumentWrite>,
    /// Marketing e-mail consent as the booking channel reports it
    /// (AlpineBits `newsletter:yes|no`); recorded with the channel as source.
    #[serde(default)]
    pub newsletter: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomStayInput {
    /// Room type code, e.g. `DLK`.
    pub room_type: String,
    /// Rate plan code, e.g. `BAR`.
    pub rate_plan: String,
    #[schema(value_type = String, format = Date)]
    pub arrival: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub departure: NaiveDate,
    pub adults: i32,
    #[serde(default)]
    pub children_ages: Vec<u8>,
    /// Price of the room stay in minor units of the property's currency.
    /// May be omitted when the reservation quotes a contract whose
    /// negotiated rate prices the stay; a different amount is kept and
    /// counted as off-rate.
    #[serde(default)]
    pub amount: Option<i64>,
    /// The channel's own policy for this stay (OTA `CancelPenalties`);
    /// by default the rate plan's.
    #[serde(default)]
    pub cancellation_policy: Option<CancellationPolicy>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "property_id": "019ab1c2-0000-7000-8000-0000000000b1", "channel": "phone",
    "guest": {"profile": {"family_name": "张", "given_name": "伟", "phones": [{"number": "13812345678"}]}},
    "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": "2026-12-10", "departure": "2026-12-12", "adults": 2, "children_ages": [6], "amount": 91600}],
    "special_requests": "High floor, away from the lift"
}))]
pub struct CreateReservationRequest {
    pub property_id: String,
    pub channel: Channel,
    /// The channel's own id (OTA order number); unique per channel.
    #[serde(default)]
    pub channel_reservation_id: Option<String>,
    /// Generated when omitted.
    #[serde(default)]
    pub confirmation_number: Option<String>,
    pub guest: ReservationGuestInput,
    pub rooms: Vec<RoomStayInput>,
    #[serde(default)]
    pub special_requests: Option<String>,
    #[serde(default)]
    pub guest_comments: Option<String>,
    /// The code of an active contract (协议): its negotiated rates price
    /// the stays, and its validity and allotment apply.
    #[serde(default)]
    pub contract_code: Option<String>,
    /// The corporate or agency account it is booked for (the contract's
    /// own account when a contract code is given).
    #[serde(default)]
    pub account_id: Option<String>,
    /// A campaign's coupon or package code (营销券码): checked (validity,
    /// the guest's and the total limits, a personal code only by its
    /// recipient), its discount taken off the total, the booking
    /// attributed to the campaign.
    #[serde(default)]
    pub coupon_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomStayDto {
    pub id: String,
    pub room_type_id: String,
    pub rate_plan_id: String,
    #[schema(value_type = String, format = Date)]
    pub arrival: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub departure: NaiveDate,
    pub nights: i64,
    pub adults: i32,
    pub children_ages: Vec<u8>,
    pub amount: Money,
    /// What the reservation's contract prices the stay at; `amount`
    /// differing from it is off-rate.
    pub negotiated_amount: Option<Money>,
    /// The policy in force when booked.
    pub cancellation_policy: CancellationPolicy,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-0000000000f1", "property_id": "019ab1c2-0000-7000-8000-0000000000b1",
    "guest_id": "019ab1c2-0000-7000-8000-000000000101", "channel": "ota", "channel_reservation_id": "CTRIP-1029384756",
    "confirmation_number": "HC7K2M9QXT", "status": "confirmed",
    "rooms": [{"id": "019ab1c2-0000-7000-8000-0000000000f2", "room_type_id": "019ab1c2-0000-7000-8000-0000000000a1",
        "rate_plan_id": "019ab1c2-0000-7000-8000-0000000000a2", "arrival": "2026-12-10", "departure": "2026-12-12", "nights": 2,
        "adults": 2, "children_ages": [6], "amount": {"amount": 91600, "currency": "CNY"},
        "cancellation_policy": {"type": "free_until", "hours_before_arrival": 48, "fee": {"type": "first_night"}}}],
    "special_requests": "High floor", "guest_comments": null, "total": {"amount": 91600, "currency": "CNY"},
    "cancellation_fee": null, "compensation": null, "version": 1, "created_by": "019ab1c2-0000-7000-8000-0000000000c1",
    "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"
}))]
pub struct ReservationDto {
    pub id: String,
    pub property_id: String,
    pub guest_id: String,
    pub channel: Channel,
    pub channel_reservation_id: Option<String>,
    pub confirmation_number: String,
    pub status: ReservationStatus,
    pub rooms: Vec<RoomStayDto>,
    pub special_requests: Option<String>,
    pub guest_comments: Option<String>,
    /// After the coupon's discount, if any.
    pub total: Money,
    /// What a campaign's coupon took off the rooms' amounts.
    pub discount: Option<Money>,
    pub coupon_code: Option<String>,
    pub cancellation_fee: Option<Money>,
    pub compensation: Option<String>,
    pub account_id: Option<String>,
    pub contract_id: Option<String>,
    /// On creation only: what was let through but should be known (a
    /// contract's allotment exceeded, nights outside its validity, where
    /// the contract only warns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Reservation> for ReservationDto {
    fn from(r: Reservation) -> Self {
        let money = |amount: i64| Money {
            amount,
            currency: r.currency.clone(),
        };
        ReservationDto {
            rooms: r
                .rooms
                .iter()
                .map(|s| RoomStayDto {
                    id: s.id.clone(),
                    room_type_id: s.room_type_id.clone(),
                    rate_plan_id: s.rate_plan_id.clone(),
                    arrival: s.arrival,
                    departure: s.departure,
                    nights: (s.departure - s.arrival).num_days(),
                    adults: s.adults,
                    children_ages: s.children_ages.clone(),
                    amount: money(s.amount),
                    negotiated_amount: s.negotiated_amount.map(money),
                    cancellation_policy: s.cancellation_policy,
                })
                .collect(),
            total: money(r.total_amount),
            discount: (r.discount_amount > 0).then(|| money(r.discount_amount)),
            coupon_code: r.coupon_code,
            cancellation_fee: r.cancellation_fee.map(money),
            id: r.id,
            property_id: r.property_id,
            guest_id: r.guest_id,
            channel: r.channel,
            channel_reservation_id: r.channel_reservation_id,
            confirmation_number: r.confirmation_number,
            status: r.status,
            special_requests: r.special_requests,
            guest_comments: r.guest_comments,
            compensation: r.compensation,
            account_id: r.account_id,
            contract_id: r.contract_id,
            warnings: Vec::new(),
            version: r.version,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn response(status: StatusCode, r: Reservation) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(r.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/reservations/{}", r.id)));
    }
    res.json(ReservationDto::from(r))
}

fn revision(
    actor: &Actor,
    r: &Reservation,
    action: &str,
    changed: &[&str],
    now: DateTime<Utc>,
) -> Revision {
    Revision {
        id: crm_domain::id::new_id().to_string(),
        reservation_id: r.id.clone(),
        version: r.version,
        action: action.to_string(),
        actor_kind: actor.principal.kind.as_str().to_string(),
        actor_id: Some(actor.principal.id.clone()),
        changed_fields: changed.iter().map(|s| s.to_string()).collect(),
        raw_message: None,
        created_at: now,
    }
}

fn confirmation_number() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = crate::crypto::random_token(8).into_bytes();
    let code: String = bytes
        .iter()
        .take(8)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("HC{code}")
}

/// Finds or creates the booking's guest.
#[allow(clippy::too_many_arguments)]
fn resolve_guest(
    conn: &mut DbConnection,
    state: &AppState,
    actor: &Actor,
    input: ReservationGuestInput,
    region: Option<CountryCode>,
    lenient: bool,
    warnings: &mut Vec<Warning>,
    now: DateTime<Utc>,
) -> Result<Guest, ApiError> {
    let org = actor.principal.org_id.clone();
    if let Some(raw) = input.id {
        let id = uuid::Uuid::parse_str(&raw)
            .map_err(|_| ApiError::field("guest.id", "unknown_guest", "no such guest"))?
            .to_string();
        let guest = guests::find(conn, &org, &id)
            .map_err(|_| ApiError::field("guest.id", "unknown_guest", "no such guest"))?;
        if guest.erased_at.is_some() {
            return Err(ApiError::field(
                "guest.id",
                "guest_erased",
                "this guest's data was erased",
            ));
        }
        return Ok(guest);
    }
    let Some(draft) = input.profile else {
        return Err(ApiError::field(
            "guest",
            "required",
            "give the guest's `id` or a `profile`",
        ));
    };
    let profile = match draft.clone().parse(region, now.date_naive()) {
        Ok(p) => p,
        // A channel's booking is kept even when its contact data is not
        // usable: the bad fields are dropped and reported.
        Err(e) if lenient => {
            let mut draft = draft;
            for f in e.into_field_errors() {
                let top = f
                    .field
                    .split(['[', '.'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                match top.as_str() {
                    "phones" => draft.phones = None,
                    "emails" => draft.emails = None,
                    "birthday" => draft.birthday = None,
                    "language" => draft.language = None,
                    "nationality" => draft.nationality = None,
                    "address" => draft.address = None,
                    _ => {}
                }
                warnings.push(Warning {
                    code: "guest_field_dropped".into(),
                    message: format!("guest.profile.{}: {} (not stored)", f.field, f.message),
                });
            }
            draft
                .parse(region, now.date_naive())
                .map_err(|e| ApiError::from(e.at("guest.profile")))?
        }
        Err(e) => return Err(ApiError::from(e.at("guest.profile"))),
    };
    let document = match input.identity_document {
        Some(d) => {
            let mut errors = Errors::new();
            let country = d.issuing_country.and_then(|c| {
                errors.check(
                    "guest.identity_document.issuing_country",
                    CountryCode::parse(&c),
                )
            });
            let number = errors.check(
                "guest.identity_document.number",
                DocumentNumber::parse(&d.number, d.doc_type, country.map(|c| c.as_str())),
            );
            errors.finish()?;
            number.map(|n| (d.doc_type, n, country, d.expires_on))
        }
        None => None,
    };
    let mut exact: Vec<String> = profile
        .phones
        .iter()
        .map(|(p, _)| p.as_str().to_string())
        .collect();
    exact.extend(profile.emails.iter().map(|(e, _)| e.as_str().to_string()));
    let hashes = document
        .as_ref()
        .map(|(_, n, _, _)| state.cipher.blind_indexes(n.as_str()))
        .unwrap_or_default();
    if let Some(existing) = guests::find_matching(conn, &org, &exact, &hashes)? {
        return Ok(existing);
    }
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
    actor.record(conn, now, "guest.created", "guest", &guest.id, &[])?;
    if let Some((doc_type, number, country, expires_on)) = document {
        let doc = IdentityDocument {
            id: crm_domain::id::new_id().to_string(),
            org_id: org,
            guest_id: guest.id.clone(),
            doc_type,
            number_encrypted: state.cipher.encrypt(number.as_str()),
            number_hash: state.cipher.blind_index(number.as_str()),
            number_masked: number.masked(),
            issuing_country: country.map(|c| c.as_str().to_string()),
            expires_on,
            created_by: actor.principal.id.clone(),
            created_at: now,
        };
        identity_documents::insert(conn, &doc)?;
    }
    Ok(guest)
}

/// Validates room stay inputs against the property's room types and rate
/// plans, collecting errors; with a contract, prices each stay at its
/// negotiated rate.
fn parse_room_stays(
    inputs: &[RoomStayInput],
    types: &[RoomType],
    plans: &[RatePlan],
    contract: Option<&Terms>,
    errors: &mut Errors,
) -> Vec<(RoomType, RoomStay)> {
    let mut rooms: Vec<(RoomType, RoomStay)> = Vec::new();
    for (i, r) in inputs.iter().enumerate() {
        let at = |f: &str| format!("rooms[{i}].{f}");
        let dates = errors.check(
            &format!("rooms[{i}]"),
            StayDates::new(r.arrival, r.departure),
        );
        let code = r.room_type.trim().to_ascii_uppercase();
        let room_type = types.iter().find(|t| t.code == code).cloned();
        if room_type.is_none() {
            errors.push(FieldError::new(
                at("room_type"),
                "unknown_room_type",
                "no room type with this code at the property",
            ));
        }
        let plan_code = r.rate_plan.trim().to_ascii_uppercase();
        let plan = plans.iter().find(|p| p.code == plan_code);
        if let Some(policy) = &r.cancellation_policy {
            errors.check(&at("cancellation_policy"), policy.validate());
        }
        if plan.is_none() {
            errors.push(FieldError::new(
                at("rate_plan"),
                "unknown_rate_plan",
                "no rate plan with this code at the property",
            ));
        }
        if r.children_ages.len() > 10 || r.children_ages.iter().any(|a| *a > 17) {
            errors.push(FieldError::new(
                at("children_ages"),
                "out_of_range",
                "up to 10 children aged 0 to 17",
            ));
        }
        let guests_count = r.adults + r.children_ages.len() as i32;
        if r.adults < 1 {
            errors.push(FieldError::new(
                at("adults"),
                "out_of_range",
                "at least one adult",
            ));
        } else if let Some(t) = &room_type {
            if guests_count > t.max_occupancy {
                errors.push(FieldError::new(
                    at("adults"),
                    "over_occupancy",
                    format!("room type {} sleeps at most {}", t.code, t.max_occupancy),
                ));
            }
        }
        let negotiated = match (contract, &dates, &room_type, plan) {
            (Some(terms), Some(d), Some(t), Some(p)) => stay_price(
                &terms.rates,
                &t.property_id,
                &t.id,
                &p.id,
                d.arrival,
                d.departure,
            ),
            _ => None,
        };
        let amount = r.amount.or(negotiated);
        match amount {
            Some(a) if !(0..=10_000_000_000).contains(&a) => errors.push(FieldError::new(
                at("amount"),
                "out_of_range",
                "0 to 100,000,000.00 in minor units",
            )),
            None if dates.is_some() && room_type.is_some() && plan.is_some() => {
                errors.push(FieldError::new(
                    at("amount"),
                    "required",
                    if contract.is_some() {
                        "the contract has no negotiated rate for this stay: give the amount"
                    } else {
                        "the price of the stay in minor units"
                    },
                ))
            }
            _ => {}
        }
        if let (Some(d), Some(t), Some(p), Some(amount)) = (dates, room_type, plan, amount) {
            rooms.push((
                t.clone(),
                RoomStay {
                    id: crm_domain::id::new_id().to_string(),
                    room_type_id: t.id.clone(),
                    rate_plan_id: p.id.clone(),
                    arrival: d.arrival,
                    departure: d.departure,
                    adults: r.adults,
                    children_ages: r.children_ages.clone(),
                    amount,
                    cancellation_policy: r.cancellation_policy.unwrap_or(p.cancellation_policy),
                    holds_inventory: true,
                    negotiated_amount: negotiated,
                },
            ));
        }
    }
    rooms
}

/// Checks the rooms-sold counters a booking or modification just raised
/// (`changes`, as the write returned them, every committed booking
/// included) against each night's capacity. With `enforce`, an oversold
/// night undoes the change and is a 409 with alternatives for the stay
/// that wanted it (the caller's transaction then rolls back); without, a
/// warning per room type.
fn check_sold(
    conn: &mut DbConnection,
    org: &str,
    types: &[RoomType],
    stays: &[RoomStay],
    changes: &[SoldNight],
    enforce: bool,
) -> Result<Vec<Warning>, ApiError> {
    let raised: Vec<&SoldNight> = changes.iter().filter(|c| c.change > 0).collect();
    let (Some(from), Some(last)) = (
        raised.iter().map(|c| c.night).min(),
        raised.iter().map(|c| c.night).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mut ids: Vec<String> = raised.iter().map(|c| c.room_type_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let overrides =
        inventory::overrides_between(conn, org, &ids, from, last.succ_opt().unwrap_or(last))?;
    let mut oversold: Vec<(&RoomType, NaiveDate)> = Vec::new();
    for c in &raised {
        let Some(t) = types.iter().find(|t| t.id == c.room_type_id) else {
            continue;
        };
        if oversold.iter().any(|(o, _)| o.id == t.id) {
            continue;
        }
        let night_overrides: Vec<(NaiveDate, Option<i64>, bool)> = overrides
            .iter()
            .filter(|o| o.room_type_id == t.id && o.date == c.night)
            .map(|o| (o.date, o.rooms.map(i64::from), o.closed))
            .collect();
        let day = inventory_calendar(
            c.night,
            c.night + chrono::Duration::days(1),
            i64::from(t.room_count),
            i64::from(t.overbooking_percent),
            &night_overrides,
            &[(c.night, c.sold)],
        );
        if day.first().is_some_and(|d| d.oversold()) {
            oversold.push((t, c.night));
        }
    }
    let message = |t: &RoomType| {
        format!(
            "Room type {} is sold out (overbooking allowance included) for some of these nights.",
            t.code
        )
    };
    match oversold.first() {
        None => Ok(Vec::new()),
        Some((t, night)) if enforce => {
            // Alternatives are what others hold, without this change.
            let undo: Vec<(String, NaiveDate, i64)> = changes
                .iter()
                .map(|c| (c.room_type_id.clone(), c.night, -c.change))
                .collect();
            inventory::add_sold_nights(conn, org, &undo)?;
            let stay = stays
                .iter()
                .find(|s| s.room_type_id == t.id && s.arrival <= *night && *night < s.departure);
            let alts = match stay {
                Some(s) => alternatives(
                    conn,
                    org,
                    types,
                    t,
                    s.arrival,
                    s.departure,
                    s.adults + s.children_ages.len() as i32,
                )?,
                None => Vec::new(),
            };
            Err(
                ApiError::conflict("no_availability", message(t)).with_extension(
                    "alternatives",
                    serde_json::to_value(alts).unwrap_or_default(),
                ),
            )
        }
        // A channel's booking is already sold: keep it, and say so.
        Some(_) => Ok(oversold
            .iter()
            .map(|(t, _)| Warning {
                code: "overbooked".into(),
                message: message(t),
            })
            .collect()),
    }
}

/// Where a booking comes from and how strictly it is checked.
pub struct BookingSource {
    /// `phone`, `ota`… for direct bookings; the channel manager's code.
    pub channel_code: String,
    pub last_modified: Option<DateTime<Utc>>,
    /// The message as received, card data removed.
    pub raw_message: Option<String>,
    /// Direct bookings are refused when full; a channel's are kept.
    pub enforce_availability: bool,
    /// The property, when the caller has already read it.
    pub property: Option<crm_storage::properties::Property>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

/// Books a reservation inside the caller's transaction: validates the room
/// stays, resolves the guest and writes the reservation; the returned
/// booking holds its rooms once [`PendingBooking::hold`] runs.
pub fn book(
    conn: &mut DbConnection,
    state: &AppState,
    actor: &Actor,
    req: CreateReservationRequest,
    source: &BookingSource,
    now: DateTime<Utc>,
) -> Result<PendingBooking, ApiError> {
    let org = actor.principal.org_id.clone();
    let property_id = uuid::Uuid::parse_str(&req.property_id)
        .map_err(|_| ApiError::field("property_id", "unknown_property", "no such property"))?
        .to_string();
    let property = match &source.property {
        Some(p) if p.id == property_id && p.org_id == org => p.clone(),
        _ => state
            .config_cache
            .property(conn, &org, &property_id)?
            .ok_or_else(|| {
                ApiError::field("property_id", "unknown_property", "no such property")
            })?,
    };
    let mut errors = Errors::new();
    if req.rooms.is_empty() || req.rooms.len() > 10 {
        errors.push(FieldError::new(
            "rooms",
            "out_of_range",
            "1 to 10 room stays",
        ));
    }
    let special_requests = req.special_requests.and_then(|t| {
        errors
            .check("special_requests", bounded_text(&t, 2000))
            .flatten()
    });
    let guest_comments = req.guest_comments.and_then(|t| {
        errors
            .check("guest_comments", bounded_text(&t, 2000))
            .flatten()
    });
    let channel_reservation_id = req.channel_reservation_id.and_then(|t| {
        errors
            .check("channel_reservation_id", bounded_text(&t, 100))
            .flatten()
    });
    let confirmation = match req.confirmation_number {
        Some(c) => errors
            .check("confirmation_number", bounded_text(&c, 50))
            .flatten(),
        None => None,
    };
    let types = state.config_cache.room_types(conn, &org, &property_id)?;
    let plans = state.config_cache.rate_plans(conn, &org, &property_id)?;
    let contract = match &req.contract_code {
        Some(code) => Some(crate::contracts::for_booking(
            conn,
            &org,
            code,
            &property_id,
        )?),
        None => None,
    };
    let rooms = parse_room_stays(
        &req.rooms,
        &types,
        &plans,
        contract.as_ref().map(|c| &c.terms),
        &mut errors,
    );
    errors.finish()?;
    let account_id = booking_account(conn, &org, req.account_id, contract.as_ref())?;
    let enforce_contract = contract
        .as_ref()
        .is_some_and(|c| crate::contracts::enforced(&c.terms, source.enforce_availability));
    let mut contract_warnings = match &contract {
        Some(c) => {
            let stays: Vec<RoomStay> = rooms.iter().map(|(_, s)| s.clone()).collect();
            crate::contracts::check_validity(&c.terms, &stays, enforce_contract)?
        }
        None => Vec::new(),
    };

    let region = CountryCode::parse(&property.country).ok();
    let newsletter = req.guest.newsletter;
    let mut guest_warnings = Vec::new();
    let guest = resolve_guest(
        conn,
        state,
        actor,
        req.guest,
        region,
        !source.enforce_availability,
        &mut guest_warnings,
        now,
    )?;
    if let Some(granted) = newsletter {
        crm_storage::consents::insert(
            conn,
            &crm_storage::consents::ConsentRecord {
                id: crm_domain::id::new_id().to_string(),
                org_id: guest.org_id.clone(),
                guest_id: guest.id.clone(),
                purpose: crm_domain::consent::ConsentPurpose::Marketing,
                channel: Some(crm_domain::consent::ConsentChannel::Email),
                status: if granted {
                    crm_domain::consent::ConsentStatus::Granted
                } else {
                    crm_domain::consent::ConsentStatus::Withdrawn
                },
                source: format!("channel:{}", source.channel_code),
                recorded_by: actor.principal.id.clone(),
                recorded_at: now,
            },
        )?;
    }
    let gross: i64 = rooms.iter().map(|(_, s)| s.amount).sum();
    let coupon = match &req.coupon_code {
        Some(code) => Some(crate::campaigns::redeem(
            conn, &org, code, &guest, &property, gross, now,
        )?),
        None => None,
    };
    let discount = coupon.as_ref().map_or(0, |c| c.discount);
    let reservation = Reservation {
        id: crm_domain::id::new_id().to_string(),
        org_id: org,
        property_id,
        guest_id: guest.id.clone(),
        channel: req.channel,
        channel_code: source.channel_code.clone(),
        channel_reservation_id,
        channel_last_modified: source.last_modified,
        confirmation_number: confirmation.unwrap_or_else(confirmation_number),
        status: ReservationStatus::Confirmed,
        special_requests,
        guest_comments,
        currency: property.currency.clone(),
        total_amount: gross - discount,
        cancellation_fee: None,
        compensation: None,
        status_changed_at: None,
        version: 1,
        created_by: actor.principal.id.clone(),
        created_at: now,
        updated_at: now,
        account_id,
        contract_id: contract.as_ref().map(|c| c.contract.id.clone()),
        discount_amount: discount,
        coupon_code: coupon.as_ref().map(|c| c.code.clone()),
        rooms: rooms.into_iter().map(|(_, s)| s).collect(),
    };
    reservations::insert(conn, &reservation).map_err(|e| match e {
        StorageError::Duplicate { .. } => ApiError::conflict(
            "reservation_exists",
            "A reservation with this channel reservation id or confirmation number already exists.",
        ),
        other => other.into(),
    })?;
    if let Some(c) = &coupon {
        crate::campaigns::record_redemption(conn, c, &reservation, now)?;
    }
    let mut rev = revision(actor, &reservation, "created", &[], now);
    rev.raw_message = source.raw_message.clone();
    reservations::insert_revision(conn, &reservation.org_id, &rev)?;
    actor.record(
        conn,
        now,
        "reservation.created",
        "reservation",
        &reservation.id,
        &[],
    )?;
    // The hotel confirms what was booked with it; OTAs confirm their own.
    if reservation.channel != Channel::Ota {
        let values = crate::messaging::reservation_values(&guest, &property, &reservation, &types);
        crate::messaging::enqueue(
            conn,
            MessageTrigger::BookingConfirmation,
            &guest,
            &property,
            &reservation.id,
            values,
            now,
        )?;
    }
    contract_warnings.extend(guest_warnings);
    Ok(PendingBooking {
        reservation,
        warnings: contract_warnings,
        types,
        enforce: source.enforce_availability,
        contract: contract.map(|c| c.terms),
        enforce_contract,
    })
}

/// The guest, property and message variables of a reservation's
/// check-in and check-out messages.
fn message_context(
    conn: &mut DbConnection,
    r: &Reservation,
) -> Result<
    (
        Guest,
        crm_storage::properties::Property,
        std::collections::BTreeMap<String, String>,
    ),
    ApiError,
> {
    let guest = guests::find(conn, &r.org_id, &r.guest_id)?;
    let property = properties::find(conn, &r.org_id, &r.property_id)?;
    let types = inventory::room_types_of(conn, &r.org_id, &r.property_id)?;
    let values = crate::messaging::reservation_values(&guest, &property, r, &types);
    Ok((guest, property, values))
}

/// The account a booking is for: the one given (which must exist), or
/// the quoted contract's; both given, they must agree.
fn booking_account(
    conn: &mut DbConnection,
    org: &str,
    given: Option<String>,
    contract: Option<&crate::contracts::AppliedContract>,
) -> Result<Option<String>, ApiError> {
    let unknown = || ApiError::field("account_id", "unknown_account", "no such account");
    let given = match given {
        Some(raw) => {
            let id = uuid::Uuid::parse_str(&raw)
                .map_err(|_| unknown())?
                .to_string();
            crm_storage::accounts::find(conn, org, &id).map_err(|e| match e {
                StorageError::NotFound => unknown(),
                other => other.into(),
            })?;
            Some(id)
        }
        None => None,
    };
    match (given, contract) {
        (Some(a), Some(c)) if a != c.contract.account_id => Err(ApiError::field(
            "account_id",
            "account_mismatch",
            "the contract belongs to another account",
        )),
        (_, Some(c)) => Ok(Some(c.contract.account_id.clone())),
        (given, None) => Ok(given),
    }
}

/// A booking written but not yet counted against inventory. Counting locks
/// the nights' counters until commit, and every booking of the same nights
/// waits for them, so it comes last: [`PendingBooking::hold`] is the
/// caller's final step before the transaction commits, after anything
/// else it writes.
#[must_use = "a booking holds no rooms until `hold` is called"]
pub struct PendingBooking {
    pub reservation: Reservation,
    warnings: Vec<Warning>,
    types: std::sync::Arc<Vec<RoomType>>,
    enforce: bool,
    /// The terms of the contract it quotes, for the allotment check.
    contract: Option<Terms>,
    enforce_contract: bool,
}

impl PendingBooking {
    /// Counts the nights as sold and checks them (a 409 when enforced and
    /// full, else an `overbooked` warning).
    pub fn hold(self, conn: &mut DbConnection) -> Result<(Reservation, Vec<Warning>), ApiError> {
        let PendingBooking {
            reservation,
            mut warnings,
            types,
            enforce,
            contract,
            enforce_contract,
        } = self;
        let moved = reservations::count_sold(conn, &reservation)?;
        let mut held = check_sold(
            conn,
            &reservation.org_id,
            &types,
            &reservation.rooms,
            &moved.sold,
            enforce,
        )?;
        if let Some(terms) = &contract {
            held.extend(crate::contracts::check_allotment(
                terms,
                &moved.contract,
                enforce_contract,
            )?);
        }
        held.append(&mut warnings);
        Ok((reservation, held))
    }
}

/// Book rooms for a guest.
///
/// The guest is an existing `id`, or a `profile` matched by e-mail, phone
/// or identity document to an existing guest, or else created. Each room
/// stay's rate plan policy is copied onto the reservation. Past the room
/// type's overbooking allowance it is a 409 with `alternatives`.
#[utoipa::path(
    operation_id = "createReservation",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    request_body = CreateReservationRequest,
    responses(
        (status = 201, description = "Booked.", body = ReservationDto),
        (status = 409, description = "Sold out (`no_availability`, with `alternatives`) or a duplicate channel reservation id.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations")]
pub async fn create_reservation(
    auth: Auth<roles::GuestWriters>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<CreateReservationRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let shared = state.get_ref().clone();
    let request = body.0;
    let source = BookingSource {
        channel_code: request.channel.as_str().to_string(),
        last_modified: None,
        raw_message: None,
        enforce_availability: true,
        property: None,
    };
    let (r, warnings) = state
        .write(move |conn| book(conn, &shared, &actor, request, &source, now)?.hold(conn))
        .await?;
    let mut dto = ReservationDto::from(r);
    dto.warnings = warnings;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag_for(dto.version)))
        .insert_header((header::LOCATION, format!("/api/v1/reservations/{}", dto.id)))
        .json(dto))
}

fn load(conn: &mut DbConnection, org: &str, id: &str) -> Result<Reservation, ApiError> {
    reservations::find(conn, org, id)
        .map_err(|e| or_not_found("reservation_not_found", "reservation")(e.into()))
}

/// Get a reservation.
#[utoipa::path(
    operation_id = "getReservation",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, description = "The reservation.", body = ReservationDto))
)]
#[get("/reservations/{reservation_id}")]
pub async fn get_reservation(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "reservation_not_found", "reservation")?;
    let org = auth.org_id.clone();
    let r = state.read(move |conn| load(conn, &org, &id)).await?;
    Ok(response(StatusCode::OK, r))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReservationListParams {
    pub property_id: Option<String>,
    pub guest_id: Option<String>,
    pub status: Option<ReservationStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List reservations.
#[utoipa::path(
    operation_id = "listReservations",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(ReservationListParams),
    responses((status = 200, description = "A page of reservations.", body = ListResponse<ReservationDto>))
)]
#[get("/reservations")]
pub async fn list_reservations(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    q: web::Query<ReservationListParams>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let filter = ReservationFilter {
        property_id: q.property_id,
        guest_id: q.guest_id,
        status: q.status,
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| reservations::list(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, ReservationDto::from)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"special_requests": "Extra pillows",
    "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": "2026-12-10", "departure": "2026-12-13", "adults": 2, "amount": 137400}]}))]
pub struct UpdateReservationRequest {
    #[serde(default)]
    pub special_requests: Option<String>,
    #[serde(default)]
    pub guest_comments: Option<String>,
    /// Replaces every room stay (dates, room types, guests, amounts) of a
    /// confirmed reservation; checked against availability like a new
    /// booking, its own rooms released first.
    #[serde(default)]
    pub rooms: Option<Vec<RoomStayInput>>,
}

/// Modify a reservation: requests, comments, or its room stays (merge
/// patch, `If-Match`). Every change is a revision.
#[utoipa::path(
    operation_id = "updateReservation",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(("reservation_id" = String, Path, description = "Reservation id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = UpdateReservationRequest, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated; a revision is recorded.", body = ReservationDto))
)]
#[patch("/reservations/{reservation_id}")]
pub async fn update_reservation(
    auth: Auth<roles::GuestWriters>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<UpdateReservationRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "reservation_not_found", "reservation")?;
    let mut errors = Errors::new();
    let special = body.0.special_requests.map(|t| {
        errors
            .check("special_requests", bounded_text(&t, 2000))
            .flatten()
    });
    let comments = body.0.guest_comments.map(|t| {
        errors
            .check("guest_comments", bounded_text(&t, 2000))
            .flatten()
    });
    errors.finish()?;
    let new_rooms = body.0.rooms;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let shared = state.get_ref().clone();
    let r = state
        .write(move |conn| {
            let current = load(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let mut next = current.clone();
            let mut changed = Vec::new();
            let mut types = None;
            if let Some(inputs) = new_rooms {
                if current.status != ReservationStatus::Confirmed {
                    return Err(ApiError::conflict(
                        "not_modifiable",
                        "Only confirmed reservations can change their rooms.",
                    ));
                }
                let room_types =
                    shared
                        .config_cache
                        .room_types(conn, &org, &current.property_id)?;
                let plans = shared
                    .config_cache
                    .rate_plans(conn, &org, &current.property_id)?;
                let mut errors = Errors::new();
                if inputs.is_empty() || inputs.len() > 10 {
                    errors.push(FieldError::new(
                        "rooms",
                        "out_of_range",
                        "1 to 10 room stays",
                    ));
                }
                let terms = match &current.contract_id {
                    Some(c) => Some(crate::contracts::terms_in_force(conn, &org, c)?),
                    None => None,
                };
                let rooms =
                    parse_room_stays(&inputs, &room_types, &plans, terms.as_ref(), &mut errors);
                errors.finish()?;
                next.rooms = rooms.into_iter().map(|(_, r)| r).collect();
                crate::campaigns::reprice(conn, &mut next)?;
                changed.push("rooms");
                types = Some((room_types, terms));
            }
            if let Some(s) = special.filter(|s| *s != current.special_requests) {
                next.special_requests = s;
                changed.push("special_requests");
            }
            if let Some(c) = comments.filter(|c| *c != current.guest_comments) {
                next.guest_comments = c;
                changed.push("guest_comments");
            }
            if changed.is_empty() {
                return Ok(current);
            }
            next.version += 1;
            next.updated_at = now;
            reservations::insert_revision(
                conn,
                &org,
                &revision(&actor, &next, "modified", &changed, now),
            )?;
            actor.record(
                conn,
                now,
                "reservation.modified",
                "reservation",
                &next.id,
                &changed,
            )?;
            // Last: the rooms' counters stay locked until commit. Only the
            // nights it adds are checked: the ones it keeps are its own.
            let moved = reservations::update(conn, &next, expected)?;
            if let Some((types, terms)) = types {
                check_sold(conn, &org, &types, &next.rooms, &moved.sold, true)?;
                if let Some(terms) = terms {
                    let enforce = crate::contracts::enforced(&terms, true);
                    crate::contracts::check_validity(&terms, &next.rooms, enforce)?;
                    crate::contracts::check_allotment(&terms, &moved.contract, enforce)?;
                }
            }
            Ok(next)
        })
        .await?;
    Ok(response(StatusCode::OK, r))
}

/// The fee of cancelling `r` at `at`: each room stay under its own
/// snapshotted policy.
fn cancellation_fee(r: &Reservation, tz: chrono_tz::Tz, at: DateTime<Utc>) -> i64 {
    r.rooms
        .iter()
        .map(|s| {
            s.cancellation_policy.fee(
                at,
                s.arrival,
                tz,
                &nightly_amounts(s.amount, (s.departure - s.arrival).num_days()),
            )
        })
        .sum()
}

fn property_zone(
    conn: &mut DbConnection,
    org: &str,
    property_id: &str,
) -> Result<chrono_tz::Tz, ApiError> {
    let p = load_property(conn, org, property_id)?;
    p.time_zone
        .parse::<chrono_tz::Tz>()
        .map_err(|_| ApiError::internal("stored time zone is invalid"))
}

fn transition(current: &Reservation, next: ReservationStatus) -> Result<(), ApiError> {
    if current.status.can_become(next) {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "invalid_status_transition",
            format!(
                "A {:?} reservation cannot become {:?}.",
                current.status, next
            )
            .to_lowercase(),
        ))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CancelParams {
    /// Only show what cancelling now would cost; change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancellationQuote {
    pub reservation_id: String,
    pub fee: Money,
    /// Whether this was only a quote.
    pub dry_run: bool,
}

/// Cancel a reservation; the fee follows each room's snapshotted policy
/// and the cancellation time. `?dry_run=true` quotes it first.
#[utoipa::path(
    operation_id = "cancelReservation",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(("reservation_id" = String, Path, description = "Reservation id"), CancelParams),
    responses(
        (status = 200, description = "The fee; with `dry_run` nothing changed, otherwise the reservation is cancelled.", body = CancellationQuote),
        (status = 409, description = "Not cancellable in its state.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations/{reservation_id}/cancel")]
pub async fn cancel_reservation(
    auth: Auth<roles::GuestWriters>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<CancelParams>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "reservation_not_found", "reservation")?;
    let dry_run = q.dry_run;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let quote = state
        .write(move |conn| {
            let current = load(conn, &org, &id)?;
            transition(&current, ReservationStatus::Cancelled)?;
            let (reservation_id, currency) = (current.id.clone(), current.currency.clone());
            let fee = if dry_run {
                let tz = property_zone(conn, &org, &current.property_id)?;
                cancellation_fee(&current, tz, now)
            } else {
                apply_cancellation(conn, &actor, current, None, None, now)?
            };
            Ok(CancellationQuote {
                reservation_id,
                fee: Money {
                    amount: fee,
                    currency,
                },
                dry_run,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(quote))
}

async fn change_status(
    auth: &Auth<roles::Desk>,
    request_id: RequestId,
    state: &web::Data<AppState>,
    raw_id: &str,
    next_status: ReservationStatus,
    compensation: Option<String>,
    charges: Option<PostedCharges>,
) -> ApiResult<Reservation> {
    let id = path_id(raw_id, "reservation_not_found", "reservation")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, state);
    let org = auth.org_id.clone();
    let secret = state.settings.jwt_secret.clone();
    state
        .write(move |conn| {
            let current = load(conn, &org, &id)?;
            transition(&current, next_status)?;
            let tz = property_zone(conn, &org, &current.property_id)?;
            let today = now.with_timezone(&tz).date_naive();
            let arrival = current.rooms.iter().map(|s| s.arrival).min().unwrap_or(today);
            let departure = current.rooms.iter().map(|s| s.departure).max().unwrap_or(today);
            let mut next = current.clone();
            next.status = next_status;
            next.status_changed_at = Some(now);
            next.version += 1;
            next.updated_at = now;
            let mut changed = vec!["status"];
            let action = match next_status {
                ReservationStatus::CheckedIn => {
                    if today < arrival || today >= departure {
                        return Err(ApiError::conflict("outside_stay_dates", "Check-in is possible from the arrival date until the night before departure (property time)."));
                    }
                    let (guest, property, values) = message_context(conn, &current)?;
                    crate::messaging::enqueue(
                        conn,
                        MessageTrigger::InStayWelcome,
                        &guest,
                        &property,
                        &current.id,
                        values,
                        now,
                    )?;
                    "checked_in"
                }
                ReservationStatus::NoShow => {
                    if now < arrival_instant(arrival, tz) {
                        return Err(ApiError::conflict("before_arrival", "A guest can be a no-show only once the arrival time has passed."));
                    }
                    next.cancellation_fee = Some(cancellation_fee(&current, tz, now));
                    next.rooms.iter_mut().for_each(|s| s.holds_inventory = false);
                    changed.push("cancellation_fee");
                    "no_show"
                }
                ReservationStatus::Walked => {
                    next.compensation = compensation;
                    next.rooms.iter_mut().for_each(|s| s.holds_inventory = false);
                    changed.push("compensation");
                    "walked"
                }
                ReservationStatus::CheckedOut => {
                    let charges = charges.unwrap_or_default();
                    next.rooms.iter_mut().for_each(|s| s.holds_inventory = false);
                    let nights = (departure - arrival).num_days();
                    let stay = Stay {
                        id: crm_domain::id::new_id().to_string(),
                        org_id: org.clone(),
                        guest_id: current.guest_id.clone(),
                        reservation_id: current.id.clone(),
                        property_id: current.property_id.clone(),
                        channel: current.channel.as_str().to_string(),
                        arrival,
                        departure,
                        nights: i32::try_from(nights).unwrap_or(i32::MAX),
                        currency: current.currency.clone(),
                        room_revenue: charges.room,
                        food_and_beverage_revenue: charges.food_and_beverage,
                        other_revenue: charges.other,
                        total_revenue: charges.total(),
                        checked_out_at: now.naive_utc(),
                    };
                    reservations::record_stay(conn, &stay, now)?;
                    crate::loyalty::on_check_out(conn, &actor, &stay, now.date_naive(), now)?;
                    let invitation = crate::routes::surveys::invite_after_stay(conn, &stay, now)?;
                    let (guest, property, mut values) = message_context(conn, &current)?;
                    if let Some(i) = &invitation {
                        let token = crate::routes::surveys::link_token(
                            &secret,
                            &i.id,
                            i.expires_at,
                        );
                        values.insert("survey.link".into(), format!("/api/v1/public/surveys/{token}"));
                    }
                    crate::messaging::enqueue(
                        conn,
                        MessageTrigger::PostStayThankYou,
                        &guest,
                        &property,
                        &stay.id,
                        values,
                        now,
                    )?;
                    actor.record(conn, now, "stay.checked_out", "guest", &current.guest_id, &["stays"])?;
                    "checked_out"
                }
                _ => return Err(ApiError::internal("unsupported transition")),
            };
            reservations::update(conn, &next, current.version)?;
            reservations::insert_revision(conn, &org, &revision(&actor, &next, action, &changed, now))?;
            actor.record(conn, now, &format!("reservation.{action}"), "reservation", &next.id, &changed)?;
            Ok(next)
        })
        .await
}

/// Check a guest in (from the arrival date, property time).
#[utoipa::path(
    operation_id = "checkIn",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, description = "Checked in.", body = ReservationDto))
)]
#[post("/reservations/{reservation_id}/check-in")]
pub async fn check_in(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let r = change_status(
        &auth,
        request_id,
        &state,
        &path,
        ReservationStatus::CheckedIn,
        None,
        None,
    )
    .await?;
    Ok(response(StatusCode::OK, r))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"charges": {"room": 91600, "food_and_beverage": 12800, "other": 0}}))]
pub struct CheckOutRequest {
    /// Charges posted during the stay, by category, in minor units.
    #[serde(default)]
    pub charges: PostedCharges,
}

/// Check a guest out: records the stay and updates the guest's statistics.
#[utoipa::path(
    operation_id = "checkOut",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("reservation_id" = String, Path, description = "Reservation id")),
    request_body = CheckOutRequest,
    responses((status = 200, description = "Checked out.", body = ReservationDto))
)]
#[post("/reservations/{reservation_id}/check-out")]
pub async fn check_out(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<CheckOutRequest>,
) -> ApiResult<HttpResponse> {
    body.0
        .charges
        .validate()
        .map_err(|e| ApiError::from(e.at("charges")))?;
    let r = change_status(
        &auth,
        request_id,
        &state,
        &path,
        ReservationStatus::CheckedOut,
        None,
        Some(body.0.charges),
    )
    .await?;
    Ok(response(StatusCode::OK, r))
}

/// Mark a reservation a no-show (after the arrival time); the policy's fee
/// is recorded.
#[utoipa::path(
    operation_id = "markNoShow",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, description = "No-show.", body = ReservationDto))
)]
#[post("/reservations/{reservation_id}/no-show")]
pub async fn no_show(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let r = change_status(
        &auth,
        request_id,
        &state,
        &path,
        ReservationStatus::NoShow,
        None,
        None,
    )
    .await?;
    Ok(response(StatusCode::OK, r))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"compensation": "Moved to Hotel Nikko for 2 nights at our cost, taxi paid, 500 CNY voucher"}))]
pub struct WalkRequest {
    /// What the guest was given.
    pub compensation: String,
}

/// Walk a guest: moved to another hotel because of overbooking, with the
/// compensation recorded.
#[utoipa::path(
    operation_id = "walkGuest",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("reservation_id" = String, Path, description = "Reservation id")),
    request_body = WalkRequest,
    responses((status = 200, description = "Walked.", body = ReservationDto))
)]
#[post("/reservations/{reservation_id}/walk")]
pub async fn walk(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<WalkRequest>,
) -> ApiResult<HttpResponse> {
    let compensation = crm_domain::values::required_text(&body.0.compensation, 2000)
        .map_err(|e| ApiError::from(e.at("compensation")))?;
    let r = change_status(
        &auth,
        request_id,
        &state,
        &path,
        ReservationStatus::Walked,
        Some(compensation),
        None,
    )
    .await?;
    Ok(response(StatusCode::OK, r))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDto {
    pub id: String,
    pub version: i32,
    pub action: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub changed_fields: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Every change of a reservation: who, when, what.
#[utoipa::path(
    operation_id = "listReservationRevisions",
    tag = "reservations",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, description = "Revisions, oldest first.", body = ListResponse<RevisionDto>))
)]
#[get("/reservations/{reservation_id}/revisions")]
pub async fn list_revisions(
    auth: Auth<roles::GuestWriters>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "reservation_not_found", "reservation")?;
    let org = auth.org_id.clone();
    let revs = state
        .read(move |conn| {
            load(conn, &org, &id)?;
            Ok::<_, ApiError>(reservations::revisions(conn, &org, &id)?)
        })
        .await?;
    let data = revs
        .into_iter()
        .map(|r| RevisionDto {
            id: r.id,
            version: r.version,
            action: r.action,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            changed_fields: r.changed_fields,
            created_at: r.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ListResponse {
        data,
        next_cursor: None,
    }))
}

/// Cancels a reservation: the fee follows each room's snapshotted policy at
/// `now`; the rooms are released; a revision (with the channel's raw
/// message, if any) and the audit event are written. Returns the fee.
pub fn apply_cancellation(
    conn: &mut DbConnection,
    actor: &Actor,
    current: Reservation,
    channel_last_modified: Option<DateTime<Utc>>,
    raw_message: Option<String>,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    let org = actor.principal.org_id.clone();
    let tz = property_zone(conn, &org, &current.property_id)?;
    let fee = cancellation_fee(&current, tz, now);
    let mut next = current.clone();
    next.status = ReservationStatus::Cancelled;
    next.cancellation_fee = Some(fee);
    next.status_changed_at = Some(now);
    if channel_last_modified.is_some() {
        next.channel_last_modified = channel_last_modified;
    }
    next.rooms
        .iter_mut()
        .for_each(|s| s.holds_inventory = false);
    next.version += 1;
    next.updated_at = now;
    reservations::update(conn, &next, current.version)?;
    // The code may be used again.
    crm_storage::campaigns::release(conn, &org, &next.id, now)?;
    let mut rev = revision(
        actor,
        &next,
        "cancelled",
        &["status", "cancellation_fee"],
        now,
    );
    rev.raw_message = raw_message;
    reservations::insert_revision(conn, &org, &rev)?;
    actor.record(
        conn,
        now,
        "reservation.cancelled",
        "reservation",
        &next.id,
        &["status"],
    )?;
    Ok(fee)
}

/// Applies a channel's newer version of a booking: its rooms, requests and
/// comments replace the old ones. Its own rooms are released first, so it
/// never competes with itself for inventory.
#[allow(clippy::too_many_arguments)]
pub fn modify_from_channel(
    conn: &mut DbConnection,
    state: &AppState,
    actor: &Actor,
    current: Reservation,
    inputs: Vec<RoomStayInput>,
    special_requests: Option<String>,
    guest_comments: Option<String>,
    last_modified: DateTime<Utc>,
    raw_message: String,
    now: DateTime<Utc>,
) -> Result<Vec<Warning>, ApiError> {
    let org = actor.principal.org_id.clone();
    let types = state
        .config_cache
        .room_types(conn, &org, &current.property_id)?;
    let plans = state
        .config_cache
        .rate_plans(conn, &org, &current.property_id)?;
    let mut errors = Errors::new();
    if inputs.is_empty() || inputs.len() > 10 {
        errors.push(FieldError::new(
            "rooms",
            "out_of_range",
            "1 to 10 room stays",
        ));
    }
    let terms = match &current.contract_id {
        Some(c) => Some(crate::contracts::terms_in_force(conn, &org, c)?),
        None => None,
    };
    let rooms = parse_room_stays(&inputs, &types, &plans, terms.as_ref(), &mut errors);
    let special_requests = special_requests.and_then(|t| {
        errors
            .check("special_requests", bounded_text(&t, 2000))
            .flatten()
    });
    let guest_comments = guest_comments.and_then(|t| {
        errors
            .check("guest_comments", bounded_text(&t, 2000))
            .flatten()
    });
    errors.finish()?;
    let mut next = current.clone();
    next.rooms = rooms.into_iter().map(|(_, s)| s).collect();
    crate::campaigns::reprice(conn, &mut next)?;
    next.special_requests = special_requests;
    next.guest_comments = guest_comments;
    next.channel_last_modified = Some(last_modified);
    next.version += 1;
    next.updated_at = now;
    let mut changed = vec!["rooms"];
    if next.special_requests != current.special_requests {
        changed.push("special_requests");
    }
    if next.guest_comments != current.guest_comments {
        changed.push("guest_comments");
    }
    let mut rev = revision(actor, &next, "modified", &changed, now);
    rev.raw_message = Some(raw_message);
    reservations::insert_revision(conn, &org, &rev)?;
    actor.record(
        conn,
        now,
        "reservation.modified",
        "reservation",
        &next.id,
        &changed,
    )?;
    // Last: the rooms' counters stay locked until commit.
    let moved = reservations::update(conn, &next, current.version)?;
    let mut warnings = check_sold(conn, &org, &types, &next.rooms, &moved.sold, false)?;
    if let Some(terms) = terms {
        warnings.extend(crate::contracts::check_validity(
            &terms,
            &next.rooms,
            false,
        )?);
        warnings.extend(crate::contracts::check_allotment(
            &terms,
            &moved.contract,
            false,
        )?);
    }
    Ok(warnings)
}
