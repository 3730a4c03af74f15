//! Guest import rows (数据迁移): hotels bring years of guests from Excel
//! sheets and old PMS exports. The API layer reads the file (CSV or XLSX,
//! whatever its encoding) and hands this module the header row and each
//! data row as text cells. Here the columns are recognised (Chinese or
//! English headers), a mapping is applied, and a row becomes a
//! [`GuestDraft`] (validated afterwards by [`GuestDraft::parse`]) plus the
//! values only an import carries: the old system's id, an identity
//! document, marketing consents.
//!
//! Conversion only reads formats (names, dates, yes/no, country names);
//! what a value must be (a valid phone number, e-mail, country code) is
//! left to `GuestDraft::parse`. Problems name the column they came from by
//! its header and never repeat the cell's value: the report of an import
//! is shown to staff who may not see the guest's data.

use crate::error::{DomainError, FieldError};
use crate::guest::{
    is_cjk, normalise_tag, Address, EmailEntry, EmailKind, Gender, GuestDraft, PhoneEntry,
    PhoneKind,
};
use crate::identity::DocumentType;
use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// The longest cell a row may hold, in characters.
pub const MAX_CELL_CHARS: usize = 4_000;

/// Fields an import column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportField {
    /// The guest's id in the old system: the row's source key.
    ExternalId,
    /// The whole name in one cell, split into family and given name.
    FullName,
    FamilyName,
    GivenName,
    FamilyNameLatin,
    GivenNameLatin,
    /// The whole romanised name in one cell.
    FullNameLatin,
    Gender,
    Birthday,
    Nationality,
    Language,
    Phone,
    /// A second phone column (landline, other phone).
    Phone2,
    Email,
    Company,
    AddressLine,
    City,
    Region,
    PostalCode,
    Country,
    /// Several columns may be notes: they are joined.
    Notes,
    /// Several columns may be tags: they are combined.
    Tags,
    DocumentType,
    DocumentNumber,
    Resident,
    MarketingEmailConsent,
    MarketingSmsConsent,
    /// The column is not imported.
    Ignore,
}

impl ImportField {
    pub const ALL: &'static [ImportField] = &[
        ImportField::ExternalId,
        ImportField::FullName,
        ImportField::FamilyName,
        ImportField::GivenName,
        ImportField::FamilyNameLatin,
        ImportField::GivenNameLatin,
        ImportField::FullNameLatin,
        ImportField::Gender,
        ImportField::Birthday,
        ImportField::Nationality,
        ImportField::Language,
        ImportField::Phone,
        ImportField::Phone2,
        ImportField::Email,
        ImportField::Company,
        ImportField::AddressLine,
        ImportField::City,
        ImportField::Region,
        ImportField::PostalCode,
        ImportField::Country,
        ImportField::Notes,
        ImportField::Tags,
        ImportField::DocumentType,
        ImportField::DocumentNumber,
        ImportField::Resident,
        ImportField::MarketingEmailConsent,
        ImportField::MarketingSmsConsent,
        ImportField::Ignore,
    ];

    /// The snake_case name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportField::ExternalId => "external_id",
            ImportField::FullName => "full_name",
            ImportField::FamilyName => "family_name",
            ImportField::GivenName => "given_name",
            ImportField::FamilyNameLatin => "family_name_latin",
            ImportField::GivenNameLatin => "given_name_latin",
            ImportField::FullNameLatin => "full_name_latin",
            ImportField::Gender => "gender",
            ImportField::Birthday => "birthday",
            ImportField::Nationality => "nationality",
            ImportField::Language => "language",
            ImportField::Phone => "phone",
            ImportField::Phone2 => "phone2",
            ImportField::Email => "email",
            ImportField::Company => "company",
            ImportField::AddressLine => "address_line",
            ImportField::City => "city",
            ImportField::Region => "region",
            ImportField::PostalCode => "postal_code",
            ImportField::Country => "country",
            ImportField::Notes => "notes",
            ImportField::Tags => "tags",
            ImportField::DocumentType => "document_type",
            ImportField::DocumentNumber => "document_number",
            ImportField::Resident => "resident",
            ImportField::MarketingEmailConsent => "marketing_email_consent",
            ImportField::MarketingSmsConsent => "marketing_sms_consent",
            ImportField::Ignore => "ignore",
        }
    }

    /// The field of a snake_case name (case-insensitive, `-` read as `_`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        ImportField::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    /// May several columns map to this field?
    fn repeatable(self) -> bool {
        matches!(
            self,
            ImportField::Ignore | ImportField::Tags | ImportField::Notes
        )
    }

    fn is_name(self) -> bool {
        matches!(
            self,
            ImportField::FullName
                | ImportField::FamilyName
                | ImportField::GivenName
                | ImportField::FullNameLatin
                | ImportField::FamilyNameLatin
                | ImportField::GivenNameLatin
        )
    }
}

// ---------------------------------------------------------------------------
// Header recognition
// ---------------------------------------------------------------------------

