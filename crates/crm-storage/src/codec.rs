//! Domain enums are stored by their API names (`front_desk`, `non_binary`).

use crate::error::{StorageError, StorageResult};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub fn enum_to_db<T: Serialize>(value: &T) -> StorageResult<String> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StorageError::Corrupt(format!("not a unit enum: {other}"))),
    }
}

pub fn enum_from_db<T: DeserializeOwned>(value: &str) -> StorageResult<T> {
    Ok(serde_json::from_value(serde_json::Value::String(
        value.to_string(),
    ))?)
}
