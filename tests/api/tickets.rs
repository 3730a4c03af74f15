//! Complaints and service requests: priority, deadlines, the life of a
//! ticket, escalation, compensation, malicious complaints and KPIs.

use crate::loyalty::{balance, enrol, programme};
use chrono::{Duration, Utc};
use crm_tests::*;
use serde_json::{json, Value};

async fn property(app: &TestApp) -> String {
    app.get("/api/v1/properties", &app.admin_token)
        .await
        .assert_status(200)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ticket(app: &TestApp, token: &str, body: Value) -> Value {
    app.post("/api/v1/tickets", token, body)
        .await
        .assert_status(201)
        .clone()
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> Value {
    app.post(&format!("/api/v1/tickets/{id}/{action}"), token, json!({}))
        .await
        .assert_status(200)
        .clone()
}

fn minutes(from: &Value, to: &Value) -> i64 {
    let a: chrono::DateTime<Utc> = from.as_str().unwrap().parse().unwrap();
    let b: chrono::DateTime<Utc> = to.as_str().unwrap().parse().unwrap();
    (b - a).num_minutes()
}

async fn scan_at(app: &TestApp, at: chrono::DateTime<Utc>) -> crm_api::routes::tickets::SlaScan {
    let (db, org) = (app.db.clone(), app.org_id.clone());
    tokio::task::spawn_blocking(move || crm_api::routes::tickets::scan(&db, &org, at))
        .await
        .unwrap()
        .expect("the scan runs")
}

#[tokio::test]
async fn a_ticket_has_a_priority_deadlines_and_a_recorded_life() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = property(&app).await;
    let (desk_id, desk) = app.user_with_role("front_desk").await;
    let vip = app
        .create_guest(
            t,
            json!({"family_name": "王", "given_name": "芳", "tags": ["VIP"]}),
        )
        .await;
    let plain = app
        .create_guest(t, json!({"family_name": "Li", "given_name": "Lei"}))
        .await;

    // A VIP's hygiene complaint: one step up in priority, half the time
    // to acknowledge (30 → 15 minutes), 24 h to resolve, 48 h at most.
    let a = ticket(
        &app,
        &desk,
        json!({"kind": "complaint", "category": "hygiene", "severity": "high",
        "subject": "浴室有头发", "property_id": prop, "guest_id": vip["id"], "room": "1208"}),
    )
    .await;
    assert_eq!(a["priority"], 1);
    assert_eq!(a["vip"], true);
    assert_eq!(a["status"], "new");
    assert_eq!(minutes(&a["created_at"], &a["acknowledge_due"]), 15);
    assert_eq!(minutes(&a["created_at"], &a["resolve_due"]), 24 * 60);
    assert_eq!(minutes(&a["created_at"], &a["hard_due"]), 48 * 60);
    assert_eq!(
        a["allowed_actions"],
        json!(["acknowledge", "start", "resolve"])
    );
    let b = ticket(
        &app,
        &desk,
        json!({"kind": "service_request", "category": "price",
        "subject": "Invoice needed", "property_id": prop, "guest_id": plain["id"]}),
    )
    .await;
    assert_eq!(
        (b["priority"].as_i64(), b["vip"].as_bool()),
        (Some(3), Some(false))
    );
    assert_eq!(minutes(&b["created_at"], &b["acknowledge_due"]), 60);

    // The life: acknowledge → start → resolve → close → reopen.
    let id = a["id"].as_str().unwrap();
    let x = act(&app, &desk, id, "acknowledge").await;
    assert_eq!(x["status"], "acknowledged");
    assert!(x["acknowledged_at"].is_string());
    let res = app
        .post(&format!("/api/v1/tickets/{id}/close"), &desk, json!({}))
        .await;
    res.assert_problem(409, "invalid_status_transition");
    assert_eq!(res.body["allowed_actions"], json!(["start", "resolve"]));
    act(&app, &desk, id, "start").await;
    let x = app
        .post(
            &format!("/api/v1/tickets/{id}/resolve"),
            &desk,
            json!({"resolution": "Cleaned again, apologised."}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(x["status"], "resolved");
    assert!(x["next_due"].is_null());
    act(&app, &desk, id, "close").await;
    let x = app
        .post(
            &format!("/api/v1/tickets/{id}/reopen"),
            &desk,
            json!({"note": "Guest found more hair"}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        (x["status"].as_str(), x["reopen_count"].as_i64()),
        (Some("acknowledged"), Some(1))
    );
    assert!(x["resolved_at"].is_null() && x["first_resolved_at"].is_string());

    let history = app.get(&format!("/api/v1/tickets/{id}/history"), t).await;
    let actions: Vec<&str> = history.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "acknowledged",
            "started",
            "resolved",
            "closed",
            "reopened"
        ]
    );
    let last = &history.body["data"][5];
    assert_eq!(
        (last["actor_id"].as_str(), last["note"].as_str()),
        (Some(desk_id.as_str()), Some("Guest found more hair"))
    );
    assert_eq!(
        (last["from_status"].as_str(), last["to_status"].as_str()),
        (Some("closed"), Some("acknowledged"))
    );

    // Comments; a patch of the severity moves the priority; stale If-Match.
    app.post(
        &format!("/api/v1/tickets/{id}/comments"),
        &desk,
        json!({"body": "Housekeeping informed"}),
    )
    .await
    .assert_status(201);
    let comments = app.get(&format!("/api/v1/tickets/{id}/comments"), t).await;
    assert_eq!(comments.assert_status(200)["data"][0]["internal"], true);
    let bid = b["id"].as_str().unwrap();
    let patched = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/tickets/{bid}"),
            Some(&desk),
            Some(json!({"severity": "critical"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(patched.assert_status(200)["priority"], 1);
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{bid}"),
        Some(&desk),
        Some(json!({"severity": "low"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(412, "version_conflict");

    // Filters.
    let open = app
        .get(
            &format!(
                "/api/v1/tickets?open=true&guest_id={}",
                plain["id"].as_str().unwrap()
            ),
            t,
        )
        .await;
    assert_eq!(open.assert_status(200)["data"].as_array().unwrap().len(), 1);
    let none = app
        .get("/api/v1/tickets?kind=complaint&open=false", t)
        .await;
    assert_eq!(none.assert_status(200)["data"].as_array().unwrap().len(), 0);
    app.get("/api/v1/tickets?colour=red", t)
        .await
        .assert_status(400);
}

#[tokio::test]
async fn overdue_tickets_escalate_to_managers_once_per_missed_deadline() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = property(&app).await;
    let (_, manager) = app.user_with_role("manager").await;
    let (desk_id, desk) = app.user_with_role("front_desk").await;
    let late = ticket(
        &app,
        &desk,
        json!({"kind": "complaint", "category": "attitude",
        "subject": "Rude at check-in", "property_id": prop, "assignee_id": desk_id}),
    )
    .await;
    let on_time = ticket(
        &app,
        &desk,
        json!({"kind": "complaint", "category": "attitude",
        "subject": "Noise", "property_id": prop}),
    )
    .await;
    act(&app, &desk, on_time["id"].as_str().unwrap(), "acknowledge").await;
    let created: chrono::DateTime<Utc> = late["created_at"].as_str().unwrap().parse().unwrap();

    // Before the first deadline nothing is due.
    let r = scan_at(&app, created + Duration::minutes(59)).await;
    assert_eq!((r.examined, r.escalated), (0, 0));

    // An hour later: the unacknowledged ticket missed its first target.
    let r = scan_at(&app, created + Duration::minutes(61)).await;
    assert_eq!((r.examined, r.escalated), (1, 1));
    let x = app
        .get(
            &format!("/api/v1/tickets/{}", late["id"].as_str().unwrap()),
            t,
        )
        .await;
    assert_eq!(x.assert_status(200)["breaches"], json!(["acknowledge"]));
    assert_eq!(x.body["escalation_level"], 1);
    let on = app
        .get(
            &format!("/api/v1/tickets/{}", on_time["id"].as_str().unwrap()),
            t,
        )
        .await;
    assert_eq!(on.assert_status(200)["breaches"], json!([]));

    // The manager and the assignee are told, once; admins not yet.
    let notes = app.get("/api/v1/notifications?unread=true", &manager).await;
    let notes = notes.assert_status(200)["data"].as_array().unwrap().clone();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["kind"], "ticket_escalated");
    assert_eq!(notes[0]["entity_id"], late["id"]);
    let desk_notes = app.get("/api/v1/notifications", &desk).await;
    let kinds: Vec<&str> = desk_notes.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ticket_assigned", "ticket_escalated"]);
    let admin_notes = app.get("/api/v1/notifications", t).await;
    assert_eq!(
        admin_notes.assert_status(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = scan_at(&app, created + Duration::minutes(62)).await;
    assert_eq!((r.examined, r.escalated), (0, 0));

    // Reading a notification.
    let nid = notes[0]["id"].as_str().unwrap();
    let read = app
        .post(
            &format!("/api/v1/notifications/{nid}/read"),
            &manager,
            json!({}),
        )
        .await;
    assert!(read.assert_status(200)["read_at"].is_string());
    app.post(
        &format!("/api/v1/notifications/{nid}/read"),
        &desk,
        json!({}),
    )
    .await
    .assert_problem(404, "notification_not_found");

    // Past 48 hours both open tickets are breached; level 2 reaches admins.
    let r = scan_at(&app, created + Duration::hours(49)).await;
    assert_eq!((r.examined, r.escalated), (2, 2));
    let x = app
        .get(
            &format!("/api/v1/tickets/{}", late["id"].as_str().unwrap()),
            t,
        )
        .await;
    assert_eq!(
        x.assert_status(200)["breaches"],
        json!(["acknowledge", "resolve", "hard_limit"])
    );
    assert_eq!(x.body["escalation_level"], 2);
    let admin_notes = app.get("/api/v1/notifications", t).await;
    assert_eq!(
        admin_notes.assert_status(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let breached = app.get("/api/v1/tickets?breached=true", t).await;
    assert_eq!(
        breached.assert_status(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = scan_at(&app, created + Duration::hours(50)).await;
    assert_eq!(r.examined, 0);

    // The on-demand scan is for managers.
    app.post("/api/v1/tickets/sla-scan", &desk, json!({}))
        .await
        .assert_status(403);
    app.post("/api/v1/tickets/sla-scan", &manager, json!({}))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn resolution_compensates_through_the_ledger_and_malice_suggests_a_blacklisting() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = property(&app).await;
    let (_, desk) = app.user_with_role("front_desk").await;
    programme(&app).await;
    let guest = app
        .create_guest(t, json!({"family_name": "张", "given_name": "伟"}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    enrol(&app, gid).await;
    let before = balance(&app, gid).await["available"].as_i64().unwrap();

    let x = ticket(
        &app,
        &desk,
        json!({"kind": "complaint", "category": "hardware",
        "subject": "空调坏了", "property_id": prop, "guest_id": gid}),
    )
    .await;
    let id = x["id"].as_str().unwrap();
    // The front desk resolves, but only managers compensate.
    app.post(
        &format!("/api/v1/tickets/{id}/resolve"),
        &desk,
        json!({"resolution": "Moved rooms", "compensation": {"points": 500}}),
    )
    .await
    .assert_status(403);
    let bad = app.post(&format!("/api/v1/tickets/{id}/resolve"), t,
        json!({"resolution": "Moved rooms", "compensation": {"points": 0, "refund": {"amount": 100, "currency": "XXX1"}}}))
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"compensation.points") && fields.contains(&"compensation.refund.currency"),
        "{fields:?}"
    );
    let done = app.post(&format!("/api/v1/tickets/{id}/resolve"), t,
        json!({"resolution": "Moved to a suite", "compensation": {"points": 500,
            "voucher": {"description": "Dinner for two", "value": {"amount": 60000, "currency": "CNY"}},
            "refund": {"amount": 30000, "currency": "CNY"}}}))
        .await;
    let c = &done.assert_status(200)["compensation"];
    assert_eq!(c["points"], 500);
    assert_eq!(c["refund"], json!({"amount": 30000, "currency": "CNY"}));
    assert_eq!(c["voucher"]["value"]["amount"], 60000);
    assert!(c["points_entry_id"].is_string());
    assert_eq!(
        balance(&app, gid).await["available"].as_i64().unwrap(),
        before + 500
    );
    // Nothing half-written: a refused resolution left the points alone.
    let entries = app
        .get(&format!("/api/v1/guests/{gid}/points/entries"), t)
        .await;
    let bonuses = entries.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source_type"] == "complaint_compensation")
        .count();
    assert_eq!(bonuses, 1);

    // A ticket without a guest cannot credit points.
    let anon = ticket(
        &app,
        &desk,
        json!({"kind": "complaint", "category": "quality",
        "subject": "Cold soup", "property_id": prop}),
    )
    .await;
    app.post(
        &format!("/api/v1/tickets/{}/resolve", anon["id"].as_str().unwrap()),
        t,
        json!({"resolution": "Apology", "compensation": {"points": 100}}),
    )
    .await
    .assert_problem(422, "validation_failed");

    // Malicious complaints: the second judgement suggests a blacklisting.
    let second = ticket(
        &app,
        &desk,
        json!({"kind": "complaint", "category": "hygiene",
        "subject": "Stain again", "property_id": prop, "guest_id": gid}),
    )
    .await;
    let j = app
        .post(
            &format!("/api/v1/tickets/{id}/malicious"),
            t,
            json!({"malicious": true, "note": "Photos before check-in show it"}),
        )
        .await;
    assert_eq!(
        j.assert_status(200)["blacklist_suggestion"]["suggested"],
        false
    );
    app.post(
        &format!(
            "/api/v1/tickets/{}/malicious",
            second["id"].as_str().unwrap()
        ),
        &desk,
        json!({"malicious": true, "note": "x"}),
    )
    .await
    .assert_status(403);
    let j = app
        .post(
            &format!(
                "/api/v1/tickets/{}/malicious",
                second["id"].as_str().unwrap()
            ),
            t,
            json!({"malicious": true, "note": "Same claim as last month"}),
        )
        .await;
    let s = &j.assert_status(200)["blacklist_suggestion"];
    assert_eq!(
        (
            s["malicious_complaints_last_year"].as_i64(),
            s["suggested"].as_bool()
        ),
        (Some(2), Some(true))
    );
    let g = app.get(&format!("/api/v1/guests/{gid}"), t).await;
    assert!(
        g.assert_status(200)["blacklisted"].as_bool() != Some(true),
        "nothing automatic"
    );
    let req = ticket(
        &app,
        &desk,
        json!({"kind": "service_request", "category": "other",
        "subject": "Extra pillow", "property_id": prop}),
    )
    .await;
    app.post(
        &format!("/api/v1/tickets/{}/malicious", req["id"].as_str().unwrap()),
        t,
        json!({"malicious": true, "note": "n"}),
    )
    .await
    .assert_problem(409, "not_a_complaint");
}

#[tokio::test]
async fn kpis_per_staff_member_and_property() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = property(&app).await;
    let (desk_id, desk) = app.user_with_role("front_desk").await;
    for i in 0..3 {
        let x = ticket(
            &app,
            &desk,
            json!({"kind": "complaint", "category": "quality",
            "subject": format!("Issue {i}"), "property_id": prop, "assignee_id": desk_id}),
        )
        .await;
        let id = x["id"].as_str().unwrap();
        if i < 2 {
            app.post(
                &format!("/api/v1/tickets/{id}/resolve"),
                &desk,
                json!({"resolution": "Fixed"}),
            )
            .await
            .assert_status(200);
        }
        if i == 0 {
            act(&app, &desk, id, "reopen").await;
        }
    }
    let k = app.get("/api/v1/reports/ticket-kpis", t).await;
    let rows = k.assert_status(200)["rows"].as_array().unwrap().clone();
    let staff = rows
        .iter()
        .find(|r| r["group"] == "assignee" && r["key"] == desk_id.as_str())
        .unwrap();
    assert_eq!(staff["tickets"], 3);
    assert_eq!(staff["open"], 2);
    assert_eq!(staff["resolved"], 2);
    assert_eq!(staff["sla_attainment"], 1.0);
    assert!((staff["reopen_rate"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    let site = rows
        .iter()
        .find(|r| r["group"] == "property" && r["key"] == prop.as_str())
        .unwrap();
    assert_eq!(site["tickets"], 3);
    let csv = app
        .http
        .get(app.url("/api/v1/reports/ticket-kpis?format=csv"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert!(csv.text().await.unwrap().contains("minutes_to_acknowledge"));
}

#[tokio::test]
async fn ticket_input_is_validated_and_other_organisations_see_nothing() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = property(&app).await;
    let x = ticket(&app, t, json!({"kind": "complaint", "category": "price", "subject": "Overcharged", "property_id": prop})).await;
    let id = x["id"].as_str().unwrap();

    let bad = app.post("/api/v1/tickets", t, json!({"kind": "complaint", "category": "price",
        "subject": "x".repeat(201), "guest_id": uuid::Uuid::now_v7().to_string(), "room": "1".repeat(30)})).await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"subject") && fields.contains(&"room"),
        "{fields:?}"
    );
    let unknown = app
        .post(
            "/api/v1/tickets",
            t,
            json!({"kind": "complaint", "category": "price",
        "subject": "s", "guest_id": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    unknown.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = unknown.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["property_id", "guest_id"]);
    app.post(
        "/api/v1/tickets",
        t,
        json!({"kind": "grumble", "category": "price", "subject": "s", "property_id": prop}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/tickets",
        t,
        json!({"kind": "complaint", "category": "price", "subject": 7, "property_id": prop}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let syntax = app
        .http
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(t)
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(syntax.status(), 400);
    app.post(
        &format!("/api/v1/tickets/{id}/acknowledge"),
        t,
        json!({"note": 5}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let (_, marketing) = app.user_with_role("marketing").await;
    app.post(
        &format!("/api/v1/tickets/{id}/acknowledge"),
        &marketing,
        json!({}),
    )
    .await
    .assert_status(403);
    app.get("/api/v1/tickets", "").await.assert_status(401);

    let other = app.other_organization_admin().await;
    app.get(&format!("/api/v1/tickets/{id}"), &other)
        .await
        .assert_problem(404, "ticket_not_found");
    app.post(
        &format!("/api/v1/tickets/{id}/acknowledge"),
        &other,
        json!({}),
    )
    .await
    .assert_problem(404, "ticket_not_found");
    assert_eq!(
        app.get("/api/v1/tickets", &other).await.assert_status(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let theirs = app
        .post(
            "/api/v1/tickets",
            &other,
            json!({"kind": "complaint", "category": "price",
        "subject": "s", "property_id": prop}),
        )
        .await;
    theirs.assert_problem(422, "validation_failed");

    // SLA targets: validated, applied to new tickets only.
    let bad = app.send(reqwest::Method::PUT, "/api/v1/ticket-sla-targets", Some(t),
        Some(json!({"targets": [{"category": "price", "acknowledge_minutes": 60, "resolve_minutes": 30, "hard_limit_minutes": 90}]})), &[]).await;
    bad.assert_problem(422, "validation_failed");
    app.send(reqwest::Method::PUT, "/api/v1/ticket-sla-targets", Some(t),
        Some(json!({"targets": [{"category": "price", "acknowledge_minutes": 10, "resolve_minutes": 120, "hard_limit_minutes": 240}]})), &[])
        .await
        .assert_status(200);
    let got = app.get("/api/v1/ticket-sla-targets", t).await;
    let price = got.assert_status(200)["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["category"] == "price")
        .unwrap()
        .clone();
    assert_eq!(price["acknowledge_minutes"], 10);
    let y = ticket(
        &app,
        t,
        json!({"kind": "complaint", "category": "price", "subject": "Again", "property_id": prop}),
    )
    .await;
    assert_eq!(minutes(&y["created_at"], &y["resolve_due"]), 120);
    let old = app.get(&format!("/api/v1/tickets/{id}"), t).await;
    assert_eq!(
        minutes(
            &old.assert_status(200)["created_at"],
            &old.body["resolve_due"]
        ),
        24 * 60
    );
}

#[tokio::test]
async fn an_open_complaint_feeds_the_churn_warning() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = crate::reservations::hotel(&app, 10).await;
    let today = crate::reservations::shanghai_today();
    let b = crate::reservations::booking(
        &h,
        "DLK",
        "BAR",
        today + Duration::days(20),
        1,
        "13900000777",
    );
    let r = app.post("/api/v1/reservations", t, b).await;
    let r = r.assert_status(201).clone();
    let gid = r["guest_id"].as_str().unwrap().to_string();
    crate::analytics::past_stay(
        &app,
        &h,
        &gid,
        r["id"].as_str().unwrap(),
        today - Duration::days(30),
        2,
        90_000,
        "phone",
    );
    let reasons = |v: &Value| v["churn"]["reasons"].to_string();
    let i = app.get(&format!("/api/v1/guests/{gid}/insights"), t).await;
    assert!(!reasons(i.assert_status(200)).contains("open complaint"));
    let x = ticket(
        &app,
        t,
        json!({"kind": "complaint", "category": "attitude", "subject": "Ignored at the bar",
        "property_id": h.property_id, "guest_id": gid}),
    )
    .await;
    let i = app.get(&format!("/api/v1/guests/{gid}/insights"), t).await;
    assert!(
        reasons(i.assert_status(200)).contains("1 open complaint"),
        "{}",
        i.body
    );
    app.post(
        &format!("/api/v1/tickets/{}/resolve", x["id"].as_str().unwrap()),
        t,
        json!({"resolution": "Apologised"}),
    )
    .await
    .assert_status(200);
    let i = app.get(&format!("/api/v1/guests/{gid}/insights"), t).await;
    assert!(!reasons(i.assert_status(200)).contains("open complaint"));
}

#[tokio::test]
async fn a_guests_tickets_are_exported_and_their_texts_erased_with_the_guest() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = property(&app).await;
    let guest = app
        .create_guest(t, json!({"family_name": "Sun", "given_name": "Li"}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    let x = ticket(
        &app,
        t,
        json!({"kind": "complaint", "category": "lost_item", "subject": "Lost ring in room 1208",
            "description": "Gold ring, left on the sink", "room": "1208", "property_id": prop, "guest_id": gid}),
    )
    .await;
    let id = x["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/tickets/{id}/comments"),
        t,
        json!({"body": "Guest's phone is 13900001111"}),
    )
    .await
    .assert_status(201);
    let export = app.get(&format!("/api/v1/guests/{gid}/export"), t).await;
    assert_eq!(
        export.assert_status(200)["tickets"][0]["subject"],
        "Lost ring in room 1208"
    );
    app.post(&format!("/api/v1/guests/{gid}/erase"), t, json!({}))
        .await
        .assert_status(200);
    let after = app.get(&format!("/api/v1/tickets/{id}"), t).await;
    let after = after.assert_status(200);
    assert_eq!(after["subject"], "(erased)");
    assert!(after["description"].is_null() && after["room"].is_null());
    assert_eq!(
        after["category"], "lost_item",
        "the facts stay for the KPIs"
    );
    let comments = app.get(&format!("/api/v1/tickets/{id}/comments"), t).await;
    assert_eq!(comments.assert_status(200)["data"][0]["body"], "(erased)");
    // An erased guest gets no new tickets.
    app.post(
        "/api/v1/tickets",
        t,
        json!({"kind": "complaint", "category": "other", "subject": "s", "property_id": prop, "guest_id": gid}),
    )
    .await
    .assert_problem(409, "guest_erased");
}
