//! What a body template reads, and the whole-table check every [`BodyValue`] must pass.
//!
//! The engine fills bodies (`engine/src/plan/body.rs`) trusting the catalog: a body source that
//! names an undeclared parameter would silently vanish from every request, a literal that does not
//! parse would fail each call at run time, and a mapping table that misses one of its enum's
//! values would turn a valid request into an error. [`check_source`] finds all three up front.

use crate::BodyValue;
#[cfg(test)]
use crate::{ActionSpec, ParamKind};

impl BodyValue {
    /// The parameters this source reads, in order.
    pub fn reads(&self) -> Vec<&'static str> {
        match *self {
            BodyValue::Param(p) | BodyValue::Mapped { param: p, .. } | BodyValue::NowPlus { param: p, .. } => vec![p],
            BodyValue::Literal(_) => vec![],
            BodyValue::Format(template) => placeholders(template),
            BodyValue::Objects(fields) => fields.iter().flat_map(|(_, v)| v.reads()).collect(),
        }
    }
}

/// The `{name}` placeholders of a template, in order.
pub fn placeholders(template: &'static str) -> Vec<&'static str> {
    template.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

/// Whether one body source of `spec` is sound: every parameter it reads is declared, every literal
/// parses as JSON, and a table over an enum maps each of the enum's values.
#[cfg(test)]
pub fn check_source(spec: &ActionSpec, source: &BodyValue) -> Result<(), String> {
    for name in source.reads() {
        if !spec.params.iter().any(|p| p.name == name) {
            return Err(format!("{}: body reads undeclared param {name}", spec.name));
        }
    }
    match *source {
        BodyValue::Literal(l) => parses(spec, l),
        BodyValue::Mapped { param, table } => {
            table.iter().try_for_each(|(_, to)| parses(spec, to))?;
            covers_enum(spec, param, table)
        }
        BodyValue::Objects(fields) => fields.iter().try_for_each(|(_, v)| check_source(spec, v)),
        BodyValue::Param(_) | BodyValue::Format(_) | BodyValue::NowPlus { .. } => Ok(()),
    }
}

#[cfg(test)]
fn parses(spec: &ActionSpec, literal: &str) -> Result<(), String> {
    serde_json::from_str::<serde_json::Value>(literal)
        .map(drop)
        .map_err(|e| format!("{}: literal {literal} is not JSON: {e}", spec.name))
}

#[cfg(test)]
fn covers_enum(spec: &ActionSpec, param: &str, table: &[(&str, &str)]) -> Result<(), String> {
    let Some(ParamKind::Enum { values }) = spec.params.iter().find(|p| p.name == param).map(|p| p.kind) else {
        return Ok(());
    };
    match values.iter().find(|v| !table.iter().any(|(from, _)| from.eq_ignore_ascii_case(v))) {
        Some(missing) => Err(format!("{}: the table for {param} does not map {missing}", spec.name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Completion, ParamSpec, Plan, Product, Risk};

    const LEVEL: ParamSpec = ParamSpec {
        name: "level",
        aliases: &[],
        kind: ParamKind::Enum { values: &["Low", "High"] },
        required: false,
        default: None,
        doc: "",
    };

    fn spec(params: &'static [ParamSpec]) -> ActionSpec {
        ActionSpec {
            product: Product::Mde,
            name: "Probe",
            summary: "",
            aliases: &[],
            params,
            risk: Risk::Read,
            inverse: None,
            permission: "",
            completion: Completion::Immediate,
            plan: Plan::Unsupported { reason: "", nearest: None },
            sensitive_results: &[],
        }
    }

    #[test]
    fn every_form_names_what_it_reads() {
        let objects = BodyValue::Objects(&[("a", BodyValue::Param("x")), ("b", BodyValue::Format("{y}/{z}"))]);
        assert_eq!(objects.reads(), vec!["x", "y", "z"]);
        assert_eq!(BodyValue::NowPlus { param: "hours", unit_seconds: 3600 }.reads(), vec!["hours"]);
        assert!(BodyValue::Literal("1").reads().is_empty());
    }

    #[test]
    fn undeclared_reads_bad_literals_and_partial_tables_are_refused() {
        let s = spec(&[LEVEL]);
        assert!(check_source(&s, &BodyValue::Format("x/{nope}")).unwrap_err().contains("nope"));
        assert!(check_source(&s, &BodyValue::Objects(&[("a", BodyValue::Literal("{bad"))])).is_err());
        let partial = BodyValue::Mapped { param: "level", table: &[("low", "1")] };
        assert!(check_source(&s, &partial).unwrap_err().contains("High"));
        let full = BodyValue::Mapped { param: "level", table: &[("low", "1"), ("HIGH", "\"h\"")] };
        assert_eq!(check_source(&s, &full), Ok(()));
    }
}
