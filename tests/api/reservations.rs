use chrono::{Duration, NaiveDate, Utc};
use crm_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

pub fn shanghai_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

pub struct Hotel {
    pub property_id: String,
}

/// A property in Shanghai with room types DLK (`dlk_rooms`, 10 %
/// overbooking), TWN (5 rooms) and SUI (1 room), and rate plans BAR (free
/// until 48 h, then the first night) and NRF (non-refundable).
pub async fn hotel(app: &TestApp, dlk_rooms: i32) -> Hotel {
    let p = app
        .post("/api/v1/properties", &app.admin_token, json!({"code": "SHA", "name": "Bund", "time_zone": "Asia/Shanghai", "currency": "CNY", "country": "CN"}))
        .await;
    let property_id = p.assert_status(201)["id"].as_str().unwrap().to_string();
    for (code, rooms, pct, occupancy) in [
        ("DLK", dlk_rooms, 10, 3),
        ("TWN", 5, 0, 2),
        ("SUI", 1, 0, 4),
    ] {
        app.post(
            &format!("/api/v1/properties/{property_id}/room-types"),
            &app.admin_token,
            json!({"code": code, "name": code, "room_count": rooms, "max_occupancy": occupancy, "overbooking_percent": pct}),
        )
        .await
        .assert_status(201);
    }
    app.post(
        &format!("/api/v1/properties/{property_id}/rate-plans"),
        &app.admin_token,
        json!({"code": "BAR", "name": "Flexible", "meal_plan": "breakfast", "cancellation_policy": {"type": "free_until", "hours_before_arrival": 48, "fee": {"type": "first_night"}}}),
    )
    .await
    .assert_status(201);
    app.post(
        &format!("/api/v1/properties/{property_id}/rate-plans"),
        &app.admin_token,
        json!({"code": "NRF", "name": "Saver", "meal_plan": "room_only", "cancellation_policy": {"type": "non_refundable"}}),
    )
    .await
    .assert_status(201);
    Hotel { property_id }
}

pub fn booking(
    h: &Hotel,
    room_type: &str,
    plan: &str,
    arrival: NaiveDate,
    nights: i64,
    phone: &str,
) -> Value {
    json!({
        "property_id": h.property_id, "channel": "phone",
        "guest": {"profile": {"family_name": "张", "given_name": "伟", "phones": [{"number": phone}]}},
        "rooms": [{"room_type": room_type, "rate_plan": plan, "arrival": arrival.to_string(),
                   "departure": (arrival + Duration::days(nights)).to_string(), "adults": 2, "amount": 45800 * nights}]
    })
}

#[tokio::test]
async fn a_booking_matches_its_guest_and_shows_in_availability() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let arrival = shanghai_today() + Duration::days(30);
    let first = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "dlk", "bar", arrival, 2, "13812345678"),
        )
        .await;
    let r = first.assert_status(201).clone();
    assert_eq!(r["status"], "confirmed");
    assert_eq!(r["total"], json!({"amount": 91600, "currency": "CNY"}));
    assert_eq!(r["rooms"][0]["nights"], 2);
    assert_eq!(r["rooms"][0]["cancellation_policy"]["type"], "free_until");
    assert!(r["confirmation_number"].as_str().unwrap().starts_with("HC"));
    // Same phone written another way: the same guest, not a new one.
    let second = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", arrival, 1, "+86 138-1234-5678"),
        )
        .await;
    assert_eq!(second.assert_status(201)["guest_id"], r["guest_id"]);
    let guests = app.get("/api/v1/guests?q=zhangwei", &app.admin_token).await;
    assert_eq!(guests.body["data"].as_array().unwrap().len(), 1);

    let a = app
        .get(
            &format!(
                "/api/v1/properties/{}/availability?from={}&to={}&room_type=DLK",
                h.property_id,
                arrival,
                arrival + Duration::days(3)
            ),
            &app.admin_token,
        )
        .await;
    let days = a.assert_status(200)["room_types"][0]["days"]
        .as_array()
        .unwrap()
        .clone();
    let sold: Vec<i64> = days.iter().map(|d| d["sold"].as_i64().unwrap()).collect();
    assert_eq!(sold, vec![2, 1, 0]);
    assert_eq!(days[0]["overbooking_allowance"], 1);
    assert_eq!(days[0]["available"], 9);
}

