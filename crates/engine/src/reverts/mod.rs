//! Time-boxed actions: `revertAfter` on any action with an inverse (isolate for 4 h, block an
//! IP for 24 h, disable a user until Monday).
//!
//! The story:
//! 1. the surface hands the engine `ActionRequest::revert_after` (or a `revertAfter` parameter:
//!    ISO 8601 duration or seconds); an action without an inverse is a 400 naming `revertAfter`;
//! 2. [`plan`] builds the inverse's parameters from the original's (the parameters the inverse
//!    declares) and checks them against the inverse's declaration before anything is accepted;
//! 3. the revert row is committed with the operation and its `attempt` record (one transaction,
//!    `Store::begin_operation_with_revert`), plus a `revert_scheduled` audit record;
//! 4. [`spawn`]'s runner claims due reverts (due by the engine's [`Clock`](crate::clock::Clock),
//!    which follows the sandbox's clock in tests) atomically, checks that the target did not
//!    change in between, and runs the inverse under the idempotency key `revert:{id}`, so a
//!    crash between running it and recording it never runs it twice;
//! 5. every end (`revert_fired`, `revert_skipped`, `revert_failed`, `revert_cancelled`,
//!    `revert_extended`) is an audit record whose `operation_id` is the original operation.

mod runner;

pub use runner::Extension;
pub(crate) use runner::spawn;

use crate::{EngineError, Principal};
use catalog::{ActionSpec, Catalog, ParamError};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use store::{NewAuditEvent, NewOperation, NewRevert};
use uuid::Uuid;

/// The longest time box: a year. Anything longer is a permanent action with extra steps.
pub const MAX_REVERT_AFTER: Duration = Duration::from_secs(366 * 86_400);

/// The body key (and its spellings) that asks for a time box.
const FIELD: &str = "revertAfter";
const SPELLINGS: [&str; 3] = ["revertafter", "revert_after", "revert-after"];

/// Parameters that describe the request rather than the target (never part of "what changed").
const NOT_TARGET: [&str; 3] = ["comment", "reason", "justification"];

/// Takes `revertAfter` out of raw parameters (so the action's own validation never sees it) and
/// parses it. A bad value is a 400 naming the field.
pub fn take_revert_after(params: &mut Map<String, Value>) -> Result<Option<Duration>, EngineError> {
    let key = params.keys().find(|k| SPELLINGS.contains(&k.to_ascii_lowercase().as_str())).cloned();
    let Some(value) = key.and_then(|k| params.remove(&k)) else { return Ok(None) };
    parse_revert_after(&value).map(Some)
}

/// `revertAfter`: a whole number of seconds, or an ISO 8601 duration (`PT4H`, `P1D`, `P1W`).
pub fn parse_revert_after(value: &Value) -> Result<Duration, EngineError> {
    let seconds = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| crate::plan::body::iso8601_seconds(s)),
        _ => None,
    };
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match seconds {
        Some(s) if s >= 1 && (s as u64) <= MAX_REVERT_AFTER.as_secs() => Ok(Duration::from_secs(s as u64)),
        Some(_) => Err(invalid(format!("'{text}' is out of range"), "between 1 second and 366 days")),
        None => Err(invalid(
            format!("'{text}' is not a duration"),
            "an ISO 8601 duration such as PT4H or P1D, or a whole number of seconds",
        )),
    }
}

fn invalid(message: String, hint: &str) -> EngineError {
    EngineError::InvalidParam(ParamError { field: FIELD.into(), message, hint: hint.into() })
}

/// What accepting a time-boxed action schedules.
pub(crate) struct Planned {
    pub(crate) inverse: &'static ActionSpec,
    /// The inverse's parameters, as the original's (redacted) values.
    pub(crate) params: Map<String, Value>,
    /// What the original acted on: `{param: [values]}`.
    pub(crate) target: Value,
    pub(crate) after: Duration,
}

/// The revert of `spec` with these validated parameters, or a 400 naming `revertAfter` when the
/// action has no inverse or the inverse cannot be built from them.
pub(crate) fn plan(
    spec: &'static ActionSpec,
    params: &catalog::Params,
    after: Option<Duration>,
) -> Result<Option<Planned>, EngineError> {
    let Some(after) = after else { return Ok(None) };
    let inverse = inverse_of(spec)?;
    let redacted = crate::redact::params(spec, params);
    let params = inverse_params(inverse, &redacted);
    inverse.validate(&params).map_err(|e| {
        invalid(
            format!("{} cannot undo this {}: {}", inverse.name, spec.name, e),
            "the time box needs an inverse that can be built from the original parameters",
        )
    })?;
    Ok(Some(Planned { inverse, params, target: target_of(spec, inverse, &redacted), after }))
}

/// The declared inverse of an action, or a 400 naming `revertAfter` (with the hint of what can
/// be time-boxed).
pub(crate) fn inverse_of(spec: &ActionSpec) -> Result<&'static ActionSpec, EngineError> {
    let name = spec.inverse.ok_or_else(|| {
        invalid(
            format!("{} has no inverse, so it cannot be time-boxed", spec.name),
            "revertAfter works on actions whose catalog entry names an inverse (GET /v1/catalog: \"inverse\"), e.g. IsolateDevice, DisableUser",
        )
    })?;
    Catalog::global()
        .get(spec.product, name)
        .ok_or_else(|| EngineError::Internal(format!("{}'s inverse {name} is not in the catalog", spec.name)))
}

/// The original's values for the parameters the inverse declares (the comment is the revert's).
pub(crate) fn inverse_params(inverse: &ActionSpec, original: &Value) -> Map<String, Value> {
    inverse
        .params
        .iter()
        .filter(|p| !NOT_TARGET.contains(&p.name))
        .filter_map(|p| original.get(p.name).map(|v| (p.name.to_string(), v.clone())))
        .collect()
}

