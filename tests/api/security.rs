//! Hardening: security headers, request-rate limits on logins and channel
//! pushes, JWT secret rotation.

use crm_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let me = app.get("/api/v1/me", &app.admin_token).await;
    let unknown = app.get("/api/v1/no-such-thing", &app.admin_token).await;
    let anonymous = app
        .send(Method::GET, "/api/v1/guests", None, None, &[])
        .await;
    for res in [&me, &unknown, &anonymous] {
        assert_eq!(
            res.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(res.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            res.header("referrer-policy").as_deref(),
            Some("no-referrer")
        );
        assert!(res
            .header("strict-transport-security")
            .is_some_and(|v| v.starts_with("max-age=")));
        assert_eq!(
            res.header("content-security-policy").as_deref(),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert!(res
            .header("cache-control")
            .is_some_and(|v| v.contains("no-store")));
    }
    // Swagger UI runs its own scripts, and nothing else.
    let docs = app
        .http
        .get(app.url("/swagger-ui/"))
        .send()
        .await
        .expect("swagger ui");
    assert_eq!(docs.status(), 200);
    let csp = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn channel_pushes_are_limited_per_client_with_retry_after() {
    let app = spawn_app_with(|s| s.channel_rate_per_min = 5).await;
    for _ in 0..5 {
        // Counted whatever the outcome (this body is not a booking).
        let res = app
            .post(
                "/api/v1/channels/ctrip/reservations",
                &app.admin_token,
                json!({}),
            )
            .await;
        assert_ne!(res.status.as_u16(), 429, "{}", res.body);
    }
    let res = app
        .post(
            "/api/v1/channels/ctrip/reservations",
            &app.admin_token,
            json!({}),
        )
        .await;
    res.assert_problem(429, "rate_limited");
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    // The OTA endpoint shares the allowance.
    let res = app
        .send(
            Method::POST,
            "/api/v1/channels/ota/hotel-res-notif",
            Some(&app.admin_token),
            None,
            &[("content-type", "application/xml")],
        )
        .await;
    res.assert_problem(429, "rate_limited");
    // Other requests of the same client are not limited by it.
    app.get("/api/v1/me", &app.admin_token)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn token_requests_are_limited_per_account_and_ip() {
    let app = spawn_app_with(|s| s.login_rate_per_min = 3).await;
    // spawn_app logged in once already: two more succeed.
    for _ in 0..2 {
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }
    let res = app
        .send(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
            ),
            &[],
        )
        .await;
    res.assert_problem(429, "rate_limited");
    assert!(res.header("retry-after").is_some());
    // The same address trying another account is limited too.
    let res = app
        .send(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "other@test.example", "password": "x"})),
            &[],
        )
        .await;
    res.assert_problem(429, "rate_limited");
}

/// Token requests from unknown accounts (so only the per-IP limit
/// counts), each claiming to come from `forwarded`; their statuses.
async fn logins_from(app: &TestApp, forwarded: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let email = format!("nobody-{}@test.example", uuid::Uuid::now_v7().simple());
        let res = app
            .send(
                Method::POST,
                "/api/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "email": email, "password": "x"})),
                &[("x-forwarded-for", forwarded)],
            )
            .await;
        statuses.push(res.status.as_u16());
    }
    statuses
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limits_count_the_forwarded_client() {
    let proxied = spawn_app_with(|s| {
        s.login_rate_per_min = 3;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    assert_eq!(
        logins_from(&proxied, "198.51.100.1", 4).await,
        [401, 401, 401, 429]
    );
    // Another client behind the same proxy has its own allowance; what a
    // client writes before the proxy's own entry is not believed.
    assert_eq!(
        logins_from(&proxied, "198.51.100.1, 198.51.100.2", 3).await,
        [401, 401, 401]
    );

    // Without the setting the header is anyone's to write: ignored, and
    // every request counts against the peer address.
    let direct = spawn_app_with(|s| s.login_rate_per_min = 3).await;
    assert_eq!(logins_from(&direct, "198.51.100.1", 2).await, [401, 401]);
    assert_eq!(logins_from(&direct, "198.51.100.2", 1).await, [429]);
}

#[tokio::test]
async fn tokens_of_the_previous_jwt_secret_work_until_they_expire() {
    const NEW_SECRET: &[u8] = b"the rotated secret, thirty-two bytes or more";
    let app = spawn_app_with(|s| {
        s.jwt_secret = NEW_SECRET.to_vec();
        s.jwt_previous_secrets = vec![JWT_SECRET.to_vec()];
    })
    .await;
    let me = app.get("/api/v1/me", &app.admin_token).await;
    let sub = me.assert_status(200)["id"].as_str().unwrap().to_string();
    let now = chrono::Utc::now().timestamp();
    let sign = |secret: &[u8], exp: i64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": sub, "org": app.org_id, "role": "admin", "kind": "user",
                    "iat": now - 10, "exp": exp, "jti": "rotation"}),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    // Issued before the rotation, still within its lifetime.
    app.get("/api/v1/me", &sign(JWT_SECRET, now + 600))
        .await
        .assert_status(200);
    app.get("/api/v1/me", &sign(JWT_SECRET, now - 120))
        .await
        .assert_problem(401, "token_expired");
    app.get(
        "/api/v1/me",
        &sign(b"never one of the server's secrets!!", now + 600),
    )
    .await
    .assert_problem(401, "invalid_token");
    // New tokens name the new key.
    let header = jsonwebtoken::decode_header(&app.admin_token).unwrap();
    assert!(header.kid.is_some());
    let old_only = jsonwebtoken::decode::<serde_json::Value>(
        &app.admin_token,
        &jsonwebtoken::DecodingKey::from_secret(JWT_SECRET),
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    );
    assert!(
        old_only.is_err(),
        "new tokens are signed with the new secret"
    );
}