/// Header names as hotels write them. Compared after [`header_key`], so
/// case, spaces and punctuation do not matter ("E-Mail" = "email").
const HEADERS: &[(&str, ImportField)] = &[
    // External id.
    ("客户编号", ImportField::ExternalId),
    ("会员编号", ImportField::ExternalId),
    ("客人编号", ImportField::ExternalId),
    ("档案号", ImportField::ExternalId),
    ("档案编号", ImportField::ExternalId),
    ("客史号", ImportField::ExternalId),
    ("客史编号", ImportField::ExternalId),
    ("客户号", ImportField::ExternalId),
    ("会员号", ImportField::ExternalId),
    ("会员卡号", ImportField::ExternalId),
    ("客户id", ImportField::ExternalId),
    ("guest id", ImportField::ExternalId),
    ("guest no", ImportField::ExternalId),
    ("guest number", ImportField::ExternalId),
    ("customer id", ImportField::ExternalId),
    ("customer no", ImportField::ExternalId),
    ("customer number", ImportField::ExternalId),
    ("external id", ImportField::ExternalId),
    ("profile id", ImportField::ExternalId),
    ("profile no", ImportField::ExternalId),
    ("profile number", ImportField::ExternalId),
    ("pms id", ImportField::ExternalId),
    ("member id", ImportField::ExternalId),
    ("member no", ImportField::ExternalId),
    ("membership no", ImportField::ExternalId),
    ("membership number", ImportField::ExternalId),
    // Names.
    ("姓名", ImportField::FullName),
    ("客人姓名", ImportField::FullName),
    ("客户姓名", ImportField::FullName),
    ("宾客姓名", ImportField::FullName),
    ("住客姓名", ImportField::FullName),
    ("顾客姓名", ImportField::FullName),
    ("会员姓名", ImportField::FullName),
    ("客户名称", ImportField::FullName),
    // "客户名" is the customer's name, not a given name (名).
    ("客户名", ImportField::FullName),
    ("客人名", ImportField::FullName),
    ("宾客名", ImportField::FullName),
    ("住客名", ImportField::FullName),
    ("顾客名", ImportField::FullName),
    ("会员名", ImportField::FullName),
    ("客户名字", ImportField::FullName),
    ("客人名字", ImportField::FullName),
    ("会员名字", ImportField::FullName),
    ("name", ImportField::FullName),
    ("guest name", ImportField::FullName),
    ("full name", ImportField::FullName),
    ("customer name", ImportField::FullName),
    ("member name", ImportField::FullName),
    ("姓", ImportField::FamilyName),
    ("姓氏", ImportField::FamilyName),
    ("surname", ImportField::FamilyName),
    ("last name", ImportField::FamilyName),
    ("family name", ImportField::FamilyName),
    ("名", ImportField::GivenName),
    ("名字", ImportField::GivenName),
    ("first name", ImportField::GivenName),
    ("given name", ImportField::GivenName),
    ("forename", ImportField::GivenName),
    ("拼音", ImportField::FullNameLatin),
    ("英文名", ImportField::FullNameLatin),
    ("拼音姓名", ImportField::FullNameLatin),
    ("姓名拼音", ImportField::FullNameLatin),
    ("英文姓名", ImportField::FullNameLatin),
    ("姓名英文", ImportField::FullNameLatin),
    ("外文名", ImportField::FullNameLatin),
    ("外文姓名", ImportField::FullNameLatin),
    ("name (latin)", ImportField::FullNameLatin),
    ("latin name", ImportField::FullNameLatin),
    ("english name", ImportField::FullNameLatin),
    ("name (english)", ImportField::FullNameLatin),
    ("name in english", ImportField::FullNameLatin),
    ("pinyin", ImportField::FullNameLatin),
    ("pinyin name", ImportField::FullNameLatin),
    ("name (pinyin)", ImportField::FullNameLatin),
    ("romanised name", ImportField::FullNameLatin),
    ("romanized name", ImportField::FullNameLatin),
    ("full name (latin)", ImportField::FullNameLatin),
    ("姓拼音", ImportField::FamilyNameLatin),
    ("拼音姓", ImportField::FamilyNameLatin),
    ("姓氏拼音", ImportField::FamilyNameLatin),
    ("英文姓", ImportField::FamilyNameLatin),
    ("姓英文", ImportField::FamilyNameLatin),
    ("surname (latin)", ImportField::FamilyNameLatin),
    ("last name (latin)", ImportField::FamilyNameLatin),
    ("family name (latin)", ImportField::FamilyNameLatin),
    ("surname (english)", ImportField::FamilyNameLatin),
    ("last name (english)", ImportField::FamilyNameLatin),
    ("family name (english)", ImportField::FamilyNameLatin),
    ("surname (pinyin)", ImportField::FamilyNameLatin),
    ("last name (pinyin)", ImportField::FamilyNameLatin),
    ("名拼音", ImportField::GivenNameLatin),
    ("拼音名", ImportField::GivenNameLatin),
    ("名字拼音", ImportField::GivenNameLatin),
    ("名英文", ImportField::GivenNameLatin),
    ("first name (latin)", ImportField::GivenNameLatin),
    ("given name (latin)", ImportField::GivenNameLatin),
    ("first name (english)", ImportField::GivenNameLatin),
    ("given name (english)", ImportField::GivenNameLatin),
    ("first name (pinyin)", ImportField::GivenNameLatin),
    ("given name (pinyin)", ImportField::GivenNameLatin),
    // Person.
    ("性别", ImportField::Gender),
    ("gender", ImportField::Gender),
    ("sex", ImportField::Gender),
    ("生日", ImportField::Birthday),
    ("出生日期", ImportField::Birthday),
    ("出生年月日", ImportField::Birthday),
    ("出生年月", ImportField::Birthday),
    ("出生日", ImportField::Birthday),
    ("birthday", ImportField::Birthday),
    ("date of birth", ImportField::Birthday),
    ("dob", ImportField::Birthday),
    ("birth date", ImportField::Birthday),
    ("国籍", ImportField::Nationality),
    ("国籍/地区", ImportField::Nationality),
    ("nationality", ImportField::Nationality),
    ("citizenship", ImportField::Nationality),
    ("语言", ImportField::Language),
    ("语种", ImportField::Language),
    ("首选语言", ImportField::Language),
    ("偏好语言", ImportField::Language),
    ("language", ImportField::Language),
    ("preferred language", ImportField::Language),
    // Contact.
    ("手机", ImportField::Phone),
    ("手机号", ImportField::Phone),
    ("手机号码", ImportField::Phone),
    ("移动电话", ImportField::Phone),
    ("电话", ImportField::Phone),
    ("电话号码", ImportField::Phone),
    ("联系电话", ImportField::Phone),
    ("联系方式", ImportField::Phone),
    ("电话1", ImportField::Phone),
    ("手机1", ImportField::Phone),
    ("phone 1", ImportField::Phone),
    ("mobile 1", ImportField::Phone),
    ("tel 1", ImportField::Phone),
    ("mobile", ImportField::Phone),
    ("mobile phone", ImportField::Phone),
    ("mobile number", ImportField::Phone),
    ("mobile no", ImportField::Phone),
    ("phone", ImportField::Phone),
    ("phone number", ImportField::Phone),
    ("phone no", ImportField::Phone),
    ("telephone", ImportField::Phone),
    ("telephone number", ImportField::Phone),
    ("tel", ImportField::Phone),
    ("tel no", ImportField::Phone),
    ("cell", ImportField::Phone),
    ("cell phone", ImportField::Phone),
    ("contact number", ImportField::Phone),
    ("座机", ImportField::Phone2),
    ("固定电话", ImportField::Phone2),
    ("固话", ImportField::Phone2),
    ("备用电话", ImportField::Phone2),
    ("备用手机", ImportField::Phone2),
    ("其他电话", ImportField::Phone2),
    ("其它电话", ImportField::Phone2),
    ("办公电话", ImportField::Phone2),
    ("单位电话", ImportField::Phone2),
    ("家庭电话", ImportField::Phone2),
    ("住宅电话", ImportField::Phone2),
    ("电话2", ImportField::Phone2),
    ("手机2", ImportField::Phone2),
    ("联系电话2", ImportField::Phone2),
    ("phone 2", ImportField::Phone2),
    ("mobile 2", ImportField::Phone2),
    ("tel 2", ImportField::Phone2),
    ("telephone 2", ImportField::Phone2),
    ("other phone", ImportField::Phone2),
    ("second phone", ImportField::Phone2),
    ("alternate phone", ImportField::Phone2),
    ("alternative phone", ImportField::Phone2),
    ("home phone", ImportField::Phone2),
    ("work phone", ImportField::Phone2),
    ("office phone", ImportField::Phone2),
    ("landline", ImportField::Phone2),
    ("邮箱", ImportField::Email),
    ("电子邮箱", ImportField::Email),
    ("电子邮件", ImportField::Email),
    ("邮件", ImportField::Email),
    ("邮箱地址", ImportField::Email),
    ("email", ImportField::Email),
    ("e-mail", ImportField::Email),
    ("mail", ImportField::Email),
    ("email address", ImportField::Email),
    ("公司", ImportField::Company),
    ("单位", ImportField::Company),
    ("工作单位", ImportField::Company),
    ("公司名称", ImportField::Company),
    ("单位名称", ImportField::Company),
    ("所属公司", ImportField::Company),
    ("协议单位", ImportField::Company),
    ("company", ImportField::Company),
    ("company name", ImportField::Company),
    ("organisation", ImportField::Company),
    ("organization", ImportField::Company),
    ("employer", ImportField::Company),
    // Address.
    ("地址", ImportField::AddressLine),
    ("联系地址", ImportField::AddressLine),
    ("家庭住址", ImportField::AddressLine),
    ("家庭地址", ImportField::AddressLine),
    ("住址", ImportField::AddressLine),
    ("详细地址", ImportField::AddressLine),
    ("通讯地址", ImportField::AddressLine),
    ("address", ImportField::AddressLine),
    ("street", ImportField::AddressLine),
    ("street address", ImportField::AddressLine),
    ("address line", ImportField::AddressLine),
    ("address line 1", ImportField::AddressLine),
    ("address 1", ImportField::AddressLine),
    ("城市", ImportField::City),
    ("所在城市", ImportField::City),
    ("city", ImportField::City),
    ("town", ImportField::City),
    ("省份", ImportField::Region),
    ("省", ImportField::Region),
    ("所在省份", ImportField::Region),
    ("region", ImportField::Region),
    ("province", ImportField::Region),
    ("state", ImportField::Region),
    ("邮编", ImportField::PostalCode),
    ("邮政编码", ImportField::PostalCode),
    ("postal code", ImportField::PostalCode),
    ("postcode", ImportField::PostalCode),
    ("zip", ImportField::PostalCode),
    ("zip code", ImportField::PostalCode),
    ("国家", ImportField::Country),
    ("国家/地区", ImportField::Country),
    ("所在国家", ImportField::Country),
    ("country", ImportField::Country),
    ("country/region", ImportField::Country),
    // Notes and tags.
    ("备注", ImportField::Notes),
    ("备注信息", ImportField::Notes),
    ("说明", ImportField::Notes),
    ("notes", ImportField::Notes),
    ("note", ImportField::Notes),
    ("remark", ImportField::Notes),
    ("remarks", ImportField::Notes),
    ("comment", ImportField::Notes),
    ("comments", ImportField::Notes),
    ("memo", ImportField::Notes),
    ("标签", ImportField::Tags),
    ("客户标签", ImportField::Tags),
    ("客人标签", ImportField::Tags),
    ("tags", ImportField::Tags),
    ("tag", ImportField::Tags),
    ("labels", ImportField::Tags),
    // Identity document.
    ("证件类型", ImportField::DocumentType),
    ("证件种类", ImportField::DocumentType),
    ("document type", ImportField::DocumentType),
    ("id type", ImportField::DocumentType),
    ("doc type", ImportField::DocumentType),
    ("证件号", ImportField::DocumentNumber),
    ("证件号码", ImportField::DocumentNumber),
    ("身份证", ImportField::DocumentNumber),
    ("身份证号", ImportField::DocumentNumber),
    ("身份证号码", ImportField::DocumentNumber),
    ("护照号", ImportField::DocumentNumber),
    ("护照号码", ImportField::DocumentNumber),
    ("id number", ImportField::DocumentNumber),
    ("id no", ImportField::DocumentNumber),
    ("id card number", ImportField::DocumentNumber),
    ("passport number", ImportField::DocumentNumber),
    ("passport no", ImportField::DocumentNumber),
    ("document number", ImportField::DocumentNumber),
    ("document no", ImportField::DocumentNumber),
    // Flags.
    ("常驻", ImportField::Resident),
    ("常驻客户", ImportField::Resident),
    ("常驻客", ImportField::Resident),
    ("常住客", ImportField::Resident),
    ("长住客", ImportField::Resident),
    ("长住", ImportField::Resident),
    ("resident", ImportField::Resident),
    ("long stay", ImportField::Resident),
    ("long stay guest", ImportField::Resident),
    ("营销邮件同意", ImportField::MarketingEmailConsent),
    ("邮件营销同意", ImportField::MarketingEmailConsent),
    ("接收营销邮件", ImportField::MarketingEmailConsent),
    ("邮件订阅", ImportField::MarketingEmailConsent),
    ("email opt-in", ImportField::MarketingEmailConsent),
    ("email consent", ImportField::MarketingEmailConsent),
    ("email marketing", ImportField::MarketingEmailConsent),
    ("newsletter", ImportField::MarketingEmailConsent),
    ("短信同意", ImportField::MarketingSmsConsent),
    ("营销短信同意", ImportField::MarketingSmsConsent),
    ("短信营销同意", ImportField::MarketingSmsConsent),
    ("接收营销短信", ImportField::MarketingSmsConsent),
    ("短信订阅", ImportField::MarketingSmsConsent),
    ("sms opt-in", ImportField::MarketingSmsConsent),
    ("sms consent", ImportField::MarketingSmsConsent),
    ("sms marketing", ImportField::MarketingSmsConsent),
];

/// Words a header may start with that do not change its meaning:
/// "客人手机" is 手机, "Guest E-mail" is e-mail.
const HEADER_PREFIXES: &[&str] = &[
    "客人", "客户", "宾客", "住客", "顾客", "会员", "guest", "customer", "member", "client",
];

/// Full-width ASCII (ｎａｍｅ, （）) read as ASCII.
fn fold_width(c: char) -> char {
    let u = c as u32;
    if (0xFF01..=0xFF5E).contains(&u) {
        char::from_u32(u - 0xFEE0).unwrap_or(c)
    } else if c == '\u{3000}' {
        ' '
    } else {
        c
    }
}

