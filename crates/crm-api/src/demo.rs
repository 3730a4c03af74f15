//! `hotel-crm seed-demo`: a realistic, deterministic data set for one
//! organisation — four properties, guests with Chinese and international
//! names, phones, e-mails, tags, preferences and consents, three years of
//! reservations from every channel with seasons and weekday patterns,
//! stays, loyalty members with points, and their insights — written in
//! batches with COPY (PostgreSQL) or multi-row INSERTs (SQLite).

use crate::error::ApiError;
use crate::insights::{compute, Inputs};
use crate::state::write_transaction;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use crm_domain::guest::{Gender, GuestDraft};
use crm_domain::reservation::{CancellationFee, CancellationPolicy, MealPlan};
use crm_domain::values::CountryCode;
use crm_storage::bulk::{self, Batch};
use crm_storage::guests::Guest;
use crm_storage::insights::{self as insight_store, StayRecord};
use crm_storage::inventory::{self, RatePlan, RoomType};
use crm_storage::loyalty as loyalty_store;
use crm_storage::properties::{self, Property};
use crm_storage::Database;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

pub struct DemoOptions {
    pub org_id: String,
    pub guests: u64,
    pub seed: u64,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    /// Guests per transaction.
    pub batch: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct DemoReport {
    pub guests: u64,
    pub reservations: u64,
    pub stays: u64,
    pub members: u64,
    pub rows: u64,
}

struct Site {
    property: Property,
    types: Vec<RoomType>,
    plans: Vec<RatePlan>,
    /// Price per night of the first room type in a normal season.
    base_rate: i64,
}

const SITES: &[(&str, &str, &str, i64)] = &[
    (
        "SHA01",
        "外滩精品酒店 The Bund Boutique",
        "Shanghai",
        68_000,
    ),
    (
        "PEK01",
        "国贸商务酒店 Guomao Business Hotel",
        "Beijing",
        58_000,
    ),
    ("HGH01", "西湖畔民宿 Westlake B&B", "Hangzhou", 42_000),
    ("SZX01", "深圳湾酒店 Shenzhen Bay Hotel", "Shenzhen", 52_000),
];

fn ensure_sites(db: &Database, org: &str, now: DateTime<Utc>) -> Result<Vec<Site>, ApiError> {
    let mut sites = Vec::new();
    for (code, name, city, base) in SITES {
        let site = write_transaction(db, |conn| {
            let property = match properties::find_by_code(conn, org, code)? {
                Some(p) => p,
                None => {
                    let p = Property {
                        id: crm_domain::id::new_id().to_string(),
                        org_id: org.to_string(),
                        code: code.to_string(),
                        name: name.to_string(),
                        time_zone: "Asia/Shanghai".into(),
                        currency: "CNY".into(),
                        country: "CN".into(),
                        address: Some(crm_domain::guest::Address {
                            city: Some(city.to_string()),
                            country: Some("CN".into()),
                            ..Default::default()
                        }),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    properties::insert(conn, &p)?;
                    p
                }
            };
            let mut types = inventory::room_types_of(conn, org, &property.id)?;
            if types.is_empty() {
                for (tcode, tname, count, occupancy) in [
                    ("DLK", "豪华大床房 Deluxe King", 60, 3),
                    ("TWN", "高级双床房 Superior Twin", 40, 2),
                    ("FAM", "家庭房 Family Room", 15, 4),
                    ("SUI", "行政套房 Executive Suite", 8, 4),
                ] {
                    let t = RoomType {
                        id: crm_domain::id::new_id().to_string(),
                        org_id: org.to_string(),
                        property_id: property.id.clone(),
                        code: tcode.into(),
                        name: tname.into(),
                        room_count: count,
                        max_occupancy: occupancy,
                        overbooking_percent: 5,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    inventory::insert_room_type(conn, &t)?;
                }
                types = inventory::room_types_of(conn, org, &property.id)?;
            }
            let mut plans = inventory::rate_plans_of(conn, org, &property.id)?;
            if plans.is_empty() {
                for (pcode, pname, meal, policy) in [
                    (
                        "BAR",
                        "弹性价 Flexible",
                        MealPlan::Breakfast,
                        CancellationPolicy::FreeUntil {
                            hours_before_arrival: 24,
                            fee: CancellationFee::FirstNight,
                        },
                    ),
                    (
                        "NRF",
                        "预付不可退 Saver",
                        MealPlan::RoomOnly,
                        CancellationPolicy::NonRefundable,
                    ),
                ] {
                    let p = RatePlan {
                        id: crm_domain::id::new_id().to_string(),
                        org_id: org.to_string(),
                        property_id: property.id.clone(),
                        code: pcode.into(),
                        name: pname.into(),
                        meal_plan: meal,
                        cancellation_policy: policy,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    inventory::insert_rate_plan(conn, &p)?;
                }
                plans = inventory::rate_plans_of(conn, org, &property.id)?;
            }
            Ok(Site {
                property,
                types,
                plans,
                base_rate: *base,
            })
        })?;
        sites.push(site);
    }
    Ok(sites)
}

fn ensure_loyalty(
    db: &Database,
    org: &str,
    now: DateTime<Utc>,
) -> Result<Vec<loyalty_store::Tier>, ApiError> {
    write_transaction(db, |conn| {
        if loyalty_store::program(conn, org)?.is_none() {
            let p = loyalty_store::Program {
                org_id: org.to_string(),
                name: "悦享会 Joy Club".into(),
                currency: "CNY".into(),
                expiry_months: Some(24),
                earn_rates: serde_json::from_value(
                    serde_json::json!({"room": {"points": 1, "per_amount": 100}}),
                )
                .map_err(ApiError::internal)?,
                rounding: crm_domain::loyalty::Rounding::Down,
                qualification_window_months: 12,
                review_period_months: 12,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            loyalty_store::save_program(conn, &p, None)?;
        }
        if loyalty_store::tiers(conn, org)?.is_empty() {
            for t in crate::routes::loyalty::default_tiers(org, now) {
                loyalty_store::insert_tier(conn, &t)?;
            }
        }
        let mut tiers = loyalty_store::tiers(conn, org)?;
        tiers.sort_by_key(|t| t.rank);
        Ok(tiers)
    })
}

const SURNAMES: &[(&str, &str)] = &[
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("高", "Gao"),
    ("林", "Lin"),
    ("罗", "Luo"),
    ("郑", "Zheng"),
    ("梁", "Liang"),
    ("谢", "Xie"),
    ("宋", "Song"),
];
const GIVEN: &[(&str, &str)] = &[
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("勇", "Yong"),
    ("艳", "Yan"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀英", "Xiuying"),
    ("霞", "Xia"),
    ("平", "Ping"),
    ("浩然", "Haoran"),
    ("子涵", "Zihan"),
    ("欣怡", "Xinyi"),
    ("宇轩", "Yuxuan"),
];
const FOREIGN: &[(&str, &str, &str, &str)] = &[
    ("US", "en-US", "Smith", "James"),
    ("US", "en-US", "Johnson", "Emily"),
    ("GB", "en-GB", "Brown", "Oliver"),
    ("GB", "en-GB", "Taylor", "Amelia"),
    ("DE", "de-DE", "Müller", "Lukas"),
    ("FR", "fr-FR", "Martin", "Camille"),
    ("JP", "ja-JP", "Sato", "Haruto"),
    ("JP", "ja-JP", "Suzuki", "Yui"),
    ("KR", "ko-KR", "Kim", "Minjun"),
    ("SG", "en-SG", "Tan", "Wei Ling"),
    ("AU", "en-AU", "Wilson", "Chloe"),
    ("CA", "en-CA", "Roy", "Liam"),
];
const CITIES: &[&str] = &[
    "Shanghai",
    "Beijing",
    "Hangzhou",
    "Shenzhen",
    "Guangzhou",
    "Chengdu",
    "Nanjing",
    "Suzhou",
    "Wuhan",
    "Xi'an",
];
const TAGS: &[&str] = &[
    "商务",
    "vip",
    "亲子",
    "常客",
    "会议",
    "美食",
    "安静房",
    "高楼层",
    "纪念日",
    "宠物",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Persona {
    Business,
    Leisure,
    Family,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// Demand by month: summer, Golden Week and the Spring Festival are high.
fn season_weight(month: u32) -> u32 {
    match month {
        1 | 2 => 9,
        7 | 8 => 14,
        10 => 13,
        4 | 5 => 11,
        11 | 12 => 8,
        _ => 10,
    }
}

/// A date in the last three years (or the next 90 days), by season and
/// by the persona's weekday habit.
fn arrival(rng: &mut StdRng, today: NaiveDate, persona: Persona, future: bool) -> NaiveDate {
    loop {
        let d = if future {
            today + Duration::days(rng.gen_range(1..90))
        } else {
            today - Duration::days(rng.gen_range(1..1095))
        };
        if rng.gen_range(0..14) >= season_weight(d.month()) {
            continue;
        }
        let weekend = matches!(d.weekday(), Weekday::Fri | Weekday::Sat);
        let keep = match persona {
            Persona::Business => !weekend || rng.gen_bool(0.15),
            Persona::Leisure | Persona::Family => weekend || rng.gen_bool(0.35),
        };
        if keep {
            return d;
        }
    }
}

const CHANNELS: &[&str] = &[
    "website",
    "ota",
    "phone",
    "email",
    "travel_agency",
    "walk_in",
    "app",
];

fn channel(rng: &mut StdRng, persona: Persona) -> &'static str {
    let weights: [u32; 7] = match persona {
        Persona::Business => [20, 15, 20, 10, 20, 5, 10],
        Persona::Leisure => [20, 45, 8, 2, 8, 7, 10],
        Persona::Family => [18, 50, 10, 2, 10, 2, 8],
    };
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total);
    for (c, w) in CHANNELS.iter().zip(weights) {
        if x < w {
            return c;
        }
        x -= w;
    }
    "ota"
}

/// Seeds `opts.guests` guests into the organisation; `progress` is told
/// how many guests are written, a few times a second. Batches are
/// generated and written by two workers on their own connections (the
/// database does most of the work, and it has more than one core); each
/// batch draws from its own generator, seeded from `opts.seed` and its
/// number, so the data do not depend on which worker wrote what.
pub fn seed(
    db: &Database,
    opts: &DemoOptions,
    mut progress: impl FnMut(u64),
) -> Result<DemoReport, ApiError> {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let org = &opts.org_id;
    let sites = ensure_sites(db, org, opts.now)?;
    let tiers = ensure_loyalty(db, org, opts.now)?;
    let settings = db.read(|conn| insight_store::settings(conn, org))?;
    let region = CountryCode::parse("CN").ok();
    let batches = opts.guests.div_ceil(opts.batch.max(1));
    let next = AtomicU64::new(0);
    let written = AtomicU64::new(0);
    let finished = AtomicUsize::new(0);
    let failure: Mutex<Option<ApiError>> = Mutex::new(None);
    // Future reservations hold rooms: counted at the end, per night.
    let sold: Mutex<BTreeMap<(String, NaiveDate), i64>> = Mutex::new(BTreeMap::new());
    let report: Mutex<DemoReport> = Mutex::new(DemoReport::default());
    let workers = 2;
    let work = || {
        loop {
            let b = next.fetch_add(1, Ordering::SeqCst);
            if b >= batches || failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                break;
            }
            let first = b * opts.batch;
            let n = opts.batch.min(opts.guests - first);
            let mut rng = StdRng::seed_from_u64(opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b);
            let mut batch = Batch::default();
            let mut local_sold = BTreeMap::new();
            let mut local = DemoReport::default();
            let outcome = (0..n)
                .try_for_each(|i| {
                    generate_guest(
                        &mut rng,
                        opts,
                        org,
                        first + i,
                        &sites,
                        &tiers,
                        &settings,
                        region,
                        &mut batch,
                        &mut local_sold,
                        &mut local,
                    )
                })
                .and_then(|()| write_transaction(db, |conn| Ok(bulk::write(conn, &batch)?)));
            match outcome {
                Ok(rows) => {
                    local.rows = rows as u64;
                    if let Ok(mut r) = report.lock() {
                        r.reservations += local.reservations;
                        r.stays += local.stays;
                        r.members += local.members;
                        r.rows += local.rows;
                    }
                    if let Ok(mut s) = sold.lock() {
                        for (k, v) in local_sold {
                            *s.entry(k).or_default() += v;
                        }
                    }
                    written.fetch_add(n, Ordering::SeqCst);
                }
                Err(e) => {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                    break;
                }
            }
        }
        finished.fetch_add(1, Ordering::SeqCst);
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(work);
        }
        while finished.load(Ordering::SeqCst) < workers {
            progress(written.load(Ordering::SeqCst));
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
    progress(written.load(Ordering::SeqCst));
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let deltas: Vec<(String, NaiveDate, i64)> = sold
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|((t, d), n)| (t, d, n))
        .collect();
    for chunk in deltas.chunks(500) {
        write_transaction(db, |conn| {
            inventory::add_sold_nights(conn, org, chunk)?;
            Ok(())
        })?;
    }
    let mut r = report.into_inner().unwrap_or_else(|p| p.into_inner());
    r.guests = written.load(Ordering::SeqCst);
    Ok(r)
}

#[allow(clippy::too_many_arguments)]
fn generate_guest(
    rng: &mut StdRng,
    opts: &DemoOptions,
    org: &str,
    k: u64,
    sites: &[Site],
    tiers: &[loyalty_store::Tier],
    settings: &crm_storage::insights::AnalyticsSettings,
    region: Option<CountryCode>,
    batch: &mut Batch,
    sold: &mut BTreeMap<(String, NaiveDate), i64>,
    report: &mut DemoReport,
) -> Result<(), ApiError> {
    let today = opts.today;
    let now = opts.now;
    let chinese = rng.gen_bool(0.78);
    let persona = match rng.gen_range(0..10) {
        0..=3 => Persona::Business,
        4..=7 => Persona::Leisure,
        _ => Persona::Family,
    };
    let gender = if rng.gen_bool(0.5) {
        Gender::Female
    } else {
        Gender::Male
    };
    let birthday = rng.gen_bool(0.7).then(|| {
        NaiveDate::from_ymd_opt(
            rng.gen_range(1950..2006),
            rng.gen_range(1..13),
            rng.gen_range(1..29),
        )
        .unwrap_or(today)
    });
    let mut draft = GuestDraft {
        gender: Some(gender),
        birthday,
        ..Default::default()
    };
    if chinese {
        let (f, fl) = pick(rng, SURNAMES);
        let (g, gl) = pick(rng, GIVEN);
        draft.family_name = Some(f.to_string());
        draft.given_name = Some(g.to_string());
        draft.family_name_latin = Some(fl.to_string());
        draft.given_name_latin = Some(gl.to_string());
        draft.nationality = Some("CN".into());
        draft.language = Some("zh-CN".into());
        draft.phones = Some(vec![crm_domain::guest::PhoneEntry {
            number: format!(
                "{}{:08}",
                ["138", "139", "150", "186", "135", "188"][rng.gen_range(0..6)],
                (k * 7919 + 13) % 100_000_000
            ),
            kind: crm_domain::guest::PhoneKind::Mobile,
        }]);
    } else {
        let (country, lang, family, given) = pick(rng, FOREIGN);
        draft.family_name_latin = Some(family.to_string());
        draft.given_name_latin = Some(given.to_string());
        draft.nationality = Some(country.to_string());
        draft.language = Some(lang.to_string());
    }
    if rng.gen_bool(0.65) {
        draft.emails = Some(vec![crm_domain::guest::EmailEntry {
            address: format!("guest{k}@demo.example"),
            kind: crm_domain::guest::EmailKind::Personal,
        }]);
    }
    draft.address = Some(crm_domain::guest::Address {
        city: Some(pick(rng, CITIES).to_string()),
        ..Default::default()
    });
    let mut tags: Vec<String> = Vec::new();
    for _ in 0..rng.gen_range(0..3) {
        let t = pick(rng, TAGS).to_string();
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if persona == Persona::Business && rng.gen_bool(0.5) && !tags.iter().any(|t| t == "商务") {
        tags.push("商务".into());
    }
    draft.tags = Some(tags);
    draft.resident = Some(rng.gen_bool(0.01));
    let profile = draft.parse(region, today).map_err(ApiError::from)?;
    let created = now - Duration::days(rng.gen_range(30..1200));
    let guest = Guest {
        id: crm_domain::id::new_id().to_string(),
        org_id: org.to_string(),
        profile,
        blacklist: None,
        erased_at: None,
        merged_into: None,
        merged_at: None,
        version: 1,
        created_by: "seed-demo".into(),
        created_at: created,
        updated_at: created,
    };
    let (row, tags, terms) = crm_storage::guests::bulk_rows(&guest)?;
    batch.guests.push(row);
    batch.tags.extend(tags);
    batch.terms.extend(terms);

    // Consents.
    let mut granted = Vec::new();
    for (key, purpose, channel, p) in [
        ("marketing_email", "marketing", Some("email"), 0.45),
        ("marketing_sms", "marketing", Some("sms"), 0.35),
        ("marketing_wechat", "marketing", Some("wechat"), 0.30),
    ] {
        if rng.gen_bool(p) {
            granted.push(key.to_string());
            batch.consents.push(bulk::ConsentRow {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.to_string(),
                guest_id: guest.id.clone(),
                purpose: purpose.into(),
                channel: channel.map(String::from),
                status: "granted".into(),
                source: "registration_card".into(),
                recorded_by: "seed-demo".into(),
                recorded_at: created.naive_utc(),
            });
        }
    }
    let withdrew_profiling = rng.gen_bool(0.02);
    if withdrew_profiling {
        batch.consents.push(bulk::ConsentRow {
            id: crm_domain::id::new_id().to_string(),
            org_id: org.to_string(),
            guest_id: guest.id.clone(),
            purpose: "profiling".into(),
            channel: None,
            status: "withdrawn".into(),
            source: "guest_request".into(),
            recorded_by: "seed-demo".into(),
            recorded_at: created.naive_utc(),
        });
    }

    // Reservations: most guests stay once or twice, a few very often.
    let home = &sites[(k as usize) % sites.len()];
    let count = match rng.gen_range(0..100) {
        0..=9 => 0,
        10..=44 => 1,
        45..=64 => 2,
        65..=79 => 3,
        80..=89 => rng.gen_range(4..7),
        _ => rng.gen_range(7..16),
    };
    let mut stays: Vec<StayRecord> = Vec::new();
    let mut stats = (
        0i32,
        0i32,
        0i64,
        BTreeMap::<String, i32>::new(),
        None::<NaiveDate>,
        None::<NaiveDate>,
    );
    let future = rng.gen_bool(0.06);
    for s in 0..count + usize::from(future) {
        let is_future = s == count;
        let site = if rng.gen_bool(0.8) {
            home
        } else {
            pick(rng, sites)
        };
        let a = arrival(rng, today, persona, is_future);
        let nights: i64 = match persona {
            Persona::Business => rng.gen_range(1..4),
            Persona::Leisure => rng.gen_range(1..4) + i64::from(rng.gen_bool(0.2)),
            Persona::Family => rng.gen_range(2..6),
        };
        let d = a + Duration::days(nights);
        let type_index = match persona {
            Persona::Family => 2,
            Persona::Business if rng.gen_bool(0.1) => 3,
            _ => rng.gen_range(0..2),
        };
        let room_type = &site.types[type_index.min(site.types.len() - 1)];
        let plan = &site.plans[usize::from(rng.gen_bool(0.3))];
        let season = 80 + season_weight(a.month()) as i64 * 3;
        let rate = site.base_rate * season / 100 * [100, 85, 130, 200][type_index.min(3)] / 100;
        let amount = rate * nights;
        let ch = channel(rng, persona);
        let status = if is_future {
            "confirmed"
        } else {
            match rng.gen_range(0..100) {
                0..=7 => "cancelled",
                8..=9 => "no_show",
                _ => "checked_out",
            }
        };
        let (adults, children): (i32, Vec<u8>) = match persona {
            Persona::Business => (1, vec![]),
            Persona::Leisure => (rng.gen_range(1..3), vec![]),
            Persona::Family => (
                2,
                (0..rng.gen_range(1..3))
                    .map(|_| rng.gen_range(2..14))
                    .collect(),
            ),
        };
        let reservation_id = crm_domain::id::new_id().to_string();
        let booked_at = (a - Duration::days(rng.gen_range(1..45)))
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default();
        batch.reservations.push(bulk::ReservationRow {
            id: reservation_id.clone(),
            org_id: org.to_string(),
            property_id: site.property.id.clone(),
            guest_id: guest.id.clone(),
            channel: ch.into(),
            channel_code: ch.into(),
            channel_reservation_id: None,
            channel_last_modified: None,
            // Unique across runs into one database (ids are UUIDv7s).
            confirmation_number: format!("DM{}", &reservation_id[24..]).to_ascii_uppercase(),
            status: status.into(),
            special_requests: None,
            guest_comments: None,
            currency: "CNY".into(),
            total_amount: amount,
            cancellation_fee: (status == "cancelled").then_some(0),
            compensation: None,
            status_changed_at: (status != "confirmed").then_some(booked_at),
            version: 1,
            created_by: "seed-demo".into(),
            created_at: booked_at,
            updated_at: booked_at,
            account_id: None,
            contract_id: None,
        });
        batch.rooms.push(bulk::RoomRow {
            id: crm_domain::id::new_id().to_string(),
            org_id: org.to_string(),
            reservation_id: reservation_id.clone(),
            property_id: site.property.id.clone(),
            room_type_id: room_type.id.clone(),
            rate_plan_id: plan.id.clone(),
            arrival: a,
            departure: d,
            adults,
            children_ages: serde_json::to_string(&children).unwrap_or_else(|_| "[]".into()),
            amount,
            cancellation_policy: serde_json::to_string(&plan.cancellation_policy)
                .unwrap_or_default(),
            holds_inventory: is_future,
            negotiated_amount: None,
            contract_id: None,
        });
        report.reservations += 1;
        if is_future {
            let mut night = a;
            while night < d {
                *sold.entry((room_type.id.clone(), night)).or_default() += 1;
                night += Duration::days(1);
            }
            continue;
        }
        if status != "checked_out" {
            continue;
        }
        let fnb = if rng.gen_bool(0.4) {
            rng.gen_range(5_000..60_000)
        } else {
            0
        };
        let total = amount + fnb;
        batch.stays.push(bulk::StayRow {
            id: crm_domain::id::new_id().to_string(),
            org_id: org.to_string(),
            guest_id: guest.id.clone(),
            reservation_id,
            property_id: site.property.id.clone(),
            channel: ch.into(),
            arrival: a,
            departure: d,
            nights: nights as i32,
            currency: "CNY".into(),
            room_revenue: amount,
            food_and_beverage_revenue: fnb,
            other_revenue: 0,
            total_revenue: total,
            checked_out_at: d.and_hms_opt(12, 0, 0).unwrap_or_default(),
        });
        report.stays += 1;
        stays.push(StayRecord {
            guest_id: guest.id.clone(),
            property_id: site.property.id.clone(),
            channel: ch.into(),
            arrival: a,
            departure: d,
            nights,
            currency: "CNY".into(),
            total_revenue: total,
            room_revenue: amount,
            adults: i64::from(adults),
            children: children.len() as i64,
        });
        stats.0 += 1;
        stats.1 += nights as i32;
        stats.2 += total;
        *stats.3.entry(ch.to_string()).or_default() += 1;
        stats.4 = Some(stats.4.map_or(a, |f: NaiveDate| f.min(a)));
        stats.5 = Some(stats.5.map_or(a, |l: NaiveDate| l.max(a)));
    }
    if let (Some(first), Some(last)) = (stats.4, stats.5) {
        batch.stats.push(bulk::GuestStatsRow {
            guest_id: guest.id.clone(),
            org_id: org.to_string(),
            stays: stats.0,
            nights: stats.1,
            spend: serde_json::json!({"CNY": stats.2}).to_string(),
            channel_mix: serde_json::to_string(&stats.3).unwrap_or_else(|_| "{}".into()),
            first_stay_on: first,
            last_stay_on: last,
            updated_at: now.naive_utc(),
        });
    }

    // Loyalty: most repeat guests and some one-timers are members; their
    // points are what their room revenue earned, less what they spent.
    let mut membership = None;
    if !stays.is_empty() && rng.gen_bool(if stays.len() > 1 { 0.6 } else { 0.25 }) {
        let year_nights: i64 = stays
            .iter()
            .filter(|s| (today - s.arrival).num_days() < 365)
            .map(|s| s.nights)
            .sum();
        let tier = tiers
            .iter()
            .rev()
            .find(|t| t.qualification.nights.is_none_or(|n| year_nights >= n))
            .or(tiers.first())
            .ok_or_else(|| ApiError::internal("the programme has no tiers"))?;
        let earned: i64 = stays.iter().map(|s| s.room_revenue / 100).sum();
        let balance = earned * rng.gen_range(30..100) / 100;
        let member_id = crm_domain::id::new_id().to_string();
        let joined = stays.iter().map(|s| s.departure).min().unwrap_or(today);
        batch.members.push(bulk::MemberRow {
            id: member_id.clone(),
            org_id: org.to_string(),
            guest_id: guest.id.clone(),
            member_number: format!("D{}", &member_id[24..]).to_ascii_uppercase(),
            tier_id: tier.id.clone(),
            source: "seed-demo".into(),
            joined_on: joined,
            tier_since: joined,
            next_review_on: today + Duration::days(rng.gen_range(1..365)),
            points_balance: balance,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        });
        if balance > 0 {
            // One credit explains the balance, so the ledger audit holds.
            let entry_id = crm_domain::id::new_id().to_string();
            batch.entries.push(bulk::EntryRow {
                id: entry_id.clone(),
                org_id: org.to_string(),
                member_id: member_id.clone(),
                entry_type: "bonus".into(),
                points: balance,
                source_type: "campaign".into(),
                source_id: Some("seed-demo".into()),
                reason: Some("opening balance of the demo data".into()),
                dedupe_key: Some(format!("seed-demo:{member_id}")),
                created_by: Some("seed-demo".into()),
                created_at: now.naive_utc(),
            });
            batch.lots.push(bulk::LotRow {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.to_string(),
                member_id,
                entry_id,
                points: balance,
                remaining: balance,
                expires_on: Some(today + Duration::days(rng.gen_range(30..730))),
                expired_entry_id: None,
                created_at: now.naive_utc(),
            });
        }
        membership = Some((tier.code.clone(), tier.rank, balance));
        report.members += 1;
    }
    let inputs = Inputs {
        stays,
        membership,
        consents: granted,
        withdrew_profiling,
        corporate: false,
        open_complaints: 0,
        satisfaction: None,
    };
    let c = compute(&inputs, settings, today);
    batch
        .stay_months
        .extend(crate::insights::stay_months(&guest, &inputs, &c));
    batch
        .insights
        .push(crate::insights::row(&guest, &inputs, &c, now));
    Ok(())
}
