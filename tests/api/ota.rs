use crate::reservations::{hotel, shanghai_today};
use chrono::{Duration, NaiveDate};
use crm_tests::*;
use diesel::prelude::*;
use serde_json::json;

async fn ota_client(app: &TestApp) -> String {
    let res = app
        .post(
            "/api/v1/clients",
            &app.admin_token,
            json!({"name": "SiteMinder", "grants": {"channels": ["ota"]}}),
        )
        .await;
    let body = res.assert_status(201).clone();
    let res = app
        .token_request(json!({"grant_type": "client_credentials", "client_id": body["client_id"], "client_secret": body["client_secret"]}))
        .await;
    res.assert_status(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn reservation(
    id: &str,
    status: &str,
    modified: &str,
    hotel: &str,
    room_type: &str,
    arrival: NaiveDate,
    nights: i64,
) -> String {
    format!(
        r#"<HotelReservation CreateDateTime="2026-11-20T08:00:00Z" LastModifyDateTime="{modified}" ResStatus="{status}">
      <UniqueID Type="14" ID="{id}"/>
      <RoomStays><RoomStay>
        <RoomTypes><RoomType RoomTypeCode="{room_type}"/></RoomTypes>
        <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
        <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/><GuestCount AgeQualifyingCode="8" Age="6" Count="1"/></GuestCounts>
        <TimeSpan Start="{arrival}" End="{departure}"/>
        <Total AmountAfterTax="{amount}.00" CurrencyCode="CNY"/>
      </RoomStay></RoomStays>
      <ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer Language="en">
        <PersonName><GivenName>Anna</GivenName><Surname>Smith</Surname></PersonName>
        <Telephone PhoneTechType="5" PhoneNumber="+44 7911 123456"/>
        <Email>Anna.Smith@Example.com</Email>
      </Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
      <ResGlobalInfo>
        <Comments><Comment><Text>Arriving late &amp; hungry</Text></Comment></Comments>
        <Guarantee><GuaranteesAccepted><GuaranteeAccepted><PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="737" ExpireDate="1228"/></GuaranteeAccepted></GuaranteesAccepted></Guarantee>
        <BasicPropertyInfo HotelCode="{hotel}"/>
      </ResGlobalInfo>
    </HotelReservation>"#,
        departure = arrival + Duration::days(nights),
        amount = 458 * nights,
    )
}

fn message(reservations: &[String]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" TimeStamp="2026-11-24T08:00:00Z">
  <HotelReservations>{}</HotelReservations>
</OTA_HotelResNotifRQ>"#,
        reservations.join("\n")
    )
}

async fn send(app: &TestApp, token: &str, body: String) -> (u16, String) {
    let res = app
        .http
        .post(app.url("/api/v1/channels/ota/hotel-res-notif"))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.unwrap();
    if status == 200 || status == 400 {
        assert!(ctype.starts_with("application/xml"), "{ctype}: {text}");
        assert!(text.contains("<OTA_HotelResNotifRS"), "{text}");
    }
    (status, text)
}

#[derive(QueryableByName)]
struct Raw {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    raw_message: Option<String>,
}

#[tokio::test]
async fn each_reservation_of_a_message_gets_its_own_outcome() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = ota_client(&app).await;
    let arrival = shanghai_today() + Duration::days(20);
    let msg = message(&[
        reservation(
            "OTA-1",
            "Commit",
            "2026-11-20T08:00:00Z",
            "SHA",
            "DLK",
            arrival,
            2,
        ),
        reservation(
            "OTA-2",
            "Commit",
            "2026-11-20T08:00:00Z",
            "SHA",
            "NOPE",
            arrival,
            2,
        ),
        reservation(
            "OTA-3",
            "Commit",
            "2026-11-20T08:00:00Z",
            "ZZZ",
            "DLK",
            arrival,
            2,
        ),
        reservation(
            "OTA-4",
            "Commit",
            "2026-11-20T08:00:00Z",
            "SHA",
            "DLK",
            arrival,
            1,
        )
        .replace("+44 7911 123456", "12")
        .replace("Anna.Smith@", "other@"),
    ]);
    let (status, text) = send(&app, &token, msg.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("<Success/>"), "{text}");
    assert!(text.contains(r#"RecordID="OTA-2""#), "{text}");
    assert!(
        text.contains(r#"Code="392" RecordID="OTA-3""#),
        "unknown hotel code: {text}"
    );
    assert!(
        text.contains(r#"<UniqueID Type="14" ID="OTA-1"/>"#),
        "{text}"
    );
    assert!(text.contains(r#"ResID_SourceContext="created""#), "{text}");
    // A booking whose phone is unusable is still kept; the phone is not.
    assert!(
        text.contains(r#"<UniqueID Type="14" ID="OTA-4"/>"#)
            && text.contains("guest_field_dropped"),
        "{text}"
    );

    let list = app.get("/api/v1/reservations", &app.admin_token).await;
    let data = list.body["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 2);
    let r = data
        .iter()
        .find(|r| r["channel_reservation_id"] == "OTA-1")
        .unwrap();
    assert_eq!(r["channel_reservation_id"], "OTA-1");
    assert_eq!(r["rooms"][0]["adults"], 2);
    assert_eq!(r["rooms"][0]["children_ages"], json!([6]));
    assert_eq!(r["total"]["amount"], 91600);
    assert_eq!(r["guest_comments"], "Arriving late & hungry");
    let guest = app
        .get(
            &format!("/api/v1/guests/{}", r["guest_id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(guest.body["display_name"], "Anna Smith");
    assert_eq!(
        guest.body["phones"][0],
        json!({"number": "+447911123456", "kind": "mobile"})
    );
    assert_eq!(guest.body["emails"][0]["address"], "anna.smith@example.com");

    // The same message again: the same answer, nothing new.
    let (_, again) = send(&app, &token, msg).await;
    assert!(
        again.contains(r#"<UniqueID Type="14" ID="OTA-1"/>"#),
        "{again}"
    );
    let list = app.get("/api/v1/reservations", &app.admin_token).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);

    // Card data never stored.
    let rows: Vec<Raw> = app
        .db
        .read(|conn| {
            Ok(diesel::sql_query("SELECT raw_message FROM reservation_revisions").load(conn)?)
        })
        .unwrap();
    let raw = rows[0].raw_message.clone().unwrap();
    assert_eq!(rows.len(), 2, "one revision per created reservation");
    assert!(
        raw.contains("OTA-1") && !raw.contains("4111111111111111") && !raw.contains("737"),
        "{raw}"
    );
}

#[tokio::test]
async fn modifications_apply_in_last_modified_order_and_cancel_works() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = ota_client(&app).await;
    let arrival = shanghai_today() + Duration::days(15);
    send(
        &app,
        &token,
        message(&[reservation(
            "M-1",
            "Book",
            "2026-11-20T08:00:00Z",
            "SHA",
            "DLK",
            arrival,
            2,
        )]),
    )
    .await;
    let (_, text) = send(
        &app,
        &token,
        message(&[reservation(
            "M-1",
            "Modify",
            "2026-11-22T08:00:00Z",
            "SHA",
            "SUI",
            arrival,
            3,
        )]),
    )
    .await;
    assert!(
        text.contains("<Success/>") && text.contains(r#"ResID_SourceContext="modified""#),
        "{text}"
    );
    let (_, stale) = send(
        &app,
        &token,
        message(&[reservation(
            "M-1",
            "Modify",
            "2026-11-21T08:00:00Z",
            "SHA",
            "DLK",
            arrival,
            1,
        )]),
    )
    .await;
    assert!(
        stale.contains("<Warnings>") && stale.contains("stale_message"),
        "{stale}"
    );
    let list = app.get("/api/v1/reservations", &app.admin_token).await;
    let r = &list.body["data"][0];
    assert_eq!(r["rooms"][0]["nights"], 3);
    assert_eq!(r["total"]["amount"], 137400);
    let cancel = message(&[r#"<HotelReservation LastModifyDateTime="2026-11-23T08:00:00Z" ResStatus="Cancel"><UniqueID Type="14" ID="M-1"/><ResGlobalInfo><BasicPropertyInfo HotelCode="SHA"/></ResGlobalInfo></HotelReservation>"#.to_string()]);
    let (_, text) = send(&app, &token, cancel).await;
    assert!(
        text.contains(r#"ResID_SourceContext="cancelled""#),
        "{text}"
    );
    let r = app
        .get(
            &format!(
                "/api/v1/reservations/{}",
                list.body["data"][0]["id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(r.body["status"], "cancelled");
}

#[tokio::test]
async fn unreadable_messages_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = ota_client(&app).await;
    let (status, text) = send(
        &app,
        &token,
        "<OTA_HotelResNotifRQ><HotelReservations>".into(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        text.contains("<Errors>") && text.contains("malformed XML"),
        "{text}"
    );
    let (status, _) = send(
        &app,
        &token,
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>".into(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, text) = send(&app, &token, "<Something/>".into()).await;
    assert_eq!(status, 400, "{text}");
    let bad_date = reservation(
        "D-1",
        "Commit",
        "2026-11-20T08:00:00Z",
        "SHA",
        "DLK",
        shanghai_today() + Duration::days(3),
        1,
    )
    .replace("TimeSpan Start=\"", "TimeSpan Start=\"not-a-date");
    let (status, text) = send(&app, &token, message(&[bad_date])).await;
    assert_eq!(status, 200);
    assert!(text.contains(r#"Code="15""#), "{text}");
    let res = app
        .http
        .post(app.url("/api/v1/channels/ota/hotel-res-notif"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let list = app.get("/api/v1/reservations", &app.admin_token).await;
    assert!(list.body["data"].as_array().unwrap().is_empty());
    let guests = app.get("/api/v1/guests", &app.admin_token).await;
    assert!(guests.body["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn newsletter_consent_and_the_channels_cancel_penalty_are_kept() {
    let app = spawn_app().await;
    let _h = hotel(&app, 10).await;
    let token = ota_client(&app).await;
    let arrival = shanghai_today() + Duration::days(25);
    let res = reservation("P-1", "Commit", "2026-11-20T08:00:00Z", "SHA", "DLK", arrival, 2)
        .replace("<Email>", r#"<Email Remark="newsletter:yes">"#)
        .replace(
            "<Total AmountAfterTax",
            r#"<CancelPenalties><CancelPenalty><Deadline OffsetTimeUnit="Day" OffsetUnitMultiplier="3" OffsetDropTime="BeforeArrival"/><AmountPercent Percent="50"/></CancelPenalty></CancelPenalties><Total AmountAfterTax"#,
        );
    let (_, text) = send(&app, &token, message(&[res])).await;
    assert!(text.contains("<Success/>"), "{text}");
    let list = app.get("/api/v1/reservations", &app.admin_token).await;
    let r = &list.body["data"][0];
    assert_eq!(
        r["rooms"][0]["cancellation_policy"],
        json!({"type": "free_until", "hours_before_arrival": 72, "fee": {"type": "percent", "percent": 50}}),
        "the channel's penalty, not the rate plan's"
    );
    let consents = app
        .get(
            &format!(
                "/api/v1/guests/{}/consents",
                r["guest_id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    let c = &consents.body["data"][0];
    assert_eq!(
        (
            c["purpose"].as_str(),
            c["channel"].as_str(),
            c["status"].as_str()
        ),
        (Some("marketing"), Some("email"), Some("granted"))
    );
    assert_eq!(c["source"], "channel:ota");
}
