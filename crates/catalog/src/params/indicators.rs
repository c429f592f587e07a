//! Indicators of compromise (upstream-apis.md §2.7): the value checked against its type, and the
//! fields of one indicator, declared once for `AddIndicator` and for each item of a batch import.
//!
//! Microsoft rejects a bad value with `InvalidHashValue`, `InvalidIpAddress`, `InvalidDomainName`
//! or `InvalidUrl`; we refuse the same values before any call, naming the field and the fix.

use super::{
    ParamError, ParamKind, ParamSpec, Params, Problem, echo, example, is_hex, json_type, problem, validate_fields,
};
use serde_json::{Map, Value};
use std::net::IpAddr;

/// MDE's `indicatorType` values.
pub const TYPES: &[&str] =
    &["FileSha1", "FileSha256", "FileMd5", "CertificateThumbprint", "IpAddress", "DomainName", "Url"];
/// The file-hash types, for actions that only take files.
pub const FILE_TYPES: &[&str] = &["FileSha1", "FileSha256", "FileMd5"];
/// MDE's indicator `action` values. `Alert` and `AlertAndBlock` are legacy but still accepted by
/// Microsoft; `Warn` applies to Defender for Cloud Apps only; `Audit` wants `generateAlert`.
pub const ACTIONS: &[&str] = &["Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock", "Allowed"];
pub const SEVERITIES: &[&str] = &["Informational", "Low", "Medium", "High"];

/// Longest indicator value accepted (URLs are the long ones; browsers cap near 2,000).
const MAX_VALUE_CHARS: usize = 2048;

pub const VALUE: ParamSpec = ParamSpec {
    name: "indicatorValue",
    aliases: &["value", "indicator", "ioc"],
    kind: ParamKind::IndicatorValue { type_param: "indicatorType" },
    required: true,
    default: None,
    doc: "The indicator: a file hash, IP (no CIDR), domain, URL or certificate thumbprint",
};

/// The indicator type; inferred from the value when absent (a 40-hex value is taken as a SHA-1
/// file hash, so certificate thumbprints need `CertificateThumbprint` said explicitly).
pub const TYPE: ParamSpec = ParamSpec {
    name: "indicatorType",
    aliases: &["type", "iocType"],
    kind: ParamKind::Enum { values: TYPES },
    required: false,
    default: None,
    doc: "FileSha1, FileSha256, FileMd5, CertificateThumbprint, IpAddress, DomainName or Url; inferred from the value when absent",
};

/// `action` in MDE's body. On the seed's flat routes `action` names the Riposte action, so the
/// canonical name is `indicatorAction`; nested `parameters.action` (the MDE worker) also works.
pub const fn action(required: bool, default: Option<&'static str>) -> ParamSpec {
    ParamSpec {
        name: "indicatorAction",
        aliases: &["action", "actionType"],
        kind: ParamKind::Enum { values: ACTIONS },
        required,
        default,
        doc: "What MDE does on a match: Alert, Warn, Block, Audit, BlockAndRemediate, AlertAndBlock or Allowed",
    }
}

