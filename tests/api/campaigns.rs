//! Campaigns: definition checks, the send (consent, cap, personal codes),
//! coupon redemption on bookings (limits, concurrency, release on
//! cancellation), attribution and ROI, resumption after a lost sender.

use crate::reservations::{hotel, Hotel};
use crm_api::jobs::Job;
use crm_tests::*;
use serde_json::{json, Value};

pub(crate) async fn campaign_templates(app: &TestApp) -> Vec<String> {
    let t = &app.admin_token;
    let email = app.post("/api/v1/message-templates", t, json!({"name": "Winter e-mail", "trigger": "campaign",
        "channel": "email", "language": "zh", "subject": "{{offer.title}}",
        "body": "{{guest.display_name}}您好，{{property.name}}冬季优惠：预订时输入 {{offer.code}}，{{offer.valid_until}}前有效。"}))
        .await;
    let sms = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "Winter SMS", "trigger": "campaign", "channel": "sms", "language": "en",
            "body": "{{property.name}}: {{offer.title}} with code {{offer.code}}"}),
        )
        .await;
    vec![
        email.assert_status(201)["id"].as_str().unwrap().to_string(),
        sms.assert_status(201)["id"].as_str().unwrap().to_string(),
    ]
}

/// A guest tagged `tag`, with marketing consent on `consent` channels.
async fn guest(app: &TestApp, name: &str, tag: &str, profile: Value, consent: &[&str]) -> String {
    let t = &app.admin_token;
    let mut body = json!({"family_name_latin": name, "given_name_latin": "Test", "tags": [tag]});
    for (k, v) in profile.as_object().unwrap() {
        body[k] = v.clone();
    }
    let id = app.create_guest(t, body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for channel in consent {
        app.post(
            &format!("/api/v1/guests/{id}/consents"),
            t,
            json!({"purpose": "marketing", "channel": channel, "status": "granted", "source": "app"}),
        )
        .await
        .assert_status(201);
    }
    id
}

async fn run(app: &TestApp, job: Job, now: chrono::DateTime<chrono::Utc>) -> crm_api::jobs::Report {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || crm_api::jobs::run(&db, job, now.date_naive(), now))
        .await
        .unwrap()
        .unwrap()
}

async fn segment(app: &TestApp, tag: &str) -> String {
    run(app, Job::GuestInsightsFull, chrono::Utc::now()).await;
    app.post(
        "/api/v1/segments",
        &app.admin_token,
        json!({"name": format!("tag {tag}"), "rule": {"field": "tag", "op": "eq", "value": tag}}),
    )
    .await
    .assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn until_completed(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let c = app
            .get(&format!("/api/v1/campaigns/{id}"), &app.admin_token)
            .await
            .assert_status(200)
            .clone();
        if c["status"] == "completed" {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("campaign {id} did not complete");
}

async fn results(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/campaigns/{id}/results"), &app.admin_token)
        .await
        .assert_status(200)
        .clone()
}

async fn campaign_messages(app: &TestApp, guest: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/guests/{guest}/messages"),
        &app.admin_token,
    )
    .await
    .assert_status(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["trigger"] == "campaign")
        .cloned()
        .collect()
}

/// A property in a time zone where it is between 10:00 and 19:00 now.
async fn daytime_property(app: &TestApp) -> String {
    use chrono::Timelike;
    let zones = [
        "Asia/Shanghai",
        "Europe/London",
        "America/New_York",
        "Pacific/Honolulu",
        "Asia/Kolkata",
        "America/Los_Angeles",
        "Europe/Moscow",
        "Pacific/Auckland",
    ];
    let zone = zones
        .iter()
        .find(|z| {
            let tz: chrono_tz::Tz = z.parse().unwrap();
            (10..19).contains(&chrono::Utc::now().with_timezone(&tz).hour())
        })
        .unwrap();
    app.post(
        "/api/v1/properties",
        &app.admin_token,
        json!({"code": "DAY", "name": "Daytime Inn",
        "time_zone": zone, "currency": "CNY", "country": "CN"}),
    )
    .await
    .assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn booking(h: &Hotel, guest: &str, code: Option<&str>, day: i64) -> Value {
    let arrival = chrono::Utc::now().date_naive() + chrono::Duration::days(30 + day);
    let mut b = json!({"property_id": h.property_id, "channel": "phone", "guest": {"id": guest},
        "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": arrival.to_string(),
            "departure": (arrival + chrono::Duration::days(1)).to_string(), "adults": 1, "amount": 45800}]});
    if let Some(c) = code {
        b["coupon_code"] = json!(c);
    }
    b
}

