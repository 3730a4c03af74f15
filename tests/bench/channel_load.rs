//! The channel-ingestion workload the load generators share: `n`
//! distinct reservations, JSON (channel `ctrip`) and OTA XML (channel
//! `ota`) alternating, with 20 % duplicates, 10 % newer modifications and
//! 10 % stale ones arriving after them; and the check of what the server
//! kept, through the API.

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub enum Body {
    Json(Value),
    Xml(String),
}

pub struct Message {
    pub path: &'static str,
    pub body: Body,
}

fn arrival(i: usize) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() + chrono::Duration::days(30 + (i % 300) as i64)
}

/// Booking `prefix`-`i` as a channel sends it.
fn message(
    prefix: &str,
    i: usize,
    property: &str,
    last_modified: &str,
    nights: i64,
    action: &str,
) -> Message {
    let a = arrival(i);
    let d = a + chrono::Duration::days(nights);
    let amount = 45800 * nights;
    if i.is_multiple_of(2) {
        Message {
            path: "/api/v1/channels/ctrip/reservations",
            body: Body::Json(json!({
                "action": action, "channel_reservation_id": format!("{prefix}-{i}"), "last_modified": last_modified,
                "property_code": property,
                "guest": {"profile": {"family_name_latin": "Guest", "given_name_latin": "Bench",
                    "emails": [{"address": format!("guest{i}@{prefix}.bench.example")}]}},
                "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": a.to_string(), "departure": d.to_string(),
                    "adults": 2, "amount": amount}],
            })),
        }
    } else {
        let status = if action == "create" {
            "Commit"
        } else {
            "Modify"
        };
        Message {
            path: "/api/v1/channels/ota/hotel-res-notif",
            body: Body::Xml(format!(
                r#"<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0"><HotelReservations>
<HotelReservation LastModifyDateTime="{last_modified}" ResStatus="{status}"><UniqueID Type="14" ID="{prefix}-{i}"/>
<RoomStays><RoomStay><RoomTypes><RoomType RoomTypeCode="DLK"/></RoomTypes><RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
<GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts><TimeSpan Start="{a}" End="{d}"/>
<Total AmountAfterTax="{major}.00" CurrencyCode="CNY"/></RoomStay></RoomStays>
<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Bench</GivenName><Surname>Guest</Surname></PersonName>
<Email>guest{i}@{prefix}.bench.example</Email></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
<ResGlobalInfo><BasicPropertyInfo HotelCode="{property}"/></ResGlobalInfo></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>"#,
                major = amount / 100
            )),
        }
    }
}

/// The three phases, sent one after the other: creates with 20 %
/// duplicates (sent alongside, racing), then newer modifications of 10 %,
/// then the stale ones they overtook.
pub fn phases(prefix: &str, n: usize, property: &str) -> Vec<Vec<Message>> {
    let mut creates = Vec::new();
    for i in 0..n {
        creates.push(message(
            prefix,
            i,
            property,
            "2026-11-20T08:00:00Z",
            2,
            "create",
        ));
        if i.is_multiple_of(5) {
            creates.push(message(
                prefix,
                i,
                property,
                "2026-11-20T08:00:00Z",
                2,
                "create",
            ));
        }
    }
    let newer = (0..n)
        .step_by(10)
        .map(|i| message(prefix, i, property, "2026-11-20T10:00:00Z", 3, "modify"))
        .collect();
    let stale = (0..n)
        .step_by(10)
        .map(|i| message(prefix, i, property, "2026-11-20T09:00:00Z", 1, "modify"))
        .collect();
    vec![creates, newer, stale]
}

/// Sends one message; its latency and whether it was accepted.
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    m: Message,
) -> (Duration, bool) {
    let started = Instant::now();
    let req = client.post(format!("{base}{}", m.path)).bearer_auth(token);
    let req = match m.body {
        Body::Json(v) => req.json(&v),
        Body::Xml(x) => req.header("content-type", "application/xml").body(x),
    };
    let ok = match req.send().await {
        Ok(res) => {
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            status.is_success() && !text.contains("<Errors>")
        }
        Err(_) => false,
    };
    (started.elapsed(), ok)
}

/// Sends the phases `concurrency` at a time, each message to the next of
/// `bases` in turn; returns the latencies and the number refused.
pub async fn run(
    client: &reqwest::Client,
    bases: &[String],
    token: &str,
    phases: Vec<Vec<Message>>,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut next = 0usize;
    for phase in phases {
        let calls: Vec<(String, Message)> = phase
            .into_iter()
            .map(|m| {
                next += 1;
                (bases[next % bases.len()].clone(), m)
            })
            .collect();
        let results: Vec<(Duration, bool)> = futures_util::stream::iter(calls)
            .map(|(base, m)| async move { send(client, &base, token, m).await })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        failures += results.iter().filter(|(_, ok)| !ok).count();
        latencies.extend(results.into_iter().map(|(d, _)| d));
    }
    latencies.sort();
    (latencies, failures)
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

/// What the server kept of bookings `prefix`-0 … `prefix`-(n-1), through
/// the API: (distinct bookings, duplicated, missing, with the wrong
/// revision applied).
pub async fn check(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    prefix: &str,
    n: usize,
) -> (usize, usize, usize, usize) {
    let mut per_id: std::collections::HashMap<String, Vec<i64>> = Default::default();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/reservations?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        for r in page["data"].as_array().into_iter().flatten() {
            let id = r["channel_reservation_id"].as_str().unwrap_or("");
            if id
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('-'))
            {
                per_id
                    .entry(id.to_string())
                    .or_default()
                    .push(r["rooms"][0]["nights"].as_i64().unwrap_or(0));
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let duplicated = per_id.values().filter(|v| v.len() > 1).count();
    let missing = (0..n)
        .filter(|i| !per_id.contains_key(&format!("{prefix}-{i}")))
        .count();
    let wrong = (0..n)
        .filter(|i| {
            let want = if i.is_multiple_of(10) { 3 } else { 2 };
            per_id
                .get(&format!("{prefix}-{i}"))
                .is_some_and(|v| v.first() != Some(&want))
        })
        .count();
    (per_id.len(), duplicated, missing, wrong)
}
