//! Sending campaigns and redeeming their codes.
//!
//! A send walks the segment by guest id in chunks of [`CHUNK`]: per chunk
//! one query each for the members, their profiles, their marketing
//! consents and their marketing messages of the last week, then one
//! multi-row insert into the outbox — the same decision as every other
//! message ([`crate::messaging::choose`]) in bulk. Each chunk is a
//! transaction that first moves the campaign's cursor under its lease
//! (compare-and-set), so a cancelled campaign stops at the next chunk and
//! a node that dies mid-send is taken over where it stopped; the outbox's
//! dedupe key keeps anyone from hearing twice.

use crate::error::ApiError;
use crate::messaging::{base_values, choose, outbox_row};
use crate::state::write_transaction;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use crm_domain::campaign::{normalise_code, CodePattern, CouponTerms, Discount, Refusal};
use crm_domain::message::MessageTrigger;
use crm_domain::segment::Rule;
use crm_storage::campaigns::{self as store, Campaign, Redemption};
use crm_storage::guests::Guest;
use crm_storage::messages::MessageTemplate;
use crm_storage::properties::Property;
use crm_storage::{Database, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Guests per chunk (one transaction, five statements).
pub const CHUNK: i64 = 1000;
/// How long a sender holds a campaign between chunks.
const LEASE: Duration = Duration::seconds(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    Coupon,
    Package,
}

/// An amount in minor units of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": 5000, "currency": "CNY"}))]
pub struct MoneyWrite {
    pub amount: i64,
    pub currency: String,
}

/// Per cent or a fixed amount off the booking's room revenue: one of the
/// two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountWrite {
    #[serde(default)]
    pub percent: Option<i64>,
    #[serde(default)]
    pub amount: Option<MoneyWrite>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageWrite {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub price: MoneyWrite,
    /// What it includes: breakfast, spa, late check-out…
    #[serde(default)]
    pub inclusions: Vec<String>,
}

/// A campaign's offer: a coupon (`code_pattern` and `discount` required)
/// or a package (its code optional). Codes: `#` digit, `?` letter, `*`
/// letter or digit, the rest literal; with placeholders each recipient
/// gets their own (at least 40 bits, e.g. `SPR-********`), without them
/// everyone types the same code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "coupon", "title": "冬季 85 折", "code_pattern": "WIN-********",
    "discount": {"percent": 15}, "valid_from": "2026-12-01", "valid_until": "2027-02-28",
    "per_guest_limit": 1, "total_limit": 2000
}))]
pub struct OfferWrite {
    pub kind: OfferKind,
    /// `{{offer.title}}` in messages; default from the discount or package.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub code_pattern: Option<String>,
    #[serde(default)]
    pub discount: Option<DiscountWrite>,
    #[serde(default)]
    pub package: Option<PackageWrite>,
    /// Bookings made on these days (UTC) may use the code.
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// Redemptions per guest; 1 (single use) unless given.
    #[serde(default = "one")]
    pub per_guest_limit: i32,
    /// Redemptions in all; none for no limit.
    #[serde(default)]
    pub total_limit: Option<i32>,
}

fn one() -> i32 {
    1
}

/// An offer checked: its coupon terms (when it has a code) and title.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub write: OfferWrite,
    pub terms: Option<CouponTerms>,
    pub title: String,
}

