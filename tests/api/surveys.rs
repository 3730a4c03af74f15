//! Surveys after check-out behind signed single-use links, low scores
//! opening complaints, satisfaction figures, and online reviews.

use crate::reservations::hotel;
use chrono::{Duration, Utc};
use crm_tests::*;
use serde_json::{json, Value};

async fn survey_template(app: &TestApp) -> Value {
    app.post(
        "/api/v1/survey-templates",
        &app.admin_token,
        json!({"name": "Post-stay", "active": true, "definition": {
            "intro": "感谢您的入住", "dimensions": ["room_hygiene", "staff_attitude", "value"],
            "nps": true, "free_text": true}}),
    )
    .await
    .assert_status(201)
    .clone()
}

async fn public(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    body: Option<Value>,
) -> Response {
    app.send(
        method,
        &format!("/api/v1/public/surveys/{token}"),
        None,
        body,
        &[],
    )
    .await
}

async fn invitation_token(app: &TestApp, guest: &str) -> (String, String) {
    let inv = app
        .get(
            &format!("/api/v1/guests/{guest}/survey-invitations"),
            &app.admin_token,
        )
        .await;
    let i = &inv.assert_status(200)["data"][0];
    (
        i["id"].as_str().unwrap().to_string(),
        i["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_check_out_sends_a_survey_answered_once_through_a_signed_link() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = hotel(&app, 10).await;
    survey_template(&app).await;
    let (reservation, stay) = crate::loyalty::stay(&app, &h, "13900000321", 1, 50_000, 0).await;
    let r = app
        .get(&format!("/api/v1/reservations/{reservation}"), t)
        .await;
    let guest = r.assert_status(200)["guest_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (invitation, token) = invitation_token(&app, &guest).await;

    // No login needed; the link opens this survey and nothing else.
    let s = public(&app, reqwest::Method::GET, &token, None).await;
    assert_eq!(
        s.assert_status(200)["dimensions"],
        json!(["room_hygiene", "staff_attitude", "value"])
    );
    assert_eq!(s.body["property"], "Bund");
    assert!(s.body.get("guest_id").is_none());
    app.get("/api/v1/tickets", &token).await.assert_status(401);

    // A tampered or made-up link is unknown; an expired one is gone.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    public(
        &app,
        reqwest::Method::GET,
        std::str::from_utf8(&forged).unwrap(),
        None,
    )
    .await
    .assert_problem(404, "survey_not_found");
    let expired = crm_api::routes::surveys::link_token(
        JWT_SECRET,
        &invitation,
        Utc::now() - Duration::hours(1),
    );
    public(&app, reqwest::Method::GET, &expired, None)
        .await
        .assert_problem(410, "survey_expired");

    // A wrong answer is refused and leaves the link usable.
    let bad = public(
        &app,
        reqwest::Method::POST,
        &token,
        Some(json!({"scores": {"room_hygiene": 6, "location": 3}, "nps": 11})),
    )
    .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "scores.room_hygiene",
            "scores.staff_attitude",
            "scores.value",
            "scores.location",
            "nps"
        ]
    );
    // A low score on hygiene: received, and a complaint opens.
    public(&app, reqwest::Method::POST, &token,
        Some(json!({"scores": {"room_hygiene": 1, "staff_attitude": 4, "value": 3}, "nps": 8, "comment": "浴室很脏"})))
        .await
        .assert_status(201);
    public(
        &app,
        reqwest::Method::POST,
        &token,
        Some(json!({"scores": {"room_hygiene": 5, "staff_attitude": 5, "value": 5}, "nps": 10})),
    )
    .await
    .assert_problem(409, "survey_answered");
    public(&app, reqwest::Method::GET, &token, None)
        .await
        .assert_problem(409, "survey_answered");

    let tickets = app
        .get(&format!("/api/v1/tickets?guest_id={guest}"), t)
        .await;
    let tk = &tickets.assert_status(200)["data"][0];
    assert_eq!(
        (
            tk["category"].as_str(),
            tk["channel"].as_str(),
            tk["severity"].as_str()
        ),
        (Some("hygiene"), Some("survey"), Some("high"))
    );
    assert_eq!(tk["stay_id"], stay.as_str());
    assert_eq!(tk["reservation_id"], reservation.as_str());
    assert_eq!(tk["description"], "浴室很脏");
    let responses = app
        .get(&format!("/api/v1/survey-responses?guest_id={guest}"), t)
        .await;
    let resp = &responses.assert_status(200)["data"][0];
    assert_eq!(resp["scores"]["room_hygiene"], 1);
    assert_eq!(resp["ticket_id"], tk["id"]);
    let inv = app
        .get(&format!("/api/v1/guests/{guest}/survey-invitations"), t)
        .await;
    assert!(
        inv.assert_status(200)["data"][0]["token"].is_null(),
        "no link once answered"
    );

    // Satisfaction joins the reports; low satisfaction feeds churn.
    let sat = app.get("/api/v1/reports/satisfaction", t).await;
    let row = &sat.assert_status(200)["rows"][0];
    assert_eq!(
        (row["responses"].as_i64(), row["room_hygiene"].as_f64()),
        (Some(1), Some(1.0))
    );
    assert_eq!(
        row["nps"], 0.0,
        "an 8 is passive: no promoter, no detractor"
    );
    assert!(row["food_beverage"].is_null());
    let insights = app
        .get(&format!("/api/v1/guests/{guest}/insights"), t)
        .await;
    assert!(
        insights.assert_status(200)["churn"]["reasons"]
            .to_string()
            .contains("low satisfaction"),
        "{}",
        insights.body
    );
}

