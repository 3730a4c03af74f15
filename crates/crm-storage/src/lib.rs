//! Persistence for hotel-crm: one diesel code path for PostgreSQL and
//! SQLite. Every query filters on the organisation id.

pub mod codec;
pub mod db;
pub mod error;
pub mod migrations;
pub mod pagination;
pub mod schema;
mod time;

pub mod api_clients {
    pub use crate::clients::*;
}
pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod campaigns;
mod clients;
pub mod consents;
pub mod contracts;
pub mod duplicates;
pub mod guests;
pub mod idempotency;
pub mod identity_documents;
pub mod imports;
pub mod insights;
pub mod inventory;
pub mod loyalty;
pub mod merges;
pub mod messages;
pub mod organizations;
pub mod properties;
pub mod refresh_tokens;
pub mod reports;
pub mod reservations;
pub mod retention;
pub mod segments;
pub mod surveys;
pub mod tickets;
pub mod users;
pub mod webhooks;

pub use db::{Backend, Database, DbConnection};
pub use error::{StorageError, StorageResult};
