use crate::reservations::{hotel, shanghai_today};
use chrono::{Duration, NaiveDate};
use crm_tests::*;
use diesel::prelude::*;
use serde_json::{json, Value};

async fn channel_client(app: &TestApp, channels: &[&str]) -> String {
    let res = app
        .post(
            "/api/v1/clients",
            &app.admin_token,
            json!({"name": "Channel manager", "grants": {"channels": channels}}),
        )
        .await;
    let body = res.assert_status(201).clone();
    assert_eq!(body["grants"]["channels"], json!(channels));
    let res = app
        .token_request(json!({"grant_type": "client_credentials", "client_id": body["client_id"], "client_secret": body["client_secret"]}))
        .await;
    res.assert_status(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn push(
    action: &str,
    id: &str,
    last_modified: &str,
    arrival: NaiveDate,
    nights: i64,
    room_type: &str,
) -> Value {
    json!({
        "action": action, "channel_reservation_id": id, "last_modified": last_modified,
        "property_code": "sha",
        "guest": {"profile": {"family_name_latin": "Smith", "given_name_latin": "Anna", "emails": [{"address": "anna@example.com"}]}},
        "rooms": [{"room_type": room_type, "rate_plan": "BAR", "arrival": arrival.to_string(),
                   "departure": (arrival + Duration::days(nights)).to_string(), "adults": 1, "amount": 50000 * nights}]
    })
}

#[tokio::test]
async fn repeats_answer_like_the_first_and_stale_modifications_change_nothing() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = channel_client(&app, &["ctrip"]).await;
    let arrival = shanghai_today() + Duration::days(14);
    let url = "/api/v1/channels/ctrip/reservations";
    let create = push("create", "CT-1", "2026-11-20T10:00:00Z", arrival, 2, "DLK");
    let first = app.post(url, &token, create.clone()).await;
    let first = first.assert_status(200).clone();
    assert_eq!(first["outcome"], "created");
    assert_eq!(first["replayed"], false);
    let again = app.post(url, &token, create).await;
    assert_eq!(again.body["outcome"], "created");
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["reservation_id"], first["reservation_id"]);
    let id = first["reservation_id"].as_str().unwrap();

    // Newer: three nights. Then an older one arrives late.
    let newer = app
        .post(
            url,
            &token,
            push("modify", "CT-1", "2026-11-21T10:00:00Z", arrival, 3, "DLK"),
        )
        .await;
    assert_eq!(newer.assert_status(200)["outcome"], "modified");
    let older = app
        .post(
            url,
            &token,
            push("modify", "CT-1", "2026-11-20T12:00:00Z", arrival, 1, "TWN"),
        )
        .await;
    assert_eq!(older.assert_status(200)["outcome"], "stale");
    assert_eq!(older.body["warnings"][0]["code"], "stale_message");
    let r = app
        .get(&format!("/api/v1/reservations/{id}"), &app.admin_token)
        .await;
    assert_eq!(r.body["rooms"][0]["nights"], 3);
    assert_eq!(r.body["total"]["amount"], 150000);
    assert_eq!(r.body["channel_reservation_id"], "CT-1");
    let all = app.get("/api/v1/reservations", &app.admin_token).await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 1, "never twice");
    // The modification moved the inventory: night 3 is held, no double hold.
    let a = app
        .get(
            &format!(
                "/api/v1/properties/{}/availability?from={}&to={}&room_type=DLK",
                r.body["property_id"].as_str().unwrap(),
                arrival,
                arrival + Duration::days(4)
            ),
            &app.admin_token,
        )
        .await;
    let sold: Vec<i64> = a.body["room_types"][0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sold"].as_i64().unwrap())
        .collect();
    assert_eq!(sold, vec![1, 1, 1, 0]);

    let cancel = app.post(url, &token, json!({"action": "cancel", "channel_reservation_id": "CT-1", "last_modified": "2026-11-22T10:00:00Z", "property_code": "SHA"})).await;
    assert_eq!(cancel.assert_status(200)["outcome"], "cancelled");
    let revs = app
        .get(
            &format!("/api/v1/reservations/{id}/revisions"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = revs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["created", "modified", "cancelled"]);
}

#[tokio::test]
async fn a_cancel_before_its_booking_is_remembered() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = channel_client(&app, &["booking"]).await;
    let arrival = shanghai_today() + Duration::days(9);
    let url = "/api/v1/channels/booking/reservations";
    let cancel = app
        .post(url, &token, json!({"action": "cancel", "channel_reservation_id": "BK-9", "last_modified": "2026-11-23T10:00:00Z", "property_code": "SHA"}))
        .await;
    assert_eq!(cancel.assert_status(200)["outcome"], "cancel_remembered");
    let late_create = app
        .post(
            url,
            &token,
            push("create", "BK-9", "2026-11-22T10:00:00Z", arrival, 1, "DLK"),
        )
        .await;
    assert_eq!(
        late_create.assert_status(200)["outcome"],
        "already_cancelled"
    );
    let all = app.get("/api/v1/reservations", &app.admin_token).await;
    assert!(all.body["data"].as_array().unwrap().is_empty());
}

