//! `GET /api/v1/mdr/actions?type=&tenant_id=&since=&limit=`: recent response actions, read from
//! the audit log (seed 002's "Action audit log"): who, what, target, status, when, one row per
//! operation, newest first. Reads are left out: they respond to nothing.
//!
//! `type` is an MDR type (`isolate`, `block-ip`, `disable-user`, `quarantine-email`) or any
//! catalog action name; `since` is RFC 3339 or a span back from now (`24h`, `7d`, `90m`). The
//! engine applies the tenant scope: a scoped key without `tenant_id` reads each of its tenants.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Query;
use axum::Json;
use axum::extract::State;
use catalog::{Catalog, Product, Risk};
use serde_json::{Value, json};
use std::collections::HashMap;
use store::{AuditFilter, AuditKind, AuditRecord, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

/// Which catalog actions each MDR route runs: the `type` of their rows.
pub const MDR_TYPES: &[(&str, &[&str])] = &[
    ("isolate", &["IsolateDevice"]),
    ("block-ip", &["AddIPIndicator", "AddNSGDenyRule", "BlockIPInNetworkAcl"]),
    ("disable-user", &["DisableUser", "RevokeSessions"]),
    ("quarantine-email", &["SoftDeleteEmails", "HardDeleteEmails", "MoveToJunk", "RemediateEmails"]),
];

/// Parameters that name what an action was aimed at, most telling first.
const TARGET_PARAMS: &[&str] = &[
    "deviceIds",
    "deviceId",
    "userId",
    "indicatorValue",
    "sourceIp",
    "ip",
    "recipientEmailAddresses",
    "networkMessageIds",
    "vmName",
    "instanceId",
    "nsgName",
    "incidentId",
    "alertId",
    "fileName",
];

/// Audit records read per row asked for: an operation has two or three.
const RECORDS_PER_ROW: i64 = 4;

/// `GET /api/v1/mdr/actions`
pub async fn actions(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let limit = parse_limit(query.get("limit"))?;
    let since = parse_since(query.get("since"))?;
    let kind = query.get("type").map(str::to_string);
    if let Some(k) = &kind {
        check_type(k)?;
    }
    let named = query.get("tenant_id").or_else(|| query.get("tenant")).map(str::to_string);
    // A scoped key reads the audit one tenant at a time; an unscoped key reads it whole.
    let tenants: Vec<Option<TenantId>> = match (&named, principal.tenants.is_empty()) {
        (Some(t), _) => vec![Some(TenantId::new(t))],
        (None, true) => vec![None],
        (None, false) => principal.tenants.iter().map(|t| Some(TenantId::new(t))).collect(),
    };
    let single_action = kind.as_deref().filter(|k| !MDR_TYPES.iter().any(|(t, _)| t.eq_ignore_ascii_case(k)));
    let mut records = Vec::new();
    for tenant in tenants {
        let filter = AuditFilter {
            tenant,
            action: single_action.map(String::from),
            operation_id: None,
            since,
            limit: (limit * RECORDS_PER_ROW).min(10_000),
        };
        records.extend(state.engine.audit(&principal, filter).await?);
    }
    let mut rows = fold(records);
    rows.retain(|r| kind.as_deref().is_none_or(|k| r.matches(k)));
    rows.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
    rows.truncate(limit as usize);
    let rows: Vec<Value> = rows.iter().map(Row::json).collect();
    Ok(Json(json!({ "count": rows.len(), "actions": rows })))
}

/// One operation, as its audit records tell it.
struct Row {
    operation: Uuid,
    product: String,
    action: String,
    who: String,
    tenant: Option<String>,
    params: Value,
    status: String,
    requested_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    upstream_request_ids: Vec<String>,
}

impl Row {
    fn mdr_type(&self) -> &'static str {
        MDR_TYPES.iter().find(|(_, actions)| actions.contains(&self.action.as_str())).map_or("other", |(t, _)| t)
    }

    fn matches(&self, kind: &str) -> bool {
        self.mdr_type().eq_ignore_ascii_case(kind) || self.action.eq_ignore_ascii_case(kind)
    }

    fn json(&self) -> Value {
        let fmt = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        json!({
            "operationId": self.operation,
            "type": self.mdr_type(),
            "product": self.product,
            "action": self.action,
            "who": self.who,
            "tenant_id": self.tenant,
            "target": target(&self.params),
            "status": self.status,
            "requestedAt": fmt(self.requested_at),
            "updatedAt": fmt(self.updated_at),
            "durationMs": (self.updated_at - self.requested_at).whole_milliseconds().max(0) as i64,
            "upstreamRequestIds": self.upstream_request_ids,
        })
    }
}

