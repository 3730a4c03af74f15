use crm_tests::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP receiver on loopback: the first request gets a 500, the
/// rest a 200.
pub(crate) fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/hotel-crm", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let n = {
                let mut all = seen.lock().unwrap();
                all.push(Received {
                    headers,
                    body: String::from_utf8(body).unwrap(),
                });
                all.len()
            };
            let status = if n == 1 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (url, got)
}

pub(crate) async fn wait_for(got: &Arc<Mutex<Vec<Received>>>, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        {
            let all = got.lock().unwrap();
            if all.len() >= n {
                return all.clone();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    got.lock().unwrap().clone()
}

#[tokio::test]
async fn events_are_delivered_signed_and_retried_until_accepted() {
    let app = spawn_app().await;
    let (url, got) = receiver();
    let secret = "a-test-secret-for-webhooks";
    let created = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": url, "event_types": ["guest.created"], "secret": secret}),
        )
        .await;
    let hook = created.assert_status(201).clone();
    assert_eq!(hook["secret"], secret);
    let listed = app.get("/api/v1/webhooks", &app.admin_token).await;
    assert!(listed.body["data"][0].get("secret").is_none(), "shown once");

    let guest = app
        .create_guest(
            &app.admin_token,
            json!({"family_name": "张", "given_name": "伟"}),
        )
        .await;
    // Not subscribed: nothing is sent for it.
    app.patch(
        &format!("/api/v1/guests/{}", guest["id"].as_str().unwrap()),
        &app.admin_token,
        json!({"notes": "x"}),
    )
    .await
    .assert_status(200);

    let received = wait_for(&got, 2).await;
    assert_eq!(received.len(), 2, "a failed first attempt, then a retry");
    assert_eq!(
        received[0].body, received[1].body,
        "the retry sends the same event"
    );
    let r = &received[1];
    assert_eq!(r.header("x-hotel-crm-event"), Some("guest.created"));
    let event: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(event["type"], "guest.created");
    assert_eq!(event["data"]["id"], guest["id"]);
    assert!(
        event.get("data").unwrap().get("family_name").is_none(),
        "ids only"
    );
    let sig = r.header("x-hotel-crm-signature").unwrap();
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t = t.trim_start_matches("t=");
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected);

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "delivered once accepted, and guest.updated never"
    );
    let log = app
        .get(
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                hook["id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    let d = &log.assert_status(200)["data"][0];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["last_status_code"], 200);
    assert_eq!(d["event_type"], "guest.created");
}

#[tokio::test]
async fn subscriptions_are_validated_and_private_to_the_organisation() {
    let app = spawn_app().await;
    app.post(
        "/api/v1/webhooks",
        &app.admin_token,
        json!({"url": "ftp://x", "event_types": ["guest.created"]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/webhooks",
        &app.admin_token,
        json!({"url": "https://example.com/h", "event_types": ["guest.deleted"]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let ok = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": "https://example.com/h", "event_types": ["*"]}),
        )
        .await;
    let id = ok.assert_status(201)["id"].as_str().unwrap().to_string();
    assert!(ok.body["secret"].as_str().unwrap().len() >= 32, "generated");
    let paused = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &app.admin_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(paused.assert_status(200)["active"], false);
    let rival = app.other_organization_admin().await;
    app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &rival)
        .await
        .assert_problem(404, "webhook_not_found");
    app.patch(
        &format!("/api/v1/webhooks/{id}"),
        &rival,
        json!({"active": true}),
    )
    .await
    .assert_problem(404, "webhook_not_found");
    assert!(app.get("/api/v1/webhooks", &rival).await.body["data"]
        .as_array()
        .unwrap()
        .is_empty());
}
