//! How values are written as text, in one place, so the stored form (and therefore the
//! audit hash) never depends on which back end or library version wrote it.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::StoreError;

/// Fixed-width RFC 3339 UTC with microseconds: sorts as text and matches PostgreSQL precision.
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The current instant, in UTC and cut to microseconds so it round-trips through storage exactly.
pub(crate) fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// Drops sub-microsecond precision and normalises to UTC.
pub(crate) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.nanosecond() / 1_000 * 1_000;
    // A nanosecond value below one second is always valid; fall back to the input if not.
    t.replace_nanosecond(micros).unwrap_or(t)
}

/// Formats an instant in the stored timestamp form.
pub(crate) fn format_ts(t: OffsetDateTime) -> Result<String, StoreError> {
    truncate(t).format(TIMESTAMP).map_err(|e| StoreError::corrupt("cannot format timestamp", e))
}

/// Parses the stored timestamp form; anything else means the row was written by someone else.
pub(crate) fn parse_ts(column: &str, s: &str) -> Result<OffsetDateTime, StoreError> {
    time::PrimitiveDateTime::parse(s, TIMESTAMP)
        .map(|t| t.assume_utc())
        .map_err(|e| StoreError::corrupt(format!("{column}: bad timestamp {s:?}"), e))
}

/// Parses an optional stored timestamp.
pub(crate) fn parse_ts_opt(column: &str, s: Option<String>) -> Result<Option<OffsetDateTime>, StoreError> {
    s.map(|s| parse_ts(column, &s)).transpose()
}

/// Canonical JSON: object keys sorted, no whitespace. Independent of serde_json's
/// `preserve_order` feature, which another crate in the build could switch on.
pub(crate) fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(val, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Canonical JSON text of a list of strings.
pub(crate) fn string_list_json(items: &[String]) -> String {
    canonical_json(&Value::from(items.to_vec()))
}

/// Parses a stored JSON column.
pub(crate) fn parse_json(column: &str, s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("{column}: bad JSON"), e))
}

/// Parses an optional stored JSON column.
pub(crate) fn parse_json_opt(column: &str, s: Option<String>) -> Result<Option<Value>, StoreError> {
    s.map(|s| parse_json(column, &s)).transpose()
}

/// Parses a stored JSON array of strings.
pub(crate) fn parse_string_list(column: &str, s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("{column}: expected a JSON array of strings"), e))
}

/// Parses a stored UUID.
pub(crate) fn parse_uuid(column: &str, s: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(s).map_err(|e| StoreError::corrupt(format!("{column}: bad uuid {s:?}"), e))
}

/// Appends `new` to `existing`, keeping first-seen order and skipping ids already present.
pub(crate) fn append_unique(existing: &mut Vec<String>, new: &[String]) {
    for id in new {
        if !existing.contains(id) {
            existing.push(id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v = json!({"b": 1, "a": {"z": [true, null], "y": "x\"q"}});
        assert_eq!(canonical_json(&v), r#"{"a":{"y":"x\"q","z":[true,null]},"b":1}"#);
    }

    #[test]
    fn timestamps_round_trip_at_microsecond_precision() {
        let t = time::macros::datetime!(2026-01-02 03:04:05.123456789 UTC);
        let s = format_ts(t).unwrap();
        assert_eq!(s, "2026-01-02T03:04:05.123456Z");
        assert_eq!(parse_ts("at", &s).unwrap(), truncate(t));
        assert_ne!(parse_ts("at", &s).unwrap(), t);
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        let t = time::macros::datetime!(2026-01-02 05:04:05 +02:00);
        assert_eq!(format_ts(t).unwrap(), "2026-01-02T03:04:05.000000Z");
    }

    #[test]
    fn append_unique_keeps_order_and_drops_duplicates() {
        let mut ids = vec!["a".to_string(), "b".to_string()];
        append_unique(&mut ids, &["b".into(), "c".into(), "c".into(), "a".into()]);
        assert_eq!(ids, vec!["a", "b", "c"]);
    }
}
