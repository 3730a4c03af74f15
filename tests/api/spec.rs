use serde_json::Value;

/// `openapi/openapi.json` is generated; regenerate with `make openapi`.
#[test]
fn the_committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.json"
    ))
    .expect("openapi/openapi.json exists (run `make openapi`)");
    let generated = crm_api::openapi::spec_pretty();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    );
}

#[test]
fn every_operation_is_documented() {
    let spec = crm_api::openapi::spec_json();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{what} has no operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{what} has no tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what} has no summary"
            );
            assert!(
                op["security"].is_array(),
                "{what} does not say who may call it"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{what} has no success response"
            );
            assert!(
                responses.contains_key("500"),
                "{what} lacks error responses"
            );
            // Login and the guest-facing public endpoints take no token.
            if path.starts_with("/api/v1")
                && path != "/api/v1/auth/token"
                && !path.starts_with("/api/v1/public/")
            {
                assert!(responses.contains_key("401"), "{what} lacks 401");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("422"), "{what} lacks 422");
            }
        }
    }
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for name in ["GuestDto", "Problem", "PropertyDto", "TokenRequest"] {
        let s = &schemas[name];
        assert!(
            s.get("example").is_some() || s.get("examples").is_some(),
            "{name} has an example"
        );
    }
    assert!(matches!(
        &spec["components"]["securitySchemes"]["bearer_auth"],
        Value::Object(_)
    ));
}
