//! Guest search terms. Every name, pinyin reading, phone and e-mail of a
//! guest becomes a normalised term; a search is a prefix match over terms,
//! which both databases answer from an ordinary index.

use crate::guest::{is_cjk, GuestProfile};
use pinyin::ToPinyin;

const MAX_TERM_CHARS: usize = 100;

/// Normalises text for matching: lower case, no whitespace, no separators.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !"-'.·()".contains(*c))
        .flat_map(char::to_lowercase)
        .take(MAX_TERM_CHARS)
        .collect()
}

/// Full pinyin and initials of the CJK characters of `text`:
/// 张伟 → ("zhangwei", "zw"). Characters without a reading are skipped.
pub fn pinyin_of(text: &str) -> Option<(String, String)> {
    let mut full = String::new();
    let mut initials = String::new();
    for c in text.chars().filter(|c| is_cjk(*c)) {
        if let Some(p) = c.to_pinyin() {
            full.push_str(p.plain());
            initials.push_str(p.first_letter());
        }
    }
    (!full.is_empty()).then_some((full, initials))
}

/// The search terms of a profile, deduplicated.
pub fn terms_for(profile: &GuestProfile) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut add = |t: String| {
        if !t.is_empty() && !terms.contains(&t) {
            terms.push(t);
        }
    };
    let family = profile.family_name.as_deref().unwrap_or_default();
    let given = profile.given_name.as_deref().unwrap_or_default();
    for local in [
        format!("{family}{given}"),
        format!("{given}{family}"),
        given.to_string(),
    ] {
        add(normalise(&local));
        if let Some((full, initials)) = pinyin_of(&local) {
            add(full);
            add(initials);
        }
    }
    let family_l = profile.family_name_latin.as_deref().unwrap_or_default();
    let given_l = profile.given_name_latin.as_deref().unwrap_or_default();
    add(normalise(&format!("{family_l}{given_l}")));
    add(normalise(&format!("{given_l}{family_l}")));
    for part in given_l.split_whitespace() {
        add(normalise(part));
    }
    for (phone, _) in &profile.phones {
        add(phone.as_str().to_string());
        add(phone.as_str().trim_start_matches('+').to_string());
        if let Some(national) = phone.national_digits() {
            add(national);
        }
    }
    for (email, _) in &profile.emails {
        add(email.as_str().to_string());
    }
    if let Some(company) = &profile.company {
        add(normalise(company));
    }
    terms
}

/// Turns what a clerk typed into the prefix to look for. Phone-like input
/// ("+86 138-1234") keeps only digits and a leading plus; anything else is
/// normalised like the terms. `None` when nothing searchable is left.
pub fn query_prefix(q: &str) -> Option<String> {
    let trimmed = q.trim();
    let phone_like = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        && trimmed.chars().any(|c| c.is_ascii_digit());
    let prefix = if phone_like {
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if trimmed.starts_with('+') {
            format!("+{digits}")
        } else {
            digits
        }
    } else {
        normalise(trimmed)
    };
    (!prefix.is_empty()).then_some(prefix)
}

/// The exclusive upper bound of all strings starting with `prefix`, under
/// byte-wise (C / BINARY) collation: `term >= prefix AND term < upper`.
pub fn prefix_upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::GuestDraft;
    use crate::values::CountryCode;
    use chrono::NaiveDate;

    fn profile(draft: GuestDraft) -> GuestProfile {
        draft
            .parse(
                CountryCode::parse("CN").ok(),
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            )
            .unwrap()
    }

    fn finds(terms: &[String], q: &str) -> bool {
        let prefix = query_prefix(q).unwrap();
        terms.iter().any(|t| t.starts_with(&prefix))
    }

    #[test]
    fn pinyin_full_and_initials_find_chinese_names() {
        let terms = terms_for(&profile(GuestDraft {
            family_name: Some("张".into()),
            given_name: Some("伟".into()),
            ..Default::default()
        }));
        for q in [
            "zhangwei",
            "zw",
            "Zhang Wei",
            "zhang",
            "张",
            "张伟",
            "wei",
            "伟",
        ] {
            assert!(finds(&terms, q), "{q} should find 张伟 in {terms:?}");
        }
        assert!(!finds(&terms, "li"));
    }

    #[test]
    fn phones_are_found_by_any_usual_prefix() {
        let terms = terms_for(&profile(GuestDraft {
            family_name_latin: Some("Smith".into()),
            phones: Some(vec![crate::guest::PhoneEntry {
                number: "13812345678".into(),
                kind: crate::guest::PhoneKind::Mobile,
            }]),
            ..Default::default()
        }));
        for q in ["138", "138 1234", "+86138", "86138", "+86 138-1234-5678"] {
            assert!(finds(&terms, q), "{q} should find the phone in {terms:?}");
        }
        assert!(!finds(&terms, "139"));
    }

    #[test]
    fn latin_names_match_in_either_order_and_emails_by_prefix() {
        let terms = terms_for(&profile(GuestDraft {
            family_name_latin: Some("O'Brien".into()),
            given_name_latin: Some("Mary Ann".into()),
            emails: Some(vec![crate::guest::EmailEntry {
                address: "mary@example.ie".into(),
                kind: crate::guest::EmailKind::Personal,
            }]),
            ..Default::default()
        }));
        for q in ["obrien", "O'Brien Mary", "mary ann", "ann", "mary@ex"] {
            assert!(finds(&terms, q), "{q} should match {terms:?}");
        }
    }

    #[test]
    fn blank_queries_search_nothing() {
        assert_eq!(query_prefix("   "), None);
        assert_eq!(query_prefix("--"), None);
    }

    #[test]
    fn the_upper_bound_sorts_after_every_extension() {
        let upper = prefix_upper_bound("zw");
        assert!("zw" < upper.as_str());
        assert!("zwzzzz" < upper.as_str());
        assert!("zwé" < upper.as_str());
        assert!("zx" > upper.as_str());
    }
}