/// MDE requires a title and a description; these defaults say where the indicator came from.
pub const TITLE: ParamSpec = ParamSpec {
    name: "title",
    aliases: &["name"],
    kind: ParamKind::Text { max: 250 },
    required: false,
    default: Some("Indicator submitted by Riposte"),
    doc: "Indicator title (MDE requires one)",
};
pub const DESCRIPTION: ParamSpec = ParamSpec {
    name: "description",
    aliases: &[],
    kind: ParamKind::Text { max: 1000 },
    required: false,
    default: Some("Submitted through the Riposte response gateway"),
    doc: "Indicator description (MDE requires one)",
};
pub const SEVERITY: ParamSpec = ParamSpec {
    name: "severity",
    aliases: &[],
    kind: ParamKind::Enum { values: SEVERITIES },
    required: false,
    default: None,
    doc: "Informational, Low, Medium or High",
};
pub const EXPIRATION: ParamSpec = ParamSpec {
    name: "expirationTime",
    aliases: &["expiration", "expiresOn"],
    kind: ParamKind::DateTime,
    required: false,
    default: None,
    doc: "When the indicator expires (RFC 3339); never when absent",
};
pub const RECOMMENDED: ParamSpec = ParamSpec {
    name: "recommendedActions",
    aliases: &[],
    kind: ParamKind::Text { max: 1000 },
    required: false,
    default: None,
    doc: "Recommended actions shown with alerts from this indicator",
};
/// DOC-CONFLICT in Microsoft's page (string vs array); we send the array the example sends.
pub const RBAC_GROUPS: ParamSpec = ParamSpec {
    name: "rbacGroupNames",
    aliases: &["deviceGroups"],
    kind: ParamKind::TextList { max_items: 100, max_len: 256 },
    required: false,
    default: None,
    doc: "Device groups the indicator applies to (all when absent)",
};
pub const GENERATE_ALERT: ParamSpec = ParamSpec {
    name: "generateAlert",
    aliases: &[],
    kind: ParamKind::Bool,
    required: false,
    default: None,
    doc: "Raise an alert on a match (required true for Audit)",
};
pub const EDUCATE_URL: ParamSpec = ParamSpec {
    name: "educateUrl",
    aliases: &[],
    kind: ParamKind::Url,
    required: false,
    default: None,
    doc: "Page shown to users for Block/Warn URL indicators",
};
pub const APPLICATION: ParamSpec = ParamSpec {
    name: "application",
    aliases: &[],
    kind: ParamKind::Text { max: 256 },
    required: false,
    default: None,
    doc: "Application associated with the indicator (honoured on create only)",
};

/// The fields of one indicator, as `AddIndicator` and each batch item take them.
pub static FIELDS: &[ParamSpec] = &[
    VALUE,
    TYPE,
    action(false, Some("Block")),
    TITLE,
    DESCRIPTION,
    SEVERITY,
    EXPIRATION,
    RECOMMENDED,
    RBAC_GROUPS,
    GENERATE_ALERT,
    EDUCATE_URL,
    APPLICATION,
];

/// Per-field check of an indicator value: bounded text without control characters. The check by
/// type happens in [`check_pair`], once the type is known.
pub(super) fn raw_value(s: &str) -> Result<Value, Problem> {
    let got = s.chars().count();
    if got > MAX_VALUE_CHARS {
        return Err(problem(
            format!("is {got} characters long; at most {MAX_VALUE_CHARS} allowed"),
            "an indicator is one hash, address, domain or URL",
        ));
    }
    if s.chars().any(char::is_control) || s.contains(char::is_whitespace) && !looks_like_spaced_hex(s) {
        return Err(problem(
            format!("'{}' contains spaces or control characters", echo(s)),
            "send one indicator value without spaces",
        ));
    }
    Ok(Value::String(s.to_string()))
}

/// Certificate thumbprints are often copied as `AB CD EF ...`; that much whitespace is fine.
fn looks_like_spaced_hex(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_hexdigit() || c == ' ' || c == ':')
}

/// The type a value most plausibly is: hashes by length, then IP, URL, domain.
pub fn infer_type(s: &str) -> Option<&'static str> {
    if is_hex(s) {
        return match s.len() {
            32 => Some("FileMd5"),
            40 => Some("FileSha1"),
            64 => Some("FileSha256"),
            _ => None,
        };
    }
    // A CIDR range is an (invalid) IP indicator, so the error speaks of CIDR, not URLs.
    let (addr, bits) = s.split_once('/').unwrap_or((s, "0"));
    if addr.parse::<IpAddr>().is_ok() && bits.chars().all(|c| c.is_ascii_digit()) {
        return Some("IpAddress");
    }
    if s.contains("://") || s.contains('/') {
        return Some("Url");
    }
    if is_dns_name(s) && s.contains('.') {
        return Some("DomainName");
    }
    None
}

