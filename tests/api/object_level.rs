//! Object-level authorisation over the whole spec: one organisation holds
//! one of everything that has an id; another organisation's admin then
//! calls every operation of the spec that names an object, with the first
//! organisation's ids. Each call must answer 404 `*_not_found`, exactly as
//! for ids that exist nowhere, and afterwards every read of the owner's
//! data must answer as it did before.

use crate::reservations::shanghai_today;
use chrono::Duration;
use crm_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Where the owner's objects are, keyed by path parameter (and, for the
/// three kinds of template, by the collection they are in).
struct World {
    ids: HashMap<&'static str, String>,
}

impl World {
    fn id(&self, collection: &str, param: &str) -> Option<&str> {
        let key = match (collection, param) {
            ("contract-templates", "template_id") => "contract_template_id",
            ("message-templates", "template_id") => "message_template_id",
            ("survey-templates", "template_id") => "survey_template_id",
            (_, p) => p,
        };
        self.ids.get(key).map(String::as_str)
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// Builds the owner's world through the API: every kind of object the
/// spec's paths name by id.
async fn world(app: &TestApp) -> World {
    let t = &app.admin_token;
    let mut ids: HashMap<&'static str, String> = HashMap::new();

    // A property with rooms and rates, an account, a published contract
    // template; a contract signed and active that the alert scan warns of.
    let s = crate::contracts::setup(app).await;
    let today = shanghai_today();
    let contract = crate::contracts::signed_contract(
        app,
        &s,
        crate::contracts::contract_body(
            &s,
            "OBJ-1",
            today - Duration::days(200),
            today + Duration::days(20),
            json!({"room_night_commitment": 300}),
        ),
        true,
    )
    .await;
    let alerts = app.post("/api/v1/contract-alerts/scan", t, json!({})).await;
    ids.insert("alert_id", id_of(&alerts.assert_status(200)["raised"][0]));
    ids.insert("contract_id", contract);
    ids.insert("account_id", s.account.clone());
    ids.insert("contract_template_id", s.template.clone());
    ids.insert("number", "1".into());
    ids.insert("property_id", s.h.property_id.clone());
    ids.insert("room_type_id", s.dlk.clone());

    // A guest with a document, a look-alike (a duplicate candidate), a
    // membership with a redemption, a booking with its confirmation.
    crate::messages::templates(app).await;
    let guest = app
        .create_guest(
            t,
            json!({"family_name": "张", "given_name": "伟", "birthday": "1988-04-12",
                "phones": [{"number": "13812345678"}], "emails": [{"address": "zhang.wei@example.cn"}]}),
        )
        .await;
    let gid = id_of(&guest);
    app.post(
        "/api/v1/guests",
        t,
        json!({"family_name_latin": "Zhang", "given_name_latin": "Wei", "birthday": "1988-04-12"}),
    )
    .await
    .assert_status(201);
    let candidates = app.get("/api/v1/duplicate-candidates", t).await;
    ids.insert(
        "candidate_id",
        id_of(&candidates.assert_status(200)["data"][0]),
    );
    let doc = app
        .post(
            &format!("/api/v1/guests/{gid}/identity-documents"),
            t,
            json!({"type": "passport", "number": "E12345678"}),
        )
        .await;
    ids.insert("document_id", id_of(doc.assert_status(201)));
    crate::loyalty::programme(app).await;
    crate::loyalty::enrol(app, &gid).await;
    app.post(
        &format!("/api/v1/guests/{gid}/points/adjustments"),
        t,
        json!({"points": 1000, "reason": "opening balance"}),
    )
    .await
    .assert_status(201);
    let redemption = app
        .post(
            &format!("/api/v1/guests/{gid}/points/redemptions"),
            t,
            json!({"points": 10, "description": "minibar"}),
        )
        .await;
    ids.insert("redemption_id", id_of(redemption.assert_status(201)));
    let tiers = app.get("/api/v1/loyalty/tiers", t).await;
    ids.insert("tier_id", id_of(&tiers.assert_status(200)["data"][0]));
    let reward = app
        .post(
            "/api/v1/loyalty/rewards",
            t,
            json!({"code": "NIGHT1", "kind": "room_night", "name": "One night", "points_price": 8000}),
        )
        .await;
    ids.insert("reward_id", id_of(reward.assert_status(201)));
    let reservation = app
        .post(
            "/api/v1/reservations",
            t,
            crate::messages::book(&s.h, &gid, today + Duration::days(3)),
        )
        .await;
    ids.insert("reservation_id", id_of(reservation.assert_status(201)));
    let message = loop {
        let m = app.get(&format!("/api/v1/guests/{gid}/messages"), t).await;
        let first = m.assert_status(200)["data"][0].clone();
        if first["status"] == "sent" {
            break first;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    ids.insert("message_id", id_of(&message));
    ids.insert("guest_id", gid.clone());

    // Staff, an integration client, a ticket assigned to the desk (a
    // notification for them), a review, templates, a segment, a campaign,
    // an import and its preset, a webhook.
    let (desk_id, desk) = app.user_with_role("front_desk").await;
    ids.insert("user_id", desk_id.clone());
    let client = app.post("/api/v1/clients", t, json!({"name": "PMS"})).await;
    ids.insert("client_id", id_of(client.assert_status(201)));
    let ticket = app
        .post(
            "/api/v1/tickets",
            t,
            json!({"kind": "complaint", "category": "hygiene", "severity": "high", "channel": "front_desk",
                "subject": "Hair in the bathroom", "property_id": s.h.property_id, "guest_id": gid,
                "assignee_id": desk_id}),
        )
        .await;
    ids.insert("ticket_id", id_of(ticket.assert_status(201)));
    let notes = app.get("/api/v1/notifications", &desk).await;
    ids.insert(
        "notification_id",
        id_of(&notes.assert_status(200)["data"][0]),
    );
    let review = app
        .post(
            "/api/v1/reviews",
            t,
            json!({"source": "ctrip", "external_id": "CT-1", "property_id": s.h.property_id, "rating": 4.5,
                "scale": 5, "reviewed_on": today.to_string(), "body": "位置很好"}),
        )
        .await;
    ids.insert("review_id", id_of(review.assert_status(201)));
    let survey = app
        .post(
            "/api/v1/survey-templates",
            t,
            json!({"name": "Survey", "active": true, "definition": {"intro": "感谢", "dimensions": ["value"]}}),
        )
        .await;
    ids.insert("survey_template_id", id_of(survey.assert_status(201)));
    let templates = crate::campaigns::campaign_templates(app).await;
    ids.insert("message_template_id", templates[0].clone());
    let segment = app
        .post(
            "/api/v1/segments",
            t,
            json!({"name": "Everyone", "rule": {"field": "stays", "op": "gte", "value": 0}}),
        )
        .await;
    let segment = id_of(segment.assert_status(201));
    let campaign = app
        .post(
            "/api/v1/campaigns",
            t,
            json!({"name": "Winter", "segment_id": segment, "template_ids": templates}),
        )
        .await;
    ids.insert("campaign_id", id_of(campaign.assert_status(201)));
    ids.insert("segment_id", segment);
    let preset = app
        .post(
            "/api/v1/import-presets",
            t,
            json!({"name": "Old PMS", "mapping": [{"header": "姓名", "field": "full_name"}]}),
        )
        .await;
    ids.insert("preset_id", id_of(preset.assert_status(201)));
    let upload = crate::imports::upload(
        app,
        t,
        &[(
            "file",
            Some("guests.csv"),
            "姓名,手机号\n李娜,13900000002\n".as_bytes().to_vec(),
        )],
    )
    .await;
    let import = id_of(upload.assert_status(202));
    crate::imports::finished(app, &import).await;
    ids.insert("import_id", import);
    let hook = app
        .post(
            "/api/v1/webhooks",
            t,
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["guest.merged"]}),
        )
        .await;
    ids.insert("webhook_id", id_of(hook.assert_status(201)));
    World { ids }
}

/// Path parameters that are not objects of an organisation.
const NOT_OBJECTS: &[&str] = &["channel_code", "token"];

struct Operation {
    method: Method,
    path: String,
    /// The request body's example from the spec, and its content type.
    body: Option<(String, Value)>,
    query: String,
}

fn operations(spec: &Value) -> Vec<Operation> {
    let schemas = &spec["components"]["schemas"];
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let params: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        if params.is_empty() || params.iter().any(|p| NOT_OBJECTS.contains(p)) {
            continue;
        }
        for (method, op) in item.as_object().expect("operations") {
            let body = op["requestBody"]["content"].as_object().and_then(|c| {
                let (ctype, media) = c.iter().next()?;
                let schema = match media["schema"]["$ref"].as_str() {
                    Some(r) => &schemas[r.rsplit('/').next()?],
                    None => &media["schema"],
                };
                let example = [&media["example"], &schema["example"]]
                    .into_iter()
                    .find(|e| !e.is_null())
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                Some((ctype.clone(), example))
            });
            // Required query parameters get a value (only date ranges so
            // far: a week from today).
            let query: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| {
                    assert_eq!(p["schema"]["format"], "date", "{path}: {p}");
                    let name = p["name"].as_str().unwrap_or_default();
                    let days = if name == "to" { 7 } else { 0 };
                    format!("{name}={}", shanghai_today() + Duration::days(days))
                })
                .collect();
            out.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                path: path.clone(),
                body,
                query: if query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", query.join("&"))
                },
            });
        }
    }
    out
}

