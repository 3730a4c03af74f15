//! Accounts, templates, contracts: lifecycle, e-signature and verification,
//! amendments, negotiated rates on bookings, allotment, performance and
//! alerts.

use crate::reservations::{booking, hotel, shanghai_today, Hotel};
use chrono::{Duration, NaiveDate};
use crm_tests::*;
use diesel::prelude::*;
use serde_json::{json, Value};

pub(crate) struct Setup {
    pub(crate) h: Hotel,
    pub(crate) account: String,
    pub(crate) template: String,
    pub(crate) dlk: String,
    bar: String,
}

pub(crate) async fn setup(app: &TestApp) -> Setup {
    let h = hotel(app, 10).await;
    let account = app
        .post(
            "/api/v1/accounts",
            &app.admin_token,
            json!({"kind": "corporate", "legal_name": "上海示例科技有限公司", "tax_id": "91310000ma1fl8xq2k",
                   "contacts": [{"name": "王芳", "role": "行政经理", "phone": "138 1234 5678", "email": "Wang.Fang@Example.com"}]}),
        )
        .await;
    let account = account.assert_status(201).clone();
    assert_eq!(account["tax_id"], "91310000MA1FL8XQ2K");
    assert_eq!(account["contacts"][0]["phone"], "+8613812345678");
    assert_eq!(account["contacts"][0]["email"], "wang.fang@example.com");
    let template = app
        .post(
            "/api/v1/contract-templates",
            &app.admin_token,
            json!({"name": "协议客户合同", "clauses": [
                {"kind": "service_content", "title": "服务内容", "body": "甲方 {{hotel.name}} 为乙方 {{account.legal_name}}（{{account.tax_id}}）在 {{properties}} 提供住宿。"},
                {"kind": "price_terms", "title": "价格条款", "body": "有效期 {{contract.valid_from}} 至 {{contract.valid_to}}：{{rates_table}}"},
                {"kind": "breach_liability", "title": "违约责任", "body": "{{contract.breach_penalty}}"}
            ]}),
        )
        .await;
    let template = template.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/contract-templates/{template}/versions/1/publish"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    let types = app
        .get(
            &format!("/api/v1/properties/{}/room-types", h.property_id),
            &app.admin_token,
        )
        .await;
    let dlk = types.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "DLK")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let plans = app
        .get(
            &format!("/api/v1/properties/{}/rate-plans", h.property_id),
            &app.admin_token,
        )
        .await;
    let bar = plans.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "BAR")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    Setup {
        h,
        account: account["id"].as_str().unwrap().to_string(),
        template,
        dlk,
        bar,
    }
}

