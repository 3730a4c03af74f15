//! A request can never read or change another organisation's data: its
//! ids answer 404, exactly like ids that do not exist.

use crm_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn another_organisations_resources_are_invisible() {
    let app = spawn_app().await;
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "张", "given_name": "伟", "phones": [{"number": "13812345678"}]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    let doc = app
        .post(
            &format!("/api/v1/guests/{gid}/identity-documents"),
            &app.admin_token,
            json!({"type": "passport", "number": "E12345678"}),
        )
        .await;
    let doc_id = doc.body["id"].as_str().unwrap().to_string();
    let property = app.get("/api/v1/properties", &app.admin_token).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (user_id, _) = app.user_with_role("front_desk").await;
    let client = app
        .post("/api/v1/clients", &app.admin_token, json!({"name": "PMS"}))
        .await;
    let client_id = client.body["id"].as_str().unwrap().to_string();

    let rival = app.other_organization_admin().await;
    let not_found: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/guests/{gid}"), None),
        (
            Method::PATCH,
            format!("/api/v1/guests/{gid}"),
            Some(json!({"notes": "mine now"})),
        ),
        (
            Method::POST,
            format!("/api/v1/guests/{gid}/blacklist"),
            Some(json!({"category": "other", "reason": "x"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/guests/{gid}/blacklist"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/guests/{gid}/identity-documents"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/guests/{gid}/identity-documents"),
            Some(json!({"type": "passport", "number": "E7654321"})),
        ),
        (
            Method::GET,
            format!("/api/v1/guests/{gid}/identity-documents/{doc_id}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/guests/{gid}/identity-documents/{doc_id}"),
            None,
        ),
        (Method::GET, format!("/api/v1/guests/{gid}/consents"), None),
        (
            Method::GET,
            format!("/api/v1/guests/{gid}/consents/history"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/guests/{gid}/consents"),
            Some(json!({"purpose": "profiling", "status": "granted", "source": "x"})),
        ),
        (Method::GET, format!("/api/v1/guests/{gid}/export"), None),
        (
            Method::POST,
            format!("/api/v1/guests/{gid}/erase"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/v1/properties/{property}"), None),
        (
            Method::PATCH,
            format!("/api/v1/properties/{property}"),
            Some(json!({"name": "mine"})),
        ),
        (Method::GET, format!("/api/v1/users/{user_id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{user_id}"),
            Some(json!({"display_name": "mine"})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user_id}/disable"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user_id}/reset-password"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/v1/clients/{client_id}"), None),
        (
            Method::POST,
            format!("/api/v1/clients/{client_id}/disable"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/clients/{client_id}/rotate-secret"),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in not_found {
        let res = app
            .send(method.clone(), &path, Some(&rival), body, &[])
            .await;
        assert_eq!(res.status.as_u16(), 404, "{method} {path}: {}", res.body);
    }
    for list in [
        "/api/v1/guests",
        "/api/v1/guests?q=zhangwei",
        "/api/v1/guests?q=138",
        "/api/v1/guests?document_number=E12345678",
        "/api/v1/users",
        "/api/v1/clients",
        "/api/v1/audit-events",
    ] {
        let res = app.get(list, &rival).await;
        let data = res.assert_status(200)["data"].as_array().unwrap().clone();
        let leaked = data.iter().any(|item| {
            [
                gid.as_str(),
                user_id.as_str(),
                client_id.as_str(),
                property.as_str(),
            ]
            .iter()
            .any(|id| item.to_string().contains(id))
        });
        assert!(
            !leaked,
            "{list} leaked another organisation's data: {data:?}"
        );
    }
    let props = app.get("/api/v1/properties", &rival).await;
    assert!(props.body["data"].as_array().unwrap().is_empty());
    // And nothing changed on the owner's side.
    let mine = app
        .get(&format!("/api/v1/guests/{gid}"), &app.admin_token)
        .await;
    assert_eq!(mine.assert_status(200)["version"], 1);
    assert!(mine.body["erased_at"].is_null());
}
