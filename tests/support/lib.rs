//! Test support: start the real server on port 0 with a database of its
//! own (a fresh SQLite file, or a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set), and talk to it over HTTP.

use crm_api::config::Settings;
use crm_api::Application;
use crm_domain::clock::SystemClock;
use crm_storage::{organizations, users, Database};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

mod audit_check;

pub const ADMIN_EMAIL: &str = "admin@test.example";
pub const ADMIN_PASSWORD: &str = "admin password for tests";
pub const JWT_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-jwt";

/// Where the test's own database lives, and how to remove it.
enum TestDb {
    Sqlite { path: std::path::PathBuf },
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            TestDb::Postgres { admin_url, name } => {
                if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            }
        }
    }
}

pub fn backend_name() -> &'static str {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        "postgresql"
    } else {
        "sqlite"
    }
}

/// A fresh, empty database URL for one test.
fn fresh_database() -> (String, TestDb) {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(admin_url) => {
            let name = format!("hotel_crm_test_{unique}");
            crm_storage::db::keep_openssl_until_exit();
            let mut conn = diesel::PgConnection::establish(&admin_url)
                .expect("TEST_DATABASE_URL must be reachable");
            conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .expect("create test database");
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin_url.clone());
            (
                format!("{base}/{name}"),
                TestDb::Postgres { admin_url, name },
            )
        }
        None => {
            let dir = std::env::temp_dir().join("hotel-crm-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path = dir.join(format!("{unique}.sqlite3"));
            (path.display().to_string(), TestDb::Sqlite { path })
        }
    }
}