pub(crate) fn contract_body(
    s: &Setup,
    code: &str,
    from: NaiveDate,
    to: NaiveDate,
    extra: Value,
) -> Value {
    let mut body = json!({
        "code": code, "title": "2027 年度协议", "account_id": s.account, "template_id": s.template,
        "property_ids": [s.h.property_id], "valid_from": from.to_string(), "valid_to": to.to_string(),
        "rates": [{"property_id": s.h.property_id, "room_type_id": s.dlk, "price_per_night": 42800, "breakfast_included": true}],
        "room_night_commitment": 100, "allotment_per_night": 2,
        "breach_penalty": "未达承诺间夜数 80% 时按差额计收违约金"
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

fn sign(party: &str, name: &str) -> Value {
    json!({"party": party, "signer_name": name, "signer_title": "总监",
           "consent_text": "本人同意以电子方式签署本合同。", "agreed": true})
}

/// A contract signed by both parties (and active, if asked).
pub(crate) async fn signed_contract(
    app: &TestApp,
    s: &Setup,
    body: Value,
    activate: bool,
) -> String {
    let c = app.post("/api/v1/contracts", &app.admin_token, body).await;
    let id = c.assert_status(201)["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/contracts/{id}");
    app.post(&format!("{base}/submit"), &app.admin_token, json!({}))
        .await
        .assert_status(200);
    for (party, name) in [("hotel", "陈经理"), ("counterparty", "李明")] {
        app.post(&format!("{base}/sign"), &app.admin_token, sign(party, name))
            .await
            .assert_status(200);
    }
    if activate {
        app.post(&format!("{base}/activate"), &app.admin_token, json!({}))
            .await
            .assert_status(200);
    }
    let _ = s;
    id
}

#[tokio::test]
async fn templates_reject_unknown_variables_and_freeze_when_published() {
    let app = spawn_app().await;
    let bad = app
        .post(
            "/api/v1/contract-templates",
            &app.admin_token,
            json!({"name": "x", "clauses": [
                {"kind": "other", "title": "ok", "body": "{{account.legal_name}}"},
                {"kind": "other", "title": "typo", "body": "Dear {{account.nickname}}"},
                {"kind": "other", "title": "open", "body": "Dear {{account.legal_name"}
            ]}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<(String, String)> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        fields.contains(&("clauses[1].body".into(), "unknown_variable".into())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("clauses[2].body".into(), "invalid_template".into())),
        "{fields:?}"
    );
    let count: i64 = app
        .db
        .read(|conn| {
            Ok(crm_storage::schema::contract_templates::table
                .count()
                .get_result(conn)?)
        })
        .unwrap();
    assert_eq!(count, 0, "nothing written");

    let s = setup(&app).await;
    let v1 = format!("/api/v1/contract-templates/{}/versions/1", s.template);
    app.send(
        reqwest::Method::PATCH,
        &v1,
        Some(&app.admin_token),
        Some(json!({"clauses": [{"kind": "other", "title": "t", "body": "b"}]})),
        &[],
    )
    .await
    .assert_problem(409, "template_version_published");
    let v2 = app
        .post(
            &format!("/api/v1/contract-templates/{}/versions", s.template),
            &app.admin_token,
            json!({}),
        )
        .await;
    let v2 = v2.assert_status(201).clone();
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["status"], "draft");
    assert_eq!(v2["clauses"].as_array().unwrap().len(), 3, "copied from v1");
    app.post(
        &format!("/api/v1/contract-templates/{}/versions", s.template),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "template_draft_exists");
    let t = app
        .get(
            &format!("/api/v1/contract-templates/{}", s.template),
            &app.admin_token,
        )
        .await;
    assert_eq!(t.assert_status(200)["latest_published"], 1);
    let vars = app
        .get("/api/v1/contract-templates/variables", &app.admin_token)
        .await;
    assert!(vars
        .assert_status(200)
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "rates_table"));
    // A contract cannot use a draft version.
    let today = shanghai_today();
    let mut body = contract_body(
        &s,
        "DRAFT-TPL",
        today,
        today + Duration::days(300),
        json!({}),
    );
    body["template_version"] = json!(2);
    app.post("/api/v1/contracts", &app.admin_token, body)
        .await
        .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn a_contract_is_signed_by_both_parties_verified_and_amended() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let today = shanghai_today();
    let c = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            contract_body(
                &s,
                "corp-acme-2027",
                today - Duration::days(10),
                today + Duration::days(355),
                json!({}),
            ),
        )
        .await;
    let c = c.assert_status(201).clone();
    assert_eq!(c["code"], "CORP-ACME-2027");
    assert_eq!(c["status"], "draft");
    assert_eq!(c["allowed_actions"], json!(["submit", "terminate"]));
    let id = c["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/contracts/{id}");
    app.post(
        "/api/v1/contracts",
        &app.admin_token,
        contract_body(
            &s,
            "CORP-ACME-2027",
            today,
            today + Duration::days(30),
            json!({}),
        ),
    )
    .await
    .assert_problem(409, "contract_code_taken");

    let doc = app.get(&format!("{base}/document"), &app.admin_token).await;
    assert_eq!(doc.status.as_u16(), 200);
    let html = doc.body.as_str().unwrap().to_string();
    assert!(html.contains("上海示例科技有限公司") && html.contains("91310000MA1FL8XQ2K"));
    assert!(html.contains("428.00 CNY"), "the rates table is rendered");
    assert!(html.contains("未达承诺间夜数"));
    let hash = doc.header("x-document-sha256").unwrap();
    assert_eq!(hash.len(), 64);

    let wrong = app
        .post(&format!("{base}/activate"), &app.admin_token, json!({}))
        .await;
    wrong.assert_problem(409, "invalid_status_transition");
    assert_eq!(
        wrong.body["allowed_actions"],
        json!(["submit", "terminate"])
    );
    app.patch(
        &base,
        &app.admin_token,
        json!({"title": "2027 年度协议（修订）"}),
    )
    .await
    .assert_status(200);
    app.post(&format!("{base}/submit"), &app.admin_token, json!({}))
        .await
        .assert_status(200);
    app.patch(&base, &app.admin_token, json!({"title": "too late"}))
        .await
        .assert_problem(409, "contract_not_editable");

    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(&format!("{base}/sign"), &desk, sign("hotel", "x"))
        .await
        .assert_problem(403, "forbidden");
    let shown = app.get(&format!("{base}/document"), &app.admin_token).await;
    let shown_hash = shown.header("x-document-sha256").unwrap();
    let mut stale = sign("hotel", "陈经理");
    stale["document_sha256"] = json!("0".repeat(64));
    app.post(&format!("{base}/sign"), &app.admin_token, stale)
        .await
        .assert_problem(409, "document_changed");
    let mut hotel_sig = sign("hotel", "陈经理");
    hotel_sig["document_sha256"] = json!(shown_hash);
    let after_hotel = app
        .send(
            reqwest::Method::POST,
            &format!("{base}/sign"),
            Some(&app.admin_token),
            Some(hotel_sig),
            &[("user-agent", "HotelTablet/1.0")],
        )
        .await;
    let after_hotel = after_hotel.assert_status(200).clone();
    assert_eq!(after_hotel["status"], "pending_signature");
    let sig = &after_hotel["terms"]["signatures"][0];
    assert_eq!(sig["party"], "hotel");
    assert_eq!(sig["user_agent"], "HotelTablet/1.0");
    assert_eq!(sig["ip"], "127.0.0.1");
    assert_eq!(sig["document_sha256"], shown_hash.as_str());
    app.post(
        &format!("{base}/sign"),
        &app.admin_token,
        sign("hotel", "again"),
    )
    .await
    .assert_problem(409, "already_signed");
    let mut no_consent = sign("counterparty", "李明");
    no_consent["agreed"] = json!(false);
    app.post(&format!("{base}/sign"), &app.admin_token, no_consent)
        .await
        .assert_problem(422, "validation_failed");
    let signed = app
        .post(
            &format!("{base}/sign"),
            &app.admin_token,
            sign("counterparty", "李明"),
        )
        .await;
    let signed = signed.assert_status(200).clone();
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["terms"]["status"], "signed");

    let verify = app.get(&format!("{base}/verify"), &app.admin_token).await;
    let verify = verify.assert_status(200).clone();
    assert_eq!(verify["unchanged"], true, "{verify}");
    assert_eq!(verify["archive"]["intact"], true);
    assert_eq!(verify["current_sha256"], shown_hash.as_str());

    let pdf = app
        .http
        .get(app.url(&format!("{base}/signed-document")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(
        pdf.headers()["x-document-sha256"].to_str().unwrap(),
        shown_hash
    );
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));

    // The archive cannot be rewritten, even with SQL.
    let tamper = app.db.write(|conn| {
        Ok(
            diesel::sql_query("UPDATE contract_documents SET pdf_sha256 = 'forged'")
                .execute(conn)?,
        )
    });
    assert!(
        tamper.is_err(),
        "the database refuses to change a signed document"
    );

    // Renaming the account changes the rendered document: verify says so.
    let account_path = format!("/api/v1/accounts/{}", s.account);
    app.patch(
        &account_path,
        &app.admin_token,
        json!({"legal_name": "上海示例集团有限公司"}),
    )
    .await
    .assert_status(200);
    let verify = app.get(&format!("{base}/verify"), &app.admin_token).await;
    let verify = verify.assert_status(200).clone();
    assert_eq!(verify["unchanged"], false);
    assert_ne!(verify["current_sha256"], shown_hash.as_str());
    assert_eq!(
        verify["archive"]["intact"], true,
        "the signed copy is what it was"
    );
    app.patch(
        &account_path,
        &app.admin_token,
        json!({"legal_name": "上海示例科技有限公司"}),
    )
    .await
    .assert_status(200);

    // After signing, changes are amendments.
    app.patch(&base, &app.admin_token, json!({"title": "x"}))
        .await
        .assert_problem(409, "contract_not_editable");
    app.post(&format!("{base}/activate"), &app.admin_token, json!({}))
        .await
        .assert_status(200);
    let amended = app
        .post(
            &format!("{base}/amendments"),
            &app.admin_token,
            json!({"reason": "2027 下半年调价", "changes": {"rates": [{"property_id": s.h.property_id, "room_type_id": s.dlk, "rate_plan_id": s.bar, "price_per_night": 39800}]}}),
        )
        .await;
    let amended = amended.assert_status(201).clone();
    assert_eq!(
        amended["current_version"], 1,
        "v1 stays in force until signed"
    );
    assert_eq!(amended["pending_amendment"]["number"], 2);
    assert_eq!(
        amended["terms"]["rates"][0]["price_per_night"]["amount"],
        42800
    );
    app.post(
        &format!("{base}/amendments"),
        &app.admin_token,
        json!({"reason": "again", "changes": {}}),
    )
    .await
    .assert_problem(409, "amendment_pending");
    for (party, name) in [("hotel", "陈经理"), ("counterparty", "李明")] {
        app.post(&format!("{base}/sign"), &app.admin_token, sign(party, name))
            .await
            .assert_status(200);
    }
    let now = app.get(&base, &app.admin_token).await;
    let now = now.assert_status(200).clone();
    assert_eq!(now["status"], "active");
    assert_eq!(now["current_version"], 2);
    assert_eq!(now["terms"]["rates"][0]["price_per_night"]["amount"], 39800);
    assert_eq!(now["terms"]["rates"][0]["rate_plan_id"], s.bar.as_str());
    assert_eq!(now["terms"]["amendment_reason"], "2027 下半年调价");
    assert!(now["pending_amendment"].is_null());
    let versions = app.get(&format!("{base}/versions"), &app.admin_token).await;
    let versions = versions.assert_status(200).as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0]["rates"][0]["price_per_night"]["amount"], 42800,
        "history kept"
    );
    assert_eq!(versions[0]["signatures"].as_array().unwrap().len(), 2);
    let v1_pdf = app
        .http
        .get(app.url(&format!("{base}/signed-document?version=1")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(v1_pdf.status().as_u16(), 200);

    app.post(
        &format!("{base}/terminate"),
        &app.admin_token,
        json!({"reason": " "}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let ended = app
        .post(
            &format!("{base}/terminate"),
            &app.admin_token,
            json!({"reason": "客户倒闭"}),
        )
        .await;
    assert_eq!(ended.assert_status(200)["status"], "terminated");
    assert_eq!(ended.body["terminated_reason"], "客户倒闭");
    assert_eq!(ended.body["allowed_actions"], json!([]));
}

#[tokio::test]
async fn bookings_quoting_a_contract_get_its_rate_validity_and_allotment() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let today = shanghai_today();
    let id = signed_contract(
        &app,
        &s,
        contract_body(
            &s,
            "CORP-1",
            today - Duration::days(5),
            today + Duration::days(60),
            json!({}),
        ),
        true,
    )
    .await;
    let arrival = today + Duration::days(20);
    let quote = |phone: &str, nights: i64, amount: Option<i64>| {
        let mut b = booking(&s.h, "DLK", "BAR", arrival, nights, phone);
        b["contract_code"] = json!("corp-1");
        match amount {
            Some(a) => b["rooms"][0]["amount"] = json!(a),
            None => {
                b["rooms"][0].as_object_mut().unwrap().remove("amount");
            }
        }
        b
    };
    let r = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            quote("13800000101", 2, None),
        )
        .await;
    let r = r.assert_status(201).clone();
    assert_eq!(r["rooms"][0]["amount"]["amount"], 85600, "2 × 428.00");
    assert_eq!(r["rooms"][0]["negotiated_amount"]["amount"], 85600);
    assert_eq!(r["contract_id"], id.as_str());
    assert_eq!(r["account_id"], s.account.as_str());
    // A stay at another price is kept, and counted as off-rate.
    let off = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            quote("13800000102", 1, Some(50000)),
        )
        .await;
    let off = off.assert_status(201).clone();
    assert_eq!(off["rooms"][0]["amount"]["amount"], 50000);
    assert_eq!(off["rooms"][0]["negotiated_amount"]["amount"], 42800);
    // The allotment is 2 rooms a night: the first night now has both.
    let third = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            quote("13800000103", 1, None),
        )
        .await;
    third.assert_problem(409, "allotment_exhausted");
    assert_eq!(third.body["nights"], json!([arrival.to_string()]));
    // Outside the validity, another property, unknown or inactive codes.
    let mut late = booking(
        &s.h,
        "DLK",
        "BAR",
        today + Duration::days(60),
        2,
        "13800000104",
    );
    late["contract_code"] = json!("CORP-1");
    app.post("/api/v1/reservations", &app.admin_token, late)
        .await
        .assert_problem(422, "validation_failed");
    let mut unknown = booking(&s.h, "DLK", "BAR", arrival, 1, "13800000105");
    unknown["contract_code"] = json!("NOPE");
    let u = app
        .post("/api/v1/reservations", &app.admin_token, unknown)
        .await;
    u.assert_problem(422, "validation_failed");
    assert_eq!(u.body["errors"][0]["code"], "unknown_contract");
    let other_property = app
        .post("/api/v1/properties", &app.admin_token, json!({"code": "PEK", "name": "Beijing", "time_zone": "Asia/Shanghai", "currency": "CNY", "country": "CN"}))
        .await;
    let other_property = other_property.body["id"].as_str().unwrap().to_string();
    let mut elsewhere = booking(&s.h, "DLK", "BAR", arrival, 1, "13800000106");
    elsewhere["property_id"] = json!(other_property);
    elsewhere["contract_code"] = json!("CORP-1");
    let e = app
        .post("/api/v1/reservations", &app.admin_token, elsewhere)
        .await;
    assert_eq!(e.status.as_u16(), 422, "{}", e.body);
    // No rate for TWN: the amount must be given.
    let mut twin = booking(
        &s.h,
        "TWN",
        "BAR",
        arrival + Duration::days(5),
        1,
        "13800000107",
    );
    twin["contract_code"] = json!("CORP-1");
    twin["rooms"][0].as_object_mut().unwrap().remove("amount");
    let t = app
        .post("/api/v1/reservations", &app.admin_token, twin)
        .await;
    t.assert_problem(422, "validation_failed");
    assert_eq!(t.body["errors"][0]["field"], "rooms[0].amount");

    // Cancelling gives the allotment back.
    let off_id = off["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/reservations/{off_id}/cancel"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    let again = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            quote("13800000108", 1, Some(45000)),
        )
        .await;
    again.assert_status(201);

    // A signed but not yet active contract prices nothing.
    let pending = signed_contract(
        &app,
        &s,
        contract_body(&s, "CORP-2", today, today + Duration::days(60), json!({})),
        false,
    )
    .await;
    let mut b = booking(&s.h, "DLK", "BAR", arrival, 1, "13800000109");
    b["contract_code"] = json!("CORP-2");
    app.post("/api/v1/reservations", &app.admin_token, b)
        .await
        .assert_problem(409, "contract_not_active");
    let _ = pending;

    // Performance: 2 + 1 room-nights on the books, one of them off-rate
    // (50000 was cancelled, 45000 is the off-rate one), one cancellation.
    let (_, desk) = app.user_with_role("front_desk").await;
    let perf = app
        .get(
            &format!("/api/v1/contracts/{id}/performance"),
            &app.admin_token,
        )
        .await;
    let perf = perf.assert_status(200).clone();
    assert_eq!(perf["on_the_books_room_nights"], 3, "{perf}");
    assert_eq!(perf["produced_room_nights"], 0);
    assert_eq!(perf["off_rate_room_nights"], 1);
    assert_eq!(perf["cancellations"], 1);
    assert_eq!(perf["committed_room_nights"], 100);
    assert_eq!(perf["on_the_books_revenue"]["amount"], 85600 + 45000);
    let compliance = perf["rate_compliance"].as_f64().unwrap();
    assert!((compliance - 2.0 / 3.0).abs() < 1e-9);
    // A stay from today, checked in and out, is produced.
    let mut tonight = booking(&s.h, "DLK", "BAR", today, 1, "13800000110");
    tonight["contract_code"] = json!("CORP-1");
    tonight["rooms"][0]
        .as_object_mut()
        .unwrap()
        .remove("amount");
    let tonight = app
        .post("/api/v1/reservations", &app.admin_token, tonight)
        .await;
    let stay = tonight.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/reservations/{stay}/check-in"),
        &desk,
        json!({}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/reservations/{stay}/check-out"),
        &desk,
        json!({}),
    )
    .await
    .assert_status(200);
    let perf = app
        .get(
            &format!("/api/v1/contracts/{id}/performance"),
            &app.admin_token,
        )
        .await;
    let perf = perf.assert_status(200).clone();
    assert_eq!(perf["produced_room_nights"], 1, "{perf}");
    assert_eq!(perf["produced_revenue"]["amount"], 42800);
    assert_eq!(perf["on_the_books_room_nights"], 3);
    assert_eq!(perf["pace"]["produced_room_nights"], 1);
    let months = perf["months"].as_array().unwrap();
    assert_eq!(
        months
            .iter()
            .map(|m| m["cancellations"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );
    assert_eq!(
        months
            .iter()
            .map(|m| m["produced_room_nights"].as_i64().unwrap()
                + m["on_the_books_room_nights"].as_i64().unwrap())
            .sum::<i64>(),
        4
    );
}

#[tokio::test]
async fn a_contract_that_warns_keeps_bookings_over_its_allotment() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let today = shanghai_today();
    signed_contract(
        &app,
        &s,
        contract_body(
            &s,
            "AGENCY-1",
            today,
            today + Duration::days(90),
            json!({"allotment_per_night": 1, "enforcement": "warn"}),
        ),
        true,
    )
    .await;
    let arrival = today + Duration::days(10);
    let mut last = Value::Null;
    for phone in ["13800000201", "13800000202"] {
        let mut b = booking(&s.h, "DLK", "BAR", arrival, 1, phone);
        b["contract_code"] = json!("AGENCY-1");
        last = app
            .post("/api/v1/reservations", &app.admin_token, b)
            .await
            .assert_status(201)
            .clone();
    }
    assert!(last["contract_id"].is_string());
    assert_eq!(last["warnings"][0]["code"], "allotment_exhausted", "{last}");
    // And a booking outside the validity is kept too, with a warning.
    let mut late = booking(
        &s.h,
        "DLK",
        "BAR",
        today + Duration::days(95),
        1,
        "13800000203",
    );
    late["contract_code"] = json!("AGENCY-1");
    late["rooms"][0]["amount"] = json!(42800);
    let late = app
        .post("/api/v1/reservations", &app.admin_token, late)
        .await;
    assert_eq!(
        late.assert_status(201)["warnings"][0]["code"],
        "outside_contract_validity"
    );
    // Plain bookings carry no warnings field.
    let plain = app
        .post(
            "/api/v1/reservations",
            &app.admin_token,
            booking(&s.h, "DLK", "BAR", arrival, 1, "13800000204"),
        )
        .await;
    assert!(plain.assert_status(201).get("warnings").is_none());
}

