//! Every operation refuses the roles its OpenAPI security scopes leave
//! out, before looking at the body or the ids; and lets in the ones listed.

use crm_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_operation_enforces_the_roles_its_spec_lists() {
    let app = spawn_app().await;
    let mut tokens = vec![("admin".to_string(), app.admin_token.clone())];
    for role in ["manager", "front_desk", "marketing"] {
        tokens.push((role.to_string(), app.user_with_role(role).await.1));
    }
    tokens.push(("integration".to_string(), app.integration_token().await));
    let spec = crm_api::openapi::spec_json();
    let some_id = "019ab1c2-0000-7000-8000-00000000abcd";
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(roles) = op.get("x-roles").and_then(|r| r.as_array()) else {
                continue;
            };
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str().unwrap()).collect();
            let concrete = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { some_id } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
            for (role, token) in &tokens {
                // Logging out would end the session the loop still needs.
                if concrete.ends_with("/auth/logout") {
                    continue;
                }
                let res = app
                    .send(method.clone(), &concrete, Some(token), body.clone(), &[])
                    .await;
                if allowed.contains(&role.as_str()) {
                    assert!(
                        res.status.as_u16() != 403 && res.status.as_u16() != 401,
                        "{role} is allowed {method} {path} but got {}: {}",
                        res.status,
                        res.body
                    );
                } else {
                    assert_eq!(
                        res.status.as_u16(),
                        403,
                        "{role} must be refused {method} {path}: {}",
                        res.body
                    );
                }
                assert!(
                    res.status.as_u16() < 500,
                    "{role} {method} {path}: {}",
                    res.body
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 150,
        "only {checked} checks: is the spec missing operations?"
    );
}

#[tokio::test]
async fn every_operation_needs_a_token_except_login_and_health() {
    let app = spawn_app().await;
    let spec = crm_api::openapi::spec_json();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            let concrete = path.replace(['{', '}'], "");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .send(method.clone(), &concrete, None, Some(json!({})), &[])
                .await;
            if public {
                assert_ne!(res.status.as_u16(), 401, "{method} {path} is public");
            } else {
                assert_eq!(
                    res.status.as_u16(),
                    401,
                    "{method} {path} without a token: {}",
                    res.body
                );
            }
        }
    }
}