pub fn test_settings(database_url: String) -> Settings {
    Settings {
        database_url,
        bind: "127.0.0.1:0".into(),
        jwt_secret: JWT_SECRET.to_vec(),
        jwt_previous_secrets: Vec::new(),
        data_key: vec![42u8; 32],
        data_key_previous: Vec::new(),
        bootstrap_admin_email: Some(ADMIN_EMAIL.into()),
        bootstrap_admin_password: Some(ADMIN_PASSWORD.into()),
        bootstrap_org_name: "Test Hotel".into(),
        db_pool_size: 8,
        access_token_ttl_secs: 900,
        refresh_token_ttl_days: 30,
        workers: Some(2),
        auth_cache_ms: 1000,
        config_cache_ms: 1000,
        pdf_font: None,
        webhook_poll_ms: 50,
        message_http_url: None,
        smtp_url: None,
        smtp_from: "Test Hotel <noreply@hotel.test>".into(),
        webhook_retry_base_ms: 100,
        // Tests run jobs themselves, for the day they choose.
        jobs_interval_secs: 0,
        import_max_bytes: 64 * 1024 * 1024,
        export_max_rows: 1_000_000,
        login_rate_per_min: 120,
        channel_rate_per_min: 60_000,
        idempotency_lease: chrono::Duration::seconds(60),
        delivery_lease: chrono::Duration::seconds(60),
        trusted_proxies: Vec::new(),
        read_database_url: None,
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: Database,
    pub database_url: String,
    /// Token of the bootstrap admin of the first organisation.
    pub admin_token: String,
    pub org_id: String,
    /// What the audit check at the end of the test looks at.
    audit: audit_check::Seen,
    _db: TestDb,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// Reads a response whole: the body as JSON, or as a string when it
    /// is not JSON.
    pub async fn read(res: reqwest::Response) -> Response {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Response {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json")
        );
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        &self.body
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// With `TEST_LOG_FILE` set, the servers of the whole run log there (at
/// `RUST_LOG`, default info) for `tests/pii/scan.py`, which looks for the
/// test guests' personal data in it. Otherwise tests log nothing.
fn init_test_log() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let Some(path) = std::env::var_os("TEST_LOG_FILE") else {
            return;
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("TEST_LOG_FILE can be written");
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            .target(env_logger::Target::Pipe(Box::new(file)))
            .try_init();
    });
}

/// The server with some settings changed (a message gateway, say).
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_log();
    let (database_url, guard) = fresh_database();
    let mut settings = test_settings(database_url.clone());
    change(&mut settings);
    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("the application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().build().expect("client");
    let mut test = TestApp {
        base,
        http,
        db,
        database_url,
        admin_token: String::new(),
        org_id: String::new(),
        audit: Default::default(),
        _db: guard,
    };
    test.admin_token = test.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    test.org_id = test.get("/api/v1/me", &test.admin_token.clone()).await.body["organization"]
        ["id"]
        .as_str()
        .expect("org id")
        .to_string();
    test
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.http.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let res = Response::read(req.send().await.expect("request sent")).await;
        self.audit.remember(&method, path, body.as_ref(), &res);
        res
    }

    /// For a test that empties the database: nothing it did before is
    /// looked for in the audit log.
    pub fn forget_audited_requests(&self) {
        self.audit.forget();
    }

    /// A response to a request the test sent itself (XML, multipart):
    /// the audit check at the end looks at it like at those sent by `send`.
    pub fn remember(&self, method: &Method, path: &str, res: &Response) {
        self.audit.remember(method, path, None, res);
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    pub async fn token_request(&self, body: Value) -> Response {
        self.send(Method::POST, "/api/v1/auth/token", None, Some(body), &[])
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .token_request(json!({"grant_type": "password", "email": email, "password": password}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "login as {email}: {}", res.body);
        res.body["access_token"]
            .as_str()
            .expect("access token")
            .to_string()
    }

    /// Creates a staff user with `role` in the admin's organisation and
    /// returns (user id, access token).
    pub async fn user_with_role(&self, role: &str) -> (String, String) {
        let email = format!("{role}-{}@test.example", uuid::Uuid::now_v7().simple());
        let password = "a good long password";
        let res = self
            .post(
                "/api/v1/users",
                &self.admin_token,
                json!({"email": email, "display_name": role, "role": role, "password": password}),
            )
            .await;
        let id = res.assert_status(201)["id"]
            .as_str()
            .expect("id")
            .to_string();
        (id, self.login(&email, password).await)
    }

    /// An integration client's token.
    pub async fn integration_token(&self) -> String {
        let res = self
            .post(
                "/api/v1/clients",
                &self.admin_token,
                json!({"name": "Channel manager"}),
            )
            .await;
        let body = res.assert_status(201);
        let res = self
            .token_request(json!({
                "grant_type": "client_credentials",
                "client_id": body["client_id"],
                "client_secret": body["client_secret"],
            }))
            .await;
        res.assert_status(200)["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// A second organisation with its own admin, created the way the
    /// `create-org` and `create-user` commands do; returns its admin token.
    pub async fn other_organization_admin(&self) -> String {
        let now = chrono::Utc::now();
        let org = crm_api::bootstrap::new_organization("Rival Hotel", "CN", now);
        let email = format!("rival-{}@test.example", uuid::Uuid::now_v7().simple());
        let hash = crm_api::auth::password::hash("rival admin password").expect("hash");
        let user = crm_api::bootstrap::new_user(
            &org.id,
            &email,
            crm_domain::role::Role::Admin,
            hash,
            false,
            now,
        );
        self.db
            .write(|conn| {
                organizations::insert(conn, &org)?;
                users::insert(conn, &user)
            })
            .expect("second organisation");
        self.login(&email, "rival admin password").await
    }

    pub async fn create_guest(&self, token: &str, body: Value) -> Value {
        self.post("/api/v1/guests", token, body)
            .await
            .assert_status(201)
            .clone()
    }
}

/// Every test is an audit check too: when it ends (without failing), each
/// change it made through the API that answered 2xx, and each read of
/// sensitive data, must have left an audit event under its request id.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.audit.check(&self.db);
    }
}