#[tokio::test]
async fn alerts_are_raised_once_per_period_and_the_lifecycle_job_moves_contracts() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let today = shanghai_today();
    // Ends in 20 days, half elapsed with nothing produced, allotment 1.
    let id = signed_contract(
        &app,
        &s,
        contract_body(
            &s,
            "ALERT-1",
            today - Duration::days(200),
            today + Duration::days(20),
            json!({"allotment_per_night": 1, "room_night_commitment": 300}),
        ),
        true,
    )
    .await;
    let mut b = booking(
        &s.h,
        "DLK",
        "BAR",
        today + Duration::days(3),
        1,
        "13800000301",
    );
    b["contract_code"] = json!("ALERT-1");
    b["rooms"][0]["amount"] = json!(30000);
    app.post("/api/v1/reservations", &app.admin_token, b)
        .await
        .assert_status(201);
    let scan = app
        .post("/api/v1/contract-alerts/scan", &app.admin_token, json!({}))
        .await;
    let raised = scan.assert_status(200)["raised"]
        .as_array()
        .unwrap()
        .clone();
    let kinds: Vec<&str> = raised.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    for kind in [
        "expiring",
        "pace_below_threshold",
        "rate_violation",
        "allotment_exhausted",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let expiring = raised.iter().find(|a| a["kind"] == "expiring").unwrap();
    assert_eq!(expiring["period"], "30");
    assert_eq!(expiring["contract_id"], id.as_str());
    let again = app
        .post("/api/v1/contract-alerts/scan", &app.admin_token, json!({}))
        .await;
    assert!(
        again.assert_status(200)["raised"]
            .as_array()
            .unwrap()
            .is_empty(),
        "raised once"
    );
    let list = app
        .get("/api/v1/contract-alerts?status=open", &app.admin_token)
        .await;
    let list = list.assert_status(200)["data"].as_array().unwrap().clone();
    assert_eq!(list.len(), raised.len());
    let alert = list[0]["id"].as_str().unwrap();
    let ack = app
        .post(
            &format!("/api/v1/contract-alerts/{alert}/acknowledge"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(ack.assert_status(200)["status"], "acknowledged");
    let open = app
        .get("/api/v1/contract-alerts?status=open", &app.admin_token)
        .await;
    assert_eq!(
        open.body["data"].as_array().unwrap().len(),
        raised.len() - 1
    );

    // The lifecycle job: a signed contract whose validity began becomes
    // active; an active one past its last day expires.
    let starting = signed_contract(
        &app,
        &s,
        contract_body(&s, "LIFE-1", today, today + Duration::days(30), json!({})),
        false,
    )
    .await;
    let ending = signed_contract(
        &app,
        &s,
        contract_body(
            &s,
            "LIFE-2",
            today - Duration::days(30),
            today - Duration::days(1),
            json!({}),
        ),
        true,
    )
    .await;
    let now = chrono::Utc::now();
    let report =
        crm_api::jobs::run(&app.db, crm_api::jobs::Job::ContractLifecycle, today, now).unwrap();
    assert!(report.changed >= 2, "{report:?}");
    for (id, status) in [(starting, "active"), (ending, "expired")] {
        let c = app
            .get(&format!("/api/v1/contracts/{id}"), &app.admin_token)
            .await;
        assert_eq!(c.assert_status(200)["status"], status);
    }
    let again =
        crm_api::jobs::run(&app.db, crm_api::jobs::Job::ContractLifecycle, today, now).unwrap();
    assert_eq!(again.changed, 0, "nothing more is due");
}

#[tokio::test]
async fn accounts_link_guests_and_other_organisations_see_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "李", "given_name": "明", "phones": [{"number": "13900000001"}]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    let link = format!("/api/v1/accounts/{}/guests", s.account);
    app.post(&link, &app.admin_token, json!({"guest_id": gid}))
        .await
        .assert_status(201);
    app.post(&link, &app.admin_token, json!({"guest_id": gid}))
        .await
        .assert_status(200);
    let linked = app.get(&link, &app.admin_token).await;
    assert_eq!(linked.assert_status(200)["data"][0]["guest_id"], gid);
    app.post(
        &link,
        &app.admin_token,
        json!({"guest_id": "019ab1c2-0000-7000-8000-00000000dead"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/accounts",
        &app.admin_token,
        json!({"kind": "corporate", "legal_name": "Dup", "tax_id": "91310000MA1FL8XQ2K"}),
    )
    .await
    .assert_problem(409, "tax_id_taken");
    app.post("/api/v1/accounts", &app.admin_token, json!({"kind": "corporate", "legal_name": "x", "contacts": [{"name": "a", "email": "not-an-email"}]}))
        .await
        .assert_problem(422, "validation_failed");

    let today = shanghai_today();
    let contract = signed_contract(
        &app,
        &s,
        contract_body(&s, "TEN-1", today, today + Duration::days(30), json!({})),
        true,
    )
    .await;
    let rival = app.other_organization_admin().await;
    for path in [
        format!("/api/v1/accounts/{}", s.account),
        format!("/api/v1/accounts/{}/guests", s.account),
        format!("/api/v1/contract-templates/{}", s.template),
        format!("/api/v1/contract-templates/{}/versions/1", s.template),
        format!("/api/v1/contracts/{contract}"),
        format!("/api/v1/contracts/{contract}/document"),
        format!("/api/v1/contracts/{contract}/verify"),
        format!("/api/v1/contracts/{contract}/performance"),
        format!("/api/v1/contracts/{contract}/signed-document"),
    ] {
        let res = app.get(&path, &rival).await;
        assert_eq!(res.status.as_u16(), 404, "{path}: {}", res.body);
    }
    for (path, body) in [
        (
            format!("/api/v1/contracts/{contract}/terminate"),
            json!({"reason": "mine"}),
        ),
        (
            format!("/api/v1/contracts/{contract}/sign"),
            sign("hotel", "x"),
        ),
        (link.clone(), json!({"guest_id": gid})),
    ] {
        let res = app.post(&path, &rival, body).await;
        assert_eq!(res.status.as_u16(), 404, "{path}: {}", res.body);
    }
    for list in [
        "/api/v1/accounts",
        "/api/v1/contracts",
        "/api/v1/contract-templates",
        "/api/v1/contract-alerts",
    ] {
        let res = app.get(list, &rival).await;
        assert!(
            res.assert_status(200)["data"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{list}"
        );
    }
    // A rival cannot quote our code either.
    let rival_booking = app
        .post(
            "/api/v1/reservations",
            &rival,
            json!({"property_id": s.h.property_id, "channel": "phone", "contract_code": "TEN-1",
            "guest": {"profile": {"family_name": "x"}}, "rooms": []}),
        )
        .await;
    assert!(
        rival_booking.status.as_u16() == 422 || rival_booking.status.as_u16() == 404,
        "{}",
        rival_booking.body
    );
}

#[tokio::test]
async fn both_parties_signing_at_once_sign_the_contract_exactly_once() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let today = shanghai_today();
    let c = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            contract_body(&s, "RACE-1", today, today + Duration::days(30), json!({})),
        )
        .await;
    let id = c.assert_status(201)["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/contracts/{id}");
    app.post(&format!("{base}/submit"), &app.admin_token, json!({}))
        .await
        .assert_status(200);
    let path = format!("{base}/sign");
    let (a, b) = tokio::join!(
        app.post(&path, &app.admin_token, sign("hotel", "陈经理")),
        app.post(&path, &app.admin_token, sign("counterparty", "李明")),
    );
    for (res, party, name) in [(a, "hotel", "陈经理"), (b, "counterparty", "李明")] {
        match res.status.as_u16() {
            200 => {}
            409 => {
                assert_eq!(res.body["code"], "concurrent_signature", "{}", res.body);
                app.post(&path, &app.admin_token, sign(party, name))
                    .await
                    .assert_status(200);
            }
            other => panic!("{other}: {}", res.body),
        }
    }
    let c = app.get(&base, &app.admin_token).await;
    assert_eq!(c.assert_status(200)["status"], "signed", "{}", c.body);
    assert_eq!(c.body["terms"]["signatures"].as_array().unwrap().len(), 2);
    let archived: i64 = app
        .db
        .read(|conn| {
            Ok(crm_storage::schema::contract_documents::table
                .count()
                .get_result(conn)?)
        })
        .unwrap();
    assert_eq!(archived, 1);
}
