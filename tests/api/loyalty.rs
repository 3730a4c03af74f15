use crate::reservations::{booking, hotel, shanghai_today, Hotel};
use chrono::{Duration, Months, NaiveDate, Utc};
use crm_api::jobs::{self, Job};
use crm_tests::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

/// One point per yuan of room revenue, one per two yuan of F&B; points
/// expire after 12 months.
pub(crate) async fn programme(app: &TestApp) -> Value {
    app.send(
        reqwest::Method::PUT,
        "/api/v1/loyalty/program",
        Some(&app.admin_token),
        Some(json!({"name": "Club", "currency": "CNY", "expiry_months": 12,
            "earn_rates": {"room": {"points": 1, "per_amount": 100}, "food_and_beverage": {"points": 1, "per_amount": 200}}})),
        &[],
    )
    .await
    .assert_status(200)
    .clone()
}

async fn tiers(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/loyalty/tiers", &app.admin_token)
        .await
        .assert_status(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn enrol(app: &TestApp, guest: &str) -> Value {
    app.post(
        &format!("/api/v1/guests/{guest}/membership"),
        &app.admin_token,
        json!({"source": "front_desk"}),
    )
    .await
    .assert_status(201)
    .clone()
}

async fn adjust(app: &TestApp, guest: &str, points: i64) -> Value {
    app.post(
        &format!("/api/v1/guests/{guest}/points/adjustments"),
        &app.admin_token,
        json!({"points": points, "reason": "opening balance"}),
    )
    .await
    .assert_status(201)
    .clone()
}

pub(crate) async fn balance(app: &TestApp, guest: &str) -> Value {
    app.get(&format!("/api/v1/guests/{guest}/points"), &app.admin_token)
        .await
        .assert_status(200)
        .clone()
}

async fn member_guest(app: &TestApp, phone: &str) -> String {
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "李", "given_name": "娜", "phones": [{"number": phone}]}),
        )
        .await;
    let id = g["id"].as_str().unwrap().to_string();
    enrol(app, &id).await;
    id
}

/// Books, checks in and checks out `nights` nights for the guest with
/// `phone`; returns (reservation id, stay id).
pub(crate) async fn stay(
    app: &TestApp,
    h: &Hotel,
    phone: &str,
    nights: i64,
    room: i64,
    fnb: i64,
) -> (String, String) {
    let r = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(h, "DLK", "BAR", shanghai_today(), nights, phone),
        )
        .await;
    let id = r.assert_status(201)["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/reservations/{id}/check-in"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/reservations/{id}/check-out"),
        &app.admin_token,
        json!({"charges": {"room": room, "food_and_beverage": fnb}}),
    )
    .await
    .assert_status(200);
    let guest = r.body["guest_id"].as_str().unwrap();
    let stays = app
        .get(&format!("/api/v1/guests/{guest}/stays"), &app.admin_token)
        .await;
    let stay_id = stays.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reservation_id"] == id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, stay_id)
}

fn run(app: &TestApp, job: Job, today: NaiveDate) -> jobs::Report {
    jobs::run(&app.db, job, today, Utc::now()).expect("job runs")
}

#[tokio::test]
async fn the_programme_starts_with_three_tiers_and_validates_its_rules() {
    let app = spawn_app().await;
    app.get("/api/v1/loyalty/program", &app.admin_token)
        .await
        .assert_problem(404, "loyalty_not_configured");
    let p = programme(&app).await;
    assert_eq!(p["version"], 1);
    let t = tiers(&app).await;
    let codes: Vec<&str> = t.iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["MEMBER", "SILVER", "GOLD"]);
    assert_eq!(t[1]["name"], "银卡");
    assert_eq!(
        t[2]["benefits"][1],
        json!({"type": "late_checkout", "until": "14:00"})
    );

    let bad = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/loyalty/program",
            Some(&app.admin_token),
            Some(json!({"name": "", "currency": "yuan", "expiry_months": 0, "earn_rates": {"room": {"points": -1, "per_amount": 0}}})),
            &[("if-match", "\"1\"")],
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
            "name",
            "currency",
            "expiry_months",
            "earn_rates.room.points",
            "earn_rates.room.per_amount"
        ]
    );
    // A stale If-Match changes nothing.
    app.send(
        reqwest::Method::PUT,
        "/api/v1/loyalty/program",
        Some(&app.admin_token),
        Some(json!({"name": "Club 2", "currency": "CNY", "earn_rates": {"room": {"points": 2, "per_amount": 100}}})),
        &[("if-match", "\"7\"")],
    )
    .await
    .assert_problem(412, "version_conflict");

    let platinum = app
        .post(
            "/api/v1/loyalty/tiers",
            &app.admin_token,
            json!({"code": "PLATINUM", "name": "白金卡", "rank": 3, "qualification": {"nights": 60},
                   "multiplier_percent": 200, "benefits": [{"type": "late_checkout", "until": "25:00"}]}),
        )
        .await;
    platinum.assert_problem(422, "validation_failed");
    assert_eq!(platinum.body["errors"][0]["field"], "benefits[0].until");
    app.post(
        "/api/v1/loyalty/tiers",
        &app.admin_token,
        json!({"code": "PLATINUM", "name": "白金卡", "rank": 2}),
    )
    .await
    .assert_problem(409, "tier_taken");
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        "/api/v1/loyalty/tiers",
        &desk,
        json!({"code": "PLATINUM", "name": "白金卡", "rank": 3}),
    )
    .await
    .assert_problem(403, "forbidden");
    let silver = t[1]["id"].as_str().unwrap();
    let patched = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/loyalty/tiers/{silver}"),
            Some(&app.admin_token),
            Some(json!({"multiplier_percent": 130, "retention": {"nights": 5}})),
            &[("if-match", "\"1\"")],
        )
        .await;
    let body = patched.assert_status(200);
    assert_eq!(body["multiplier_percent"], 130);
    assert_eq!(body["retention"]["nights"], 5);
    assert_eq!(body["qualification"]["nights"], 10, "untouched fields stay");
}

