//! OpenTravel `OTA_HotelResNotifRQ` (2015A, as channel managers and
//! AlpineBits send it), answered with `OTA_HotelResNotifRS`. Each
//! reservation of a message is mapped to the normalised push and ingested
//! in its own transaction, so each gets its own outcome.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::crypto::sha256_hex;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::json::{body_too_large, MAX_BODY_BYTES};
use crate::http::RequestId;
use crate::routes::channels::{ingest_with_retry, ChannelPushResult};
use crate::state::AppState;
use actix_web::{http::header, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::channel::redact_text;
use crm_domain::values::decimal_to_minor_units;
use quick_xml::events::Event;
use serde_json::{json, Value};

/// The channel code OTA XML pushes are recorded (and granted) under.
const OTA_CHANNEL: &str = "ota";
const MAX_DEPTH: usize = 64;

/// A parsed element: enough of a DOM to walk an OTA message.
#[derive(Debug, Default, Clone)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The first descendant along `path`.
    fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }
}

fn parse_xml(text: &str) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) | Event::Empty(e) if stack.len() > MAX_DEPTH => {
                return Err(format!(
                    "elements nested deeper than {MAX_DEPTH} ({})",
                    String::from_utf8_lossy(e.local_name().as_ref())
                ));
            }
            Event::Start(e) => {
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let node = element(&e)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(node);
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced end tag")?;
                stack
                    .last_mut()
                    .ok_or("unbalanced end tag")?
                    .children
                    .push(node);
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| e.to_string())?;
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::DocType(_) => return Err("DOCTYPE declarations are not accepted".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("unexpected end of document".into());
    }
    stack
        .pop()
        .and_then(|root| root.children.into_iter().next())
        .ok_or_else(|| "empty document".into())
}

fn element(e: &quick_xml::events::BytesStart) -> Result<Node, String> {
    let mut node = Node {
        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
        ..Node::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
        node.attrs.push((key, value));
    }
    Ok(node)
}

/// Removes payment card data from XML text: card-ish attribute values and
/// elements, then any card-number-like digit run.
fn redact_xml(text: &str) -> String {
    let mut out = text.to_string();
    for attr in [
        "CardNumber",
        "SeriesCode",
        "CardCode",
        "CVV",
        "SecurityCode",
        "MaskedCardNumber",
    ] {
        let needle = format!("{attr}=\"");
        let mut from = 0;
        while let Some(pos) = out[from..].find(&needle) {
            let start = from + pos + needle.len();
            let Some(len) = out[start..].find('"') else {
                break;
            };
            out.replace_range(start..start + len, "[redacted]");
            from = start + "[redacted]".len();
        }
    }
    for elem in ["CardNumber", "SeriesCode"] {
        let (open, close) = (format!("<{elem}"), format!("</{elem}>"));
        let mut from = 0;
        while let Some(pos) = out[from..].find(&open) {
            let start = from + pos;
            let Some(gt) = out[start..].find('>') else {
                break;
            };
            let content_start = start + gt + 1;
            let Some(end) = out[content_start..].find(&close) else {
                break;
            };
            out.replace_range(content_start..content_start + end, "[redacted]");
            from = content_start + "[redacted]".len();
        }
    }
    redact_text(&out)
}

#[derive(Debug)]
struct OtaError {
    /// OTA Error Warning Type (EWT): 3 business rule, 10 required field
    /// missing, 12 processing exception.
    ewt: u32,
    /// OTA Error Code (ERR): 15 invalid date, 321 required field missing,
    /// 392 invalid hotel code, 450 unable to process.
    err: u32,
    text: String,
}

fn required(what: &str) -> OtaError {
    OtaError {
        ewt: 10,
        err: 321,
        text: format!("{what} is required"),
    }
}

fn date(node: Option<&str>, what: &str) -> Result<NaiveDate, OtaError> {
    let raw = node.ok_or_else(|| required(what))?;
    raw.get(..10)
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .ok_or(OtaError {
            ewt: 3,
            err: 15,
            text: format!("{what} `{raw}` is not a date"),
        })
}

