use crm_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_guest_is_created_with_normalised_contacts() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({
                "family_name": "张", "given_name": "伟",
                "family_name_latin": "Zhang", "given_name_latin": "Wei",
                "gender": "male", "birthday": "1988-04-12", "nationality": "cn", "language": "zh-CN",
                "phones": [{"number": "138 1234 5678"}, {"number": "+44 20 7946 0958", "kind": "work"}],
                "emails": [{"address": "Zhang.Wei@Example.COM"}],
                "preferences": {"floor": "high", "pillow": "buckwheat", "smoking": false, "diet": ["no_pork"], "allergies": ["peanuts"]},
                "tags": ["VIP", "商务"], "resident": true,
                "address": {"city": "Hangzhou", "country": "CN"}
            }),
        )
        .await;
    let g = res.assert_status(201).clone();
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    assert!(res
        .header("location")
        .unwrap()
        .ends_with(g["id"].as_str().unwrap()));
    assert_eq!(g["display_name"], "张伟");
    assert_eq!(
        g["phones"],
        json!([{"number": "+8613812345678", "kind": "mobile"}, {"number": "+442079460958", "kind": "work"}])
    );
    assert_eq!(g["emails"][0]["address"], "zhang.wei@example.com");
    assert_eq!(g["nationality"], "CN");
    assert_eq!(g["tags"], json!(["vip", "商务"]));
    assert_eq!(g["preferences"]["floor"], "high");
    assert_eq!(g["resident"], true);
    let fetched = app
        .get(
            &format!("/api/v1/guests/{}", g["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    // The created response lists look-alikes (none here); the profile is
    // the same as read back.
    assert_eq!(g["possible_duplicates"], json!([]));
    let mut created = g.clone();
    created
        .as_object_mut()
        .unwrap()
        .remove("possible_duplicates");
    assert_eq!(fetched.assert_status(200), &created);
}

#[tokio::test]
async fn invalid_fields_are_all_reported_and_nothing_is_written() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"given_name": "Ann", "phones": [{"number": "12345"}], "emails": [{"address": "not-an-email"}], "nationality": "XX", "birthday": "2999-01-01"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = res.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "birthday",
            "nationality",
            "phones[0].number",
            "emails[0].address"
        ]
    );
    assert_eq!(res.body["errors"][1]["code"], "invalid_country");
    let list = app.get("/api/v1/guests", &app.admin_token).await;
    assert!(list.body["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn phones_without_a_country_code_are_read_in_the_propertys_country() {
    let app = spawn_app().await;
    let p = app
        .post(
            "/api/v1/properties",
            &app.admin_token,
            json!({"code": "LON", "name": "London", "time_zone": "Europe/London", "currency": "GBP", "country": "GB"}),
        )
        .await;
    let property_id = p.body["id"].as_str().unwrap();
    let g = app
        .create_guest(&app.admin_token, json!({"family_name_latin": "Smith", "property_id": property_id, "phones": [{"number": "020 7946 0958"}]}))
        .await;
    assert_eq!(g["phones"][0]["number"], "+442079460958");
    // Without a property: the organisation's default country (CN).
    let g = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "李", "phones": [{"number": "13912345678"}]}),
        )
        .await;
    assert_eq!(g["phones"][0]["number"], "+8613912345678");
    let res = app
        .post(
            "/api/v1/guests",
            &app.admin_token,
            json!({"family_name": "李", "property_id": "019ab1c2-0000-7000-8000-000000000000"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn search_finds_guests_by_pinyin_name_phone_and_email() {
    let app = spawn_app().await;
    let zhang = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "张", "given_name": "伟", "phones": [{"number": "13812345678"}]}),
        )
        .await;
    let li = app
        .create_guest(&app.admin_token, json!({"family_name": "李", "given_name": "娜", "emails": [{"address": "lina@example.cn"}]}))
        .await;
    let smith = app
        .create_guest(&app.admin_token, json!({"family_name_latin": "Smith", "given_name_latin": "John", "phones": [{"number": "+1 212 555 0100"}]}))
        .await;
    let zid = zhang["id"].as_str().unwrap().to_string();
    for q in [
        "zhangwei",
        "zw",
        "Zhang Wei",
        "张伟",
        "张",
        "138",
        "+86 138-1234",
        "8613812345678",
    ] {
        let res = app
            .send(
                Method::GET,
                &format!("/api/v1/guests?q={}", urlencode(q)),
                Some(&app.admin_token),
                None,
                &[],
            )
            .await;
        assert_eq!(ids(res.assert_status(200)), vec![zid.clone()], "q={q}");
    }
    let res = app.get("/api/v1/guests?q=lina%40", &app.admin_token).await;
    assert_eq!(ids(&res.body), vec![li["id"].as_str().unwrap().to_string()]);
    let res = app.get("/api/v1/guests?q=john", &app.admin_token).await;
    assert_eq!(
        ids(&res.body),
        vec![smith["id"].as_str().unwrap().to_string()]
    );
    let res = app.get("/api/v1/guests?q=nobody", &app.admin_token).await;
    assert!(ids(&res.body).is_empty());
    app.get("/api/v1/guests?q=%20%20", &app.admin_token)
        .await
        .assert_problem(422, "validation_failed");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let app = spawn_app().await;
    let vip = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "王", "tags": ["VIP"], "nationality": "CN"}),
        )
        .await;
    let resident = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "赵", "resident": true, "nationality": "JP"}),
        )
        .await;
    let blacklisted = app
        .create_guest(&app.admin_token, json!({"family_name": "钱"}))
        .await;
    let bid = blacklisted["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/guests/{bid}/blacklist"),
        &app.admin_token,
        json!({"category": "fraud", "reason": "stolen card"}),
    )
    .await
    .assert_status(200);
    let one = |v: &Value| vec![v["id"].as_str().unwrap().to_string()];
    assert_eq!(
        ids(&app
            .get("/api/v1/guests?tag=vip", &app.admin_token)
            .await
            .body),
        one(&vip)
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/guests?resident=true", &app.admin_token)
            .await
            .body),
        one(&resident)
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/guests?nationality=jp", &app.admin_token)
            .await
            .body),
        one(&resident)
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/guests?blacklisted=true", &app.admin_token)
            .await
            .body),
        one(&blacklisted)
    );
    let future = "2999-01-01T00:00:00Z";
    assert!(ids(&app
        .get(
            &format!("/api/v1/guests?created_from={future}"),
            &app.admin_token
        )
        .await
        .body)
    .is_empty());
    assert_eq!(
        ids(&app
            .get(
                &format!("/api/v1/guests?created_to={future}"),
                &app.admin_token
            )
            .await
            .body)
        .len(),
        3
    );
    app.get("/api/v1/guests?blacklisted=maybe", &app.admin_token)
        .await
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/guests?created_from=yesterday", &app.admin_token)
        .await
        .assert_problem(400, "invalid_query");
}

