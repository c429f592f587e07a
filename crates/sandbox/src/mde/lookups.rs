//! Device lookups: `GET /api/machines/findbyip(ip='{IP}',timestamp={TimeStamp})`
//! (find-machines-by-ip): machines seen with that internal IP from 15 minutes before to 15
//! minutes after the timestamp, which must lie in the past 30 days (400 otherwise).
//!
//! Each machine's IP history is its `lastIpAddress` since `previous_ip`'s end (or since first
//! seen) up to when it was last seen; some seeded machines moved from an earlier DHCP lease
//! three days ago, so a lookup in the past can find a machine under an address it no longer has.
//! (`GET /api/machines?$filter=computerDnsName eq '...'` and `/logonusers` live in `mod.rs`.)
//!
//! Who logs on where: machine `i` has `1 + i % 3` logged-on users ([`logged_on`]), the same
//! answer `/api/machines/{id}/logonusers` gives and `GET /api/users/{id}/machines` inverts
//! (list-devices-by-user: the id is the account name, the UPN's part before `@`).

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{context, machine_json, require_read, with_tenant};
use crate::auth::Caller;
use crate::clock::parse_datetime;
use crate::errors;
use crate::state::AppState;
use crate::world::Machine;

/// Documented: ±15 minutes around the timestamp.
const WINDOW_MINUTES: i64 = 15;
/// Documented: "The given timestamp must be in the past 30 days."
const LOOKBACK_DAYS: i64 = 30;

/// True for the `findbyip(...)` function segment (ASP.NET routing is case-insensitive).
pub fn is_find_by_ip(segment: &str) -> bool {
    segment.to_ascii_lowercase().starts_with("findbyip(")
}

fn bad(msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, "InvalidInput", msg)
}

const HINT: &str = "Expected findbyip(ip='10.1.2.3',timestamp=2024-05-01T08:44:05Z).";

/// Splits `findbyip(ip='…',timestamp=…)` into its two arguments.
fn parse_args(segment: &str) -> Result<(IpAddr, OffsetDateTime), Response> {
    let inner = segment
        .get("findbyip(".len()..)
        .and_then(|r| r.trim_end().strip_suffix(')'))
        .ok_or_else(|| bad(format!("Malformed function call '{segment}'. {HINT}")))?;
    let mut ip = None;
    let mut ts = None;
    for part in inner.split(',') {
        let (k, v) = part.split_once('=').ok_or_else(|| bad(format!("Malformed argument '{part}'. {HINT}")))?;
        let v = v.trim().trim_matches('\'');
        match k.trim().to_ascii_lowercase().as_str() {
            "ip" => {
                ip = Some(v.parse::<IpAddr>().map_err(|_| {
                    errors::mde(
                        StatusCode::BAD_REQUEST,
                        "InvalidIpAddress",
                        format!("'ip' must be an IP address (no CIDR), got '{v}'."),
                    )
                })?)
            }
            "timestamp" => {
                ts = Some(
                    parse_datetime(v)
                        .ok_or_else(|| bad(format!("'timestamp' must be an ISO 8601 date-time, got '{v}'. {HINT}")))?,
                )
            }
            other => return Err(bad(format!("Unknown argument '{other}'. {HINT}"))),
        }
    }
    match (ip, ts) {
        (Some(ip), Some(ts)) => Ok((ip, ts)),
        (None, _) => Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "MissingRequiredParameter",
            format!("Argument 'ip' is missing. {HINT}"),
        )),
        (_, None) => Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "MissingRequiredParameter",
            format!("Argument 'timestamp' is missing. {HINT}"),
        )),
    }
}

/// (ip, from, until) periods in which the machine reported with an address.
pub fn ip_history(m: &Machine, now: OffsetDateTime) -> Vec<(String, OffsetDateTime, OffsetDateTime)> {
    // An online device reports network events continuously, so it is "seen" up to now even
    // though its full-report `lastSeen` lags; an offline one was last seen at `lastSeen`.
    let last = if m.is_online() { now } else { m.last_seen(now) };
    match &m.previous_ip {
        Some((old, until)) => {
            vec![(old.clone(), m.first_seen, (*until).min(last)), (m.last_ip_address.clone(), *until, last)]
        }
        None => vec![(m.last_ip_address.clone(), m.first_seen, last)],
    }
}

fn seen_with(m: &Machine, ip: IpAddr, from: OffsetDateTime, to: OffsetDateTime, now: OffsetDateTime) -> bool {
    ip_history(m, now)
        .iter()
        .any(|(addr, start, end)| addr.parse::<IpAddr>().ok() == Some(ip) && *start <= to && from <= *end)
}

/// `GET /api/machines/findbyip(ip='…',timestamp=…)`.
pub fn find_by_ip(state: &AppState, c: &Caller, segment: &str) -> Result<Response, Response> {
    require_read(c)?;
    let (ip, ts) = parse_args(segment)?;
    let now = state.clock.now();
    if ts > now || ts < now - Duration::days(LOOKBACK_DAYS) {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "The timestamp must be within the past {LOOKBACK_DAYS} days (now is {}).",
                crate::clock::fmt_utc(now)
            ),
        ));
    }
    let window = Duration::minutes(WINDOW_MINUTES);
    let machines: Vec<Value> = with_tenant(state, c, |t, now| {
        t.mde
            .machines
            .iter()
            .filter(|m| seen_with(m, ip, ts - window, ts + window, now))
            .map(|m| machine_json(m, now))
            .collect()
    })?;
    Ok(errors::json_response(StatusCode::OK, json!({"@odata.context": context(state, "Machines"), "value": machines})))
}

/// The users (indexes into the tenant's users) logged on to machine `idx`.
pub fn logged_on(idx: usize, users: usize) -> impl Iterator<Item = usize> {
    (0..1 + idx % 3).map(move |k| (idx * 7 + k * 13) % users.max(1))
}

/// `GET /api/users/{id}/machines`: machines the user (account name, or a full UPN) logs on to.
/// An unknown user has no machines (an empty list, as MDE answers).
pub async fn user_machines(
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::auth::MdeCaller(c): crate::auth::MdeCaller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, Response> {
    require_read(&c)?;
    let account = id.split('@').next().unwrap_or(&id).to_ascii_lowercase();
    let machines = with_tenant(&state, &c, |t, now| {
        let Some(ui) = t.graph.users.iter().position(|u| u.mail_nickname.eq_ignore_ascii_case(&account)) else {
            return Some(Vec::new());
        };
        let n = t.graph.users.len();
        Some(
            t.mde
                .machines
                .iter()
                .enumerate()
                .filter(|(idx, m)| !m.offboarded && logged_on(*idx, n).any(|x| x == ui))
                .map(|(_, m)| machine_json(m, now))
                .collect::<Vec<_>>(),
        )
    })?
    .unwrap_or_default();
    Ok(errors::json_response(StatusCode::OK, json!({"@odata.context": context(&state, "Machines"), "value": machines})))
}