#[tokio::test]
async fn a_check_out_earns_once_with_the_multiplier_and_upgrades_at_once() {
    let app = spawn_app().await;
    programme(&app).await;
    let h = hotel(&app, 10).await;
    // The guest exists through a first booking, then enrols.
    let phone = "13900000001";
    let (first, _) = stay(&app, &h, phone, 2, 91_650, 12_000).await;
    let guest = app
        .get(&format!("/api/v1/reservations/{first}"), &app.admin_token)
        .await
        .body["guest_id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = enrol(&app, &guest).await;
    assert_eq!(m["tier"]["code"], "MEMBER", "2 nights do not reach silver");
    assert_eq!(m["window"]["counters"]["nights"], 2);
    assert_eq!(m["next_tier"]["tier"]["code"], "SILVER");
    assert_eq!(m["next_tier"]["missing"]["nights"], 8);
    assert!(m["member_number"].as_str().unwrap().starts_with('M'));
    app.post(
        &format!("/api/v1/guests/{guest}/membership"),
        &app.admin_token,
        json!({"source": "app"}),
    )
    .await
    .assert_problem(409, "already_member");

    // A booking shows as pending: 916 points for 91,600 at ×1.
    let r = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(
                &h,
                "DLK",
                "BAR",
                shanghai_today() + Duration::days(30),
                2,
                phone,
            ),
        )
        .await;
    r.assert_status(201);
    let b = balance(&app, &guest).await;
    assert_eq!(b["pending"], 916);
    assert_eq!(
        b["available"], 0,
        "the stay before enrolment earned nothing"
    );

    // 8 more nights: 10 in the window reach silver at check-out; the stay
    // earns at the member tier (×1): 1,000 room + 60 F&B.
    let (_, stay_id) = stay(&app, &h, phone, 8, 100_000, 12_000).await;
    let m = app
        .get(
            &format!("/api/v1/guests/{guest}/membership"),
            &app.admin_token,
        )
        .await;
    let m = m.assert_status(200);
    assert_eq!(m["tier"]["code"], "SILVER");
    assert_eq!(m["tier_history"][1]["reason"], "qualified");
    assert_eq!(m["points_balance"], 1060);
    let entries = app
        .get(
            &format!("/api/v1/guests/{guest}/points/entries"),
            &app.admin_token,
        )
        .await;
    let data = entries.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["entry_type"], "earn");
    assert_eq!(data[0]["source_type"], "stay");
    assert_eq!(data[0]["source_id"], stay_id.as_str());
    let b = balance(&app, &guest).await;
    assert_eq!(b["available"], 1060);
    assert_eq!(
        b["pending"], 1145,
        "silver's ×1.25 now applies to the open booking"
    );

    // Reversing the stay takes back what it earned, once.
    let rev = app
        .post(
            &format!("/api/v1/guests/{guest}/points/reversals"),
            &app.admin_token,
            json!({"stay_id": stay_id, "reason": "refunded"}),
        )
        .await;
    assert_eq!(rev.assert_status(201)["entry"]["points"], -1060);
    assert_eq!(rev.body["unrecovered"], 0);
    app.post(
        &format!("/api/v1/guests/{guest}/points/reversals"),
        &app.admin_token,
        json!({"stay_id": stay_id, "reason": "again"}),
    )
    .await
    .assert_problem(409, "already_reversed");
    assert_eq!(balance(&app, &guest).await["available"], 0);
    assert!(run(&app, Job::LoyaltyAudit, shanghai_today())
        .discrepancies
        .is_empty());
}