fn timestamp(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn is_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF))
}

/// A reservation of a message: its unique id and JSON push, or why not.
pub type Mapped = Result<(String, Value), String>;

/// The endpoint's pure part, for the `ota_xml` fuzz target: the message
/// parsed, its card data redacted, and each `HotelReservation` (at most
/// 100, as served) mapped to the JSON push or to its OTA error text.
pub fn map_message(text: &str) -> Result<Vec<Mapped>, String> {
    let root = parse_xml(text)?;
    let _redacted = redact_xml(text);
    Ok(root
        .child("HotelReservations")
        .map(|h| {
            h.children_named("HotelReservation")
                .take(100)
                .map(|res| {
                    to_push(res, root.attr("ResStatus"), root.attr("TimeStamp")).map_err(|e| e.text)
                })
                .collect()
        })
        .unwrap_or_default())
}

/// One `HotelReservation` as the normalised push.
fn to_push(
    res: &Node,
    message_status: Option<&str>,
    message_time: Option<&str>,
) -> Result<(String, Value), OtaError> {
    let unique_id = res
        .child("UniqueID")
        .and_then(|u| u.attr("ID"))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| required("UniqueID/@ID"))?;
    let status = res.attr("ResStatus").or(message_status).unwrap_or("Commit");
    let action = match status {
        "Commit" | "Book" | "Reserved" | "Initiate" | "Confirmed" => "create",
        "Modify" => "modify",
        "Cancel" | "Cancelled" => "cancel",
        other => {
            return Err(OtaError {
                ewt: 3,
                err: 450,
                text: format!("ResStatus `{other}` is not supported"),
            })
        }
    };
    let last_modified = res
        .attr("LastModifyDateTime")
        .or(res.attr("CreateDateTime"))
        .or(message_time)
        .ok_or_else(|| required("LastModifyDateTime"))?;
    let last_modified = timestamp(last_modified).ok_or(OtaError {
        ewt: 3,
        err: 15,
        text: format!("`{last_modified}` is not a timestamp"),
    })?;
    let hotel_code = res
        .at(&["ResGlobalInfo", "BasicPropertyInfo"])
        .and_then(|b| b.attr("HotelCode"))
        .or_else(|| {
            res.at(&["RoomStays", "RoomStay", "BasicPropertyInfo"])
                .and_then(|b| b.attr("HotelCode"))
        })
        .ok_or_else(|| required("BasicPropertyInfo/@HotelCode"))?;
    let mut push = json!({
        "action": action,
        "channel_reservation_id": unique_id.trim(),
        "last_modified": last_modified.to_rfc3339(),
        "property_code": hotel_code,
    });
    if action == "cancel" {
        return Ok((unique_id.to_string(), push));
    }
    let mut rooms = Vec::new();
    for stay in res
        .child("RoomStays")
        .into_iter()
        .flat_map(|r| r.children_named("RoomStay"))
    {
        let room_type = stay
            .at(&["RoomTypes", "RoomType"])
            .and_then(|t| t.attr("RoomTypeCode"))
            .ok_or_else(|| required("RoomType/@RoomTypeCode"))?;
        let rate_plan = stay
            .at(&["RatePlans", "RatePlan"])
            .and_then(|t| t.attr("RatePlanCode"))
            .ok_or_else(|| required("RatePlan/@RatePlanCode"))?;
        let span = stay.child("TimeSpan").ok_or_else(|| required("TimeSpan"))?;
        let arrival = date(span.attr("Start"), "TimeSpan/@Start")?;
        let departure = date(span.attr("End"), "TimeSpan/@End")?;
        let (mut adults, mut children) = (0i64, Vec::<i64>::new());
        for count in stay
            .child("GuestCounts")
            .into_iter()
            .flat_map(|g| g.children_named("GuestCount"))
        {
            let n: i64 = count
                .attr("Count")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let age: Option<i64> = count.attr("Age").and_then(|a| a.parse().ok());
            let child = count.attr("AgeQualifyingCode") == Some("8") || age.is_some_and(|a| a < 18);
            if child {
                children.extend(std::iter::repeat_n(
                    age.unwrap_or(8),
                    n.clamp(0, 10) as usize,
                ));
            } else {
                adults += n;
            }
        }
        let total = stay
            .child("Total")
            .ok_or_else(|| required("RoomStay/Total"))?;
        let currency = total.attr("CurrencyCode").unwrap_or("CNY");
        let raw_amount = total
            .attr("AmountAfterTax")
            .or(total.attr("AmountBeforeTax"))
            .ok_or_else(|| required("Total/@AmountAfterTax"))?;
        let amount = decimal_to_minor_units(raw_amount, currency).ok_or(OtaError {
            ewt: 3,
            err: 450,
            text: format!("amount `{raw_amount}` {currency} is not valid"),
        })?;
        let mut room = json!({
            "room_type": room_type, "rate_plan": rate_plan,
            "arrival": arrival.to_string(), "departure": departure.to_string(),
            "adults": adults.max(1), "children_ages": children, "amount": amount,
        });
        let penalty = stay
            .at(&["CancelPenalties", "CancelPenalty"])
            .or_else(|| res.at(&["ResGlobalInfo", "CancelPenalties", "CancelPenalty"]));
        if let Some(policy) = penalty.and_then(cancel_policy) {
            room["cancellation_policy"] = policy;
        }
        rooms.push(room);
    }
    if rooms.is_empty() {
        return Err(required("RoomStays/RoomStay"));
    }
    let customer = res
        .child("ResGuests")
        .and_then(|g| g.child("ResGuest"))
        .and_then(|g| g.at(&["Profiles", "ProfileInfo", "Profile", "Customer"]))
        .ok_or_else(|| required("ResGuest/Profiles/ProfileInfo/Profile/Customer"))?;
    let mut profile = serde_json::Map::new();
    if let Some(name) = customer.child("PersonName") {
        let given = name
            .child("GivenName")
            .map(|n| n.text.trim().to_string())
            .filter(|s| !s.is_empty());
        let surname = name
            .child("Surname")
            .map(|n| n.text.trim().to_string())
            .filter(|s| !s.is_empty());
        let local = given.as_deref().is_some_and(is_cjk) || surname.as_deref().is_some_and(is_cjk);
        let (g_key, s_key) = if local {
            ("given_name", "family_name")
        } else {
            ("given_name_latin", "family_name_latin")
        };
        if let Some(g) = given {
            profile.insert(g_key.into(), json!(g));
        }
        if let Some(s) = surname {
            profile.insert(s_key.into(), json!(s));
        }
    }
    let phones: Vec<Value> = customer
        .children_named("Telephone")
        .filter_map(|t| {
            let kind = match t.attr("PhoneTechType") {
                Some("5") => "mobile",
                Some("1") => "home",
                _ => "other",
            };
            t.attr("PhoneNumber")
                .map(|n| json!({"number": n, "kind": kind}))
        })
        .collect();
    if !phones.is_empty() {
        profile.insert("phones".into(), Value::Array(phones));
    }
    let emails: Vec<Value> = customer
        .children_named("Email")
        .map(|e| e.text.trim())
        .filter(|e| !e.is_empty())
        .map(|e| json!({"address": e}))
        .collect();
    // AlpineBits: <Email Remark="newsletter:yes">.
    let newsletter = customer
        .children_named("Email")
        .find_map(|e| match e.attr("Remark") {
            Some("newsletter:yes") => Some(true),
            Some("newsletter:no") => Some(false),
            _ => None,
        });
    if !emails.is_empty() {
        profile.insert("emails".into(), Value::Array(emails));
    }
    if let Some(b) = customer.attr("BirthDate") {
        profile.insert("birthday".into(), json!(b));
    }
    if let Some(l) = customer.attr("Language") {
        profile.insert("language".into(), json!(l));
    }
    if let Some(addr) = customer.child("Address") {
        let line = addr.child("AddressLine").map(|n| n.text.trim().to_string());
        let city = addr.child("CityName").map(|n| n.text.trim().to_string());
        let postal = addr.child("PostalCode").map(|n| n.text.trim().to_string());
        let country = addr
            .child("CountryName")
            .and_then(|c| c.attr("Code"))
            .map(str::to_string);
        profile.insert(
            "address".into(),
            json!({"line1": line, "city": city, "postal_code": postal, "country": country}),
        );
    }
    push["guest"] = json!({"profile": Value::Object(profile)});
    if let Some(n) = newsletter {
        push["guest"]["newsletter"] = json!(n);
    }
    push["rooms"] = Value::Array(rooms);
    let comments: Vec<String> = res
        .at(&["ResGlobalInfo", "Comments"])
        .into_iter()
        .flat_map(|c| c.children_named("Comment"))
        .map(|c| {
            c.child("Text")
                .map(|t| t.text.trim().to_string())
                .unwrap_or_else(|| c.text.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .collect();
    if !comments.is_empty() {
        push["guest_comments"] = json!(comments.join("\n"));
    }
    Ok((unique_id.to_string(), push))
}

/// An OTA `CancelPenalty` as a cancellation policy: `NonRefundable`, or a
/// `Deadline` before arrival with `AmountPercent` (nights or percent; the
/// first night when neither is given).
fn cancel_policy(p: &Node) -> Option<Value> {
    if p.attr("NonRefundable")
        .is_some_and(|v| v == "true" || v == "1")
    {
        return Some(json!({"type": "non_refundable"}));
    }
    let deadline = p.child("Deadline")?;
    if deadline
        .attr("OffsetDropTime")
        .is_some_and(|d| d != "BeforeArrival")
    {
        return None;
    }
    let n: u32 = deadline.attr("OffsetUnitMultiplier")?.parse().ok()?;
    let hours = match deadline.attr("OffsetTimeUnit").unwrap_or("Hour") {
        "Hour" => n,
        "Day" => n.saturating_mul(24),
        _ => return None,
    };
    let amount = p.child("AmountPercent");
    let fee = match (
        amount.and_then(|a| a.attr("NmbrOfNights")),
        amount.and_then(|a| a.attr("Percent")),
    ) {
        (Some(nights), _) => json!({"type": "nights", "nights": nights.parse::<u32>().ok()?}),
        (None, Some(pct)) => {
            json!({"type": "percent", "percent": pct.split('.').next()?.parse::<u32>().ok()?})
        }
        (None, None) => json!({"type": "first_night"}),
    };
    Some(json!({"type": "free_until", "hours_before_arrival": hours, "fee": fee}))
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

enum Outcome {
    Done {
        unique_id: String,
        result: ChannelPushResult,
        status: String,
    },
    Failed {
        unique_id: String,
        error: OtaError,
    },
}

fn response_xml(outcomes: &[Outcome], fatal: Option<&OtaError>, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OTA_HotelResNotifRS xmlns=\"http://www.opentravel.org/OTA/2003/05\" Version=\"1.000\" TimeStamp=\"{}\">",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let failures: Vec<(&str, &OtaError)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed { unique_id, error } => Some((unique_id.as_str(), error)),
            _ => None,
        })
        .collect();
    if fatal.is_none() && failures.is_empty() {
        out.push_str("<Success/>");
    }
    let warnings: Vec<(&str, String, String)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Done {
                unique_id, result, ..
            } => Some(
                result
                    .warnings
                    .iter()
                    .map(move |w| (unique_id.as_str(), w.code.clone(), w.message.clone())),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    if !warnings.is_empty() {
        out.push_str("<Warnings>");
        for (id, code, message) in warnings {
            out.push_str(&format!(
                "<Warning Type=\"3\" Code=\"450\" RecordID=\"{}\" ShortText=\"{}\">{}</Warning>",
                xml_escape(id),
                xml_escape(&code),
                xml_escape(&message)
            ));
        }
        out.push_str("</Warnings>");
    }
    if fatal.is_some() || !failures.is_empty() {
        out.push_str("<Errors>");
        if let Some(e) = fatal {
            out.push_str(&format!(
                "<Error Type=\"{}\" Code=\"{}\">{}</Error>",
                e.ewt,
                e.err,
                xml_escape(&e.text)
            ));
        }
        for (id, e) in failures {
            out.push_str(&format!(
                "<Error Type=\"{}\" Code=\"{}\" RecordID=\"{}\">{}</Error>",
                e.ewt,
                e.err,
                xml_escape(id),
                xml_escape(&e.text)
            ));
        }
        out.push_str("</Errors>");
    }
    let done: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Done { .. }))
        .collect();
    if !done.is_empty() {
        out.push_str("<HotelReservations>");
        for o in done {
            if let Outcome::Done {
                unique_id,
                result,
                status,
            } = o
            {
                out.push_str(&format!(
                    "<HotelReservation ResStatus=\"{}\"><UniqueID Type=\"14\" ID=\"{}\"/>",
                    xml_escape(status),
                    xml_escape(unique_id)
                ));
                if let Some(rid) = &result.reservation_id {
                    out.push_str(&format!(
                        "<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type=\"10\" ResID_Value=\"{}\" ResID_Source=\"hotel-crm\" ResID_SourceContext=\"{}\"/></HotelReservationIDs></ResGlobalInfo>",
                        xml_escape(rid),
                        xml_escape(&result.outcome)
                    ));
                }
                out.push_str("</HotelReservation>");
            }
        }
        out.push_str("</HotelReservations>");
    }
    out.push_str("</OTA_HotelResNotifRS>\n");
    out
}

