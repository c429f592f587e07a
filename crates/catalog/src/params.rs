//! Typed parameters: each kind carries its own validation and every seed alias of its name.

use serde::Serialize;
use std::collections::BTreeMap;

/// The type of a parameter, which decides how a raw value is validated and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// One MDE machine: its id (40 hex characters), DNS name or IP address. Names and IPs are
    /// resolved to the machine id by the engine before any call (an ambiguous match is a 400).
    DeviceId,
    /// MDE machines (ids, DNS names or IPs): a comma-separated string or a JSON array; normalised
    /// to an array.
    DeviceIds,
    /// One Intune managed device, named by any identity of it: its Intune managed-device id or
    /// its Entra device id (GUIDs), the MDE machine id of the same device (40 hex), or its DNS
    /// name. The engine resolves it to the managed-device id before any call
    /// (`engine/src/procedures/intune/devices.rs`); no match, or several, is a 400.
    ManagedDevice,
    /// An Entra user: object id (GUID) or UPN.
    UserRef,
    /// One SMTP address (`alice@contoso.com`), lower-cased: a sender or a recipient, inside the
    /// tenant or not.
    EmailAddress,
    /// SMTP addresses: a comma-separated string or a JSON array, at most `max`, each checked as
    /// [`ParamKind::EmailAddress`]; order kept (it pairs with a parallel id list), duplicates kept.
    EmailAddresses {
        max: usize,
    },
    /// A machine-action id (GUID).
    ActionId,
    Sha1,
    Sha256,
    Md5,
    /// An IPv4/IPv6 address, no CIDR.
    Ip,
    Guid,
    /// One of a fixed set of values (matched case-insensitively, normalised to the listed spelling).
    Enum {
        values: &'static [&'static str],
    },
    /// Free text up to `max` characters.
    Text {
        max: usize,
    },
    /// An OData `$filter` expression (free text, bounded).
    ODataFilter,
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    /// An opaque upstream id (alert, incident, indicator, rule, CVE, software): letters, digits
    /// and `-_.:`, at most 128 characters.
    ResourceId,
    /// Upstream ids for a bulk form: a comma-separated string or a JSON array, at most `max`.
    ResourceIds {
        max: usize,
    },
    /// Ids that pair item by item with another list (a message id per recipient): like
    /// [`ParamKind::ResourceIds`], but order and repeats are kept, since one message reaches
    /// several recipients.
    PairedIds {
        max: usize,
    },
    /// Short strings (tags, RBAC group names): a comma-separated string or a JSON array.
    TextList {
        max_items: usize,
        max_len: usize,
    },
    /// A date and time in RFC 3339 (`2026-12-31T23:59:59Z`), normalised to UTC.
    DateTime,
    /// An absolute `http`/`https` URL.
    Url,
    /// An indicator of compromise, checked against the indicator type in the parameter
    /// `type_param`; when that is absent the type is inferred from the value (see
    /// [`indicators::infer_type`]) and filled in.
    IndicatorValue {
        type_param: &'static str,
    },
    /// Indicator objects for a batch import, each checked as `AddIndicator` checks its parameters.
    Indicators {
        max: usize,
    },
    /// An alert/incident determination: one of the values listed per classification in `pairs`;
    /// when the classification (parameter `classification_param`) is given too, it must be one of
    /// that classification's values (Microsoft's rule).
    Determination {
        classification_param: &'static str,
        pairs: &'static [(&'static str, &'static [&'static str])],
    },
    /// A JSON object passed through as given (e.g. a Graph PATCH body), at most 50 keys.
    JsonObject,
    /// Rows of JSON objects (e.g. Sentinel watchlist items): an array of at most `max` objects,
    /// each checked as [`ParamKind::JsonObject`]; one object is taken as a one-row array.
    JsonObjects {
        max: usize,
    },
    /// A secret the caller hands over (a new password, a passcode, an unlock code, key material):
    /// text up to `max` characters, sent upstream and nowhere else. Declaring the kind is what
    /// keeps it out of operations, audit records and logs (`engine/src/redact.rs` replaces it by
    /// `[redacted]`), and no error message ever echoes it. A test holds every secret-looking
    /// parameter name to this kind.
    Secret {
        max: usize,
    },
    /// An Azure resource group or resource name (ARM's rules: 1-90 letters, digits, `-_.()`,
    /// not ending in `.`; `params/arm.rs`).
    ArmName,
    /// A full Azure resource id (`/subscriptions/{guid}/resourceGroups/{rg}/providers/...`).
    ArmResourceId,
    /// An IPv4/IPv6 address or a CIDR range with its host bits clear (an NSG address prefix).
    IpPrefix,
    /// Address prefixes (a storage firewall's allow list): a comma-separated string or a JSON
    /// array of at most `max`, each checked as [`ParamKind::IpPrefix`].
    IpPrefixes {
        max: usize,
    },
    /// NSG port ranges (`*`, `443`, `8000-8080`): a comma-separated string or a JSON array, at
    /// most `max`, normalised to an array of strings.
    PortRanges {
        max: usize,
    },
    /// ISO 3166-1 alpha-2 country codes (a WAF `GeoMatch`), upper-cased, at most `max`.
    CountryCodes {
        max: usize,
    },
    /// Senders for the tenant allow/block list: each an email address or a domain
    /// (`contoso.com`), lower-cased, at most `max`; a comma-separated string or an array.
    SenderEntries {
        max: usize,
    },
}

impl ParamKind {
    /// Whether values of this kind must never be stored, audited or logged.
    pub fn is_secret(self) -> bool {
        matches!(self, ParamKind::Secret { .. })
    }
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
/// in canonical spelling, ints as numbers). A map (it derefs to one) that also knows which of its
/// values are declared secrets, so that `Debug` (and with it every `tracing` field and panic
/// message) prints `[redacted]` for them; the engine still reads the value to send it upstream.
#[derive(Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Params {
    values: BTreeMap<&'static str, serde_json::Value>,
    #[serde(skip)]
    secrets: std::collections::BTreeSet<&'static str>,
}

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    /// Insert a declared secret: readable like any value, never printed by `Debug`.
    pub fn insert_secret(&mut self, name: &'static str, value: serde_json::Value) {
        self.secrets.insert(name);
        self.values.insert(name, value);
    }

    /// Whether `name` holds a declared secret.
    pub fn is_secret(&self, name: &str) -> bool {
        self.secrets.contains(name)
    }
}

impl std::ops::Deref for Params {
    type Target = BTreeMap<&'static str, serde_json::Value>;
    fn deref(&self) -> &Self::Target {
        &self.values
    }
}

