use crm_tests::*;
use serde_json::json;

#[tokio::test]
async fn admins_create_users_with_a_one_time_password() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            json!({"email": "Li.Na@Hotel.example", "display_name": "Li Na", "role": "front_desk"}),
        )
        .await;
    let body = res.assert_status(201).clone();
    assert_eq!(body["email"], "li.na@hotel.example");
    assert_eq!(body["password_change_required"], true);
    let temporary = body["temporary_password"].as_str().unwrap().to_string();
    assert!(res
        .header("location")
        .unwrap()
        .ends_with(body["id"].as_str().unwrap()));
    // Never shown again.
    let again = app
        .get(
            &format!("/api/v1/users/{}", body["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert!(again.assert_status(200).get("temporary_password").is_none());
    let list = app.get("/api/v1/users", &app.admin_token).await;
    assert_eq!(list.assert_status(200)["data"].as_array().unwrap().len(), 2);
    let token = app.login("li.na@hotel.example", &temporary).await;
    assert_eq!(
        app.get("/api/v1/me", &token).await.body["password_change_required"],
        true
    );
    // Duplicate e-mail.
    app.post(
        "/api/v1/users",
        &app.admin_token,
        json!({"email": "li.na@hotel.example", "display_name": "X", "role": "manager"}),
    )
    .await
    .assert_problem(409, "email_taken");
    // Integration is a client role.
    app.post(
        "/api/v1/users",
        &app.admin_token,
        json!({"email": "bot@hotel.example", "display_name": "Bot", "role": "integration"}),
    )
    .await
    .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn disabling_a_user_stops_their_token_at_once() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_role("manager").await;
    app.get("/api/v1/guests", &token).await.assert_status(200);
    let res = app
        .post(
            &format!("/api/v1/users/{id}/disable"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(res.assert_status(200)["disabled"], true);
    app.get("/api/v1/guests", &token)
        .await
        .assert_problem(401, "account_disabled");
    let email = app
        .get(&format!("/api/v1/users/{id}"), &app.admin_token)
        .await
        .body["email"]
        .as_str()
        .unwrap()
        .to_string();
    app.token_request(
        json!({"grant_type": "password", "email": email, "password": "a good long password"}),
    )
    .await
    .assert_problem(401, "account_disabled");
    app.post(
        &format!("/api/v1/users/{id}/enable"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    app.login(&email, "a good long password").await;
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let me = app.get("/api/v1/me", &app.admin_token).await;
    let id = me.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/users/{id}/disable"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_problem(409, "cannot_disable_self");
    app.patch(
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        json!({"role": "manager"}),
    )
    .await
    .assert_problem(409, "cannot_demote_self");
}

#[tokio::test]
async fn a_role_change_invalidates_the_old_token() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_role("marketing").await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        json!({"role": "manager"}),
    )
    .await
    .assert_status(200);
    app.get("/api/v1/guests", &token)
        .await
        .assert_problem(401, "token_stale");
}

#[tokio::test]
async fn password_reset_gives_a_new_one_time_password() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_role("front_desk").await;
    let res = app
        .post(
            &format!("/api/v1/users/{id}/reset-password"),
            &app.admin_token,
            json!({}),
        )
        .await;
    let body = res.assert_status(200);
    let temporary = body["temporary_password"].as_str().unwrap();
    let email = body["email"].as_str().unwrap();
    app.token_request(
        json!({"grant_type": "password", "email": email, "password": "a good long password"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.login(email, temporary).await;
}

#[tokio::test]
async fn integration_clients_use_client_credentials_and_can_be_rotated_or_disabled() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/api/v1/clients",
            &app.admin_token,
            json!({"name": "Ctrip"}),
        )
        .await;
    let body = created.assert_status(201).clone();
    let client_id = body["client_id"].as_str().unwrap().to_string();
    let secret = body["client_secret"].as_str().unwrap().to_string();
    let res = app
        .token_request(json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}))
        .await;
    let tokens = res.assert_status(200);
    assert!(tokens.get("refresh_token").is_none());
    assert_eq!(tokens["role"], "integration");
    let token = tokens["access_token"].as_str().unwrap().to_string();
    app.get("/api/v1/me", &token).await.assert_status(200);
    app.get("/api/v1/users", &token)
        .await
        .assert_problem(403, "forbidden");
    let listed = app
        .get(&format!("/api/v1/clients/{client_id}"), &app.admin_token)
        .await;
    assert!(listed.assert_status(200).get("client_secret").is_none());

    let rotated = app
        .post(
            &format!("/api/v1/clients/{client_id}/rotate-secret"),
            &app.admin_token,
            json!({}),
        )
        .await;
    let new_secret = rotated.assert_status(200)["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    app.token_request(json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}))
        .await
        .assert_problem(401, "invalid_credentials");
    app.token_request(json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": new_secret}))
        .await
        .assert_status(200);

    app.post(
        &format!("/api/v1/clients/{client_id}/disable"),
        &app.admin_token,
        json!({}),
    )
    .await
    .assert_status(200);
    app.get("/api/v1/me", &token)
        .await
        .assert_problem(401, "account_disabled");
}

#[tokio::test]
async fn properties_are_created_validated_and_patched_with_if_match() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/properties",
            &app.admin_token,
            json!({"code": "sha01", "name": "外滩酒店", "time_zone": "Asia/Shanghai", "currency": "cny", "country": "cn"}),
        )
        .await;
    let p = res.assert_status(201).clone();
    assert_eq!(p["code"], "SHA01");
    assert_eq!(p["currency"], "CNY");
    let id = p["id"].as_str().unwrap();
    let bad = app
        .post(
            "/api/v1/properties",
            &app.admin_token,
            json!({"code": "bad code", "name": "", "time_zone": "Mars/Base", "currency": "RMB", "country": "ZZ"}),
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
        vec!["code", "name", "time_zone", "currency", "country"]
    );
    app.post(
        "/api/v1/properties",
        &app.admin_token,
        json!({"code": "SHA01", "name": "Dup", "time_zone": "Asia/Shanghai", "currency": "CNY", "country": "CN"}),
    )
    .await
    .assert_problem(409, "property_code_taken");

    let path = format!("/api/v1/properties/{id}");
    let ok = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&app.admin_token),
            Some(json!({"name": "The Bund Hotel"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(ok.assert_status(200)["name"], "The Bund Hotel");
    assert_eq!(ok.header("etag").as_deref(), Some("\"2\""));
    app.send(
        reqwest::Method::PATCH,
        &path,
        Some(&app.admin_token),
        Some(json!({"name": "Stale"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(412, "version_conflict");
    app.patch(&path, &app.admin_token, json!({"time_zone": "Nowhere"}))
        .await
        .assert_problem(422, "validation_failed");
    let list = app.get("/api/v1/properties", &app.admin_token).await;
    assert_eq!(
        list.assert_status(200)["data"].as_array().unwrap().len(),
        2,
        "bootstrap MAIN and SHA01"
    );
}