/// The target: the values of the parameters both the action and its inverse declare (what the
/// pair acts on: devices, a user, an app), each as a set of lower-cased strings.
pub(crate) fn target_of(spec: &ActionSpec, inverse: &ActionSpec, params: &Value) -> Value {
    let shared = spec
        .params
        .iter()
        .filter(|p| !NOT_TARGET.contains(&p.name))
        .filter(|p| inverse.params.iter().any(|q| q.name == p.name));
    let mut target = Map::new();
    for p in shared {
        if let Some(v) = params.get(p.name) {
            target.insert(p.name.into(), Value::from(values(v).into_iter().collect::<Vec<_>>()));
        }
    }
    Value::Object(target)
}

fn values(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(values).collect(),
        Value::String(s) => s.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect(),
        Value::Null => BTreeSet::new(),
        other => BTreeSet::from([other.to_string().to_ascii_lowercase()]),
    }
}

/// Whether an operation with these (redacted) parameters acted on the target: every target
/// parameter shares at least one value.
pub(crate) fn touches(target: &Value, params: &Value) -> bool {
    let Some(target) = target.as_object().filter(|t| !t.is_empty()) else { return false };
    target.iter().all(|(name, wanted)| {
        let wanted = values(wanted);
        params.get(name).is_some_and(|v| !values(v).is_disjoint(&wanted))
    })
}

impl Planned {
    /// The revert row and its `revert_scheduled` audit record, for the operation being accepted.
    pub(crate) fn rows(
        &self,
        engine: &crate::Engine,
        spec: &ActionSpec,
        op: &NewOperation,
        principal: &Principal,
    ) -> (NewRevert, NewAuditEvent) {
        let due_at = engine.clock().now() + time::Duration::seconds(self.after.as_secs() as i64);
        let revert = NewRevert {
            id: Uuid::now_v7(),
            tenant: op.tenant.clone(),
            product: spec.product.key().into(),
            action: spec.name.into(),
            inverse: self.inverse.name.into(),
            params: Value::Object(self.params.clone()),
            target: self.target.clone(),
            principal: principal.name.clone(),
            due_at,
        };
        let record = NewAuditEvent {
            operation_id: Some(op.id),
            kind: store::AuditKind::Other("revert_scheduled".into()),
            principal: principal.name.clone(),
            tenant: Some(op.tenant.clone()),
            product: Some(spec.product.key().into()),
            action: Some(spec.name.into()),
            params: op.params.clone(),
            outcome: Some(store::revert_status::SCHEDULED.into()),
            upstream_request_ids: vec![],
            duration_ms: None,
            detail: json!({
                "revertId": revert.id,
                "inverse": self.inverse.name,
                "revertAfterSeconds": self.after.as_secs(),
                "dueAt": rfc3339(due_at),
                "target": self.target,
            }),
        };
        (revert, record)
    }
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_after_takes_seconds_and_iso_durations() {
        assert_eq!(parse_revert_after(&json!(90)).unwrap(), Duration::from_secs(90));
        assert_eq!(parse_revert_after(&json!("3600")).unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_revert_after(&json!("PT4H")).unwrap(), Duration::from_secs(4 * 3600));
        assert_eq!(parse_revert_after(&json!("P1DT30M")).unwrap(), Duration::from_secs(86_400 + 1800));
        for bad in [json!(0), json!(-5), json!("soon"), json!("P2Y"), json!(true), json!("P400D")] {
            match parse_revert_after(&bad) {
                Err(EngineError::InvalidParam(p)) => assert_eq!(p.field, "revertAfter", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn take_removes_any_spelling() {
        let mut m = json!({"revert_after": "PT1H", "deviceIds": ["a"]}).as_object().unwrap().clone();
        assert_eq!(take_revert_after(&mut m).unwrap(), Some(Duration::from_secs(3600)));
        assert!(!m.contains_key("revert_after"));
        assert_eq!(take_revert_after(&mut m).unwrap(), None);
    }

    #[test]
    fn isolation_is_undone_by_unisolation_of_the_same_devices() {
        let cat = Catalog::global();
        let isolate = cat.get(catalog::Product::Mde, "IsolateDevice").unwrap();
        let raw = json!({"deviceIds": ["m1", "m2"], "comment": "c", "isolationType": "Full"});
        let params = isolate.validate(raw.as_object().unwrap()).unwrap();
        let planned = plan(isolate, &params, Some(Duration::from_secs(60))).unwrap().unwrap();
        assert_eq!(planned.inverse.name, "UnisolateDevice");
        assert_eq!(planned.params.get("deviceIds"), Some(&json!(["m1", "m2"])));
        assert!(!planned.params.contains_key("comment") && !planned.params.contains_key("isolationType"));
        assert_eq!(planned.target, json!({"deviceIds": ["m1", "m2"]}));
        assert!(touches(&planned.target, &json!({"deviceIds": ["M2"]})));
        assert!(!touches(&planned.target, &json!({"deviceIds": ["m3"]})));
    }

    #[test]
    fn an_action_without_inverse_is_refused_naming_the_field() {
        let scan = Catalog::global().get(catalog::Product::Mde, "RunAntivirusScan").unwrap();
        let params = scan.validate(json!({"deviceIds": ["m1"]}).as_object().unwrap()).unwrap();
        match plan(scan, &params, Some(Duration::from_secs(60))) {
            Err(EngineError::InvalidParam(p)) => assert_eq!(p.field, "revertAfter"),
            other => panic!("{:?}", other.map(|p| p.map(|p| p.inverse.name))),
        }
    }
}