#[tokio::test]
async fn a_campaign_reaches_consenting_members_and_its_codes_are_redeemed_and_attributed() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = hotel(&app, 20).await;
    let templates = campaign_templates(&app).await;
    let ann = guest(
        &app,
        "Ann",
        "winter",
        json!({"emails": [{"address": "ann@example.com"}]}),
        &["email"],
    )
    .await;
    let bob = guest(
        &app,
        "Bob",
        "winter",
        json!({"emails": [{"address": "bob@example.com"}]}),
        &[],
    )
    .await;
    let cai = guest(
        &app,
        "Cai",
        "winter",
        json!({"phones": [{"number": "+8613800138000"}], "language": "en"}),
        &["sms"],
    )
    .await;
    let outsider = guest(
        &app,
        "Dan",
        "summer",
        json!({"emails": [{"address": "dan@example.com"}]}),
        &["email"],
    )
    .await;
    let seg = segment(&app, "winter").await;

    // Wrong definitions are refused with every field named.
    let birthday = app.post("/api/v1/message-templates", t, json!({"name": "Birthday", "trigger": "birthday",
        "channel": "email", "language": "zh", "subject": "生日快乐", "body": "{{guest.display_name}}生日快乐"}))
        .await.assert_status(201)["id"].as_str().unwrap().to_string();
    let bad = app
        .post(
            "/api/v1/campaigns",
            t,
            json!({"name": "", "segment_id": "nope",
            "template_ids": [birthday], "cost": {"amount": -1, "currency": "CNY"},
            "offer": {"kind": "coupon", "code_pattern": "WIN-####", "discount": {"percent": 150},
                "valid_from": "2026-12-01", "valid_until": "2026-11-01"}}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "name",
        "segment_id",
        "template_ids[0]",
        "cost.amount",
        "offer.code_pattern",
        "offer.discount.percent",
        "offer.valid_until",
    ] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    assert_eq!(
        app.get("/api/v1/campaigns", t).await.assert_status(200)["data"],
        json!([])
    );

    let today = chrono::Utc::now().date_naive();
    // Texts wait out the quiet hours (21:00–08:00 local): the messages come
    // from a property where it is daytime now, whenever the test runs.
    let daytime = daytime_property(&app).await;
    let created = app
        .post("/api/v1/campaigns", t, json!({"name": "冬季回头客", "segment_id": seg,
            "template_ids": templates, "property_id": daytime, "cost": {"amount": 10000, "currency": "CNY"},
            "budget": {"amount": 50000, "currency": "CNY"},
            "offer": {"kind": "coupon", "code_pattern": "win-********", "discount": {"percent": 15},
                "valid_from": today.to_string(), "valid_until": (today + chrono::Duration::days(60)).to_string()}}))
        .await;
    let c = created.assert_status(201).clone();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["status"], "draft");
    assert_eq!(c["offer"]["code_pattern"], "WIN-********");
    assert_eq!(c["allowed_actions"], json!(["schedule", "send", "cancel"]));

    // Roles and tenancy.
    let (_, desk) = app.user_with_role("front_desk").await;
    app.get(&format!("/api/v1/campaigns/{id}"), &desk)
        .await
        .assert_problem(403, "forbidden");
    let other = app.other_organization_admin().await;
    app.get(&format!("/api/v1/campaigns/{id}"), &other)
        .await
        .assert_problem(404, "campaign_not_found");
    app.post(&format!("/api/v1/campaigns/{id}/send"), &other, json!({}))
        .await
        .assert_problem(404, "campaign_not_found");
    app.get(&format!("/api/v1/campaigns/{id}"), "")
        .await
        .assert_status(401);
    // The segment cannot go while a campaign targets it.
    app.delete(&format!("/api/v1/segments/{seg}"), t)
        .await
        .assert_problem(409, "segment_in_use");

    app.post(&format!("/api/v1/campaigns/{id}/send"), t, json!({}))
        .await
        .assert_status(202);
    let done = until_completed(&app, &id).await;
    assert_eq!(done["audience_count"], 3);
    app.post(&format!("/api/v1/campaigns/{id}/cancel"), t, json!({}))
        .await
        .assert_problem(409, "invalid_status_transition");

    // Ann by e-mail with her own code; Cai by SMS in English; Bob has no
    // consent; Dan is not in the segment.
    let ann_msgs = campaign_messages(&app, &ann).await;
    assert_eq!(ann_msgs.len(), 1);
    let body = ann_msgs[0]["body"].as_str().unwrap();
    let at = body.find("WIN-").unwrap();
    let ann_code = body[at..at + 12].to_string();
    assert_eq!(ann_code.len(), 12, "{body}");
    assert_eq!(ann_msgs[0]["channel"], "email");
    assert_eq!(ann_msgs[0]["subject"], "15% off");
    let cai_msgs = campaign_messages(&app, &cai).await;
    assert_eq!(cai_msgs[0]["channel"], "sms");
    let cai_code = cai_msgs[0]["body"]
        .as_str()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(cai_code, ann_code);
    let bob_msgs = campaign_messages(&app, &bob).await;
    assert_eq!(
        (
            bob_msgs[0]["status"].as_str(),
            bob_msgs[0]["reason"].as_str()
        ),
        (Some("suppressed"), Some("no_consent"))
    );
    assert!(campaign_messages(&app, &outsider).await.is_empty());

    // The log provider delivers at once.
    for _ in 0..100 {
        if results(&app, &id).await["messages"]["queued"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = results(&app, &id).await;
    assert_eq!(r["audience"], 3);
    assert_eq!(r["messages"]["sent"], 2, "{r}");
    assert_eq!(r["messages"]["delivered"], 2);
    assert_eq!(r["messages"]["suppressed_by_consent"], 1);
    assert_eq!(r["roi"], -1.0, "no revenue yet: {r}");

    // Redemption: only by its recipient, once, 15 % off.
    let booked = app
        .post(
            "/api/v1/reservations",
            t,
            booking(&h, &ann, Some(&ann_code.to_lowercase()), 0),
        )
        .await;
    let b = booked.assert_status(201).clone();
    assert_eq!(b["discount"], json!({"amount": 6870, "currency": "CNY"}));
    assert_eq!(b["total"]["amount"], 45800 - 6870);
    assert_eq!(b["coupon_code"], json!(ann_code));
    app.post(
        "/api/v1/reservations",
        t,
        booking(&h, &cai, Some(&ann_code), 1),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/reservations",
        t,
        booking(&h, &ann, Some(&ann_code), 2),
    )
    .await
    .assert_problem(409, "coupon_already_used");
    app.post(
        "/api/v1/reservations",
        t,
        booking(&h, &ann, Some("WIN-NOSUCH22"), 2),
    )
    .await
    .assert_problem(422, "validation_failed");
    // Cancelling gives the code back.
    let rid = b["id"].as_str().unwrap();
    app.post(&format!("/api/v1/reservations/{rid}/cancel"), t, json!({}))
        .await
        .assert_status(200);
    let again = app
        .post(
            "/api/v1/reservations",
            t,
            booking(&h, &ann, Some(&ann_code), 3),
        )
        .await;
    again.assert_status(201);
    // Cai books without a code: influenced. Bob was never sent anything.
    app.post("/api/v1/reservations", t, booking(&h, &cai, None, 4))
        .await
        .assert_status(201);
    app.post("/api/v1/reservations", t, booking(&h, &bob, None, 5))
        .await
        .assert_status(201);

    let r = results(&app, &id).await;
    assert_eq!(r["redeemed"], 1, "{r}");
    assert_eq!(r["attributed_reservations"], 2, "{r}");
    assert_eq!(r["influenced_reservations"], 1);
    assert_eq!(
        r["revenue"],
        json!({"amount": 38930 + 45800, "currency": "CNY"})
    );
    assert_eq!(r["discounts"]["amount"], 6870);
    let roi = r["roi"].as_f64().unwrap();
    assert!((roi - (84730.0 - 10000.0) / 10000.0).abs() < 1e-9, "{roi}");
    let reds = app
        .get(&format!("/api/v1/campaigns/{id}/redemptions"), t)
        .await;
    let reds = reds.assert_status(200)["data"].as_array().unwrap().clone();
    assert_eq!(reds.len(), 2);
    assert_eq!(reds.iter().filter(|r| r["status"] == "released").count(), 1);

    // After the send only the name, description, budget and cost change.
    app.patch(
        &format!("/api/v1/campaigns/{id}"),
        t,
        json!({"attribution_days": 10}),
    )
    .await
    .assert_problem(409, "campaign_not_editable");
    let patched = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            t,
            json!({"cost": {"amount": 20000, "currency": "CNY"}}),
        )
        .await;
    assert_eq!(patched.assert_status(200)["cost"]["amount"], 20000);
    let roi = results(&app, &id).await["roi"].as_f64().unwrap();
    assert!((roi - (84730.0 - 20000.0) / 20000.0).abs() < 1e-9);

    // A gateway's bounce makes a message failed.
    let msg = ann_msgs[0]["id"].as_str().unwrap();
    let integration = app.integration_token().await;
    app.post(
        &format!("/api/v1/messages/{msg}/receipt"),
        &integration,
        json!({"status": "bounced"}),
    )
    .await
    .assert_status(204);
    let r = results(&app, &id).await;
    assert_eq!(
        (
            r["messages"]["failed"].as_i64(),
            r["messages"]["delivered"].as_i64()
        ),
        (Some(1), Some(1))
    );
    app.post(
        &format!("/api/v1/messages/{msg}/receipt"),
        &integration,
        json!({"status": "delivered"}),
    )
    .await
    .assert_problem(404, "message_not_found");
}