#[tokio::test]
async fn booking_past_the_allowance_is_409_with_alternatives() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let arrival = shanghai_today() + Duration::days(20);
    app.post(
        "/api/v1/reservations",
        &app.admin_token,
        booking(&h, "SUI", "BAR", arrival, 2, "13800000001"),
    )
    .await
    .assert_status(201);
    let full = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "SUI", "BAR", arrival, 2, "13800000002"),
        )
        .await;
    full.assert_problem(409, "no_availability");
    let alts = full.body["alternatives"].as_array().unwrap().clone();
    assert!(
        alts.iter()
            .any(|a| a["room_type"] == "DLK" && a["arrival"] == arrival.to_string()),
        "{alts:?}"
    );
    assert!(
        alts.iter().any(|a| a["room_type"] == "SUI"
            && a["arrival"] == (arrival + Duration::days(2)).to_string()),
        "{alts:?}"
    );
    assert!(
        alts.iter().any(|a| a["room_type"] == "TWN"),
        "TWN sleeps two, enough for two adults"
    );
}

#[tokio::test]
async fn parallel_bookings_never_sell_beyond_the_allowance() {
    let app = spawn_app().await;
    // 10 rooms + 10 % = 11 sellable.
    let h = hotel(&app, 10).await;
    let arrival = shanghai_today() + Duration::days(40);
    let requests = (0..16).map(|i| {
        app.send(
            Method::POST,
            "/api/v1/reservations",
            Some(&app.admin_token),
            Some(booking(
                &h,
                "DLK",
                "BAR",
                arrival,
                2,
                &format!("1390000{i:04}"),
            )),
            &[],
        )
    });
    let results = futures_util::future::join_all(requests).await;
    let created = results.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = results
        .iter()
        .filter(|r| r.status.as_u16() == 409 && r.body["code"] == "no_availability")
        .count();
    assert_eq!(
        (created, refused),
        (11, 5),
        "{:?}",
        results
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
    let a = app
        .get(
            &format!(
                "/api/v1/properties/{}/availability?from={}&to={}&room_type=DLK",
                h.property_id,
                arrival,
                arrival + Duration::days(2)
            ),
            &app.admin_token,
        )
        .await;
    for day in a.body["room_types"][0]["days"].as_array().unwrap() {
        assert_eq!(day["sold"], 11);
        assert_eq!(day["available"], 0);
    }
}

#[tokio::test]
async fn closed_dates_and_overrides_limit_what_is_sold() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let types = app
        .get(
            &format!("/api/v1/properties/{}/room-types", h.property_id),
            &app.admin_token,
        )
        .await;
    let twn = types.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "TWN")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let day = shanghai_today() + Duration::days(10);
    app.post(
        &format!("/api/v1/properties/{}/inventory-overrides", h.property_id),
        &app.admin_token,
        json!({"room_type_id": twn, "from": day.to_string(), "to": (day + Duration::days(1)).to_string(), "closed": true}),
    )
    .await
    .assert_status(200);
    app.post(
        "/api/v1/reservations",
        &app.admin_token,
        booking(&h, "TWN", "BAR", day, 1, "13800000003"),
    )
    .await
    .assert_problem(409, "no_availability");
    app.post(
        "/api/v1/reservations",
        &app.admin_token,
        booking(&h, "TWN", "BAR", day + Duration::days(1), 1, "13800000003"),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn cancellation_fees_follow_the_snapshot_policy_and_dry_run_changes_nothing() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let far = shanghai_today() + Duration::days(30);
    let soon = shanghai_today() + Duration::days(1);
    let free = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", far, 2, "13800000010"),
        )
        .await;
    let free_id = free.body["id"].as_str().unwrap().to_string();
    let late = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", soon, 2, "13800000011"),
        )
        .await;
    let late_id = late.body["id"].as_str().unwrap().to_string();
    let nrf = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "NRF", far, 2, "13800000012"),
        )
        .await;
    let nrf_id = nrf.body["id"].as_str().unwrap().to_string();

    let quote = app
        .post(
            &format!("/api/v1/reservations/{late_id}/cancel?dry_run=true"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(
        quote.assert_status(200)["fee"],
        json!({"amount": 45800, "currency": "CNY"})
    );
    assert_eq!(quote.body["dry_run"], true);
    let still = app
        .get(&format!("/api/v1/reservations/{late_id}"), &app.admin_token)
        .await;
    assert_eq!(still.body["status"], "confirmed");

    let q = app
        .post(
            &format!("/api/v1/reservations/{free_id}/cancel?dry_run=true"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(q.body["fee"]["amount"], 0);
    let q = app
        .post(
            &format!("/api/v1/reservations/{nrf_id}/cancel?dry_run=true"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(q.body["fee"]["amount"], 91600);

    let done = app
        .post(
            &format!("/api/v1/reservations/{late_id}/cancel"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(done.assert_status(200)["fee"]["amount"], 45800);
    let r = app
        .get(&format!("/api/v1/reservations/{late_id}"), &app.admin_token)
        .await;
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancellation_fee"]["amount"], 45800);
    app.post(
        &format!("/api/v1/reservations/{late_id}/cancel"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_status_transition");
    // The room is free again.
    let a = app
        .get(
            &format!(
                "/api/v1/properties/{}/availability?from={}&to={}&room_type=DLK",
                h.property_id,
                soon,
                soon + Duration::days(1)
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(a.body["room_types"][0]["days"][0]["sold"], 0);
    let revs = app
        .get(
            &format!("/api/v1/reservations/{late_id}/revisions"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = revs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["created", "cancelled"]);
    let me = app.get("/api/v1/me", &app.admin_token).await;
    assert_eq!(revs.body["data"][1]["actor_id"], me.body["id"]);
}

#[tokio::test]
async fn check_out_records_the_stay_and_the_guests_statistics() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let today = shanghai_today();
    let r = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", today, 2, "13800000020"),
        )
        .await;
    let r = r.assert_status(201).clone();
    let id = r["id"].as_str().unwrap();
    let guest = r["guest_id"].as_str().unwrap();
    // A cancelled reservation of the same guest counts in nothing.
    let other = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(
                &h,
                "DLK",
                "BAR",
                today + Duration::days(60),
                1,
                "13800000020",
            ),
        )
        .await;
    let other_id = other.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/reservations/{other_id}/cancel"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);

    app.post(
        &format!("/api/v1/reservations/{id}/check-out"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_status_transition");
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        &format!("/api/v1/reservations/{id}/check-in"),
        &desk,
        json!({}),
    )
    .await
    .assert_status(200);
    let out = app
        .post(
            &format!("/api/v1/reservations/{id}/check-out"),
            &desk,
            json!({"charges": {"room": 91600, "food_and_beverage": 12800}}),
        )
        .await;
    assert_eq!(out.assert_status(200)["status"], "checked_out");

    let stays = app
        .get(&format!("/api/v1/guests/{guest}/stays"), &app.admin_token)
        .await;
    let list = stays.assert_status(200)["data"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["nights"], 2);
    assert_eq!(
        list[0]["total_revenue"],
        json!({"amount": 104400, "currency": "CNY"})
    );
    let stats = app
        .get(
            &format!("/api/v1/guests/{guest}/stay-statistics"),
            &app.admin_token,
        )
        .await;
    let s = stats.assert_status(200);
    assert_eq!(s["stays"], 1);
    assert_eq!(s["nights"], 2);
    assert_eq!(s["spend"], json!([{"amount": 104400, "currency": "CNY"}]));
    assert_eq!(s["channel_mix"], json!({"phone": 1}));
    assert_eq!(s["first_stay_on"], today.to_string());
}

#[tokio::test]
async fn no_show_walk_and_bad_bookings() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let future = shanghai_today() + Duration::days(5);
    let r = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", future, 1, "13800000030"),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/reservations/{id}/no-show"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "before_arrival");
    app.post(
        &format!("/api/v1/reservations/{id}/check-in"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "outside_stay_dates");
    app.post(
        &format!("/api/v1/reservations/{id}/walk"),
        &app.admin_token,
        json!({"compensation": " "}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let walked = app
        .post(
            &format!("/api/v1/reservations/{id}/walk"),
            &app.admin_token,
            json!({"compensation": "Hotel Nikko, 1 night, taxi"}),
        )
        .await;
    assert_eq!(walked.assert_status(200)["status"], "walked");
    assert_eq!(walked.body["compensation"], "Hotel Nikko, 1 night, taxi");

    let mut bad = booking(&h, "XXX", "BAR", future, 1, "13800000031");
    bad["rooms"][0]["departure"] = json!(future.to_string());
    bad["rooms"][0]["adults"] = json!(0);
    let res = app
        .post("/api/v1/reservations", &app.admin_token, bad)
        .await;
    res.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = res.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "rooms[0].departure",
            "rooms[0].room_type",
            "rooms[0].adults"
        ]
    );
    let mut crowded = booking(&h, "TWN", "BAR", future, 1, "13800000032");
    crowded["rooms"][0]["adults"] = json!(2);
    crowded["rooms"][0]["children_ages"] = json!([5]);
    app.post("/api/v1/reservations", &app.admin_token, crowded)
        .await
        .assert_problem(422, "validation_failed");

    let mut ota = booking(&h, "DLK", "BAR", future, 1, "13800000033");
    ota["channel"] = json!("ota");
    ota["channel_reservation_id"] = json!("CTRIP-778899");
    app.post("/api/v1/reservations", &app.admin_token, ota.clone())
        .await
        .assert_status(201);
    app.post("/api/v1/reservations", &app.admin_token, ota)
        .await
        .assert_problem(409, "reservation_exists");
    let nothing_half_written = app
        .get("/api/v1/guests?q=13800000031", &app.admin_token)
        .await;
    assert!(nothing_half_written.body["data"]
        .as_array()
        .unwrap()
        .is_empty());

    let rival = app.other_organization_admin().await;
    app.get(&format!("/api/v1/reservations/{id}"), &rival)
        .await
        .assert_problem(404, "reservation_not_found");
    app.get(
        &format!(
            "/api/v1/properties/{}/availability?from={}&to={}",
            h.property_id,
            future,
            future + Duration::days(1)
        ),
        &rival,
    )
    .await
    .assert_problem(404, "property_not_found");
    let listed = app.get("/api/v1/reservations", &rival).await;
    assert!(listed.body["data"].as_array().unwrap().is_empty());
    let mut foreign = booking(&h, "DLK", "BAR", future, 1, "13800000034");
    foreign["property_id"] = json!(h.property_id);
    app.post("/api/v1/reservations", &rival, foreign)
        .await
        .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn the_front_desk_modifies_rooms_with_if_match_and_availability() {
    let app = spawn_app().await;
    let h = hotel(&app, 10).await;
    let arrival = shanghai_today() + Duration::days(12);
    let r = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", arrival, 2, "13800000040"),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/reservations/{id}");
    let three_nights = json!({"rooms": [{"room_type": "SUI", "rate_plan": "NRF", "arrival": arrival.to_string(),
        "departure": (arrival + Duration::days(3)).to_string(), "adults": 2, "amount": 150000}]});
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&app.admin_token),
            Some(three_nights.clone()),
            &[("if-match", "\"1\"")],
        )
        .await;
    let body = res.assert_status(200).clone();
    assert_eq!(body["rooms"][0]["nights"], 3);
    assert_eq!(
        body["rooms"][0]["cancellation_policy"]["type"],
        "non_refundable"
    );
    assert_eq!(body["total"]["amount"], 150000);
    app.send(
        Method::PATCH,
        &path,
        Some(&app.admin_token),
        Some(three_nights),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(412, "version_conflict");
    // SUI has one room; another booking cannot move onto it.
    let other = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&h, "DLK", "BAR", arrival, 1, "13800000041"),
        )
        .await;
    let other_path = format!(
        "/api/v1/reservations/{}",
        other.body["id"].as_str().unwrap()
    );
    let to_suite = json!({"rooms": [{"room_type": "SUI", "rate_plan": "BAR", "arrival": arrival.to_string(),
        "departure": (arrival + Duration::days(1)).to_string(), "adults": 1, "amount": 50000}]});
    app.patch(&other_path, &app.admin_token, to_suite)
        .await
        .assert_problem(409, "no_availability");
    let unchanged = app.get(&other_path, &app.admin_token).await;
    assert_eq!(
        unchanged.body["version"], 1,
        "the refused change left nothing behind"
    );
    let a = app
        .get(
            &format!(
                "/api/v1/properties/{}/availability?from={}&to={}",
                h.property_id,
                arrival,
                arrival + Duration::days(1)
            ),
            &app.admin_token,
        )
        .await;
    let dlk = a.body["room_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["room_type"] == "DLK")
        .unwrap()
        .clone();
    assert_eq!(
        dlk["days"][0]["sold"], 1,
        "the first booking left DLK, the second still holds it"
    );
    let revs = app
        .get(&format!("{path}/revisions"), &app.admin_token)
        .await;
    assert_eq!(revs.body["data"][1]["changed_fields"], json!(["rooms"]));
}
