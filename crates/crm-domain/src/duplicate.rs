//! Duplicate-guest matching: which two profiles look like one person.
//!
//! Used twice: by the batch job that looks for duplicates among all guests
//! of an organisation ([`find_pairs`], up to a million guests on one core)
//! and by the check when one guest is created (the caller loads the guests
//! sharing one of the new guest's [`blocking_keys`] and calls [`score`]).
//!
//! # How a pair is judged
//!
//! The evidence falls into two kinds:
//!
//! * **Identifiers**: an identity document (blind-index hash), a phone, an
//!   e-mail. A document belongs to one person; phones and e-mails are shared
//!   by families and companies, so they are strong but need the name not to
//!   contradict them.
//! * **Name, birthday, city**: a name on its own is never enough, because
//!   common Chinese names (张伟, 王芳) are shared by hundreds of thousands of
//!   people. A name needs a birthday (one day in ~20,000) or, more weakly, a
//!   city to agree.
//!
//! Names are compared on romanised *name keys* ([`name_keys`]): the pinyin of
//! the Chinese name and the Latin name in both orders, so 张伟, "Zhang Wei" and
//! "Wei Zhang" meet. When both guests have a Chinese name the characters
//! decide: 张伟 and 张薇 are different people who happen to share the pinyin
//! `zhangwei`, so a homophone only counts as a *similar* name (an input
//! method picking the wrong character is a real typo, but a weak one).
//!
//! A one-edit typo (Damerau distance ≤ 1, ≤ 2 for keys of 10 letters or more)
//! makes a *similar* name. Pinyin names are dense under one edit (李敏/李明,
//! 王军/王娟, 刘艳/刘洋), so a similar name needs a birthday; a similar name
//! plus a city stays below the threshold.
//!
//! | evidence                                         | score |
//! |--------------------------------------------------|-------|
//! | same document                                    | 100   |
//! | same document, birthdays both known and differ   | 75    |
//! | same phone or e-mail (both: 80)                  | 70    |
//! | … + same name / similar name / clearly different | +20 / +10 / −30 |
//! | … + same birthday / different birthday           | +10 / −30 |
//! | … + same city                                    | +5 (at most 99) |
//! | same name + same birthday                        | 88 (city same +4, differs −3) |
//! | similar name + same birthday                     | 80 (city same +4, differs −25) |
//! | same name + same city, a birthday unknown        | 55 (not reported) |
//! | similar name + same city, a birthday unknown     | 50    |
//! | name + city, birthdays both known and differ     | 25    |
//! | name rows above, identifiers contradict          | −40 document / −30 phone / −15 e-mail |
//!
//! A contradiction is an identifier both guests have with no value in
//! common: two resident-id numbers belong to two people, two mobile numbers
//! usually do (people change numbers, so it counts less), two e-mail
//! addresses often do not (work and private). In a million guests hundreds
//! of pairs of different people share a common name and a birthday — and
//! each has its own phone; the same person entered again by another
//! channel usually comes without one (OTA bookings, a walk-in at the desk).
//! So a name + birthday pair with different phones scores 58 and is not a
//! candidate unless the city agrees too (62). A *similar* name with a
//! different city is two weak points at once — in a million guests the
//! pinyin of hundreds of people is one letter away from someone's with the
//! same birthday — and is not a candidate either (55).
//!
//! So a father and son sharing the family phone (same family name, different
//! given names, different birthdays) score 10, a shared phone with one side
//! nameless scores 70, and a romanised or typo'd name with the same birthday
//! scores 80–92. Pairs below [`CANDIDATE_THRESHOLD`] are not reported.
//!
//! # Blocking
//!
//! Only guests sharing a blocking key are compared. Exact keys cover the
//! identifiers and name + birthday / name + city; the typo case is covered
//! by `b:<birthday>|<letter>` for the first letter of the family part and of
//! the given part of the name: a one-letter typo changes at most one of the
//! two letters, and a birthday block of a million guests holds ~50 people,
//! split further by the letter.

use crate::guest::{is_cjk, GuestProfile};
use chrono::NaiveDate;
use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// What matching needs of a guest; the caller normalises phones (E.164) and
/// e-mails (lower-case) and passes identity-document blind-index hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchInput {
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_latin: Option<String>,
    pub given_name_latin: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub city: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub document_hashes: Vec<String>,
}

impl MatchInput {
    /// The matching view of a profile: its names, birthday, address city,
    /// phones and e-mails, with the document blind-index hashes the caller
    /// holds for it.
    pub fn from_profile(profile: &GuestProfile, document_hashes: Vec<String>) -> MatchInput {
        MatchInput {
            family_name: profile.family_name.clone(),
            given_name: profile.given_name.clone(),
            family_name_latin: profile.family_name_latin.clone(),
            given_name_latin: profile.given_name_latin.clone(),
            birthday: profile.birthday,
            city: profile.address.as_ref().and_then(|a| a.city.clone()),
            phones: profile
                .phones
                .iter()
                .map(|(p, _)| p.as_str().to_string())
                .collect(),
            emails: profile
                .emails
                .iter()
                .map(|(e, _)| e.as_str().to_string())
                .collect(),
            document_hashes,
        }
    }
}

/// Why two guests look like one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    SameDocument,
    SamePhone,
    SameEmail,
    SameName,
    SimilarName,
    SameBirthday,
    SameCity,
    DifferentBirthday,
    /// Both have identity documents, none in common (names only).
    DifferentDocument,
    /// Both have phones, none in common (names only).
    DifferentPhone,
    /// Both have e-mail addresses, none in common (names only).
    DifferentEmail,
}

/// How alike two guests are (0–100) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// Pairs scoring at or above this are duplicate candidates shown to staff.
pub const CANDIDATE_THRESHOLD: u8 = 60;

// Scores; the rationale is in the module documentation.
const DOCUMENT: i32 = 100;
const DOCUMENT_BIRTHDAY_CONFLICT: i32 = 75;
const CONTACT: i32 = 70;
const CONTACT_BOTH: i32 = 80;
const CONTACT_SAME_NAME: i32 = 20;
const CONTACT_SIMILAR_NAME: i32 = 10;
const CONTACT_DIFFERENT_NAME: i32 = -30;
const CONTACT_SAME_BIRTHDAY: i32 = 10;
const CONTACT_DIFFERENT_BIRTHDAY: i32 = -30;
const CONTACT_SAME_CITY: i32 = 5;
const CONTACT_MAX: i32 = 99;
const NAME_BIRTHDAY: i32 = 88;
const SIMILAR_NAME_BIRTHDAY: i32 = 80;
const NAME_BIRTHDAY_SAME_CITY: i32 = 4;
const NAME_BIRTHDAY_OTHER_CITY: i32 = -3;
const SIMILAR_NAME_BIRTHDAY_OTHER_CITY: i32 = -25;
/// Below the threshold: in a million guests thousands of pairs share a
/// common name and a big city; that alone is not a candidate.
const NAME_CITY: i32 = 55;
const SIMILAR_NAME_CITY: i32 = 50;
const NAME_CITY_DIFFERENT_BIRTHDAY: i32 = -40;
/// What contradicting identifiers take off a name-based score.
const OTHER_DOCUMENT: i32 = -40;
const OTHER_PHONE: i32 = -30;
const OTHER_EMAIL: i32 = -15;

