//! Webhook events and their delivery. Events come from the audit trail:
//! the actions below, recorded in the transaction of the change, also write
//! an event to the outbox. A background worker delivers them at least once,
//! signed with HMAC-SHA256 over `timestamp.body`, retrying with exponential
//! backoff.

use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use crm_storage::webhooks::{self, DueDelivery};
use crm_storage::{DbConnection, StorageResult};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The event types a subscription may ask for (`*` for all).
pub const EVENT_TYPES: [&str; 18] = [
    "reservation.created",
    "reservation.modified",
    "reservation.cancelled",
    "stay.checked_out",
    "guest.created",
    "guest.updated",
    "guest.erased",
    "guest.merged",
    "guest.unmerged",
    "points.posted",
    "points.redeemed",
    "tier.changed",
    "contract.signed",
    "contract.status_changed",
    "contract.alert",
    "ticket.created",
    "ticket.status_changed",
    "ticket.escalated",
];

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 12;

/// The webhook event an audited action announces, if any.
pub fn event_for(action: &str) -> Option<&'static str> {
    Some(match action {
        "reservation.created" => "reservation.created",
        "reservation.modified" => "reservation.modified",
        "reservation.cancelled" | "reservation.no_show" | "reservation.walked" => {
            "reservation.cancelled"
        }
        "reservation.checked_out" => "stay.checked_out",
        "guest.created" => "guest.created",
        "guest.updated" | "guest.blacklisted" | "guest.unblacklisted" => "guest.updated",
        "guest.erased" => "guest.erased",
        "guest.merged" => "guest.merged",
        "guest.unmerged" => "guest.unmerged",
        "points.posted" | "points.redemption_cancelled" => "points.posted",
        "points.redeemed" => "points.redeemed",
        "tier.changed" => "tier.changed",
        // Both parties signed: the first version, or an amendment.
        "contract.signed" | "contract.amended" => "contract.signed",
        "contract.activated" | "contract.expired" | "contract.terminated" => {
            "contract.status_changed"
        }
        "contract.alert_raised" => "contract.alert",
        "ticket.created" => "ticket.created",
        "ticket.acknowledged"
        | "ticket.started"
        | "ticket.resolved"
        | "ticket.closed"
        | "ticket.reopened" => "ticket.status_changed",
        "ticket.escalated" => "ticket.escalated",
        _ => return None,
    })
}

/// Writes the event for `action` on `entity_id`, if it announces one, for
/// the organisation's `subscriptions`.
pub fn emit(
    conn: &mut DbConnection,
    subscriptions: &[webhooks::Subscription],
    org_id: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let Some(event_type) = event_for(action) else {
        return Ok(());
    };
    let event_id = crm_domain::id::new_id().to_string();
    // Ids only: receivers fetch the details they are allowed to see.
    let payload = serde_json::json!({
        "id": event_id,
        "type": event_type,
        "organization_id": org_id,
        "created_at": now,
        "data": {"object": entity_type, "id": entity_id},
    })
    .to_string();
    webhooks::enqueue(
        conn,
        subscriptions,
        org_id,
        &event_id,
        event_type,
        entity_id,
        &payload,
        now,
    )?;
    Ok(())
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        crate::crypto::hex(&mac.finalize().into_bytes())
    )
}

/// Seconds before attempt `n + 1`: base × 2ⁿ, at most an hour.
pub fn backoff(base: std::time::Duration, attempts_so_far: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts_so_far.clamp(0, 20) as u32);
    let ms = (base.as_millis() as u64)
        .saturating_mul(u64::from(factor))
        .min(3_600_000);
    Duration::milliseconds(ms as i64)
}

/// Starts the delivery loop on the current Tokio runtime.
pub fn spawn_worker(state: AppState, poll: std::time::Duration, retry_base: std::time::Duration) {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            log::error!("webhook delivery disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&state, &client, retry_base).await {
                log::warn!("webhook delivery round failed: {e}");
            }
            tokio::time::sleep(poll).await;
        }
    });
}

async fn deliver_due(
    state: &AppState,
    client: &reqwest::Client,
    retry_base: std::time::Duration,
) -> Result<(), String> {
    let now = state.clock.now();
    let db = state.db.clone();
    let any = tokio::task::spawn_blocking(move || db.read(|conn| webhooks::any_due(conn, now)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if !any {
        return Ok(());
    }
    let db = state.db.clone();
    let lease = state.settings.delivery_lease;
    let due: Vec<DueDelivery> = tokio::task::spawn_blocking(move || {
        db.write(|conn| webhooks::lease_due(conn, now, now + lease, 20))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    for d in due {
        let secret = state
            .cipher
            .decrypt(&d.secret_encrypted)
            .map_err(|e| e.to_string())?;
        let timestamp = state.clock.now().timestamp();
        let result = client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("user-agent", "hotel-crm-webhooks/1")
            .header("x-hotel-crm-event", &d.event_type)
            .header("x-hotel-crm-delivery", &d.delivery.id)
            .header(
                "x-hotel-crm-signature",
                signature(&secret, timestamp, &d.payload),
            )
            .body(d.payload.clone())
            .send()
            .await;
        let (delivered, code, error) = match result {
            Ok(res) if res.status().is_success() => {
                (true, Some(i32::from(res.status().as_u16())), None)
            }
            Ok(res) => (
                false,
                Some(i32::from(res.status().as_u16())),
                Some(format!("HTTP {}", res.status().as_u16())),
            ),
            Err(e) => (
                false,
                None,
                Some(if e.is_timeout() {
                    "timed out".to_string()
                } else {
                    "connection failed".to_string()
                }),
            ),
        };
        let now = state.clock.now();
        let attempts = d.delivery.attempts + 1;
        let next = (!delivered && attempts < MAX_ATTEMPTS)
            .then(|| now + backoff(retry_base, attempts - 1));
        let db = state.db.clone();
        let (org, id) = (d.delivery.org_id.clone(), d.delivery.id.clone());
        tokio::task::spawn_blocking(move || {
            db.write(|conn| {
                webhooks::record_attempt(conn, &org, &id, delivered, code, error, next, now)
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_at_an_hour() {
        let base = std::time::Duration::from_secs(5);
        assert_eq!(backoff(base, 0), Duration::seconds(5));
        assert_eq!(backoff(base, 3), Duration::seconds(40));
        assert_eq!(backoff(base, 30), Duration::seconds(3600));
    }

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = signature("secret", 1_700_000_000, "{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_ne!(a, signature("secret", 1_700_000_001, "{}"));
        assert_ne!(a, signature("other", 1_700_000_000, "{}"));
    }

    #[test]
    fn audited_actions_map_to_events() {
        assert_eq!(
            event_for("reservation.checked_out"),
            Some("stay.checked_out")
        );
        assert_eq!(event_for("guest.blacklisted"), Some("guest.updated"));
        assert_eq!(event_for("identity_document.read"), None);
    }
}
