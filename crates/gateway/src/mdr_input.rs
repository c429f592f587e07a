//! Reading seed 002's MDR request bodies: snake_case fields, each checked for its kind, an
//! unknown field refused by name (a typo such as `isolationtype` must not silently become the
//! default), and the tenant a request is about.

use crate::error::ApiError;
use engine::{Engine, Principal};
use serde_json::{Map, Value};

/// One MDR request body, with the fields its route takes.
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    /// The body, refusing any field `allowed` does not list (400 naming it and the allowed ones).
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Result<Fields, ApiError> {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_request(
                unknown,
                format!("'{unknown}' is not a field of this request"),
                format!("the fields are {}", allowed.join(", ")),
            )
            .with_code("UnknownParameter"));
        }
        Ok(Fields { map })
    }

    /// A text field: absent, null or blank is `None`; anything but a string is a 400.
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(ApiError::bad_request(
                name,
                format!("{name} must be a string, not {other}"),
                format!("send \"{name}\": \"...\""),
            )),
        }
    }

    /// A required text field.
    pub fn required(&self, name: &str, example: &str) -> Result<String, ApiError> {
        self.text(name)?.ok_or_else(|| {
            ApiError::bad_request(name, format!("{name} is required"), format!("e.g. \"{name}\": \"{example}\""))
        })
    }

    /// One of `values` (matched case-insensitively, answered in the listed spelling), or the
    /// default when absent.
    pub fn choice(&self, name: &str, values: &[&'static str], default: &'static str) -> Result<&'static str, ApiError> {
        let Some(given) = self.text(name)? else { return Ok(default) };
        values.iter().copied().find(|v| v.eq_ignore_ascii_case(&given)).ok_or_else(|| {
            ApiError::bad_request(
                name,
                format!("'{given}' is not a valid {name}"),
                format!("one of {}", values.join(", ")),
            )
        })
    }

    /// A whole number in `min..=max`; numbers sent as strings ("24") are taken too.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let bad = |got: &str| {
            ApiError::bad_request(
                name,
                format!("'{got}' is not a whole number between {min} and {max}"),
                format!("e.g. \"{name}\": {min}"),
            )
        };
        let n = match self.map.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(&n.to_string()))?,
            Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad(s))?,
            Some(other) => return Err(bad(&other.to_string())),
        };
        if !(min..=max).contains(&n) {
            return Err(bad(&n.to_string()));
        }
        Ok(Some(n))
    }

    /// Whether the body has the field at all (to refuse one that does not apply).
    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }
}

/// The tenant a request is about: the one named, else the key's only tenant. A key that may act
/// on several tenants must name one (400 listing them); whether the key may use the tenant it
/// names is the engine's check, as on every surface.
pub fn tenant(engine: &Engine, principal: &Principal, named: Option<String>) -> Result<String, ApiError> {
    if let Some(t) = named {
        return Ok(t);
    }
    match engine.visible_tenants(principal).as_slice() {
        [only] => Ok(only.to_string()),
        [] => Err(ApiError::bad_request(
            "tenant_id",
            "tenant_id is required: this key may act on no configured tenant",
            "configure a tenant, or use a key scoped to one",
        )),
        many => {
            let mut err = ApiError::bad_request(
                "tenant_id",
                format!("tenant_id is required: this key may act on {} tenants", many.len()),
                "name one of them; a missing tenant_id is allowed only for a key with exactly one tenant",
            );
            err.extra = serde_json::json!({ "tenants": many });
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value, allowed: &[&str]) -> Result<Fields, ApiError> {
        Fields::new(v.as_object().unwrap().clone(), allowed)
    }

    #[test]
    fn unknown_fields_and_wrong_kinds_are_400s_naming_the_field() {
        let err =
            fields(json!({"hostname": "a", "isolationtype": "Full"}), &["hostname", "isolation_type"]).err().unwrap();
        assert_eq!(err.field.as_deref(), Some("isolationtype"));
        let f =
            fields(json!({"hostname": 7, "n": "25", "m": 0, "t": "selective"}), &["hostname", "n", "m", "t"]).unwrap();
        assert_eq!(f.text("hostname").unwrap_err().field.as_deref(), Some("hostname"));
        assert_eq!(f.int("n", 1, 100).unwrap(), Some(25));
        assert_eq!(f.int("m", 1, 100).unwrap_err().field.as_deref(), Some("m"));
        assert_eq!(f.choice("t", &["Full", "Selective"], "Full").unwrap(), "Selective");
        assert_eq!(f.choice("absent", &["Full"], "Full").unwrap(), "Full");
        assert_eq!(f.required("absent", "x").unwrap_err().field.as_deref(), Some("absent"));
    }
}
