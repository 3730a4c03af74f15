//! Authentication (JWT bearer tokens, passwords, client secrets) and
//! authorisation (roles checked before anything else is read).

pub mod cache;
pub mod jwt;
pub mod limiter;
pub mod password;
pub mod principal;

pub use principal::{roles, Auth, Principal, PrincipalKind};