/// Name keys longer than this (in characters) are cut; typo comparison
/// works on keys of at most this many bytes.
const MAX_KEY: usize = 64;

/// Surnames whose reading differs from the character's most common one.
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("万俟", "moqi"),
    ("尉迟", "yuchi"),
    ("长孙", "zhangsun"),
    ("单于", "chanyu"),
    ("单", "shan"),
    ("曾", "zeng"),
    ("解", "xie"),
    ("区", "ou"),
    ("仇", "qiu"),
    ("朴", "piao"),
    ("查", "zha"),
    ("乐", "yue"),
    ("盖", "ge"),
    ("缪", "miao"),
    ("覃", "qin"),
    ("翟", "zhai"),
    ("种", "chong"),
    ("秘", "bi"),
    ("尉", "yu"),
    ("召", "shao"),
    ("句", "gou"),
    ("折", "she"),
    ("员", "yun"),
    ("繁", "po"),
    ("黑", "he"),
    ("能", "nai"),
    ("藏", "zang"),
];

/// Two-character surnames, for splitting a full name typed into one field.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "申屠", "闻人", "钟离", "万俟", "单于",
    "呼延", "澹台", "公冶", "太史", "司空", "百里",
];

/// Romanised, normalised name keys of a guest: pinyin of the CJK name
/// (family+given, no tone, lower case) and the Latin name in both orders,
/// lower case, letters only. Used for blocking and comparison.
///
/// Only names of two parts (family and given, or a full name typed into one
/// field) give keys: a lone "Smith" or 张 identifies nobody. The Chinese
/// name gives both orders too, plus the surname reading where it differs from
/// the character's usual one (单 → shan and dan) and ü spelt u, yu and v
/// (吕 → lu, lyu, lv). Keys are sorted and distinct.
pub fn name_keys(g: &MatchInput) -> Vec<String> {
    names_of(g).keys
}

/// Keys two guests must share one of to be compared at all (blocking):
///
/// * `d:<document hash>`, `p:<e164>`, `e:<email>`;
/// * `nb:<name>|<birthday>` and `nc:<name>|<city>`, where `<name>` is the
///   order-independent form of a name key (the smaller of family+given and
///   given+family, so 张伟 and "Wei Zhang" share `weizhang`);
/// * `b:<birthday>|<letter>` for the first letter of each name part, which
///   finds a one-letter typo with the same birthday.
///
/// Birthdays are ISO dates; cities are normalised (lower case, letters and
/// digits only, a trailing 市 or "city" dropped).
pub fn blocking_keys(g: &MatchInput) -> Vec<String> {
    let names = names_of(g);
    let mut keys = Vec::new();
    for_each_blocking_key(g, &names, |k| {
        if !keys.iter().any(|x: &String| x == k) {
            keys.push(k.to_string());
        }
    });
    keys
}

/// Scores a pair; `None` below [`CANDIDATE_THRESHOLD`].
pub fn score(a: &MatchInput, b: &MatchInput) -> Option<Match> {
    score_prepared(a, &Prepared::new(a), b, &Prepared::new(b))
}

/// The candidate pairs of a [`find_pairs`] run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairSearch {
    /// `(i, j, match)` with `i < j`, each pair once, ordered by `(i, j)`.
    pub pairs: Vec<(usize, usize, Match)>,
    /// Blocking keys shared by more than `max_block` guests (at least one of
    /// them in focus) whose guests were therefore not compared.
    pub skipped_blocks: usize,
}

/// All candidate pairs among `guests` (indices i<j, each pair once, highest
/// score kept), considering only pairs where `focus(i) || focus(j)` (the job
/// passes "new or changed since the last run"). Blocks larger than
/// `max_block` members are skipped (shared hotel phone numbers, giant name
/// blocks) and counted in the result.
///
/// Keys are hashed to 64 bits and sorted; a pair sharing several blocks is
/// scored once per block, and duplicates are removed at the end.
pub fn find_pairs(
    guests: &[MatchInput],
    focus: impl Fn(usize) -> bool,
    max_block: usize,
) -> PairSearch {
    let focused: Vec<bool> = (0..guests.len()).map(&focus).collect();
    let mut prepared = Vec::with_capacity(guests.len());
    let mut entries: Vec<(u64, usize)> = Vec::with_capacity(guests.len() * 8);
    let mut own: Vec<u64> = Vec::new();
    for (i, g) in guests.iter().enumerate() {
        let names = names_of(g);
        own.clear();
        for_each_blocking_key(g, &names, |k| {
            let mut h = DefaultHasher::new();
            k.hash(&mut h);
            let h = h.finish();
            if !own.contains(&h) {
                own.push(h);
            }
        });
        entries.extend(own.iter().map(|h| (*h, i)));
        prepared.push(Prepared::from_names(g, names));
    }
    entries.sort_unstable();

    let mut pairs: Vec<(usize, usize, Match)> = Vec::new();
    let mut skipped_blocks = 0;
    for block in entries.chunk_by(|x, y| x.0 == y.0) {
        if block.len() < 2 || !block.iter().any(|(_, i)| focused[*i]) {
            continue;
        }
        if block.len() > max_block {
            skipped_blocks += 1;
            continue;
        }
        for (x, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[x + 1..] {
                if !(focused[i] || focused[j]) {
                    continue;
                }
                if let Some(m) = score_prepared(&guests[i], &prepared[i], &guests[j], &prepared[j])
                {
                    pairs.push((i, j, m));
                }
            }
        }
    }
    pairs.sort_unstable_by(|a, b| (a.0, a.1, b.2.score).cmp(&(b.0, b.1, a.2.score)));
    pairs.dedup_by(|later, first| later.0 == first.0 && later.1 == first.1);
    PairSearch {
        pairs,
        skipped_blocks,
    }
}

/// The romanised name of a guest, worked out once.
#[derive(Debug, Default)]
struct Names {
    /// Sorted, distinct name keys (both orders).
    keys: Vec<String>,
    /// Order-independent keys, for blocking.
    canonical: Vec<String>,
    /// First letters of the name parts, for typo blocking.
    initials: Vec<char>,
}

/// What scoring needs beyond the input, computed once per guest.
#[derive(Debug)]
struct Prepared {
    keys: Vec<String>,
    /// The Chinese characters of the name, when it has at least two.
    cjk: String,
    city: Option<String>,
}

impl Prepared {
    fn new(g: &MatchInput) -> Prepared {
        Prepared::from_names(g, names_of(g))
    }

    fn from_names(g: &MatchInput, names: Names) -> Prepared {
        let cjk: String = [&g.family_name, &g.given_name]
            .into_iter()
            .flatten()
            .flat_map(|s| s.chars())
            .filter(|c| is_cjk(*c))
            .collect();
        Prepared {
            keys: names.keys,
            cjk: if cjk.chars().count() >= 2 {
                cjk
            } else {
                String::new()
            },
            city: g.city.as_deref().and_then(normalise_city),
        }
    }
}

