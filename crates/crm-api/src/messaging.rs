//! Sending guest messages: the outbox row written in the transaction of
//! the event (a direct booking's confirmation, the post-stay thank-you
//! with the survey link, the birthday greeting), and the worker that delivers it through a
//! provider — the log (default, for local use) or a generic HTTP gateway
//! (`HOTEL_CRM_MESSAGE_HTTP_URL`, for SMS/WeChat/e-mail relays) — with
//! retries.

use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_domain::consent::ConsentChannel;
use crm_domain::message::{
    after_quiet_hours, may_send, render, MessageChannel, MessageTrigger, Suppression,
};
use crm_storage::codec::enum_to_db;
use crm_storage::guests::Guest;
use crm_storage::messages::{self as store, MessageTemplate, OutboxMessage};
use crm_storage::properties::Property;
use crm_storage::{consents, DbConnection};
use std::collections::BTreeMap;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i32 = 8;

/// The variables every message of a guest at a property can use.
pub fn base_values(g: &Guest, p: &Property) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("guest.display_name".into(), g.profile.display_name());
    let family = g
        .profile
        .family_name
        .clone()
        .or(g.profile.family_name_latin.clone());
    let given = g
        .profile
        .given_name
        .clone()
        .or(g.profile.given_name_latin.clone());
    v.insert("guest.family_name".into(), family.unwrap_or_default());
    v.insert("guest.given_name".into(), given.unwrap_or_default());
    v.insert("property.name".into(), p.name.clone());
    v
}

/// The property a guest hears from when no stay is at hand: that of their
/// latest stay, else `fallback` (the organisation's first, read once by
/// the caller).
pub fn home_property(
    conn: &mut DbConnection,
    org: &str,
    guest_id: &str,
    fallback: Option<&Property>,
) -> Result<Option<Property>, ApiError> {
    Ok(
        match crm_storage::insights::last_property_of(conn, org, guest_id)? {
            Some(p) => Some(crm_storage::properties::find(conn, org, &p)?),
            None => fallback.cloned(),
        },
    )
}

/// The variables of a reservation's messages: the guest's and property's
/// with the booking's dates, nights, room type and confirmation number.
pub fn reservation_values(
    guest: &Guest,
    property: &Property,
    r: &crm_storage::reservations::Reservation,
    types: &[crm_storage::inventory::RoomType],
) -> BTreeMap<String, String> {
    let mut v = base_values(guest, property);
    v.insert(
        "reservation.confirmation_number".into(),
        r.confirmation_number.clone(),
    );
    if let (Some(arrival), Some(departure)) = (
        r.rooms.iter().map(|s| s.arrival).min(),
        r.rooms.iter().map(|s| s.departure).max(),
    ) {
        v.insert("reservation.arrival".into(), arrival.to_string());
        v.insert("reservation.departure".into(), departure.to_string());
        v.insert(
            "reservation.nights".into(),
            (departure - arrival).num_days().to_string(),
        );
    }
    if let Some(t) = r
        .rooms
        .first()
        .and_then(|s| types.iter().find(|t| t.id == s.room_type_id))
    {
        v.insert("reservation.room_type".into(), t.name.clone());
    }
    v
}

/// The languages a guest's templates are looked for in, best first: the
/// guest's (and its primary subtag), then the hotel's Chinese, then
/// English.
pub fn languages_of(guest: &Guest) -> Vec<String> {
    let mut languages: Vec<String> = guest
        .profile
        .language
        .iter()
        .map(|l| l.as_str().to_string())
        .collect();
    if let Some(primary) = languages
        .first()
        .and_then(|l| l.split('-').next())
        .map(str::to_string)
    {
        languages.push(primary);
    }
    languages.extend(["zh".to_string(), "en".to_string()]);
    languages
}

/// How a message reaches a guest, or why it does not.
pub enum Choice<'a> {
    Send {
        template: &'a MessageTemplate,
        address: String,
    },
    Suppress {
        /// The template of the best try, if any channel had one.
        template: Option<&'a MessageTemplate>,
        why: Suppression,
    },
}

