use crm_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = spawn_app().await;
    let huge = "x".repeat(1024 * 1024 + 10);
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"family_name": "张", "notes": huge}),
        )
        .await;
    res.assert_problem(413, "payload_too_large");
    // Large but under the limit: an ordinary validation error.
    let big = "x".repeat(5000);
    app.post(
        "/api/v1/guests",
        &app.admin_token,
        json!({"family_name": "张", "notes": big}),
    )
    .await
    .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn the_wrong_content_type_is_415_and_malformed_json_400() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/api/v1/guests"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "text/plain")
        .body("family_name=张")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unsupported_media_type");
    let res = app
        .http
        .post(app.url("/api/v1/guests"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{\"family_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"family_name": "张", "resident": "yes"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "resident");
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"family_name": "张", "phones": [{"number": 138}]}),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "phones[0].number");
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"family_name": "张", "gender": "robot"}),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "gender");
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"family_nmae": "typo"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn unknown_query_parameters_and_routes_are_refused() {
    let app = spawn_app().await;
    app.get("/api/v1/guests?colour=blue", &app.admin_token)
        .await
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/users?limit=1&x=1", &app.admin_token)
        .await
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/no-such-thing", &app.admin_token)
        .await
        .assert_problem(404, "route_not_found");
    app.get("/api/v1/guests/not-a-uuid", &app.admin_token)
        .await
        .assert_problem(404, "guest_not_found");
    app.get(
        "/api/v1/guests/019ab1c2-0000-7000-8000-000000000000",
        &app.admin_token,
    )
    .await
    .assert_problem(404, "guest_not_found");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response() {
    let app = spawn_app().await;
    let body = json!({"family_name": "张", "given_name": "伟"});
    let first = app
        .send(
            Method::POST,
            "/api/v1/guests",
            Some(&app.admin_token),
            Some(body.clone()),
            &[("idempotency-key", "booking-123")],
        )
        .await;
    let created = first.assert_status(201).clone();
    let again = app
        .send(
            Method::POST,
            "/api/v1/guests",
            Some(&app.admin_token),
            Some(body.clone()),
            &[("idempotency-key", "booking-123")],
        )
        .await;
    assert_eq!(again.assert_status(201), &created);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    let other = app
        .send(
            Method::POST,
            "/api/v1/guests",
            Some(&app.admin_token),
            Some(json!({"family_name": "李"})),
            &[("idempotency-key", "booking-123")],
        )
        .await;
    other.assert_problem(422, "idempotency_key_reused");
    let list = app.get("/api/v1/guests", &app.admin_token).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_duplicates_with_one_key_create_one_guest() {
    let app = spawn_app().await;
    let body = json!({"family_name_latin": "Concurrent"});
    let requests = (0..12).map(|_| {
        app.send(
            Method::POST,
            "/api/v1/guests",
            Some(&app.admin_token),
            Some(body.clone()),
            &[("idempotency-key", "same-key")],
        )
    });
    let results = futures_util::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    for r in &results {
        match r.status.as_u16() {
            201 => {
                ids.insert(r.body["id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(r.body["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(ids.len(), 1, "every success is the same guest");
    let list = app
        .get("/api/v1/guests?q=concurrent", &app.admin_token)
        .await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn huge_and_odd_values_are_validation_errors_not_crashes() {
    let app = spawn_app().await;
    let long_name = "张".repeat(101);
    app.post(
        "/api/v1/guests",
        &app.admin_token,
        json!({"family_name": long_name}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let many_phones: Vec<_> = (0..6)
        .map(|i| json!({"number": format!("1380000000{i}")}))
        .collect();
    app.post(
        "/api/v1/guests",
        &app.admin_token,
        json!({"family_name": "张", "phones": many_phones}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/guests",
        &app.admin_token,
        json!({"family_name": "张\u{0007}"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/guests",
        &app.admin_token,
        json!({"family_name": "张", "birthday": "1988-02-30"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let q = "a".repeat(101);
    app.get(&format!("/api/v1/guests?q={q}"), &app.admin_token)
        .await
        .assert_problem(422, "validation_failed");
    app.send(
        Method::POST,
        "/api/v1/guests",
        Some(&app.admin_token),
        Some(json!({"family_name": "x"})),
        &[("idempotency-key", &"k".repeat(300))],
    )
    .await
    .assert_problem(400, "invalid_idempotency_key");
}