fn for_each_blocking_key(g: &MatchInput, names: &Names, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    let mut emit = |parts: &[&str]| {
        buf.clear();
        for p in parts {
            buf.push_str(p);
        }
        f(&buf);
    };
    for d in &g.document_hashes {
        let d = d.trim();
        if !d.is_empty() {
            emit(&["d:", d]);
        }
    }
    for p in &g.phones {
        if usable_phone(p) {
            let p: String = phone_chars(p).collect();
            emit(&["p:", &p]);
        }
    }
    for e in &g.emails {
        let e = e.trim().to_lowercase();
        if !e.is_empty() {
            emit(&["e:", &e]);
        }
    }
    let birthday = g.birthday.map(|b| b.format("%Y-%m-%d").to_string());
    let city = g.city.as_deref().and_then(normalise_city);
    for k in &names.canonical {
        if let Some(b) = &birthday {
            emit(&["nb:", k, "|", b]);
        }
        if let Some(c) = &city {
            emit(&["nc:", k, "|", c]);
        }
    }
    if let Some(b) = &birthday {
        let mut letter = [0u8; 4];
        for c in &names.initials {
            emit(&["b:", b, "|", c.encode_utf8(&mut letter)]);
        }
    }
}

/// A phone with everything but digits and a leading plus dropped.
fn phone_chars(p: &str) -> impl Iterator<Item = char> + '_ {
    let p = p.trim();
    let plus = p.starts_with('+').then_some('+');
    plus.into_iter()
        .chain(p.chars().filter(char::is_ascii_digit))
}

/// Whether a phone has enough digits to identify anyone.
fn usable_phone(p: &str) -> bool {
    p.chars().filter(char::is_ascii_digit).count() >= 5
}

/// Trim, lower case, letters and digits only, a trailing 市 or "city" dropped:
/// "北京市" → "北京", "New York City" → "newyork".
fn normalise_city(city: &str) -> Option<String> {
    let mut c = String::new();
    for ch in city.trim().chars().filter(|c| c.is_alphanumeric()) {
        push_folded(&mut c, ch);
    }
    for suffix in ["市", "city"] {
        if let Some(stripped) = c.strip_suffix(suffix) {
            if !stripped.is_empty() {
                c.truncate(stripped.len());
                break;
            }
        }
    }
    (!c.is_empty()).then_some(c)
}

/// Pushes `c` lower-cased with common Latin diacritics dropped (é → e,
/// ß → ss); CJK and other scripts pass unchanged.
fn push_folded(out: &mut String, c: char) {
    for l in c.to_lowercase() {
        let plain = match l {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' | 'ĉ' => "c",
            'ď' | 'đ' | 'ð' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ğ' | 'ĝ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'ǐ' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'ǒ' => "o",
            'œ' => "oe",
            'ř' => "r",
            'ś' | 'š' | 'ş' | 'ș' => "s",
            'ß' => "ss",
            'ť' | 'ţ' | 'ț' => "t",
            'þ' => "th",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'ǔ' | 'ǖ' | 'ǘ' | 'ǚ' | 'ǜ' => {
                "u"
            }
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => {
                out.push(l);
                continue;
            }
        };
        out.push_str(plain);
    }
}

/// Letters of `text` lower-cased and folded, CJK characters as pinyin
/// (most common reading, ü kept as `ü` for [`spellings_of_u`]).
fn romanise(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if let Some(p) = c.to_pinyin() {
                out.push_str(p.plain());
            }
        } else if c.is_alphabetic() {
            push_folded(&mut out, c);
        }
    }
    out
}

/// The readings of a family name written in Chinese: the surname reading
/// first where it differs from the character's usual one.
fn surname_readings(family: &str) -> Vec<String> {
    let family = family.trim();
    let mut readings = Vec::new();
    if let Some((surname, reading)) = SURNAME_READINGS.iter().find(|(s, _)| family.starts_with(s)) {
        readings.push(format!("{reading}{}", romanise(&family[surname.len()..])));
    }
    let usual = romanise(family);
    if !readings.contains(&usual) {
        readings.push(usual);
    }
    readings
}

/// Splits a Chinese full name typed into one field: 张伟 → (张, 伟),
/// 欧阳娜娜 → (欧阳, 娜娜).
fn split_chinese_name(full: &str) -> Option<(&str, &str)> {
    let full = full.trim();
    let surname_len = COMPOUND_SURNAMES
        .iter()
        .find(|s| full.starts_with(*s) && full.len() > s.len())
        .map(|s| s.len())
        .or_else(|| full.chars().next().map(char::len_utf8))?;
    let (family, given) = full.split_at(surname_len);
    (!given.trim().is_empty()).then_some((family, given))
}

/// Splits a Latin full name typed into one field into its first word and
/// the rest; both orders are keyed, so which is the family name is moot.
fn split_latin_name(full: &str) -> Option<(String, String)> {
    let mut words = full
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty());
    let first = romanise(words.next()?);
    let rest: String = words.map(romanise).collect();
    (!first.is_empty() && !rest.is_empty()).then_some((first, rest))
}