#[derive(QueryableByName)]
struct Raw {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    raw_message: Option<String>,
}

#[tokio::test]
async fn card_numbers_never_reach_the_database() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = channel_client(&app, &["ctrip"]).await;
    let mut msg = push(
        "create",
        "CT-CARD",
        "2026-11-20T10:00:00Z",
        shanghai_today() + Duration::days(3),
        1,
        "DLK",
    );
    msg["payment_card"] = json!({"card_number": "4111111111111111", "cvv": "737", "holder": "ANNA SMITH", "expiry": "12/28"});
    msg["guest_comments"] = json!("Guarantee with 5500 0000 0000 0004 please");
    app.post("/api/v1/channels/ctrip/reservations", &token, msg)
        .await
        .assert_status(200);
    let rows: Vec<Raw> = app
        .db
        .read(|conn| {
            Ok(diesel::sql_query("SELECT raw_message FROM reservation_revisions").load(conn)?)
        })
        .unwrap();
    let raw = rows[0].raw_message.clone().unwrap();
    assert!(raw.contains("CT-CARD"), "the message is kept");
    for secret in ["4111111111111111", "737", "5500 0000 0000 0004"] {
        assert!(!raw.contains(secret), "{secret} stored in {raw}");
    }
    let r = app.get("/api/v1/reservations", &app.admin_token).await;
    assert!(!r.body.to_string().contains("5500"), "nor shown back");
}

#[tokio::test]
async fn channel_bookings_are_kept_even_when_overbooked() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let token = channel_client(&app, &["ctrip"]).await;
    let arrival = shanghai_today() + Duration::days(7);
    let url = "/api/v1/channels/ctrip/reservations";
    app.post(
        url,
        &token,
        push("create", "S-1", "2026-11-20T10:00:00Z", arrival, 1, "SUI"),
    )
    .await
    .assert_status(200);
    let second = app
        .post(
            url,
            &token,
            push("create", "S-2", "2026-11-20T10:00:00Z", arrival, 1, "SUI"),
        )
        .await;
    assert_eq!(second.assert_status(200)["outcome"], "created");
    assert_eq!(second.body["warnings"][0]["code"], "overbooked");

    // The front desk may still change the overbooked reservation on the
    // night it already holds (only nights a change adds are checked), but
    // not move it onto another full night.
    let path = format!(
        "/api/v1/reservations/{}",
        second.body["reservation_id"].as_str().unwrap()
    );
    let same_night = json!({"rooms": [{"room_type": "SUI", "rate_plan": "BAR", "arrival": arrival.to_string(),
        "departure": (arrival + Duration::days(1)).to_string(), "adults": 2, "amount": 61000}]});
    let changed = app.patch(&path, &app.admin_token, same_night).await;
    assert_eq!(changed.assert_status(200)["total"]["amount"], 61000);
    app.post(
        url,
        &token,
        push(
            "create",
            "S-3",
            "2026-11-20T10:00:00Z",
            arrival + Duration::days(1),
            1,
            "SUI",
        ),
    )
    .await
    .assert_status(200);
    let longer = json!({"rooms": [{"room_type": "SUI", "rate_plan": "BAR", "arrival": arrival.to_string(),
        "departure": (arrival + Duration::days(2)).to_string(), "adults": 2, "amount": 122000}]});
    app.patch(&path, &app.admin_token, longer)
        .await
        .assert_problem(409, "no_availability");
    let sold = app
        .get(
            &format!(
                "/api/v1/properties/{}/availability?from={}&to={}&room_type=SUI",
                h.property_id,
                arrival,
                arrival + Duration::days(2)
            ),
            &app.admin_token,
        )
        .await;
    let sold: Vec<i64> = sold.assert_status(200)["room_types"][0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sold"].as_i64().unwrap())
        .collect();
    assert_eq!(sold, vec![2, 1], "the refused change undid its counters");
}