/// The path with each `{param}` replaced by what `id` gives.
fn concrete(path: &str, id: impl Fn(&str, &str) -> String) -> String {
    let collection = path.split('/').nth(3).unwrap_or_default().to_string();
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => id(&collection, param),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(app: &TestApp, token: &str, op: &Operation, path: &str) -> Response {
    let mut req = app
        .http
        .request(op.method.clone(), app.url(&format!("{path}{}", op.query)))
        .bearer_auth(token);
    if let Some((ctype, body)) = &op.body {
        req = req
            .header("content-type", ctype.as_str())
            .body(body.to_string());
    }
    let res = Response::read(req.send().await.expect("sent")).await;
    app.remember(&op.method, path, &res);
    res
}

/// What the owner reads on every GET of the spec with its ids (and the
/// lists), keyed by path. Deliveries to the unreachable webhook change as
/// the worker retries, and the owner's own reads add to the audit log.
async fn owners_view(app: &TestApp, w: &World, spec: &Value) -> BTreeMap<String, Value> {
    let mut view = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        if item.get("get").is_none()
            || path.contains("{token}")
            || path.ends_with("/deliveries")
            || path.starts_with("/api/v1/audit-events")
            || !path.starts_with("/api/v1/")
        {
            continue;
        }
        let op = operations(
            &json!({"paths": {path: {"get": item["get"]}}, "components": spec["components"]}),
        )
        .pop()
        .unwrap_or(Operation {
            method: Method::GET,
            path: path.clone(),
            body: None,
            query: String::new(),
        });
        let url = concrete(path, |c, p| {
            w.id(c, p)
                .unwrap_or_else(|| panic!("no {p} in the world"))
                .to_string()
        });
        let res = call(app, &app.admin_token, &op, &url).await;
        assert!(
            res.status.is_success(),
            "the owner reads GET {url}: {} {}",
            res.status,
            res.body
        );
        view.insert(url, without_reads(res.body));
    }
    view
}

