//! Reading values out of result rows.

use serde_json::Value;

use docent_core::domain::Priority;
use docent_core::ports::{PortError, PortResult, Row};

/// A JSON column's text.
pub(crate) fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn text(row: &Row, i: usize) -> PortResult<String> {
    match row.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        other => Err(PortError::permanent(format!("expected text in column {i}, got {other:?}"))),
    }
}

pub(crate) fn priority_at(row: &Row, i: usize) -> Priority {
    opt_text(row, i).as_deref().and_then(Priority::parse).unwrap_or_default()
}

pub(crate) fn opt_text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn int(row: &Row, i: usize) -> PortResult<u64> {
    match row.get(i) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f as u64))
            .ok_or_else(|| PortError::permanent("negative count")),
        Some(Value::Null) => Ok(0),
        other => {
            Err(PortError::permanent(format!("expected integer in column {i}, got {other:?}")))
        }
    }
}

pub(crate) fn opt_int(row: &Row, i: usize) -> Option<u64> {
    row.get(i).and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
}
