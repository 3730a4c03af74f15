//! Channel-ingestion load: N distinct reservations pushed at C connections,
//! JSON (channel `ctrip`) and OTA XML (channel `ota`) alternating, with 20 %
//! duplicates, 10 % newer modifications and 10 % stale ones arriving after
//! them. Prints messages/s, p50/p99, then checks the final state through
//! the API: every reservation once, every newer modification applied.
//!
//! Usage: ingest-bench <base-url> <token> <count> <property-code> <concurrency>

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

enum Body {
    Json(Value),
    Xml(String),
}

struct Message {
    path: &'static str,
    body: Body,
}

fn arrival(i: usize) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() + chrono::Duration::days(30 + (i % 300) as i64)
}

fn message(i: usize, property: &str, last_modified: &str, nights: i64, action: &str) -> Message {
    let a = arrival(i);
    let d = a + chrono::Duration::days(nights);
    let amount = 45800 * nights;
    if i.is_multiple_of(2) {
        Message {
            path: "/api/v1/channels/ctrip/reservations",
            body: Body::Json(json!({
                "action": action, "channel_reservation_id": format!("B-{i}"), "last_modified": last_modified,
                "property_code": property,
                "guest": {"profile": {"family_name_latin": "Guest", "given_name_latin": "Bench",
                    "emails": [{"address": format!("guest{i}@bench.example")}]}},
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
<HotelReservation LastModifyDateTime="{last_modified}" ResStatus="{status}"><UniqueID Type="14" ID="B-{i}"/>
<RoomStays><RoomStay><RoomTypes><RoomType RoomTypeCode="DLK"/></RoomTypes><RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
<GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts><TimeSpan Start="{a}" End="{d}"/>
<Total AmountAfterTax="{major}.00" CurrencyCode="CNY"/></RoomStay></RoomStays>
<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Bench</GivenName><Surname>Guest</Surname></PersonName>
<Email>guest{i}@bench.example</Email></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
<ResGlobalInfo><BasicPropertyInfo HotelCode="{property}"/></ResGlobalInfo></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>"#,
                major = amount / 100
            )),
        }
    }
}

async fn send(client: &reqwest::Client, base: &str, token: &str, m: Message) -> (Duration, bool) {
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

async fn run(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    msgs: Vec<Message>,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    let results: Vec<(Duration, bool)> = futures_util::stream::iter(msgs)
        .map(|m| send(client, base, token, m))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failures = results.iter().filter(|(_, ok)| !ok).count();
    (results.into_iter().map(|(d, _)| d).collect(), failures)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: ingest-bench <base-url> <token> <count> <property-code> <concurrency>");
        std::process::exit(2);
    }
    let (base, token, property) = (args[1].clone(), args[2].clone(), args[4].clone());
    let n: usize = args[3].parse().expect("count");
    let concurrency: usize = args[5].parse().expect("concurrency");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()
        .expect("client");

    // Creates with 20 % duplicates (sent alongside, racing), then newer
    // modifications of 10 %, then the stale ones they overtook.
    let mut creates = Vec::new();
    for i in 0..n {
        creates.push(message(i, &property, "2026-11-20T08:00:00Z", 2, "create"));
        if i.is_multiple_of(5) {
            creates.push(message(i, &property, "2026-11-20T08:00:00Z", 2, "create"));
        }
    }
    let newer: Vec<Message> = (0..n)
        .step_by(10)
        .map(|i| message(i, &property, "2026-11-20T10:00:00Z", 3, "modify"))
        .collect();
    let stale: Vec<Message> = (0..n)
        .step_by(10)
        .map(|i| message(i, &property, "2026-11-20T09:00:00Z", 1, "modify"))
        .collect();
    let total = creates.len() + newer.len() + stale.len();

    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for phase in [creates, newer, stale] {
        let (l, f) = run(&client, &base, &token, phase, concurrency).await;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "ingest messages={total} reservations={n} seconds={elapsed:.1} messages_per_s={:.0} reservations_per_s={:.0} p50_ms={:.2} p99_ms={:.2} failed={failures}",
        total as f64 / elapsed,
        n as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );

    // The final state, through the API.
    let mut seen = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/reservations?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        for r in page["data"].as_array().into_iter().flatten() {
            let key = format!(
                "{}/{}",
                r["channel_reservation_id"].as_str().unwrap_or(""),
                r["id"].as_str().unwrap_or("")
            );
            seen.insert(key, r["rooms"][0]["nights"].as_i64().unwrap_or(0));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut per_id: std::collections::HashMap<String, Vec<i64>> = std::collections::HashMap::new();
    for (key, nights) in &seen {
        let id = key.split('/').next().unwrap_or("").to_string();
        if id.starts_with("B-") {
            per_id.entry(id).or_default().push(*nights);
        }
    }
    let duplicated = per_id.values().filter(|v| v.len() > 1).count();
    let missing = (0..n)
        .filter(|i| !per_id.contains_key(&format!("B-{i}")))
        .count();
    let wrong = (0..n)
        .filter(|i| {
            let want = if i.is_multiple_of(10) { 3 } else { 2 };
            per_id
                .get(&format!("B-{i}"))
                .is_some_and(|v| v.first() != Some(&want))
        })
        .count();
    println!("ingest check reservations={} duplicated={duplicated} missing={missing} wrong_revision={wrong}", per_id.len());
    if duplicated + missing + wrong + failures > 0 {
        std::process::exit(1);
    }
}
