use crm_tests::*;
use diesel::prelude::*;
use serde_json::{json, Value};

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::Text)]
    number_encrypted: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    number_hash: String,
}

#[tokio::test]
async fn identity_documents_are_encrypted_masked_and_audited_when_read() {
    let app = spawn_app().await;
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "张", "given_name": "伟"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/guests/{gid}/identity-documents");
    let res = app
        .post(&base, &app.admin_token, json!({"type": "national_id", "number": "110105 19491231 002x", "issuing_country": "CN", "expires_on": "2036-05-01"}))
        .await;
    let doc = res.assert_status(201).clone();
    assert_eq!(doc["number_masked"], "110***********002X");
    assert!(doc.get("number").is_none());
    let doc_id = doc["id"].as_str().unwrap().to_string();

    // At rest: ciphertext and a keyed hash, never the number.
    let rows: Vec<Stored> = app
        .db
        .read(|conn| {
            Ok(diesel::sql_query(
                "SELECT number_encrypted, number_hash FROM guest_identity_documents",
            )
            .load(conn)?)
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].number_encrypted.contains("11010519491231002X"));
    assert!(!rows[0].number_hash.contains("11010519491231002X"));

    // A bad check digit, a duplicate.
    app.post(
        &base,
        &app.admin_token,
        json!({"type": "national_id", "number": "110105194912310021", "issuing_country": "CN"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        &base,
        &app.admin_token,
        json!({"type": "national_id", "number": "11010519491231002X", "issuing_country": "CN"}),
    )
    .await
    .assert_problem(409, "identity_document_exists");

    // Marketing sees masked numbers only.
    let (_, marketing) = app.user_with_role("marketing").await;
    let listed = app.get(&base, &marketing).await;
    assert_eq!(
        listed.assert_status(200)["data"][0]["number_masked"],
        "110***********002X"
    );
    app.get(&format!("{base}/{doc_id}"), &marketing)
        .await
        .assert_problem(403, "forbidden");

    // The desk reads the full number, and the read is audited.
    let (desk_id, desk) = app.user_with_role("front_desk").await;
    let full = app.get(&format!("{base}/{doc_id}"), &desk).await;
    assert_eq!(full.assert_status(200)["number"], "11010519491231002X");
    let request_id = full.header("x-request-id").unwrap();
    let audit = app
        .get(
            &format!("/api/v1/audit-events?action=identity_document.read&entity_id={doc_id}"),
            &app.admin_token,
        )
        .await;
    let events = audit.assert_status(200)["data"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], desk_id.as_str());
    assert_eq!(events[0]["request_id"], request_id.as_str());

    // Exact-number search through the keyed hash, in any spacing.
    let found = app
        .get(
            "/api/v1/guests?document_number=11010519491231002x",
            &app.admin_token,
        )
        .await;
    assert_eq!(found.body["data"][0]["id"], gid.as_str());
    let none = app
        .get("/api/v1/guests?document_number=E99999999", &app.admin_token)
        .await;
    assert!(none.body["data"].as_array().unwrap().is_empty());

    app.delete(&format!("{base}/{doc_id}"), &app.admin_token)
        .await
        .assert_status(204);
    app.get(&format!("{base}/{doc_id}"), &desk)
        .await
        .assert_problem(404, "identity_document_not_found");
}

#[tokio::test]
async fn consents_keep_history_and_the_latest_wins() {
    let app = spawn_app().await;
    let g = app
        .create_guest(&app.admin_token, json!({"family_name": "李"}))
        .await;
    let base = format!("/api/v1/guests/{}/consents", g["id"].as_str().unwrap());
    app.post(
        &base,
        &app.admin_token,
        json!({"purpose": "marketing", "status": "granted", "source": "website"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        &base,
        &app.admin_token,
        json!({"purpose": "profiling", "channel": "sms", "status": "granted", "source": "website"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    for (channel, status) in [
        ("sms", "granted"),
        ("email", "granted"),
        ("sms", "withdrawn"),
    ] {
        app.post(&base, &app.admin_token, json!({"purpose": "marketing", "channel": channel, "status": status, "source": "registration_card"}))
            .await
            .assert_status(201);
    }
    let current = app.get(&base, &app.admin_token).await;
    let data = current.assert_status(200)["data"]
        .as_array()
        .unwrap()
        .clone();
    let state: Vec<(String, String)> = data
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        state,
        vec![
            ("email".into(), "granted".into()),
            ("sms".into(), "withdrawn".into())
        ]
    );
    let history = app.get(&format!("{base}/history"), &app.admin_token).await;
    assert_eq!(
        history.assert_status(200)["data"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn export_holds_everything_and_erase_anonymises_irreversibly() {
    let app = spawn_app().await;
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "王", "given_name": "芳", "nationality": "CN", "phones": [{"number": "13700000000"}], "notes": "allergic to cats", "tags": ["vip"]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/guests/{gid}/identity-documents"),
        &app.admin_token,
        json!({"type": "passport", "number": "E12345678", "issuing_country": "CN"}),
    )
    .await
    .assert_status(201);
    app.post(
        &format!("/api/v1/guests/{gid}/consents"),
        &app.admin_token,
        json!({"purpose": "profiling", "status": "granted", "source": "app"}),
    )
    .await
    .assert_status(201);

    let (_, desk) = app.user_with_role("front_desk").await;
    app.get(&format!("/api/v1/guests/{gid}/export"), &desk)
        .await
        .assert_problem(403, "forbidden");
    let export = app
        .get(&format!("/api/v1/guests/{gid}/export"), &app.admin_token)
        .await;
    let e = export.assert_status(200).clone();
    assert_eq!(e["guest"]["given_name"], "芳");
    assert_eq!(e["identity_documents"][0]["number"], "E12345678");
    assert_eq!(e["consents"].as_array().unwrap().len(), 1);
    assert!(e["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ev| ev["action"] == "guest.created"));

    let (_, manager) = app.user_with_role("manager").await;
    app.post(&format!("/api/v1/guests/{gid}/erase"), &manager, json!({}))
        .await
        .assert_problem(403, "forbidden");
    let erased = app
        .post(
            &format!("/api/v1/guests/{gid}/erase"),
            &app.admin_token,
            json!({}),
        )
        .await;
    let body = erased.assert_status(200).clone();
    for field in ["family_name", "given_name", "notes", "birthday", "company"] {
        assert_eq!(body[field], Value::Null, "{field} erased");
    }
    assert_eq!(body["phones"], json!([]));
    assert_eq!(body["tags"], json!([]));
    assert_eq!(body["nationality"], "CN", "kept as a statistic");
    assert!(body["erased_at"].is_string());
    assert!(app
        .get("/api/v1/guests?q=wangfang", &app.admin_token)
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .is_empty());
    let docs = app
        .get(
            &format!("/api/v1/guests/{gid}/identity-documents"),
            &app.admin_token,
        )
        .await;
    assert!(docs.body["data"].as_array().unwrap().is_empty());
    app.post(
        &format!("/api/v1/guests/{gid}/erase"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "guest_already_erased");
    app.patch(
        &format!("/api/v1/guests/{gid}"),
        &app.admin_token,
        json!({"family_name": "王"}),
    )
    .await
    .assert_problem(409, "guest_erased");
    let audit = app
        .get(
            &format!("/api/v1/audit-events?entity_id={gid}&action=guest.erased"),
            &app.admin_token,
        )
        .await;
    let event = &audit.body["data"][0];
    assert!(event["changed_fields"]
        .as_array()
        .unwrap()
        .contains(&json!("notes")));
    assert!(
        !event.to_string().contains("cats"),
        "the audit log names fields, never values"
    );
}
