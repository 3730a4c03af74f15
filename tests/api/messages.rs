//! Message templates: variables checked per trigger, previews with sample
//! data, and the triggers each property sends.

use crm_tests::*;
use serde_json::json;

#[tokio::test]
async fn message_templates_use_known_variables_and_preview_with_samples() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let body = "{{guest.display_name}}您好，{{property.name}}期待您{{reservation.arrival}}光临，确认号{{reservation.confirmation_number}}。";
    let created = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "Pre-arrival", "trigger": "pre_arrival",
            "channel": "sms", "language": "zh", "body": body}),
        )
        .await;
    let tpl = created.assert_status(201).clone();
    let id = tpl["id"].as_str().unwrap();
    app.post(
        "/api/v1/message-templates",
        t,
        json!({"name": "again", "trigger": "pre_arrival",
        "channel": "sms", "language": "zh", "body": "x"}),
    )
    .await
    .assert_problem(409, "template_exists");

    // Unknown variables, for the trigger, are refused with the field.
    let bad = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "Birthday", "trigger": "birthday",
        "channel": "email", "language": "en", "subject": "Happy birthday {{guest.given_name}}",
        "body": "See you on {{reservation.arrival}} {{guest.shoe_size}}"}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let errors = bad.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(errors
        .iter()
        .all(|e| e["field"] == "body" && e["code"] == "unknown_variable"));
    let bad = app
        .post(
            "/api/v1/message-templates",
            t,
            json!({"name": "x", "trigger": "tier_change",
        "channel": "sms", "language": "zh_CN!", "subject": "s", "body": "{{membership.tier"}),
        )
        .await;
    let fields: Vec<&str> = bad.assert_status(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["language", "body", "subject"]);

    // Preview: samples, overridden by the values given.
    let p = app
        .post(
            &format!("/api/v1/message-templates/{id}/preview"),
            t,
            json!({}),
        )
        .await;
    assert_eq!(
        p.assert_status(200)["body"],
        "张伟您好，外滩精品酒店期待您2026-12-24光临，确认号SHA-20261201-0042。"
    );
    let p = app
        .post(
            &format!("/api/v1/message-templates/{id}/preview"),
            t,
            json!({"values": {"guest.display_name": "Anna"}}),
        )
        .await;
    assert!(p.assert_status(200)["body"]
        .as_str()
        .unwrap()
        .starts_with("Anna您好"));
    app.post(
        &format!("/api/v1/message-templates/{id}/preview"),
        t,
        json!({"values": {"survey.link": "x"}}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let vars = app
        .get("/api/v1/message-variables?trigger=post_stay_thank_you", t)
        .await;
    let names: Vec<&str> = vars
        .assert_status(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"survey.link") && !names.contains(&"points.expiring"));

    // Changing the body; trigger and channel stay.
    let patched = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/message-templates/{id}"),
            Some(t),
            Some(json!({"body": "{{guest.display_name}}，明天见"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(patched.assert_status(200)["version"], 2);
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/message-templates/{id}"),
        Some(t),
        Some(json!({"channel": "email"})),
        &[],
    )
    .await
    .assert_problem(422, "validation_failed");
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        "/api/v1/message-templates",
        &desk,
        json!({"name": "n", "trigger": "birthday",
        "channel": "sms", "language": "zh", "body": "生日快乐"}),
    )
    .await
    .assert_status(403);
    let other = app.other_organization_admin().await;
    app.get(&format!("/api/v1/message-templates/{id}"), &other)
        .await
        .assert_problem(404, "message_template_not_found");
}

#[tokio::test]
async fn each_property_switches_its_triggers() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let prop = app.get("/api/v1/properties", t).await.assert_status(200)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/properties/{prop}/message-triggers");
    let s = app.get(&path, t).await;
    let all = s.assert_status(200)["triggers"].as_array().unwrap().clone();
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|x| x["enabled"] == true));
    let pre = all.iter().find(|x| x["trigger"] == "pre_arrival").unwrap();
    assert_eq!(pre["days_before"], 3);

    let put = |body| app.send(reqwest::Method::PUT, &path, Some(t), Some(body), &[]);
    let r = put(
        json!({"triggers": [{"trigger": "birthday", "enabled": false},
        {"trigger": "pre_arrival", "enabled": true, "days_before": 2}]}),
    )
    .await;
    let after = r.assert_status(200)["triggers"].as_array().unwrap().clone();
    assert_eq!(
        after.iter().find(|x| x["trigger"] == "birthday").unwrap()["enabled"],
        false
    );
    assert_eq!(
        after
            .iter()
            .find(|x| x["trigger"] == "pre_arrival")
            .unwrap()["days_before"],
        2
    );
    let again = app.get(&path, t).await;
    assert_eq!(again.assert_status(200)["triggers"], json!(after));
    let bad = put(
        json!({"triggers": [{"trigger": "campaign", "enabled": true},
        {"trigger": "birthday", "enabled": true, "days_before": 5},
        {"trigger": "pre_arrival", "enabled": true, "days_before": 400}]}),
    )
    .await;
    let fields: Vec<&str> = bad.assert_status(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "triggers[0]",
            "triggers[1].days_before",
            "triggers[2].days_before"
        ]
    );
    let other = app.other_organization_admin().await;
    app.get(&path, &other)
        .await
        .assert_problem(404, "property_not_found");
}