/// Lower-cased letters and digits only: "Date of Birth" → "dateofbirth",
/// "手机 号码" → "手机号码". A BOM or zero-width space disappears too.
fn header_key(text: &str) -> String {
    text.chars()
        .map(fold_width)
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The text without bracketed remarks: "手机号码（必填）" → "手机号码".
fn without_brackets(text: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for c in text.chars().map(fold_width) {
        match c {
            '(' | '[' | '【' | '<' | '《' | '{' => depth += 1,
            ')' | ']' | '】' | '>' | '》' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn lookup_header(key: &str) -> Option<ImportField> {
    if key.is_empty() {
        return None;
    }
    HEADERS
        .iter()
        .find(|(h, _)| header_key(h) == key)
        .map(|(_, f)| *f)
}

/// The field a header names, recognising common Chinese and English
/// headers case-, space- and punctuation-insensitively. `None` for
/// headers it does not know (and blank ones).
pub fn recognise_header(header: &str) -> Option<ImportField> {
    let key = header_key(header);
    let bare = header_key(&without_brackets(header));
    for candidate in [&key, &bare] {
        if let Some(field) = lookup_header(candidate) {
            return Some(field);
        }
        for prefix in HEADER_PREFIXES {
            if let Some(rest) = candidate.strip_prefix(prefix) {
                if let Some(field) = lookup_header(rest) {
                    return Some(field);
                }
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Column mapping
// ---------------------------------------------------------------------------

/// A column mapping: for each column index, the field (or `Ignore`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub columns: Vec<ImportField>,
}

/// How a problem names a column: its header, else its spreadsheet letter.
fn column_label(headers: &[String], index: usize) -> String {
    match headers.get(index).map(|h| h.trim()) {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => format!("column {}", column_letters(index)),
    }
}

/// 0 → A, 25 → Z, 26 → AA.
fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

impl ColumnMapping {
    /// Recognises each header, then applies `overrides` (a saved preset:
    /// header → field, the header matched exactly after trimming; entries
    /// naming a header the file does not have are ignored). A second
    /// phone column becomes `Phone2` when no column is `Phone2` already.
    ///
    /// Errors (all at once): a field other than `Ignore`, `Tags` and
    /// `Notes` mapped twice (`mapping.<header>` of the later column), and
    /// no name column at all (`mapping`).
    pub fn from_headers(
        headers: &[String],
        overrides: &[(String, ImportField)],
    ) -> Result<ColumnMapping, DomainError> {
        let mut columns: Vec<ImportField> = headers
            .iter()
            .map(|h| {
                let h = h.trim();
                overrides
                    .iter()
                    .rev()
                    .find(|(o, _)| !o.trim().is_empty() && o.trim() == h)
                    .map(|(_, f)| *f)
                    .or_else(|| recognise_header(h))
                    .unwrap_or(ImportField::Ignore)
            })
            .collect();

        let phone2_taken = columns.contains(&ImportField::Phone2);
        let mut phones = 0;
        for field in columns.iter_mut() {
            if *field == ImportField::Phone {
                phones += 1;
                if phones == 2 && !phone2_taken {
                    *field = ImportField::Phone2;
                }
            }
        }

        let mut errors = Vec::new();
        for (i, field) in columns.iter().enumerate() {
            if field.repeatable() {
                continue;
            }
            if let Some(first) = columns[..i].iter().position(|f| f == field) {
                errors.push(FieldError::new(
                    format!("mapping.{}", column_label(headers, i)),
                    "duplicate_column",
                    format!(
                        "columns \"{}\" and \"{}\" both map to {}: map one of them to another field or to ignore",
                        column_label(headers, first),
                        column_label(headers, i),
                        field.as_str()
                    ),
                ));
            }
        }
        if !columns.iter().any(|f| f.is_name()) {
            errors.push(FieldError::new(
                "mapping",
                "missing_name_column",
                "no column holds the guest's name: map one to full_name, family_name/given_name \
                 or a Latin name",
            ));
        }
        if errors.is_empty() {
            Ok(ColumnMapping { columns })
        } else {
            Err(DomainError::Validation(errors))
        }
    }

    /// The (trimmed, non-blank) headers of the columns not imported.
    pub fn headers_unrecognised<'a>(&self, headers: &'a [String]) -> Vec<&'a str> {
        headers
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                self.columns
                    .get(*i)
                    .is_none_or(|f| *f == ImportField::Ignore)
            })
            .map(|(_, h)| h.trim())
            .filter(|h| !h.is_empty())
            .collect()
    }

    fn first_column(&self, want: impl Fn(ImportField) -> bool) -> Option<usize> {
        self.columns.iter().position(|f| want(*f))
    }
}

// ---------------------------------------------------------------------------
// Cell readers
// ---------------------------------------------------------------------------

/// A cell that says "nothing" counts as blank.
fn is_blank(cell: &str) -> bool {
    let t = cell.trim();
    t.is_empty()
        || ["-", "--", "—", "/", "无", "n/a", "#n/a", "null", "none"]
            .iter()
            .any(|p| t.eq_ignore_ascii_case(p))
}

/// "13812345678.0" → "13812345678": a number Excel stored as a float.
fn strip_float_zero(v: &str) -> &str {
    if let Some((int, frac)) = v.split_once('.') {
        let digits = int.strip_prefix('+').unwrap_or(int);
        if !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && !frac.is_empty()
            && frac.chars().all(|c| c == '0')
        {
            return int;
        }
    }
    v
}

/// "1.38123E+10": Excel showed a long number in scientific notation and
/// the digits are gone.
fn is_scientific(v: &str) -> bool {
    let upper = v.trim().to_ascii_uppercase();
    let Some((mantissa, exponent)) = upper.split_once("E+") else {
        return false;
    };
    let mut dots = 0;
    !mantissa.is_empty()
        && mantissa.chars().all(|c| {
            if c == '.' {
                dots += 1;
                true
            } else {
                c.is_ascii_digit()
            }
        })
        && dots <= 1
        && !exponent.is_empty()
        && exponent.chars().all(|c| c.is_ascii_digit())
}

const SCIENTIFIC: &str = "Excel turned this number into scientific notation and lost digits: \
                          format the column as text and export again";

fn parse_gender(v: &str) -> Option<Gender> {
    let key = header_key(v);
    const MALE: &[&str] = &["男", "男性", "男士", "先生", "m", "male", "man", "mr", "1"];
    const FEMALE: &[&str] = &[
        "女", "女性", "女士", "小姐", "太太", "夫人", "f", "female", "woman", "mrs", "ms", "miss",
        "2",
    ];
    const NON_BINARY: &[&str] = &["非二元", "nonbinary", "nb"];
    const UNDISCLOSED: &[&str] = &[
        "未知",
        "保密",
        "不详",
        "未说明",
        "不愿透露",
        "unknown",
        "undisclosed",
        "unspecified",
        "notspecified",
        "prefernottosay",
        "u",
        "x",
        "0",
        "9",
    ];
    if MALE.contains(&key.as_str()) {
        Some(Gender::Male)
    } else if FEMALE.contains(&key.as_str()) {
        Some(Gender::Female)
    } else if NON_BINARY.contains(&key.as_str()) {
        Some(Gender::NonBinary)
    } else if UNDISCLOSED.contains(&key.as_str()) {
        Some(Gender::Undisclosed)
    } else {
        None
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    let t = v.trim();
    if ["√", "✓", "✔", "☑"].contains(&t) {
        return Some(true);
    }
    if ["×", "✗", "✘", "☐"].contains(&t) {
        return Some(false);
    }
    let key = header_key(t);
    const YES: &[&str] = &[
        "是",
        "是的",
        "对",
        "有",
        "同意",
        "已同意",
        "y",
        "yes",
        "true",
        "t",
        "1",
        "on",
    ];
    const NO: &[&str] = &[
        "否",
        "不",
        "不是",
        "没有",
        "不同意",
        "未同意",
        "n",
        "no",
        "false",
        "f",
        "0",
        "off",
    ];
    if YES.contains(&key.as_str()) {
        Some(true)
    } else if NO.contains(&key.as_str()) {
        Some(false)
    } else {
        None
    }
}

fn parse_document_type(v: &str) -> Option<DocumentType> {
    let key = header_key(v);
    if let Some(t) = DocumentType::ALL
        .into_iter()
        .find(|t| header_key(t.as_str()) == key)
    {
        return Some(t);
    }
    const TYPES: &[(&str, DocumentType)] = &[
        ("身份证", DocumentType::NationalId),
        ("居民身份证", DocumentType::NationalId),
        ("二代身份证", DocumentType::NationalId),
        ("二代证", DocumentType::NationalId),
        ("id", DocumentType::NationalId),
        ("idcard", DocumentType::NationalId),
        ("identitycard", DocumentType::NationalId),
        ("nationalidcard", DocumentType::NationalId),
        ("护照", DocumentType::Passport),
        ("pp", DocumentType::Passport),
        ("回乡证", DocumentType::HkMacaoPermit),
        ("港澳居民来往内地通行证", DocumentType::HkMacaoPermit),
        ("港澳通行证", DocumentType::HkMacaoPermit),
        ("台胞证", DocumentType::TaiwanPermit),
        ("台湾居民来往大陆通行证", DocumentType::TaiwanPermit),
        ("居留证", DocumentType::ResidencePermit),
        ("居留许可", DocumentType::ResidencePermit),
        ("外国人居留许可", DocumentType::ResidencePermit),
        ("永久居留证", DocumentType::ResidencePermit),
        ("外国人永久居留身份证", DocumentType::ResidencePermit),
        ("驾照", DocumentType::DrivingLicence),
        ("驾驶证", DocumentType::DrivingLicence),
        ("drivinglicense", DocumentType::DrivingLicence),
        ("driverslicence", DocumentType::DrivingLicence),
        ("driverslicense", DocumentType::DrivingLicence),
        ("其他", DocumentType::Other),
        ("其它", DocumentType::Other),
    ];
    TYPES
        .iter()
        .find(|(name, _)| header_key(name) == key)
        .map(|(_, t)| *t)
}

/// 18 characters, 17 digits and a digit or X: a Chinese resident ID.
fn looks_like_cn_resident_id(number: &str) -> bool {
    let chars: Vec<char> = number.chars().filter(|c| !c.is_whitespace()).collect();
    chars.len() == 18
        && chars.iter().take(17).all(|c| c.is_ascii_digit())
        && chars
            .last()
            .is_some_and(|c| c.is_ascii_digit() || *c == 'X' || *c == 'x')
}

/// Common country names and alpha-3 codes → ISO 3166-1 alpha-2.
const COUNTRIES: &[(&str, &str)] = &[
    ("中国", "CN"),
    ("中国大陆", "CN"),
    ("中国内地", "CN"),
    ("大陆", "CN"),
    ("内地", "CN"),
    ("中华人民共和国", "CN"),
    ("china", "CN"),
    ("prc", "CN"),
    ("mainlandchina", "CN"),
    ("chn", "CN"),
    ("中国香港", "HK"),
    ("香港", "HK"),
    ("hongkong", "HK"),
    ("hkg", "HK"),
    ("中国澳门", "MO"),
    ("澳门", "MO"),
    ("macau", "MO"),
    ("macao", "MO"),
    ("mac", "MO"),
    ("中国台湾", "TW"),
    ("台湾", "TW"),
    ("taiwan", "TW"),
    ("twn", "TW"),
    ("美国", "US"),
    ("usa", "US"),
    ("unitedstates", "US"),
    ("unitedstatesofamerica", "US"),
    ("america", "US"),
    ("日本", "JP"),
    ("japan", "JP"),
    ("jpn", "JP"),
    ("韩国", "KR"),
    ("南韩", "KR"),
    ("korea", "KR"),
    ("southkorea", "KR"),
    ("kor", "KR"),
    ("英国", "GB"),
    ("uk", "GB"),
    ("unitedkingdom", "GB"),
    ("greatbritain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("gbr", "GB"),
    ("德国", "DE"),
    ("germany", "DE"),
    ("deu", "DE"),
    ("法国", "FR"),
    ("france", "FR"),
    ("fra", "FR"),
    ("意大利", "IT"),
    ("italy", "IT"),
    ("ita", "IT"),
    ("西班牙", "ES"),
    ("spain", "ES"),
    ("esp", "ES"),
    ("荷兰", "NL"),
    ("netherlands", "NL"),
    ("nld", "NL"),
    ("瑞士", "CH"),
    ("switzerland", "CH"),
    ("che", "CH"),
    ("俄罗斯", "RU"),
    ("russia", "RU"),
    ("rus", "RU"),
    ("加拿大", "CA"),
    ("canada", "CA"),
    ("can", "CA"),
    ("澳大利亚", "AU"),
    ("澳洲", "AU"),
    ("australia", "AU"),
    ("aus", "AU"),
    ("新西兰", "NZ"),
    ("newzealand", "NZ"),
    ("nzl", "NZ"),
    ("新加坡", "SG"),
    ("singapore", "SG"),
    ("sgp", "SG"),
    ("马来西亚", "MY"),
    ("malaysia", "MY"),
    ("mys", "MY"),
    ("泰国", "TH"),
    ("thailand", "TH"),
    ("tha", "TH"),
    ("越南", "VN"),
    ("vietnam", "VN"),
    ("vnm", "VN"),
    ("印度", "IN"),
    ("india", "IN"),
    ("ind", "IN"),
    ("印度尼西亚", "ID"),
    ("印尼", "ID"),
    ("indonesia", "ID"),
    ("idn", "ID"),
    ("菲律宾", "PH"),
    ("philippines", "PH"),
    ("phl", "PH"),
];

/// ISO alpha-2 codes pass through upper-cased; a few common names and
/// alpha-3 codes are translated; anything else is left for `parse`.
fn country_value(v: &str) -> String {
    let key = header_key(v);
    let key = key.strip_suffix('籍').unwrap_or(&key);
    if let Some((_, code)) = COUNTRIES.iter().find(|(name, _)| *name == key) {
        return (*code).to_string();
    }
    let t = v.trim();
    if t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()) {
        return t.to_ascii_uppercase();
    }
    t.to_string()
}

/// Language names → BCP 47; `zh_CN` → `zh-CN`; anything else as written.
fn language_value(v: &str) -> String {
    const LANGUAGES: &[(&str, &str)] = &[
        ("中文", "zh-CN"),
        ("汉语", "zh-CN"),
        ("普通话", "zh-CN"),
        ("简体中文", "zh-CN"),
        ("chinese", "zh-CN"),
        ("mandarin", "zh-CN"),
        ("繁体中文", "zh-TW"),
        ("粤语", "zh-HK"),
        ("广东话", "zh-HK"),
        ("cantonese", "zh-HK"),
        ("英语", "en"),
        ("英文", "en"),
        ("english", "en"),
        ("日语", "ja"),
        ("日文", "ja"),
        ("japanese", "ja"),
        ("韩语", "ko"),
        ("韩文", "ko"),
        ("korean", "ko"),
        ("法语", "fr"),
        ("french", "fr"),
        ("德语", "de"),
        ("german", "de"),
        ("俄语", "ru"),
        ("russian", "ru"),
        ("西班牙语", "es"),
        ("spanish", "es"),
    ];
    let key = header_key(v);
    if let Some((_, tag)) = LANGUAGES.iter().find(|(name, _)| *name == key) {
        return (*tag).to_string();
    }
    v.trim().replace('_', "-")
}

/// Phone numbers in one cell: split on `; , / 、` (and their full-width
/// forms) and on line breaks; split on spaces only when every piece is a
/// whole number (so "138 1234 5678" stays one number). Spaces and a
/// trailing ".0" are removed.
fn split_phones(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in v.split([';', ',', '/', '、', '，', '；', '\n', '\r']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = part.split_whitespace().collect();
        let whole_numbers = tokens.len() > 1
            && tokens
                .iter()
                .all(|t| t.chars().filter(|c| c.is_ascii_digit()).count() >= 7);
        let pieces: Vec<String> = if whole_numbers {
            tokens.iter().map(|t| (*t).to_string()).collect()
        } else {
            vec![part.split_whitespace().collect::<String>()]
        };
        for p in pieces {
            let p = strip_float_zero(&p).to_string();
            if !p.is_empty() && !is_blank(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// E-mail addresses in one cell: split on `; , / 、` and whitespace.
fn split_emails(v: &str) -> Vec<String> {
    v.split(|c: char| c.is_whitespace() || ";,/、，；".contains(c))
        .map(|e| e.trim())
        .map(|e| e.strip_prefix("mailto:").unwrap_or(e))
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// Tags in one cell: split on `, ; 、 ， ； |` and line breaks.
fn split_tags(v: &str) -> Vec<String> {
    v.split([',', ';', '、', '，', '；', '|', '\n', '\r'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateProblem {
    Invalid,
    Ambiguous,
}

impl DateProblem {
    fn to_error(self, field: String) -> FieldError {
        match self {
            DateProblem::Invalid => FieldError::new(
                field,
                "invalid_date",
                "not a date this import reads: write it as YYYY-MM-DD, e.g. 1988-04-12",
            ),
            DateProblem::Ambiguous => FieldError::new(
                field,
                "ambiguous_date",
                "day and month cannot be told apart (both 12 or less): write it as YYYY-MM-DD",
            ),
        }
    }
}

fn ymd(y: &str, m: &str, d: &str) -> Result<NaiveDate, DateProblem> {
    let num = |s: &str| -> Result<u32, DateProblem> {
        let s = s.trim();
        if s.is_empty() || s.len() > 4 || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(DateProblem::Invalid);
        }
        s.parse::<u32>().map_err(|_| DateProblem::Invalid)
    };
    if y.trim().len() != 4 {
        return Err(DateProblem::Invalid);
    }
    let year = i32::try_from(num(y)?).map_err(|_| DateProblem::Invalid)?;
    NaiveDate::from_ymd_opt(year, num(m)?, num(d)?).ok_or(DateProblem::Invalid)
}

/// Days since 1899-12-30, as Excel stores dates, for 1900 to 2100.
fn excel_serial(days: u64) -> Result<NaiveDate, DateProblem> {
    // Numbers that could be a year are one, not a date in 1905.
    if days <= 2100 {
        return Err(DateProblem::Invalid);
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|base| base.checked_add_days(Days::new(days)))
        .filter(|d| (1900..=2100).contains(&d.year()))
        .ok_or(DateProblem::Invalid)
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = name.to_ascii_lowercase();
    let lower = if lower == "sept" {
        "sep".to_string()
    } else {
        lower
    };
    MONTHS
        .iter()
        .zip(FULL.iter())
        .position(|(short, full)| lower == *short || lower == *full)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// The date of a cell without a time part.
fn parse_date_part(s: &str) -> Result<NaiveDate, DateProblem> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DateProblem::Invalid);
    }
    // 1988年4月12日
    if let Some((y, rest)) = s.split_once('年') {
        let rest = rest.trim().trim_end_matches(['日', '号']);
        let (m, d) = rest.split_once('月').ok_or(DateProblem::Invalid)?;
        return ymd(y, m, d);
    }
    // 19880412, or an Excel serial number.
    if s.chars().all(|c| c.is_ascii_digit()) {
        if s.len() == 8 {
            return ymd(&s[..4], &s[4..6], &s[6..]);
        }
        if s.len() > 6 {
            return Err(DateProblem::Invalid);
        }
        return excel_serial(s.parse::<u64>().map_err(|_| DateProblem::Invalid)?);
    }
    // 32245.0 or 32245.5 (a serial with a time of day).
    if let Some((int, frac)) = s.split_once('.') {
        if !int.is_empty()
            && int.len() <= 6
            && int.chars().all(|c| c.is_ascii_digit())
            && !frac.is_empty()
            && frac.chars().all(|c| c.is_ascii_digit())
        {
            return excel_serial(int.parse::<u64>().map_err(|_| DateProblem::Invalid)?);
        }
    }
    // 1988-04-12, 1988/4/12, 1988.4.12, 12/04/1988.
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = s.split(sep).map(str::trim).collect();
        if parts.len() != 3
            || !parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let (p0, p1, p2) = (parts[0], parts[1], parts[2]);
        if p0.len() == 4 {
            return ymd(p0, p1, p2);
        }
        if p2.len() != 4 {
            return Err(DateProblem::Invalid);
        }
        let a: u32 = p0.parse().map_err(|_| DateProblem::Invalid)?;
        let b: u32 = p1.parse().map_err(|_| DateProblem::Invalid)?;
        return if a > 12 && b <= 12 {
            ymd(p2, p1, p0)
        } else if (b > 12 && a <= 12) || a == b {
            // Month first, or the same number twice (either reading).
            ymd(p2, p0, p1)
        } else if a <= 12 && b <= 12 {
            Err(DateProblem::Ambiguous)
        } else {
            Err(DateProblem::Invalid)
        };
    }
    // 12 Apr 1988, Apr 12, 1988, 12-APR-1988, 1988-Apr-12.
    let tokens: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || "-/,.".contains(c))
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.len() == 3 {
        if let Some(mi) = tokens.iter().position(|t| month_number(t).is_some()) {
            let month = month_number(tokens[mi]).ok_or(DateProblem::Invalid)?;
            let others: Vec<&str> = tokens
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != mi)
                .map(|(_, t)| *t)
                .collect();
            let (year, day) = match others.as_slice() {
                [a, b] if a.len() == 4 => (*a, *b),
                [a, b] if b.len() == 4 => (*b, *a),
                _ => return Err(DateProblem::Invalid),
            };
            return ymd(year, &month.to_string(), day);
        }
    }
    Err(DateProblem::Invalid)
}

/// A birthday as hotels write them; a time of day after the date is
/// dropped ("1988-04-12 00:00:00").
fn parse_date(s: &str) -> Result<NaiveDate, DateProblem> {
    let s = s.trim();
    match parse_date_part(s) {
        Err(DateProblem::Invalid) => {
            let Some(colon) = s.find(':') else {
                return Err(DateProblem::Invalid);
            };
            let before = &s[..colon];
            match before.rfind([' ', 'T']) {
                Some(cut) if cut > 0 => parse_date_part(&s[..cut]),
                _ => Err(DateProblem::Invalid),
            }
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// Two-character Chinese surnames (复姓), simplified and traditional.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "万俟", "闻人", "太史", "申屠", "澹台",
    "公冶", "濮阳", "赫连", "呼延", "拓跋", "百里", "东郭", "西门", "司空", "第五", "左丘", "公羊",
    "淳于", "单于", "仲孙", "谷梁", "宰父", "乐正", "东门", "梁丘", "微生", "羊舌", "巫马", "漆雕",
    "颛孙", "壤驷", "公良", "亓官", "司寇", "子车", "段干", "鲜于", "闾丘", "夹谷", "南门", "归海",
    "公西", "公伯", "歐陽", "司馬", "諸葛", "尉遲", "公孫", "長孫", "軒轅", "鍾離", "獨孤", "南宮",
    "東方", "聞人", "濮陽", "赫連", "東郭", "西門", "夏侯", "司徒", "慕容", "宇文", "上官", "皇甫",
];

/// Is `c` written in an East Asian script (Han, kana, Hangul)?
fn is_east_asian(c: char) -> bool {
    is_cjk(c)
        || matches!(c as u32, 0x3040..=0x30FF | 0x31F0..=0x31FF | 0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF)
}

/// Latin letters (with accents) and the punctuation names use.
fn is_latin_script(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphabetic()
            || matches!(c as u32, 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x24F | 0x1E00..=0x1EFF)
            || " -'.,/’".contains(c)
    })
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// A name split into (family, given), and the gender its title said.
#[derive(Debug, Default, Clone, PartialEq)]
struct SplitName {
    family: Option<String>,
    given: Option<String>,
    title_gender: Option<Gender>,
}

/// 张伟 → 张 + 伟, 欧阳娜娜 → 欧阳 + 娜娜, 张 伟 → 张 + 伟,
/// 约翰·史密斯 → 史密斯 + 约翰, 张先生 → 张 (male).
fn split_east_asian(name: &str) -> SplitName {
    let mut name = name.trim();
    let mut title_gender = None;
    for (title, gender) in [
        ("先生", Gender::Male),
        ("女士", Gender::Female),
        ("小姐", Gender::Female),
        ("太太", Gender::Female),
        ("夫人", Gender::Female),
    ] {
        if let Some(rest) = name.strip_suffix(title) {
            if !rest.trim().is_empty() {
                name = rest.trim();
                title_gender = Some(gender);
                break;
            }
        }
    }
    if let Some((given, family)) = name.rsplit_once(['·', '•', '・', '‧']) {
        return SplitName {
            family: non_empty(family),
            given: non_empty(given),
            title_gender,
        };
    }
    let tokens: Vec<&str> = name.split_whitespace().collect();
    if let [family, rest @ ..] = tokens.as_slice() {
        if !rest.is_empty() {
            return SplitName {
                family: non_empty(family),
                given: non_empty(&rest.concat()),
                title_gender,
            };
        }
    }
    let chars: Vec<char> = name.chars().collect();
    let surname_len = if chars.len() >= 3 {
        let first_two: String = chars.iter().take(2).collect();
        if COMPOUND_SURNAMES.contains(&first_two.as_str()) {
            2
        } else {
            1
        }
    } else {
        1
    };
    SplitName {
        family: non_empty(&chars.iter().take(surname_len).collect::<String>()),
        given: non_empty(&chars.iter().skip(surname_len).collect::<String>()),
        title_gender,
    }
}

/// Letters only, lower case: compares a romanised name with pinyin.
fn letters_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

fn title_of(token: &str) -> Option<Option<Gender>> {
    match letters_key(token).as_str() {
        "mr" | "mister" => Some(Some(Gender::Male)),
        "mrs" | "ms" | "miss" | "madam" | "mme" | "mlle" => Some(Some(Gender::Female)),
        "mx" | "dr" | "prof" => Some(None),
        _ => None,
    }
}

/// "Wei Zhang" → Zhang + Wei; "ZHANG, Wei" and "ZHANG/WEI" → ZHANG +
/// Wei/WEI (family first); "Mr John Smith" → Smith + John (male). Case is
/// kept as written. `family_hint` (the pinyin of the row's Chinese family
/// name) makes "Zhang Wei" family-first when its first word is that name.
fn split_western(name: &str, family_hint: Option<&str>) -> SplitName {
    let mut title_gender = None;
    let strip_title = |text: &str, title_gender: &mut Option<Gender>| -> String {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        match tokens.as_slice() {
            [first, rest @ ..] if !rest.is_empty() => match title_of(first) {
                Some(gender) => {
                    *title_gender = gender;
                    rest.join(" ")
                }
                None => tokens.join(" "),
            },
            _ => tokens.join(" "),
        }
    };
    if let Some((family, given)) = name.split_once([',', '/', '，']) {
        let given = strip_title(given, &mut title_gender);
        let family = strip_title(family, &mut title_gender);
        return SplitName {
            family: non_empty(&family),
            given: non_empty(&given),
            title_gender,
        };
    }
    let text = strip_title(name, &mut title_gender);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let split = match tokens.as_slice() {
        [] => SplitName::default(),
        [only] => SplitName {
            family: non_empty(only),
            ..SplitName::default()
        },
        [first, .., last] => {
            let hint = family_hint.map(letters_key).filter(|h| !h.is_empty());
            let family_first = hint
                .as_deref()
                .is_some_and(|h| letters_key(first) == h && letters_key(last) != h);
            if family_first {
                SplitName {
                    family: non_empty(first),
                    given: non_empty(&tokens[1..].join(" ")),
                    ..SplitName::default()
                }
            } else {
                SplitName {
                    family: non_empty(last),
                    given: non_empty(&tokens[..tokens.len() - 1].join(" ")),
                    ..SplitName::default()
                }
            }
        }
    };
    SplitName {
        title_gender,
        ..split
    }
}

fn split_full_name(name: &str, family_hint: Option<&str>) -> SplitName {
    if name.chars().any(is_east_asian) {
        split_east_asian(name)
    } else {
        split_western(name, family_hint)
    }
}

/// Name cells of a row, as written.
#[derive(Debug, Default)]
struct NameCells<'a> {
    full: Option<&'a str>,
    family: Option<&'a str>,
    given: Option<&'a str>,
    full_latin: Option<&'a str>,
    family_latin: Option<&'a str>,
    given_latin: Option<&'a str>,
}

#[derive(Debug, Default, PartialEq)]
struct Names {
    family: Option<String>,
    given: Option<String>,
    family_latin: Option<String>,
    given_latin: Option<String>,
    title_gender: Option<Gender>,
}

/// Explicit family/given cells win over the split of a full name; with
/// only the family cell, the given name is what follows it in the full
/// name.
fn combine(
    family: Option<&str>,
    given: Option<&str>,
    full: Option<&str>,
    split: SplitName,
) -> (Option<String>, Option<String>) {
    let family_cell = family.and_then(non_empty);
    let given_cell = given.and_then(non_empty);
    match (family_cell, given_cell) {
        (Some(f), Some(g)) => (Some(f), Some(g)),
        (None, Some(g)) => (split.family, Some(g)),
        (Some(f), None) => {
            let given = full
                .map(str::trim)
                .and_then(|n| n.strip_prefix(f.as_str()))
                .and_then(|rest| non_empty(rest.trim_start_matches([',', ' ', '/', '·'])));
            match (given, split.family.as_deref() == Some(f.as_str())) {
                (Some(g), _) => (Some(f), Some(g)),
                (None, true) => (Some(f), split.given),
                (None, false) => (Some(f), None),
            }
        }
        (None, None) => (split.family, split.given),
    }
}

fn resolve_names(cells: &NameCells<'_>) -> Names {
    let local_split = cells
        .full
        .map(|n| split_full_name(n, None))
        .unwrap_or_default();
    let title_from_local = local_split.title_gender;
    let (family, given) = combine(cells.family, cells.given, cells.full, local_split);

    let hint = family
        .as_deref()
        .filter(|f| f.chars().any(is_cjk))
        .and_then(crate::search::pinyin_of)
        .map(|(full, _)| full);
    let latin_split = cells
        .full_latin
        .map(|n| split_western(n, hint.as_deref()))
        .unwrap_or_default();
    let title_from_latin = latin_split.title_gender;
    let (family_latin, given_latin) = combine(
        cells.family_latin,
        cells.given_latin,
        cells.full_latin,
        latin_split,
    );

    let mut names = Names {
        family,
        given,
        family_latin,
        given_latin,
        title_gender: title_from_local.or(title_from_latin),
    };
    // A Latin name in the name column of a sheet without a Latin column is
    // the guest's Latin name ("John Smith" is not a name in local script).
    let local_is_latin = [&names.family, &names.given]
        .iter()
        .all(|n| n.as_deref().is_none_or(is_latin_script))
        && (names.family.is_some() || names.given.is_some());
    if local_is_latin && names.family_latin.is_none() && names.given_latin.is_none() {
        names.family_latin = names.family.take();
        names.given_latin = names.given.take();
    }
    names
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// One data row converted.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedGuest {
    pub draft: GuestDraft,
    /// The guest's id in the old system, when a column holds it.
    pub external_id: Option<String>,
    /// The document's type (from its column; else the Chinese resident ID
    /// when the number looks like one, else passport) and number as
    /// written (`DocumentNumber::parse` normalises it).
    pub document: Option<(DocumentType, String)>,
    pub marketing_email: Option<bool>,
    pub marketing_sms: Option<bool>,
}

/// Converts one data row. Problems name the header of the column they
/// came from, with a stable code and an English message (never the
/// value), all of a row's problems at once. A row whose every cell is
/// blank is `Ok(None)`. Cells past the last mapped column are ignored.
pub fn convert_row(
    mapping: &ColumnMapping,
    headers: &[String],
    cells: &[String],
) -> Result<Option<ImportedGuest>, Vec<FieldError>> {
    match convert_row_with_problems(mapping, headers, cells) {
        None => Ok(None),
        Some((guest, problems)) if problems.is_empty() => Ok(Some(guest)),
        Some((_, problems)) => Err(problems),
    }
}

/// Like [`convert_row`], but a row with problems still gives the draft of
/// what could be read (the cells with problems left out), so the caller
/// can validate the rest and report every problem of the row at once.
pub fn convert_row_with_problems(
    mapping: &ColumnMapping,
    headers: &[String],
    cells: &[String],
) -> Option<(ImportedGuest, Vec<FieldError>)> {
    if cells.iter().all(|c| is_blank(c)) {
        return None;
    }
    let mut problems: Vec<FieldError> = Vec::new();
    let mut draft = GuestDraft::default();
    let mut names = NameCells::default();
    let mut external_id = None;
    let mut phones: Vec<PhoneEntry> = Vec::new();
    let mut emails: Vec<EmailEntry> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut notes: Vec<(usize, &str)> = Vec::new();
    let mut address = Address::default();
    let mut document_type: Option<DocumentType> = None;
    let mut document_number: Option<String> = None;
    let mut marketing_email = None;
    let mut marketing_sms = None;
    let mut gender_cell = false;
    let mut name_problem = false;

    for (i, field) in mapping.columns.iter().copied().enumerate() {
        if field == ImportField::Ignore {
            continue;
        }
        let Some(raw) = cells.get(i) else { continue };
        let value = raw.trim();
        if is_blank(value) {
            continue;
        }
        let label = || column_label(headers, i);
        if value.chars().count() > MAX_CELL_CHARS {
            name_problem |= field.is_name();
            problems.push(FieldError::new(
                label(),
                "too_long",
                format!("a cell holds at most {MAX_CELL_CHARS} characters"),
            ));
            continue;
        }
        let numeric_id = |problems: &mut Vec<FieldError>| -> Option<String> {
            if is_scientific(value) {
                problems.push(FieldError::new(label(), "scientific_notation", SCIENTIFIC));
                None
            } else {
                Some(strip_float_zero(value).to_string())
            }
        };
        let yes_no = |problems: &mut Vec<FieldError>| -> Option<bool> {
            let parsed = parse_bool(value);
            if parsed.is_none() {
                problems.push(FieldError::new(
                    label(),
                    "invalid_boolean",
                    "expected yes or no (是/否, Y/N, yes/no, true/false, 1/0)",
                ));
            }
            parsed
        };
        match field {
            ImportField::Ignore => {}
            ImportField::ExternalId => external_id = numeric_id(&mut problems),
            ImportField::FullName => names.full = Some(value),
            ImportField::FamilyName => names.family = Some(value),
            ImportField::GivenName => names.given = Some(value),
            ImportField::FullNameLatin => names.full_latin = Some(value),
            ImportField::FamilyNameLatin => names.family_latin = Some(value),
            ImportField::GivenNameLatin => names.given_latin = Some(value),
            ImportField::Gender => {
                gender_cell = true;
                match parse_gender(value) {
                    Some(g) => draft.gender = Some(g),
                    None => problems.push(FieldError::new(
                        label(),
                        "invalid_gender",
                        "gender not recognised: use 男/女, M/F or male/female",
                    )),
                }
            }
            ImportField::Birthday => match parse_date(value) {
                Ok(d) => draft.birthday = Some(d),
                Err(p) => problems.push(p.to_error(label())),
            },
            ImportField::Nationality => draft.nationality = Some(country_value(value)),
            ImportField::Language => draft.language = Some(language_value(value)),
            ImportField::Phone | ImportField::Phone2 => {
                if is_scientific(value) {
                    problems.push(FieldError::new(label(), "scientific_notation", SCIENTIFIC));
                    continue;
                }
                let kind = if field == ImportField::Phone {
                    PhoneKind::Mobile
                } else {
                    PhoneKind::Other
                };
                phones.extend(
                    split_phones(value)
                        .into_iter()
                        .map(|number| PhoneEntry { number, kind }),
                );
            }
            ImportField::Email => {
                emails.extend(split_emails(value).into_iter().map(|address| EmailEntry {
                    address,
                    kind: EmailKind::Personal,
                }))
            }
            ImportField::Company => draft.company = Some(value.to_string()),
            ImportField::AddressLine => address.line1 = Some(value.to_string()),
            ImportField::City => address.city = Some(value.to_string()),
            ImportField::Region => address.region = Some(value.to_string()),
            ImportField::PostalCode => address.postal_code = numeric_id(&mut problems),
            ImportField::Country => address.country = Some(country_value(value)),
            ImportField::Notes => notes.push((i, value)),
            ImportField::Tags => {
                for tag in split_tags(value) {
                    match normalise_tag(&tag) {
                        Ok(_) => {
                            if !tags.contains(&tag) {
                                tags.push(tag);
                            }
                        }
                        Err(e) => problems.extend(e.at(&label()).into_field_errors()),
                    }
                }
            }
            ImportField::DocumentType => match parse_document_type(value) {
                Some(t) => document_type = Some(t),
                None => problems.push(FieldError::new(
                    label(),
                    "invalid_document_type",
                    "document type not recognised: use 身份证, 护照, 回乡证, 台胞证, 居留证, \
                     驾驶证 or 其他 (or national_id, passport, …)",
                )),
            },
            ImportField::DocumentNumber => document_number = numeric_id(&mut problems),
            ImportField::Resident => draft.resident = yes_no(&mut problems),
            ImportField::MarketingEmailConsent => marketing_email = yes_no(&mut problems),
            ImportField::MarketingSmsConsent => marketing_sms = yes_no(&mut problems),
        }
    }

    let resolved = resolve_names(&names);
    if !gender_cell {
        draft.gender = resolved.title_gender;
    }
    draft.family_name = resolved.family;
    draft.given_name = resolved.given;
    draft.family_name_latin = resolved.family_latin;
    draft.given_name_latin = resolved.given_latin;
    let has_name = [
        &draft.family_name,
        &draft.given_name,
        &draft.family_name_latin,
        &draft.given_name_latin,
    ]
    .iter()
    .any(|n| n.is_some());
    if !has_name && !name_problem {
        let field = mapping
            .first_column(ImportField::is_name)
            .map(|i| column_label(headers, i))
            .unwrap_or_else(|| "name".to_string());
        problems.push(FieldError::new(
            field,
            "required",
            "the row has no name: a guest needs one (local script or Latin)",
        ));
    }

    draft.phones = (!phones.is_empty()).then_some(phones);
    draft.emails = (!emails.is_empty()).then_some(emails);
    draft.tags = (!tags.is_empty()).then_some(tags);
    draft.address = (address != Address::default()).then_some(address);
    let several_notes = mapping
        .columns
        .iter()
        .filter(|f| **f == ImportField::Notes)
        .count()
        > 1;
    if !notes.is_empty() {
        let text: Vec<String> = notes
            .iter()
            .map(|(i, v)| {
                if several_notes {
                    format!("{}: {v}", column_label(headers, *i))
                } else {
                    (*v).to_string()
                }
            })
            .collect();
        draft.notes = Some(text.join("\n"));
    }
    let document = document_number.map(|number| {
        let doc_type = document_type.unwrap_or(if looks_like_cn_resident_id(&number) {
            DocumentType::NationalId
        } else {
            DocumentType::Passport
        });
        (doc_type, number)
    });

    Some((
        ImportedGuest {
            draft,
            external_id,
            document,
            marketing_email,
            marketing_sms,
        },
        problems,
    ))
}

/// A cell's value as the canonical row writes it: dates as YYYY-MM-DD,
/// numbers without Excel's ".0", phones without spaces.
fn canonical_value(field: ImportField, value: &str) -> String {
    match field {
        ImportField::Birthday => match parse_date(value) {
            Ok(d) => d.format("%Y-%m-%d").to_string(),
            Err(_) => value.to_string(),
        },
        ImportField::Phone | ImportField::Phone2 => {
            let compact: String = value.split_whitespace().collect();
            strip_float_zero(&compact).to_string()
        }
        ImportField::ExternalId | ImportField::PostalCode | ImportField::DocumentNumber => {
            strip_float_zero(value).to_string()
        }
        _ => value.to_string(),
    }
}

/// A canonical text of a row's content, for a content-hash source key
/// when there is no external id: the mapped, trimmed, non-blank cell
/// values grouped under their field names in a fixed order (values of one
/// field sorted; the two phone fields as one), as JSON. The same row
/// re-read from CSV or XLSX, or with its columns reordered, gives the
/// same text.
pub fn canonical_row(mapping: &ColumnMapping, cells: &[String]) -> String {
    let mut groups: Vec<(&'static str, Vec<String>)> = Vec::new();
    for want in ImportField::ALL.iter().copied() {
        if matches!(want, ImportField::Ignore | ImportField::Phone2) {
            continue;
        }
        let mut values: Vec<String> = mapping
            .columns
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                **f == want || (want == ImportField::Phone && **f == ImportField::Phone2)
            })
            .filter_map(|(i, f)| {
                let v = cells.get(i)?.trim();
                (!is_blank(v)).then(|| canonical_value(*f, v))
            })
            .collect();
        if !values.is_empty() {
            values.sort();
            groups.push((want.as_str(), values));
        }
    }
    serde_json::to_string(&groups).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn convert(headers: &[&str], cells: &[&str]) -> Result<Option<ImportedGuest>, Vec<FieldError>> {
        let headers = strings(headers);
        let mapping = ColumnMapping::from_headers(&headers, &[]).unwrap();
        convert_row(&mapping, &headers, &strings(cells))
    }

    fn one(headers: &[&str], cells: &[&str]) -> ImportedGuest {
        convert(headers, cells).unwrap().unwrap()
    }

    #[test]
    fn field_names_round_trip() {
        for f in ImportField::ALL {
            assert_eq!(ImportField::parse(f.as_str()), Some(*f));
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
        assert_eq!(ImportField::parse(" Phone2 "), Some(ImportField::Phone2));
        assert_eq!(ImportField::parse("nope"), None);
    }

    #[test]
    fn the_header_table_is_unambiguous() {
        for (i, (a, fa)) in HEADERS.iter().enumerate() {
            assert!(!header_key(a).is_empty(), "{a}");
            for (b, fb) in &HEADERS[i + 1..] {
                if header_key(a) == header_key(b) {
                    assert_eq!(fa, fb, "{a} / {b}");
                }
            }
        }
    }

    #[test]
    fn chinese_and_english_headers_are_recognised() {
        use ImportField as F;
        let cases: &[(&str, ImportField)] = &[
            ("姓名", F::FullName),
            ("客人姓名", F::FullName),
            ("宾客姓名", F::FullName),
            ("Guest Name", F::FullName),
            ("FULL_NAME", F::FullName),
            ("姓", F::FamilyName),
            ("Last Name", F::FamilyName),
            ("名字", F::GivenName),
            ("First name", F::GivenName),
            ("拼音", F::FullNameLatin),
            ("Name (Latin)", F::FullNameLatin),
            ("英文名", F::FullNameLatin),
            ("性别", F::Gender),
            ("SEX", F::Gender),
            ("出生年月日", F::Birthday),
            ("Date of Birth", F::Birthday),
            ("DOB", F::Birthday),
            ("国籍", F::Nationality),
            ("手机 号码", F::Phone),
            ("移动电话", F::Phone),
            ("Tel.", F::Phone),
            ("Mobile", F::Phone),
            ("座机", F::Phone2),
            ("Phone 2", F::Phone2),
            ("E-Mail", F::Email),
            ("电子邮箱", F::Email),
            ("工作单位", F::Company),
            ("Organisation", F::Company),
            ("家庭住址", F::AddressLine),
            ("所在城市", F::City),
            ("省份", F::Region),
            ("Zip", F::PostalCode),
            ("国家", F::Country),
            ("Remarks", F::Notes),
            ("客户标签", F::Tags),
            ("证件类型", F::DocumentType),
            ("ID Type", F::DocumentType),
            ("身份证号码", F::DocumentNumber),
            ("Passport No.", F::DocumentNumber),
            ("常驻客户", F::Resident),
            ("Long-Stay", F::Resident),
            ("Email opt-in", F::MarketingEmailConsent),
            ("Newsletter", F::MarketingEmailConsent),
            ("短信同意", F::MarketingSmsConsent),
            ("SMS Opt-In", F::MarketingSmsConsent),
            ("档案号", F::ExternalId),
            ("PMS ID", F::ExternalId),
            ("Profile Id", F::ExternalId),
            // Full-width letters, remarks in brackets, a prefix word.
            ("ＥＭＡＩＬ", F::Email),
            ("手机号码（必填）", F::Phone),
            ("客人手机", F::Phone),
            ("客户名", F::FullName),
            ("客人名字", F::FullName),
            ("序号", F::Ignore),
            ("Guest E-mail", F::Email),
            ("\u{feff}姓名", F::FullName),
        ];
        for (header, field) in cases {
            let want = (*field != F::Ignore).then_some(*field);
            assert_eq!(recognise_header(header), want, "{header}");
        }
        assert_eq!(recognise_header("房型"), None);
        assert_eq!(recognise_header("  "), None);
    }

    #[test]
    fn a_second_phone_column_becomes_phone2() {
        let headers = strings(&["姓名", "手机", "电话", "房型"]);
        let mapping = ColumnMapping::from_headers(&headers, &[]).unwrap();
        assert_eq!(
            mapping.columns,
            vec![
                ImportField::FullName,
                ImportField::Phone,
                ImportField::Phone2,
                ImportField::Ignore
            ]
        );
        assert_eq!(mapping.headers_unrecognised(&headers), vec!["房型"]);
        let g = convert_row(
            &mapping,
            &headers,
            &strings(&["张伟", "13812345678", "0571-88886666", "DLK"]),
        )
        .unwrap()
        .unwrap();
        let phones = g.draft.phones.unwrap();
        assert_eq!(phones.len(), 2);
        assert_eq!(phones[0].kind, PhoneKind::Mobile);
        assert_eq!(phones[1].number, "0571-88886666");
        assert_eq!(phones[1].kind, PhoneKind::Other);
    }

    #[test]
    fn a_third_phone_column_or_a_repeated_field_is_an_error() {
        let headers = strings(&["姓名", "手机", "电话", "联系电话", "备注", "说明"]);
        let err = ColumnMapping::from_headers(&headers, &[])
            .unwrap_err()
            .into_field_errors();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "mapping.联系电话");
        assert_eq!(err[0].code, "duplicate_column");
        // Ignoring it through a preset fixes it; notes may repeat.
        let overrides = vec![("联系电话".to_string(), ImportField::Ignore)];
        let mapping = ColumnMapping::from_headers(&headers, &overrides).unwrap();
        assert_eq!(mapping.columns[3], ImportField::Ignore);
        assert_eq!(mapping.columns[4], ImportField::Notes);
        assert_eq!(mapping.columns[5], ImportField::Notes);
    }

    #[test]
    fn preset_overrides_win_over_recognition() {
        let headers = strings(&["客人", " 房号 ", "电话", "VIP等级"]);
        let overrides = vec![
            ("客人".to_string(), ImportField::FullName),
            ("房号".to_string(), ImportField::Notes),
            ("电话".to_string(), ImportField::Ignore),
            ("VIP等级".to_string(), ImportField::Tags),
            ("不存在".to_string(), ImportField::Email),
        ];
        let mapping = ColumnMapping::from_headers(&headers, &overrides).unwrap();
        assert_eq!(
            mapping.columns,
            vec![
                ImportField::FullName,
                ImportField::Notes,
                ImportField::Ignore,
                ImportField::Tags
            ]
        );
        // Two phone columns by preset also become Phone + Phone2.
        let headers = strings(&["name", "a", "b"]);
        let overrides = vec![
            ("a".to_string(), ImportField::Phone),
            ("b".to_string(), ImportField::Phone),
        ];
        let mapping = ColumnMapping::from_headers(&headers, &overrides).unwrap();
        assert_eq!(
            mapping.columns[1..],
            [ImportField::Phone, ImportField::Phone2]
        );
    }

    #[test]
    fn a_file_without_a_name_column_is_refused() {
        let headers = strings(&["手机", "邮箱", "备注"]);
        let err = ColumnMapping::from_headers(&headers, &[])
            .unwrap_err()
            .into_field_errors();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "mapping");
        assert_eq!(err[0].code, "missing_name_column");
        // A Latin name column is enough.
        let headers = strings(&["English Name", "手机"]);
        assert!(ColumnMapping::from_headers(&headers, &[]).is_ok());
        let headers = strings(&["姓", "名"]);
        assert!(ColumnMapping::from_headers(&headers, &[]).is_ok());
    }

    #[test]
    fn chinese_full_names_are_split_at_the_surname() {
        let s = |n: &str| {
            let g = one(&["姓名"], &[n]).draft;
            (g.family_name, g.given_name)
        };
        let pair = |f: &str, g: Option<&str>| (Some(f.to_string()), g.map(str::to_string));
        assert_eq!(s("张伟"), pair("张", Some("伟")));
        assert_eq!(s("王小明"), pair("王", Some("小明")));
        assert_eq!(s("欧阳娜娜"), pair("欧阳", Some("娜娜")));
        assert_eq!(s("司马相如"), pair("司马", Some("相如")));
        assert_eq!(s(" 诸葛亮 "), pair("诸葛", Some("亮")));
        assert_eq!(s("张 伟"), pair("张", Some("伟")));
        assert_eq!(s("李"), pair("李", None));
        assert_eq!(s("买买提·艾力"), pair("艾力", Some("买买提")));
        let g = one(&["姓名"], &["张先生"]).draft;
        assert_eq!(g.family_name.as_deref(), Some("张"));
        assert_eq!(g.given_name, None);
        assert_eq!(g.gender, Some(Gender::Male));
        // An explicit gender cell wins over the title.
        let g = one(&["姓名", "性别"], &["王女士", "男"]).draft;
        assert_eq!(g.gender, Some(Gender::Male));
    }

    #[test]
    fn latin_full_names_are_split() {
        let g = one(&["Name"], &["Wei Zhang"]).draft;
        assert_eq!(g.family_name, None);
        assert_eq!(g.given_name_latin.as_deref(), Some("Wei"));
        assert_eq!(g.family_name_latin.as_deref(), Some("Zhang"));
        let g = one(&["拼音"], &["ZHANG, Wei"]).draft;
        assert_eq!(g.family_name_latin.as_deref(), Some("ZHANG"));
        assert_eq!(g.given_name_latin.as_deref(), Some("Wei"));
        let g = one(&["拼音"], &["ZHANG/WEI"]).draft;
        assert_eq!(g.family_name_latin.as_deref(), Some("ZHANG"));
        assert_eq!(g.given_name_latin.as_deref(), Some("WEI"));
        let g = one(&["Guest Name"], &["Mr. John Fitzgerald Kennedy"]).draft;
        assert_eq!(g.family_name_latin.as_deref(), Some("Kennedy"));
        assert_eq!(g.given_name_latin.as_deref(), Some("John Fitzgerald"));
        assert_eq!(g.gender, Some(Gender::Male));
        // Beside a Chinese name, the pinyin's surname is recognised.
        let g = one(&["姓名", "拼音"], &["张伟", "ZHANG WEI"]).draft;
        assert_eq!(g.family_name.as_deref(), Some("张"));
        assert_eq!(g.given_name.as_deref(), Some("伟"));
        assert_eq!(g.family_name_latin.as_deref(), Some("ZHANG"));
        assert_eq!(g.given_name_latin.as_deref(), Some("WEI"));
        let g = one(&["姓名", "拼音"], &["张伟", "Wei Zhang"]).draft;
        assert_eq!(g.family_name_latin.as_deref(), Some("Zhang"));
        assert_eq!(g.given_name_latin.as_deref(), Some("Wei"));
        // The drafts parse.
        let today = date(2026, 1, 1);
        assert!(g.parse(None, today).is_ok());
    }

    #[test]
    fn family_and_given_columns_win_over_the_full_name() {
        let g = one(&["姓", "名"], &["欧阳", "娜娜"]).draft;
        assert_eq!(g.family_name.as_deref(), Some("欧阳"));
        assert_eq!(g.given_name.as_deref(), Some("娜娜"));
        let g = one(&["姓名", "姓"], &["欧阳娜娜", "欧阳"]).draft;
        assert_eq!(g.family_name.as_deref(), Some("欧阳"));
        assert_eq!(g.given_name.as_deref(), Some("娜娜"));
        let g = one(&["Last Name", "First Name"], &["Smith", "Anna"]).draft;
        assert_eq!(g.family_name_latin.as_deref(), Some("Smith"));
        assert_eq!(g.given_name_latin.as_deref(), Some("Anna"));
        assert_eq!(g.family_name, None);
    }

    #[test]
    fn every_date_format_is_read() {
        let ok = |s: &str| parse_date(s).unwrap();
        let d = date(1988, 4, 12);
        assert_eq!(ok("1988-04-12"), d);
        assert_eq!(ok("1988/4/12"), d);
        assert_eq!(ok("1988.4.12"), d);
        assert_eq!(ok("19880412"), d);
        assert_eq!(ok("1988年4月12日"), d);
        assert_eq!(ok("1988年04月12号"), d);
        assert_eq!(ok("13/04/1988"), date(1988, 4, 13));
        assert_eq!(ok("04/13/1988"), date(1988, 4, 13));
        assert_eq!(ok("04/04/1988"), date(1988, 4, 4));
        assert_eq!(ok("32245"), d);
        assert_eq!(ok("32245.0"), d);
        assert_eq!(ok("32245.75"), d);
        assert_eq!(ok("1988-04-12 00:00:00"), d);
        assert_eq!(ok("1988-04-12T08:30:00"), d);
        assert_eq!(ok("12 Apr 1988"), d);
        assert_eq!(ok("April 12, 1988"), d);
        assert_eq!(ok("12-APR-1988"), d);
        let err = |s: &str| parse_date(s).unwrap_err();
        assert_eq!(err("05/04/1988"), DateProblem::Ambiguous);
        assert_eq!(err("12/04/1988"), DateProblem::Ambiguous);
        assert_eq!(err("1988-02-30"), DateProblem::Invalid);
        assert_eq!(err("1988"), DateProblem::Invalid);
        assert_eq!(err("88-04-12"), DateProblem::Invalid);
        assert_eq!(err("12-APR-88"), DateProblem::Invalid);
        assert_eq!(err("yesterday"), DateProblem::Invalid);
        assert_eq!(err("9999999"), DateProblem::Invalid);
    }

    #[test]
    fn birthday_cells_report_their_problems() {
        let g = one(&["姓名", "生日"], &["张伟", "1988/4/12"]);
        assert_eq!(g.draft.birthday, Some(date(1988, 4, 12)));
        let g = one(&["姓名", "生日"], &["张伟", "-"]);
        assert_eq!(g.draft.birthday, None);
        let err = convert(&["姓名", "生日"], &["张伟", "12/04/1988"]).unwrap_err();
        assert_eq!(err[0].field, "生日");
        assert_eq!(err[0].code, "ambiguous_date");
        assert!(!err[0].message.contains("1988"));
    }

    #[test]
    fn several_emails_and_phones_in_one_cell() {
        let g = one(
            &["姓名", "邮箱", "手机"],
            &[
                "张伟",
                "a@example.com; b@example.com, c@example.com 、d@example.com",
                "13812345678 / 13987654321",
            ],
        );
        let emails: Vec<String> = g
            .draft
            .emails
            .unwrap()
            .into_iter()
            .map(|e| e.address)
            .collect();
        assert_eq!(
            emails,
            vec![
                "a@example.com",
                "b@example.com",
                "c@example.com",
                "d@example.com"
            ]
        );
        let phones: Vec<String> = g
            .draft
            .phones
            .unwrap()
            .into_iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(phones, vec!["13812345678", "13987654321"]);
        // Spaces inside one number are not a separator; Excel's ".0" goes.
        assert_eq!(split_phones("+86 138 1234 5678"), vec!["+8613812345678"]);
        assert_eq!(split_phones("13812345678.0"), vec!["13812345678"]);
        assert_eq!(
            split_phones("13812345678 13987654321"),
            vec!["13812345678", "13987654321"]
        );
    }

    #[test]
    fn values_are_read_into_the_draft() {
        let g = one(
            &[
                "客户编号",
                "姓名",
                "性别",
                "国籍",
                "语言",
                "公司",
                "地址",
                "城市",
                "省份",
                "邮编",
                "国家",
                "标签",
                "常驻",
                "营销邮件同意",
                "短信同意",
                "房型",
            ],
            &[
                "10023.0",
                "李娜",
                "F",
                "中国",
                "中文",
                "Acme",
                "西湖区1号",
                "杭州",
                "浙江",
                "310000",
                "China",
                "VIP, 商务；VIP | 常客",
                "√",
                "否",
                "",
                "DLK",
            ],
        );
        assert_eq!(g.external_id.as_deref(), Some("10023"));
        let d = &g.draft;
        assert_eq!(d.gender, Some(Gender::Female));
        assert_eq!(d.nationality.as_deref(), Some("CN"));
        assert_eq!(d.language.as_deref(), Some("zh-CN"));
        assert_eq!(d.company.as_deref(), Some("Acme"));
        let a = d.address.as_ref().unwrap();
        assert_eq!(a.line1.as_deref(), Some("西湖区1号"));
        assert_eq!(a.city.as_deref(), Some("杭州"));
        assert_eq!(a.region.as_deref(), Some("浙江"));
        assert_eq!(a.postal_code.as_deref(), Some("310000"));
        assert_eq!(a.country.as_deref(), Some("CN"));
        assert_eq!(
            d.tags.as_deref().unwrap(),
            &["VIP".to_string(), "商务".into(), "常客".into()]
        );
        assert_eq!(d.resident, Some(true));
        assert_eq!(g.marketing_email, Some(false));
        assert_eq!(g.marketing_sms, None);
        assert!(g.draft.clone().parse(None, date(2026, 1, 1)).is_ok());
        assert_eq!(country_value("香港"), "HK");
        assert_eq!(country_value("usa"), "US");
        assert_eq!(country_value("UK"), "GB");
        assert_eq!(country_value("jp"), "JP");
        assert_eq!(country_value("Atlantis"), "Atlantis");
    }

    #[test]
    fn documents_default_their_type_from_the_number() {
        let g = one(&["姓名", "身份证号"], &["张伟", "11010519491231002x"]);
        assert_eq!(
            g.document,
            Some((DocumentType::NationalId, "11010519491231002x".to_string()))
        );
        let g = one(&["姓名", "证件号码"], &["张伟", "E12345678"]);
        assert_eq!(g.document.unwrap().0, DocumentType::Passport);
        let g = one(
            &["姓名", "证件类型", "证件号码"],
            &["张伟", "回乡证", "H12345678"],
        );
        assert_eq!(g.document.unwrap().0, DocumentType::HkMacaoPermit);
        let g = one(&["姓名", "证件类型"], &["张伟", "护照"]);
        assert_eq!(g.document, None);
    }

    #[test]
    fn all_of_a_rows_problems_are_reported_with_their_headers() {
        let long = "x".repeat(MAX_CELL_CHARS + 1);
        let err = convert(
            &[
                "姓名",
                "性别",
                "出生日期",
                "常驻客户",
                "证件类型",
                "身份证号",
                "备注",
            ],
            &[
                "张伟",
                "?",
                "1988-13-45",
                "maybe",
                "学生证",
                "1.10105E+17",
                &long,
            ],
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = err.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("性别", "invalid_gender"),
                ("出生日期", "invalid_date"),
                ("常驻客户", "invalid_boolean"),
                ("证件类型", "invalid_document_type"),
                ("身份证号", "scientific_notation"),
                ("备注", "too_long"),
            ]
        );
        // A row with content but no name.
        let err = convert(&["姓名", "手机"], &["", "13812345678"]).unwrap_err();
        assert_eq!(err[0].field, "姓名");
        assert_eq!(err[0].code, "required");
    }

    #[test]
    fn blank_rows_are_skipped() {
        assert_eq!(convert(&["姓名", "手机"], &["", "  "]).unwrap(), None);
        assert_eq!(convert(&["姓名", "手机"], &["-", "N/A"]).unwrap(), None);
        assert_eq!(convert(&["姓名", "手机"], &[]).unwrap(), None);
        // Short rows are fine.
        let g = one(&["姓名", "手机", "邮箱"], &["张伟"]);
        assert_eq!(g.draft.phones, None);
    }

    #[test]
    fn several_note_columns_are_joined_with_their_headers() {
        let headers = strings(&["姓名", "备注", "说明"]);
        let mapping = ColumnMapping::from_headers(&headers, &[]).unwrap();
        let g = convert_row(&mapping, &headers, &strings(&["张伟", "无烟房", "高楼层"]))
            .unwrap()
            .unwrap();
        assert_eq!(g.draft.notes.as_deref(), Some("备注: 无烟房\n说明: 高楼层"));
        let g = one(&["姓名", "备注"], &["张伟", "无烟房"]);
        assert_eq!(g.draft.notes.as_deref(), Some("无烟房"));
    }

    #[test]
    fn the_canonical_row_ignores_column_order_and_file_format() {
        let a_headers = strings(&["姓名", "手机", "生日", "邮箱", "房型"]);
        let b_headers = strings(&["邮箱", "生日", "备注2", "手机", "姓名"]);
        let a = ColumnMapping::from_headers(&a_headers, &[]).unwrap();
        let b = ColumnMapping::from_headers(&b_headers, &[]).unwrap();
        let csv = canonical_row(
            &a,
            &strings(&[
                " 张伟 ",
                "138 1234 5678",
                "1988/4/12",
                "a@example.com",
                "DLK",
            ]),
        );
        let xlsx = canonical_row(
            &b,
            &strings(&[
                "a@example.com",
                "32245",
                "whatever",
                "13812345678.0",
                "张伟",
            ]),
        );
        assert_eq!(csv, xlsx);
        assert!(csv.contains("1988-04-12"));
        let other = canonical_row(
            &a,
            &strings(&["张伟", "13812345678", "1988/4/13", "a@example.com", ""]),
        );
        assert_ne!(csv, other);
    }

    #[test]
    fn genders_and_booleans() {
        for (v, g) in [
            ("男", Gender::Male),
            ("M", Gender::Male),
            ("male", Gender::Male),
            ("先生", Gender::Male),
            ("1", Gender::Male),
            ("女", Gender::Female),
            ("f", Gender::Female),
            ("Female", Gender::Female),
            ("女士", Gender::Female),
            ("2", Gender::Female),
            ("保密", Gender::Undisclosed),
        ] {
            assert_eq!(parse_gender(v), Some(g), "{v}");
        }
        assert_eq!(parse_gender("?"), None);
        for v in ["是", "Y", "yes", "TRUE", "1", "√"] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
        for v in ["否", "n", "No", "false", "0"] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn column_letters_name_headerless_columns() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_label(&strings(&["", " "]), 1), "column B");
    }
}
