//! Configuration from the environment, with defaults that make `make run`
//! work on a bare machine.

use crm_storage::Backend;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "data/hotel-crm.sqlite3";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub jwt_secret: Vec<u8>,
    /// Secrets tokens are still accepted with during a rotation
    /// (`HOTEL_CRM_JWT_PREVIOUS_SECRETS`, comma-separated); new tokens are
    /// signed with `jwt_secret` only.
    pub jwt_previous_secrets: Vec<Vec<u8>>,
    pub data_key: Vec<u8>,
    /// Data keys being rotated out (`HOTEL_CRM_DATA_KEY_PREVIOUS`,
    /// comma-separated): read, never written; `jobs run reencrypt` moves
    /// everything to `data_key`.
    pub data_key_previous: Vec<Vec<u8>>,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<String>,
    pub bootstrap_org_name: String,
    pub db_pool_size: u32,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub workers: Option<usize>,
    /// How long an account's enabled/role state is trusted without a query.
    pub auth_cache_ms: u64,
    /// How long configuration (properties, room types, rate plans,
    /// client grants) is reused without a query.
    pub config_cache_ms: u64,
    /// A TrueType font with Chinese glyphs for contract PDFs; by default
    /// the first of the usual system paths that exists.
    pub pdf_font: Option<String>,
    /// How often the webhook worker looks for due deliveries.
    pub webhook_poll_ms: u64,
    /// Where guest messages go: a generic HTTP gateway, or the log.
    pub message_http_url: Option<String>,
    /// E-mail goes to this SMTP relay (`smtp://host:port`), when set.
    pub smtp_url: Option<String>,
    /// The sender of guest e-mail.
    pub smtp_from: String,
    /// First retry delay of a failed delivery; doubles each attempt.
    pub webhook_retry_base_ms: u64,
    /// How often the loyalty review and points expiry run; 0: never (run
    /// them with `hotel-crm jobs run` instead).
    pub jobs_interval_secs: u64,
    /// The largest import upload accepted (bytes).
    pub import_max_bytes: u64,
    /// The most rows one export may hold (a segment's members); a larger
    /// export is refused, not cut short.
    pub export_max_rows: u64,
    /// Token requests per minute per account or client id, and per IP
    /// (whatever their outcome; failed ones are limited further); 0: off.
    pub login_rate_per_min: u32,
    /// Channel pushes (JSON and OTA) per minute per integration client,
    /// and per IP; 0: off.
    pub channel_rate_per_min: u32,
    /// How long a request holding an Idempotency-Key may run before a
    /// retry may take over its claim (when it had written nothing).
    pub idempotency_lease: chrono::Duration,
    /// How long a node may take to deliver the webhooks or messages it
    /// took before another node (or itself, restarted) takes them over.
    pub delivery_lease: chrono::Duration,
    /// The load balancers and proxies in front of the nodes
    /// (`HOTEL_CRM_TRUSTED_PROXIES`, addresses or CIDR blocks): from them,
    /// and only from them, `X-Forwarded-For` says who the client is.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A PostgreSQL streaming replica for reports, segment counts and
    /// exports (`HOTEL_CRM_READ_DATABASE_URL`); the primary when unset.
    pub read_database_url: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs and panics.
        f.debug_struct("Settings")
            .field("database", &Backend::from_url(&self.database_url).name())
            .field("bind", &self.bind)
            .field("db_pool_size", &self.db_pool_size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set explicitly when running on PostgreSQL")]
    MissingSecret(&'static str),
    #[error("{name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("cannot keep a generated secret in {path}: {why}")]
    SecretFile { path: String, why: String },
}

/// Twice the cores: more connections than that only make the database's
/// processes fight for the CPU (on the 2-core benchmark machine, 16
/// connections raised GET p99 from 3 ms to 100+ ms).
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    u32::try_from(cores * 2).unwrap_or(16).max(4)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_num<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            why: format!("`{v}` is not a number"),
        }),
    }
}

