//! Typed parameters: each kind carries its own validation and every seed alias of its name.

use serde::Serialize;
use std::collections::BTreeMap;

/// The type of a parameter, which decides how a raw value is validated and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// One MDE machine id (40 hex characters).
    DeviceId,
    /// MDE machine ids: a comma-separated string or a JSON array; normalised to an array.
    DeviceIds,
    /// An Entra user: object id (GUID) or UPN.
    UserRef,
    /// A machine-action id (GUID).
    ActionId,
    Sha1,
    Sha256,
    Md5,
    /// An IPv4/IPv6 address, no CIDR.
    Ip,
    Guid,
    /// One of a fixed set of values (matched case-insensitively, normalised to the listed spelling).
    Enum { values: &'static [&'static str] },
    /// Free text up to `max` characters.
    Text { max: usize },
    /// An OData `$filter` expression (free text, bounded).
    ODataFilter,
    Int { min: i64, max: i64 },
    Bool,
}

/// One parameter of an action.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Canonical camelCase name.
    pub name: &'static str,
    /// Other spellings accepted (seed names), matched case-insensitively.
    pub aliases: &'static [&'static str],
    pub kind: ParamKind,
    pub required: bool,
    /// Value used when absent (a string, parsed as the kind would parse it).
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// Validated parameters keyed by canonical name, values normalised (device ids as arrays, enums
/// in canonical spelling, ints as numbers).
pub type Params = BTreeMap<&'static str, serde_json::Value>;

/// A parameter that failed validation; the gateway turns it into a 400 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {message}")]
pub struct ParamError {
    pub field: String,
    pub message: String,
    pub hint: String,
}

impl ParamSpec {
    /// The JSON description used by the catalog listing and OpenAPI.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "aliases": self.aliases,
            "kind": self.kind,
            "required": self.required,
            "default": self.default,
            "doc": self.doc,
        })
    }
}