#[tokio::test]
async fn cursor_pagination_walks_every_guest_once_even_while_inserting() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let g = app
            .create_guest(
                &app.admin_token,
                json!({"family_name_latin": format!("Guest {}", (b'a' + i) as char)}),
            )
            .await;
        created.push(g["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/guests?limit=3&cursor={c}"),
            None => "/api/v1/guests?limit=3".to_string(),
        };
        let res = app.get(&path, &app.admin_token).await;
        let body = res.assert_status(200).clone();
        seen.extend(ids(&body));
        pages += 1;
        if pages == 1 {
            // Inserted after the first page: shows up at the end, nothing skipped.
            let g = app
                .create_guest(&app.admin_token, json!({"family_name_latin": "Late"}))
                .await;
            created.push(g["id"].as_str().unwrap().to_string());
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let newest = app
        .get("/api/v1/guests?limit=2&sort=-created_at", &app.admin_token)
        .await;
    assert_eq!(
        ids(&newest.body),
        vec![created[7].clone(), created[6].clone()]
    );
    app.get("/api/v1/guests?limit=500", &app.admin_token)
        .await
        .assert_problem(400, "invalid_limit");
    app.get("/api/v1/guests?cursor=nonsense", &app.admin_token)
        .await
        .assert_problem(400, "invalid_cursor");
    app.get("/api/v1/guests?sort=name", &app.admin_token)
        .await
        .assert_problem(400, "invalid_sort");
}

