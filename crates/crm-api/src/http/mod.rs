//! HTTP plumbing shared by every route: JSON bodies, query strings,
//! pagination, ETags, request ids, idempotency, security headers.

pub mod client_ip;
pub mod etag;
pub mod idempotency;
pub mod json;
pub mod pagination;
pub mod request_log;
pub mod security;
pub mod table;

pub use client_ip::client_ip;
pub use etag::{etag_for, IfMatch};
pub use json::{apply_merge_patch, merge_patch, parse_json, ApiJson};
pub use pagination::{ListResponse, PageParams, PageQuery};
pub use request_log::RequestId;