/// A number of seconds, as a duration; more than chrono can hold is a
/// configuration error, not a panic when the duration is first used.
fn parse_secs(name: &'static str, default: u64) -> Result<chrono::Duration, ConfigError> {
    let secs: u64 = parse_num(name, default)?;
    i64::try_from(secs)
        .ok()
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(|| ConfigError::Invalid {
            name,
            why: format!("`{secs}` seconds is too long"),
        })
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let backend = Backend::from_url(&database_url);
        let data_dir = match backend {
            Backend::Sqlite => Path::new(crm_storage::db::sqlite_path(&database_url))
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            Backend::Postgres => PathBuf::from("data"),
        };
        let secret =
            |name: &'static str, file: &str, min_len: usize| -> Result<Vec<u8>, ConfigError> {
                match var(name) {
                    Some(v) => {
                        let bytes = decode_key(&v);
                        if bytes.len() < min_len {
                            return Err(ConfigError::Invalid {
                                name,
                                why: format!("needs at least {min_len} bytes of key material"),
                            });
                        }
                        Ok(bytes)
                    }
                    None if backend == Backend::Postgres => Err(ConfigError::MissingSecret(name)),
                    None => load_or_generate_secret(&data_dir.join(file), name),
                }
            };
        let jwt_secret = secret("HOTEL_CRM_JWT_SECRET", "jwt-secret", 32)?;
        let data_key = secret("HOTEL_CRM_DATA_KEY", "data-key", 32)?;
        Ok(Settings {
            bind: var("HOTEL_CRM_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string()),
            jwt_secret,
            jwt_previous_secrets: key_list("HOTEL_CRM_JWT_PREVIOUS_SECRETS"),
            data_key,
            data_key_previous: key_list("HOTEL_CRM_DATA_KEY_PREVIOUS"),
            bootstrap_admin_email: var("HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL"),
            bootstrap_admin_password: var("HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD"),
            bootstrap_org_name: var("HOTEL_CRM_BOOTSTRAP_ORG_NAME")
                .unwrap_or_else(|| "My Hotel".to_string()),
            db_pool_size: parse_num("HOTEL_CRM_DB_POOL_SIZE", default_pool_size())?,
            access_token_ttl_secs: parse_num("HOTEL_CRM_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl_days: parse_num("HOTEL_CRM_REFRESH_TOKEN_TTL_DAYS", 30)?,
            workers: var("HOTEL_CRM_WORKERS").and_then(|w| w.parse().ok()),
            auth_cache_ms: parse_num("HOTEL_CRM_AUTH_CACHE_MS", 1000)?,
            config_cache_ms: parse_num("HOTEL_CRM_CONFIG_CACHE_MS", 1000)?,
            pdf_font: var("HOTEL_CRM_PDF_FONT"),
            webhook_poll_ms: parse_num("HOTEL_CRM_WEBHOOK_POLL_MS", 1000)?,
            message_http_url: var("HOTEL_CRM_MESSAGE_HTTP_URL"),
            smtp_url: var("HOTEL_CRM_SMTP_URL"),
            smtp_from: var("HOTEL_CRM_SMTP_FROM")
                .unwrap_or_else(|| "hotel-crm <noreply@localhost>".to_string()),
            webhook_retry_base_ms: parse_num("HOTEL_CRM_WEBHOOK_RETRY_BASE_MS", 5000)?,
            jobs_interval_secs: parse_num("HOTEL_CRM_JOBS_INTERVAL_SECS", 3600)?,
            import_max_bytes: parse_num("HOTEL_CRM_IMPORT_MAX_BYTES", 512 * 1024 * 1024)?,
            export_max_rows: parse_num("HOTEL_CRM_EXPORT_MAX_ROWS", 1_000_000)?
                // An XLSX sheet holds 1,048,576 rows, the header included.
                .min(1_048_575),
            login_rate_per_min: parse_num("HOTEL_CRM_LOGIN_RATE_PER_MIN", 120)?,
            channel_rate_per_min: parse_num("HOTEL_CRM_CHANNEL_RATE_PER_MIN", 60_000)?,
            idempotency_lease: parse_secs("HOTEL_CRM_IDEMPOTENCY_LEASE_SECS", 60)?,
            delivery_lease: parse_secs("HOTEL_CRM_DELIVERY_LEASE_SECS", 60)?
                .max(chrono::Duration::seconds(1)),
            trusted_proxies: networks("HOTEL_CRM_TRUSTED_PROXIES")?,
            read_database_url: var("HOTEL_CRM_READ_DATABASE_URL"),
            database_url,
        })
    }
}

/// Comma-separated addresses (`10.0.0.5`) and CIDR blocks (`10.0.0.0/8`).
fn networks(name: &'static str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    name,
                    why: format!("`{s}` is not an address or CIDR block"),
                })
        })
        .collect()
}

/// Keys being rotated out: comma-separated, each decoded as [`decode_key`].
fn key_list(name: &str) -> Vec<Vec<u8>> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(decode_key)
                .collect()
        })
        .unwrap_or_default()
}

/// Keys are given as 64 hex characters or base64 of 32+ bytes; anything
/// else is taken as a passphrase's raw bytes.
pub fn decode_key(text: &str) -> Vec<u8> {
    use base64::Engine;
    let text = text.trim();
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return (0..32)
            .filter_map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok())
            .collect();
    }
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) {
        if bytes.len() >= 32 {
            return bytes;
        }
    }
    text.as_bytes().to_vec()
}

fn load_or_generate_secret(path: &Path, name: &'static str) -> Result<Vec<u8>, ConfigError> {
    use base64::Engine;
    use rand::RngCore;
    let err = |why: String| ConfigError::SecretFile {
        path: path.display().to_string(),
        why,
    };
    if let Ok(text) = std::fs::read_to_string(path) {
        return Ok(decode_key(&text));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    write_private(path, &encoded).map_err(|e| err(e.to_string()))?;
    log::warn!(
        "{name} is not set: generated one and kept it in {} (mode 0600). Set {name} explicitly in production.",
        path.display()
    );
    Ok(bytes.to_vec())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
