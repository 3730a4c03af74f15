//! Arbitrary CSV-like input as an import: the first line is the header
//! (recognised into a mapping), every further line a row converted and
//! validated like POST /guests. Errors are fine; panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return };
    let headers: Vec<String> = header.split(',').map(str::to_string).collect();
    let Ok(mapping) = crm_domain::import::ColumnMapping::from_headers(&headers, &[]) else {
        return;
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    for line in lines.take(50) {
        let cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if let Some((imported, _problems)) =
            crm_domain::import::convert_row_with_problems(&mapping, &headers, &cells)
        {
            let _ = imported.draft.parse(None, today);
            let _ = crm_domain::import::canonical_row(&mapping, &cells);
        }
    }
});
