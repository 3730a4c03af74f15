//! Guest import: CSV in GBK and UTF-8 with BOM, XLSX, recognised Chinese
//! and English headers, presets, dry runs, the problem report, re-runs
//! that create nothing twice, and the refusals.

use crm_tests::*;
use serde_json::{json, Value};

/// A multipart body by hand: (field name, file name, bytes).
pub async fn upload(
    app: &TestApp,
    token: &str,
    parts: &[(&str, Option<&str>, Vec<u8>)],
) -> Response {
    let boundary = "hotelcrmboundary7MA4YWxkTrZu0gW";
    let mut body: Vec<u8> = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = app
        .http
        .post(app.url("/api/v1/imports"))
        .bearer_auth(token)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("sent");
    let res = Response::read(res).await;
    app.remember(&reqwest::Method::POST, "/api/v1/imports", &res);
    res
}

/// Waits for a job to finish.
pub async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..300 {
        let j = app
            .get(&format!("/api/v1/imports/{id}"), &app.admin_token)
            .await;
        let status = j.body["status"].as_str().unwrap_or_default().to_string();
        if status == "completed" || status == "failed" {
            return j.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("import {id} did not finish");
}

async fn import(app: &TestApp, file: &str, bytes: Vec<u8>, extra: &[(&str, &str)]) -> Value {
    let mut parts = vec![("file", Some(file), bytes)];
    for (k, v) in extra {
        parts.push((k, None, v.as_bytes().to_vec()));
    }
    let r = upload(app, &app.admin_token, &parts).await;
    let id = r.assert_status(202)["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), Some(format!("/api/v1/imports/{id}")));
    finished(app, &id).await
}

async fn report(app: &TestApp, id: &str) -> String {
    let r = app
        .get(&format!("/api/v1/imports/{id}/report"), &app.admin_token)
        .await;
    assert_eq!(r.status, 200);
    r.body.as_str().unwrap_or_default().to_string()
}

async fn guest_count(app: &TestApp) -> usize {
    app.get("/api/v1/guests?limit=200", &app.admin_token)
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .len()
}

const SHEET: &str = "客户编号,姓名,手机号,邮箱,出生日期,性别,身份证号码,标签\n\
    G001,张伟,138 1234 5678,ZW@Example.com,1988/4/12,男,11010519491231002X,商务;VIP\n\
    G002,欧阳娜娜,13900000002,,19900105,女,,\n\
    G003,李雷,12345,not-an-email,1990-13-45,男,,\n\
    ,,,,,,,\n";

#[tokio::test]
async fn a_gbk_csv_imports_once_with_its_problems_reported() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let (gbk, _, _) = encoding_rs::GBK.encode(SHEET);
    let before = guest_count(&app).await;

    // A dry run counts and reports, and writes no guest.
    let dry = import(&app, "客户.csv", gbk.to_vec(), &[("dry_run", "true")]).await;
    assert_eq!(dry["status"], "completed", "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["encoding"], "gb18030");
    assert_eq!(
        (
            dry["rows_read"].as_i64(),
            dry["created_count"].as_i64(),
            dry["failed_count"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(guest_count(&app).await, before);
    let mapping = dry["mapping"].as_array().unwrap();
    assert_eq!(
        mapping[0],
        json!({"header": "客户编号", "field": "external_id"})
    );
    assert_eq!(mapping[2], json!({"header": "手机号", "field": "phone"}));

    let job = import(&app, "客户.csv", gbk.to_vec(), &[]).await;
    assert_eq!(
        (
            job["created_count"].as_i64(),
            job["failed_count"].as_i64(),
            job["skipped_count"].as_i64()
        ),
        (Some(2), Some(1), Some(0)),
        "{job}"
    );
    assert_eq!(job["progress_percent"], 100);
    // The report names the row and the columns, never the values.
    let csv = report(&app, job["id"].as_str().unwrap()).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,column,code,message");
    assert!(lines.iter().any(|l| l.starts_with("4,手机号,")), "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("4,邮箱,")), "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("4,出生日期,")), "{csv}");
    assert!(
        !csv.contains("not-an-email") && !csv.contains("12345,"),
        "{csv}"
    );
    assert_eq!(guest_count(&app).await, before + 2);

    // The imported profile: split name, E.164, lower-case e-mail, tags,
    // a masked document findable by its number.
    let found = app.get("/api/v1/guests?q=zhangwei", t).await;
    let g = found.body["data"][0].clone();
    assert_eq!(
        (g["family_name"].as_str(), g["given_name"].as_str()),
        (Some("张"), Some("伟"))
    );
    assert_eq!(g["phones"][0]["number"], "+8613812345678");
    assert_eq!(g["emails"][0]["address"], "zw@example.com");
    assert_eq!(g["birthday"], "1988-04-12");
    assert_eq!(g["gender"], "male");
    assert_eq!(g["tags"], json!(["商务", "vip"]));
    let docs = app
        .get(
            &format!(
                "/api/v1/guests/{}/identity-documents",
                g["id"].as_str().unwrap()
            ),
            t,
        )
        .await;
    let masked = docs.body["data"][0]["number_masked"].as_str().unwrap();
    assert!(!masked.contains("19491231"), "{masked}");
    let by_doc = app
        .get("/api/v1/guests?document_number=11010519491231002X", t)
        .await;
    assert_eq!(by_doc.body["data"][0]["id"], g["id"]);
    let ouyang = app.get("/api/v1/guests?q=ouyang", t).await;
    assert_eq!(ouyang.body["data"][0]["family_name"], "欧阳");

    // The same file again creates nothing.
    let again = import(&app, "客户.csv", gbk.to_vec(), &[]).await;
    assert_eq!(
        (
            again["created_count"].as_i64(),
            again["skipped_count"].as_i64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(guest_count(&app).await, before + 2);
    // Export shows where the profile came from.
    let export = app
        .get(
            &format!("/api/v1/guests/{}/export", g["id"].as_str().unwrap()),
            t,
        )
        .await;
    assert_eq!(export.body["import_sources"][0]["source_key"], "ext:G001");
}

#[tokio::test]
async fn xlsx_and_bom_csv_with_a_preset_and_english_headers() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    // A preset for an old PMS export whose headers recognition misses.
    let preset = app
        .post("/api/v1/import-presets", t, json!({"name": "Old PMS", "mapping": [
            {"header": "会员卡号", "field": "external_id"}, {"header": "联系方式", "field": "phone"}]}))
        .await;
    let preset_id = preset.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        "/api/v1/import-presets",
        t,
        json!({"name": "Old PMS", "mapping": [{"header": "x", "field": "notes"}]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/import-presets",
        t,
        json!({"name": "Bad", "mapping": [{"header": "x", "field": "shoe_size"}]}),
    )
    .await
    .assert_problem(422, "validation_failed");

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["会员卡号", "客人姓名", "联系方式", "生日", "城市"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "VIP-9").unwrap();
    sheet.write_string(1, 1, "王芳").unwrap();
    // Excel keeps phone numbers as numbers and dates as serials.
    sheet.write_number(1, 2, 13700000001.0).unwrap();
    sheet.write_number(1, 3, 32245.0).unwrap();
    sheet.write_string(1, 4, "杭州").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let job = import(
        &app,
        "members.xlsx",
        bytes.clone(),
        &[("preset_id", &preset_id)],
    )
    .await;
    assert_eq!(job["format"], "xlsx");
    assert_eq!(job["created_count"], 1, "{job}");
    let g = app.get("/api/v1/guests?q=13700000001", t).await.body["data"][0].clone();
    assert_eq!(g["family_name"], "王");
    assert_eq!(g["birthday"], "1988-04-12");
    assert_eq!(g["address"]["city"], "杭州");
    let again = import(&app, "members.xlsx", bytes, &[("preset_id", &preset_id)]).await;
    assert_eq!(again["skipped_count"], 1);

    // UTF-8 with a BOM, English headers, semicolons, no external id: the
    // row's content is its key.
    let csv = "\u{feff}First Name;Last Name;E-Mail;Date of Birth;Mobile\nJohn;Smith;john@example.com;1975-02-03;+44 20 7946 0958\n";
    let job = import(&app, "guests.csv", csv.as_bytes().to_vec(), &[]).await;
    assert_eq!(job["encoding"], "utf-8");
    assert_eq!(job["created_count"], 1, "{job}");
    let again = import(&app, "guests.csv", csv.as_bytes().to_vec(), &[]).await;
    assert_eq!(again["skipped_count"], 1);

    // No name column: the job fails and says why; nothing is written.
    let job = import(
        &app,
        "bad.csv",
        b"phone,email\n13800000000,a@b.cn\n".to_vec(),
        &[],
    )
    .await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("name"), "{job}");

    // Refusals: not multipart, no file, unknown form field, a mapping that
    // is not JSON, another organisation's job, a role without the right.
    let r = app.post("/api/v1/imports", t, json!({"file": "x"})).await;
    r.assert_problem(415, "unsupported_media_type");
    upload(&app, t, &[("dry_run", None, b"true".to_vec())])
        .await
        .assert_problem(422, "validation_failed");
    upload(
        &app,
        t,
        &[
            ("file", Some("a.csv"), b"x".to_vec()),
            ("colour", None, b"red".to_vec()),
        ],
    )
    .await
    .assert_problem(422, "validation_failed");
    upload(
        &app,
        t,
        &[
            ("file", Some("a.csv"), b"x".to_vec()),
            ("mapping", None, b"{".to_vec()),
        ],
    )
    .await
    .assert_problem(422, "validation_failed");
    let (_, desk) = app.user_with_role("front_desk").await;
    upload(&app, &desk, &[("file", Some("a.csv"), b"x".to_vec())])
        .await
        .assert_problem(403, "forbidden");
    let rival = app.other_organization_admin().await;
    let id = job["id"].as_str().unwrap();
    app.get(&format!("/api/v1/imports/{id}"), &rival)
        .await
        .assert_problem(404, "import_not_found");
    app.get(&format!("/api/v1/import-presets/{preset_id}"), &rival)
        .await
        .assert_problem(404, "preset_not_found");
    let list = app.get("/api/v1/imports", t).await;
    assert_eq!(list.assert_status(200)["data"].as_array().unwrap().len(), 5);
    app.delete(&format!("/api/v1/import-presets/{preset_id}"), t)
        .await;
    app.get(&format!("/api/v1/import-presets/{preset_id}"), t)
        .await
        .assert_problem(404, "preset_not_found");
}