#[tokio::test]
async fn parallel_redemptions_never_spend_a_point_twice() {
    let app = spawn_app().await;
    programme(&app).await;
    let guest = member_guest(&app, "13900000002").await;
    adjust(&app, &guest, 500).await;
    let url = format!("/api/v1/guests/{guest}/points/redemptions");
    let futures = (0..100).map(|_| {
        app.post(
            &url,
            &app.admin_token,
            json!({"points": 10, "description": "minibar"}),
        )
    });
    let results = futures_util::future::join_all(futures).await;
    let ok = results.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused: Vec<&Response> = results
        .iter()
        .filter(|r| r.status.as_u16() != 201)
        .collect();
    assert_eq!(ok, 50);
    assert_eq!(refused.len(), 50);
    for r in refused {
        r.assert_problem(409, "insufficient_points");
    }
    let b = balance(&app, &guest).await;
    assert_eq!(b["available"], 0);
    let report = run(&app, Job::LoyaltyAudit, shanghai_today());
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );

    // The audit notices a balance that the ledger does not explain.
    app.db
        .write(|conn| {
            Ok(
                diesel::sql_query("UPDATE loyalty_members SET points_balance = points_balance + 5")
                    .execute(conn)?,
            )
        })
        .unwrap();
    let report = run(&app, Job::LoyaltyAudit, shanghai_today());
    assert_eq!(report.discrepancies.len(), 1);
    let d = &report.discrepancies[0];
    assert_eq!((d.balance, d.ledger, d.lots), (5, 0, 0));
}

#[tokio::test]
async fn redemption_takes_the_oldest_points_and_cancellation_restores_them() {
    let app = spawn_app().await;
    programme(&app).await;
    let guest = member_guest(&app, "13900000003").await;
    adjust(&app, &guest, 300).await;
    let reward = app
        .post(
            "/api/v1/loyalty/rewards",
            &app.admin_token,
            json!({"code": "SPA", "name": "Spa voucher", "kind": "voucher", "points_price": 100, "stock": 2}),
        )
        .await;
    let reward_id = reward.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("/api/v1/guests/{guest}/points/redemptions");
    let r = app
        .post(
            &url,
            &app.admin_token,
            json!({"reward_id": reward_id, "quantity": 2}),
        )
        .await;
    let r = r.assert_status(201).clone();
    assert_eq!(r["points"], 200);
    assert_eq!(r["balance"], 100);
    app.post(&url, &app.admin_token, json!({"reward_id": reward_id}))
        .await
        .assert_problem(409, "out_of_stock");
    assert_eq!(
        balance(&app, &guest).await["available"],
        100,
        "the refused redemption left nothing"
    );
    app.post(
        &url,
        &app.admin_token,
        json!({"points": 101, "description": "upgrade"}),
    )
    .await
    .assert_problem(409, "insufficient_points");
    app.post(
        &url,
        &app.admin_token,
        json!({"reward_id": reward_id, "points": 5}),
    )
    .await
    .assert_problem(422, "validation_failed");

    let cancel = format!("{url}/{}/cancel", r["id"].as_str().unwrap());
    let c = app.post(&cancel, &app.admin_token, json!({})).await;
    assert_eq!(c.assert_status(200)["status"], "cancelled");
    assert_eq!(c.body["balance"], 300);
    app.post(&cancel, &app.admin_token, json!({}))
        .await
        .assert_problem(409, "already_cancelled");
    let stock = app.get("/api/v1/loyalty/rewards", &app.admin_token).await;
    assert_eq!(stock.body["data"][0]["stock"], 2, "stock is given back");

    // Expiry: 12 months after posting, what is left of each lot expires.
    let today = Utc::now().date_naive();
    let b = balance(&app, &guest).await;
    assert_eq!(b["expiring_in_30_days"], 0);
    let report = run(&app, Job::PointsExpiry, today + Months::new(12));
    assert_eq!(report.changed, 300);
    assert_eq!(balance(&app, &guest).await["available"], 0);
    let again = run(&app, Job::PointsExpiry, today + Months::new(12));
    assert_eq!(again.processed, 0, "nothing expires twice");
    let entries = app
        .get(
            &format!("/api/v1/guests/{guest}/points/entries?sort=-created_at&limit=1"),
            &app.admin_token,
        )
        .await;
    assert_eq!(entries.body["data"][0]["entry_type"], "expire");
    assert_eq!(entries.body["data"][0]["points"], -300);
    assert!(run(&app, Job::LoyaltyAudit, today).discrepancies.is_empty());
}

