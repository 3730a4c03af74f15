//! The hotel's nouns and their rules: guests, properties, staff roles.
//!
//! Everything here is pure: no database, no HTTP, no clock reads except through
//! [`clock::Clock`]. Types that can only hold valid values (`Email`,
//! `PhoneE164`, `CountryCode`, …) are built by parsing, so the layers above
//! never carry unchecked strings.

pub mod analytics;
pub mod campaign;
pub mod channel;
pub mod clock;
pub mod consent;
pub mod contract;
pub mod contract_document;
pub mod duplicate;
pub mod error;
pub mod guest;
pub mod id;
pub mod identity;
pub mod import;
pub mod loyalty;
pub mod merge;
pub mod message;
pub mod property;
pub mod reservation;
pub mod role;
pub mod search;
pub mod segment;
pub mod service;
pub mod survey;
pub mod template;
pub mod values;

pub use error::{DomainError, Errors, FieldError};