#[tokio::test]
async fn merge_patch_updates_fields_and_if_match_stops_stale_writes() {
    let app = spawn_app().await;
    let g = app
        .create_guest(&app.admin_token, json!({"family_name": "张", "given_name": "伟", "notes": "likes tea", "company": "Acme", "tags": ["vip"]}))
        .await;
    let path = format!("/api/v1/guests/{}", g["id"].as_str().unwrap());
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&app.admin_token),
            Some(json!({"notes": null, "given_name": "伟伟", "preferences": {"pillow": "firm"}, "phones": [{"number": "13800000001"}]})),
            &[("if-match", "\"1\""), ("content-type", "application/merge-patch+json")],
        )
        .await;
    let updated = res.assert_status(200).clone();
    assert_eq!(updated["given_name"], "伟伟");
    assert_eq!(updated["notes"], Value::Null);
    assert_eq!(updated["company"], "Acme", "untouched fields stay");
    assert_eq!(updated["tags"], json!(["vip"]));
    assert_eq!(updated["phones"][0]["number"], "+8613800000001");
    assert_eq!(updated["version"], 2);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    // The search index follows the change.
    let found = app
        .get("/api/v1/guests?q=zhangweiwei", &app.admin_token)
        .await;
    assert_eq!(found.body["data"].as_array().unwrap().len(), 1);

    app.send(
        Method::PATCH,
        &path,
        Some(&app.admin_token),
        Some(json!({"notes": "stale"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(412, "version_conflict");
    app.patch(
        &path,
        &app.admin_token,
        json!({"phones": [{"number": "123"}]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.patch(
        &path,
        &app.admin_token,
        json!({"family_name": null, "given_name": null}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.patch(&path, &app.admin_token, json!({"unknown_field": 1}))
        .await
        .assert_problem(422, "validation_failed");
    app.patch(&path, &app.admin_token, json!(["not", "an", "object"]))
        .await
        .assert_problem(400, "invalid_patch");
    let after = app.get(&path, &app.admin_token).await;
    assert_eq!(after.body["version"], 2, "failed patches changed nothing");
    let audit = app
        .get(
            &format!(
                "/api/v1/audit-events?entity_id={}",
                g["id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    let events = audit.assert_status(200)["data"].as_array().unwrap().clone();
    assert_eq!(events[0]["action"], "guest.updated");
    assert_eq!(
        events[0]["changed_fields"],
        json!(["given_name", "phones", "notes", "preferences"])
    );
}

#[tokio::test]
async fn blacklisting_records_who_why_and_when() {
    let app = spawn_app().await;
    let g = app
        .create_guest(&app.admin_token, json!({"family_name": "钱"}))
        .await;
    let id = g["id"].as_str().unwrap();
    let (_, desk) = app.user_with_role("front_desk").await;
    app.post(
        &format!("/api/v1/guests/{id}/blacklist"),
        &desk,
        json!({"category": "fraud", "reason": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/guests/{id}/blacklist"),
        &app.admin_token,
        json!({"category": "fraud", "reason": "  "}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let res = app
        .post(
            &format!("/api/v1/guests/{id}/blacklist"),
            &app.admin_token,
            json!({"category": "property_damage", "reason": "Broke the TV"}),
        )
        .await;
    let b = &res.assert_status(200)["blacklist"];
    assert_eq!(b["category"], "property_damage");
    assert_eq!(b["reason"], "Broke the TV");
    let me = app.get("/api/v1/me", &app.admin_token).await;
    assert_eq!(b["blacklisted_by"], me.body["id"]);
    let res = app
        .delete(&format!("/api/v1/guests/{id}/blacklist"), &app.admin_token)
        .await;
    assert_eq!(res.assert_status(200)["blacklist"], Value::Null);
}