impl std::ops::DerefMut for Params {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.values
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.values {
            if self.secrets.contains(k) {
                map.entry(k, &format_args!("[redacted]"));
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

impl FromIterator<(&'static str, serde_json::Value)> for Params {
    fn from_iter<I: IntoIterator<Item = (&'static str, serde_json::Value)>>(iter: I) -> Params {
        Params { values: iter.into_iter().collect(), secrets: Default::default() }
    }
}

impl IntoIterator for Params {
    type Item = (&'static str, serde_json::Value);
    type IntoIter = std::collections::btree_map::IntoIter<&'static str, serde_json::Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.into_iter()
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = (&'a &'static str, &'a serde_json::Value);
    type IntoIter = std::collections::btree_map::Iter<'a, &'static str, serde_json::Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

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

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

use crate::ActionSpec;
use serde_json::{Map, Value};
use std::net::IpAddr;

mod arm;
pub mod indicators;
mod triage;
pub mod unknown;

/// Most devices one request may name; keeps a fan-out within MDE's 100 calls/minute budget reach.
pub const MAX_DEVICE_IDS: usize = 500;
/// Longest `$filter` we forward; longer ones are almost always a bug in the caller.
pub const MAX_FILTER_CHARS: usize = 2000;
/// How much of a bad value an error message echoes back (never the whole of a huge input).
const ECHO_CHARS: usize = 60;

/// Check a raw parameter object against an action's declared parameters.
///
/// Keys match the canonical name or any alias, ignoring case and `_`/`-`/space/`$` differences;
/// keys the action does not declare are ignored (seed requests carry `tenantId`, `service`, ...
/// alongside). `null` and blank strings count as absent, so defaults apply to them.
pub fn validate(spec: &ActionSpec, raw: &Map<String, Value>) -> Result<Params, ParamError> {
    validate_fields(spec.params, raw)
}

/// [`validate`] over a bare list of declarations (also used for the items of a batch), then the
/// checks that span two parameters (indicator value by type, determination by classification).
pub fn validate_fields(specs: &[ParamSpec], raw: &Map<String, Value>) -> Result<Params, ParamError> {
    let mut params = Params::new();
    for p in specs {
        let value = match p.find(raw)? {
            Some(v) => Some(p.check(v)?),
            None => p.default_value()?,
        };
        match value {
            Some(v) if p.kind.is_secret() => params.insert_secret(p.name, v),
            Some(v) => {
                params.insert(p.name, v);
            }
            None if p.required => return Err(p.missing()),
            None => {}
        }
    }
    for p in specs {
        match p.kind {
            ParamKind::IndicatorValue { type_param } => indicators::check_pair(p, type_param, specs, &mut params)?,
            ParamKind::Determination { classification_param, pairs } => {
                triage::check_pair(p, classification_param, pairs, &params)?
            }
            _ => {}
        }
    }
    Ok(params)
}

/// True when `s` is an MDE machine id (40 hex), as opposed to a DNS name or IP that the engine
/// must resolve first.
pub fn is_machine_id(s: &str) -> bool {
    s.len() == 40 && is_hex(s)
}

/// Whether `s` is a GUID (8-4-4-4-12 hex digits, braces tolerated).
pub fn is_guid(s: &str) -> bool {
    guid(s).is_ok()
}

/// Case- and separator-insensitive form of a name: `"Isolate Device"`, `"isolate_device"` and
/// `"IsolateDevice"` all become `"isolatedevice"`. Used for action names and parameter keys.
pub fn normalize(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl ParamSpec {
    /// Every spelling this parameter accepts, canonical first.
    pub fn spellings(&self) -> impl Iterator<Item = &'static str> + use<> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    /// The raw value given for this parameter, if any. Two spellings with different values are
    /// refused rather than guessed between: picking the wrong device to isolate is worse than a 400.
    fn find<'a>(&self, raw: &'a Map<String, Value>) -> Result<Option<&'a Value>, ParamError> {
        let wanted: Vec<String> = self.spellings().map(normalize).collect();
        let mut found: Option<(&'a str, &'a Value)> = None;
        for (key, value) in raw {
            if is_absent(value) || !wanted.contains(&normalize(key)) {
                continue;
            }
            match found {
                Some((first, v)) if v != value => return Err(self.conflict(first, key)),
                Some(_) => {}
                None => found = Some((key, value)),
            }
        }
        Ok(found.map(|(_, v)| v))
    }

    /// Validate and normalise one present value.
    fn check(&self, value: &Value) -> Result<Value, ParamError> {
        check_kind(self.kind, value).map_err(|p| self.error(p))
    }

    /// The declared default, parsed as the kind would parse a caller's value.
    fn default_value(&self) -> Result<Option<Value>, ParamError> {
        let Some(default) = self.default else {
            return Ok(None);
        };
        let value = check_kind(self.kind, &Value::String(default.to_string())).map_err(|p| ParamError {
            field: self.name.to_string(),
            message: format!("the catalog default '{default}' is invalid: {}", p.message),
            hint: "this is a Riposte bug; pass the parameter explicitly".to_string(),
        })?;
        Ok(Some(value))
    }

    fn missing(&self) -> ParamError {
        let others: Vec<&str> = self.aliases.iter().copied().filter(|a| !a.eq_ignore_ascii_case(self.name)).collect();
        let also =
            if others.is_empty() { String::new() } else { format!(" (also accepted as: {})", others.join(", ")) };
        ParamError {
            field: self.name.to_string(),
            message: "is required".to_string(),
            hint: format!("e.g. \"{}\": {}{also}", self.name, example(self.kind)),
        }
    }

    fn conflict(&self, first: &str, second: &str) -> ParamError {
        ParamError {
            field: self.name.to_string(),
            message: format!("given twice with different values, as '{first}' and '{second}'"),
            hint: format!("send it once, as \"{}\"", self.name),
        }
    }

    fn error(&self, p: Problem) -> ParamError {
        ParamError { field: self.name.to_string(), message: p.message, hint: p.hint }
    }
}

fn is_absent(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// What is wrong with a value and how to fix it; the field name is added by the caller.
struct Problem {
    message: String,
    hint: String,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem { message: message.into(), hint: hint.into() }
}

/// A sample value for a kind, as JSON text, for hints.
fn example(kind: ParamKind) -> String {
    match kind {
        ParamKind::DeviceId => "\"1e5bc9d7e413ddd7902c2932e418702b84d0cc07\"".into(),
        ParamKind::DeviceIds => {
            "\"1e5bc9d7e413ddd7902c2932e418702b84d0cc07,7bf0...\" or [\"1e5b...\", \"7bf0...\"]".into()
        }
        ParamKind::ManagedDevice => {
            "\"6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31\" (Intune or Entra device id), a 40-hex MDE machine id or \"ws-0001\"".into()
        }
        ParamKind::UserRef => "\"alice@contoso.com\" or \"6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31\"".into(),
        ParamKind::EmailAddress => "\"alice@contoso.com\"".into(),
        ParamKind::EmailAddresses { .. } => "[\"alice@contoso.com\", \"bob@contoso.com\"]".into(),
        ParamKind::SenderEntries { .. } => "[\"evil.example\", \"phisher@bad.example\"]".into(),
        ParamKind::ActionId | ParamKind::Guid => "\"6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31\"".into(),
        ParamKind::Sha1 => "\"87662bc3d60e4200ceaf7aae249d1c343f4b83c9\"".into(),
        ParamKind::Sha256 => "\"<64 hex characters>\"".into(),
        ParamKind::Md5 => "\"<32 hex characters>\"".into(),
        ParamKind::Ip => "\"203.0.113.7\"".into(),
        ParamKind::Enum { values } => format!("\"{}\"", values.first().copied().unwrap_or("")),
        ParamKind::Text { .. } => "\"free text\"".into(),
        ParamKind::ODataFilter => "\"healthStatus eq 'Active'\"".into(),
        ParamKind::Int { min, .. } => min.to_string(),
        ParamKind::Bool => "true".into(),
        ParamKind::ResourceId => "\"da637472900382838869_1364969609\"".into(),
        ParamKind::ResourceIds { .. } => "[\"994\", \"995\"] or \"994,995\"".into(),
        ParamKind::PairedIds { .. } => "[\"id-1\", \"id-1\", \"id-2\"] (one per paired item)".into(),
        ParamKind::TextList { .. } => "[\"tag1\", \"tag2\"] or \"tag1,tag2\"".into(),
        ParamKind::DateTime => "\"2026-12-31T23:59:59Z\"".into(),
        ParamKind::Url => "\"https://contoso.com/help\"".into(),
        ParamKind::IndicatorValue { .. } => "\"203.0.113.7\", \"evil.example.com\" or a file hash".into(),
        ParamKind::Indicators { .. } => {
            "[{\"indicatorValue\": \"evil.example.com\", \"indicatorType\": \"DomainName\", \"action\": \"Block\"}]"
                .into()
        }
        ParamKind::Determination { pairs, .. } => {
            format!("\"{}\"", pairs.first().and_then(|(_, v)| v.first()).copied().unwrap_or(""))
        }
        ParamKind::JsonObject => "{\"isEnabled\": false}".into(),
        ParamKind::JsonObjects { .. } => "[{\"Indicator\": \"203.0.113.7\"}]".into(),
        ParamKind::Secret { .. } => "\"<the secret, sent upstream only>\"".into(),
        ParamKind::ArmName => "\"rg-prod-servers\"".into(),
        ParamKind::ArmResourceId => {
            "\"/subscriptions/{guid}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-isolation\""
                .into()
        }
        ParamKind::IpPrefix => "\"203.0.113.7\" or \"198.51.100.0/24\"".into(),
        ParamKind::IpPrefixes { .. } => "[\"203.0.113.7\", \"198.51.100.0/24\"]".into(),
        ParamKind::PortRanges { .. } => "\"*\", \"443\" or [\"22\", \"8000-8080\"]".into(),
        ParamKind::CountryCodes { .. } => "[\"KP\", \"IR\"]".into(),
    }
}

fn check_kind(kind: ParamKind, value: &Value) -> Result<Value, Problem> {
    match kind {
        ParamKind::DeviceId => device_id_value(value),
        ParamKind::DeviceIds => device_ids(value),
        ParamKind::ManagedDevice => managed_device(value),
        ParamKind::UserRef => text_of(value, "a user object id or UPN").and_then(user_ref),
        ParamKind::EmailAddress => text_of(value, "an email address").and_then(email_address),
        ParamKind::EmailAddresses { max } => email_addresses(value, max),
        ParamKind::SenderEntries { max } => address_list(value, max, sender_entry),
        ParamKind::ActionId | ParamKind::Guid => text_of(value, "a GUID").and_then(|s| guid(s).map(Value::String)),
        ParamKind::Sha1 => hash(value, "SHA-1", 40),
        ParamKind::Sha256 => hash(value, "SHA-256", 64),
        ParamKind::Md5 => hash(value, "MD5", 32),
        ParamKind::Ip => text_of(value, "an IP address").and_then(ip),
        ParamKind::Enum { values } => text_of(value, "one of the listed values").and_then(|s| enum_value(s, values)),
        ParamKind::Text { max } => free_text(value, max),
        ParamKind::ODataFilter => text_of(value, "an OData $filter expression").and_then(odata_filter),
        ParamKind::Int { min, max } => int(value, min, max),
        ParamKind::Bool => boolean(value),
        ParamKind::ResourceId => text_of(value, "an id").and_then(resource_id),
        ParamKind::ResourceIds { max } => resource_ids(value, max),
        ParamKind::PairedIds { max } => paired_ids(value, max),
        ParamKind::TextList { max_items, max_len } => text_list(value, max_items, max_len),
        ParamKind::DateTime => text_of(value, "an RFC 3339 date and time").and_then(date_time),
        ParamKind::Url => text_of(value, "a URL").and_then(indicators::http_url),
        ParamKind::IndicatorValue { .. } => text_of(value, "an indicator value").and_then(indicators::raw_value),
        ParamKind::Indicators { max } => indicators::batch(value, max),
        ParamKind::Determination { pairs, .. } => {
            text_of(value, "a determination").and_then(|s| triage::value(s, pairs))
        }
        ParamKind::JsonObject => json_object(value),
        ParamKind::JsonObjects { max } => json_objects(value, max),
        ParamKind::Secret { max } => secret(value, max),
        ParamKind::ArmName => text_of(value, "an Azure resource name").and_then(arm::name),
        ParamKind::ArmResourceId => text_of(value, "an Azure resource id").and_then(arm::resource_id),
        ParamKind::IpPrefix => text_of(value, "an IP address or CIDR range").and_then(arm::ip_prefix),
        ParamKind::IpPrefixes { max } => ip_prefixes(value, max),
        ParamKind::PortRanges { max } => arm::port_ranges(value, max),
        ParamKind::CountryCodes { max } => arm::country_codes(value, max),
    }
}

/// A secret as given; the problems name its type or length, never its characters.
fn secret(value: &Value, max: usize) -> Result<Value, Problem> {
    let Value::String(s) = value else {
        return Err(problem(format!("must be a string, got {}", json_type(value)), "send the secret as a JSON string"));
    };
    let got = s.chars().count();
    if got > max {
        return Err(problem(
            format!("is {got} characters long; at most {max} allowed"),
            format!("send at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(problem("contains control characters", "remove newlines, tabs and other control characters"));
    }
    Ok(Value::String(s.clone()))
}

/// Opaque ids go into URL paths; refusing anything but a safe alphabet keeps them ids.
fn resource_id(s: &str) -> Result<Value, Problem> {
    let ok = !s.is_empty()
        && s.chars().count() <= 128
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        return Ok(Value::String(s.to_string()));
    }
    Err(problem(
        format!("'{}' is not an id (letters, digits and - _ . : only, at most 128 characters)", echo(s)),
        "send the id exactly as the list action returned it, e.g. \"994\" or \"da637472900382838869_1364969609\"",
    ))
}

/// A comma-separated string or an array of strings/numbers, split, trimmed, de-duplicated.
fn string_items(value: &Value, what: &str) -> Result<Vec<String>, Problem> {
    let raw: Vec<String> = match value {
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(problem(
                    format!("element {i} must be a string, got {}", json_type(other)),
                    format!("send an array of {what} strings"),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(problem(
                format!("must be a comma-separated string or an array, got {}", json_type(other)),
                format!("send {what} as [\"a\", \"b\"] or \"a,b\""),
            ));
        }
    };
    let mut out: Vec<String> = Vec::new();
    for s in raw {
        let s = s.trim().to_string();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

fn resource_ids(value: &Value, max: usize) -> Result<Value, Problem> {
    let items = string_items(value, "id")?;
    if items.is_empty() {
        return Err(problem("names no id", "send at least one id"));
    }
    if items.len() > max {
        return Err(problem(
            format!("names {} ids; at most {max} per request", items.len()),
            format!("split the request into batches of at most {max}"),
        ));
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, s) in items.iter().enumerate() {
        let id = resource_id(s).map_err(|p| problem(format!("element {i}: {}", p.message), p.hint))?;
        ids.push(id);
    }
    Ok(Value::Array(ids))
}

/// Ids kept in order, repeats included: each pairs with the same position of another list.
fn paired_ids(value: &Value, max: usize) -> Result<Value, Problem> {
    let items: Vec<String> = match value {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(problem(
                    format!("element {i} must be a string, got {}", json_type(other)),
                    "send [\"a\", \"b\"]",
                )),
            })
            .collect::<Result<_, _>>()?,
        Value::String(s) => s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
        Value::Number(n) => vec![n.to_string()],
        other => {
            return Err(problem(
                format!("must be a comma-separated string or an array, got {}", json_type(other)),
                "send ids as [\"a\", \"b\"] or \"a,b\"",
            ));
        }
    };
    if items.is_empty() {
        return Err(problem("names no id", "send at least one id"));
    }
    if items.len() > max {
        return Err(problem(format!("names {} ids; at most {max} per request", items.len()), "split the request"));
    }
    let ids = items
        .iter()
        .enumerate()
        .map(|(i, s)| resource_id(s).map_err(|p| problem(format!("element {i}: {}", p.message), p.hint)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(ids))
}

fn text_list(value: &Value, max_items: usize, max_len: usize) -> Result<Value, Problem> {
    let items = string_items(value, "text")?;
    if items.len() > max_items {
        return Err(problem(
            format!("has {} items; at most {max_items} allowed", items.len()),
            format!("send at most {max_items} items"),
        ));
    }
    if let Some((i, long)) = items.iter().enumerate().find(|(_, s)| s.chars().count() > max_len) {
        return Err(problem(
            format!("element {i} is {} characters long; at most {max_len} allowed", long.chars().count()),
            format!("shorten it to {max_len} characters"),
        ));
    }
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

/// RFC 3339 with an offset, answered in UTC with a `Z` (what MDE and Graph echo back).
fn date_time(s: &str) -> Result<Value, Problem> {
    use time::format_description::well_known::Rfc3339;
    let parsed = time::OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        problem(
            format!("'{}' is not an RFC 3339 date and time", echo(s)),
            "send UTC like \"2026-12-31T23:59:59Z\" (date, 'T', time and a zone)",
        )
    })?;
    let utc = parsed.to_offset(time::UtcOffset::UTC);
    utc.format(&Rfc3339)
        .map(Value::String)
        .map_err(|_| problem("cannot be represented", "send a date between years 0 and 9999"))
}

/// Most keys a pass-through object may carry; Graph entities have far fewer writable ones.
const MAX_OBJECT_KEYS: usize = 50;

/// Address prefixes, each an [`arm::ip_prefix`], at most `max` (the error names the bad one).
fn ip_prefixes(value: &Value, max: usize) -> Result<Value, Problem> {
    let items = string_items(value, "addresses")?;
    if items.is_empty() || items.len() > max {
        return Err(problem(format!("has {} addresses; 1 to {max} allowed", items.len()), "send fewer addresses"));
    }
    items.iter().map(|i| arm::ip_prefix(i)).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

/// An array of objects (a JSON string of one is parsed), at most `max`, each a [`json_object`].
fn json_objects(value: &Value, max: usize) -> Result<Value, Problem> {
    let parsed;
    let value = match value {
        Value::String(s) if s.trim_start().starts_with('[') => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|_| problem("is a string that is not a JSON array", "send an array of objects"))?;
            &parsed
        }
        other => other,
    };
    let rows = match value {
        Value::Array(items) => items.iter().map(json_object).collect::<Result<Vec<_>, _>>()?,
        one => vec![json_object(one)?],
    };
    if rows.is_empty() || rows.len() > max {
        return Err(problem(
            format!("has {} rows; 1 to {max} allowed", rows.len()),
            "send between 1 and the maximum rows",
        ));
    }
    Ok(Value::Array(rows))
}

fn json_object(value: &Value) -> Result<Value, Problem> {
    let parsed;
    let obj = match value {
        Value::Object(m) => m,
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|_| {
                problem("is a string that is not a JSON object", "send a JSON object, e.g. {\"isEnabled\": false}")
            })?;
            match &parsed {
                Value::Object(m) => m,
                other => {
                    return Err(problem(
                        format!("must be a JSON object, got {}", json_type(other)),
                        "send a JSON object",
                    ));
                }
            }
        }
        other => return Err(problem(format!("must be a JSON object, got {}", json_type(other)), "send a JSON object")),
    };
    if obj.is_empty() {
        return Err(problem("is an empty object", "name at least one property to change"));
    }
    if obj.len() > MAX_OBJECT_KEYS {
        return Err(problem(
            format!("has {} keys; at most {MAX_OBJECT_KEYS}", obj.len()),
            "send only the properties to change",
        ));
    }
    Ok(Value::Object(obj.clone()))
}

/// The trimmed string inside a JSON string; other JSON types are refused, naming what came.
fn text_of<'a>(value: &'a Value, wanted: &str) -> Result<&'a str, Problem> {
    match value {
        Value::String(s) => Ok(s.trim()),
        other => Err(problem(
            format!("must be a string, got {}", json_type(other)),
            format!("send {wanted} as a JSON string"),
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A bad value quoted for a message, cut short so huge inputs do not bloat the answer.
fn echo(s: &str) -> String {
    let mut cut: String = s.chars().take(ECHO_CHARS).collect();
    if s.chars().nth(ECHO_CHARS).is_some() {
        cut.push('…');
    }
    cut
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A single device id; a one-element array is tolerated because list-style callers send one.
fn device_id_value(value: &Value) -> Result<Value, Problem> {
    let s = match value {
        Value::Array(items) if items.len() == 1 => text_of(&items[0], "a device id")?,
        Value::Array(_) => {
            return Err(problem(
                "takes one device id, got a list",
                "send a single 40-hex machine id; use the deviceIds form of a bulk action for several",
            ));
        }
        other => text_of(other, "a 40-hex machine id")?,
    };
    device_id(s).map(Value::String)
}

/// A machine as the caller named it: an MDE machine id (40 hex, normalised to lowercase), an IP
/// address (normalised), or a DNS name (lowercased). Names and IPs are resolved by the engine.
/// GUIDs are refused with a hint: they are Entra/Intune device ids, which MDE does not take.
fn device_id(s: &str) -> Result<String, Problem> {
    let s = s.trim();
    if is_machine_id(s) {
        return Ok(s.to_ascii_lowercase());
    }
    if guid(s).is_ok() {
        return Err(problem(
            format!("'{}' is an Entra/Intune device id (GUID), not an MDE machine", echo(s)),
            "that looks like an Entra/Intune device id (GUID); MDE wants its own 40-hex machine id (see GetAllDevices, field `id`), or the device's DNS name or IP",
        ));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    if indicators::is_dns_name(s) && !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(s.to_ascii_lowercase());
    }
    Err(problem(
        format!(
            "'{}' is not an MDE machine id ({} characters, expected 40 hex), a DNS name or an IP address",
            echo(s),
            s.chars().count()
        ),
        "an MDE machine id is 40 hex characters, e.g. 1e5bc9d7e413ddd7902c2932e418702b84d0cc07 (see GetAllDevices, field `id`); a DNS name (ws-01.contoso.com) or an IP (10.1.2.3) is resolved to it",
    ))
}

/// A device as Intune actions take it (see [`ParamKind::ManagedDevice`]): a GUID (Intune or Entra
/// device id), an MDE machine id or a DNS name, lowercased. An IP is refused: Intune cannot look a
/// device up by address, and an address is not an identity.
fn managed_device(value: &Value) -> Result<Value, Problem> {
    let s = match value {
        Value::Array(items) if items.len() == 1 => text_of(&items[0], "a device")?,
        Value::Array(_) => {
            return Err(problem("takes one device, got a list", "send one device per request"));
        }
        other => text_of(other, "a device id or DNS name")?,
    };
    if let Ok(id) = guid(s) {
        return Ok(Value::String(id));
    }
    if is_machine_id(s) {
        return Ok(Value::String(s.to_ascii_lowercase()));
    }
    if s.parse::<IpAddr>().is_ok() {
        return Err(problem(
            format!("'{}' is an IP address; Intune finds devices by id or name, not by address", echo(s)),
            "find the machine with MDE's FindDevicesByIp, then send its machine id or DNS name",
        ));
    }
    if indicators::is_dns_name(s) && !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(Value::String(s.to_ascii_lowercase()));
    }
    Err(problem(
        format!(
            "'{}' is neither an Intune or Entra device id (GUID), an MDE machine id (40 hex) nor a DNS name",
            echo(s)
        ),
        format!("e.g. {}", example(ParamKind::ManagedDevice)),
    ))
}

/// Device ids as a comma-separated string or a JSON array; trimmed, empty entries skipped,
/// de-duplicated in order, between 1 and [`MAX_DEVICE_IDS`].
fn device_ids(value: &Value) -> Result<Value, Problem> {
    let raw: Vec<&str> = match value {
        Value::String(s) => s.split(',').collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                other => Err(problem(
                    format!("element {i} must be a string, got {}", json_type(other)),
                    "send an array of 40-hex machine id strings",
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(problem(
                format!("must be a comma-separated string or an array of strings, got {}", json_type(other)),
                format!("e.g. {}", example(ParamKind::DeviceIds)),
            ));
        }
    };
    let mut ids: Vec<String> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        if s.trim().is_empty() {
            continue;
        }
        let id = device_id(s).map_err(|p| problem(format!("element {i}: {}", p.message), p.hint))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_DEVICE_IDS {
            return Err(problem(
                format!("names more than {MAX_DEVICE_IDS} devices"),
                format!("split the request into batches of at most {MAX_DEVICE_IDS}, or use a bulk job"),
            ));
        }
    }
    if ids.is_empty() {
        return Err(problem("names no device", format!("e.g. {}", example(ParamKind::DeviceIds))));
    }
    Ok(Value::Array(ids.into_iter().map(Value::String).collect()))
}

/// A GUID in 8-4-4-4-12 form (braces tolerated), normalised to lowercase without braces.
fn guid(s: &str) -> Result<String, Problem> {
    let inner = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(s);
    let groups: Vec<&str> = inner.split('-').collect();
    let shape_ok = groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && is_hex(g));
    if shape_ok {
        return Ok(inner.to_ascii_lowercase());
    }
    Err(problem(
        format!("'{}' is not a GUID", echo(s)),
        "a GUID looks like 6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31 (8-4-4-4-12 hex digits)",
    ))
}

/// An Entra user: object id (GUID) or user principal name (`user@domain.tld`).
fn user_ref(s: &str) -> Result<Value, Problem> {
    if let Ok(id) = guid(s) {
        return Ok(Value::String(id));
    }
    if is_upn(s) {
        return Ok(Value::String(s.to_string()));
    }
    Err(problem(
        format!("'{}' is neither a user object id (GUID) nor a UPN", echo(s)),
        "give the user's UPN, e.g. alice@contoso.com, or their object id, e.g. 6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31",
    ))
}

/// An SMTP address, as Graph's mail APIs take it: the UPN shape (one `@`, a dotted domain),
/// lower-cased so that filters and pairings compare equal.
fn email_address(s: &str) -> Result<Value, Problem> {
    if is_upn(s) {
        return Ok(Value::String(s.to_ascii_lowercase()));
    }
    Err(problem(format!("'{}' is not an email address", echo(s)), "give an address such as alice@contoso.com"))
}

/// A list of SMTP addresses, split like other lists but neither de-duplicated nor reordered:
/// element `i` pairs with element `i` of a parallel list (a message id and its recipient).
fn email_addresses(value: &Value, max: usize) -> Result<Value, Problem> {
    address_list(value, max, email_address)
}

/// A sender as the tenant allow/block list takes it: an email address or a bare domain.
fn sender_entry(s: &str) -> Result<Value, Problem> {
    if s.contains('@') {
        return email_address(s);
    }
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.len() >= 2 && s.len() <= 253 && labels.iter().all(label_ok) {
        return Ok(Value::String(s.to_ascii_lowercase()));
    }
    Err(problem(
        format!("'{}' is neither a domain nor an email address", echo(s)),
        "give a domain such as evil.example or an address such as phisher@evil.example",
    ))
}

/// A list of addresses, each checked by `item`, split like other lists but neither
/// de-duplicated nor reordered.
fn address_list(value: &Value, max: usize, item: fn(&str) -> Result<Value, Problem>) -> Result<Value, Problem> {
    let items: Vec<String> = match value {
        Value::String(s) => s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                    problem(format!("element {i} must be a string, got {}", json_type(v)), "send [\"a@b.com\"]")
                })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(problem(
                format!("must be a comma-separated string or an array, got {}", json_type(other)),
                "send addresses as [\"alice@contoso.com\"] or \"alice@contoso.com,bob@contoso.com\"",
            ));
        }
    };
    if items.is_empty() {
        return Err(problem("names no address", "send at least one address"));
    }
    if items.len() > max {
        return Err(problem(format!("names {} addresses; at most {max}", items.len()), "split the request"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, s) in items.iter().enumerate() {
        out.push(item(s).map_err(|p| problem(format!("element {i}: {}", p.message), p.hint))?);
    }
    Ok(Value::Array(out))
}

/// Entra UPNs: one `@`, a non-empty local part, a dotted domain; no spaces or control
/// characters; at most 113 characters (64 + `@` + 48, Entra's limit).
fn is_upn(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let clean =
        |t: &str| !t.is_empty() && !t.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '/');
    s.chars().count() <= 113
        && clean(local)
        && clean(domain)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

/// A hex digest of the given algorithm and length; normalised to lowercase.
fn hash(value: &Value, algo: &str, want: usize) -> Result<Value, Problem> {
    let s = text_of(value, &format!("a {algo} hex digest"))?;
    let got = s.chars().count();
    if got != want {
        let guess = match got {
            32 => " (that length is an MD5)",
            40 => " (that length is a SHA-1)",
            64 => " (that length is a SHA-256)",
            _ => "",
        };
        return Err(problem(
            format!("must be {want} hex characters ({algo}), got {got}{guess}"),
            format!("send the file's {algo} digest as {want} hex characters"),
        ));
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(problem(
            format!("has a non-hex character '{}' at position {i}", c.escape_default()),
            format!("a {algo} digest uses only 0-9 and a-f"),
        ));
    }
    Ok(Value::String(s.to_ascii_lowercase()))
}

/// One IPv4 or IPv6 address; ranges are refused because the actions using this kind act on one
/// address (Microsoft's indicator API rejects CIDR with `InvalidIpAddress`).
fn ip(s: &str) -> Result<Value, Problem> {
    if let Some((addr, bits)) = s.split_once('/') {
        return Err(problem(
            format!("'{}' is a CIDR range; a single address is expected", echo(s)),
            format!("drop the '/{}' suffix and send one address, e.g. \"{}\"", echo(bits), echo(addr.trim())),
        ));
    }
    s.parse::<IpAddr>().map(|a| Value::String(a.to_string())).map_err(|_| {
        problem(
            format!("'{}' is not an IPv4 or IPv6 address", echo(s)),
            "send one address, e.g. \"203.0.113.7\" or \"2001:db8::1\"",
        )
    })
}

/// Case-insensitive match, answered in the declared spelling (MDE body values are case-sensitive).
fn enum_value(s: &str, values: &[&'static str]) -> Result<Value, Problem> {
    let wanted = normalize(s);
    values.iter().find(|v| normalize(v) == wanted).map(|v| Value::String((*v).to_string())).ok_or_else(|| {
        problem(
            format!("'{}' is not one of: {}", echo(s), values.join(", ")),
            format!("use one of {} (case does not matter)", values.join(" | ")),
        )
    })
}

/// Bounded free text; numbers and booleans are taken as their text since forms send them so.
fn free_text(value: &Value, max: usize) -> Result<Value, Problem> {
    let s = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(problem(format!("must be text, got {}", json_type(other)), "send a JSON string"));
        }
    };
    let got = s.chars().count();
    if got > max {
        return Err(problem(
            format!("is {got} characters long; at most {max} allowed"),
            format!("shorten it to {max} characters"),
        ));
    }
    Ok(Value::String(s))
}

fn odata_filter(s: &str) -> Result<Value, Problem> {
    let got = s.chars().count();
    if got > MAX_FILTER_CHARS {
        return Err(problem(
            format!("is {got} characters long; at most {MAX_FILTER_CHARS} allowed"),
            "narrow the filter, or fetch everything and filter locally",
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(problem(
            "contains control characters",
            "remove tabs, newlines and other control characters from the filter",
        ));
    }
    Ok(Value::String(s.to_string()))
}

/// A whole number in range, given as a JSON number or a numeric string.
fn int(value: &Value, min: i64, max: i64) -> Result<Value, Problem> {
    let range_hint = format!("send a whole number from {min} to {max}");
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| whole_f64(n.as_f64())),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        other => {
            return Err(problem(format!("must be a number, got {}", json_type(other)), range_hint));
        }
    };
    let Some(n) = n else {
        return Err(problem(format!("'{}' is not a whole number", echo(&scalar(value))), range_hint));
    };
    if n < min || n > max {
        return Err(problem(format!("{n} is out of range {min}..={max}"), range_hint));
    }
    Ok(Value::from(n))
}

/// `5.0` is accepted as 5; fractions and values beyond i64 are not.
fn whole_f64(f: Option<f64>) -> Option<i64> {
    let f = f?;
    let in_range = f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64;
    in_range.then_some(f as i64)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn boolean(value: &Value) -> Result<Value, Problem> {
    let hint = "send true or false (a JSON boolean or the string \"true\"/\"false\")";
    match value {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        Value::String(s) => Err(problem(format!("'{}' is not a boolean", echo(s)), hint)),
        other => Err(problem(format!("must be a boolean, got {}", json_type(other)), hint)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Product};
    use serde_json::json;

    const DEV_A: &str = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";
    const DEV_B: &str = "7bf0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8";
    const GUID: &str = "6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31";

    fn spec(product: Product, name: &str) -> &'static ActionSpec {
        Catalog::global().get(product, name).expect("declared action")
    }

    fn raw(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn mde(name: &str, v: Value) -> Result<Params, ParamError> {
        validate(spec(Product::Mde, name), &raw(v))
    }

    fn entra(name: &str, v: Value) -> Result<Params, ParamError> {
        validate(spec(Product::EntraId, name), &raw(v))
    }

    fn check(kind: ParamKind, v: Value) -> Result<Value, String> {
        check_kind(kind, &v).map_err(|p| format!("{} | {}", p.message, p.hint))
    }

    // --- Presence, aliases, defaults ------------------------------------------------------

    #[test]
    fn missing_device_ids_is_required_and_names_every_alias() {
        let err = mde("IsolateDevice", json!({"tenantId": "t", "action": "IsolateDevice"})).unwrap_err();
        assert_eq!(err.field, "deviceIds");
        assert_eq!(err.message, "is required");
        assert!(err.hint.starts_with("e.g. \"deviceIds\""), "{}", err.hint);
        for alias in ["deviceId", "machineId", "machineIds"] {
            assert!(err.hint.contains(alias), "hint should name {alias}: {}", err.hint);
        }
    }

    #[test]
    fn null_and_blank_count_as_missing() {
        for v in [json!(null), json!(""), json!("   ")] {
            let err = mde("IsolateDevice", json!({ "deviceIds": v })).unwrap_err();
            assert_eq!(err.message, "is required");
        }
    }

    #[test]
    fn defaults_apply_and_enums_take_canonical_spelling() {
        let p = mde("IsolateDevice", json!({ "machineId": DEV_A })).unwrap();
        assert_eq!(p["deviceIds"], json!([DEV_A]));
        assert_eq!(p["comment"], json!("Isolated by Riposte"));
        assert_eq!(p["isolationType"], json!("Full"));

        let p =
            mde("IsolateDevice", json!({ "DeviceIds": DEV_A, "IsolationType": "selective", "Comment": "c" })).unwrap();
        assert_eq!(p["isolationType"], json!("Selective"));
        assert_eq!(p["comment"], json!("c"));

        let p = mde("RunAntivirusScan", json!({ "deviceIds": DEV_A })).unwrap();
        assert_eq!(p["scanType"], json!("Quick"));
    }

    #[test]
    fn key_matching_ignores_case_and_separators() {
        for key in ["deviceIds", "DEVICEIDS", "device_ids", "Device-Ids", "machine_id"] {
            let p = mde("UnisolateDevice", json!({ key: DEV_A })).unwrap();
            assert_eq!(p["deviceIds"], json!([DEV_A]), "key {key}");
        }
        let p = mde("CancelAction", json!({ "machineActionId": GUID, "reason": "why" })).unwrap();
        assert_eq!(p["actionId"], json!(GUID));
        assert_eq!(p["comment"], json!("why"));
        let p = mde("GetAllDevices", json!({ "$filter": "healthStatus eq 'Active'", "$top": "5" })).unwrap();
        assert_eq!(p["filter"], json!("healthStatus eq 'Active'"));
        assert_eq!(p["top"], json!(5));
    }

    #[test]
    fn two_spellings_with_different_values_are_refused() {
        let err = mde("IsolateDevice", json!({ "deviceIds": DEV_A, "machineId": DEV_B })).unwrap_err();
        assert_eq!(err.field, "deviceIds");
        assert!(err.message.contains("given twice"), "{}", err.message);
        // The same value twice is harmless.
        assert!(mde("IsolateDevice", json!({ "deviceIds": DEV_A, "machineId": DEV_A })).is_ok());
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let p =
            mde("GetDeviceInfo", json!({ "deviceId": DEV_A, "service": "MDE", "tenantId": "x", "junk": {"a": [1]} }))
                .unwrap();
        assert_eq!(p.len(), 1);
    }

    // --- Device ids -------------------------------------------------------------------------

    #[test]
    fn malformed_device_id_is_named_with_a_hint() {
        let err = mde("IsolateDevice", json!({ "deviceIds": "not a machine!" })).unwrap_err();
        assert_eq!(err.field, "deviceIds");
        assert!(err.message.contains("element 0") && err.message.contains("not a machine!"), "{}", err.message);
        // Short hex is neither an id nor a plausible name: refused rather than looked up.
        let err = mde("IsolateDevice", json!({ "deviceIds": "abc123" })).unwrap_err();
        assert!(err.message.contains("expected 40 hex"), "{}", err.message);
        assert!(err.hint.contains("40 hex"), "{}", err.hint);
        let err = mde("GetDeviceInfo", json!({ "deviceId": GUID })).unwrap_err();
        assert!(err.hint.contains("GUID"), "a GUID gets the Entra/Intune hint: {}", err.hint);
    }

    #[test]
    fn comma_string_and_array_agree() {
        let upper = DEV_B.to_ascii_uppercase();
        let from_string =
            mde("IsolateDevice", json!({ "deviceIds": format!(" {DEV_A} ,{upper},, {DEV_A},") })).unwrap();
        let from_array = mde("IsolateDevice", json!({ "deviceIds": [DEV_A, upper, "", DEV_A] })).unwrap();
        assert_eq!(from_string["deviceIds"], json!([DEV_A, DEV_B]));
        assert_eq!(from_string["deviceIds"], from_array["deviceIds"]);
    }

    #[test]
    fn device_ids_errors_name_the_bad_element() {
        let err = check(ParamKind::DeviceIds, json!([DEV_A, 7])).unwrap_err();
        assert!(err.contains("element 1") && err.contains("number"), "{err}");
        let err = check(ParamKind::DeviceIds, json!(format!("{DEV_A},{DEV_B},z z"))).unwrap_err();
        assert!(err.contains("element 2") && err.contains("'z z'"), "{err}");
        let err = check(ParamKind::DeviceIds, json!([" ", ""])).unwrap_err();
        assert!(err.contains("names no device"), "{err}");
        let err = check(ParamKind::DeviceIds, json!({"id": DEV_A})).unwrap_err();
        assert!(err.contains("object"), "{err}");
    }

    #[test]
    fn device_ids_are_capped() {
        let many: Vec<String> = (0..=MAX_DEVICE_IDS).map(|i| format!("{i:040x}")).collect();
        let err = check(ParamKind::DeviceIds, json!(many)).unwrap_err();
        assert!(err.contains("more than 500"), "{err}");
        let ok: Vec<String> = many[..MAX_DEVICE_IDS].to_vec();
        assert_eq!(check(ParamKind::DeviceIds, json!(ok)).unwrap().as_array().map(Vec::len), Some(500));
        // Duplicates do not count against the cap.
        let dup = vec![DEV_A; 2000];
        assert_eq!(check(ParamKind::DeviceIds, json!(dup)).unwrap(), json!([DEV_A]));
    }

    #[test]
    fn single_device_id_tolerates_a_one_element_list() {
        assert_eq!(check(ParamKind::DeviceId, json!([DEV_A])).unwrap(), json!(DEV_A));
        assert!(check(ParamKind::DeviceId, json!([DEV_A, DEV_B])).unwrap_err().contains("one device id"));
        assert_eq!(check(ParamKind::DeviceId, json!(DEV_A.to_ascii_uppercase())).unwrap(), json!(DEV_A));
    }

    #[test]
    fn managed_device_takes_any_identity_of_one_device() {
        let g = "6F1C52A4-3C0E-4B8A-9A1E-2D7F0B5C9E31";
        assert_eq!(check(ParamKind::ManagedDevice, json!(g)).unwrap(), json!(g.to_ascii_lowercase()));
        assert_eq!(check(ParamKind::ManagedDevice, json!(DEV_A.to_ascii_uppercase())).unwrap(), json!(DEV_A));
        assert_eq!(
            check(ParamKind::ManagedDevice, json!(["WS-0001.contoso.local"])).unwrap(),
            json!("ws-0001.contoso.local")
        );
        let err = check(ParamKind::ManagedDevice, json!("10.1.2.3")).unwrap_err();
        assert!(err.contains("IP address") && err.contains("FindDevicesByIp"), "{err}");
        assert!(check(ParamKind::ManagedDevice, json!([g, DEV_A])).unwrap_err().contains("one device"));
        assert!(check(ParamKind::ManagedDevice, json!("not a device!")).unwrap_err().contains("neither"));
    }

    // --- Users, GUIDs ---------------------------------------------------------------------

    #[test]
    fn user_ref_takes_guid_or_upn() {
        let p = entra("DisableUser", json!({ "userPrincipalName": "Alice@Contoso.com" })).unwrap();
        assert_eq!(p["userId"], json!("Alice@Contoso.com"));
        let p = entra("GetUserById", json!({ "upn": format!("{{{}}}", GUID.to_ascii_uppercase()) })).unwrap();
        assert_eq!(p["userId"], json!(GUID));
        assert!(check(ParamKind::UserRef, json!("alice_fabrikam.com#EXT#@contoso.onmicrosoft.com")).is_ok());
        for bad in ["alice", "alice@", "@contoso.com", "alice@contoso", "a b@c.com", "a@b@c.com", "alice@contoso..com"]
        {
            let err = check(ParamKind::UserRef, json!(bad)).unwrap_err();
            assert!(err.contains("UPN"), "{bad}: {err}");
        }
    }

    #[test]
    fn sender_entries_are_domains_or_addresses() {
        let kind = ParamKind::SenderEntries { max: 3 };
        assert_eq!(
            check(kind, json!("Evil.Example, a@Bad.example")).unwrap(),
            json!(["evil.example", "a@bad.example"])
        );
        assert!(check(kind, json!(["not a domain"])).unwrap_err().contains("neither a domain"));
        assert!(check(kind, json!(["localhost"])).is_err());
        assert!(check(kind, json!(["-x.example"])).is_err());
        assert!(check(ParamKind::SenderEntries { max: 1 }, json!(["a.example", "b.example"])).is_err());
    }

    #[test]
    fn email_addresses_are_checked_and_keep_their_order() {
        assert_eq!(check(ParamKind::EmailAddress, json!("Alice@Contoso.com")).unwrap(), json!("alice@contoso.com"));
        assert!(check(ParamKind::EmailAddress, json!("alice")).unwrap_err().contains("email address"));
        let list = check(ParamKind::EmailAddresses { max: 3 }, json!("b@x.com, a@x.com,b@x.com")).unwrap();
        assert_eq!(list, json!(["b@x.com", "a@x.com", "b@x.com"]));
        let err = check(ParamKind::EmailAddresses { max: 3 }, json!(["a@x.com", "nope"])).unwrap_err();
        assert!(err.contains("element 1"), "{err}");
        assert!(check(ParamKind::EmailAddresses { max: 1 }, json!(["a@x.com", "b@x.com"])).is_err());
        let ids = check(ParamKind::PairedIds { max: 3 }, json!(["m1", "m1", "m2"])).unwrap();
        assert_eq!(ids, json!(["m1", "m1", "m2"]), "repeats kept: one message, several recipients");
        assert!(check(ParamKind::PairedIds { max: 3 }, json!("m1,bad id")).unwrap_err().contains("element 1"));
    }

    #[test]
    fn guids_are_strict() {
        assert!(check(ParamKind::ActionId, json!(GUID)).is_ok());
        for bad in [
            "",
            "6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e3",
            "6f1c52a43c0e4b8a9a1e2d7f0b5c9e31",
            "6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e3g",
        ] {
            assert!(check(ParamKind::Guid, json!(bad)).unwrap_err().contains("GUID"), "{bad}");
        }
    }

    // --- Hashes, IPs, enums -----------------------------------------------------------------

    #[test]
    fn wrong_hash_length_says_received_and_expected() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let err = mde("StopAndQuarantineFile", json!({ "deviceIds": DEV_A, "fileHash": md5 })).unwrap_err();
        assert_eq!(err.field, "sha1");
        assert!(
            err.message.contains("40") && err.message.contains("got 32") && err.message.contains("MD5"),
            "{}",
            err.message
        );
        let p =
            mde("StopAndQuarantineFile", json!({ "deviceIds": DEV_A, "Sha1": DEV_A.to_ascii_uppercase() })).unwrap();
        assert_eq!(p["sha1"], json!(DEV_A));
        assert!(check(ParamKind::Sha256, json!("ab".repeat(32))).is_ok());
        assert!(check(ParamKind::Md5, json!(md5)).is_ok());
        assert!(
            check(ParamKind::Md5, json!("g".repeat(32))).unwrap_err().contains("non-hex character 'g' at position 0")
        );
        assert!(check(ParamKind::Sha1, json!(12345)).unwrap_err().contains("number"));
    }

    #[test]
    fn cidr_is_refused_for_an_ip() {
        let err = check(ParamKind::Ip, json!("10.0.0.0/24")).unwrap_err();
        assert!(err.contains("CIDR") && err.contains("'/24'"), "{err}");
        assert_eq!(check(ParamKind::Ip, json!(" 203.0.113.7 ")).unwrap(), json!("203.0.113.7"));
        assert_eq!(check(ParamKind::Ip, json!("2001:DB8:0::1")).unwrap(), json!("2001:db8::1"));
        assert!(check(ParamKind::Ip, json!("999.1.1.1")).unwrap_err().contains("not an IPv4"));
    }

    #[test]
    fn unknown_isolation_type_lists_the_allowed_values() {
        let err = mde("IsolateDevice", json!({ "deviceIds": DEV_A, "isolationType": "Partial" })).unwrap_err();
        assert_eq!(err.field, "isolationType");
        assert!(err.message.contains("Full, Selective, UnManagedDevice"), "{}", err.message);
        let p = mde("IsolateDevice", json!({ "deviceIds": DEV_A, "isolationType": "unmanageddevice" })).unwrap();
        assert_eq!(p["isolationType"], json!("UnManagedDevice"));
    }

    // --- Text, filters, numbers, booleans -----------------------------------------------------

    #[test]
    fn text_is_bounded_and_takes_scalars() {
        let kind = ParamKind::Text { max: 5 };
        assert_eq!(check(kind, json!(42)).unwrap(), json!("42"));
        assert_eq!(check(kind, json!(true)).unwrap(), json!("true"));
        assert_eq!(check(kind, json!("ééééé")).unwrap(), json!("ééééé"), "counts characters, not bytes");
        assert!(check(kind, json!("abcdef")).unwrap_err().contains("6 characters long; at most 5"));
        assert!(check(kind, json!(["a"])).unwrap_err().contains("array"));
    }

    #[test]
    fn odata_filter_is_bounded_and_clean() {
        assert!(check(ParamKind::ODataFilter, json!("a\u{0}b")).unwrap_err().contains("control"));
        assert!(check(ParamKind::ODataFilter, json!("x".repeat(2001))).unwrap_err().contains("at most 2000"));
        assert!(check(ParamKind::ODataFilter, json!("x".repeat(2000))).is_ok());
    }

    #[test]
    fn ints_accept_numbers_and_numeric_strings() {
        let kind = ParamKind::Int { min: 1, max: 10 };
        assert_eq!(check(kind, json!(3)).unwrap(), json!(3));
        assert_eq!(check(kind, json!(" 4 ")).unwrap(), json!(4));
        assert_eq!(check(kind, json!(5.0)).unwrap(), json!(5));
        assert!(check(kind, json!(5.5)).unwrap_err().contains("whole number"));
        assert!(check(kind, json!("five")).unwrap_err().contains("whole number"));
        assert!(check(kind, json!(11)).unwrap_err().contains("out of range 1..=10"));
        assert!(check(kind, json!(u64::MAX)).unwrap_err().contains("whole number"));
        assert!(check(kind, json!(1e300)).is_err());
        assert!(check(kind, json!(true)).unwrap_err().contains("boolean"));
        let err = mde("GetAllDevices", json!({ "top": 0 })).unwrap_err();
        assert_eq!(err.field, "top");
    }

    #[test]
    fn bools_accept_booleans_and_their_strings() {
        assert_eq!(check(ParamKind::Bool, json!(true)).unwrap(), json!(true));
        assert_eq!(check(ParamKind::Bool, json!(" FALSE ")).unwrap(), json!(false));
        assert!(check(ParamKind::Bool, json!("yes")).unwrap_err().contains("not a boolean"));
        assert!(check(ParamKind::Bool, json!(1)).unwrap_err().contains("number"));
    }

    // --- Devices by name or IP ---------------------------------------------------------------

    #[test]
    fn device_ids_take_dns_names_and_ips_for_the_engine_to_resolve() {
        let p = mde("IsolateDevice", json!({ "deviceIds": format!("WS-01.Contoso.com, 10.0.0.5,{DEV_A}") })).unwrap();
        assert_eq!(p["deviceIds"], json!(["ws-01.contoso.com", "10.0.0.5", DEV_A]));
        assert!(is_machine_id(DEV_A) && !is_machine_id("ws-01.contoso.com"));
        let p = mde("GetDeviceInfo", json!({ "machineId": "ws-01" })).unwrap();
        assert_eq!(p["deviceId"], json!("ws-01"));
        let err = mde("IsolateDevice", json!({ "deviceIds": "10.0.0.0/24" })).unwrap_err();
        assert_eq!(err.field, "deviceIds");
    }

    // --- Indicators ---------------------------------------------------------------------------

    #[test]
    fn indicator_value_is_checked_against_its_type() {
        let sha1 = "4f2d7d2a1c3b5e6f7a8b9c0d1e2f3a4b5c6d7e8f";
        let err =
            mde("AddIndicator", json!({ "indicatorValue": sha1, "indicatorType": "FileSha256", "action": "Block" }))
                .unwrap_err();
        assert_eq!(err.field, "indicatorValue");
        assert!(err.message.contains("64") && err.message.contains("got 40"), "{}", err.message);
        assert!(err.hint.contains("FileSha1 = 40"), "{}", err.hint);

        let err = mde("AddIndicator", json!({ "indicatorValue": "203.0.113.0/24", "indicatorType": "IpAddress" }))
            .unwrap_err();
        assert_eq!(err.field, "indicatorValue");
        assert!(err.message.contains("CIDR"), "{}", err.message);

        for (value, ty, msg) in [
            ("10.1.2.3", "IpAddress", "internal"),
            ("*.evil.example.com", "DomainName", "wildcard"),
            ("https://evil.example.com/x", "DomainName", "URL"),
            ("ftp://evil.example.com/x", "Url", "scheme"),
            ("zz", "CertificateThumbprint", "40 hex"),
            ("not an ip", "IpAddress", "spaces"),
        ] {
            let err = mde("AddIndicator", json!({ "indicatorValue": value, "indicatorType": ty })).unwrap_err();
            assert_eq!(err.field, "indicatorValue", "{value}");
            assert!(err.message.contains(msg), "{value}: {}", err.message);
        }
    }

    #[test]
    fn indicator_type_is_inferred_and_normalised() {
        let md5 = "D41D8CD98F00B204E9800998ECF8427E";
        for (value, ty, normalised) in [
            (md5, "FileMd5", md5.to_ascii_lowercase()),
            ("Evil.Example.com", "DomainName", "evil.example.com".to_string()),
            ("2001:DB8::1", "IpAddress", "2001:db8::1".to_string()),
            ("https://evil.example.com/login", "Url", "https://evil.example.com/login".to_string()),
        ] {
            let p = mde("AddIndicator", json!({ "indicatorValue": value })).unwrap();
            assert_eq!(p["indicatorType"], ty, "{value}");
            assert_eq!(p["indicatorValue"], json!(normalised), "{value}");
            assert_eq!(p["indicatorAction"], "Block", "the seed orchestrator's default");
        }
        // The MDE worker's nested `action` and its `sha1` name.
        let p =
            mde("AddFileIndicator", json!({ "sha1": "4f2d7d2a1c3b5e6f7a8b9c0d1e2f3a4b5c6d7e8f", "action": "allowed" }))
                .unwrap();
        assert_eq!((p["indicatorType"].as_str(), p["indicatorAction"].as_str()), (Some("FileSha1"), Some("Allowed")));
        let err = mde("AddFileIndicator", json!({ "indicatorValue": "203.0.113.7" })).unwrap_err();
        assert!(err.message.contains("IpAddress") && err.message.contains("FileSha1"), "{}", err.message);
        let err = mde("AddIPIndicator", json!({ "ipAddress": "evil.example.com" })).unwrap_err();
        assert!(err.message.contains("not an IPv4"), "{}", err.message);
        let p = mde("AddCertificateIndicator", json!({ "certificateHash": "AB:CD:".repeat(10).trim_end_matches(':') }))
            .unwrap();
        assert_eq!(p["indicatorValue"], json!("abcd".repeat(10)));
        let err = mde("AddIndicator", json!({ "indicatorValue": "x", "indicatorAction": "Nuke" })).unwrap_err();
        assert_eq!(err.field, "indicatorAction");
    }

    #[test]
    fn batch_items_are_checked_one_by_one_and_sent_in_mde_names() {
        let ok = json!([
            { "indicatorValue": "evil.example.com", "action": "Block", "title": "t" },
            { "value": "203.0.113.9", "indicatorType": "IpAddress", "indicatorAction": "Audit", "generateAlert": "true" }
        ]);
        let p = mde("BulkAddIndicators", json!({ "indicators": ok })).unwrap();
        let items = p["indicators"].as_array().unwrap();
        assert_eq!(items[0]["indicatorType"], "DomainName");
        assert_eq!(items[0]["action"], "Block");
        assert_eq!(items[1]["action"], "Audit");
        assert_eq!(items[1]["generateAlert"], true);
        assert!(items[0].get("indicatorAction").is_none());
        let bad = json!([{ "indicatorValue": "evil.example.com" }, { "indicatorValue": "1.2.3.0/8" }]);
        let err = mde("BulkAddIndicators", json!({ "indicators": bad })).unwrap_err();
        assert_eq!(err.field, "indicators");
        assert!(err.message.starts_with("item 1: indicatorValue:") && err.message.contains("CIDR"), "{}", err.message);
        let many: Vec<Value> = (0..15_001).map(|i| json!({ "indicatorValue": format!("h{i}.example.com") })).collect();
        let err = mde("BulkAddIndicators", json!({ "indicators": many })).unwrap_err();
        assert!(err.message.contains("at most 15000"), "{}", err.message);
        let err = mde("BulkAddIndicators", json!({ "indicators": "evil.example.com" })).unwrap_err();
        assert!(err.message.contains("array of indicator objects"), "{}", err.message);
    }

    // --- Triage ---------------------------------------------------------------------------

    #[test]
    fn determination_must_go_with_its_classification() {
        let err = mde(
            "ClassifyAlert",
            json!({ "alertId": "da1_2", "classification": "TruePositive", "determination": "Clean" }),
        )
        .unwrap_err();
        assert_eq!(err.field, "determination");
        assert!(err.message.contains("does not go with classification 'TruePositive'"), "{}", err.message);
        assert!(err.hint.contains("Malware"), "{}", err.hint);
        assert!(
            mde(
                "ClassifyAlert",
                json!({ "alertId": "da1_2", "classification": "falsepositive", "determination": "clean" })
            )
            .is_ok()
        );
        let err = mde(
            "ClassifyAlert",
            json!({ "alertId": "da1_2", "classification": "TruePositive", "determination": "Sunspots" }),
        )
        .unwrap_err();
        assert!(err.message.contains("not one of"), "{}", err.message);
        // Graph: camelCase out, whatever the case in.
        let p = mde("UpdateIncident", json!({ "incidentId": "42", "classification": "TruePositive", "determination": "MultiStagedAttack", "status": "Resolved" }))
            .unwrap();
        assert_eq!(
            (p["classification"].as_str(), p["determination"].as_str(), p["status"].as_str()),
            (Some("truePositive"), Some("multiStagedAttack"), Some("resolved"))
        );
        let err = mde(
            "UpdateIncident",
            json!({ "incidentId": "42", "classification": "falsePositive", "determination": "malware" }),
        )
        .unwrap_err();
        assert!(err.hint.contains("notMalicious"), "{}", err.hint);
        // Without a classification the upstream entity's own classification decides.
        assert!(mde("UpdateAlert", json!({ "alertId": "a", "determination": "Malware" })).is_ok());
    }

    // --- Ids, lists, dates, objects -------------------------------------------------------

    #[test]
    fn other_new_kinds_validate_and_normalise() {
        assert!(check(ParamKind::ResourceId, json!("da637472900382838869_-1364969609")).is_ok());
        assert!(check(ParamKind::ResourceId, json!("../admin")).unwrap_err().contains("not an id"));
        assert_eq!(check(ParamKind::ResourceIds { max: 3 }, json!("1, 2,2,")).unwrap(), json!(["1", "2"]));
        assert_eq!(check(ParamKind::ResourceIds { max: 3 }, json!([994, "995"])).unwrap(), json!(["994", "995"]));
        assert!(check(ParamKind::ResourceIds { max: 1 }, json!("1,2")).unwrap_err().contains("at most 1"));
        assert!(check(ParamKind::ResourceIds { max: 9 }, json!(["1", "a b"])).unwrap_err().contains("element 1"));
        assert_eq!(check(ParamKind::TextList { max_items: 3, max_len: 5 }, json!("a, b")).unwrap(), json!(["a", "b"]));
        assert!(
            check(ParamKind::TextList { max_items: 3, max_len: 2 }, json!(["abc"])).unwrap_err().contains("at most 2")
        );
        assert_eq!(
            check(ParamKind::DateTime, json!("2026-12-31T23:59:59+01:00")).unwrap(),
            json!("2026-12-31T22:59:59Z")
        );
        assert!(check(ParamKind::DateTime, json!("31/12/2026")).unwrap_err().contains("RFC 3339"));
        assert!(check(ParamKind::Url, json!("https://contoso.com/x")).is_ok());
        assert!(check(ParamKind::Url, json!("javascript:alert(1)")).is_err());
        assert_eq!(check(ParamKind::JsonObject, json!("{\"isEnabled\": false}")).unwrap(), json!({"isEnabled": false}));
        assert!(check(ParamKind::JsonObject, json!({})).unwrap_err().contains("empty"));
        assert!(check(ParamKind::JsonObject, json!([1])).unwrap_err().contains("JSON object"));
        let ips = ParamKind::IpPrefixes { max: 2 };
        assert_eq!(
            check(ips, json!("203.0.113.7, 198.51.100.0/24")).unwrap(),
            json!(["203.0.113.7", "198.51.100.0/24"])
        );
        assert!(check(ips, json!(["203.0.113.7", "nope"])).unwrap_err().contains("nope"));
        let rows = ParamKind::JsonObjects { max: 2 };
        assert_eq!(check(rows, json!({"a": 1})).unwrap(), json!([{"a": 1}]));
        assert_eq!(check(rows, json!("[{\"a\": 1}]")).unwrap(), json!([{"a": 1}]));
        assert!(check(rows, json!([{"a": 1}, {"b": 2}, {"c": 3}])).unwrap_err().contains("rows"));
        assert!(check(rows, json!([])).unwrap_err().contains("rows"));
    }

    // --- Odd input: never a panic ---------------------------------------------------------

    /// Every kind against every odd value; only the absence of panics (and that errors carry a
    /// message and hint) is asserted.
    #[test]
    fn odd_inputs_never_panic() {
        let huge = "é".repeat(1_000_000);
        let huge_commas = ",".repeat(1_000_000);
        let odd = vec![
            json!(null),
            json!(true),
            json!(0),
            json!(-1),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5e308),
            json!(-0.0),
            json!(""),
            json!("\u{0}\u{1b}[31m"),
            json!("🙂🙂🙂"),
            json!(huge),
            json!(huge_commas),
            json!(format!("{}/{}", "1".repeat(5000), "/".repeat(10))),
            json!("{"),
            json!("@"),
            json!("a@b."),
            json!([]),
            json!([null, {}, [], 1.5]),
            json!([[DEV_A]]),
            json!({}),
            json!({"nested": {"deeper": [1, {"x": null}]}}),
        ];
        let kinds = [
            ParamKind::DeviceId,
            ParamKind::DeviceIds,
            ParamKind::ManagedDevice,
            ParamKind::UserRef,
            ParamKind::EmailAddress,
            ParamKind::EmailAddresses { max: 2 },
            ParamKind::SenderEntries { max: 2 },
            ParamKind::PairedIds { max: 2 },
            ParamKind::ActionId,
            ParamKind::Sha1,
            ParamKind::Sha256,
            ParamKind::Md5,
            ParamKind::Ip,
            ParamKind::Guid,
            ParamKind::Enum { values: &["A", "B"] },
            ParamKind::Enum { values: &[] },
            ParamKind::Text { max: 0 },
            ParamKind::Text { max: 100 },
            ParamKind::ODataFilter,
            ParamKind::Int { min: i64::MIN, max: i64::MAX },
            ParamKind::Int { min: 5, max: 1 },
            ParamKind::Bool,
            ParamKind::ResourceId,
            ParamKind::ResourceIds { max: 0 },
            ParamKind::ResourceIds { max: 500 },
            ParamKind::TextList { max_items: 0, max_len: 0 },
            ParamKind::DateTime,
            ParamKind::Url,
            ParamKind::IndicatorValue { type_param: "indicatorType" },
            ParamKind::Indicators { max: 0 },
            ParamKind::Indicators { max: 10 },
            ParamKind::Determination { classification_param: "c", pairs: &[] },
            ParamKind::JsonObject,
            ParamKind::JsonObjects { max: 2 },
            ParamKind::IpPrefixes { max: 2 },
        ];
        for kind in kinds {
            for v in &odd {
                if let Err(p) = check_kind(kind, v) {
                    assert!(!p.message.is_empty() && !p.hint.is_empty(), "{kind:?}");
                    assert!(p.message.len() < 1000, "errors never echo a huge input ({kind:?})");
                }
            }
        }
        for spec in crate::all() {
            for v in &odd {
                let mut m = Map::new();
                for p in spec.params {
                    for s in p.spellings() {
                        m.insert(s.to_string(), v.clone());
                    }
                }
                let _ = validate(spec, &m);
                let _ = validate(spec, &raw(v.clone()));
            }
        }
    }

    #[test]
    fn every_declared_default_validates() {
        for spec in crate::all() {
            for p in spec.params {
                assert!(p.default_value().is_ok(), "{}.{} default", spec.name, p.name);
                assert!(
                    !(p.required && p.default.is_some()),
                    "{}.{}: required params have no default",
                    spec.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn normalize_folds_case_and_separators() {
        assert_eq!(normalize("Isolate Device"), "isolatedevice");
        assert_eq!(normalize("isolate_device"), "isolatedevice");
        assert_eq!(normalize("Isolate-Device*"), "isolatedevice");
        assert_eq!(normalize("$filter"), "filter");
    }
}