/// A guest's export says when it was made and lists the audit events of
/// the owner's own reads: neither is a change to the data.
fn without_reads(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("exported_at");
        if let Some(events) = o.get_mut("audit_events").and_then(Value::as_array_mut) {
            events.retain(|e| {
                !matches!(
                    e["action"].as_str(),
                    Some("guest.exported" | "identity_document.read" | "segment.exported")
                )
            });
        }
    }
    v
}

#[tokio::test]
async fn another_organisation_finds_none_of_our_objects_on_any_operation() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let spec = crm_api::openapi::spec_json();
    let before = owners_view(&app, &w, &spec).await;
    let rival = app.other_organization_admin().await;

    let mut checked = 0;
    let mut wrong = Vec::new();
    for op in operations(&spec) {
        let ours = concrete(&op.path, |c, p| {
            w.id(c, p)
                .unwrap_or_else(|| panic!("no {p} in the world for {}", op.path))
                .to_string()
        });
        let nowhere = concrete(&op.path, |_, p| match p {
            "number" => "1".to_string(),
            _ => uuid::Uuid::now_v7().to_string(),
        });
        let theirs = call(&app, &rival, &op, &ours).await;
        let absent = call(&app, &rival, &op, &nowhere).await;
        let code = theirs.body["code"].as_str().unwrap_or_default().to_string();
        if theirs.status.as_u16() != 404
            || !code.ends_with("_not_found")
            || absent.status != theirs.status
            || absent.body["code"] != theirs.body["code"]
        {
            wrong.push(format!(
                "{} {}: {} {} (an id that exists nowhere: {} {})",
                op.method, op.path, theirs.status, theirs.body, absent.status, absent.body["code"]
            ));
        }
        checked += 1;
    }
    assert!(
        wrong.is_empty(),
        "another organisation's ids must be 404 like ids that do not exist:\n{}",
        wrong.join("\n")
    );
    assert!(checked > 120, "only {checked} operations name an object");

    let after = owners_view(&app, &w, &spec).await;
    for (url, was) in &before {
        assert!(
            after.get(url) == Some(was),
            "GET {url} changed after another organisation's calls:\nbefore {was}\nafter {}",
            after.get(url).unwrap_or(&Value::Null)
        );
    }
}
