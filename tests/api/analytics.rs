//! Insights, segments and reports, on both databases.

use crate::reservations::{booking, hotel, shanghai_today, Hotel};
use chrono::{Duration, NaiveDate, Utc};
use crm_storage::reservations::{record_stay, StayRow};
use crm_tests::*;
use serde_json::{json, Value};

/// A stay in the past, recorded as check-out would (the API only checks
/// guests out today).
#[allow(clippy::too_many_arguments)]
pub(crate) fn past_stay(
    app: &TestApp,
    h: &Hotel,
    guest: &str,
    reservation: &str,
    arrival: NaiveDate,
    nights: i64,
    revenue: i64,
    channel: &str,
) {
    let stay = StayRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: app.org_id.clone(),
        guest_id: guest.to_string(),
        reservation_id: reservation.to_string(),
        property_id: h.property_id.clone(),
        channel: channel.to_string(),
        arrival,
        departure: arrival + Duration::days(nights),
        nights: nights as i32,
        currency: "CNY".into(),
        room_revenue: revenue,
        food_and_beverage_revenue: 0,
        other_revenue: 0,
        total_revenue: revenue,
        checked_out_at: (arrival + Duration::days(nights))
            .and_hms_opt(12, 0, 0)
            .unwrap(),
    };
    app.db
        .write(|conn| record_stay(conn, &stay, Utc::now()).map(|_| ()))
        .expect("stay recorded");
}

struct World {
    h: Hotel,
    /// 张伟: CN, Shanghai, VIP tag, marketing e-mail consent, 6 stays over
    /// two years, the last 20 days ago; weekday stays alone.
    zhang: String,
    /// Anna Smith: GB, one stay 1,000 days ago.
    anna: String,
    /// 李娜: CN, Beijing, no stays; withdrew profiling.
    lina: String,
}

