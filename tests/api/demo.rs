//! `seed-demo`: realistic data, the same for the same seed.

use chrono::{NaiveDate, TimeZone, Utc};
use crm_api::demo::{seed, DemoOptions};
use crm_tests::*;
use serde_json::Value;

async fn seeded(seed_value: u64) -> (TestApp, crm_api::demo::DemoReport) {
    let app = spawn_app().await;
    let opts = DemoOptions {
        org_id: app.org_id.clone(),
        guests: 120,
        seed: seed_value,
        today: NaiveDate::from_ymd_opt(2026, 6, 15).unwrap(),
        now: Utc.with_ymd_and_hms(2026, 6, 15, 8, 0, 0).unwrap(),
        batch: 50,
    };
    let db = app.db.clone();
    let report = tokio::task::spawn_blocking(move || seed(&db, &opts, |_| {}))
        .await
        .unwrap()
        .expect("the demo seeds");
    (app, report)
}

/// What a report says, without anything that depends on generated ids.
async fn report(app: &TestApp, name: &str) -> Value {
    let from = "?from=2023-01-01&to=2026-12-31";
    app.get(&format!("/api/v1/reports/{name}{from}"), &app.admin_token)
        .await
        .assert_status(200)
        .clone()
}

#[tokio::test]
async fn the_demo_is_realistic_and_the_same_for_the_same_seed() {
    let (a, ra) = seeded(7).await;
    let (b, rb) = seeded(7).await;
    let (c, rc) = seeded(8).await;
    let t = &a.admin_token;

    assert_eq!(ra.guests, 120);
    assert!(ra.reservations > 120 && ra.stays > 60, "{ra:?}");
    assert!(ra.members > 0, "{ra:?}");
    assert_eq!(
        (ra.reservations, ra.stays, ra.members),
        (rb.reservations, rb.stays, rb.members)
    );

    // The same seed gives the same guests, stays and money; another seed does not.
    for name in [
        "guest-structure",
        "channel-mix",
        "spend-distribution",
        "loyalty-liability",
    ] {
        assert_eq!(report(&a, name).await, report(&b, name).await, "{name}");
    }
    assert!(
        report(&a, "channel-mix").await != report(&c, "channel-mix").await
            || (ra.reservations, ra.stays) != (rc.reservations, rc.stays)
    );

    // Several properties, every channel, guests with insights and points.
    let properties = a
        .get("/api/v1/properties", t)
        .await
        .assert_status(200)
        .clone();
    assert!(properties["data"].as_array().unwrap().len() >= 4);
    let mix = report(&a, "channel-mix").await;
    let channels: Vec<&str> = mix["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["channel"].as_str())
        .collect();
    assert!(channels.len() >= 4, "{channels:?}");
    let guests = a
        .get("/api/v1/guests?limit=100", t)
        .await
        .assert_status(200)
        .clone();
    let names: Vec<String> = guests["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["display_name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names
        .iter()
        .any(|n| n.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))));
    assert!(names.iter().any(|n| n.is_ascii()));
    let mut scored = 0;
    for g in guests["data"].as_array().unwrap().iter().take(20) {
        let id = g["id"].as_str().unwrap();
        let insights = a.get(&format!("/api/v1/guests/{id}/insights"), t).await;
        if insights.assert_status(200)["rfm"].is_object() {
            scored += 1;
        }
    }
    assert!(scored > 0);
    drop(c);
}