fn xml_response(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/xml; charset=utf-8"))
        .body(body)
}

fn map_api_error(e: &ApiError) -> OtaError {
    let field = e
        .errors
        .first()
        .map(|f| format!(" ({}: {})", f.field, f.message))
        .unwrap_or_default();
    let err = match e.errors.first().map(|f| f.code) {
        Some("unknown_hotel_code") => 392,
        Some("before_arrival") | Some("too_long") => 15,
        Some("unknown_room_type") => 402,
        Some("unknown_rate_plan") => 249,
        _ if e.status.as_u16() == 403 => 497,
        _ => 450,
    };
    OtaError {
        ewt: if e.status.is_server_error() { 12 } else { 3 },
        err,
        text: format!("{}{field}", e.detail),
    }
}

/// Receive an OpenTravel `OTA_HotelResNotifRQ`; answer `OTA_HotelResNotifRS`.
///
/// Each `HotelReservation` is applied on its own with the same rules as
/// the JSON push (natural key, repeats, stale modifications, cancels
/// before bookings); `ResStatus` Commit/Book/Reserved create, Modify
/// modifies, Cancel cancels. Business errors come back as OTA `Errors`
/// with the reservation's `RecordID`; unreadable XML is a 400 with an OTA
/// error. Card data is removed before the message is stored.
#[utoipa::path(
    operation_id = "receiveOtaHotelResNotif",
    tag = "channels",
    security(("bearer_auth" = ["admin", "manager", "integration"])),
    request_body(content = String, content_type = "application/xml", description = "OTA_HotelResNotifRQ"),
    responses(
        (status = 200, description = "OTA_HotelResNotifRS with Success, Warnings and per-reservation Errors.", body = String, content_type = "application/xml"),
        (status = 400, description = "Unreadable XML: OTA_HotelResNotifRS with Errors (a malformed Idempotency-Key: a problem).", content(
            (String = "application/xml"),
            (Problem = "application/problem+json"),
        )),
        (status = 429, description = "Too many pushes from this client or address; see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/channels/ota/hotel-res-notif")]
