//! Identity documents (证件). Numbers are personal data: the storage layer
//! keeps them encrypted, a keyed hash makes exact-number search possible, and
//! everyone but the desk sees them masked.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Resident identity card (居民身份证).
    NationalId,
    Passport,
    /// Mainland travel permit for Hong Kong and Macao residents (回乡证).
    HkMacaoPermit,
    /// Mainland travel permit for Taiwan residents (台胞证).
    TaiwanPermit,
    /// Foreigner's permanent or temporary residence permit.
    ResidencePermit,
    DrivingLicence,
    Other,
}

impl DocumentType {
    pub const ALL: [DocumentType; 7] = [
        DocumentType::NationalId,
        DocumentType::Passport,
        DocumentType::HkMacaoPermit,
        DocumentType::TaiwanPermit,
        DocumentType::ResidencePermit,
        DocumentType::DrivingLicence,
        DocumentType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::NationalId => "national_id",
            DocumentType::Passport => "passport",
            DocumentType::HkMacaoPermit => "hk_macao_permit",
            DocumentType::TaiwanPermit => "taiwan_permit",
            DocumentType::ResidencePermit => "residence_permit",
            DocumentType::DrivingLicence => "driving_licence",
            DocumentType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        DocumentType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A document number with spaces removed and letters upper-cased, so that
/// "e1234 5678" and "E12345678" are the same document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentNumber(String);

impl DocumentNumber {
    pub fn parse(
        raw: &str,
        doc_type: DocumentType,
        issuing_country: Option<&str>,
    ) -> Result<Self, DomainError> {
        let number: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if number.len() < 4
            || number.len() > 40
            || !number.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(DomainError::field(
                "",
                "invalid_document_number",
                "4 to 40 letters and digits",
            ));
        }
        if doc_type == DocumentType::NationalId
            && issuing_country == Some("CN")
            && !is_valid_cn_resident_id(&number)
        {
            return Err(DomainError::field(
                "",
                "invalid_document_number",
                "not a valid 18-digit resident identity card number (check digit mismatch)",
            ));
        }
        Ok(DocumentNumber(number))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What non-privileged readers see: the first three and last four
    /// characters of long numbers (`110***********1234`), only the last two of
    /// short ones.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let n = chars.len();
        let (head, tail) = if n >= 10 { (3, 4) } else { (0, 2.min(n)) };
        chars
            .iter()
            .enumerate()
            .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
            .collect()
    }
}

/// GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character.
pub fn is_valid_cn_resident_id(number: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (c, w) in chars[..17].iter().zip(WEIGHTS) {
        match c.to_digit(10) {
            Some(d) => sum += d * w,
            None => return false,
        }
    }
    CHECK[(sum % 11) as usize] == chars[17]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_and_masked() {
        let n = DocumentNumber::parse("11010519491231002X", DocumentType::NationalId, Some("CN"))
            .unwrap();
        assert_eq!(n.masked(), "110***********002X");
        let p = DocumentNumber::parse("e1234 5678", DocumentType::Passport, Some("CN")).unwrap();
        assert_eq!(p.as_str(), "E12345678");
        assert_eq!(p.masked(), "*******78");
    }

    #[test]
    fn chinese_resident_ids_carry_a_check_digit() {
        assert!(is_valid_cn_resident_id("11010519491231002X"));
        assert!(!is_valid_cn_resident_id("110105194912310021"));
        assert!(
            DocumentNumber::parse("110105194912310021", DocumentType::NationalId, Some("CN"))
                .is_err()
        );
        // Other countries' national ids follow other rules.
        assert!(
            DocumentNumber::parse("110105194912310021", DocumentType::NationalId, Some("SG"))
                .is_ok()
        );
    }

    #[test]
    fn junk_is_rejected() {
        assert!(DocumentNumber::parse("12", DocumentType::Passport, None).is_err());
        assert!(DocumentNumber::parse("AB#123456", DocumentType::Passport, None).is_err());
    }
}