#[tokio::test]
async fn survey_links_are_rate_limited_and_templates_validated() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let mut last = None;
    for _ in 0..21 {
        last = Some(public(&app, reqwest::Method::GET, "bm90LWEtcmVhbC10b2tlbg", None).await);
    }
    let last = last.unwrap();
    last.assert_problem(429, "rate_limited");
    assert!(last.header("retry-after").is_some());

    let bad = app
        .post(
            "/api/v1/survey-templates",
            t,
            json!({"name": "", "definition": {
        "intro": "x", "dimensions": ["value", "value"], "valid_days": 365}}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "definition.dimensions[1]", "definition.valid_days"]
    );
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        "/api/v1/survey-templates",
        &desk,
        json!({"name": "n", "definition": {"intro": "x", "dimensions": ["value"]}}),
    )
    .await
    .assert_status(403);
    // One active template: activating another deactivates the first.
    let a = survey_template(&app).await;
    let b = survey_template(&app).await;
    let a = app
        .get(
            &format!("/api/v1/survey-templates/{}", a["id"].as_str().unwrap()),
            t,
        )
        .await;
    assert_eq!(a.assert_status(200)["active"], false);
    assert_eq!(b["active"], true);
    let patched = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/survey-templates/{}", b["id"].as_str().unwrap()),
            Some(t),
            Some(json!({"definition": {"intro": "new", "dimensions": ["location"]}})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(patched.assert_status(200)["version"], 2);
    let other = app.other_organization_admin().await;
    app.get(
        &format!("/api/v1/survey-templates/{}", b["id"].as_str().unwrap()),
        &other,
    )
    .await
    .assert_problem(404, "survey_template_not_found");
}

#[tokio::test]
async fn reviews_are_recorded_once_scored_alike_and_replied_to() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = hotel(&app, 10).await;
    let r = app
        .post(
            "/api/v1/reviews",
            t,
            json!({"property_id": h.property_id, "source": "ctrip",
        "external_id": "CT-1", "rating": 4.5, "body": "早餐丰富", "reviewed_on": "2026-11-20"}),
        )
        .await;
    let review = r.assert_status(201).clone();
    assert_eq!(
        (review["score"].as_i64(), review["reply_status"].as_str()),
        (Some(90), Some("pending"))
    );
    app.post(
        "/api/v1/reviews",
        t,
        json!({"property_id": h.property_id, "source": "ctrip",
        "external_id": "CT-1", "rating": 3, "reviewed_on": "2026-11-21"}),
    )
    .await
    .assert_problem(409, "review_exists");
    app.post(
        "/api/v1/reviews",
        t,
        json!({"property_id": h.property_id, "source": "booking",
        "rating": 8.3, "scale": 10, "reviewed_on": "2026-11-22"}),
    )
    .await
    .assert_status(201);
    let bad = app
        .post(
            "/api/v1/reviews",
            t,
            json!({"property_id": h.property_id, "source": "google",
        "rating": 5.5, "reviewed_on": "2026-11-22", "guest_id": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    app.post("/api/v1/reviews", t, json!({"property_id": h.property_id, "source": "yelp", "rating": 4, "reviewed_on": "2026-11-22"}))
        .await
        .assert_problem(422, "validation_failed");

    let id = review["id"].as_str().unwrap();
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        &format!("/api/v1/reviews/{id}/reply"),
        &desk,
        json!({"text": "谢谢"}),
    )
    .await
    .assert_status(403);
    let replied = app
        .post(
            &format!("/api/v1/reviews/{id}/reply"),
            t,
            json!({"text": "感谢您的好评！", "posted": true}),
        )
        .await;
    assert_eq!(replied.assert_status(200)["reply_status"], "replied");
    assert!(replied.body["replied_at"].is_string());
    let pending = app.get("/api/v1/reviews?reply_status=pending", t).await;
    let pending = pending.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["source"], "booking");

    let rr = app
        .get(
            "/api/v1/reports/review-ratings?from=2026-11-01&to=2026-11-30",
            t,
        )
        .await;
    let rows = rr.assert_status(200)["rows"].as_array().unwrap().clone();
    let ctrip = rows.iter().find(|r| r["source"] == "ctrip").unwrap();
    assert_eq!(
        (ctrip["reviews"].as_i64(), ctrip["average_score"].as_f64()),
        (Some(1), Some(90.0))
    );
    let booking = rows.iter().find(|r| r["source"] == "booking").unwrap();
    assert_eq!(booking["average_score"], 83.0);

    let other = app.other_organization_admin().await;
    app.get(&format!("/api/v1/reviews/{id}"), &other)
        .await
        .assert_problem(404, "review_not_found");
}