/// Checks an offer (field paths under `offer.`); `currency` is the
/// campaign's.
pub fn check_offer(w: OfferWrite, currency: &str) -> Result<Offer, ApiError> {
    use crm_domain::{Errors, FieldError};
    let mut errors = Errors::new();
    let at = |f: &str| format!("offer.{f}");
    let pattern = match &w.code_pattern {
        Some(p) => match CodePattern::parse(p) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(FieldError::new(at("code_pattern"), e.code, e.message));
                None
            }
        },
        None if w.kind == OfferKind::Coupon => {
            errors.push(FieldError::new(
                at("code_pattern"),
                "required",
                "a coupon needs a code pattern",
            ));
            None
        }
        None => None,
    };
    let discount = match (w.kind, &w.discount) {
        (OfferKind::Package, Some(_)) => {
            errors.push(FieldError::new(
                at("discount"),
                "not_allowed",
                "a package has a price, not a discount",
            ));
            None
        }
        (OfferKind::Package, None) => Some(Discount::Amount(0)),
        (OfferKind::Coupon, None) => {
            errors.push(FieldError::new(
                at("discount"),
                "required",
                "`percent` or `amount`",
            ));
            None
        }
        (OfferKind::Coupon, Some(d)) => match (d.percent, &d.amount) {
            (Some(p), None) => Some(Discount::Percent(u8::try_from(p).unwrap_or(0))),
            (None, Some(m)) if m.currency != currency => {
                errors.push(FieldError::new(
                    at("discount.amount.currency"),
                    "currency_mismatch",
                    format!("the campaign's currency is {currency}"),
                ));
                None
            }
            (None, Some(m)) => Some(Discount::Amount(m.amount)),
            _ => {
                errors.push(FieldError::new(
                    at("discount"),
                    "one_of",
                    "exactly one of `percent` and `amount`",
                ));
                None
            }
        },
    };
    match (w.kind, &w.package) {
        (OfferKind::Coupon, Some(_)) => errors.push(FieldError::new(
            at("package"),
            "not_allowed",
            "only for a package offer",
        )),
        (OfferKind::Package, None) => errors.push(FieldError::new(
            at("package"),
            "required",
            "name, price and inclusions",
        )),
        (OfferKind::Package, Some(p)) => {
            errors.check(
                &at("package.name"),
                crm_domain::values::required_text(&p.name, 200),
            );
            if let Some(d) = &p.description {
                errors.check(
                    &at("package.description"),
                    crm_domain::values::bounded_text(d, 2000),
                );
            }
            if p.price.currency != currency {
                errors.push(FieldError::new(
                    at("package.price.currency"),
                    "currency_mismatch",
                    format!("the campaign's currency is {currency}"),
                ));
            }
            if !(0..=100_000_000).contains(&p.price.amount) {
                errors.push(FieldError::new(
                    at("package.price.amount"),
                    "out_of_range",
                    "0 to 100,000,000",
                ));
            }
            if p.inclusions.len() > 20 || p.inclusions.iter().any(|i| i.chars().count() > 200) {
                errors.push(FieldError::new(
                    at("package.inclusions"),
                    "out_of_range",
                    "at most 20, each at most 200 characters",
                ));
            }
        }
        (OfferKind::Coupon, None) => {}
    }
    if let Some(t) = &w.title {
        errors.check(&at("title"), crm_domain::values::required_text(t, 100));
    }
    // A package's "discount" is nothing off: its rules are only checked
    // for validity and limits.
    let rules_discount = discount.filter(|_| w.kind == OfferKind::Coupon);
    if let Err(e) = crm_domain::campaign::validate_rules(
        rules_discount,
        w.valid_from,
        w.valid_until,
        w.per_guest_limit,
        w.total_limit,
    ) {
        for f in e.into_field_errors() {
            errors.push(FieldError::new(at(&f.field), f.code, f.message));
        }
    }
    let terms = match (pattern, discount) {
        (Some(pattern), Some(discount)) => Some(CouponTerms {
            pattern,
            discount,
            valid_from: w.valid_from,
            valid_until: w.valid_until,
            per_guest_limit: w.per_guest_limit,
            total_limit: w.total_limit,
        }),
        _ => None,
    };
    errors.finish()?;
    let title = match (&w.title, &w.package, terms.as_ref().map(|t| t.discount)) {
        (Some(t), _, _) => t.trim().to_string(),
        (None, Some(p), _) => p.name.trim().to_string(),
        (None, None, Some(Discount::Percent(p))) => format!("{p}% off"),
        (None, None, Some(Discount::Amount(a))) => {
            let exp = crm_domain::values::currency_exponent(currency);
            let major = a as f64 / 10f64.powi(exp as i32);
            format!("{major:.*} {currency} off", exp as usize)
        }
        (None, None, None) => String::new(),
    };
    let mut write = w;
    write.code_pattern = terms.as_ref().map(|t| t.pattern.as_str().to_string());
    Ok(Offer {
        write,
        terms,
        title,
    })
}