#[tokio::test]
async fn review_downgrades_only_to_what_the_window_supports() {
    let app = spawn_app().await;
    programme(&app).await;
    let h = hotel(&app, 20).await;
    let phone = "13900000004";
    let (first, _) = stay(&app, &h, phone, 6, 100_000, 0).await;
    let guest = app
        .get(&format!("/api/v1/reservations/{first}"), &app.admin_token)
        .await
        .body["guest_id"]
        .as_str()
        .unwrap()
        .to_string();
    enrol(&app, &guest).await;
    let t = tiers(&app).await;
    let (silver, gold) = (t[1]["id"].as_str().unwrap(), t[2]["id"].as_str().unwrap());
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/loyalty/tiers/{silver}"),
        Some(&app.admin_token),
        Some(json!({"retention": {"nights": 5}})),
        &[],
    )
    .await
    .assert_status(200);
    // A manager moves the member to gold (a status match), with a reason.
    let (_, desk) = app.user_with_role("front_desk").await;
    let url = format!("/api/v1/guests/{guest}/membership/tier");
    app.post(
        &url,
        &desk,
        json!({"tier_id": gold, "reason": "status match"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(&url, &app.admin_token, json!({"tier_id": gold}))
        .await
        .assert_problem(422, "validation_failed");
    let m = app
        .post(
            &url,
            &app.admin_token,
            json!({"tier_id": gold, "reason": "status match"}),
        )
        .await;
    let m = m.assert_status(200).clone();
    assert_eq!(m["tier"]["code"], "GOLD");
    assert_eq!(m["tier_history"][1]["note"], "status match");
    let review_on: NaiveDate = m["next_review_on"].as_str().unwrap().parse().unwrap();

    // Before the review date nothing happens.
    let early = run(&app, Job::LoyaltyReview, review_on - Duration::days(1));
    assert_eq!(early.processed, 0);
    // At review: gold is not kept (6 nights < 30), but silver's retention
    // of 5 nights is met by the stay still in the window: silver, not member.
    let review = run(
        &app,
        Job::LoyaltyReview,
        shanghai_today() + Duration::days(7),
    );
    assert_eq!(review.processed, 0, "the review date is a year away");
    let r = run(&app, Job::LoyaltyReview, review_on);
    assert_eq!((r.processed, r.changed), (1, 1));
    let m = app
        .get(
            &format!("/api/v1/guests/{guest}/membership"),
            &app.admin_token,
        )
        .await;
    assert_eq!(m.body["tier"]["code"], "SILVER");
    assert_eq!(m.body["tier_history"][2]["reason"], "review");
    let next: NaiveDate = m.body["next_review_on"].as_str().unwrap().parse().unwrap();
    assert!(next > review_on);
    // A year later the stay has left the window: member.
    let later = run(&app, Job::LoyaltyReview, next);
    assert_eq!(later.changed, 1);
    let m = app
        .get(
            &format!("/api/v1/guests/{guest}/membership"),
            &app.admin_token,
        )
        .await;
    assert_eq!(m.body["tier"]["code"], "MEMBER");
}

#[tokio::test]
async fn bonuses_are_granted_once_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "王", "given_name": "芳"}),
        )
        .await;
    let guest = g["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/guests/{guest}/membership"),
        &app.admin_token,
        json!({"source": "app"}),
    )
    .await
    .assert_problem(409, "loyalty_not_configured");
    programme(&app).await;
    enrol(&app, &guest).await;
    let url = format!("/api/v1/guests/{guest}/points/bonuses");
    let (_, marketing) = app.user_with_role("marketing").await;
    let first = app
        .post(
            &url,
            &marketing,
            json!({"bonus_type": "review", "points": 200, "source_id": "review-1"}),
        )
        .await;
    let first = first.assert_status(201).clone();
    let again = app
        .post(
            &url,
            &marketing,
            json!({"bonus_type": "review", "points": 200, "source_id": "review-1"}),
        )
        .await;
    assert_eq!(again.assert_status(200)["id"], first["id"]);
    app.post(
        &url,
        &marketing,
        json!({"bonus_type": "birthday", "points": 100}),
    )
    .await
    .assert_status(201);
    app.post(
        &url,
        &marketing,
        json!({"bonus_type": "birthday", "points": 100}),
    )
    .await
    .assert_status(200);
    assert_eq!(balance(&app, &guest).await["available"], 300);
    app.post(
        &url,
        &marketing,
        json!({"bonus_type": "referral", "points": 100}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let wrong = app
        .post(
            &url,
            &marketing,
            json!({"bonus_type": "lottery", "points": 100, "source_id": "x"}),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.body["errors"][0]["field"], "bonus_type");
    let wrong = app
        .post(
            &url,
            &marketing,
            json!({"bonus_type": "review", "points": "many", "source_id": "x"}),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.body["errors"][0]["field"], "points");
    // Adjustments are for managers, with a reason, never below zero.
    let adj = format!("/api/v1/guests/{guest}/points/adjustments");
    app.post(&adj, &marketing, json!({"points": 5, "reason": "x"}))
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &adj,
        &app.admin_token,
        json!({"points": -301, "reason": "correction"}),
    )
    .await
    .assert_problem(409, "insufficient_points");
    let bad = app
        .post(&adj, &app.admin_token, json!({"points": 0, "reason": ""}))
        .await;
    bad.assert_problem(422, "validation_failed");
    let points_error = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "points")
        .unwrap()
        .clone();
    assert_eq!(points_error["code"], "out_of_range");
    assert_eq!(
        points_error["message"],
        "a non-zero number of at most 10,000,000 either way"
    );
    // Another organisation sees none of it.
    let other = app.other_organization_admin().await;
    app.get(&format!("/api/v1/guests/{guest}/points"), &other)
        .await
        .assert_problem(404, "guest_not_found");
    app.post(&adj, &other, json!({"points": 5, "reason": "x"}))
        .await
        .assert_problem(404, "guest_not_found");
    // No token, no points.
    app.send(
        reqwest::Method::GET,
        &format!("/api/v1/guests/{guest}/points"),
        None,
        None,
        &[],
    )
    .await
    .assert_problem(401, "missing_token");

    // A blacklisted guest can neither earn nor redeem.
    app.post(
        &format!("/api/v1/guests/{guest}/blacklist"),
        &app.admin_token,
        json!({"category": "fraud", "reason": "chargebacks"}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/guests/{guest}/points/redemptions"),
        &app.admin_token,
        json!({"points": 10, "description": "minibar"}),
    )
    .await
    .assert_problem(409, "guest_not_eligible");
    app.post(
        &url,
        &marketing,
        json!({"bonus_type": "campaign", "points": 100, "source_id": "c1"}),
    )
    .await
    .assert_problem(409, "guest_not_eligible");
}