/// The cross-field check: the value against its type (given, or inferred and filled in), and the
/// type against the types this action takes.
pub(super) fn check_pair(
    p: &ParamSpec,
    type_param: &'static str,
    specs: &[ParamSpec],
    params: &mut Params,
) -> Result<(), ParamError> {
    let Some(value) = params.get(p.name).and_then(Value::as_str).map(str::to_string) else { return Ok(()) };
    let allowed: &[&str] = specs
        .iter()
        .find(|s| s.name == type_param)
        .and_then(|s| match s.kind {
            ParamKind::Enum { values } => Some(values),
            _ => None,
        })
        .unwrap_or(TYPES);
    let field = |prob: Problem| ParamError { field: p.name.to_string(), message: prob.message, hint: prob.hint };
    let ty: &'static str = match params.get(type_param).and_then(Value::as_str) {
        Some(t) => TYPES.iter().copied().find(|k| *k == t).unwrap_or("Url"),
        None => {
            let inferred = infer_type(&value).ok_or_else(|| {
                field(problem(
                    format!("'{}' is not a recognisable indicator (hash, IP, domain or URL)", echo(&value)),
                    format!("send {type_param} too (one of {}), or a well-formed value", allowed.join(", ")),
                ))
            })?;
            if !allowed.contains(&inferred) {
                return Err(field(problem(
                    format!("'{}' looks like a {inferred}; this action takes {}", echo(&value), allowed.join(", ")),
                    "use AddIndicator for other indicator types",
                )));
            }
            params.insert(type_param, Value::String(inferred.to_string()));
            inferred
        }
    };
    let normalised = value_for_type(ty, &value).map_err(field)?;
    params.insert(p.name, Value::String(normalised));
    Ok(())
}

/// Validate and normalise a value for one indicator type, as MDE would.
pub(super) fn value_for_type(ty: &str, s: &str) -> Result<String, Problem> {
    match ty {
        "FileSha1" => hex_digest(s, "SHA-1", 40),
        "FileSha256" => hex_digest(s, "SHA-256", 64),
        "FileMd5" => hex_digest(s, "MD5", 32),
        "CertificateThumbprint" => {
            let compact: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
            hex_digest(&compact, "certificate thumbprint (SHA-1)", 40)
        }
        "IpAddress" => ip_address(s),
        "DomainName" => domain(s),
        _ => url_indicator(s),
    }
}