pub async fn hotel_res_notif(
    auth: Auth<roles::ChannelPushers>,
    req: HttpRequest,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    crate::routes::channels::push_allowed(&state, &auth.principal, &req)?;
    let xml_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| m == "application/xml" || m == "text/xml" || m.ends_with("+xml"));
    if !xml_type {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the message as `Content-Type: application/xml`.",
        ));
    }
    let bytes = read_limited(body).await?;
    let now = state.clock.now();
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(_) => {
            let e = OtaError {
                ewt: 12,
                err: 450,
                text: "the message is not UTF-8".into(),
            };
            return Ok(xml_response(
                actix_web::http::StatusCode::BAD_REQUEST,
                response_xml(&[], Some(&e), now),
            ));
        }
    };
    let root = match parse_xml(text) {
        Ok(r) if r.name == "OTA_HotelResNotifRQ" => r,
        Ok(r) => {
            let e = OtaError {
                ewt: 12,
                err: 450,
                text: format!("expected OTA_HotelResNotifRQ, got {}", r.name),
            };
            return Ok(xml_response(
                actix_web::http::StatusCode::BAD_REQUEST,
                response_xml(&[], Some(&e), now),
            ));
        }
        Err(why) => {
            let e = OtaError {
                ewt: 12,
                err: 450,
                text: format!("malformed XML: {why}"),
            };
            return Ok(xml_response(
                actix_web::http::StatusCode::BAD_REQUEST,
                response_xml(&[], Some(&e), now),
            ));
        }
    };
    let redacted_message = redact_xml(text);
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let mut outcomes = Vec::new();
    let reservations: Vec<Node> = root
        .child("HotelReservations")
        .map(|h| h.children_named("HotelReservation").cloned().collect())
        .unwrap_or_default();
    if reservations.is_empty() {
        let e = required("HotelReservations/HotelReservation");
        return Ok(xml_response(
            actix_web::http::StatusCode::OK,
            response_xml(&[], Some(&e), now),
        ));
    }
    for res in reservations.iter().take(100) {
        let fallback_id = res
            .child("UniqueID")
            .and_then(|u| u.attr("ID"))
            .unwrap_or("")
            .to_string();
        let status = res
            .attr("ResStatus")
            .or(root.attr("ResStatus"))
            .unwrap_or("Commit")
            .to_string();
        let (unique_id, push_json) =
            match to_push(res, root.attr("ResStatus"), root.attr("TimeStamp")) {
                Ok(p) => p,
                Err(error) => {
                    outcomes.push(Outcome::Failed {
                        unique_id: fallback_id,
                        error,
                    });
                    continue;
                }
            };
        // The hash covers this reservation's mapped content and its
        // last-modified time: a repeat of it answers like the first.
        let mut hashed = push_json.clone();
        crm_domain::channel::redact_json(&mut hashed);
        let hash = sha256_hex(format!("ota-xml:{hashed}").as_bytes());
        let result = ingest_with_retry(
            &state,
            &actor,
            OTA_CHANNEL,
            hashed.to_string(),
            redacted_message.clone(),
            hash,
            now,
        )
        .await;
        match result {
            Ok(result) => outcomes.push(Outcome::Done {
                unique_id,
                result,
                status,
            }),
            Err(e) if e.status.is_server_error() => return Err(e),
            Err(e) => outcomes.push(Outcome::Failed {
                unique_id,
                error: map_api_error(&e),
            }),
        }
    }
    Ok(xml_response(
        actix_web::http::StatusCode::OK,
        response_xml(&outcomes, None, now),
    ))
}

async fn read_limited(mut payload: web::Payload) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| body_too_large())?;
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(body_too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_data_is_removed_from_xml() {
        let xml = r#"<PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="123" ExpireDate="1228"><CardHolderName>A</CardHolderName></PaymentCard><Comment><Text>card 5500 0000 0000 0004</Text></Comment><SeriesCode><PlainText>999</PlainText></SeriesCode>"#;
        let out = redact_xml(xml);
        for secret in ["4111111111111111", "\"123\"", "5500 0000 0000 0004", "999"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("ExpireDate"));
    }

    #[test]
    fn doctype_and_garbage_are_refused() {
        assert!(
            parse_xml("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>")
                .is_err()
        );
        assert!(parse_xml("<a><b></a>").is_err());
        assert!(parse_xml("not xml at all").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse_xml(&deep).is_err());
    }
}
