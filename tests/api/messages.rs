//! Message templates: variables checked per trigger, previews with sample
//! data, and the triggers each property sends.

use crm_tests::*;
use serde_json::json;

#[tokio::test]
async fn message_templates_use_known_variables_and_preview_with_samples() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let body = "{{guest.display_name}}您好，{{property.name}}期待您{{reservation.arrival}}光临，确认号{{reservation.confirmation_number}}。";
    let created = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "Pre-arrival", "trigger": "pre_arrival",
            "channel": "sms", "language": "zh", "body": body}),
        )
        .await;
    let tpl = created.assert_status(201).clone();
    let id = tpl["id"].as_str().unwrap();
    app.post(
        "/api/v1/message-templates",
        t,
        json!({"name": "again", "trigger": "pre_arrival",
        "channel": "sms", "language": "zh", "body": "x"}),
    )
    .await
    .assert_problem(409, "template_exists");

    // Unknown variables, for the trigger, are refused with the field.
    let bad = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "Birthday", "trigger": "birthday",
        "channel": "email", "language": "en", "subject": "Happy birthday {{guest.given_name}}",
        "body": "See you on {{reservation.arrival}} {{guest.shoe_size}}"}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let errors = bad.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(errors
        .iter()
        .all(|e| e["field"] == "body" && e["code"] == "unknown_variable"));
    let bad = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "x", "trigger": "tier_change",
        "channel": "sms", "language": "zh_CN!", "subject": "s", "body": "{{membership.tier"}),
        )
        .await;
    let fields: Vec<&str> = bad.assert_status(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["language", "body", "subject"]);

    // Preview: samples, overridden by the values given.
    let p = app
        .post(
            &format!("/api/v1/message-templates/{id}/preview"),
            t,
            json!({}),
        )
        .await;
    assert_eq!(
        p.assert_status(200)["body"],
        "张伟您好，外滩精品酒店期待您2026-12-24光临，确认号SHA-20261201-0042。"
    );
    let p = app
        .post(
            &format!("/api/v1/message-templates/{id}/preview"),
            t,
            json!({"values": {"guest.display_name": "Anna"}}),
        )
        .await;
    assert!(p.assert_status(200)["body"]
        .as_str()
        .unwrap()
        .starts_with("Anna您好"));
    app.post(
        &format!("/api/v1/message-templates/{id}/preview"),
        t,
        json!({"values": {"survey.link": "x"}}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let vars = app
        .get("/api/v1/message-variables?trigger=post_stay_thank_you", t)
        .await;
    let names: Vec<&str> = vars
        .assert_status(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"survey.link") && !names.contains(&"points.expiring"));

    // Changing the body; trigger and channel stay.
    let patched = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/message-templates/{id}"),
            Some(t),
            Some(json!({"body": "{{guest.display_name}}，明天见"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(patched.assert_status(200)["version"], 2);
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/message-templates/{id}"),
        Some(t),
        Some(json!({"channel": "email"})),
        &[],
    )
    .await
    .assert_problem(422, "validation_failed");
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        "/api/v1/message-templates",
        &desk,
        json!({"name": "n", "trigger": "birthday",
        "channel": "sms", "language": "zh", "body": "生日快乐"}),
    )
    .await
    .assert_status(403);
    let other = app.other_organization_admin().await;
    app.get(&format!("/api/v1/message-templates/{id}"), &other)
        .await
        .assert_problem(404, "message_template_not_found");
}

#[tokio::test]
async fn each_property_switches_its_triggers() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = app.get("/api/v1/properties", t).await.assert_status(200)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/properties/{prop}/message-triggers");
    let s = app.get(&path, t).await;
    let all = s.assert_status(200)["triggers"].as_array().unwrap().clone();
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|x| x["enabled"] == true));
    let pre = all.iter().find(|x| x["trigger"] == "pre_arrival").unwrap();
    assert_eq!(pre["days_before"], 3);

    let put = |body| app.send(reqwest::Method::PUT, &path, Some(t), Some(body), &[]);
    let r = put(
        json!({"triggers": [{"trigger": "birthday", "enabled": false},
        {"trigger": "pre_arrival", "enabled": true, "days_before": 2}]}),
    )
    .await;
    let after = r.assert_status(200)["triggers"].as_array().unwrap().clone();
    assert_eq!(
        after.iter().find(|x| x["trigger"] == "birthday").unwrap()["enabled"],
        false
    );
    assert_eq!(
        after
            .iter()
            .find(|x| x["trigger"] == "pre_arrival")
            .unwrap()["days_before"],
        2
    );
    let again = app.get(&path, t).await;
    assert_eq!(again.assert_status(200)["triggers"], json!(after));
    let bad = put(
        json!({"triggers": [{"trigger": "campaign", "enabled": true},
        {"trigger": "birthday", "enabled": true, "days_before": 5},
        {"trigger": "pre_arrival", "enabled": true, "days_before": 400}]}),
    )
    .await;
    let fields: Vec<&str> = bad.assert_status(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "triggers[0]",
            "triggers[1].days_before",
            "triggers[2].days_before"
        ]
    );
    let other = app.other_organization_admin().await;
    app.get(&path, &other)
        .await
        .assert_problem(404, "property_not_found");
}