/// Picks the channel among a trigger's active `templates`: e-mail if the
/// guest has an address (and, for marketing, consent on it and room under
/// the weekly cap) and a template in one of their languages, else SMS.
/// Otherwise the reason of the best try: a missing address is the weakest.
pub fn choose<'a>(
    trigger: MessageTrigger,
    guest: &Guest,
    templates: &'a [MessageTemplate],
    consented: &[ConsentChannel],
    recent_marketing: i64,
) -> Choice<'a> {
    if guest.erased_at.is_some() || guest.merged_into.is_some() || guest.blacklist.is_some() {
        return Choice::Suppress {
            template: None,
            why: Suppression::GuestExcluded,
        };
    }
    let languages = languages_of(guest);
    let email = guest.profile.emails.first().map(|(e, _)| e.as_str());
    let phone = guest.profile.phones.first().map(|(p, _)| p.as_str());
    let mut refusal: Option<(&MessageTemplate, Suppression)> = None;
    for (channel, consent_channel, address) in [
        (MessageChannel::Email, ConsentChannel::Email, email),
        (MessageChannel::Sms, ConsentChannel::Sms, phone),
    ] {
        let Some(t) = languages.iter().find_map(|l| {
            templates
                .iter()
                .find(|t| t.channel == channel && t.language.eq_ignore_ascii_case(l))
        }) else {
            continue;
        };
        match may_send(
            trigger,
            address.is_some(),
            consented.contains(&consent_channel),
            recent_marketing,
        ) {
            Ok(()) => {
                return Choice::Send {
                    template: t,
                    address: address.unwrap_or_default().to_string(),
                }
            }
            Err(why) => {
                if refusal
                    .as_ref()
                    .is_none_or(|(_, r)| *r == Suppression::NoAddress)
                {
                    refusal = Some((t, why));
                }
            }
        }
    }
    match refusal {
        Some((t, why)) => Choice::Suppress {
            template: Some(t),
            why,
        },
        None => Choice::Suppress {
            template: None,
            why: Suppression::NoTemplate,
        },
    }
}

/// The outbox row of a choice: rendered and queued (held through the
/// quiet hours of `tz` for texts), or suppressed with the reason.
#[allow(clippy::too_many_arguments)]
pub fn outbox_row(
    choice: &Choice,
    trigger_name: &str,
    guest: &Guest,
    property_id: &str,
    dedupe_key: String,
    values: &BTreeMap<String, String>,
    tz: Option<chrono_tz::Tz>,
    now: DateTime<Utc>,
) -> Result<OutboxMessage, ApiError> {
    let mut m = OutboxMessage {
        id: crm_domain::id::new_id().to_string(),
        org_id: guest.org_id.clone(),
        guest_id: guest.id.clone(),
        property_id: Some(property_id.to_string()),
        template_id: None,
        trigger_kind: trigger_name.to_string(),
        channel: None,
        recipient: None,
        subject: None,
        body: None,
        status: "suppressed".into(),
        reason: None,
        dedupe_key,
        attempts: 0,
        next_attempt_at: now.naive_utc(),
        sent_at: None,
        last_error: None,
        created_at: now.naive_utc(),
        campaign_id: None,
        coupon_code: None,
        delivered_at: None,
    };
    match choice {
        Choice::Suppress { template, why } => {
            if let Some(t) = template {
                m.template_id = Some(t.id.clone());
                m.channel = Some(enum_to_db(&t.channel)?);
            }
            m.reason = Some(enum_to_db(why)?);
        }
        Choice::Send { template, address } => {
            m.template_id = Some(template.id.clone());
            m.channel = Some(enum_to_db(&template.channel)?);
            m.recipient = Some(address.clone());
            m.subject = template.subject.as_deref().map(|s| render(s, values));
            m.body = Some(render(&template.body, values));
            m.status = "queued".into();
            if let Some(tz) = tz {
                let local = now.with_timezone(&tz).naive_local();
                if let Some(morning) = after_quiet_hours(template.channel, local) {
                    if let Some(at) = tz.from_local_datetime(&morning).earliest() {
                        m.next_attempt_at = at.with_timezone(&Utc).naive_utc();
                    }
                }
            }
        }
    }
    Ok(m)
}