async fn world(app: &TestApp) -> World {
    let h = hotel(app, 10).await;
    let today = shanghai_today();
    let zhang = app
        .create_guest(&app.admin_token, json!({"family_name": "张", "given_name": "伟", "nationality": "CN", "birthday": "1985-03-10",
            "emails": [{"address": "zhang.wei@example.cn"}], "phones": [{"number": "13800000901"}],
            "address": {"city": "Shanghai"}, "tags": ["VIP", "商务"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna = app
        .create_guest(
            &app.admin_token,
            json!({"family_name_latin": "Smith", "given_name_latin": "Anna", "nationality": "GB",
            "birthday": "1992-07-01", "emails": [{"address": "anna@example.co.uk"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lina = app
        .create_guest(&app.admin_token, json!({"family_name": "李", "given_name": "娜", "nationality": "CN", "address": {"city": "Beijing"}}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/guests/{zhang}/consents"),
        &app.admin_token,
        json!({"purpose": "marketing", "channel": "email", "status": "granted", "source": "registration_card"}),
    )
    .await
    .assert_status(201);
    app.post(
        &format!("/api/v1/guests/{lina}/consents"),
        &app.admin_token,
        json!({"purpose": "profiling", "status": "withdrawn", "source": "guest_request"}),
    )
    .await
    .assert_status(201);
    // A reservation to hang the past stays on.
    let mut b = booking(
        &h,
        "DLK",
        "BAR",
        today + Duration::days(200),
        1,
        "13800000901",
    );
    b["guest"] = json!({"id": zhang});
    b["rooms"][0]["adults"] = json!(1);
    let r = app.post("/api/v1/reservations", &app.admin_token, b).await;
    let rz = r.assert_status(201)["id"].as_str().unwrap().to_string();
    let mut b = booking(
        &h,
        "DLK",
        "BAR",
        today + Duration::days(210),
        1,
        "13800000902",
    );
    b["guest"] = json!({"id": anna});
    let r = app.post("/api/v1/reservations", &app.admin_token, b).await;
    let ra = r.assert_status(201)["id"].as_str().unwrap().to_string();
    // Mondays, alone: business.
    let monday = |days_ago: i64| {
        let d = today - Duration::days(days_ago);
        d - Duration::days(d.weekday().num_days_from_monday() as i64)
    };
    use chrono::Datelike;
    for (ago, channel) in [
        (20, "phone"),
        (110, "ota"),
        (200, "phone"),
        (290, "phone"),
        (380, "website"),
        (470, "phone"),
    ] {
        past_stay(app, &h, &zhang, &rz, monday(ago), 2, 180_000, channel);
    }
    past_stay(
        app,
        &h,
        &anna,
        &ra,
        // Recency counts in the server's (UTC) days, whatever the hour.
        Utc::now().date_naive() - Duration::days(1000),
        3,
        150_000,
        "ota",
    );
    World {
        h,
        zhang,
        anna,
        lina,
    }
}

async fn run_insights(app: &TestApp, full: bool) -> u64 {
    run_insights_at(app, full, Utc::now()).await
}

async fn run_insights_at(app: &TestApp, full: bool, now: chrono::DateTime<Utc>) -> u64 {
    let job = if full {
        crm_api::jobs::Job::GuestInsightsFull
    } else {
        crm_api::jobs::Job::GuestInsights
    };
    // The day the server's scheduler and the insights endpoint use (UTC).
    crm_api::jobs::run(&app.db, job, now.date_naive(), now)
        .unwrap()
        .processed
}

async fn count(app: &TestApp, token: &str, rule: Value) -> i64 {
    let res = app
        .post("/api/v1/segments/preview", token, json!({"rule": rule}))
        .await;
    res.assert_status(200)["count"].as_i64().unwrap()
}

#[tokio::test]
async fn insights_explain_value_purpose_and_churn() {
    let app = spawn_app().await;
    let w = world(&app).await;
    run_insights(&app, true).await;
    let z = app
        .get(
            &format!("/api/v1/guests/{}/insights", w.zhang),
            &app.admin_token,
        )
        .await;
    let z = z.assert_status(200).clone();
    assert_eq!(z["figures"]["stays"], 6);
    assert_eq!(z["figures"]["nights"], 12);
    assert_eq!(z["figures"]["spend"], 1_080_000);
    let interval = z["figures"]["usual_interval_days"].as_i64().unwrap();
    assert!((85..=95).contains(&interval), "{interval}");
    assert_eq!(z["rfm"]["recency"], 5);
    assert_eq!(z["rfm"]["value_class"], "vip", "{z}");
    assert_eq!(z["travel_purpose"]["purpose"], "business");
    assert!(!z["travel_purpose"]["reasons"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(z["churn"]["grade"], "low");
    assert!(z["segments_computed_at"].is_string());
    let a = app
        .get(
            &format!("/api/v1/guests/{}/insights", w.anna),
            &app.admin_token,
        )
        .await;
    let a = a.assert_status(200).clone();
    assert_eq!(a["rfm"]["value_class"], "potential");
    assert_eq!(
        a["churn"]["grade"], "high",
        "1,000 days against a one-time guest's year: {a}"
    );
    assert!(
        a["churn"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("1000 days"),
        "{a}"
    );
    let l = app
        .get(
            &format!("/api/v1/guests/{}/insights", w.lina),
            &app.admin_token,
        )
        .await;
    let l = l.assert_status(200).clone();
    assert_eq!(l["profiled"], false);
    assert!(l["rfm"].is_null() && l["churn"].is_null());
    let rival = app.other_organization_admin().await;
    app.get(&format!("/api/v1/guests/{}/insights", w.zhang), &rival)
        .await
        .assert_problem(404, "guest_not_found");
    // Profiling is personal data: exported, and erased with the guest.
    let export = app
        .get(
            &format!("/api/v1/guests/{}/export", w.zhang),
            &app.admin_token,
        )
        .await;
    let export = export.assert_status(200).clone();
    assert_eq!(export["insights"]["value_class"], "vip");
    assert!(export["insights"]["reasons"]["churn"].is_array());
    app.post(
        &format!("/api/v1/guests/{}/erase", w.anna),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    let gone = app
        .db
        .read(|conn| crm_storage::insights::find(conn, &app.org_id, &w.anna))
        .unwrap();
    assert!(gone.is_none(), "the erased guest's insights are gone");
    run_insights(&app, true).await;
    let still_gone = app
        .db
        .read(|conn| crm_storage::insights::find(conn, &app.org_id, &w.anna))
        .unwrap();
    assert!(still_gone.is_none(), "and are not computed again");
}

#[tokio::test]
async fn segment_rules_compile_to_queries_on_every_field_kind() {
    let app = spawn_app().await;
    let w = world(&app).await;
    run_insights(&app, true).await;
    let t = &app.admin_token;
    let today = shanghai_today();
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "nationality", "op": "eq", "value": "cn"})
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"not": {"field": "nationality", "op": "eq", "value": "CN"}})
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, t, json!({"field": "stays", "op": "gte", "value": 2})).await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "spend", "op": "between", "value": [100_000, 200_000]})
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, t, json!({"field": "tag", "op": "eq", "value": "vip"})).await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "tag", "op": "has_all", "value": ["VIP", "商务"]})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "tag", "op": "not_in", "value": ["vip"]})
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "consent", "op": "eq", "value": "marketing_email"})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "city", "op": "contains", "value": "hai"})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "city", "op": "starts_with", "value": "bei"})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "last_stay_days_ago", "op": "lte", "value": 30})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "last_stay_days_ago", "op": "gt", "value": 365})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "channel", "op": "in", "value": ["website", "walk_in"]})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "channel", "op": "eq", "value": "ota"})
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "property", "op": "eq", "value": w.h.property_id})
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "value_class", "op": "in", "value": ["vip", "regular"]})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "travel_purpose", "op": "eq", "value": "business"})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "churn_grade", "op": "eq", "value": "high"})
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "birthday_month", "op": "eq", "value": 3})
        )
        .await,
        1
    );
    let zhang_age = (today - NaiveDate::from_ymd_opt(1985, 3, 10).unwrap()).num_days() / 365;
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "age", "op": "between", "value": [zhang_age - 1, zhang_age + 1]})
        )
        .await,
        1
    );
    assert_eq!(count(&app, t, json!({"field": "first_stay", "op": "lt", "value": (today - Duration::days(450)).to_string()})).await, 2);
    assert_eq!(count(&app, t, json!({"field": "first_stay", "op": "lt", "value": (today - Duration::days(900)).to_string()})).await, 1);
    assert_eq!(
        count(
            &app,
            t,
            json!({"field": "blacklisted", "op": "eq", "value": false})
        )
        .await,
        3
    );
    // Five conditions together, nested.
    let five = json!({"all": [
        {"field": "nationality", "op": "in", "value": ["CN", "GB"]},
        {"any": [{"field": "stays", "op": "gte", "value": 3}, {"field": "tag", "op": "eq", "value": "vip"}]},
        {"field": "last_stay_days_ago", "op": "lte", "value": 90},
        {"not": {"field": "blacklisted", "op": "eq", "value": true}},
        {"field": "consent", "op": "in", "value": ["marketing_email", "marketing_sms"]}
    ]});
    let p = app
        .post("/api/v1/segments/preview", t, json!({"rule": five.clone()}))
        .await;
    let p = p.assert_status(200).clone();
    assert_eq!(p["count"], 1);
    assert_eq!(p["sample"][0]["guest_id"], w.zhang.as_str());
    assert_eq!(p["sample"][0]["name"], "张伟");
    // A wrong rule names its path and writes nothing.
    let bad = app
        .post("/api/v1/segments", t, json!({"name": "x", "rule": {"all": [{"field": "stays", "op": "gte", "value": 1}, {"any": [{"field": "shoe_size", "op": "eq", "value": 1}]}]}}))
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.body["errors"][0]["field"], "rule.all[1].any[0].field");
    let bad = app
        .post(
            "/api/v1/segments/preview",
            t,
            json!({"rule": {"field": "property", "op": "eq", "value": "not-an-id"}}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let listed = app.get("/api/v1/segments", t).await;
    assert!(listed.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .is_empty());
    let fields = app.get("/api/v1/segments/fields", t).await;
    assert!(fields
        .assert_status(200)
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "churn_grade" && f["type"] == "enum"));
    let _ = w.anna;
}

