//! The hotel-crm HTTP API: actix-web handlers, auth, errors and the
//! OpenAPI document. `main.rs` is the `hotel-crm` command line.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod campaigns;
pub mod config;
pub mod config_cache;
pub mod contracts;
pub mod crypto;
pub mod demo;
pub mod duplicates;
pub mod error;
pub mod http;
pub mod import;
pub mod insights;
pub mod jobs;
pub mod loyalty;
pub mod messaging;
pub mod openapi;
pub mod pdf;
pub mod rekey;
pub mod retention;
pub mod routes;
pub mod startup;
pub mod state;
pub mod webhooks;
pub mod xlsx;

pub use config::Settings;
pub use startup::Application;
