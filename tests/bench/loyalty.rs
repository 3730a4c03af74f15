//! `make bench`: the loyalty load generator. Against a running server with
//! a configured programme it enrols two members, posts 10,000 ledger
//! entries to the first (16 at a time), then measures at 16 connections
//! the balance and the statement of that member, and a burst of
//! redemptions against the second. Prints one `RESULT`-style line each.

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 16;

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, Duration) {
        let started = Instant::now();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let v = res.json::<Value>().await.unwrap_or(Value::Null);
                (status, v, started.elapsed())
            }
            Err(_) => (0, Value::Null, started.elapsed()),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value, Duration) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value, Duration) {
        self.call(reqwest::Method::GET, path, None).await
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

async fn member(api: &Api, n: u32) -> String {
    let (status, g, _) = api
        .post(
            "/api/v1/guests",
            json!({"family_name": "Bench", "given_name": format!("Member{n}"),
                   "emails": [{"address": format!("loyalty{n}-{}@bench.example", std::process::id())}]}),
        )
        .await;
    assert_eq!(status, 201, "create guest: {g}");
    let id = g["id"].as_str().expect("guest id").to_string();
    let (status, m, _) = api
        .post(
            &format!("/api/v1/guests/{id}/membership"),
            json!({"source": "bench"}),
        )
        .await;
    assert_eq!(status, 201, "enrol: {m}");
    id
}

/// Fires `paths` GETs (or POSTs with `body`) 16 at a time; returns sorted
/// latencies, the wall time and the statuses.
async fn burst(
    api: &Api,
    calls: Vec<(String, Option<Value>)>,
    concurrency: usize,
) -> (Vec<Duration>, Duration, Vec<u16>) {
    let started = Instant::now();
    let results: Vec<(u16, Value, Duration)> = futures_util::stream::iter(calls)
        .map(|(path, body)| async move {
            match body {
                Some(b) => api.post(&path, b).await,
                None => api.get(&path).await,
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut lat: Vec<Duration> = results.iter().map(|(_, _, d)| *d).collect();
    lat.sort();
    (lat, wall, results.iter().map(|(s, _, _)| *s).collect())
}

fn report(name: &str, lat: &[Duration], wall: Duration, statuses: &[u16], ok: u16) {
    let good = statuses.iter().filter(|s| **s == ok).count();
    println!(
        "{name} rps={:.0} p50_ms={:.2} p99_ms={:.2} requests={} ok={} other={}",
        statuses.len() as f64 / wall.as_secs_f64(),
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        statuses.len(),
        good,
        statuses.len() - good
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: loyalty-bench <base-url> <admin-token>");
        std::process::exit(2);
    }
    let api = Api {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY * 2)
            .build()
            .expect("client"),
        base: args[1].clone(),
        token: args[2].clone(),
    };

    // A member with 10,000 entries: bonuses and adjustments, each its own
    // lot, then redemptions drawing on them.
    let rich = member(&api, 1).await;
    let seed: Vec<(String, Option<Value>)> = (0..10_000)
        .map(|i| {
            if i % 4 == 3 {
                (
                    format!("/api/v1/guests/{rich}/points/redemptions"),
                    Some(json!({"points": 5, "description": "minibar"})),
                )
            } else {
                (
                    format!("/api/v1/guests/{rich}/points/bonuses"),
                    Some(json!({"bonus_type": "campaign", "points": 10 + i % 7, "source_id": format!("c{i}")})),
                )
            }
        })
        .collect();
    let (lat, wall, statuses) = burst(&api, seed, CONCURRENCY).await;
    let posted = statuses.iter().filter(|s| **s == 201).count();
    // A redemption that runs before the first bonuses commit is refused
    // (409); anything else would be a bug.
    let mut other: Vec<u16> = statuses.iter().copied().filter(|s| *s != 201).collect();
    other.sort_unstable();
    other.dedup();
    if !other.is_empty() {
        println!("loyalty seed_entries other_statuses={other:?}");
    }
    println!(
        "loyalty seed_entries entries={posted} rps={:.0} p99_ms={:.2}",
        statuses.len() as f64 / wall.as_secs_f64(),
        percentile(&lat, 0.99)
    );

    // Latency alone (one connection), then under load (16).
    for (label, concurrency) in [("1conn", 1), ("16conn", CONCURRENCY)] {
        let balance: Vec<(String, Option<Value>)> = (0..3_000)
            .map(|_| (format!("/api/v1/guests/{rich}/points"), None))
            .collect();
        let (lat, wall, statuses) = burst(&api, balance, concurrency).await;
        report(
            &format!("loyalty balance_10k_entries_{label}"),
            &lat,
            wall,
            &statuses,
            200,
        );
    }

    // Statement pages: the first page and pages deep into the ledger.
    let (_, first, _) = api
        .get(&format!("/api/v1/guests/{rich}/points/entries?limit=50"))
        .await;
    let mut cursors = vec![String::new()];
    let mut next = first["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = next.take() {
        if cursors.len() >= 200 {
            break;
        }
        let (_, page, _) = api
            .get(&format!(
                "/api/v1/guests/{rich}/points/entries?limit=50&cursor={c}"
            ))
            .await;
        cursors.push(c);
        next = page["next_cursor"].as_str().map(str::to_string);
    }
    for (label, concurrency) in [("1conn", 1), ("16conn", CONCURRENCY)] {
        let statement: Vec<(String, Option<Value>)> = (0..3_000)
            .map(|i| {
                let c = &cursors[i % cursors.len()];
                let cursor = if c.is_empty() {
                    String::new()
                } else {
                    format!("&cursor={c}")
                };
                (
                    format!("/api/v1/guests/{rich}/points/entries?limit=50{cursor}"),
                    None,
                )
            })
            .collect();
        let (lat, wall, statuses) = burst(&api, statement, concurrency).await;
        report(
            &format!("loyalty statement_page_10k_entries_{label}"),
            &lat,
            wall,
            &statuses,
            200,
        );
    }

    // A redemption burst: 5,000 redemptions of 10 against a balance that
    // holds 4,000 of them.
    let spender = member(&api, 2).await;
    let (status, e, _) = api
        .post(
            &format!("/api/v1/guests/{spender}/points/adjustments"),
            json!({"points": 40_000, "reason": "benchmark"}),
        )
        .await;
    assert_eq!(status, 201, "adjustment: {e}");
    let redemptions: Vec<(String, Option<Value>)> = (0..5_000)
        .map(|_| {
            (
                format!("/api/v1/guests/{spender}/points/redemptions"),
                Some(json!({"points": 10, "description": "bench"})),
            )
        })
        .collect();
    let (lat, wall, statuses) = burst(&api, redemptions, CONCURRENCY).await;
    report("loyalty redemption_burst", &lat, wall, &statuses, 201);
    let refused = statuses.iter().filter(|s| **s == 409).count();
    let (_, b, _) = api.get(&format!("/api/v1/guests/{spender}/points")).await;
    println!(
        "loyalty redemption_check succeeded={} refused_409={} balance_left={} (expect 4000, 1000, 0)",
        statuses.iter().filter(|s| **s == 201).count(),
        refused,
        b["available"]
    );
}