#[tokio::test]
async fn grants_and_bad_messages_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = channel_client(&app, &["ctrip"]).await;
    let arrival = shanghai_today() + Duration::days(5);
    app.post(
        "/api/v1/channels/booking/reservations",
        &token,
        push("create", "B-1", "2026-11-20T10:00:00Z", arrival, 1, "DLK"),
    )
    .await
    .assert_problem(403, "channel_not_granted");
    let mut unknown_hotel = push("create", "C-1", "2026-11-20T10:00:00Z", arrival, 1, "DLK");
    unknown_hotel["property_code"] = json!("NOPE");
    app.post("/api/v1/channels/ctrip/reservations", &token, unknown_hotel)
        .await
        .assert_problem(422, "validation_failed");
    let mut bad_dates = push("create", "C-2", "2026-11-20T10:00:00Z", arrival, 1, "DLK");
    bad_dates["rooms"][0]["departure"] = json!("2020-01-01");
    app.post("/api/v1/channels/ctrip/reservations", &token, bad_dates)
        .await
        .assert_problem(422, "validation_failed");
    let mut bad_time = push("create", "C-3", "yesterday", arrival, 1, "DLK");
    bad_time["last_modified"] = json!("yesterday");
    let res = app
        .post("/api/v1/channels/ctrip/reservations", &token, bad_time)
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "last_modified");
    let res = app
        .http
        .post(app.url("/api/v1/channels/ctrip/reservations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"action\": \"create\",")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    app.post(
        "/api/v1/channels/bad%20code/reservations",
        &token,
        json!({}),
    )
    .await
    .assert_problem(404, "channel_not_found");
    let all = app.get("/api/v1/reservations", &app.admin_token).await;
    assert!(all.body["data"].as_array().unwrap().is_empty());
    let guests = app.get("/api/v1/guests", &app.admin_token).await;
    assert!(
        guests.body["data"].as_array().unwrap().is_empty(),
        "no guest half-written"
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_booking_create_it_once() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = channel_client(&app, &["ctrip"]).await;
    let msg = push(
        "create",
        "RACE-1",
        "2026-11-20T10:00:00Z",
        shanghai_today() + Duration::days(4),
        2,
        "DLK",
    );
    let sends =
        (0..8).map(|_| app.post("/api/v1/channels/ctrip/reservations", &token, msg.clone()));
    let results = futures_util::future::join_all(sends).await;
    let mut ids = std::collections::HashSet::new();
    for r in &results {
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body["outcome"], "created");
        ids.insert(r.body["reservation_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    let all = app.get("/api/v1/reservations", &app.admin_token).await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn export_includes_bookings_and_erase_scrubs_their_personal_text() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = channel_client(&app, &["ctrip"]).await;
    let mut msg = push(
        "create",
        "ER-1",
        "2026-11-20T10:00:00Z",
        shanghai_today() + Duration::days(4),
        1,
        "DLK",
    );
    msg["guest_comments"] = json!("Anna's husband Tom joins, allergic to nuts");
    let res = app
        .post("/api/v1/channels/ctrip/reservations", &token, msg)
        .await;
    let rid = res.body["reservation_id"].as_str().unwrap().to_string();
    let r = app
        .get(&format!("/api/v1/reservations/{rid}"), &app.admin_token)
        .await;
    let gid = r.body["guest_id"].as_str().unwrap().to_string();
    let export = app
        .get(&format!("/api/v1/guests/{gid}/export"), &app.admin_token)
        .await;
    assert_eq!(
        export.assert_status(200)["reservations"][0]["id"],
        rid.as_str()
    );
    assert!(export.body["stays"].as_array().unwrap().is_empty());

    app.post(
        &format!("/api/v1/guests/{gid}/erase"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    let r = app
        .get(&format!("/api/v1/reservations/{rid}"), &app.admin_token)
        .await;
    assert_eq!(r.body["guest_comments"], Value::Null);
    assert_eq!(r.body["total"]["amount"], 50000, "figures stay");
    let rows: Vec<Raw> = app
        .db
        .read(|conn| {
            Ok(diesel::sql_query("SELECT raw_message FROM reservation_revisions").load(conn)?)
        })
        .unwrap();
    assert!(
        rows.iter().all(|r| r.raw_message.is_none()),
        "raw messages hold names and e-mails"
    );
}

#[tokio::test]
async fn configuration_changes_apply_to_the_next_booking_at_once() {
    // Room types and grants are cached per node; a change made through the
    // node retires the cache before the next request.
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let client = app
        .post(
            "/api/v1/clients",
            &app.admin_token,
            json!({"name": "Channel manager", "grants": {"channels": ["ctrip"]}}),
        )
        .await;
    let client = client.assert_status(201).clone();
    let token = app
        .token_request(json!({"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]}))
        .await;
    let token = token.assert_status(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = "/api/v1/channels/ctrip/reservations";
    let arrival = shanghai_today() + Duration::days(9);
    app.post(
        url,
        &token,
        push("create", "C-1", "2026-11-20T10:00:00Z", arrival, 1, "SUI"),
    )
    .await
    .assert_status(200);
    let direct = crate::reservations::booking(&h, "SUI", "BAR", arrival, 1, "13800000077");
    app.post("/api/v1/reservations", &app.admin_token, direct.clone())
        .await
        .assert_problem(409, "no_availability");
    let types = app
        .get(
            &format!("/api/v1/properties/{}/room-types", h.property_id),
            &app.admin_token,
        )
        .await;
    let sui = types.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "SUI")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(
        &format!("/api/v1/properties/{}/room-types/{sui}", h.property_id),
        &app.admin_token,
        json!({"room_count": 2}),
    )
    .await
    .assert_status(200);
    app.post("/api/v1/reservations", &app.admin_token, direct)
        .await
        .assert_status(201);

    let client_id = client["id"].as_str().unwrap();
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/clients/{client_id}/grants"),
        Some(&app.admin_token),
        Some(json!({"channels": ["booking"]})),
        &[],
    )
    .await
    .assert_status(200);
    app.post(
        url,
        &token,
        push("create", "C-2", "2026-11-20T10:00:00Z", arrival, 1, "DLK"),
    )
    .await
    .assert_problem(403, "channel_not_granted");
}