#[tokio::test]
async fn a_shared_code_with_a_total_limit_is_never_over_redeemed() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = hotel(&app, 50).await;
    let templates = campaign_templates(&app).await;
    let mut guests = Vec::new();
    for i in 0..12u8 {
        guests.push(
            guest(
                &app,
                &format!("G{}", (b'a' + i) as char),
                "launch",
                json!({"emails": [{"address": format!("g{i}@example.com")}]}),
                &["email"],
            )
            .await,
        );
    }
    let seg = segment(&app, "launch").await;
    let today = chrono::Utc::now().date_naive();
    let c = app
        .post("/api/v1/campaigns", t, json!({"name": "Opening", "segment_id": seg, "template_ids": templates,
            "offer": {"kind": "coupon", "code_pattern": "OPEN2026", "discount": {"amount": {"amount": 5000, "currency": "CNY"}},
                "valid_from": today.to_string(), "valid_until": today.to_string(), "total_limit": 5}}))
        .await;
    let id = c.assert_status(201)["id"].as_str().unwrap().to_string();
    // A draft's code is not known to anyone yet.
    app.post(
        "/api/v1/reservations",
        t,
        booking(&h, &guests[0], Some("OPEN2026"), 0),
    )
    .await
    .assert_problem(422, "validation_failed");
    // Another campaign cannot take the same code.
    let dup = app
        .post(
            "/api/v1/campaigns",
            t,
            json!({"name": "Copy", "segment_id": seg, "template_ids": templates,
            "offer": {"kind": "coupon", "code_pattern": "open2026", "discount": {"percent": 5},
                "valid_from": today.to_string(), "valid_until": today.to_string()}}),
        )
        .await;
    dup.assert_problem(409, "code_taken");
    app.post(&format!("/api/v1/campaigns/{id}/send"), t, json!({}))
        .await
        .assert_status(202);
    until_completed(&app, &id).await;

    let attempts = guests.iter().enumerate().map(|(i, g)| {
        let body = booking(&h, g, Some("OPEN2026"), i as i64);
        let app = &app;
        async move {
            app.post("/api/v1/reservations", &app.admin_token, body)
                .await
        }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let ok = outcomes.iter().filter(|r| r.status == 201).count();
    let exhausted = outcomes
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "coupon_exhausted")
        .count();
    assert_eq!(
        (ok, exhausted),
        (5, 7),
        "{:?}",
        outcomes
            .iter()
            .map(|r| (r.status, r.body["code"].clone()))
            .collect::<Vec<_>>()
    );
    for r in outcomes.iter().filter(|r| r.status == 201) {
        assert_eq!(r.body["discount"]["amount"], 5000);
    }
    let c = app.get(&format!("/api/v1/campaigns/{id}"), t).await;
    assert_eq!(c.assert_status(200)["redeemed_count"], 5);
    assert_eq!(results(&app, &id).await["redeemed"], 5);
}