#[tokio::test]
async fn segments_are_saved_refreshed_listed_and_exported_by_role() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // The incremental run looks at changes since its last run began, less
    // five minutes for transactions still committing then: date the full
    // run so that everything above falls before that margin.
    run_insights_at(
        &app,
        true,
        Utc::now() + Duration::minutes(5) + Duration::seconds(1),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, marketing) = app.user_with_role("marketing").await;
    let (_, desk) = app.user_with_role("front_desk").await;
    let s = app
        .post("/api/v1/segments", &marketing, json!({"name": "Chinese guests", "rule": {"field": "nationality", "op": "eq", "value": "CN"}}))
        .await;
    let s = s.assert_status(201).clone();
    let id = s["id"].as_str().unwrap().to_string();
    assert!(s["member_count"].is_null());
    app.get(&format!("/api/v1/segments/{id}"), &desk)
        .await
        .assert_problem(403, "forbidden");
    let refreshed = app
        .post(
            &format!("/api/v1/segments/{id}/refresh"),
            &marketing,
            json!({}),
        )
        .await;
    assert_eq!(refreshed.assert_status(200)["member_count"], 2);
    let members = app
        .get(
            &format!("/api/v1/segments/{id}/members?limit=1"),
            &marketing,
        )
        .await;
    let members = members.assert_status(200).clone();
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    let cursor = members["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/segments/{id}/members?limit=1&cursor={cursor}"),
            &marketing,
        )
        .await;
    let rest = rest.assert_status(200).clone();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    assert_ne!(rest["data"][0]["guest_id"], members["data"][0]["guest_id"]);

    let csv = |token: &str| {
        let token = token.to_string();
        let url = app.url(&format!("/api/v1/segments/{id}/export?format=csv"));
        let http = app.http.clone();
        async move {
            let res = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200);
            res.text().await.unwrap()
        }
    };
    let admin_csv = csv(&app.admin_token).await;
    let header = admin_csv
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        header.contains("email") && header.contains("phone"),
        "{header}"
    );
    assert!(admin_csv.contains("zhang.wei@example.cn"));
    assert_eq!(admin_csv.trim().lines().count(), 3);
    let marketing_csv = csv(&marketing).await;
    assert!(!marketing_csv.contains("email") && !marketing_csv.contains("zhang.wei@example.cn"));
    assert!(marketing_csv.contains("张伟"));
    let xlsx = app
        .http
        .get(app.url(&format!("/api/v1/segments/{id}/export?format=xlsx")))
        .bearer_auth(&marketing)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status().as_u16(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let audit = app
        .get("/api/v1/audit-events?limit=200", &app.admin_token)
        .await;
    let exports = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "segment.exported")
        .count();
    assert_eq!(exports, 3);

    // A guest who becomes Chinese is picked up by the incremental run.
    app.patch(
        &format!("/api/v1/guests/{}", w.anna),
        &app.admin_token,
        json!({"nationality": "CN"}),
    )
    .await
    .assert_status(200);
    let recomputed = run_insights(&app, false).await;
    assert!(
        (1..3).contains(&recomputed),
        "only changed guests: {recomputed}"
    );
    let p = app
        .post(
            &format!("/api/v1/segments/{id}/preview"),
            &marketing,
            json!({}),
        )
        .await;
    assert_eq!(p.assert_status(200)["count"], 3);
    // Changing the rule forgets the refresh.
    let changed = app
        .patch(
            &format!("/api/v1/segments/{id}"),
            &marketing,
            json!({"rule": {"field": "stays", "op": "gte", "value": 1}}),
        )
        .await;
    assert!(changed.assert_status(200)["member_count"].is_null());
    let rival = app.other_organization_admin().await;
    app.get(&format!("/api/v1/segments/{id}"), &rival)
        .await
        .assert_problem(404, "segment_not_found");
    app.delete(&format!("/api/v1/segments/{id}"), &marketing)
        .await
        .assert_status(204);
    app.get(&format!("/api/v1/segments/{id}"), &marketing)
        .await
        .assert_problem(404, "segment_not_found");
    let _ = w.lina;
}

