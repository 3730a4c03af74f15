//! Duplicates: the check at creation, the scan, dismissal; merge with
//! preview (profile, stays, points, consents, tickets move; the loser is a
//! tombstone) and unmerge (everything back, refused once something changed).

use crate::loyalty::{balance, enrol, programme, stay};
use crate::reservations::hotel;
use crm_api::jobs::Job;
use crm_tests::*;
use serde_json::{json, Value};

async fn run(app: &TestApp, job: Job) -> crm_api::jobs::Report {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now();
        crm_api::jobs::run(&db, job, now.date_naive(), now)
    })
    .await
    .unwrap()
    .unwrap()
}

async fn open_candidates(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/duplicate-candidates", &app.admin_token)
        .await
        .assert_status(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn creation_reports_look_alikes_and_the_scan_remembers_dismissals() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let zhang = app
        .create_guest(
            t,
            json!({"family_name": "张", "given_name": "伟", "birthday": "1988-04-12",
            "phones": [{"number": "13812345678"}]}),
        )
        .await;
    assert_eq!(zhang["possible_duplicates"], json!([]));
    let zhang_id = zhang["id"].as_str().unwrap().to_string();
    // The same person typed in Latin letters on another day: the pinyin
    // reading and the birthday agree.
    let latin = app
        .post(
            "/api/v1/guests",
            t,
            json!({"family_name_latin": "Zhang", "given_name_latin": "Wei", "birthday": "1988-04-12"}),
        )
        .await;
    latin.assert_status(201);
    assert_eq!(latin.header("x-possible-duplicates").as_deref(), Some("1"));
    let found = &latin.body["possible_duplicates"][0];
    assert_eq!(found["guest_id"], zhang_id.as_str());
    let reasons: Vec<&str> = found["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"same_birthday"), "{reasons:?}");
    assert!(found["score"].as_u64().unwrap() >= 80);
    let latin_id = latin.body["id"].as_str().unwrap().to_string();

    // Same name, other birthday: two people.
    let other = app
        .create_guest(
            t,
            json!({"family_name": "张", "given_name": "伟", "birthday": "1990-01-01"}),
        )
        .await;
    assert_eq!(other["possible_duplicates"], json!([]));

    // Refusing duplicates creates nothing when one is found.
    let before = app.get("/api/v1/guests?limit=200", t).await.body["data"]
        .as_array()
        .unwrap()
        .len();
    app.post(
        "/api/v1/guests?on_duplicate=reject",
        t,
        json!({"family_name": "张", "given_name": "伟", "phones": [{"number": "+86 138 1234 5678"}]}),
    )
    .await
    .assert_problem(409, "possible_duplicate");
    let after = app.get("/api/v1/guests?limit=200", t).await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    app.post(
        "/api/v1/guests?on_duplicate=maybe",
        t,
        json!({"family_name": "李"}),
    )
    .await
    .assert_problem(400, "invalid_parameter");

    // The creation check already recorded the pair; the scan finds it too.
    let pairs = open_candidates(&app).await;
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let mut ids = vec![zhang_id.clone(), latin_id.clone()];
    ids.sort();
    assert_eq!(pairs[0]["guest_ids"], json!(ids));
    run(&app, Job::DuplicateScanFull).await;
    let pairs = open_candidates(&app).await;
    assert_eq!(pairs.len(), 1);

    // Dismissed: later scans leave it alone.
    let id = pairs[0]["id"].as_str().unwrap();
    let (_, marketing) = app.user_with_role("marketing").await;
    app.post(
        &format!("/api/v1/duplicate-candidates/{id}/dismiss"),
        &marketing,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    let d = app
        .post(
            &format!("/api/v1/duplicate-candidates/{id}/dismiss"),
            t,
            json!({}),
        )
        .await;
    assert_eq!(d.assert_status(200)["status"], "dismissed");
    run(&app, Job::DuplicateScanFull).await;
    assert!(open_candidates(&app).await.is_empty());

    // Another organisation sees nothing of it.
    let rival = app.other_organization_admin().await;
    let theirs = app.get("/api/v1/duplicate-candidates", &rival).await;
    assert_eq!(theirs.assert_status(200)["data"], json!([]));
    app.post(
        &format!("/api/v1/duplicate-candidates/{id}/dismiss"),
        &rival,
        json!({}),
    )
    .await
    .assert_problem(404, "candidate_not_found");
    app.get("/api/v1/duplicate-candidates?cursor=junk", t)
        .await
        .assert_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn merge_moves_everything_and_unmerge_puts_it_back() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let h = hotel(&app, 10).await;
    programme(&app).await;
    // The loser: a booking guest (by phone) with a stay, points, a consent,
    // a tag and a complaint.
    let (_, _) = stay(&app, &h, "13900000001", 2, 91600, 0).await;
    let loser = app.get("/api/v1/guests?q=13900000001", t).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Enrolled after the stay: no points from it, so give some.
    enrol(&app, &loser).await;
    app.post(
        &format!("/api/v1/guests/{loser}/points/adjustments"),
        t,
        json!({"points": 300, "reason": "migrated balance"}),
    )
    .await
    .assert_status(201);
    app.patch(
        &format!("/api/v1/guests/{loser}"),
        t,
        json!({"company": "Acme Trading", "tags": ["vip"], "emails": [{"address": "zw@example.com"}]}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/guests/{loser}/consents"),
        t,
        json!({"purpose": "marketing", "channel": "email", "status": "withdrawn", "source": "app"}),
    )
    .await
    .assert_status(201);
    let ticket = app
        .post(
            "/api/v1/tickets",
            t,
            json!({"kind": "complaint", "category": "hardware", "severity": "low", "channel": "front_desk",
                "property_id": h.property_id, "guest_id": loser, "subject": "Noisy room", "description": "Next door."}),
        )
        .await;
    let ticket_id = ticket.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The survivor: the desk's profile of the same person, a member too.
    let survivor = app
        .create_guest(
            t,
            json!({"family_name": "张", "given_name": "伟", "company": "Acme",
            "phones": [{"number": "13900000002"}], "tags": ["business"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    enrol(&app, &survivor).await;
    app.post(
        &format!("/api/v1/guests/{survivor}/points/adjustments"),
        t,
        json!({"points": 100, "reason": "welcome"}),
    )
    .await
    .assert_status(201);
    // The most recent consent per purpose wins: the survivor's later grant.
    app.post(
        &format!("/api/v1/guests/{survivor}/consents"),
        t,
        json!({"purpose": "marketing", "channel": "email", "status": "granted", "source": "app"}),
    )
    .await
    .assert_status(201);
    let survivor_before = app.get(&format!("/api/v1/guests/{survivor}"), t).await;

    // Preview: sources, the conflict, what would move; nothing changes.
    let p = app
        .post(
            &format!("/api/v1/guests/{survivor}/merge/preview"),
            t,
            json!({"other_guest_id": loser}),
        )
        .await;
    let p = p.assert_status(200).clone();
    assert_eq!(p["conflicts"], json!(["company"]));
    let field = |name: &str| {
        p["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(field("company")["merged"], "Acme");
    assert_eq!(field("emails")["source"], "other");
    assert_eq!(field("tags")["source"], "combined");
    assert_eq!(p["moves"]["stays"], 1);
    assert_eq!(p["moves"]["reservations"], 1);
    assert_eq!(p["moves"]["tickets"], 1);
    assert_eq!(p["moves"]["membership"], "folded");
    assert_eq!(p["moves"]["points"], 300);
    assert_eq!(balance(&app, &loser).await["available"], 300);

    // Bad requests change nothing.
    app.post(
        &format!("/api/v1/guests/{survivor}/merge"),
        t,
        json!({"other_guest_id": survivor}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        &format!("/api/v1/guests/{survivor}/merge"),
        t,
        json!({"other_guest_id": loser, "choices": {"birthday": "other"}}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        &format!("/api/v1/guests/{survivor}/merge"),
        &desk,
        json!({"other_guest_id": loser}),
    )
    .await
    .assert_problem(403, "forbidden");
    let rival = app.other_organization_admin().await;
    app.post(
        &format!("/api/v1/guests/{survivor}/merge"),
        &rival,
        json!({"other_guest_id": loser}),
    )
    .await
    .assert_problem(404, "guest_not_found");
    app.send(
        reqwest::Method::POST,
        &format!("/api/v1/guests/{survivor}/merge"),
        Some(t),
        Some(json!({"other_guest_id": loser})),
        &[("If-Match", "\"999\"")],
    )
    .await
    .assert_problem(412, "version_conflict");

    let merged = app
        .post(
            &format!("/api/v1/guests/{survivor}/merge"),
            t,
            json!({"other_guest_id": loser, "choices": {"company": "other"}, "other_version": p["other_version"]}),
        )
        .await;
    let merged = merged.assert_status(200).clone();
    assert_eq!(merged["company"], "Acme Trading");
    assert_eq!(merged["tags"], json!(["business", "vip"]));
    assert_eq!(merged["emails"][0]["address"], "zw@example.com");
    assert_eq!(merged["phones"].as_array().unwrap().len(), 2);

    // The loser is a tombstone: it resolves, points at the survivor, is not
    // listed or searchable, and cannot be changed.
    let tomb = app.get(&format!("/api/v1/guests/{loser}"), t).await;
    assert_eq!(tomb.assert_status(200)["merged_into"], survivor.as_str());
    let found = app.get("/api/v1/guests?q=13900000001", t).await;
    let ids: Vec<&str> = found.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![survivor.as_str()]);
    app.patch(&format!("/api/v1/guests/{loser}"), t, json!({"notes": "x"}))
        .await
        .assert_problem(409, "guest_merged");

    // What moved.
    let stays = app
        .get(&format!("/api/v1/guests/{survivor}/stays"), t)
        .await;
    assert_eq!(stays.body["data"].as_array().unwrap().len(), 1);
    let stats = app
        .get(&format!("/api/v1/guests/{survivor}/stay-statistics"), t)
        .await;
    assert_eq!(stats.assert_status(200)["stays"], 1);
    assert_eq!(balance(&app, &survivor).await["available"], 400);
    let ticket = app.get(&format!("/api/v1/tickets/{ticket_id}"), t).await;
    assert_eq!(ticket.body["guest_id"], survivor.as_str());
    let consents = app
        .get(&format!("/api/v1/guests/{survivor}/consents"), t)
        .await;
    let email = consents.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "email")
        .unwrap()
        .clone();
    assert_eq!(email["status"], "granted");
    let history = app
        .get(&format!("/api/v1/guests/{survivor}/merges"), t)
        .await;
    assert_eq!(history.assert_status(200)[0]["status"], "merged");
    assert_eq!(history.body[0]["moved"]["points"], 300);
    let audit = app
        .get(&format!("/api/v1/audit-events?entity_id={survivor}"), t)
        .await;
    assert!(audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "guest.merged"));
    // Merging the tombstone again is refused.
    app.post(
        &format!("/api/v1/guests/{survivor}/merge"),
        t,
        json!({"other_guest_id": loser}),
    )
    .await
    .assert_problem(409, "guest_merged");

    // Unmerge: both as they were, each with their own again.
    let undone = app
        .post(&format!("/api/v1/guests/{survivor}/unmerge"), t, json!({}))
        .await;
    assert_eq!(undone.assert_status(200)["status"], "unmerged");
    let back = app.get(&format!("/api/v1/guests/{loser}"), t).await;
    assert_eq!(back.assert_status(200)["merged_into"], Value::Null);
    assert_eq!(back.body["company"], "Acme Trading");
    let s = app.get(&format!("/api/v1/guests/{survivor}"), t).await;
    assert_eq!(s.body["company"], survivor_before.body["company"]);
    assert_eq!(s.body["tags"], survivor_before.body["tags"]);
    assert_eq!(balance(&app, &survivor).await["available"], 100);
    assert_eq!(balance(&app, &loser).await["available"], 300);
    let stays = app.get(&format!("/api/v1/guests/{loser}/stays"), t).await;
    assert_eq!(stays.body["data"].as_array().unwrap().len(), 1);
    let ticket = app.get(&format!("/api/v1/tickets/{ticket_id}"), t).await;
    assert_eq!(ticket.body["guest_id"], loser.as_str());
    app.post(&format!("/api/v1/guests/{survivor}/unmerge"), t, json!({}))
        .await
        .assert_problem(409, "no_merge");

    // Merged again, then the survivor's profile changes: no unmerge.
    app.post(
        &format!("/api/v1/guests/{survivor}/merge"),
        t,
        json!({"other_guest_id": loser}),
    )
    .await
    .assert_status(200);
    app.patch(
        &format!("/api/v1/guests/{survivor}"),
        t,
        json!({"notes": "prefers high floors"}),
    )
    .await
    .assert_status(200);
    let refused = app
        .post(&format!("/api/v1/guests/{survivor}/unmerge"), t, json!({}))
        .await;
    refused.assert_problem(409, "merge_not_latest");
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("profile changed"));

    // Erasing the person erases the profile merged into it too, and the
    // merge can no longer be undone.
    app.post(&format!("/api/v1/guests/{survivor}/erase"), t, json!({}))
        .await
        .assert_status(200);
    let tomb = app.get(&format!("/api/v1/guests/{loser}"), t).await;
    assert_eq!(tomb.body["company"], Value::Null);
    assert_eq!(tomb.body["phones"], json!([]));
    assert!(tomb.body["erased_at"].is_string());
    assert_eq!(tomb.body["merged_into"], survivor.as_str());
    let history = app
        .get(&format!("/api/v1/guests/{survivor}/merges"), t)
        .await;
    assert_eq!(history.body[0]["reversible"], false);
}

#[tokio::test]
async fn unmerge_is_refused_once_points_moved_on_and_retention_anonymises_the_stale() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    programme(&app).await;
    let a = app
        .create_guest(
            t,
            json!({"family_name": "王", "given_name": "芳", "phones": [{"number": "13700000001"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app
        .create_guest(
            t,
            json!({"family_name": "王", "given_name": "芳", "phones": [{"number": "13700000002"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    enrol(&app, &a).await;
    enrol(&app, &b).await;
    app.post(
        &format!("/api/v1/guests/{b}/points/adjustments"),
        t,
        json!({"points": 50, "reason": "x"}),
    )
    .await
    .assert_status(201);
    app.post(
        &format!("/api/v1/guests/{a}/merge"),
        t,
        json!({"other_guest_id": b}),
    )
    .await
    .assert_status(200);
    // Points spent after the merge: the ledger cannot be split back.
    app.post(
        &format!("/api/v1/guests/{a}/points/adjustments"),
        t,
        json!({"points": -10, "reason": "correction"}),
    )
    .await
    .assert_status(201);
    let r = app
        .post(&format!("/api/v1/guests/{a}/unmerge"), t, json!({}))
        .await;
    r.assert_problem(409, "merge_not_latest");
    assert!(r.body["detail"].as_str().unwrap().contains("ledger"));

    // Retention: a dry run reports, changes nothing; the real run
    // anonymises; no policy is a 409; only admins.
    app.post("/api/v1/retention-policy/run", t, json!({}))
        .await
        .assert_problem(409, "no_retention_policy");
    app.send(
        reqwest::Method::PUT,
        "/api/v1/retention-policy",
        Some(t),
        Some(json!({"enabled": false, "anonymise_after_years": 0})),
        &[],
    )
    .await
    .assert_problem(422, "validation_failed");
    let put = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/retention-policy",
            Some(t),
            Some(json!({"enabled": false, "anonymise_after_years": 2})),
            &[],
        )
        .await;
    assert_eq!(put.assert_status(200)["version"], 1);
    // A guest created three years ago who never stayed.
    let old = app
        .create_guest(
            t,
            json!({"family_name": "赵", "given_name": "雷", "phones": [{"number": "13700000009"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    {
        use diesel::RunQueryDsl;
        let mut conn = app.db.connection().unwrap();
        let q = format!("UPDATE guests SET created_at = '2023-01-01 00:00:00' WHERE id = '{old}'");
        diesel::sql_query(q).execute(&mut *conn).unwrap();
    }
    let dry = app
        .post("/api/v1/retention-policy/run", t, json!({"dry_run": true}))
        .await;
    assert_eq!(dry.assert_status(200)["matched"], 1);
    assert_eq!(dry.body["sample_guest_ids"], json!([old]));
    assert_eq!(dry.body["anonymised"], 0);
    let still = app.get(&format!("/api/v1/guests/{old}"), t).await;
    assert_eq!(still.body["family_name"], "赵");
    let (_, manager) = app.user_with_role("manager").await;
    app.post(
        "/api/v1/retention-policy/run",
        &manager,
        json!({"dry_run": false}),
    )
    .await
    .assert_problem(403, "forbidden");
    let real = app
        .post("/api/v1/retention-policy/run", t, json!({"dry_run": false}))
        .await;
    assert_eq!(real.assert_status(200)["anonymised"], 1);
    let gone = app.get(&format!("/api/v1/guests/{old}"), t).await;
    assert_eq!(gone.body["family_name"], Value::Null);
    assert!(gone.body["erased_at"].is_string());
    let policy = app.get("/api/v1/retention-policy", t).await;
    assert_eq!(policy.body["last_run_count"], 1);
}
