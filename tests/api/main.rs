//! Black-box tests: each starts the real server on port 0 with its own
//! database and talks HTTP to it. Run against SQLite by default and against
//! PostgreSQL when TEST_DATABASE_URL is set (`make test` does both).

mod analytics;
mod api_quality;
mod auth;
mod campaigns;
mod channels;
mod contracts;
mod demo;
mod guests;
mod identity_and_privacy;
mod imports;
mod loyalty;
mod merges;
mod messages;
mod migrations;
mod object_level;
mod ota;
mod reservations;
mod roles;
mod security;
mod spec;
mod surveys;
mod tenancy;
mod tickets;
mod users_and_clients;
mod webhooks;