#[tokio::test]
async fn schedules_cancel_and_a_lost_sender_is_taken_over_without_sending_twice() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    hotel(&app, 5).await;
    let templates = campaign_templates(&app).await;
    let mut guests = Vec::new();
    for i in 0..5u8 {
        guests.push(
            guest(
                &app,
                &format!("R{}", (b'a' + i) as char),
                "vip",
                json!({"emails": [{"address": format!("r{i}@example.com")}]}),
                &["email"],
            )
            .await,
        );
    }
    let seg = segment(&app, "vip").await;
    let new = |name: &str| {
        let body = json!({"name": name, "segment_id": seg, "template_ids": templates});
        let app = &app;
        async move {
            app.post("/api/v1/campaigns", &app.admin_token, body)
                .await
                .assert_status(201)["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let now = chrono::Utc::now();

    // Scheduled for tomorrow, then cancelled: nothing is ever sent.
    let cancelled = new("Cancelled").await;
    app.post(
        &format!("/api/v1/campaigns/{cancelled}/schedule"),
        t,
        json!({"scheduled_at": "2020-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let s = app
        .post(
            &format!("/api/v1/campaigns/{cancelled}/schedule"),
            t,
            json!({"scheduled_at": now + chrono::Duration::days(1)}),
        )
        .await;
    assert_eq!(s.assert_status(200)["status"], "scheduled");
    app.post(
        &format!("/api/v1/campaigns/{cancelled}/schedule"),
        t,
        json!({"scheduled_at": now + chrono::Duration::days(1)}),
    )
    .await
    .assert_problem(409, "invalid_status_transition");
    assert_eq!(
        run(&app, Job::Campaigns, now).await.processed,
        0,
        "not due yet"
    );
    let c = app
        .post(
            &format!("/api/v1/campaigns/{cancelled}/cancel"),
            t,
            json!({}),
        )
        .await;
    assert_eq!(c.assert_status(200)["status"], "cancelled");
    assert_eq!(
        run(&app, Job::Campaigns, now + chrono::Duration::days(2))
            .await
            .processed,
        0
    );

    // Scheduled, then back to draft, then scheduled again and sent by the job.
    let scheduled = new("Scheduled").await;
    app.post(
        &format!("/api/v1/campaigns/{scheduled}/schedule"),
        t,
        json!({"scheduled_at": now + chrono::Duration::hours(1)}),
    )
    .await
    .assert_status(200);
    let d = app
        .post(
            &format!("/api/v1/campaigns/{scheduled}/unschedule"),
            t,
            json!({}),
        )
        .await;
    assert_eq!(d.assert_status(200)["status"], "draft");
    app.post(
        &format!("/api/v1/campaigns/{scheduled}/schedule"),
        t,
        json!({"scheduled_at": now + chrono::Duration::hours(1)}),
    )
    .await
    .assert_status(200);
    let r = run(&app, Job::Campaigns, now + chrono::Duration::hours(2)).await;
    assert_eq!((r.processed, r.changed), (5, 1));

    // A sender that died mid-send: the campaign is `sending` with a lapsed
    // lease and the first guest already has their message.
    let lost = new("Lost").await;
    let (db, org, lost_id) = (app.db.clone(), app.org_id.clone(), lost.clone());
    let first = guests.iter().min().unwrap().clone();
    let first_id = first.clone();
    tokio::task::spawn_blocking(move || {
        db.write(|conn| {
            let c = crm_storage::campaigns::find(conn, &org, &lost_id)?;
            assert!(crm_storage::campaigns::claim(
                conn,
                &c,
                now - chrono::Duration::minutes(5),
                now - chrono::Duration::minutes(10)
            )?);
            let m = crm_storage::messages::OutboxMessage {
                id: uuid::Uuid::now_v7().to_string(),
                org_id: org.clone(),
                guest_id: first_id.clone(),
                property_id: None,
                template_id: None,
                trigger_kind: "campaign".into(),
                channel: Some("email".into()),
                recipient: Some("r0@example.com".into()),
                subject: None,
                body: Some("sent before the crash".into()),
                status: "sent".into(),
                reason: None,
                dedupe_key: format!("campaign:{lost_id}:{first_id}"),
                attempts: 1,
                next_attempt_at: now.naive_utc(),
                sent_at: Some(now.naive_utc()),
                last_error: None,
                created_at: now.naive_utc(),
                campaign_id: Some(lost_id.clone()),
                coupon_code: None,
                delivered_at: None,
            };
            crm_storage::campaigns::enqueue_many(conn, &[m])
        })
    })
    .await
    .unwrap()
    .unwrap();
    let r = run(&app, Job::Campaigns, now).await;
    assert_eq!(r.changed, 1, "taken over and completed");
    // The first guest: the scheduled campaign's message and the one sent
    // before the crash, not a second of the lost campaign.
    let msgs = campaign_messages(&app, &first).await;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs.iter().any(|m| m["body"] == "sent before the crash"));
    let res = results(&app, &lost).await;
    assert_eq!(res["audience"], 5);
    assert_eq!(
        res["messages"]["queued"].as_i64().unwrap()
            + res["messages"]["sent"].as_i64().unwrap()
            + res["messages"]["suppressed"].as_i64().unwrap(),
        5,
        "one message per member: {res}"
    );
    // The third campaign this week hits no cap (3 allowed); all five had
    // consent.
    assert_eq!(res["messages"]["suppressed"], 0, "{res}");
}