#[tokio::test]
async fn read_only_fields_cannot_be_written() {
    let app = spawn_app().await;
    let token = app.admin_token.clone();
    let guest = app
        .post(
            "/api/v1/guests",
            &token,
            json!({"family_name": "王", "given_name": "芳"}),
        )
        .await;
    let gid = guest.assert_status(201)["id"].as_str().unwrap().to_string();
    let etag = guest.header("etag").unwrap();
    // Creating with server-owned fields is refused, naming the field.
    for field in [
        "org_id",
        "id",
        "version",
        "created_at",
        "merged_into",
        "erased_at",
    ] {
        let mut body = json!({"family_name": "王", "given_name": "芳"});
        body[field] = json!("01a2-other");
        let res = app.post("/api/v1/guests", &token, body).await;
        assert_eq!(res.status.as_u16(), 422, "{field}: {}", res.body);
        assert!(
            res.body.to_string().contains(field),
            "{field}: {}",
            res.body
        );
    }
    // So is changing them.
    for patch in [
        json!({"org_id": "another-organisation"}),
        json!({"version": 99}),
        json!({"id": "01a2-other"}),
        json!({"blacklisted": true}),
    ] {
        let res = app
            .send(
                Method::PATCH,
                &format!("/api/v1/guests/{gid}"),
                Some(&token),
                Some(patch.clone()),
                &[
                    ("if-match", &etag),
                    ("content-type", "application/merge-patch+json"),
                ],
            )
            .await;
        assert_eq!(res.status.as_u16(), 422, "{patch}: {}", res.body);
    }
    let now = app.get(&format!("/api/v1/guests/{gid}"), &token).await;
    assert_eq!(now.assert_status(200)["version"], 1);
    assert_eq!(now.header("etag").unwrap(), etag);
    // A membership's balance comes from the ledger only.
    crate::loyalty::programme(&app).await;
    let res = app
        .post(
            &format!("/api/v1/guests/{gid}/membership"),
            &token,
            json!({"source": "front_desk", "points_balance": 100000}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.body);
    let res = app
        .post(
            &format!("/api/v1/guests/{gid}/membership"),
            &token,
            json!({"source": "front_desk"}),
        )
        .await;
    assert_eq!(res.assert_status(201)["points_balance"], 0);
}

#[tokio::test]
async fn the_data_key_rotates_through_the_reencrypt_job() {
    use crm_api::crypto::DataCipher;
    use crm_domain::identity::{DocumentNumber, DocumentType};
    const OLD: [u8; 32] = [42u8; 32];
    const NEW: [u8; 32] = [7u8; 32];
    let app = spawn_app_with(|s| {
        s.data_key = NEW.to_vec();
        s.data_key_previous = vec![OLD.to_vec()];
    })
    .await;
    let token = app.admin_token.clone();
    let gid = app
        .post(
            "/api/v1/guests",
            &token,
            json!({"family_name": "旧", "given_name": "钥"}),
        )
        .await
        .assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A document written before the rotation, under the old key.
    let old = DataCipher::new(&OLD);
    let number = DocumentNumber::parse("E12345678", DocumentType::Passport, None).unwrap();
    let doc = crm_storage::identity_documents::IdentityDocument {
        id: crm_domain::id::new_id().to_string(),
        org_id: app.org_id.clone(),
        guest_id: gid.clone(),
        doc_type: DocumentType::Passport,
        number_encrypted: old.encrypt(number.as_str()),
        number_hash: old.blind_index(number.as_str()),
        number_masked: number.masked(),
        issuing_country: Some("CN".into()),
        expires_on: None,
        created_by: "test".into(),
        created_at: chrono::Utc::now(),
    };
    app.db
        .write(|conn| crm_storage::identity_documents::insert(conn, &doc))
        .unwrap();
    let read = format!("/api/v1/guests/{gid}/identity-documents/{}", doc.id);
    let search = "/api/v1/guests?document_number=E12345678";
    // During the rotation: the old value reads and is found.
    assert_eq!(
        app.get(&read, &token).await.assert_status(200)["number"],
        "E12345678"
    );
    assert_eq!(
        app.get(search, &token).await.assert_status(200)["data"][0]["id"],
        gid
    );
    // The job rewrites it under the new key, once.
    let cipher = DataCipher::with_previous(&NEW, &[OLD.to_vec()]);
    let done = crm_api::rekey::reencrypt(&app.db, &cipher).unwrap();
    assert_eq!((done.documents_checked, done.documents_rewritten), (1, 1));
    let again = crm_api::rekey::reencrypt(&app.db, &cipher).unwrap();
    assert_eq!(again.documents_rewritten, 0);
    let stored = app
        .db
        .read(|conn| crm_storage::identity_documents::page_for_rekey(conn, "", 10))
        .unwrap();
    let new_only = DataCipher::new(&NEW);
    assert_eq!(new_only.decrypt(&stored[0].2).unwrap(), "E12345678");
    assert_eq!(stored[0].3, new_only.blind_index(number.as_str()));
    assert!(old.decrypt(&stored[0].2).is_err());
    // And it still reads and is found.
    assert_eq!(
        app.get(&read, &token).await.assert_status(200)["number"],
        "E12345678"
    );
    assert_eq!(
        app.get(search, &token).await.assert_status(200)["data"][0]["id"],
        gid
    );
}
