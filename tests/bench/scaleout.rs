//! `make bench`: scale-out. Channel ingestion (see `channel_load`) and a
//! burst of point redemptions run together against one or more
//! `hotel-crm` nodes, each request going to the next node in turn (a
//! round-robin client, as a load balancer would). Prints the throughput
//! of each stream and of both, then checks through the API that the
//! result is what one node gives: every booking once with its newest
//! revision, and per member exactly the redemptions the balance covered,
//! the rest refused, nothing left.
//!
//! Usage: scaleout-bench <base-urls,comma-separated> <client-token>
//!        <admin-token> <reservations> <property-code> <concurrency> <label>

#[path = "channel_load.rs"]
mod channel_load;

use channel_load::{check, percentile, phases, run};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const MEMBERS: usize = 16;
/// Each member holds 400 points and is asked for 50 redemptions of 10.
const BALANCE: i64 = 400;
const ASKS: usize = 50;

async fn post(client: &reqwest::Client, url: &str, token: &str, body: Value) -> (u16, Value) {
    match client.post(url).bearer_auth(token).json(&body).send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            (status, res.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// A member holding `BALANCE` points; returns the guest id.
async fn member(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    label: &str,
    n: usize,
) -> String {
    let (status, g) = post(
        client,
        &format!("{base}/api/v1/guests"),
        token,
        json!({"family_name_latin": "Scale", "given_name_latin": format!("Member {}", char::from(b'A' + n as u8 % 26)),
               "emails": [{"address": format!("member{n}@{label}.scaleout.example")}]}),
    )
    .await;
    assert_eq!(status, 201, "guest: {g}");
    let id = g["id"].as_str().expect("guest id").to_string();
    for (path, body) in [
        ("membership", json!({"source": "bench"})),
        (
            "points/adjustments",
            json!({"points": BALANCE, "reason": "scale-out benchmark"}),
        ),
    ] {
        let (status, r) = post(
            client,
            &format!("{base}/api/v1/guests/{id}/{path}"),
            token,
            body,
        )
        .await;
        assert_eq!(status, 201, "{path}: {r}");
    }
    id
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 8 {
        eprintln!(
            "usage: scaleout-bench <base-urls> <client-token> <admin-token> <reservations> <property-code> <concurrency> <label>"
        );
        std::process::exit(2);
    }
    let bases: Vec<String> = args[1].split(',').map(str::to_string).collect();
    let (client_token, admin_token) = (args[2].clone(), args[3].clone());
    let n: usize = args[4].parse().expect("reservations");
    let property = args[5].clone();
    let concurrency: usize = args[6].parse().expect("concurrency");
    let label = args[7].clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()
        .expect("client");

    let mut members = Vec::new();
    for m in 0..MEMBERS {
        members.push(member(&client, &bases[m % bases.len()], &admin_token, &label, m).await);
    }
    // Interleaved, so every member is drawn on at once from every node.
    let asks: Vec<(String, String)> = (0..ASKS * MEMBERS)
        .map(|i| (bases[i % bases.len()].clone(), members[i % MEMBERS].clone()))
        .collect();

    let work = phases(&label, n, &property);
    let messages: usize = work.iter().map(Vec::len).sum();
    let redemption_count = asks.len();
    let started = Instant::now();
    let ingestion = async {
        let t = Instant::now();
        let (lat, failed) = run(&client, &bases, &client_token, work, concurrency).await;
        (lat, failed, t.elapsed())
    };
    let redemptions = async {
        let t = Instant::now();
        let results: Vec<(u16, String, Duration)> = futures_util::stream::iter(asks)
            .map(|(base, guest)| {
                let (client, token) = (&client, &admin_token);
                async move {
                    let at = Instant::now();
                    let (status, _) = post(
                        client,
                        &format!("{base}/api/v1/guests/{guest}/points/redemptions"),
                        token,
                        json!({"points": 10, "description": "scale-out"}),
                    )
                    .await;
                    (status, guest, at.elapsed())
                }
            })
            .buffer_unordered((concurrency / 2).max(1))
            .collect()
            .await;
        (results, t.elapsed())
    };
    let ((ingest_lat, ingest_failed, ingest_time), (redeemed, redeem_time)) =
        tokio::join!(ingestion, redemptions);
    let wall = started.elapsed().as_secs_f64();
    let mut redeem_lat: Vec<Duration> = redeemed.iter().map(|(_, _, d)| *d).collect();
    redeem_lat.sort();
    let nodes = bases.len();
    println!(
        "scaleout nodes={nodes} requests_per_s={:.0} seconds={wall:.1} ingest_messages_per_s={:.0} ingest_p99_ms={:.2} redemptions_per_s={:.0} redemption_p99_ms={:.2}",
        (messages + redemption_count) as f64 / wall,
        messages as f64 / ingest_time.as_secs_f64(),
        percentile(&ingest_lat, 0.99),
        redemption_count as f64 / redeem_time.as_secs_f64(),
        percentile(&redeem_lat, 0.99),
    );

    // The same correctness as one node.
    let (kept, duplicated, missing, wrong) =
        check(&client, &bases[0], &client_token, &label, n).await;
    let mut over_or_under = 0;
    let mut left = 0;
    for guest in &members {
        let ok = redeemed
            .iter()
            .filter(|(s, g, _)| *s == 201 && g == guest)
            .count();
        if ok as i64 != BALANCE / 10 {
            over_or_under += 1;
        }
        let balance: Value = client
            .get(format!("{}/api/v1/guests/{guest}/points", bases[0]))
            .bearer_auth(&admin_token)
            .send()
            .await
            .expect("balance")
            .json()
            .await
            .expect("json");
        left += balance["available"].as_i64().unwrap_or(-1);
    }
    let refused = redeemed.iter().filter(|(s, _, _)| *s == 409).count();
    let other = redeemed
        .iter()
        .filter(|(s, _, _)| *s != 201 && *s != 409)
        .count();
    println!(
        "   check nodes={nodes}: reservations={kept} duplicated={duplicated} missing={missing} wrong_revision={wrong} failed_pushes={ingest_failed}; members={MEMBERS} with wrong redemption count={over_or_under}, refused={refused} (expect {}), other_statuses={other}, points left={left} (expect 0)",
        MEMBERS * (ASKS - (BALANCE / 10) as usize)
    );
    if duplicated + missing + wrong + ingest_failed + over_or_under + other > 0 || left != 0 {
        std::process::exit(1);
    }
}
