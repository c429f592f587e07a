//! Builds a tenant's hunting database: every table of the Defender schema exists (so any
//! documented table name resolves), and the ones below are filled from the world.
//!
//! | Module | Tables |
//! |---|---|
//! | [`super::device`] | DeviceInfo, DeviceNetworkInfo, DeviceProcessEvents, DeviceNetworkEvents, DeviceFileEvents, DeviceLogonEvents, DeviceRegistryEvents, DeviceEvents, DeviceImageLoadEvents |
//! | [`super::email`] | EmailEvents, EmailAttachmentInfo, EmailUrlInfo, UrlClickEvents |
//! | [`super::identity`] | IdentityInfo, IdentityLogonEvents |
//! | [`super::alerts`] | AlertInfo, AlertEvidence (from the world's alerts) |
//! | [`super::scenario`] | CloudProcessEvents (cluster noise + seed 004's container attack) |

use std::collections::BTreeMap;

use hunt::database::{Database, TableBuilder};
use hunt::schema::Schema;

use super::synth::{Row, Snapshot, TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND};
use super::{alerts, device, email, identity, scenario};

pub use super::synth::ticks;

/// Row sinks for every schema table.
pub struct Tables {
    builders: BTreeMap<String, TableBuilder>,
    /// Last `ReportId` handed out (unique across the tenant's device tables).
    report: i64,
}

impl Tables {
    fn new(schema: &Schema) -> Tables {
        let builders = schema
            .table_names()
            .filter_map(|n| TableBuilder::for_table(schema, n).map(|b| (n.to_string(), b)))
            .collect();
        Tables { builders, report: 0 }
    }

    /// A fresh `ReportId`.
    pub fn report_id(&mut self) -> i64 {
        self.report += 1;
        self.report
    }

    /// Appends a row. The `InitiatingProcess*` group is written whole and trimmed here to the
    /// columns each table documents (they differ slightly per table); any other column the
    /// schema lacks is a generator bug: loud in debug builds, logged (row dropped) otherwise,
    /// never a failed query.
    pub fn push(&mut self, table: &str, mut row: Row) {
        let Some(b) = self.builders.get_mut(table) else {
            debug_assert!(false, "no table {table}");
            tracing::error!("hunting generator: no table {table}");
            return;
        };
        row.retain(|(name, _)| !name.starts_with("InitiatingProcess") || b.columns().any(|(c, _)| c == *name));
        if let Err(e) = b.push(&row) {
            debug_assert!(false, "{table}: {e}");
            tracing::error!("hunting generator: {table}: {e}");
        }
    }
}

/// Generates every table for the tenant in `snap`. Deterministic for (seed, tenant) apart
/// from the anchor time all timestamps are relative to.
pub fn generate(snap: &Snapshot) -> Database {
    let schema = Schema::from_json(hunt::schema::DEFENDER_SCHEMAS_JSON).unwrap_or_default();
    let mut t = Tables::new(&schema);
    device::generate(snap, &mut t);
    email::generate(snap, &mut t);
    identity::generate(snap, &mut t);
    alerts::generate(snap, &mut t);
    scenario::generate(snap, &mut t);
    let mut db = Database::new();
    for (name, b) in t.builders {
        db.insert(name, b.finish());
    }
    db
}

/// Graph's `Timespan`: ISO 8601 `start/end`, `duration/end`, `start/duration`, `duration`
/// (ending now) or `start` (until now), as an inclusive tick range.
pub fn parse_timespan(text: &str, now: i64) -> Result<(i64, i64), String> {
    let text = text.trim();
    let point = |s: &str| -> Result<i64, String> {
        crate::clock::parse_datetime(s).map(ticks).ok_or_else(|| format!("'{s}' is not an ISO 8601 date/time"))
    };
    let range = match text.split_once('/') {
        None if text.starts_with(['P', 'p']) => (now - duration(text)?, now),
        None => (point(text)?, now),
        Some((a, b)) => match (a.starts_with(['P', 'p']), b.starts_with(['P', 'p'])) {
            (true, true) => return Err("give at most one duration".into()),
            (true, false) => {
                let end = point(b)?;
                (end - duration(a)?, end)
            }
            (false, true) => {
                let start = point(a)?;
                (start, start + duration(b)?)
            }
            (false, false) => (point(a)?, point(b)?),
        },
    };
    if range.0 > range.1 {
        return Err("the start is after the end".into());
    }
    Ok(range)
}

/// ISO 8601 duration (`P30D`, `PT12H`, `P1W`, `P1DT6H30M`) in ticks; a year is 365 days and a
/// month 30 days, as for retention windows.
fn duration(text: &str) -> Result<i64, String> {
    let body = &text[1..];
    if body.is_empty() {
        return Err(format!("'{text}' is not an ISO 8601 duration"));
    }
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    for c in body.chars() {
        match c {
            'T' | 't' if number.is_empty() => in_time = true,
            '0'..='9' | '.' => number.push(c),
            unit => {
                let n: f64 = number.parse().map_err(|_| format!("'{text}' is not an ISO 8601 duration"))?;
                number.clear();
                let per = match (unit.to_ascii_uppercase(), in_time) {
                    ('Y', false) => 365 * TICKS_PER_DAY,
                    ('M', false) => 30 * TICKS_PER_DAY,
                    ('W', false) => 7 * TICKS_PER_DAY,
                    ('D', false) => TICKS_PER_DAY,
                    ('H', true) => TICKS_PER_HOUR,
                    ('M', true) => TICKS_PER_MINUTE,
                    ('S', true) => TICKS_PER_SECOND,
                    _ => return Err(format!("'{text}' is not an ISO 8601 duration")),
                };
                total = total.saturating_add((n * per as f64) as i64);
            }
        }
    }
    if !number.is_empty() {
        return Err(format!("'{text}' is not an ISO 8601 duration"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        let now = 1_000 * TICKS_PER_DAY;
        assert_eq!(parse_timespan("P7D", now), Ok((now - 7 * TICKS_PER_DAY, now)));
        assert_eq!(parse_timespan("PT1H30M", now), Ok((now - 90 * TICKS_PER_MINUTE, now)));
        let (a, b) = parse_timespan("2024-01-01T00:00:00Z/2024-01-02T00:00:00Z", now).unwrap();
        assert_eq!(b - a, TICKS_PER_DAY);
        let (a, b) = parse_timespan("2024-01-01T00:00:00Z/P2D", now).unwrap();
        assert_eq!(b - a, 2 * TICKS_PER_DAY);
        let (a, b) = parse_timespan("P1D/2024-01-02T00:00:00Z", now).unwrap();
        assert_eq!(b - a, TICKS_PER_DAY);
        assert!(parse_timespan("P", now).is_err());
        assert!(parse_timespan("P7X", now).is_err());
        assert!(parse_timespan("yesterday", now).is_err());
        assert!(parse_timespan("P1D/P2D", now).is_err());
    }
}
