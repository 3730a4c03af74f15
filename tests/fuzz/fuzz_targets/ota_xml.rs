//! Arbitrary text as an `OTA_HotelResNotifRQ` body: parsing, card
//! redaction and the mapping of each reservation to the JSON push must
//! answer (an error is fine), never panic or run away.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crm_api::routes::ota::map_message(text);
    }
});
