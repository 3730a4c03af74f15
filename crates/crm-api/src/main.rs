//! `hotel-crm`: serve the API, migrate, print the spec, and the admin
//! commands an operator needs before the first login.

use clap::{Parser, Subcommand};
use crm_api::auth::password;
use crm_api::bootstrap::{new_organization, new_user};
use crm_api::config::Settings;
use crm_api::jobs::{self, Job};
use crm_api::Application;
use crm_domain::clock::{Clock, SystemClock};
use crm_domain::role::Role;
use crm_domain::values::{CountryCode, Email};
use crm_storage::{api_clients, guests, migrations, organizations, users, Database};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "hotel-crm",
    version,
    about = "Guest relationship and contract platform for hotels and B&Bs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending migrations, or revert them all.
    Migrate {
        #[arg(long)]
        revert_all: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Create an organisation (tenant).
    CreateOrg {
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 default country.
        #[arg(long, default_value = "CN")]
        country: String,
    },
    /// Create a staff user; prints a generated password when none is given.
    CreateUser {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long, env = "HOTEL_CRM_NEW_USER_PASSWORD")]
        password: Option<String>,
    },
    /// Create an integration client; prints its id and secret once.
    CreateClient {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Channel codes it may push reservations as, comma-separated.
        #[arg(long, value_delimiter = ',')]
        channels: Vec<String>,
    },
    /// Run a job now: loyalty-review, points-expiry or loyalty-audit.
    Jobs {
        #[command(subcommand)]
        action: JobAction,
    },
    /// A realistic data set: properties, guests, three years of
    /// reservations and stays, loyalty members and points, insights.
    SeedDemo {
        /// The organisation (default: the first one).
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        guests: u64,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Guests per transaction.
        #[arg(long, default_value_t = 2_000)]
        batch: u64,
    },
    /// Import guests from a CSV (UTF-8, GBK/GB18030…) or XLSX file.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Generate synthetic guests (benchmarks and demos).
    SeedGuests {
        #[arg(long)]
        org: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Guest profiles: one row per guest; column headers in Chinese or
    /// English are recognised (姓名, 手机号, 邮箱, 证件号码, name, phone …).
    Guests {
        file: std::path::PathBuf,
        /// The organisation (default: the only one).
        #[arg(long)]
        org: Option<String>,
        /// Validate and count, write nothing but the report.
        #[arg(long)]
        dry_run: bool,
        /// A saved mapping (import preset id) to apply.
        #[arg(long)]
        preset: Option<String>,
        /// A column's field, overriding recognition: `--map "会员卡号=external_id"`.
        #[arg(long = "map", value_name = "HEADER=FIELD")]
        map: Vec<String>,
        /// Write the per-row problem report (CSV) here.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum JobAction {
    /// Run one job over every organisation and print what it did.
    Run {
        /// loyalty-review, points-expiry, loyalty-audit, contract-lifecycle,
        /// contract-alerts, guest-insights, guest-insights-full, ticket-sla,
        /// birthday-messages, pre-arrival-messages or points-expiring-messages
        job: String,
        /// The day to run it for (default: today, UTC).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", crm_api::openapi::spec_pretty());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hotel-crm: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Serve => serve(settings),
        other => admin(settings, other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotel-crm: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let bind = settings.bind.clone();
        let backend = crm_storage::Backend::from_url(&settings.database_url).name();
        let app = Application::build(settings, Arc::new(SystemClock))
            .await
            .map_err(|e| e.to_string())?;
        log::info!("hotel-crm listening on {bind} ({backend}); Swagger UI at /swagger-ui/");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn admin(settings: Settings, command: Command) -> Result<(), String> {
    let db = Database::connect(&settings.database_url, 2).map_err(|e| e.to_string())?;
    if let Command::Migrate { revert_all: true } = command {
        let reverted = migrations::revert_all(&db).map_err(|e| e.to_string())?;
        println!("reverted {} migration(s)", reverted.len());
        return Ok(());
    }
    let applied = migrations::run_pending(&db).map_err(|e| e.to_string())?;
    let now = SystemClock.now();
    match command {
        Command::Migrate { .. } => println!("applied {} migration(s)", applied.len()),
        Command::CreateOrg { name, country } => {
            let country =
                CountryCode::parse(&country).map_err(|_| "invalid --country".to_string())?;
            let org = new_organization(name.trim(), country.as_str(), now);
            db.write(|conn| organizations::insert(conn, &org))
                .map_err(|e| e.to_string())?;
            println!("{}", org.id);
        }
        Command::CreateUser {
            org,
            email,
            role,
            password: given,
        } => {
            let email = Email::parse(&email).map_err(|_| "invalid --email".to_string())?;
            let role: Role = role.parse()?;
            if !role.is_staff() {
                return Err("integration is a client role: use create-client".into());
            }
            let (secret, generated) = match given {
                Some(p) => {
                    password::check_policy(&p, email.as_str())?;
                    (p, false)
                }
                None => (password::generate(), true),
            };
            let hash = password::hash(&secret).map_err(|e| e.to_string())?;
            let user = new_user(&org, email.as_str(), role, hash, generated, now);
            db.write(|conn| {
                organizations::find(conn, &org)?;
                users::insert(conn, &user)
            })
            .map_err(|e| e.to_string())?;
            println!("user {}", user.id);
            if generated {
                println!("temporary password (shown once): {secret}");
            }
        }
        Command::CreateClient {
            org,
            name,
            channels,
        } => {
            let grants = crm_domain::channel::ClientGrants {
                channels,
                property_ids: None,
            }
            .normalised()
            .map_err(|_| "invalid --channels".to_string())?;
            let secret = crm_api::crypto::random_token(32);
            let client = api_clients::ApiClient {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                name: name.trim().to_string(),
                secret_hash: password::hash(&secret).map_err(|e| e.to_string())?,
                role: Role::Integration,
                grants,
                disabled_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            db.write(|conn| {
                organizations::find(conn, &org)?;
                api_clients::insert(conn, &client)
            })
            .map_err(|e| e.to_string())?;
            println!("client_id {}", client.id);
            println!("client_secret (shown once) {secret}");
        }
        Command::SeedGuests { org, count } => seed_guests(&db, &org, count, now)?,
        Command::Import {
            what:
                ImportWhat::Guests {
                    file,
                    org,
                    dry_run,
                    preset,
                    map,
                    report,
                },
        } => import_guests(&db, &settings, &file, org, dry_run, preset, &map, report)?,
        Command::SeedDemo {
            org,
            guests,
            seed,
            batch,
        } => {
            // On an empty database, the same first organisation and admin
            // as the server's first start.
            crm_api::bootstrap::ensure_first_organization(&db, &settings, now)
                .map_err(|e| e.to_string())?;
            let org = match org {
                Some(o) => o,
                None => db
                    .read(organizations::list_all)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .next()
                    .map(|o| o.id)
                    .ok_or("no organisation: start the server once, or create-org")?,
            };
            let opts = crm_api::demo::DemoOptions {
                org_id: org,
                guests,
                seed,
                today: now.date_naive(),
                now,
                batch: batch.clamp(1, 100_000),
            };
            let bar = indicatif::ProgressBar::new(guests);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} guests ({per_sec}, eta {eta})",
                )
                .map_err(|e| e.to_string())?,
            );
            let started = std::time::Instant::now();
            let report = crm_api::demo::seed(&db, &opts, |done| bar.set_position(done))
                .map_err(|e| e.to_string())?;
            bar.finish();
            println!(
                "seed-demo: {} guests, {} reservations, {} stays, {} rows in {:.1}s",
                report.guests,
                report.reservations,
                report.stays,
                report.rows,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Jobs {
            action: JobAction::Run { job, .. },
        } if job == "reencrypt" => {
            let cipher = crm_api::crypto::DataCipher::with_previous(
                &settings.data_key,
                &settings.data_key_previous,
            );
            let started = std::time::Instant::now();
            let done = crm_api::rekey::reencrypt(&db, &cipher).map_err(|e| e.detail)?;
            println!(
                "reencrypt: {} identity documents checked, {} and {} webhook secrets rewritten under the current key in {:.1}s",
                done.documents_checked,
                done.documents_rewritten,
                done.secrets_rewritten,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Jobs {
            action: JobAction::Run { job, date },
        } => run_job(&db, &job, date.unwrap_or(now.date_naive()), now)?,
        Command::Serve | Command::Openapi => unreachable!("handled in main"),
    }
    Ok(())
}

/// Deterministic synthetic guests: Chinese and Latin names, a mobile phone
/// and an e-mail each. Batched in transactions of 1,000.
fn seed_guests(
    db: &Database,
    org: &str,
    count: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    use crm_domain::guest::{EmailEntry, EmailKind, GuestDraft, PhoneEntry, PhoneKind};
    const FAMILY: [&str; 20] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
        "郭", "何", "高", "林", "罗",
    ];
    const GIVEN: [&str; 20] = [
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
        "明", "超", "秀英", "霞", "平",
    ];
    db.read(|conn| organizations::find(conn, org))
        .map_err(|e| e.to_string())?;
    let region = CountryCode::parse("CN").ok();
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(1000);
        db.write(|conn| {
            for i in done..done + batch {
                let draft = GuestDraft {
                    family_name: Some(FAMILY[i % 20].into()),
                    given_name: Some(format!("{}{}", GIVEN[(i / 20) % 20], GIVEN[(i / 400) % 20])),
                    phones: Some(vec![PhoneEntry {
                        number: format!("+86139{:08}", i),
                        kind: PhoneKind::Mobile,
                    }]),
                    emails: Some(vec![EmailEntry {
                        address: format!("guest{i}@example.com"),
                        kind: EmailKind::Personal,
                    }]),
                    ..Default::default()
                };
                let profile = draft
                    .parse(region, now.date_naive())
                    .map_err(|e| crm_storage::StorageError::Corrupt(format!("{e:?}")))?;
                let guest = guests::Guest {
                    id: crm_domain::id::new_id().to_string(),
                    org_id: org.to_string(),
                    profile,
                    blacklist: None,
                    erased_at: None,
                    merged_into: None,
                    merged_at: None,
                    version: 1,
                    created_by: "seed".into(),
                    created_at: now,
                    updated_at: now,
                };
                guests::insert(conn, &guest)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        done += batch;
    }
    println!("seeded {count} guests");
    Ok(())
}

fn run_job(
    db: &Database,
    name: &str,
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let job = Job::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Job::ALL.iter().map(|j| j.name()).collect();
        format!("unknown job `{name}`; one of: {}", names.join(", "))
    })?;
    let started = std::time::Instant::now();
    let report = jobs::run(db, job, today, now).map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    match job {
        Job::LoyaltyReview => println!(
            "loyalty-review: {} members reviewed, {} tier changes in {secs:.1}s",
            report.processed, report.changed
        ),
        Job::PointsExpiry => println!(
            "points-expiry: {} lots expired, {} points in {secs:.1}s",
            report.processed, report.changed
        ),
        Job::LoyaltyAudit => {
            println!(
                "loyalty-audit: {} members checked, {} discrepancies in {secs:.1}s",
                report.processed,
                report.discrepancies.len()
            );
            for d in &report.discrepancies {
                println!(
                    "  member {}: balance {}, ledger {}, lots {}",
                    d.member_id, d.balance, d.ledger, d.lots
                );
            }
            if !report.discrepancies.is_empty() {
                return Err("the ledger and the balances disagree".into());
            }
        }
        Job::DuplicateScan | Job::DuplicateScanFull => println!(
            "{}: {} guests compared, {} new candidate pairs in {secs:.1}s",
            job.name(),
            report.processed,
            report.changed
        ),
        Job::Retention => println!(
            "retention: {} guests anonymised in {secs:.1}s",
            report.changed
        ),
        Job::Campaigns => println!(
            "campaigns: {} segment members considered, {} campaigns completed in {secs:.1}s",
            report.processed, report.changed
        ),
        Job::ContractLifecycle => println!(
            "contract-lifecycle: {} open contracts checked, {} activated or expired in {secs:.1}s",
            report.processed, report.changed
        ),
        Job::GuestInsights | Job::GuestInsightsFull => println!(
            "{}: {} guests recomputed in {secs:.1}s",
            job.name(),
            report.processed
        ),
        Job::ContractAlerts => println!(
            "contract-alerts: {} organisations scanned, {} alerts raised in {secs:.1}s",
            report.processed, report.changed
        ),
        Job::BirthdayMessages => println!(
            "birthday-messages: {} guests born today considered in {secs:.1}s",
            report.processed
        ),
        Job::PreArrivalMessages => println!(
            "pre-arrival-messages: {} reservations considered in {secs:.1}s",
            report.processed
        ),
        Job::PointsExpiringMessages => println!(
            "points-expiring-messages: {} members considered in {secs:.1}s",
            report.processed
        ),
        Job::TicketSla => println!(
            "ticket-sla: {} tickets due, {} escalated in {secs:.3}s",
            report.processed, report.changed
        ),
    }
    Ok(())
}

/// `hotel-crm import guests FILE`: the API's import, with a progress bar
/// and a summary.
#[allow(clippy::too_many_arguments)]
fn import_guests(
    db: &Database,
    settings: &Settings,
    file: &std::path::Path,
    org: Option<String>,
    dry_run: bool,
    preset: Option<String>,
    map: &[String],
    report: Option<std::path::PathBuf>,
) -> Result<(), String> {
    use crm_api::import;
    let orgs = db
        .read(organizations::list_all)
        .map_err(|e| e.to_string())?;
    let org = match org {
        Some(o) => orgs
            .iter()
            .find(|x| x.id == o)
            .map(|x| x.id.clone())
            .ok_or("no such --org")?,
        None if orgs.len() == 1 => orgs.first().map(|o| o.id.clone()).unwrap_or_default(),
        None => return Err("several organisations: name one with --org".into()),
    };
    let mut overrides = Vec::new();
    if let Some(p) = &preset {
        let found = db
            .read(|conn| crm_storage::imports::find_preset(conn, &org, p))
            .map_err(|_| "no such --preset".to_string())?;
        let entries: Vec<import::MappingEntry> =
            serde_json::from_str(&found.mapping).map_err(|e| e.to_string())?;
        overrides = import::overrides_of(&entries);
    }
    for m in map {
        let (header, field) = m
            .rsplit_once('=')
            .ok_or_else(|| format!("--map {m}: expected HEADER=FIELD"))?;
        let field = crm_domain::import::ImportField::parse(field.trim())
            .ok_or_else(|| format!("--map {m}: unknown field {field}"))?;
        overrides.push((header.trim().to_string(), field));
    }
    let size = std::fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    let format = import::Format::sniff(file).map_err(|e| e.to_string())?;
    let now = SystemClock.now();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut job = import::new_job(
        &org, "cli", &name, format, size, dry_run, preset, "cli", now,
    );
    db.write(|conn| crm_storage::imports::insert_job(conn, &job))
        .map_err(|e| e.to_string())?;
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} {msg}",
        )
        .map_err(|e| e.to_string())?,
    );
    let cipher =
        crm_api::crypto::DataCipher::with_previous(&settings.data_key, &settings.data_key_previous);
    let started = std::time::Instant::now();
    let result = import::run(
        db,
        &cipher,
        &mut job,
        file,
        &import::Options { overrides },
        || SystemClock.now(),
        &mut |j| {
            bar.set_position(u64::try_from(j.processed_bytes).unwrap_or(0));
            bar.set_message(format!(
                "{} rows, {} created, {} skipped, {} with problems",
                j.rows_read, j.created_count, j.skipped_count, j.failed_count
            ));
        },
    );
    bar.finish_and_clear();
    result.map_err(|e| e.detail.clone())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import {} {}: {} rows in {:.1} s ({:.0} rows/s); {} {}, {} already imported, {} with problems{}",
        job.id,
        job.status,
        job.rows_read,
        secs,
        f64::from(job.rows_read) / secs.max(0.001),
        job.created_count,
        if dry_run { "would be created" } else { "created" },
        job.skipped_count,
        job.failed_count,
        job.error.as_deref().map(|e| format!("; {e}")).unwrap_or_default(),
    );
    if let Some(path) = report {
        let mut out = csv::Writer::from_path(&path).map_err(|e| e.to_string())?;
        crm_api::import::write_report(db, &org, &job.id, &mut out).map_err(|e| e.detail.clone())?;
        println!("problem report: {}", path.display());
    }
    if job.status == "failed" {
        return Err(job.error.unwrap_or_else(|| "import failed".into()));
    }
    Ok(())
}