/// Records (oldest first) folded into one row per operation of a response action: the attempt
/// gives who and when, the latest outcome or completion the status.
fn fold(records: Vec<AuditRecord>) -> Vec<Row> {
    let mut rows: HashMap<Uuid, Row> = HashMap::new();
    for r in records {
        let (Some(op), Some(product), Some(action)) = (r.operation_id, &r.product, &r.action) else { continue };
        if !matches!(r.kind, AuditKind::Attempt | AuditKind::Outcome | AuditKind::Completed) || is_read(product, action)
        {
            continue;
        }
        let row = rows.entry(op).or_insert_with(|| Row {
            operation: op,
            product: product.clone(),
            action: action.clone(),
            who: r.principal.clone(),
            tenant: r.tenant.clone(),
            params: r.params.clone(),
            status: engine::status::QUEUED.into(),
            requested_at: r.at,
            updated_at: r.at,
            upstream_request_ids: vec![],
        });
        if r.kind != AuditKind::Attempt
            && let Some(outcome) = &r.outcome
        {
            row.status = outcome.clone();
        }
        row.updated_at = r.at;
        for id in &r.upstream_request_ids {
            if !row.upstream_request_ids.contains(id) {
                row.upstream_request_ids.push(id.clone());
            }
        }
    }
    rows.into_values().collect()
}

fn is_read(product: &str, action: &str) -> bool {
    Product::parse(product)
        .and_then(|p| Catalog::global().resolve(Some(p), action).ok())
        .is_none_or(|spec| spec.risk == Risk::Read)
}

/// What the action was aimed at, from its recorded parameters.
fn target(params: &Value) -> Value {
    let Value::Object(map) = params else { return Value::Null };
    TARGET_PARAMS.iter().find_map(|name| map.get(*name)).map(text).map_or(Value::Null, Value::String)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn check_type(kind: &str) -> Result<(), ApiError> {
    let known = MDR_TYPES.iter().any(|(t, _)| t.eq_ignore_ascii_case(kind))
        || Catalog::global().resolve(None, kind).is_ok()
        || matches!(Catalog::global().resolve(None, kind), Err(catalog::ResolveError::Ambiguous { .. }));
    if known {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "type",
        format!("'{kind}' is neither an MDR type nor an action"),
        "isolate, block-ip, disable-user, quarantine-email, or an action name (GET /v1/catalog)",
    ))
}

fn parse_limit(limit: Option<&str>) -> Result<i64, ApiError> {
    match limit {
        Some(l) => l.parse::<i64>().ok().filter(|l| (1..=1000).contains(l)).ok_or_else(|| {
            ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 1000"), "e.g. limit=50")
        }),
        None => Ok(50),
    }
}

/// RFC 3339, or a span back from now: `90m`, `24h`, `7d`.
pub fn parse_since(since: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(s) = since else { return Ok(None) };
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(Some(t));
    }
    let span = s.len().checked_sub(1).and_then(|i| {
        let n: i64 = s[..i].parse().ok().filter(|n| *n > 0)?;
        match &s[i..] {
            "m" => Some(time::Duration::minutes(n)),
            "h" => Some(time::Duration::hours(n)),
            "d" => Some(time::Duration::days(n)),
            _ => None,
        }
    });
    span.map(|d| Some(OffsetDateTime::now_utc() - d)).ok_or_else(|| {
        ApiError::bad_request(
            "since",
            format!("'{s}' is neither an RFC 3339 time nor a span like 24h"),
            "e.g. since=24h, since=7d or since=2026-11-23T00:00:00Z",
        )
    })
}

/// The params object of a record (for tests).
#[cfg(test)]
fn record(
    op: Uuid,
    kind: AuditKind,
    action: &str,
    outcome: Option<&str>,
    params: serde_json::Map<String, Value>,
) -> AuditRecord {
    AuditRecord {
        seq: 1,
        at: OffsetDateTime::now_utc(),
        operation_id: Some(op),
        kind,
        principal: "analyst".into(),
        tenant: Some("t1".into()),
        product: Some("MDE".into()),
        action: Some(action.into()),
        params: Value::Object(params),
        outcome: outcome.map(String::from),
        upstream_request_ids: vec!["req-1".into()],
        duration_ms: None,
        detail: Value::Null,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_one_row_with_its_latest_status_and_reads_are_left_out() {
        let op = Uuid::new_v4();
        let params = json!({"deviceIds": ["abc"], "comment": "x"}).as_object().cloned().unwrap();
        let records = vec![
            record(op, AuditKind::Attempt, "IsolateDevice", None, params.clone()),
            record(op, AuditKind::Outcome, "IsolateDevice", Some("InProgress"), params.clone()),
            record(op, AuditKind::Completed, "IsolateDevice", Some("Succeeded"), params.clone()),
            record(Uuid::new_v4(), AuditKind::Attempt, "GetDeviceInfo", None, params),
        ];
        let rows = fold(records);
        assert_eq!(rows.len(), 1);
        let row = rows[0].json();
        assert_eq!((row["type"].as_str(), row["status"].as_str()), (Some("isolate"), Some("Succeeded")));
        assert_eq!(row["target"], "abc");
        assert!(rows[0].matches("isolate") && rows[0].matches("isolatedevice") && !rows[0].matches("block-ip"));
    }

    #[test]
    fn since_takes_spans_and_times_and_types_are_checked() {
        assert!(parse_since(Some("24h")).unwrap().is_some());
        assert!(parse_since(Some("2026-01-01T00:00:00Z")).unwrap().is_some());
        assert_eq!(parse_since(Some("soon")).unwrap_err().field.as_deref(), Some("since"));
        assert!(check_type("block-ip").is_ok() && check_type("IsolateDevice").is_ok());
        assert_eq!(check_type("nope").unwrap_err().field.as_deref(), Some("type"));
    }
}
