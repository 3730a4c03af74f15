use crm_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_and_ready_answer_without_a_token() {
    let app = spawn_app().await;
    let res = app.send(Method::GET, "/health", None, None, &[]).await;
    assert_eq!(res.assert_status(200)["status"], "ok");
    let res = app.send(Method::GET, "/ready", None, None, &[]).await;
    assert_eq!(res.assert_status(200)["database"], backend_name());
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_clients() {
    let app = spawn_app().await;
    let res = app
        .send(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "desk-42")],
        )
        .await;
    assert_eq!(res.header("x-request-id").as_deref(), Some("desk-42"));
    let res = app
        .send(Method::GET, "/api/v1/guests", None, None, &[])
        .await;
    assert!(res.header("x-request-id").is_some_and(|id| id.len() == 36));
}

#[tokio::test]
async fn password_grant_issues_tokens_and_me_tells_who_i_am() {
    let app = spawn_app().await;
    let res = app
        .token_request(json!({"grant_type": "password", "email": "ADMIN@test.example", "password": ADMIN_PASSWORD}))
        .await;
    let body = res.assert_status(200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() >= 40));
    let me = app
        .get("/api/v1/me", body["access_token"].as_str().unwrap())
        .await;
    let me = me.assert_status(200);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["organization"]["name"], "Test Hotel");
}

#[tokio::test]
async fn wrong_passwords_are_401_then_rate_limited_with_retry_after() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let res = app
            .token_request(json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": "wrong password!"}))
            .await;
        res.assert_problem(401, "invalid_credentials");
    }
    // Even the right password waits now: the account is being guessed.
    let res = app
        .token_request(
            json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    res.assert_problem(429, "rate_limited");
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
    // The guessing is in the audit log (written after each answer, so the
    // answer takes as long as for an account that does not exist).
    let mut failed = 0;
    for _ in 0..100 {
        let events = app
            .get(
                "/api/v1/audit-events?action=user.login_failed",
                &app.admin_token,
            )
            .await;
        failed = events.assert_status(200)["data"].as_array().unwrap().len();
        if failed == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(failed, 5);
}

#[tokio::test]
async fn unknown_accounts_get_the_same_answer_as_wrong_passwords() {
    let app = spawn_app().await;
    let res = app
        .token_request(json!({"grant_type": "password", "email": "nobody@test.example", "password": "whatever it is"}))
        .await;
    res.assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let app = spawn_app().await;
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = chrono::Utc::now().timestamp();
    let me = app.get("/api/v1/me", &app.admin_token).await;
    let sub = me.body["id"].as_str().unwrap().to_string();
    let claims = |exp: i64| json!({"sub": sub, "org": app.org_id, "role": "admin", "kind": "user", "iat": now - 10, "exp": exp, "jti": "x"});
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims(now + 600))
    );
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims(now + 600),
        &jsonwebtoken::EncodingKey::from_secret(b"not the server's secret at all!!"),
    )
    .unwrap();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims(now - 120),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET),
    )
    .unwrap();
    let valid = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims(now + 600),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET),
    )
    .unwrap();
    app.get("/api/v1/me", &alg_none)
        .await
        .assert_problem(401, "invalid_token");
    app.get("/api/v1/me", &forged)
        .await
        .assert_problem(401, "invalid_token");
    app.get("/api/v1/me", &expired)
        .await
        .assert_problem(401, "token_expired");
    app.get("/api/v1/me", "garbage")
        .await
        .assert_problem(401, "invalid_token");
    app.send(Method::GET, "/api/v1/me", None, None, &[])
        .await
        .assert_problem(401, "missing_token");
    app.get("/api/v1/me", &valid).await.assert_status(200);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_ends_the_session() {
    let app = spawn_app().await;
    let first = app
        .token_request(
            json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    let r1 = first.body["refresh_token"].as_str().unwrap().to_string();
    let second = app
        .token_request(json!({"grant_type": "refresh_token", "refresh_token": r1}))
        .await;
    let r2 = second.assert_status(200)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(r1, r2);
    // r1 again: a stolen copy. The whole family is revoked, r2 included.
    app.token_request(json!({"grant_type": "refresh_token", "refresh_token": r1}))
        .await
        .assert_problem(401, "invalid_grant");
    app.token_request(json!({"grant_type": "refresh_token", "refresh_token": r2}))
        .await
        .assert_problem(401, "invalid_grant");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let res = app
        .token_request(
            json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    let refresh = res.body["refresh_token"].as_str().unwrap().to_string();
    let access = res.body["access_token"].as_str().unwrap().to_string();
    app.post(
        "/api/v1/auth/logout",
        &access,
        json!({"refresh_token": refresh}),
    )
    .await
    .assert_status(204);
    app.token_request(json!({"grant_type": "refresh_token", "refresh_token": refresh}))
        .await
        .assert_problem(401, "invalid_grant");
}

#[tokio::test]
async fn changing_ones_password_requires_the_current_one() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_role("front_desk").await;
    app.post(
        "/api/v1/me/password",
        &token,
        json!({"current_password": "wrong one!!", "new_password": "a brand new password"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/me/password",
        &token,
        json!({"current_password": "a good long password", "new_password": "short"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/me/password",
        &token,
        json!({"current_password": "a good long password", "new_password": "a brand new password"}),
    )
    .await
    .assert_status(204);
    let me = app.get("/api/v1/me", &token).await;
    let email = me.body["email"].as_str().unwrap().to_string();
    app.login(&email, "a brand new password").await;
}