/// The stored offer of a campaign, checked again (it was on save).
pub fn offer_of(c: &Campaign) -> Result<Option<Offer>, ApiError> {
    match &c.offer {
        None => Ok(None),
        Some(v) => {
            let w: OfferWrite = serde_json::from_value(v.clone())
                .map_err(|e| ApiError::internal(format!("stored offer: {e}")))?;
            Ok(Some(check_offer(w, &c.currency)?))
        }
    }
}

/// What a send did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub considered: i64,
    pub completed: bool,
}

/// The campaign's templates that can still be used (active, campaign
/// trigger).
fn usable_templates(
    conn: &mut DbConnection,
    c: &Campaign,
) -> Result<Vec<MessageTemplate>, ApiError> {
    let mut out = Vec::new();
    for id in &c.template_ids {
        match crm_storage::messages::find_template(conn, &c.org_id, id) {
            Ok(t) if t.active && t.trigger == MessageTrigger::Campaign => out.push(t),
            Ok(_) | Err(StorageError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Sends a campaign that `claim` gave this node: chunk after chunk until
/// the segment is done (then `completed`) or the campaign is no longer
/// ours (cancelled, or taken over). `now` is the send's start; the lease
/// moves with the time spent.
pub fn send(
    db: &Database,
    org: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SendReport, ApiError> {
    let started = std::time::Instant::now();
    // Microseconds, as the databases keep them: the lease is compared.
    let at = || {
        chrono::SubsecRound::trunc_subsecs(
            now + Duration::from_std(started.elapsed()).unwrap_or_default(),
            6,
        )
    };
    let Some(c) = claim(db, org, id, now)? else {
        return Ok(SendReport::default());
    };
    let mut lease = c.lease_until.unwrap_or(now);
    let (segment, property) = db.read(|conn| {
        let segment = crm_storage::segments::find(conn, org, &c.segment_id)?;
        let property = match &c.property_id {
            Some(p) => Some(crm_storage::properties::find(conn, org, p)?),
            None => crm_storage::properties::first_of_org(conn, org)?,
        };
        Ok((segment, property))
    })?;
    let templates = usable_templates(&mut *db.connection()?, &c)?;
    let Some(property) = property else {
        return Err(ApiError::conflict(
            "no_property",
            "The organisation has no property to send from.",
        ));
    };
    let rule = Rule::parse(&segment.rule, "rule")?;
    let offer = offer_of(&c)?;
    let tz = property.time_zone.parse::<chrono_tz::Tz>().ok();
    // The segment is evaluated as of the day the send started.
    let today = c.started_at.unwrap_or(now).date_naive();
    // The audience is the segment's membership when the send starts,
    // materialised in one INSERT … SELECT (the segment's snapshot, as
    // `POST /segments/{id}/refresh` makes it); a resumed send keeps it.
    if c.send_cursor.is_none() {
        db.write(|conn| {
            crm_storage::segments::refresh(conn, org, &c.segment_id, &rule, today, now)
        })?
        .map_err(|e| ApiError::conflict("segment_invalid", e.message))?;
    }
    let cursor = c.send_cursor.clone().unwrap_or_default();
    let ctx = ChunkContext {
        campaign: &c,
        templates: &templates,
        property: &property,
        tz,
        offer: offer.as_ref(),
    };
    // Two threads, so the two cores overlap: this one writes chunk after
    // chunk (each its own transaction), a reader prepares the next ones
    // (members, profiles, consents, recent messages; the rows rendered) on
    // its own connection. The reader stays at most two chunks ahead; a
    // writer that stops (cancelled, taken over) stops it.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Prepared, ApiError>>(2);
        let ctx = &ctx;
        let at = &at;
        scope.spawn(move || {
            let mut cursor = cursor;
            loop {
                let prepared = prepare(db, ctx, &cursor, at());
                let last = match &prepared {
                    Ok(p) => p.last.clone(),
                    Err(_) => None,
                };
                let end = last.is_none();
                if tx.send(prepared).is_err() || end {
                    return;
                }
                cursor = last.unwrap_or_default();
            }
        });
        let mut report = SendReport::default();
        for prepared in rx {
            let mut chunk = prepared?;
            let Some(last) = chunk.last.clone() else {
                let t = at();
                let done = db.write(|conn| store::complete(conn, org, id, lease, t))?;
                report.completed = done;
                if done {
                    log::info!(
                        "campaign {id}: completed, {} considered by this node",
                        report.considered
                    );
                }
                return Ok(report);
            };
            let next_lease = at() + LEASE;
            // A personal code already taken (by another campaign) fails
            // the chunk; its codes are drawn again.
            let mut attempt = 0;
            let written = loop {
                attempt += 1;
                let outcome = write_transaction(db, |conn| {
                    let n = chunk.ids.len() as i64;
                    if !store::advance(conn, org, id, lease, next_lease, &last, n)? {
                        return Ok(false);
                    }
                    match store::enqueue_many(conn, &chunk.rows) {
                        Ok(_) => Ok(true),
                        Err(StorageError::Duplicate { .. }) => Err(ApiError::conflict(
                            "code_collision",
                            "a generated code was taken",
                        )),
                        Err(e) => Err(e.into()),
                    }
                });
                match outcome {
                    Err(e) if e.code == "code_collision" && attempt < 5 => {
                        let ids = std::mem::take(&mut chunk.ids);
                        chunk.rows = chunk_rows(&mut *db.connection()?, ctx, &ids, at())?;
                        chunk.ids = ids;
                    }
                    other => break other?,
                }
            };
            if !written {
                log::info!("campaign {id}: stopped (cancelled or taken over)");
                return Ok(report);
            }
            lease = next_lease;
            report.considered += chunk.ids.len() as i64;
        }
        // The reader ended without saying the segment was done: it failed
        // and its error was received above, so this is not reached.
        Ok(report)
    })
}

/// What a send's rows are made from, the same for every chunk.
struct ChunkContext<'a> {
    campaign: &'a Campaign,
    templates: &'a [MessageTemplate],
    property: &'a Property,
    tz: Option<chrono_tz::Tz>,
    offer: Option<&'a Offer>,
}

/// The next chunk of members after `cursor` and their rows; `last: None`
/// when the segment is done.
struct Prepared {
    ids: Vec<String>,
    rows: Vec<crm_storage::messages::OutboxMessage>,
    last: Option<String>,
}

fn prepare(
    db: &Database,
    ctx: &ChunkContext,
    cursor: &str,
    now: DateTime<Utc>,
) -> Result<Prepared, ApiError> {
    let c = ctx.campaign;
    let mut conn = db.connection()?;
    let ids = crm_storage::segments::snapshot_ids_after(
        &mut conn,
        &c.org_id,
        &c.segment_id,
        cursor,
        CHUNK,
    )?;
    let rows = chunk_rows(&mut conn, ctx, &ids, now)?;
    Ok(Prepared {
        last: ids.last().cloned(),
        ids,
        rows,
    })
}

/// Takes the campaign for sending if it is due and nobody holds it.
fn claim(
    db: &Database,
    org: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Campaign>, ApiError> {
    use crm_domain::campaign::CampaignStatus;
    Ok(db.write(|conn| {
        let c = store::find(conn, org, id)?;
        let free = match c.status {
            CampaignStatus::Scheduled => c.scheduled_at.is_none_or(|at| at <= now),
            CampaignStatus::Sending => c.lease_until.is_none_or(|l| l < now),
            _ => false,
        };
        if !free || !store::claim(conn, &c, now + LEASE, now)? {
            return Ok(None);
        }
        store::find(conn, org, id).map(Some)
    })?)
}

/// The outbox rows of one chunk of members: four queries (profiles,
/// marketing consents, marketing messages of the last week), then each
/// guest's choice rendered. Read outside the writing transaction: a
/// message another job queues meanwhile may miss the cap by one, as it
/// may for any two messages queued at once.
fn chunk_rows(
    conn: &mut DbConnection,
    ctx: &ChunkContext,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<crm_storage::messages::OutboxMessage>, ApiError> {
    let (c, templates, property, tz, offer) =
        (ctx.campaign, ctx.templates, ctx.property, ctx.tz, ctx.offer);
    let org = &c.org_id;
    let guests = crm_storage::guests::find_many(conn, org, ids)?;
    let consents = crm_storage::consents::marketing_channels(conn, org, ids)?;
    let recent =
        crm_storage::messages::marketing_counts_since(conn, org, ids, now - Duration::days(7))?;
    let trigger = MessageTrigger::Campaign;
    let trigger_name = crm_storage::codec::enum_to_db(&trigger)?;
    let mut rng = rand::thread_rng();
    let mut taken = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(guests.len());
    for g in &guests {
        let choice = choose(
            trigger,
            g,
            templates,
            consents.get(&g.id).map(Vec::as_slice).unwrap_or(&[]),
            recent.get(&g.id).copied().unwrap_or(0),
        );
        let mut values = base_values(g, property);
        let mut personal = None;
        if let Some(o) = offer {
            values.insert("offer.title".into(), o.title.clone());
            values.insert("offer.valid_until".into(), o.write.valid_until.to_string());
            if let Some(terms) = &o.terms {
                let code = if terms.pattern.is_personal() {
                    let code = loop {
                        let code = terms.pattern.generate(|| rand::Rng::gen(&mut rng));
                        if taken.insert(code.clone()) {
                            break code;
                        }
                    };
                    personal = Some(code.clone());
                    code
                } else {
                    terms.pattern.as_str().to_string()
                };
                values.insert("offer.code".into(), code);
            }
        }
        let mut m = outbox_row(
            &choice,
            &trigger_name,
            g,
            &property.id,
            dedupe_key(&c.id, &g.id),
            &values,
            tz,
            now,
        )?;
        m.campaign_id = Some(c.id.clone());
        // Only a message that goes out carries a code anyone could use.
        if m.status == "queued" {
            m.coupon_code = personal;
        }
        rows.push(m);
    }
    Ok(rows)
}

fn dedupe_key(campaign_id: &str, guest_id: &str) -> String {
    format!("campaign:{campaign_id}:{guest_id}")
}

/// Sends every due campaign of every organisation (the job, each minute
/// in the server). Returns the members considered.
pub fn run_due(db: &Database, now: DateTime<Utc>) -> Result<(u64, i64), ApiError> {
    let due = db.read(|conn| store::due(conn, now))?;
    let mut considered = 0;
    let mut completed = 0;
    for (org, id) in due {
        // One campaign's failure (its segment deleted meanwhile, a lost
        // connection) does not hold back the others; it is tried again
        // when its lease lapses.
        match send(db, &org, &id, now) {
            Ok(r) => {
                considered += r.considered as u64;
                completed += i64::from(r.completed);
            }
            Err(e) => log::warn!("campaign {id}: send failed: {e}"),
        }
    }
    Ok((considered, completed))
}

/// A code accepted for a booking, before the booking is written.
#[derive(Debug, Clone)]
pub struct AppliedCoupon {
    pub campaign_id: String,
    pub code: String,
    pub discount: i64,
    pub currency: String,
}

fn unknown_code() -> ApiError {
    ApiError::field("coupon_code", "unknown_coupon", "no such code")
}

/// Checks a code for a guest's booking of `gross` at `property` and
/// counts the redemption (under the campaign's row lock: concurrent
/// bookings with the last code cannot both have it). The caller writes
/// the booking and then [`record_redemption`], in the same transaction.
pub fn redeem(
    conn: &mut DbConnection,
    org: &str,
    raw: &str,
    guest: &Guest,
    property: &Property,
    gross: i64,
    now: DateTime<Utc>,
) -> Result<AppliedCoupon, ApiError> {
    use crm_domain::campaign::CampaignStatus;
    let code = normalise_code(raw);
    if code.is_empty() || code.chars().count() > crm_domain::campaign::MAX_CODE_LEN {
        return Err(unknown_code());
    }
    let campaign = match store::personal_code(conn, org, &code)? {
        Some((campaign_id, recipient)) => {
            if recipient != guest.id {
                return Err(ApiError::field(
                    "coupon_code",
                    "coupon_not_for_guest",
                    "this code was sent to another guest",
                ));
            }
            store::find(conn, org, &campaign_id)?
        }
        None => store::by_shared_code(conn, org, &code)?.ok_or_else(unknown_code)?,
    };
    // A shared code works once the campaign went out, until it is
    // cancelled; a draft's code is not known to anyone yet.
    if !matches!(
        campaign.status,
        CampaignStatus::Sending | CampaignStatus::Completed
    ) {
        return Err(unknown_code());
    }
    let terms = offer_of(&campaign)?
        .and_then(|o| o.terms)
        .ok_or_else(unknown_code)?;
    if let Discount::Amount(_) = terms.discount {
        if campaign.currency != property.currency {
            return Err(ApiError::field(
                "coupon_code",
                "coupon_currency",
                format!(
                    "the coupon is in {}, this hotel books in {}",
                    campaign.currency, property.currency
                ),
            ));
        }
    }
    let refuse = |r: Refusal| match r {
        Refusal::NotYetValid | Refusal::Expired => {
            ApiError::field("coupon_code", r.code(), r.message())
        }
        Refusal::GuestLimit | Refusal::TotalLimit => ApiError::conflict(r.code(), r.message()),
    };
    terms.check(now.date_naive(), 0).map_err(refuse)?;
    if !store::take_redemption(conn, org, &campaign.id)? {
        return Err(refuse(Refusal::TotalLimit));
    }
    let used = store::guest_redemptions(conn, org, &campaign.id, &guest.id)?;
    terms.check(now.date_naive(), used).map_err(refuse)?;
    Ok(AppliedCoupon {
        campaign_id: campaign.id,
        code,
        discount: terms.discount.of(gross),
        currency: property.currency.clone(),
    })
}

/// Writes the redemption of a booking just written.
pub fn record_redemption(
    conn: &mut DbConnection,
    c: &AppliedCoupon,
    r: &crm_storage::reservations::Reservation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    store::insert_redemption(
        conn,
        &Redemption {
            id: crm_domain::id::new_id().to_string(),
            org_id: r.org_id.clone(),
            campaign_id: c.campaign_id.clone(),
            guest_id: r.guest_id.clone(),
            reservation_id: r.id.clone(),
            code: c.code.clone(),
            discount_amount: c.discount,
            currency: c.currency.clone(),
            status: "active".into(),
            created_at: now.naive_utc(),
            released_at: None,
        },
    )?;
    Ok(())
}

/// A modified booking's total: its rooms less the coupon's discount,
/// recomputed (a percentage of the new amount; a fixed amount at most
/// the new total).
pub fn reprice(
    conn: &mut DbConnection,
    r: &mut crm_storage::reservations::Reservation,
) -> Result<(), ApiError> {
    let gross: i64 = r.rooms.iter().map(|s| s.amount).sum();
    let mut discount = 0;
    if let Some(red) = store::redemption_of_reservation(conn, &r.org_id, &r.id)? {
        let campaign = store::find(conn, &r.org_id, &red.campaign_id)?;
        if let Some(terms) = offer_of(&campaign)?.and_then(|o| o.terms) {
            discount = terms.discount.of(gross);
        }
        if discount != red.discount_amount {
            store::set_discount(conn, &r.org_id, &red.id, discount)?;
        }
    }
    r.discount_amount = discount;
    r.total_amount = gross - discount;
    Ok(())
}
