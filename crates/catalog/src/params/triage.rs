//! Alert and incident triage: a determination is only meaningful with its classification.
//!
//! Microsoft lists the determinations per classification (upstream-apis.md §2.8 for MDE alerts,
//! §3/§4.5 for incidents and Graph alerts) and refuses other combinations; the tables live next to
//! the actions that use them (`mde/alerts.rs`), this module only applies them.

use super::{ParamError, ParamSpec, Params, Problem, echo, normalize, problem};
use serde_json::Value;

/// Every determination of the table, case-insensitively, answered in the table's spelling.
pub(super) fn value(s: &str, pairs: &[(&str, &'static [&'static str])]) -> Result<Value, Problem> {
    let wanted = normalize(s);
    let mut all: Vec<&'static str> = Vec::new();
    for (_, values) in pairs {
        for v in *values {
            if !all.contains(v) {
                all.push(v);
            }
        }
    }
    all.iter().find(|v| normalize(v) == wanted).map(|v| Value::String((*v).to_string())).ok_or_else(|| {
        problem(
            format!("'{}' is not one of: {}", echo(s), all.join(", ")),
            "pick the determination that goes with the classification (case does not matter)",
        )
    })
}

/// When both are given, the determination must be one its classification allows.
pub(super) fn check_pair(
    p: &ParamSpec,
    classification_param: &str,
    pairs: &[(&str, &'static [&'static str])],
    params: &Params,
) -> Result<(), ParamError> {
    let (Some(determination), Some(classification)) =
        (params.get(p.name).and_then(Value::as_str), params.get(classification_param).and_then(Value::as_str))
    else {
        return Ok(());
    };
    let Some((_, allowed)) = pairs.iter().find(|(c, _)| normalize(c) == normalize(classification)) else {
        return Err(ParamError {
            field: p.name.to_string(),
            message: format!("cannot be set with classification '{classification}'"),
            hint: format!(
                "a determination goes with one of: {}",
                pairs.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
            ),
        });
    };
    if allowed.contains(&determination) {
        return Ok(());
    }
    Err(ParamError {
        field: p.name.to_string(),
        message: format!("'{determination}' does not go with classification '{classification}'"),
        hint: format!("with {classification}, use one of: {}", allowed.join(", ")),
    })
}