fn hex_digest(s: &str, algo: &str, want: usize) -> Result<String, Problem> {
    let got = s.chars().count();
    if got != want {
        let guess = match got {
            32 => " (that length is an MD5)",
            40 => " (that length is a SHA-1)",
            64 => " (that length is a SHA-256)",
            _ => "",
        };
        return Err(problem(
            format!("must be {want} hex characters for a {algo}, got {got}{guess}"),
            "send the digest that matches indicatorType (FileSha1 = 40, FileSha256 = 64, FileMd5 = 32 hex), or fix indicatorType",
        ));
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(problem(
            format!("has a non-hex character '{}' at position {i}", c.escape_default()),
            format!("a {algo} uses only 0-9 and a-f"),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// One address; MDE refuses ranges (`InvalidIpAddress`).
fn ip_address(s: &str) -> Result<String, Problem> {
    if let Some((addr, bits)) = s.split_once('/') {
        return Err(problem(
            format!("'{}' is a CIDR range; IpAddress indicators take a single address", echo(s)),
            format!("drop the '/{}' and submit one indicator per address, e.g. \"{}\"", echo(bits), echo(addr)),
        ));
    }
    let ip = s.parse::<IpAddr>().map_err(|_| {
        problem(format!("'{}' is not an IPv4 or IPv6 address", echo(s)), "send one address, e.g. \"203.0.113.7\"")
    })?;
    if !is_external(&ip) {
        return Err(problem(
            format!("'{ip}' is an internal address; MDE takes only external IPs as indicators"),
            "network protection cannot block private, loopback or link-local addresses; contain the device (IsolateDevice) instead",
        ));
    }
    Ok(ip.to_string())
}

/// Microsoft: "only external IPs can be added" (private, loopback, link-local, multicast and
/// unspecified addresses are refused).
fn is_external(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80)
        }
    }
}

/// A DNS name: dot-separated labels of letters, digits, `-` and `_`, not starting or ending with
/// `-`, each at most 63 characters, at most 253 in all.
pub fn is_dns_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn domain(s: &str) -> Result<String, Problem> {
    if s.contains("://") || s.contains('/') {
        return Err(problem(
            format!("'{}' is a URL, not a domain", echo(s)),
            "send the bare domain (e.g. \"evil.example.com\"), or use indicatorType Url",
        ));
    }
    if s.contains('*') {
        return Err(problem(
            format!("'{}' has a wildcard; MDE domain indicators take one exact domain", echo(s)),
            "drop the '*.' prefix: a domain indicator also covers its subdomains' URLs",
        ));
    }
    if s.parse::<IpAddr>().is_ok() {
        return Err(problem(format!("'{}' is an IP address", echo(s)), "use indicatorType IpAddress for addresses"));
    }
    if !is_dns_name(s) || !s.contains('.') {
        return Err(problem(
            format!("'{}' is not a domain name", echo(s)),
            "send a fully qualified domain such as \"evil.example.com\" (letters, digits, '-', dots)",
        ));
    }
    Ok(s.trim_end_matches('.').to_ascii_lowercase())
}

/// MDE URL indicators take `http(s)://host/path` or a scheme-less `host/path`.
fn url_indicator(s: &str) -> Result<String, Problem> {
    let with_scheme = if s.contains("://") { s.to_string() } else { format!("http://{s}") };
    let parsed = url::Url::parse(&with_scheme).map_err(|_| {
        problem(format!("'{}' is not a URL", echo(s)), "send a URL such as \"https://evil.example.com/login\"")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(problem(
            format!("'{}' uses the scheme '{}'; URL indicators cover http and https", echo(s), parsed.scheme()),
            "send an http:// or https:// URL",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(problem(
            format!("'{}' has no host", echo(s)),
            "send a URL with a host, e.g. https://evil.example.com/x",
        ));
    }
    Ok(s.to_string())
}

/// A plain `ParamKind::Url`: absolute http(s).
pub(super) fn http_url(s: &str) -> Result<Value, Problem> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(Value::String(s.to_string())),
        _ => Err(problem(
            format!("'{}' is not an absolute http(s) URL", echo(s)),
            "send e.g. \"https://contoso.com/help\"",
        )),
    }
}

/// A batch of indicator objects, each validated with [`FIELDS`] and rewritten in MDE's field
/// names (`indicatorAction` → `action`).
pub(super) fn batch(value: &Value, max: usize) -> Result<Value, Problem> {
    let items = match value {
        Value::Array(items) => items,
        other => {
            return Err(problem(
                format!("must be an array of indicator objects, got {}", json_type(other)),
                format!("e.g. {}", example(ParamKind::Indicators { max })),
            ));
        }
    };
    if items.is_empty() {
        return Err(problem("names no indicator", format!("e.g. {}", example(ParamKind::Indicators { max }))));
    }
    if items.len() > max {
        return Err(problem(
            format!("has {} indicators; at most {max} per request (MDE keeps at most 15,000 per tenant)", items.len()),
            format!("split the list into requests of at most {max}"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(raw) = item else {
            return Err(problem(
                format!("item {i} must be an object, got {}", json_type(item)),
                "each item is {\"indicatorValue\": ..., \"indicatorType\": ..., \"action\": ...}",
            ));
        };
        let checked = validate_fields(FIELDS, raw)
            .map_err(|e| problem(format!("item {i}: {}: {}", e.field, e.message), e.hint))?;
        out.push(Value::Object(to_mde(checked)));
    }
    Ok(Value::Array(out))
}

/// Validated indicator fields as MDE's body spells them.
pub fn to_mde(params: Params) -> Map<String, Value> {
    params.into_iter().map(|(k, v)| (if k == "indicatorAction" { "action" } else { k }.to_string(), v)).collect()
}