/// Queues `trigger`'s message for a guest, once per `occasion` (the
/// reservation, the stay), as [`choose`] decides; what cannot be sent is
/// recorded as suppressed with the reason. A property that switched the
/// trigger off sends nothing.
pub fn enqueue(
    conn: &mut DbConnection,
    trigger: MessageTrigger,
    guest: &Guest,
    property: &Property,
    occasion: &str,
    values: BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let org = guest.org_id.clone();
    if !store::trigger_enabled(conn, &org, &property.id, trigger)? {
        return Ok(());
    }
    let trigger_name = enum_to_db(&trigger)?;
    let excluded =
        guest.erased_at.is_some() || guest.merged_into.is_some() || guest.blacklist.is_some();
    let templates = if excluded {
        vec![]
    } else {
        store::active_templates(conn, &org, trigger)?
    };
    // Marketing goes only where the guest consented, and not more than the
    // weekly cap; service messages need neither.
    let (consented, recent) = if trigger.is_marketing() && !excluded {
        // The campaign send's bulk reads, for one guest.
        let one = std::slice::from_ref(&guest.id);
        (
            consents::marketing_channels(conn, &org, one)?
                .remove(&guest.id)
                .unwrap_or_default(),
            store::marketing_counts_since(conn, &org, one, now - Duration::days(7))?
                .remove(&guest.id)
                .unwrap_or(0),
        )
    } else {
        (vec![], 0)
    };
    let choice = choose(trigger, guest, &templates, &consented, recent);
    let m = outbox_row(
        &choice,
        &trigger_name,
        guest,
        &property.id,
        format!("{trigger_name}:{occasion}"),
        &values,
        property.time_zone.parse::<chrono_tz::Tz>().ok(),
        now,
    )?;
    store::enqueue(conn, &m)?;
    Ok(())
}

/// Messages a delivery round takes.
const ROUND: i64 = 50;

