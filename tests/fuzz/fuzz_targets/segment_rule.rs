//! Arbitrary JSON as a segment rule: the domain parser checks it (paths,
//! depth and size limits) and what it accepts compiles to a query
//! predicate, without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(rule) = crm_domain::segment::Rule::parse(&value, "rule") {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let _ = crm_storage::segments::compile("org", &rule, today);
    }
});
