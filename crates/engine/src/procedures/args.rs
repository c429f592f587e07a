//! Reading validated parameters into a procedure's typed struct, only by declared names.
//!
//! Before, procedures read `text(params, "deviceId")`, which answered `""` for a typo and so
//! turned a misspelt key into a silent empty value upstream. [`Args`] is the one door from
//! [`Params`] to a typed struct: it reads only names the struct lists in `READS` (anything else is
//! an internal error, and the whole-table tests parse every row so none slips through), a
//! required read of an absent value is a 400 naming the field, and each accessor says the type
//! it expects.

use super::Procedure;
use crate::EngineError;
use catalog::{ParamError, Params, ProcedureId};
use serde_json::Value;

/// One parameter a procedure reads, and whether it must be present (declared `required`, or with
/// a default, by every row naming the procedure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub name: &'static str,
    pub required: bool,
}

/// A parameter the procedure cannot do without.
pub const fn required(name: &'static str) -> Read {
    Read { name, required: true }
}

/// A parameter the procedure uses when given.
pub const fn optional(name: &'static str) -> Read {
    Read { name, required: false }
}

/// The validated parameters, as one procedure may read them.
pub struct Args<'a> {
    params: &'a Params,
    reads: &'static [Read],
    procedure: ProcedureId,
}

impl<'a> Args<'a> {
    /// The parameters as procedure `P` may read them (its `READS`).
    pub fn of<P: Procedure>(params: &'a Params) -> Args<'a> {
        Args { params, reads: P::READS, procedure: P::ID }
    }

    /// A required text value (numbers and booleans as their JSON text).
    pub fn text(&self, name: &'static str) -> Result<String, EngineError> {
        self.need(name).map(as_text)
    }

    pub fn opt_text(&self, name: &'static str) -> Result<Option<String>, EngineError> {
        Ok(self.get(name, false)?.map(as_text))
    }

    pub fn opt_i64(&self, name: &'static str) -> Result<Option<i64>, EngineError> {
        self.get(name, false)?.map(|v| v.as_i64().ok_or_else(|| self.mistyped(name, "an integer"))).transpose()
    }

    /// A required integer (declared with a default, usually).
    pub fn i64(&self, name: &'static str) -> Result<i64, EngineError> {
        self.need(name)?.as_i64().ok_or_else(|| self.mistyped(name, "an integer"))
    }

    pub fn bool(&self, name: &'static str) -> Result<bool, EngineError> {
        self.need(name)?.as_bool().ok_or_else(|| self.mistyped(name, "a boolean"))
    }

    /// A required list of strings (device ids, resource ids: validation made them an array).
    pub fn strings(&self, name: &'static str) -> Result<Vec<String>, EngineError> {
        let items = self.need(name)?.as_array().ok_or_else(|| self.mistyped(name, "a list"))?;
        items
            .iter()
            .map(|v| v.as_str().map(String::from).ok_or_else(|| self.mistyped(name, "a list of strings")))
            .collect()
    }

    /// A required list of JSON values (indicator objects).
    pub fn values(&self, name: &'static str) -> Result<Vec<Value>, EngineError> {
        self.need(name)?.as_array().cloned().ok_or_else(|| self.mistyped(name, "a list"))
    }

    /// Any value as given, when given (a field passed on as it is).
    pub fn opt_value(&self, name: &'static str) -> Result<Option<Value>, EngineError> {
        Ok(self.get(name, false)?.cloned())
    }

    fn need(&self, name: &'static str) -> Result<&'a Value, EngineError> {
        self.get(name, true)?.ok_or_else(|| {
            EngineError::InvalidParam(ParamError {
                field: name.into(),
                message: "is required".into(),
                hint: String::new(),
            })
        })
    }

    fn get(&self, name: &'static str, need: bool) -> Result<Option<&'a Value>, EngineError> {
        let read = self.reads.iter().find(|r| r.name == name).ok_or_else(|| {
            EngineError::Internal(format!("procedure {} reads `{name}`, which its READS does not list", self.procedure))
        })?;
        if need && !read.required {
            return Err(EngineError::Internal(format!(
                "procedure {} needs `{name}` but lists it as optional",
                self.procedure
            )));
        }
        Ok(self.params.get(name).filter(|v| !v.is_null()))
    }

    fn mistyped(&self, name: &str, expected: &str) -> EngineError {
        EngineError::Internal(format!("procedure {}: `{name}` passed validation but is not {expected}", self.procedure))
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Carried;
    use crate::procedures::{Ctx, answer};
    use serde_json::json;

    struct Probe;
    impl TryFrom<&Params> for Probe {
        type Error = EngineError;
        fn try_from(_: &Params) -> Result<Self, EngineError> {
            Ok(Probe)
        }
    }
    impl Procedure for Probe {
        const ID: ProcedureId = ProcedureId("test.probe");
        const READS: &'static [Read] = &[required("deviceId"), optional("comment")];
        async fn apply(self, _: &Ctx<'_>) -> Result<Carried, EngineError> {
            Ok(answer(Value::Null))
        }
    }

    #[test]
    fn only_listed_names_are_read_and_required_ones_must_be_there() {
        let mut p = Params::new();
        p.insert("deviceId", json!("abc"));
        p.insert("typo", json!("x"));
        let args = Args::of::<Probe>(&p);
        assert_eq!(args.text("deviceId").unwrap(), "abc");
        assert_eq!(args.opt_text("comment").unwrap(), None);
        assert!(matches!(args.opt_text("typo"), Err(EngineError::Internal(m)) if m.contains("READS does not list")));
        assert!(matches!(args.text("comment"), Err(EngineError::Internal(m)) if m.contains("optional")));
        let empty = Params::new();
        let EngineError::InvalidParam(e) = Args::of::<Probe>(&empty).text("deviceId").unwrap_err() else { panic!() };
        assert_eq!(e.field, "deviceId");
    }
}