/// Sends what is due, up to [`ROUND`] messages; returns how many it took
/// (sent or not).
/// Retries back off like webhook deliveries (`HOTEL_CRM_WEBHOOK_RETRY_BASE_MS`).
pub async fn deliver_due(state: &AppState, client: &reqwest::Client) -> Result<usize, String> {
    let now = state.clock.now();
    let db = state.db.clone();
    let any = tokio::task::spawn_blocking(move || db.read(|conn| store::any_due(conn, now)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if !any {
        return Ok(0);
    }
    let db = state.db.clone();
    let lease = state.settings.delivery_lease;
    let due = tokio::task::spawn_blocking(move || {
        db.write(|conn| store::lease_due(conn, now, now + lease, ROUND))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let taken = due.len();
    let mut outcomes = Vec::with_capacity(taken);
    for m in due {
        let by_smtp = m.channel.as_deref() == Some("email") && state.settings.smtp_url.is_some();
        // Only the log provider knows at once that a message arrived; a
        // gateway confirms with a receipt (`POST /messages/{id}/receipt`).
        let confirms = !by_smtp && state.settings.message_http_url.is_none();
        let outcome = match &state.settings.message_http_url {
            _ if by_smtp => {
                let settings = state.settings.clone();
                let message = m.clone();
                tokio::task::spawn_blocking(move || send_smtp(&settings, &message))
                    .await
                    .map_err(|e| e.to_string())?
            }
            None => {
                // The log provider: that it went, never what or to whom.
                log::info!(
                    "message {} ({}, {}) delivered by the log provider",
                    m.id,
                    m.trigger_kind,
                    m.channel.as_deref().unwrap_or("-")
                );
                Ok(())
            }
            Some(url) => {
                let payload = serde_json::json!({
                    "id": m.id, "channel": m.channel, "to": m.recipient,
                    "subject": m.subject, "body": m.body, "trigger": m.trigger_kind,
                });
                match client
                    .post(url)
                    .header("idempotency-key", &m.id)
                    .json(&payload)
                    .send()
                    .await
                {
                    Ok(res) if res.status().is_success() => Ok(()),
                    Ok(res) => Err(format!("HTTP {}", res.status().as_u16())),
                    Err(e) if e.is_timeout() => Err("timed out".to_string()),
                    Err(_) => Err("connection failed".to_string()),
                }
            }
        };
        let now = state.clock.now();
        let sent = outcome.is_ok();
        let base = std::time::Duration::from_millis(state.settings.webhook_retry_base_ms);
        let retry = (!sent && m.attempts + 1 < MAX_ATTEMPTS)
            .then(|| now + crate::webhooks::backoff(base, m.attempts));
        outcomes.push((m, sent, confirms, outcome.err(), retry, now));
    }
    // The round's outcomes in one transaction. Until it commits a message
    // is leased, not forgotten: if this node stops first, the lease lapses
    // and it is sent again (at least once; the gateway gets the id as
    // Idempotency-Key).
    let db = state.db.clone();
    let state_now = state.clock.now();
    tokio::task::spawn_blocking(move || {
        db.write(|conn| {
            // What went: one statement per outcome, not per message.
            for confirms in [true, false] {
                let ids: Vec<String> = outcomes
                    .iter()
                    .filter(|(_, sent, c, ..)| *sent && *c == confirms)
                    .map(|(m, ..)| m.id.clone())
                    .collect();
                store::record_sent(conn, &ids, confirms, state_now)?;
            }
            for (m, sent, confirms, error, retry, now) in outcomes {
                if !sent {
                    store::record_attempt(conn, &m, sent, confirms, error, retry, now)?;
                }
            }
            Ok(())
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    Ok(taken)
}

/// Sends an e-mail through the SMTP relay (plain SMTP: a relay on the
/// host or in the private network, such as Postfix, which does TLS on).
fn send_smtp(settings: &crate::config::Settings, m: &OutboxMessage) -> Result<(), String> {
    use lettre::message::header::ContentType;
    use lettre::{Message, SmtpTransport, Transport};
    let url = settings.smtp_url.as_deref().unwrap_or_default();
    let rest = url
        .strip_prefix("smtp://")
        .ok_or("HOTEL_CRM_SMTP_URL is smtp://host:port")?;
    let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "bad SMTP port")?),
        None => (rest, 25),
    };
    let to = m.recipient.as_deref().ok_or("no recipient")?;
    let email = Message::builder()
        .from(
            settings
                .smtp_from
                .parse()
                .map_err(|_| "bad HOTEL_CRM_SMTP_FROM")?,
        )
        .to(to.parse().map_err(|_| "bad recipient")?)
        .subject(m.subject.clone().unwrap_or_default())
        .message_id(Some(format!("<{}@hotel-crm>", m.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(m.body.clone().unwrap_or_default())
        .map_err(|e| format!("cannot build the e-mail: {e}"))?;
    SmtpTransport::builder_dangerous(host)
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(10)))
        .build()
        .send(&email)
        .map(|_| ())
        .map_err(|e| {
            if e.is_permanent() {
                "refused by the SMTP server".to_string()
            } else {
                "SMTP server unavailable".to_string()
            }
        })
}

/// Starts the delivery loop on the current Tokio runtime.
pub fn spawn_worker(state: AppState, poll: std::time::Duration) {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            log::error!("message delivery disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            match deliver_due(&state, &client).await {
                // A full round: more are waiting (a campaign); no pause.
                Ok(n) if n as i64 == ROUND => continue,
                Ok(_) => {}
                Err(e) => log::warn!("message delivery round failed: {e}"),
            }
            tokio::time::sleep(poll).await;
        }
    });
}

/// The birthday greetings (生日关怀) of one organisation for `today`:
/// guests born on this day (29 February on the 28th in other years), each
/// once a year, from the property of their latest stay (else the first),
/// with marketing consent and within the weekly cap. Returns how many
/// were considered.
pub fn birthday_run(
    db: &crm_storage::Database,
    org: &str,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, ApiError> {
    use chrono::Datelike;
    let leap_day_today = today.month() == 2
        && today.day() == 28
        && chrono::NaiveDate::from_ymd_opt(today.year(), 2, 29).is_none();
    let born: Vec<String> = db
        .read(|conn| crm_storage::insights::birthdays_in_month(conn, org, today.month() as i32))?
        .into_iter()
        .filter(|(_, b)| b.day() == today.day() || (leap_day_today && b.day() == 29))
        .map(|(g, _)| g)
        .collect();
    let fallback = db.read(|conn| crm_storage::properties::first_of_org(conn, org))?;
    for chunk in born.chunks(200) {
        crate::state::write_transaction(db, |conn| {
            for id in chunk {
                let guest = crm_storage::guests::find(conn, org, id)?;
                let Some(property) = home_property(conn, org, id, fallback.as_ref())? else {
                    continue;
                };
                let values = base_values(&guest, &property);
                enqueue(
                    conn,
                    MessageTrigger::Birthday,
                    &guest,
                    &property,
                    &format!("{id}:{}", today.year()),
                    values,
                    now,
                )?;
            }
            Ok(())
        })?;
    }
    Ok(born.len() as u64)
}

/// The pre-arrival messages of one organisation: for each property, the
/// confirmed reservations arriving the trigger's `days_before` after the
/// property's own today, once per reservation. Returns how many were
/// considered.
pub fn pre_arrival_run(
    db: &crm_storage::Database,
    org: &str,
    now: DateTime<Utc>,
) -> Result<u64, ApiError> {
    let properties = crm_storage::pagination::all_pages(|p| {
        db.read(|conn| crm_storage::properties::list(conn, org, p))
    })?;
    let mut considered = 0;
    for property in properties {
        let settings = db.read(|conn| store::triggers_of(conn, org, &property.id))?;
        let Some(days) = settings
            .iter()
            .find(|s| s.trigger == MessageTrigger::PreArrival && s.enabled)
            .and_then(|s| s.days_before)
        else {
            continue;
        };
        let Ok(tz) = property.time_zone.parse::<chrono_tz::Tz>() else {
            continue;
        };
        let date = now.with_timezone(&tz).date_naive() + Duration::days(i64::from(days));
        let ids =
            db.read(|conn| crm_storage::reservations::arriving_on(conn, org, &property.id, date))?;
        for chunk in ids.chunks(200) {
            crate::state::write_transaction(db, |conn| {
                let types = crm_storage::inventory::room_types_of(conn, org, &property.id)?;
                for id in chunk {
                    let r = crm_storage::reservations::find(conn, org, id)?;
                    let guest = crm_storage::guests::find(conn, org, &r.guest_id)?;
                    let values = reservation_values(&guest, &property, &r, &types);
                    enqueue(
                        conn,
                        MessageTrigger::PreArrival,
                        &guest,
                        &property,
                        &r.id,
                        values,
                        now,
                    )?;
                }
                Ok(())
            })?;
        }
        considered += ids.len() as u64;
    }
    Ok(considered)
}

/// The points-expiring reminders of one organisation: members whose lots
/// expire the trigger's `days_before` (default 30) after `today`, with the
/// points at stake, from the property of their latest stay. Marketing:
/// consent and the weekly cap apply. Returns the members considered.
pub fn points_expiring_run(
    db: &crm_storage::Database,
    org: &str,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, ApiError> {
    let Some(first) = db.read(|conn| crm_storage::properties::first_of_org(conn, org))? else {
        return Ok(0);
    };
    let days = db
        .read(|conn| store::triggers_of(conn, org, &first.id))?
        .into_iter()
        .find(|s| s.trigger == MessageTrigger::PointsExpiring)
        .and_then(|s| s.days_before)
        .unwrap_or(30);
    let on = today + Duration::days(i64::from(days));
    let due = db.read(|conn| crm_storage::loyalty::expiring_on(conn, org, on))?;
    let Some(loyalty) = crate::loyalty::Loyalty::load(&mut *db.connection()?, org)? else {
        return Ok(0);
    };
    for chunk in due.chunks(200) {
        crate::state::write_transaction(db, |conn| {
            for (guest_id, number, tier, points) in chunk {
                let guest = crm_storage::guests::find(conn, org, guest_id)?;
                let Some(property) = home_property(conn, org, guest_id, Some(&first))? else {
                    continue;
                };
                let mut values = base_values(&guest, &property);
                values.insert("membership.member_number".into(), number.clone());
                if let Ok(t) = loyalty.tier(tier) {
                    values.insert("membership.tier".into(), t.name.clone());
                }
                values.insert("points.expiring".into(), points.to_string());
                values.insert("points.expiring_on".into(), on.to_string());
                enqueue(
                    conn,
                    MessageTrigger::PointsExpiring,
                    &guest,
                    &property,
                    &format!("{guest_id}:{on}"),
                    values,
                    now,
                )?;
            }
            Ok(())
        })?;
    }
    Ok(due.len() as u64)
}