#[tokio::test]
async fn reports_group_in_the_database_and_export_as_csv_and_xlsx() {
    let app = spawn_app().await;
    let w = world(&app).await;
    run_insights(&app, true).await;
    let t = &app.admin_token;
    let structure = app.get("/api/v1/reports/guest-structure", t).await;
    let rows = structure.assert_status(200)["rows"]
        .as_array()
        .unwrap()
        .clone();
    let find = |dim: &str, value: &str| {
        rows.iter()
            .find(|r| r["dimension"] == dim && r["value"] == value)
            .map(|r| r["guests"].as_i64().unwrap())
    };
    assert_eq!(find("nationality", "CN"), Some(2));
    assert_eq!(find("value_class", "vip"), Some(1));
    assert_eq!(find("travel_purpose", "business"), Some(1));
    assert!(rows.iter().any(|r| r["dimension"] == "age_band"));

    let mix = app.get("/api/v1/reports/channel-mix", t).await;
    let mix = mix.assert_status(200)["rows"].as_array().unwrap().clone();
    let phone = mix.iter().find(|r| r["channel"] == "phone").unwrap();
    assert_eq!(phone["stays"], 4);
    assert_eq!(phone["room_nights"], 8);
    assert_eq!(phone["revenue"], 720_000);
    let csv = app
        .http
        .get(app.url("/api/v1/reports/channel-mix?format=csv"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("channel-mix.csv"));
    assert!(csv
        .text()
        .await
        .unwrap()
        .contains("channel,reservations,cancelled,stays"));
    let xlsx = app
        .http
        .get(app.url("/api/v1/reports/spend-distribution?format=xlsx"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    let repeat = app.get("/api/v1/reports/repeat-stay-rate", t).await;
    let repeat = repeat.assert_status(200)["rows"][0].clone();
    assert_eq!(
        (
            repeat["guests_with_stays"].as_i64(),
            repeat["repeat_guests"].as_i64()
        ),
        (Some(2), Some(1))
    );
    let today = shanghai_today();
    let recent = app
        .get(
            &format!(
                "/api/v1/reports/repeat-stay-rate?from={}",
                today - Duration::days(150)
            ),
            t,
        )
        .await;
    assert_eq!(recent.assert_status(200)["rows"][0]["repeat_guests"], 1);

    let cohorts = app.get("/api/v1/reports/retention-cohorts", t).await;
    let cohorts = cohorts.assert_status(200)["rows"]
        .as_array()
        .unwrap()
        .clone();
    let first: Vec<&Value> = cohorts.iter().filter(|r| r["months_after"] == 0).collect();
    assert_eq!(
        first.len(),
        2,
        "one cohort per first-stay month: {cohorts:?}"
    );
    assert!(first.iter().all(|r| r["retention"] == 1.0));
    assert!(cohorts
        .iter()
        .any(|r| r["months_after"].as_i64().unwrap() > 0));
    // One property: the same cohorts, read from its stays instead.
    let scoped = app
        .get(
            &format!(
                "/api/v1/reports/retention-cohorts?property_id={}",
                w.h.property_id
            ),
            t,
        )
        .await;
    assert_eq!(scoped.assert_status(200)["rows"], json!(cohorts));

    let ltv = app.get("/api/v1/reports/lifetime-value", t).await;
    let ltv = ltv.assert_status(200)["rows"].as_array().unwrap().clone();
    assert!(ltv
        .iter()
        .any(|r| r["acquisition_channel"] == "phone" && r["total_spend"] == 1_080_000));
    let churn = app.get("/api/v1/reports/churn-risk", t).await;
    let churn = churn.assert_status(200)["rows"].as_array().unwrap().clone();
    assert_eq!(
        churn.iter().find(|r| r["grade"] == "high").unwrap()["guests"],
        1
    );
    assert_eq!(
        churn.iter().find(|r| r["grade"] == "unknown").unwrap()["guests"],
        1,
        "Lina is not profiled"
    );
    app.get("/api/v1/reports/loyalty-liability", t)
        .await
        .assert_status(200);
    let by_property = app
        .get(
            &format!(
                "/api/v1/reports/channel-mix?property_id={}",
                w.h.property_id
            ),
            t,
        )
        .await;
    assert_eq!(
        by_property.assert_status(200)["rows"]
            .as_array()
            .unwrap()
            .len(),
        mix.len()
    );
    app.get(
        "/api/v1/reports/channel-mix?from=2026-02-01&to=2026-01-01",
        t,
    )
    .await
    .assert_problem(400, "invalid_range");
    app.get("/api/v1/reports/channel-mix?format=pdf", t)
        .await
        .assert_problem(400, "invalid_query");
    let dash = app.get("/api/v1/reports/dashboard", t).await;
    let dash = dash.assert_status(200).clone();
    assert_eq!(dash["guests"], 3);
    assert_eq!(dash["vip_guests"], 1);
    assert_eq!(dash["high_churn_guests"], 1);
    let rival = app.other_organization_admin().await;
    let theirs = app.get("/api/v1/reports/guest-structure", &rival).await;
    assert!(theirs.assert_status(200)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["dimension"] == "age_band" || r["guests"] == 0));
}

#[tokio::test]
async fn an_export_larger_than_the_limit_is_refused_not_cut_short() {
    let app = spawn_app_with(|s| s.export_max_rows = 2).await;
    let t = &app.admin_token;
    for (family, given, tag) in [("王", "芳", "vip"), ("李", "娜", "vip"), ("刘", "洋", "")] {
        let tags = if tag.is_empty() {
            json!([])
        } else {
            json!([tag])
        };
        app.create_guest(
            t,
            json!({"family_name": family, "given_name": given, "tags": tags}),
        )
        .await;
    }
    run_insights(&app, true).await;
    let everyone = app
        .post(
            "/api/v1/segments",
            t,
            json!({"name": "Everyone", "rule": {"field": "stays", "op": "gte", "value": 0}}),
        )
        .await;
    let everyone = everyone.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    for format in ["csv", "xlsx"] {
        let res = app
            .get(
                &format!("/api/v1/segments/{everyone}/export?format={format}"),
                t,
            )
            .await;
        res.assert_problem(422, "export_too_large");
        assert!(
            res.body["detail"].as_str().unwrap().contains("3 members"),
            "{}",
            res.body
        );
    }
    // A refused export exported nothing: nothing is audited as exported.
    let audit = app
        .get("/api/v1/audit-events?action=segment.exported", t)
        .await;
    assert_eq!(audit.assert_status(200)["data"], json!([]));

    // Narrowed to the limit, it is whole.
    let vips = app
        .post(
            "/api/v1/segments",
            t,
            json!({"name": "VIPs", "rule": {"field": "tag", "op": "eq", "value": "vip"}}),
        )
        .await;
    let vips = vips.assert_status(201)["id"].as_str().unwrap().to_string();
    let csv = app
        .get(&format!("/api/v1/segments/{vips}/export?format=csv"), t)
        .await;
    assert_eq!(csv.status.as_u16(), 200, "{}", csv.body);
    let text = csv.body.as_str().unwrap().trim_start_matches('\u{feff}');
    assert_eq!(
        text.trim().lines().count(),
        3,
        "a header and two guests: {text}"
    );
}

/// Reports, segment counts, member lists and exports read the replica
/// pool. On PostgreSQL the test points it at a read-only session of the
/// same database (what a hot standby gives): every one of them must work
/// there, and they must really have used it. SQLite has no replicas: the
/// setting is refused at start.
#[tokio::test]
async fn reports_and_segment_reads_run_on_a_read_only_replica() {
    if backend_name() == "sqlite" {
        let path = std::env::temp_dir().join(format!(
            "hotel-crm-tests/replica-{}.sqlite3",
            uuid::Uuid::now_v7().simple()
        ));
        let mut settings = test_settings(path.display().to_string());
        settings.read_database_url = Some(settings.database_url.clone());
        let started = crm_api::Application::build(
            settings,
            std::sync::Arc::new(crm_domain::clock::SystemClock),
        )
        .await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let err = started.err().expect("refused").to_string();
        assert!(err.contains("SQLite has no replicas"), "{err}");
        return;
    }
    let app = spawn_app_with(|s| {
        s.read_database_url = Some(format!(
            "{}?application_name=hotel-crm-replica&options=-c%20default_transaction_read_only%3Don",
            s.database_url
        ))
    })
    .await;
    let t = &app.admin_token;
    for (family, given) in [("王", "芳"), ("李", "娜")] {
        app.create_guest(t, json!({"family_name": family, "given_name": given}))
            .await;
    }
    run_insights(&app, true).await;
    let segment = app
        .post(
            "/api/v1/segments",
            t,
            json!({"name": "Everyone", "rule": {"field": "stays", "op": "gte", "value": 0}}),
        )
        .await;
    let segment = segment.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let preview = app
        .post(&format!("/api/v1/segments/{segment}/preview"), t, json!({}))
        .await;
    assert_eq!(preview.assert_status(200)["count"], 2);
    let members = app
        .get(&format!("/api/v1/segments/{segment}/members"), t)
        .await;
    assert_eq!(
        members.assert_status(200)["data"].as_array().unwrap().len(),
        2
    );
    let export = app
        .get(&format!("/api/v1/segments/{segment}/export"), t)
        .await;
    assert_eq!(export.status.as_u16(), 200, "{}", export.body);
    assert_eq!(export.body.as_str().unwrap().trim().lines().count(), 3);
    for report in [
        "guest-structure",
        "channel-mix",
        "spend-distribution",
        "repeat-stay-rate",
        "retention-cohorts",
        "lifetime-value",
        "churn-risk",
        "loyalty-liability",
        "dashboard",
        "ticket-kpis",
        "satisfaction",
        "review-ratings",
    ] {
        let res = app.get(&format!("/api/v1/reports/{report}"), t).await;
        assert_eq!(res.status.as_u16(), 200, "{report}: {}", res.body);
    }
    // They came through the replica pool, and it cannot write.
    let replica_sessions: i64 = app
        .db
        .read(|conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            Ok(diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE application_name = 'hotel-crm-replica' AND datname = current_database()",
            )
            .get_result::<Count>(conn)
            .map_err(crm_storage::StorageError::from)?
            .n)
        })
        .unwrap();
    assert!(replica_sessions > 0, "the replica pool was never used");
    let url = app.database_url.clone() + "?options=-c%20default_transaction_read_only%3Don";
    let mut replica = <diesel::PgConnection as diesel::Connection>::establish(&url).unwrap();
    let write = diesel::connection::SimpleConnection::batch_execute(
        &mut replica,
        "CREATE TABLE replica_probe (n INTEGER)",
    );
    assert!(
        write.is_err_and(|e| e.to_string().contains("read-only")),
        "the replica session must refuse writes"
    );
}