async fn outbox(app: &TestApp, guest: &str) -> Vec<serde_json::Value> {
    app.get(
        &format!("/api/v1/guests/{guest}/messages"),
        &app.admin_token,
    )
    .await
    .assert_status(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits for the delivery worker to move a message out of `queued`.
async fn settled(app: &TestApp, guest: &str, trigger: &str) -> serde_json::Value {
    for _ in 0..100 {
        if let Some(m) = outbox(app, guest)
            .await
            .into_iter()
            .find(|m| m["trigger"] == trigger)
        {
            if m["status"] != "queued" {
                return m;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{trigger} still queued: {:?}", outbox(app, guest).await);
}

pub(crate) fn book(
    h: &crate::reservations::Hotel,
    guest: &str,
    arrival: chrono::NaiveDate,
) -> serde_json::Value {
    json!({"property_id": h.property_id, "channel": "phone", "guest": {"id": guest},
        "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": arrival.to_string(),
            "departure": (arrival + chrono::Duration::days(1)).to_string(), "adults": 1, "amount": 45800}]})
}

pub(crate) async fn templates(app: &TestApp) {
    let t = &app.admin_token;
    app.post("/api/v1/message-templates", t, json!({"name": "Confirmation", "trigger": "booking_confirmation",
        "channel": "email", "language": "zh", "subject": "预订确认 {{reservation.confirmation_number}}",
        "body": "{{guest.display_name}}您好，{{property.name}}已为您保留{{reservation.room_type}}，{{reservation.arrival}}入住。"}))
        .await
        .assert_status(201);
    app.post(
        "/api/v1/message-templates",
        t,
        json!({"name": "Confirmation SMS", "trigger": "booking_confirmation",
        "channel": "sms", "language": "zh", "body": "预订确认{{reservation.confirmation_number}}"}),
    )
    .await
    .assert_status(201);
    app.post("/api/v1/message-templates", t, json!({"name": "Thanks", "trigger": "post_stay_thank_you",
        "channel": "sms", "language": "zh", "body": "感谢入住{{property.name}}，请评价：{{survey.link}}"}))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn bookings_and_check_outs_send_their_messages_through_the_outbox() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = crate::reservations::hotel(&app, 10).await;
    templates(&app).await;
    app.post(
        "/api/v1/survey-templates",
        t,
        json!({"name": "Survey", "active": true,
        "definition": {"intro": "感谢", "dimensions": ["value"]}}),
    )
    .await
    .assert_status(201);
    let guest = app
        .create_guest(t, json!({"family_name": "王", "given_name": "芳",
            "emails": [{"address": "wang.fang@example.cn"}], "phones": [{"number": "13900004444"}]}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    let today = crate::reservations::shanghai_today();
    let r = app
        .post("/api/v1/reservations", t, book(&h, gid, today))
        .await;
    let r = r.assert_status(201).clone();
    let id = r["id"].as_str().unwrap();

    // The confirmation goes by e-mail (the guest has an address and there
    // is a template), rendered, and the log provider delivers it.
    let m = settled(&app, gid, "booking_confirmation").await;
    assert_eq!(
        (m["status"].as_str(), m["channel"].as_str()),
        (Some("sent"), Some("email"))
    );
    assert_eq!(m["recipient"], "wang.fang@example.cn");
    assert_eq!(
        m["subject"],
        format!("预订确认 {}", r["confirmation_number"].as_str().unwrap())
    );
    assert_eq!(
        m["body"],
        format!("王芳您好，Bund已为您保留DLK，{today}入住。")
    );

    // Check-out thanks the guest by SMS with the survey link, held
    // through the quiet hours of Shanghai.
    app.post(&format!("/api/v1/reservations/{id}/check-in"), t, json!({}))
        .await
        .assert_status(200);
    app.post(
        &format!("/api/v1/reservations/{id}/check-out"),
        t,
        json!({"charges": {"room": 45800}}),
    )
    .await
    .assert_status(200);
    let thanks = outbox(&app, gid)
        .await
        .into_iter()
        .find(|m| m["trigger"] == "post_stay_thank_you")
        .unwrap();
    assert!(
        thanks["body"]
            .as_str()
            .unwrap()
            .contains("/api/v1/public/surveys/"),
        "{thanks}"
    );
    assert_eq!(thanks["recipient"], "+8613900004444");
    let local = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .naive_local();
    match crm_domain::message::after_quiet_hours(crm_domain::message::MessageChannel::Sms, local) {
        Some(_) => {
            assert_eq!(thanks["status"], "queued");
            let at: chrono::DateTime<chrono::Utc> =
                thanks["next_attempt_at"].as_str().unwrap().parse().unwrap();
            let h = at
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%H:%M")
                .to_string();
            assert_eq!(h, "08:00");
        }
        None => assert_eq!(
            settled(&app, gid, "post_stay_thank_you").await["status"],
            "sent"
        ),
    }

    // No address: recorded as not sent, and why. A switched-off trigger
    // sends nothing.
    let mute = app
        .create_guest(t, json!({"family_name": "Li", "given_name": "Lei"}))
        .await;
    let mid = mute["id"].as_str().unwrap();
    app.post(
        "/api/v1/reservations",
        t,
        book(&h, mid, today + chrono::Duration::days(3)),
    )
    .await
    .assert_status(201);
    let m = outbox(&app, mid).await;
    assert_eq!(
        (m[0]["status"].as_str(), m[0]["reason"].as_str()),
        (Some("suppressed"), Some("no_address"))
    );
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/properties/{}/message-triggers", h.property_id),
        Some(t),
        Some(json!({"triggers": [{"trigger": "booking_confirmation", "enabled": false}]})),
        &[],
    )
    .await
    .assert_status(200);
    app.post(
        "/api/v1/reservations",
        t,
        book(&h, gid, today + chrono::Duration::days(5)),
    )
    .await
    .assert_status(201);
    let confirmations = outbox(&app, gid)
        .await
        .into_iter()
        .filter(|m| m["trigger"] == "booking_confirmation")
        .count();
    assert_eq!(confirmations, 1);

    // Erasure: the messages lose their address and text.
    app.post(&format!("/api/v1/guests/{gid}/erase"), t, json!({}))
        .await
        .assert_status(200);
    assert!(outbox(&app, gid)
        .await
        .iter()
        .all(|m| m["recipient"].is_null() && m["body"].is_null()));
}

#[tokio::test]
async fn an_http_gateway_receives_messages_and_failures_are_retried() {
    let (url, got) = crate::webhooks::receiver();
    let app = spawn_app_with(|s| s.message_http_url = Some(url.clone())).await;
    let t = &app.admin_token;
    let h = crate::reservations::hotel(&app, 10).await;
    templates(&app).await;
    let guest = app
        .create_guest(t, json!({"family_name": "Chen", "given_name": "Min", "emails": [{"address": "chen@example.cn"}]}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    app.post(
        "/api/v1/reservations",
        t,
        book(
            &h,
            gid,
            crate::reservations::shanghai_today() + chrono::Duration::days(2),
        ),
    )
    .await
    .assert_status(201);
    // The receiver answers the first request with a 500: the message is
    // retried and then delivered, the same message id both times.
    let received = crate::webhooks::wait_for(&got, 2).await;
    let bodies: Vec<serde_json::Value> = received
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["id"], bodies[1]["id"]);
    assert_eq!(
        (bodies[1]["channel"].as_str(), bodies[1]["to"].as_str()),
        (Some("email"), Some("chen@example.cn"))
    );
    let m = settled(&app, gid, "booking_confirmation").await;
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("sent"), Some(2))
    );
    assert_eq!(m["last_error"], serde_json::Value::Null);
}

#[tokio::test]
async fn birthday_greetings_need_marketing_consent_and_respect_the_weekly_cap() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    app.post("/api/v1/message-templates", t, json!({"name": "Birthday", "trigger": "birthday",
        "channel": "email", "language": "zh", "subject": "生日快乐", "body": "{{guest.display_name}}，{{property.name}}祝您生日快乐！"}))
        .await
        .assert_status(201);
    let mut ids = Vec::new();
    for (name, consent) in [("Ann", true), ("Bob", false), ("Cai", true)] {
        let g = app
            .create_guest(t, json!({"family_name_latin": name, "given_name_latin": "Test", "birthday": "1990-06-15",
                "emails": [{"address": format!("{}@example.com", name.to_lowercase())}]}))
            .await;
        let id = g["id"].as_str().unwrap().to_string();
        if consent {
            app.post(&format!("/api/v1/guests/{id}/consents"), t,
                json!({"purpose": "marketing", "channel": "email", "status": "granted", "source": "app"}))
                .await
                .assert_status(201);
        }
        ids.push(id);
    }
    // Cai already had three marketing messages this week.
    let now = chrono::Utc::now();
    for n in 0..3 {
        let m = crm_storage::messages::OutboxMessage {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: app.org_id.clone(),
            guest_id: ids[2].clone(),
            property_id: None,
            template_id: None,
            trigger_kind: "campaign".into(),
            channel: Some("email".into()),
            recipient: Some("cai@example.com".into()),
            subject: None,
            body: Some("offer".into()),
            status: "sent".into(),
            reason: None,
            dedupe_key: format!("campaign:{n}"),
            attempts: 1,
            next_attempt_at: now.naive_utc(),
            sent_at: Some(now.naive_utc()),
            last_error: None,
            created_at: now.naive_utc(),
            campaign_id: None,
            coupon_code: None,
            delivered_at: None,
        };
        app.db
            .write(|conn| crm_storage::messages::enqueue(conn, &m))
            .unwrap();
    }
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
    let run = |job| {
        let (db, now) = (app.db.clone(), chrono::Utc::now());
        async move {
            tokio::task::spawn_blocking(move || crm_api::jobs::run(&db, job, day, now))
                .await
                .unwrap()
                .unwrap()
        }
    };
    run(crm_api::jobs::Job::GuestInsightsFull).await;
    assert_eq!(run(crm_api::jobs::Job::BirthdayMessages).await.processed, 3);
    run(crm_api::jobs::Job::BirthdayMessages).await;

    let greeting = |i: usize| {
        let id = ids[i].clone();
        let app = &app;
        async move {
            let all: Vec<serde_json::Value> = outbox(app, &id)
                .await
                .into_iter()
                .filter(|m| m["trigger"] == "birthday")
                .collect();
            assert_eq!(all.len(), 1, "once a year: {all:?}");
            all[0].clone()
        }
    };
    let ann = greeting(0).await;
    assert!(
        ann["status"] == "queued" || ann["status"] == "sent",
        "{ann}"
    );
    assert_eq!(ann["body"], "Test Ann，Main property祝您生日快乐！");
    let bob = greeting(1).await;
    assert_eq!(
        (bob["status"].as_str(), bob["reason"].as_str()),
        (Some("suppressed"), Some("no_consent"))
    );
    assert!(bob["body"].is_null());
    let cai = greeting(2).await;
    assert_eq!(
        (cai["status"].as_str(), cai["reason"].as_str()),
        (Some("suppressed"), Some("frequency_cap"))
    );
}

#[tokio::test]
async fn pre_arrival_in_stay_and_tier_change_messages() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = crate::reservations::hotel(&app, 10).await;
    for (trigger, body) in [
        ("pre_arrival", "{{guest.display_name}}，{{reservation.arrival}}见，确认号{{reservation.confirmation_number}}"),
        ("in_stay_welcome", "欢迎入住{{property.name}}"),
        ("tier_change", "恭喜升级为{{membership.tier}}"),
    ] {
        app.post("/api/v1/message-templates", t, json!({"name": trigger, "trigger": trigger,
            "channel": "email", "language": "zh", "subject": "Bund", "body": body}))
            .await
            .assert_status(201);
    }
    let guest = app
        .create_guest(t, json!({"family_name": "周", "given_name": "敏", "emails": [{"address": "zhou@example.cn"}]}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    let today = crate::reservations::shanghai_today();
    let soon = app
        .post(
            "/api/v1/reservations",
            t,
            book(&h, gid, today + chrono::Duration::days(3)),
        )
        .await;
    let soon = soon.assert_status(201).clone();

    // Three days before arrival (the default), once per reservation.
    let run = || {
        let db = app.db.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                crm_api::jobs::run(
                    &db,
                    crm_api::jobs::Job::PreArrivalMessages,
                    chrono::Utc::now().date_naive(),
                    chrono::Utc::now(),
                )
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    assert_eq!(run().await.processed, 1);
    run().await;
    let pre: Vec<serde_json::Value> = outbox(&app, gid)
        .await
        .into_iter()
        .filter(|m| m["trigger"] == "pre_arrival")
        .collect();
    assert_eq!(pre.len(), 1);
    assert_eq!(
        pre[0]["body"],
        format!(
            "周敏，{}见，确认号{}",
            today + chrono::Duration::days(3),
            soon["confirmation_number"].as_str().unwrap()
        )
    );

    // Checking in welcomes the guest.
    let now = app
        .post("/api/v1/reservations", t, book(&h, gid, today))
        .await;
    let id = now.assert_status(201)["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/reservations/{id}/check-in"), t, json!({}))
        .await
        .assert_status(200);
    let welcome = settled(&app, gid, "in_stay_welcome").await;
    assert_eq!(
        (welcome["status"].as_str(), welcome["body"].as_str()),
        (Some("sent"), Some("欢迎入住Bund"))
    );

    // A new tier is announced with its name.
    crate::loyalty::programme(&app).await;
    crate::loyalty::enrol(&app, gid).await;
    let tiers = app.get("/api/v1/loyalty/tiers", t).await;
    let gold = tiers.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|x| x["rank"].as_i64())
        .unwrap()
        .clone();
    app.post(
        &format!("/api/v1/guests/{gid}/membership/tier"),
        t,
        json!({"tier_id": gold["id"], "reason": "status match"}),
    )
    .await
    .assert_status(200);
    let tier = settled(&app, gid, "tier_change").await;
    assert_eq!(
        tier["body"],
        format!("恭喜升级为{}", gold["name"].as_str().unwrap())
    );
}

#[tokio::test]
async fn members_are_reminded_of_points_about_to_expire() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    crate::loyalty::programme(&app).await;
    app.post("/api/v1/message-templates", t, json!({"name": "Expiring", "trigger": "points_expiring",
        "channel": "email", "language": "zh", "subject": "积分提醒",
        "body": "{{membership.member_number}}：{{points.expiring}}积分将于{{points.expiring_on}}到期"}))
        .await
        .assert_status(201);
    let guest = app
        .create_guest(t, json!({"family_name": "吴", "given_name": "静", "emails": [{"address": "wu@example.cn"}]}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/guests/{gid}/consents"),
        t,
        json!({"purpose": "marketing", "channel": "email", "status": "granted", "source": "app"}),
    )
    .await
    .assert_status(201);
    let member = crate::loyalty::enrol(&app, gid).await;
    app.post(
        &format!("/api/v1/guests/{gid}/points/adjustments"),
        t,
        json!({"points": 500, "reason": "opening balance"}),
    )
    .await
    .assert_status(201);
    let today = chrono::Utc::now().date_naive();
    let expires = {
        let mut conn = app.db.connection().unwrap();
        crm_api::loyalty::Loyalty::load(&mut conn, &app.org_id)
            .unwrap()
            .unwrap()
            .expiry(today)
            .unwrap()
    };
    let run = |day: chrono::NaiveDate| {
        let db = app.db.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                crm_api::jobs::run(
                    &db,
                    crm_api::jobs::Job::PointsExpiringMessages,
                    day,
                    chrono::Utc::now(),
                )
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    // Not yet: the reminder comes 30 days before.
    assert_eq!(run(expires - chrono::Duration::days(31)).await.processed, 0);
    assert_eq!(run(expires - chrono::Duration::days(30)).await.processed, 1);
    let m = settled(&app, gid, "points_expiring").await;
    assert_eq!(m["status"], "sent");
    let number = member["member_number"].as_str().unwrap();
    assert_eq!(m["body"], format!("{number}：500积分将于{expires}到期"));
}

/// A real SMTP server on loopback: Python's `smtpd` debugging server,
/// which prints every message it receives.
fn smtp_server() -> (
    u16,
    std::process::Child,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new("python3")
        .args([
            "-u",
            "-W",
            "ignore",
            "-m",
            "smtpd",
            "-n",
            "-c",
            "DebuggingServer",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs an SMTP server");
    let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = out.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (port, child, out)
}

#[tokio::test]
async fn e_mail_goes_through_a_real_smtp_server() {
    let (port, mut server, received) = smtp_server();
    let app = spawn_app_with(|s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let t = &app.admin_token;
    let h = crate::reservations::hotel(&app, 10).await;
    app.post("/api/v1/message-templates", t, json!({"name": "Confirmation", "trigger": "booking_confirmation",
        "channel": "email", "language": "en", "subject": "Booking {{reservation.confirmation_number}}",
        "body": "Dear {{guest.display_name}}, see you on {{reservation.arrival}}."}))
        .await
        .assert_status(201);
    let guest = app
        .create_guest(
            t,
            json!({"family_name_latin": "Smith", "given_name_latin": "Anna", "language": "en",
            "emails": [{"address": "anna@example.co.uk"}]}),
        )
        .await;
    let gid = guest["id"].as_str().unwrap();
    let r = app
        .post(
            "/api/v1/reservations",
            t,
            book(
                &h,
                gid,
                crate::reservations::shanghai_today() + chrono::Duration::days(9),
            ),
        )
        .await;
    let confirmation = r.assert_status(201)["confirmation_number"]
        .as_str()
        .unwrap()
        .to_string();
    let m = settled(&app, gid, "booking_confirmation").await;
    assert_eq!(m["status"], "sent", "{m}");
    let mut text = String::new();
    for _ in 0..100 {
        text = received.lock().unwrap().clone();
        if text.contains("Message-ID") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = server.kill();
    assert!(
        text.contains(&format!("Subject: Booking {confirmation}")),
        "{text}"
    );
    assert!(text.contains("To: anna@example.co.uk"), "{text}");
    assert!(
        text.contains(&format!("<{}@hotel-crm>", m["id"].as_str().unwrap())),
        "{text}"
    );
    assert!(text.contains("Dear Anna Smith, see you on"), "{text}");
}