/// ü as written in pinyin: u (most systems), yu (Chinese passports since
/// 2012: LYU) and v (keyboard input: lv).
fn spellings_of_u(s: &str) -> Vec<String> {
    if s.contains('ü') {
        ["u", "yu", "v"].iter().map(|r| s.replace('ü', r)).collect()
    } else {
        vec![s.to_string()]
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The (family, given) readings of a guest's names.
fn name_parts(g: &MatchInput) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut add = |family: String, given: String| {
        for f in spellings_of_u(&family) {
            for gv in spellings_of_u(&given) {
                if !f.is_empty() && !gv.is_empty() && !parts.contains(&(f.clone(), gv.clone())) {
                    parts.push((f.clone(), gv));
                }
            }
        }
    };
    let family = non_empty(&g.family_name);
    let given = non_empty(&g.given_name);
    let chinese = [family, given]
        .iter()
        .flatten()
        .any(|s| s.chars().any(is_cjk));
    match (family, given) {
        (Some(f), Some(gv)) => {
            let given = romanise(gv);
            for f in surname_readings(f) {
                add(f, given.clone());
            }
        }
        (Some(full), None) | (None, Some(full)) if chinese => {
            if let Some((f, gv)) = split_chinese_name(full) {
                let given = romanise(gv);
                for f in surname_readings(f) {
                    add(f, given.clone());
                }
            }
        }
        (Some(full), None) | (None, Some(full)) => {
            if let Some((f, gv)) = split_latin_name(full) {
                add(f, gv);
            }
        }
        (None, None) => {}
    }
    match (
        non_empty(&g.family_name_latin),
        non_empty(&g.given_name_latin),
    ) {
        (Some(f), Some(gv)) => add(romanise(f), romanise(gv)),
        (Some(full), None) | (None, Some(full)) => {
            if let Some((f, gv)) = split_latin_name(full) {
                add(f, gv);
            }
        }
        (None, None) => {}
    }
    parts
}

fn cut(mut key: String) -> String {
    if let Some((at, _)) = key.char_indices().nth(MAX_KEY) {
        key.truncate(at);
    }
    key
}

fn names_of(g: &MatchInput) -> Names {
    let mut names = Names::default();
    for (family, given) in name_parts(g) {
        let fg = cut(format!("{family}{given}"));
        let gf = cut(format!("{given}{family}"));
        if fg.chars().count() < 3 {
            continue;
        }
        let canonical = fg.clone().min(gf.clone());
        names.keys.push(fg);
        names.keys.push(gf);
        if !names.canonical.contains(&canonical) {
            names.canonical.push(canonical);
        }
        for c in [family.chars().next(), given.chars().next()]
            .into_iter()
            .flatten()
        {
            if !names.initials.contains(&c) {
                names.initials.push(c);
            }
        }
    }
    names.keys.sort_unstable();
    names.keys.dedup();
    names
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameAgreement {
    Same,
    Similar,
    /// Both have names and no key is similar.
    Different,
    /// One side has no name.
    Unknown,
}

fn compare_names(a: &Prepared, b: &Prepared) -> NameAgreement {
    if a.keys.is_empty() || b.keys.is_empty() {
        return NameAgreement::Unknown;
    }
    let shared_key = a.keys.iter().any(|k| b.keys.binary_search(k).is_ok());
    if !a.cjk.is_empty() && !b.cjk.is_empty() {
        return if a.cjk == b.cjk {
            NameAgreement::Same
        } else if shared_key {
            NameAgreement::Similar
        } else {
            NameAgreement::Different
        };
    }
    if shared_key {
        return NameAgreement::Same;
    }
    let similar = a
        .keys
        .iter()
        .any(|x| b.keys.iter().any(|y| similar_keys(x, y)));
    if similar {
        NameAgreement::Similar
    } else {
        NameAgreement::Different
    }
}

/// Damerau (optimal string alignment) distance ≤ 1 for keys of at least 5
/// letters, ≤ 2 for at least 10.
fn similar_keys(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        within_distance(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        within_distance(&a, &b)
    }
}

fn within_distance<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let shorter = a.len().min(b.len());
    let limit = match shorter {
        0..=4 => return false,
        5..=9 => 1,
        _ => 2,
    };
    if a.len().abs_diff(b.len()) > limit || a.len() > MAX_KEY || b.len() > MAX_KEY {
        return false;
    }
    // Three rows of the edit-distance table; distances never exceed MAX_KEY.
    let n = b.len();
    let mut before = [0u8; MAX_KEY + 1];
    let mut prev = [0u8; MAX_KEY + 1];
    let mut cur = [0u8; MAX_KEY + 1];
    for (j, cell) in prev.iter_mut().enumerate().take(n + 1) {
        *cell = j as u8;
    }
    for i in 1..=a.len() {
        cur[0] = i as u8;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if usize::from(row_min) > limit {
            return false;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    usize::from(prev[n]) <= limit
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agreement {
    Same,
    Different,
    Unknown,
}

fn agreement<T: PartialEq>(a: Option<T>, b: Option<T>) -> Agreement {
    match (a, b) {
        (Some(a), Some(b)) if a == b => Agreement::Same,
        (Some(_), Some(_)) => Agreement::Different,
        _ => Agreement::Unknown,
    }
}

fn score_prepared(a: &MatchInput, pa: &Prepared, b: &MatchInput, pb: &Prepared) -> Option<Match> {
    let same_document = a.document_hashes.iter().any(|x| {
        let x = x.trim();
        !x.is_empty() && b.document_hashes.iter().any(|y| y.trim() == x)
    });
    let same_phone = a
        .phones
        .iter()
        .any(|x| usable_phone(x) && b.phones.iter().any(|y| phone_chars(x).eq(phone_chars(y))));
    let same_email = a.emails.iter().any(|x| {
        let x = x.trim();
        !x.is_empty() && b.emails.iter().any(|y| y.trim().eq_ignore_ascii_case(x))
    });
    let birthday = agreement(a.birthday, b.birthday);
    let city = agreement(pa.city.as_ref(), pb.city.as_ref());
    let name = compare_names(pa, pb);
    // Identifiers both sides have and none shared (only read when nothing
    // is shared at all, in the name branch).
    let has = |xs: &[String], usable: fn(&str) -> bool| xs.iter().any(|x| usable(x));
    let known = |x: &str| !x.trim().is_empty();
    let other_document =
        !same_document && has(&a.document_hashes, known) && has(&b.document_hashes, known);
    let other_phone = !same_phone && has(&a.phones, usable_phone) && has(&b.phones, usable_phone);
    let other_email = !same_email && has(&a.emails, known) && has(&b.emails, known);

    let mut reasons = Vec::new();
    for (yes, reason) in [
        (same_document, Reason::SameDocument),
        (same_phone, Reason::SamePhone),
        (same_email, Reason::SameEmail),
        (name == NameAgreement::Same, Reason::SameName),
        (name == NameAgreement::Similar, Reason::SimilarName),
        (birthday == Agreement::Same, Reason::SameBirthday),
        (city == Agreement::Same, Reason::SameCity),
        (birthday == Agreement::Different, Reason::DifferentBirthday),
    ] {
        if yes {
            reasons.push(reason);
        }
    }
    let by_name = !(same_document || same_phone || same_email);
    for (yes, reason) in [
        (other_document, Reason::DifferentDocument),
        (other_phone, Reason::DifferentPhone),
        (other_email, Reason::DifferentEmail),
    ] {
        if yes && by_name {
            reasons.push(reason);
        }
    }

    let score = if same_document {
        if birthday == Agreement::Different {
            DOCUMENT_BIRTHDAY_CONFLICT
        } else {
            DOCUMENT
        }
    } else if same_phone || same_email {
        let base = if same_phone && same_email {
            CONTACT_BOTH
        } else {
            CONTACT
        };
        let name = match name {
            NameAgreement::Same => CONTACT_SAME_NAME,
            NameAgreement::Similar => CONTACT_SIMILAR_NAME,
            NameAgreement::Different => CONTACT_DIFFERENT_NAME,
            NameAgreement::Unknown => 0,
        };
        let birthday = match birthday {
            Agreement::Same => CONTACT_SAME_BIRTHDAY,
            Agreement::Different => CONTACT_DIFFERENT_BIRTHDAY,
            Agreement::Unknown => 0,
        };
        let city = if city == Agreement::Same {
            CONTACT_SAME_CITY
        } else {
            0
        };
        (base + name + birthday + city).min(CONTACT_MAX)
    } else {
        let (with_birthday, with_city, other_city) = match name {
            NameAgreement::Same => (NAME_BIRTHDAY, NAME_CITY, NAME_BIRTHDAY_OTHER_CITY),
            NameAgreement::Similar => (
                SIMILAR_NAME_BIRTHDAY,
                SIMILAR_NAME_CITY,
                SIMILAR_NAME_BIRTHDAY_OTHER_CITY,
            ),
            NameAgreement::Different | NameAgreement::Unknown => return None,
        };
        let base = match (birthday, city) {
            (Agreement::Same, Agreement::Same) => with_birthday + NAME_BIRTHDAY_SAME_CITY,
            (Agreement::Same, Agreement::Different) => with_birthday + other_city,
            (Agreement::Same, Agreement::Unknown) => with_birthday,
            (Agreement::Unknown, Agreement::Same) => with_city,
            (Agreement::Different, Agreement::Same) => with_city + NAME_CITY_DIFFERENT_BIRTHDAY,
            _ => return None,
        };
        let contradictions = [
            (other_document, OTHER_DOCUMENT),
            (other_phone, OTHER_PHONE),
            (other_email, OTHER_EMAIL),
        ];
        base + contradictions
            .iter()
            .filter(|(yes, _)| *yes)
            .map(|(_, points)| points)
            .sum::<i32>()
    };
    let score = u8::try_from(score.clamp(0, 100)).ok()?;
    (score >= CANDIDATE_THRESHOLD).then_some(Match { score, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn chinese(family: &str, given: &str) -> MatchInput {
        MatchInput {
            family_name: Some(family.into()),
            given_name: Some(given.into()),
            ..Default::default()
        }
    }

    fn latin(family: &str, given: &str) -> MatchInput {
        MatchInput {
            family_name_latin: Some(family.into()),
            given_name_latin: Some(given.into()),
            ..Default::default()
        }
    }

    fn born(mut g: MatchInput, birthday: Option<NaiveDate>) -> MatchInput {
        g.birthday = birthday;
        g
    }

    fn in_city(mut g: MatchInput, city: &str) -> MatchInput {
        g.city = Some(city.into());
        g
    }

    fn with_phone(mut g: MatchInput, phone: &str) -> MatchInput {
        g.phones.push(phone.into());
        g
    }

    #[test]
    fn name_keys_romanise_chinese_and_latin_names_in_both_orders() {
        assert_eq!(name_keys(&chinese("张", "伟")), ["weizhang", "zhangwei"]);
        assert_eq!(name_keys(&latin("Zhang", "Wei")), ["weizhang", "zhangwei"]);
        let full_in_one_field = MatchInput {
            given_name_latin: Some("Wei  Zhang".into()),
            ..Default::default()
        };
        assert_eq!(name_keys(&full_in_one_field), ["weizhang", "zhangwei"]);
        let chinese_in_one_field = MatchInput {
            given_name: Some("欧阳娜娜".into()),
            ..Default::default()
        };
        assert_eq!(
            name_keys(&chinese_in_one_field),
            ["nanaouyang", "ouyangnana"]
        );
        assert_eq!(
            name_keys(&latin("O'Brien-Müller", "José")),
            ["joseobrienmuller", "obrienmullerjose"]
        );
        let lv = name_keys(&chinese("吕", "强"));
        for k in ["luqiang", "lyuqiang", "lvqiang"] {
            assert!(lv.iter().any(|x| x == k), "{k} in {lv:?}");
        }
        let shan = name_keys(&chinese("单", "磊"));
        for k in ["shanlei", "danlei"] {
            assert!(shan.iter().any(|x| x == k), "{k} in {shan:?}");
        }
        // One part names nobody.
        assert!(name_keys(&chinese("张", "")).is_empty());
        assert!(name_keys(&latin("Smith", " ")).is_empty());
        assert!(name_keys(&MatchInput::default()).is_empty());
    }

    #[test]
    fn chinese_and_pinyin_names_with_the_same_birthday_match() {
        let bd = date(1985, 3, 14);
        let zh = born(chinese("张", "伟"), bd);
        let swapped_fields = latin("Wei", "Zhang");
        let one_field = MatchInput {
            given_name_latin: Some("Wei Zhang".into()),
            ..Default::default()
        };
        for other in [latin("Zhang", "Wei"), swapped_fields, one_field] {
            let m = score(&zh, &born(other.clone(), bd)).expect("a match");
            assert!(m.score >= 85, "{m:?} for {other:?}");
            assert_eq!(m.reasons, [Reason::SameName, Reason::SameBirthday]);
            let shared: Vec<_> = blocking_keys(&zh)
                .into_iter()
                .filter(|k| blocking_keys(&born(other.clone(), bd)).contains(k))
                .collect();
            assert!(shared.contains(&"nb:weizhang|1985-03-14".to_string()));
        }
    }

    #[test]
    fn a_common_name_alone_or_with_another_birthday_does_not_match() {
        let a = born(chinese("张", "伟"), date(1985, 3, 14));
        let b = born(chinese("张", "伟"), date(1990, 7, 2));
        assert_eq!(score(&a, &b), None);
        assert_eq!(score(&chinese("张", "伟"), &chinese("张", "伟")), None);
        assert_eq!(
            score(&in_city(a.clone(), "北京"), &in_city(b.clone(), "北京市")),
            None
        );
        // Same name and city, one birthday unknown: not enough (common
        // names share big cities), though a phone on top makes it one.
        assert_eq!(
            score(
                &in_city(a.clone(), "北京"),
                &in_city(chinese("张", "伟"), "北京市")
            ),
            None
        );
        assert!(score(&a, &born(latin("Zhang", "Wei"), date(1985, 3, 14))).is_some());
    }

    #[test]
    fn homophones_in_chinese_characters_are_only_similar() {
        let bd = date(1992, 11, 5);
        let m = score(
            &born(chinese("张", "伟"), bd),
            &born(chinese("张", "薇"), bd),
        )
        .expect("a similar-name match");
        assert!(m.reasons.contains(&Reason::SimilarName));
        assert!(m.score < 85);
        // 徐 and 许 are both xu.
        assert_eq!(
            score(
                &in_city(chinese("徐", "明"), "上海"),
                &in_city(chinese("许", "明"), "上海")
            ),
            None
        );
        // Different characters with different readings are different names.
        assert_eq!(
            score(
                &born(chinese("李", "敏"), bd),
                &born(chinese("李", "明"), bd)
            ),
            None
        );
    }

    #[test]
    fn a_shared_family_phone_does_not_make_father_and_son_one_person() {
        let phone = "+8613812345678";
        let father = with_phone(born(chinese("王", "建国"), date(1960, 1, 9)), phone);
        let son = with_phone(born(chinese("王", "磊"), date(1988, 6, 30)), phone);
        assert_eq!(score(&father, &son), None);
        let son_no_birthday = with_phone(chinese("王", "磊"), phone);
        assert_eq!(score(&father, &son_no_birthday), None);
        // A nameless record with the phone is a candidate; the same name more so.
        let nameless = with_phone(MatchInput::default(), phone);
        let m = score(&father, &nameless).expect("phone alone");
        assert_eq!(m.reasons, [Reason::SamePhone]);
        assert_eq!(m.score, 70);
        let again = with_phone(born(latin("Wang", "Jianguo"), date(1960, 1, 9)), phone);
        let m = score(&father, &again).expect("phone + name + birthday");
        assert!(m.score > 90);
        assert_eq!(
            m.reasons,
            [Reason::SamePhone, Reason::SameName, Reason::SameBirthday]
        );
    }

    #[test]
    fn contradicting_identifiers_weigh_against_a_name_match() {
        let bd = date(1984, 3, 12);
        let a = with_phone(born(chinese("张", "伟"), bd), "+8613800000001");
        // Another channel, no phone: the name and birthday carry it.
        let m = score(&a, &born(chinese("张", "伟"), bd)).expect("name + birthday");
        assert_eq!(m.score, 88);
        // Each with a phone of their own: two people, unless the city agrees.
        let b = with_phone(born(chinese("张", "伟"), bd), "+8613900000002");
        assert_eq!(score(&a, &b), None);
        let m = score(&in_city(a.clone(), "上海"), &in_city(b.clone(), "上海市"))
            .expect("name + birthday + city despite the phones");
        assert_eq!(m.score, 62);
        assert_eq!(
            m.reasons,
            [
                Reason::SameName,
                Reason::SameBirthday,
                Reason::SameCity,
                Reason::DifferentPhone
            ]
        );
        // Different e-mails as well, or different documents: not a candidate.
        let mut a2 = in_city(a.clone(), "上海");
        let mut b2 = in_city(b.clone(), "上海");
        a2.emails.push("zw@example.com".into());
        b2.emails.push("wei.zhang@example.cn".into());
        assert_eq!(score(&a2, &b2), None);
        let mut c = born(chinese("张", "伟"), bd);
        let mut d = c.clone();
        c.document_hashes.push("h1".into());
        d.document_hashes.push("h2".into());
        assert_eq!(score(&c, &d), None);
        // A shared identifier is not contradicted by another one differing:
        // the same phone with two e-mail addresses stays a strong match.
        let mut e = a.clone();
        let mut f = with_phone(born(latin("Zhang", "Wei"), bd), "+8613800000001");
        e.emails.push("zw@example.com".into());
        f.emails.push("wei@example.org".into());
        let m = score(&e, &f).expect("same phone");
        assert!(m.score >= 90, "{m:?}");
        assert!(!m.reasons.contains(&Reason::DifferentEmail));
    }

    #[test]
    fn a_one_letter_typo_with_the_same_birthday_matches() {
        let bd = date(1979, 8, 21);
        let a = born(latin("Schmidt", "Anna"), bd);
        for typo in [
            latin("Schmitt", "Anna"),
            latin("Schmidt", "Ana"),
            latin("Schmdit", "Anna"),
            latin("Chmidt", "Anna"),
        ] {
            let b = born(typo.clone(), bd);
            let m = score(&a, &b).expect("a typo match");
            assert_eq!(m.reasons, [Reason::SimilarName, Reason::SameBirthday]);
            assert!((75..85).contains(&m.score), "{m:?}");
            let keys_b = blocking_keys(&b);
            assert!(
                blocking_keys(&a).iter().any(|k| keys_b.contains(k)),
                "{typo:?} must share a block"
            );
        }
        // Chinese name against a typo'd pinyin.
        let m = score(
            &born(chinese("刘", "德华"), bd),
            &born(latin("Liu", "Dehau"), bd),
        )
        .expect("pinyin typo");
        assert!(m.reasons.contains(&Reason::SimilarName));
        // A typo and another city: two weak points, not a candidate; the
        // same city makes it stronger.
        assert_eq!(
            score(
                &in_city(born(latin("Schmidt", "Anna"), bd), "Berlin"),
                &in_city(born(latin("Schmitt", "Anna"), bd), "München")
            ),
            None
        );
        assert_eq!(
            score(
                &in_city(born(latin("Schmidt", "Anna"), bd), "Berlin"),
                &in_city(born(latin("Schmitt", "Anna"), bd), "berlin")
            )
            .map(|m| m.score),
            Some(84)
        );
        // Two edits, a short name, or only a city: no match.
        assert_eq!(score(&a, &born(latin("Schmitz", "Ana"), bd)), None);
        assert_eq!(
            score(&born(latin("Li", "Na"), bd), &born(latin("Li", "Ne"), bd)),
            None
        );
        assert_eq!(
            score(
                &in_city(latin("Schmidt", "Anna"), "Berlin"),
                &in_city(latin("Schmitt", "Anna"), "berlin")
            ),
            None
        );
        // A different birthday rules the typo out.
        assert_eq!(
            score(&a, &born(latin("Schmitt", "Anna"), date(1979, 8, 22))),
            None
        );
    }

    #[test]
    fn the_same_document_matches_unless_birthdays_disagree() {
        let mut a = born(chinese("陈", "静"), date(1990, 2, 2));
        a.document_hashes.push("h:abc".into());
        let mut b = latin("Chen", "J.");
        b.document_hashes.push("h:abc".into());
        let m = score(&a, &b).expect("document");
        assert_eq!(m.score, 100);
        assert_eq!(m.reasons, [Reason::SameDocument]);
        b.birthday = date(1991, 2, 2);
        let m = score(&a, &b).expect("document, birthday typo");
        assert_eq!(m.score, 75);
        assert!(m.reasons.contains(&Reason::DifferentBirthday));
        assert!(blocking_keys(&a).contains(&"d:h:abc".to_string()));
    }

    #[test]
    fn the_same_email_matches() {
        let mut a = born(chinese("杨", "洋"), date(1995, 5, 5));
        a.emails.push("yang.yang@example.com".into());
        let mut b = latin("Yang", "Yang");
        b.emails.push("Yang.Yang@Example.com".into());
        let m = score(&a, &b).expect("email");
        assert_eq!(m.reasons, [Reason::SameEmail, Reason::SameName]);
        assert_eq!(m.score, 90);
        assert!(blocking_keys(&b).contains(&"e:yang.yang@example.com".to_string()));
        // A shared mailbox with a clearly different name is not enough.
        let mut c = born(chinese("周", "杰"), date(1970, 1, 1));
        c.emails.push("yang.yang@example.com".into());
        assert_eq!(score(&a, &c), None);
    }

    #[test]
    fn cities_and_phones_are_compared_normalised() {
        assert_eq!(normalise_city(" 北京市 ").as_deref(), Some("北京"));
        assert_eq!(normalise_city("New York City").as_deref(), Some("newyork"));
        assert_eq!(normalise_city("city").as_deref(), Some("city"));
        assert_eq!(normalise_city(" - "), None);
        let a = with_phone(MatchInput::default(), "+86 138-1234-5678");
        let b = with_phone(MatchInput::default(), "+8613812345678");
        assert!(score(&a, &b).is_some());
        assert_eq!(
            score(
                &with_phone(MatchInput::default(), " "),
                &with_phone(MatchInput::default(), "")
            ),
            None
        );
    }

    #[test]
    fn reasons_serialise_in_snake_case() {
        let m = Match {
            score: 88,
            reasons: vec![Reason::SameName, Reason::DifferentBirthday],
        };
        assert_eq!(
            serde_json::to_string(&m).expect("serialises"),
            r#"{"score":88,"reasons":["same_name","different_birthday"]}"#
        );
    }

    // ---- generated data -------------------------------------------------

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }
    }

    const FAMILIES: &[(&str, &str)] = &[
        ("张", "Zhang"),
        ("王", "Wang"),
        ("李", "Li"),
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
        ("唐", "Tang"),
        ("许", "Xu"),
        ("韩", "Han"),
        ("冯", "Feng"),
        ("邓", "Deng"),
        ("曹", "Cao"),
    ];

    const GIVEN: &[(&str, &str)] = &[
        ("伟", "wei"),
        ("芳", "fang"),
        ("娜", "na"),
        ("敏", "min"),
        ("静", "jing"),
        ("丽", "li"),
        ("强", "qiang"),
        ("磊", "lei"),
        ("军", "jun"),
        ("洋", "yang"),
        ("勇", "yong"),
        ("艳", "yan"),
        ("杰", "jie"),
        ("涛", "tao"),
        ("明", "ming"),
        ("超", "chao"),
        ("霞", "xia"),
        ("平", "ping"),
        ("刚", "gang"),
        ("华", "hua"),
        ("建", "jian"),
        ("国", "guo"),
        ("文", "wen"),
        ("玉", "yu"),
        ("海", "hai"),
        ("红", "hong"),
        ("春", "chun"),
        ("晓", "xiao"),
        ("英", "ying"),
        ("秀", "xiu"),
        ("兰", "lan"),
        ("云", "yun"),
        ("飞", "fei"),
        ("鹏", "peng"),
        ("辉", "hui"),
        ("宇", "yu"),
        ("婷", "ting"),
        ("慧", "hui"),
        ("志", "zhi"),
        ("思", "si"),
    ];

    const CITIES: &[&str] = &[
        "北京",
        "上海",
        "广州",
        "深圳",
        "杭州",
        "成都",
        "武汉",
        "西安",
        "南京",
        "天津",
        "重庆",
        "苏州",
        "长沙",
        "郑州",
        "青岛",
        "沈阳",
        "宁波",
        "昆明",
        "大连",
        "厦门",
        "合肥",
        "福州",
        "济南",
        "哈尔滨",
        "长春",
        "石家庄",
        "南宁",
        "贵阳",
        "太原",
        "兰州",
    ];

    fn capitalised(s: &str) -> String {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }

    fn random_guest(rng: &mut Rng, i: usize) -> MatchInput {
        let (family, family_l) = FAMILIES[rng.below(FAMILIES.len())];
        let mut given = String::new();
        let mut given_l = String::new();
        for _ in 0..if rng.chance(85) { 2 } else { 1 } {
            let (g, l) = GIVEN[rng.below(GIVEN.len())];
            given.push_str(g);
            given_l.push_str(l);
        }
        let latin = rng.chance(50);
        MatchInput {
            family_name: Some(family.into()),
            given_name: Some(given),
            family_name_latin: latin.then(|| family_l.into()),
            given_name_latin: latin.then(|| capitalised(&given_l)),
            birthday: rng.chance(95).then(|| {
                NaiveDate::from_ymd_opt(1950, 1, 1).expect("a date")
                    + chrono::Days::new(rng.below(20_000) as u64)
            }),
            city: rng
                .chance(85)
                .then(|| CITIES[rng.below(CITIES.len())].to_string()),
            phones: if rng.chance(80) {
                vec![format!("+86139{i:08}")]
            } else {
                vec![]
            },
            emails: if rng.chance(40) {
                vec![format!("guest{i}@example.com")]
            } else {
                vec![]
            },
            document_hashes: if rng.chance(30) {
                vec![format!("doc{i}")]
            } else {
                vec![]
            },
        }
    }

    /// The pinyin the generator knows for a generated Chinese name.
    fn pinyin_of_generated(g: &MatchInput) -> (String, String) {
        let family = g.family_name.as_deref().unwrap_or_default();
        let family_l = FAMILIES
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, l)| l.to_string())
            .unwrap_or_default();
        let given_l: String = g
            .given_name
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter_map(|c| {
                GIVEN
                    .iter()
                    .find(|(g, _)| g.starts_with(c))
                    .map(|(_, l)| *l)
            })
            .collect();
        (family_l, capitalised(&given_l))
    }

    /// A variant of `o` of the given kind, or None when `o` lacks what the
    /// kind needs.
    fn variant(rng: &mut Rng, o: &MatchInput, kind: usize) -> Option<MatchInput> {
        let (family_l, given_l) = pinyin_of_generated(o);
        let bare = MatchInput {
            birthday: o.birthday,
            city: o.city.clone(),
            ..Default::default()
        };
        match kind {
            // Same phone, typed differently (the caller normalised it).
            0 => (!o.phones.is_empty()).then(|| MatchInput {
                phones: o.phones.clone(),
                emails: vec![],
                document_hashes: vec![],
                birthday: o.birthday.filter(|_| rng.chance(70)),
                ..o.clone()
            }),
            // Same e-mail in another case (lower-cased by the caller).
            1 => (!o.emails.is_empty()).then(|| MatchInput {
                phones: vec![],
                emails: o
                    .emails
                    .iter()
                    .map(|e| e.to_uppercase().to_lowercase())
                    .collect(),
                document_hashes: vec![],
                ..o.clone()
            }),
            // Name in pinyin instead of characters, with the birthday.
            2 => {
                let mut v = if rng.chance(50) {
                    MatchInput {
                        family_name_latin: Some(family_l),
                        given_name_latin: Some(given_l),
                        ..bare
                    }
                } else {
                    MatchInput {
                        given_name_latin: Some(format!("{given_l} {family_l}")),
                        ..bare
                    }
                };
                // A name with only a city is not evidence enough (common
                // names share big cities): planted ones keep the birthday.
                if rng.chance(50) {
                    v.city = None;
                }
                v.birthday.is_some().then_some(v)
            }
            // A one-letter typo in the pinyin, with the same birthday.
            _ => {
                o.birthday?;
                let mut given: Vec<char> = given_l.chars().collect();
                let at = 1 + rng.below(given.len() - 1);
                given[at] = if given[at] == 'x' { 'y' } else { 'x' };
                Some(MatchInput {
                    family_name_latin: Some(family_l),
                    given_name_latin: Some(given.into_iter().collect()),
                    ..bare
                })
            }
        }
    }

    /// `base` random guests plus 2% planted duplicates (appended) and 1%
    /// family members sharing a phone; returns the guests and the planted pairs.
    fn generated(base: usize, seed: u64) -> (Vec<MatchInput>, HashSet<(usize, usize)>) {
        let mut rng = Rng(seed);
        let mut guests: Vec<MatchInput> = (0..base).map(|i| random_guest(&mut rng, i)).collect();
        let mut planted = HashSet::new();
        let mut used = HashSet::new();
        while planted.len() < base / 50 {
            let o = rng.below(base);
            if !used.insert(o) {
                continue;
            }
            let kind = rng.below(4);
            if let Some(v) = variant(&mut rng, &guests[o], kind) {
                planted.insert((o, guests.len()));
                guests.push(v);
            }
        }
        for i in 0..base / 100 {
            let o = rng.below(base);
            if guests[o].phones.is_empty() {
                continue;
            }
            let mut relative = random_guest(&mut rng, base * 2 + i);
            relative.family_name = guests[o].family_name.clone();
            relative.family_name_latin = None;
            relative.given_name_latin = None;
            relative.phones = guests[o].phones.clone();
            if relative.birthday == guests[o].birthday {
                relative.birthday = None;
            }
            guests.push(relative);
        }
        (guests, planted)
    }

    fn quality(found: &PairSearch, planted: &HashSet<(usize, usize)>) -> (f64, f64) {
        let hits = found
            .pairs
            .iter()
            .filter(|(i, j, _)| planted.contains(&(*i, *j)))
            .count();
        (
            hits as f64 / planted.len() as f64,
            hits as f64 / found.pairs.len().max(1) as f64,
        )
    }

    #[test]
    fn find_pairs_finds_planted_duplicates_once_each() {
        let (guests, planted) = generated(20_000, 0x9E37_79B9_7F4A_7C15);
        let found = find_pairs(&guests, |_| true, 200);
        let (recall, precision) = quality(&found, &planted);
        let missed: Vec<_> = planted
            .iter()
            .filter(|(i, j)| !found.pairs.iter().any(|(a, b, _)| (a, b) == (i, j)))
            .take(5)
            .map(|(i, j)| (&guests[*i], &guests[*j]))
            .collect();
        assert!(recall >= 0.95, "recall {recall}, missed e.g. {missed:#?}");
        let wrong: Vec<_> = found
            .pairs
            .iter()
            .filter(|(i, j, _)| !planted.contains(&(*i, *j)))
            .take(5)
            .map(|(i, j, m)| (&guests[*i], &guests[*j], m))
            .collect();
        let kinds = found
            .pairs
            .iter()
            .filter(|(i, j, _)| !planted.contains(&(*i, *j)))
            .fold(std::collections::BTreeMap::new(), |mut m, (_, _, x)| {
                *m.entry(format!("{:?}", x.reasons)).or_insert(0) += 1;
                m
            });
        println!("recall {recall}, precision {precision}, false positives {kinds:?}");
        // Common names in big cities with a birthday missing on one side
        // make the weak "same name + same city" tier noisy; above it the
        // candidates are clean.
        assert!(precision >= 0.9, "precision {precision}, e.g. {wrong:#?}");
        let strong: Vec<_> = found.pairs.iter().filter(|p| p.2.score >= 80).collect();
        let strong_hits = strong
            .iter()
            .filter(|(i, j, _)| planted.contains(&(*i, *j)))
            .count();
        assert!(strong_hits as f64 >= 0.98 * strong.len() as f64);
        let mut seen = HashSet::new();
        for (i, j, m) in &found.pairs {
            assert!(i < j);
            assert!(seen.insert((*i, *j)), "({i}, {j}) twice");
            assert!(m.score >= CANDIDATE_THRESHOLD);
        }
        assert_eq!(found.skipped_blocks, 0);
    }

    #[test]
    fn find_pairs_only_looks_at_pairs_with_a_guest_in_focus() {
        let (guests, planted) = generated(5_000, 42);
        let everything = find_pairs(&guests, |_| true, 200);
        let new_ones = find_pairs(&guests, |i| i >= 5_000, 200);
        assert!(new_ones
            .pairs
            .iter()
            .all(|(i, j, _)| *i >= 5_000 || *j >= 5_000));
        // Every planted duplicate is the newer guest, so nothing is lost.
        assert_eq!(
            quality(&new_ones, &planted).0,
            quality(&everything, &planted).0
        );
        let expected: Vec<_> = everything
            .pairs
            .iter()
            .filter(|(i, j, _)| *i >= 5_000 || *j >= 5_000)
            .cloned()
            .collect();
        assert_eq!(new_ones.pairs, expected);
        let nothing = find_pairs(&guests, |_| false, 200);
        assert_eq!(nothing, PairSearch::default());
    }

    #[test]
    fn find_pairs_skips_oversized_blocks_and_counts_them() {
        let hotel = "+862161234567";
        let names = [
            ("Brown", "Alice"),
            ("Okafor", "Chidi"),
            ("Novak", "Petra"),
            ("Tanaka", "Hiroshi"),
            ("Garcia", "Lucia"),
            ("Schmidt", "Jonas"),
            ("Kowalski", "Marta"),
            ("Dubois", "Pierre"),
            ("Rossi", "Giulia"),
            ("Larsen", "Erik"),
        ];
        let mut guests: Vec<MatchInput> = names
            .iter()
            .map(|(f, g)| with_phone(latin(f, g), hotel))
            .collect();
        // Two of them really are one person: same phone, name and birthday.
        guests[3].birthday = date(1980, 1, 1);
        guests.push(with_phone(
            born(latin("Hiroshi", "Tanaka"), date(1980, 1, 1)),
            hotel,
        ));
        let small = find_pairs(&guests, |_| true, 5);
        assert_eq!(small.skipped_blocks, 1, "the hotel phone block");
        assert_eq!(small.pairs.len(), 1, "{:?}", small.pairs);
        assert_eq!((small.pairs[0].0, small.pairs[0].1), (3, 10));
        // Found through the name + birthday block, scored on everything.
        assert_eq!(small.pairs[0].2.score, 99);
        let large = find_pairs(&guests, |_| true, 100);
        assert_eq!(large.skipped_blocks, 0);
        // All share the phone, but a shared phone with clearly different
        // names is below the threshold.
        assert_eq!(large.pairs.len(), 1, "{:?}", large.pairs);
        assert_eq!(large.pairs[0].2.score, 99);
        // Oversized blocks without a guest in focus are not counted.
        assert_eq!(find_pairs(&guests, |i| i == 10, 5).skipped_blocks, 1);
        assert_eq!(find_pairs(&guests, |_| false, 5).skipped_blocks, 0);
    }

    /// `cargo test -p crm-domain --lib --release duplicate::tests::a_million -- --ignored --nocapture`
    #[test]
    #[ignore = "a million guests; run in release"]
    fn a_million_guests_in_well_under_a_minute() {
        let (guests, planted) = generated(1_000_000, 7);
        let start = std::time::Instant::now();
        let found = find_pairs(&guests, |_| true, 1_000);
        let took = start.elapsed();
        let (recall, precision) = quality(&found, &planted);
        let kinds = found
            .pairs
            .iter()
            .filter(|(i, j, _)| !planted.contains(&(*i, *j)))
            .fold(std::collections::BTreeMap::new(), |mut m, (_, _, x)| {
                *m.entry(format!("{:?}", x.reasons)).or_insert(0) += 1;
                m
            });
        println!(
            "{} guests: {} pairs, {} skipped blocks, recall {recall:.4}, precision {precision:.4}, {took:?}; false positives {kinds:?}",
            guests.len(),
            found.pairs.len(),
            found.skipped_blocks
        );
        assert!(took.as_secs() < 30);
    }
}