#[tokio::test]
async fn expiry_in_small_batches_expires_every_lot_once() {
    let app = spawn_app().await;
    programme(&app).await;
    let mut guests = Vec::new();
    for i in 0..3 {
        let g = member_guest(&app, &format!("1390000010{i}")).await;
        for points in [10, 20, 30] {
            adjust(&app, &g, points).await;
        }
        guests.push(g);
    }
    // One member spends part of its oldest lot first.
    app.post(
        &format!("/api/v1/guests/{}/points/redemptions", guests[0]),
        &app.admin_token,
        json!({"points": 15, "description": "minibar"}),
    )
    .await
    .assert_status(201);
    let today = Utc::now().date_naive() + Months::new(12);
    let (mut from, mut lots, mut points, mut batches) = (String::new(), 0, 0, 0);
    loop {
        let batch = app
            .db
            .write(|conn| {
                crm_storage::loyalty::expire_batch(conn, &app.org_id, today, &from, 2, Utc::now())
            })
            .unwrap();
        let Some(next) = batch.next_member else { break };
        from = next;
        lots += batch.lots;
        points += batch.points;
        batches += 1;
        assert!(batches < 20, "the batches make progress");
    }
    assert_eq!(points, 3 * 60 - 15);
    assert_eq!(lots, 8, "the lot spent in full is not expired again");
    #[derive(diesel::QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let named: Named = app
        .db
        .read(|conn| {
            Ok(diesel::sql_query(
                "SELECT COUNT(*) AS n FROM points_lots l JOIN points_entries e \
                 ON e.id = l.expired_entry_id AND e.member_id = l.member_id \
                 WHERE e.entry_type = 'expire'",
            )
            .get_result(conn)?)
        })
        .unwrap();
    assert_eq!(
        named.n, 8,
        "each expired lot names its member's expire entry"
    );
    for g in &guests {
        assert_eq!(balance(&app, g).await["available"], 0);
    }
    assert!(run(&app, Job::LoyaltyAudit, today).discrepancies.is_empty());
    assert_eq!(run(&app, Job::PointsExpiry, today).processed, 0);
}
