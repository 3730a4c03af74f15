//! Channel-ingestion load: N distinct reservations pushed at C connections,
//! JSON (channel `ctrip`) and OTA XML (channel `ota`) alternating, with 20 %
//! duplicates, 10 % newer modifications and 10 % stale ones arriving after
//! them (see `channel_load`). Prints messages/s, p50/p99, then checks the
//! final state through the API: every reservation once, every newer
//! modification applied.
//!
//! Usage: ingest-bench <base-url> <token> <count> <property-code> <concurrency>

#[path = "channel_load.rs"]
mod channel_load;

use channel_load::{check, percentile, phases, run};
use std::time::Instant;

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

    let work = phases("B", n, &property);
    let total: usize = work.iter().map(Vec::len).sum();
    let started = Instant::now();
    let (latencies, failures) = run(
        &client,
        std::slice::from_ref(&base),
        &token,
        work,
        concurrency,
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "ingest messages={total} reservations={n} seconds={elapsed:.1} messages_per_s={:.0} reservations_per_s={:.0} p50_ms={:.2} p99_ms={:.2} failed={failures}",
        total as f64 / elapsed,
        n as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );

    let (kept, duplicated, missing, wrong) = check(&client, &base, &token, "B", n).await;
    println!("ingest check reservations={kept} duplicated={duplicated} missing={missing} wrong_revision={wrong}");
    if duplicated + missing + wrong + failures > 0 {
        std::process::exit(1);
    }
}
