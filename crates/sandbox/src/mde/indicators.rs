//! Custom indicators (upstream-apis.md §2.7): submit-or-update, list, get, delete, import,
//! BatchDelete.
//!
//! An indicator is identified by (indicatorType, indicatorValue): submitting the same pair again
//! updates it in place and keeps its id, as Microsoft documents ("create or update"). Values are
//! validated per type the way MDE does (hash lengths, public IPs without CIDR, host names, URLs,
//! certificate thumbprints) and refused with MDE's error codes. A tenant holds at most 15,000
//! active (unexpired) indicators.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{
    EntitySet, body_str, collection, context, endpoint_quota, enum_value, forbidden, invalid_body, parse_body, respond,
    set_context, with_tenant,
};
use crate::auth::{Caller, MdeCaller};
use crate::clock::{fmt_mde, parse_datetime};
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;

/// Documented per-tenant cap on active indicators.
pub const MAX_ACTIVE: usize = 15_000;
/// Documented batch size for import and BatchDelete.
pub const MAX_BATCH: usize = 500;

pub const TYPES: &[&str] =
    &["FileSha1", "FileSha256", "FileMd5", "CertificateThumbprint", "IpAddress", "DomainName", "Url"];
/// `Alert` and `AlertAndBlock` are legacy but still accepted (§2.7).
pub const ACTIONS: &[&str] = &["Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock", "Allowed"];
pub const SEVERITIES: &[&str] = &["Informational", "Low", "Medium", "High"];

#[derive(Clone, Debug)]
pub struct Indicator {
    pub id: u64,
    pub value: String,
    pub indicator_type: String,
    pub action: String,
    pub application: Option<String>,
    pub title: String,
    pub description: String,
    pub severity: Option<String>,
    pub recommended_actions: Option<String>,
    pub rbac_group_names: Vec<String>,
    pub educate_url: Option<String>,
    pub generate_alert: bool,
    pub expiration: Option<OffsetDateTime>,
    pub created_by: String,
    pub created: OffsetDateTime,
    pub last_updated_by: String,
    pub last_update: OffsetDateTime,
}

impl Indicator {
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.expiration.is_none_or(|e| e > now)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "indicatorValue": self.value,
            "indicatorType": self.indicator_type,
            "action": self.action,
            "application": self.application,
            "source": self.created_by,
            "sourceType": "AadApp",
            "title": self.title,
            "description": self.description,
            "creationTimeDateTimeUtc": fmt_mde(self.created),
            "createdBy": self.created_by,
            "createdBySource": "PublicApi",
            "createdByDisplayName": self.created_by,
            "expirationTime": self.expiration.map(fmt_mde),
            "lastUpdateTime": fmt_mde(self.last_update),
            "lastUpdatedBy": self.last_updated_by,
            "severity": self.severity,
            "recommendedActions": self.recommended_actions,
            "rbacGroupNames": self.rbac_group_names,
            "rbacGroupIds": [],
            "generateAlert": self.generate_alert,
            "educateUrl": self.educate_url,
            "mitreTechniques": [],
            "externalID": null,
        })
    }
}

/// A tenant's indicators by id, with an index on (type, normalised value) for upserts.
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    pub by_id: BTreeMap<u64, Indicator>,
    index: HashMap<(String, String), u64>,
    next_id: u64,
}

impl Indicators {
    pub fn iter(&self) -> impl Iterator<Item = &Indicator> {
        self.by_id.values()
    }

    /// The active indicators, or a count at least that large: all of them while they are under
    /// the cap, since only the cap needs the exact count (`upsert` recounts there). Counting
    /// on every submission made each one scan the tenant's indicators.
    fn active(&self, now: OffsetDateTime) -> usize {
        if self.by_id.len() < MAX_ACTIVE { self.by_id.len() } else { self.count_active(now) }
    }

    fn count_active(&self, now: OffsetDateTime) -> usize {
        self.by_id.values().filter(|i| i.is_active(now)).count()
    }

    fn remove(&mut self, id: u64) -> Option<Indicator> {
        let ind = self.by_id.remove(&id)?;
        self.index.remove(&key(&ind.indicator_type, &ind.value));
        Some(ind)
    }

    /// Creates or updates; `Err` when a new indicator would exceed the active cap.
    fn upsert(
        &mut self,
        sub: Submission,
        by: &str,
        now: OffsetDateTime,
        active: &mut usize,
    ) -> Result<Indicator, String> {
        let k = key(&sub.indicator_type, &sub.value);
        if let Some(id) = self.index.get(&k).copied()
            && let Some(existing) = self.by_id.get_mut(&id)
        {
            let was_active = existing.is_active(now);
            // `application` is only honoured on create (§2.7).
            existing.action = sub.action;
            existing.title = sub.title;
            existing.description = sub.description;
            existing.severity = sub.severity;
            existing.recommended_actions = sub.recommended_actions;
            existing.rbac_group_names = sub.rbac_group_names;
            existing.educate_url = sub.educate_url;
            existing.generate_alert = sub.generate_alert;
            existing.expiration = sub.expiration;
            existing.last_updated_by = by.to_string();
            existing.last_update = now;
            if !was_active && existing.is_active(now) {
                *active += 1;
            }
            return Ok(existing.clone());
        }
        if *active >= MAX_ACTIVE {
            *active = self.count_active(now);
        }
        if *active >= MAX_ACTIVE {
            return Err(format!(
                "The tenant has reached the limit of {MAX_ACTIVE} active indicators. Delete indicators or let them expire before submitting new ones."
            ));
        }
        self.next_id += 1;
        let id = self.next_id;
        let ind = Indicator {
            id,
            value: sub.value,
            indicator_type: sub.indicator_type,
            action: sub.action,
            application: sub.application,
            title: sub.title,
            description: sub.description,
            severity: sub.severity,
            recommended_actions: sub.recommended_actions,
            rbac_group_names: sub.rbac_group_names,
            educate_url: sub.educate_url,
            generate_alert: sub.generate_alert,
            expiration: sub.expiration,
            created_by: by.to_string(),
            created: now,
            last_updated_by: by.to_string(),
            last_update: now,
        };
        self.index.insert(k, id);
        self.by_id.insert(id, ind.clone());
        *active += 1;
        Ok(ind)
    }
}

fn key(ty: &str, value: &str) -> (String, String) {
    (ty.to_string(), value.to_ascii_lowercase())
}

/// A validated indicator body.
#[derive(Debug)]
struct Submission {
    value: String,
    indicator_type: String,
    action: String,
    application: Option<String>,
    title: String,
    description: String,
    severity: Option<String>,
    recommended_actions: Option<String>,
    rbac_group_names: Vec<String>,
    educate_url: Option<String>,
    generate_alert: bool,
    expiration: Option<OffsetDateTime>,
}

fn bad(code: &str, msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, code, msg)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Host names: dot-separated labels of letters, digits and hyphens, a TLD of letters.
fn is_host(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    let labels: Vec<&str> = h.split('.').collect();
    h.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// MDE accepts only public addresses: internal ranges are not reachable through network
/// protection (indicator-ip-domain: "only external IPs can be added").
fn is_public(ip: &IpAddr) -> bool {
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
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Checks a value against its type; returns the stored form (hashes lowercased).
fn validate_value(ty: &str, v: &str) -> Result<String, Response> {
    let v = v.trim();
    let hash = |len: usize, name: &str| {
        if is_hex(v, len) {
            Ok(v.to_ascii_lowercase())
        } else {
            Err(bad(
                "InvalidHashValue",
                format!("Indicator value '{v}' is not a valid {name} ({len} hexadecimal characters)."),
            ))
        }
    };
    match ty {
        "FileSha1" => hash(40, "SHA-1 hash"),
        "FileSha256" => hash(64, "SHA-256 hash"),
        "FileMd5" => hash(32, "MD5 hash"),
        "CertificateThumbprint" => hash(40, "certificate thumbprint (SHA-1 of the certificate)"),
        "IpAddress" => {
            if v.contains('/') {
                return Err(bad(
                    "InvalidIpAddress",
                    format!(
                        "Indicator value '{v}' is a CIDR range; IP indicators take single IPv4 or IPv6 addresses only."
                    ),
                ));
            }
            let ip: IpAddr = v.parse().map_err(|_| {
                bad("InvalidIpAddress", format!("Indicator value '{v}' is not a valid IPv4 or IPv6 address."))
            })?;
            if !is_public(&ip) {
                return Err(bad(
                    "InvalidIpAddress",
                    format!(
                        "Indicator value '{v}' is an internal address; only external (public) IP addresses can be added."
                    ),
                ));
            }
            Ok(ip.to_string())
        }
        "DomainName" => {
            if v.contains("://") || v.contains('/') || !is_host(v) {
                return Err(bad(
                    "InvalidDomainName",
                    format!(
                        "Indicator value '{v}' is not a valid domain name (e.g. 'contoso.com', no scheme or path)."
                    ),
                ));
            }
            Ok(v.to_ascii_lowercase())
        }
        "Url" => {
            let with_scheme = if v.contains("://") { v.to_string() } else { format!("http://{v}") };
            let ok = url::Url::parse(&with_scheme).ok().is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| is_host(h) || h.parse::<IpAddr>().is_ok() || h.starts_with('['))
            });
            if !ok || v.chars().any(char::is_whitespace) {
                return Err(bad(
                    "InvalidUrl",
                    format!("Indicator value '{v}' is not a valid URL (http or https, with a host name)."),
                ));
            }
            Ok(v.to_string())
        }
        _ => Err(bad("InvalidInput", format!("Unknown indicator type '{ty}'."))),
    }
}

fn opt_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, Response> {
    match body.get(key) {
        None | Some(Value::Null) => {
            if let Some(k) = body.keys().find(|k| k.as_str() != key && k.eq_ignore_ascii_case(key)) {
                return Err(invalid_body(format!(
                    "Request body is invalid: unknown parameter '{k}'. Parameter names are case-sensitive; did you mean '{key}'?"
                )));
            }
            Ok(None)
        }
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid_body(format!("Request body is invalid: '{key}' must be a boolean, got {other}."))),
    }
}

/// `rbacGroupNames`: the docs call it a comma-separated string but send an array; take both.
fn rbac_groups(body: &Map<String, Value>) -> Result<Vec<String>, Response> {
    match body.get("rbacGroupNames") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => {
            Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid_body("Request body is invalid: 'rbacGroupNames' must hold strings."))
            })
            .collect(),
        Some(other) => Err(invalid_body(format!(
            "Request body is invalid: 'rbacGroupNames' must be an array or a comma-separated string, got {other}."
        ))),
    }
}

const KNOWN_KEYS: &[&str] = &[
    "indicatorValue",
    "indicatorType",
    "action",
    "application",
    "title",
    "description",
    "expirationTime",
    "severity",
    "recommendedActions",
    "rbacGroupNames",
    "educateUrl",
    "generateAlert",
    "externalID",
    "category",
    "mitreTechniques",
];

/// Validates one indicator body (§2.7 field table and action rules).
fn parse_submission(body: &Map<String, Value>, now: OffsetDateTime) -> Result<Submission, Response> {
    for k in body.keys() {
        if !KNOWN_KEYS.contains(&k.as_str()) && !KNOWN_KEYS.iter().any(|x| x.eq_ignore_ascii_case(k)) {
            return Err(invalid_body(format!("Request body is invalid: unknown parameter '{k}'.")));
        }
    }
    let indicator_type = enum_value(body, "indicatorType", TYPES, true)?.unwrap_or_default();
    let raw_value = body_str(body, "indicatorValue", true)?.unwrap_or_default();
    let action = enum_value(body, "action", ACTIONS, true)?.unwrap_or_default();
    let title = body_str(body, "title", true)?.unwrap_or_default();
    let description = body_str(body, "description", true)?.unwrap_or_default();
    let value = validate_value(&indicator_type, &raw_value)?;
    let severity = enum_value(body, "severity", SEVERITIES, false)?;
    let generate_alert = opt_bool(body, "generateAlert")?;
    let network = matches!(indicator_type.as_str(), "IpAddress" | "DomainName" | "Url");
    let file = !network;
    match action.as_str() {
        "Audit" if generate_alert != Some(true) => {
            return Err(bad(
                "InvalidInput",
                "Action 'Audit' requires generateAlert=true (an audit indicator only reports through alerts).",
            ));
        }
        "Warn" if !network => {
            return Err(bad(
                "InvalidInput",
                format!("Action 'Warn' applies to IpAddress, DomainName and Url indicators, not {indicator_type}."),
            ));
        }
        "BlockAndRemediate" if !file => {
            return Err(bad(
                "InvalidInput",
                format!(
                    "Action 'BlockAndRemediate' applies to file hash and certificate indicators, not {indicator_type}; use 'Block'."
                ),
            ));
        }
        _ => {}
    }
    let educate_url = body_str(body, "educateUrl", false)?;
    if let Some(u) = &educate_url {
        if !(network && matches!(action.as_str(), "Block" | "Warn")) {
            return Err(bad(
                "InvalidInput",
                "educateUrl is only supported on Block or Warn indicators of type IpAddress, DomainName or Url.",
            ));
        }
        if !url::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https")) {
            return Err(bad("InvalidUrl", format!("educateUrl '{u}' is not a valid http(s) URL.")));
        }
    }
    let expiration = match body_str(body, "expirationTime", false)? {
        None => None,
        Some(s) => {
            let t = parse_datetime(&s).ok_or_else(|| {
                bad(
                    "InvalidInput",
                    format!("expirationTime '{s}' is not a valid date/time (ISO 8601, e.g. 2030-01-01T00:00:00Z)."),
                )
            })?;
            if t <= now {
                return Err(bad(
                    "InvalidInput",
                    format!("expirationTime '{s}' is in the past; give a future date/time or omit it."),
                ));
            }
            Some(t)
        }
    };
    // Alerting actions raise alerts with the indicator's severity; when none is given we store
    // Informational (the lowest documented value) rather than leaving it unset.
    let alerting = matches!(action.as_str(), "Alert" | "AlertAndBlock" | "Audit") || generate_alert == Some(true);
    let severity = severity.or_else(|| alerting.then(|| "Informational".to_string()));
    Ok(Submission {
        value,
        indicator_type,
        action: action.clone(),
        application: body_str(body, "application", false)?,
        title,
        description,
        severity,
        recommended_actions: body_str(body, "recommendedActions", false)?,
        rbac_group_names: rbac_groups(body)?,
        educate_url,
        // Legacy Alert/AlertAndBlock always alert.
        generate_alert: generate_alert.unwrap_or(matches!(action.as_str(), "Alert" | "AlertAndBlock")),
        expiration,
    })
}

const READ_ROLES: &[&str] = &["Ti.ReadWrite", "Ti.ReadWrite.All"];

fn require_ti(c: &Caller) -> Result<(), Response> {
    if c.has_any_role(READ_ROLES) { Ok(()) } else { Err(forbidden("Ti.ReadWrite.All")) }
}

/// Without `Ti.ReadWrite.All` an app sees only the indicators it created
/// (get-ti-indicators-collection).
fn visible(c: &Caller, i: &Indicator) -> bool {
    c.has_any_role(&["Ti.ReadWrite.All"]) || i.created_by == c.app_id
}

fn not_found(id: &str) -> Response {
    errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("Indicator {id} was not found"))
}

fn entity(state: &AppState, i: &Indicator) -> Value {
    let mut v = i.to_json();
    set_context(&mut v, context(state, "Indicators/$entity"));
    v
}

/// `POST /api/indicators`: 200 + the indicator, created or updated.
pub(super) async fn submit(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    body: Bytes,
) -> Result<Response, Response> {
    require_ti(&c)?;
    let body = parse_body(&body)?;
    let ind = with_tenant(&state, &c, |t, now| -> Result<Indicator, Response> {
        let sub = parse_submission(&body, now)?;
        let mut active = t.mde.indicators.active(now);
        t.mde.indicators.upsert(sub, &c.app_id, now, &mut active).map_err(|m| bad("BadRequest", m))
    })??;
    Ok(json_response(StatusCode::OK, entity(&state, &ind)))
}

const FILTERABLE: &[&str] = &[
    "id",
    "indicatorValue",
    "indicatorType",
    "creationTimeDateTimeUtc",
    "createdBy",
    "action",
    "severity",
    "title",
    "expirationTime",
    "lastUpdateTime",
    "application",
    "generateAlert",
];
const FIELDS: &[&str] = &[
    "id",
    "indicatorValue",
    "indicatorType",
    "action",
    "application",
    "source",
    "sourceType",
    "title",
    "description",
    "creationTimeDateTimeUtc",
    "createdBy",
    "createdBySource",
    "createdByDisplayName",
    "expirationTime",
    "lastUpdateTime",
    "lastUpdatedBy",
    "severity",
    "recommendedActions",
    "rbacGroupNames",
    "rbacGroupIds",
    "generateAlert",
    "educateUrl",
    "mitreTechniques",
    "externalID",
];
const INDICATORS: EntitySet =
    EntitySet { filterable: FILTERABLE, fields: FIELDS, entity: "Indicator", context: "Indicators" };

pub(super) async fn list(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_ti(&c)?;
    let params = Params::parse(q.as_deref());
    let items = with_tenant(&state, &c, |t, _| {
        t.mde.indicators.iter().filter(|i| visible(&c, i)).map(Indicator::to_json).collect::<Vec<_>>()
    })?;
    collection(&state, &uri, &params, items, &INDICATORS)
}

fn parse_id(id: &str) -> Result<u64, Response> {
    id.trim().parse::<u64>().map_err(|_| {
        bad(
            "InvalidInput",
            format!("Indicator id '{id}' is not valid; indicator ids are numeric strings such as \"995\"."),
        )
    })
}

pub(super) async fn get_one(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    require_ti(&c)?;
    let n = parse_id(&id)?;
    let ind = with_tenant(&state, &c, |t, _| t.mde.indicators.by_id.get(&n).filter(|i| visible(&c, i)).cloned())?
        .ok_or_else(|| not_found(&id))?;
    Ok(json_response(StatusCode::OK, entity(&state, &ind)))
}

/// `DELETE /api/indicators/{id}`: 204, or 404 when unknown.
pub(super) async fn delete_one(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    require_ti(&c)?;
    let n = parse_id(&id)?;
    with_tenant(&state, &c, |t, _| {
        if t.mde.indicators.by_id.get(&n).is_some_and(|i| visible(&c, i)) { t.mde.indicators.remove(n) } else { None }
    })?
    .ok_or_else(|| not_found(&id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/indicators/import`: `{"Indicators":[...]}`, at most 500, 30 calls/min. Each item
/// succeeds or fails on its own; the answer lists them in request order.
pub(super) async fn import(State(state): State<AppState>, MdeCaller(c): MdeCaller, body: Bytes) -> Response {
    let checked = (|| {
        require_ti(&c)?;
        endpoint_quota(&state, &c, "indicators/import", 30, 1_500)?;
        let body = parse_body(&body)?;
        batch_list(&body, "Indicators")
    })();
    let items = match checked {
        Ok(items) => items,
        Err(r) => return r,
    };
    // Validate outside the world lock; a refusal's MDE message becomes the failureReason.
    let now = state.clock.now();
    let mut parsed = Vec::with_capacity(items.len());
    for item in &items {
        let shown = item.get("indicatorValue").and_then(Value::as_str).unwrap_or("").to_string();
        let outcome = match item.as_object() {
            None => Err("Each item must be an indicator object.".to_string()),
            Some(obj) => match parse_submission(obj, now) {
                Ok(sub) => Ok(sub),
                Err(resp) => Err(error_message(resp).await),
            },
        };
        parsed.push((shown, outcome));
    }
    respond((|| {
        let results = with_tenant(&state, &c, |t, now| {
            let mut active = t.mde.indicators.active(now);
            parsed
                .into_iter()
                .map(|(shown, outcome)| {
                    match outcome.and_then(|sub| t.mde.indicators.upsert(sub, &c.app_id, now, &mut active)) {
                        Ok(ind) => json!({"id": ind.id.to_string(), "indicator": ind.value, "isFailed": false, "failureReason": null}),
                        Err(reason) => json!({"id": null, "indicator": shown, "isFailed": true, "failureReason": reason}),
                    }
                })
                .collect::<Vec<_>>()
        })?;
        Ok(json_response(
            StatusCode::OK,
            json!({
                "@odata.context": context(&state, "Collection(microsoft.windowsDefenderATP.api.ImportIndicatorResult)"),
                "value": results,
            }),
        ))
    })())
}

/// `error.message` of an MDE error response (import reports it per item).
async fn error_message(r: Response) -> String {
    let status = r.status().as_u16();
    let bytes = axum::body::to_bytes(r.into_body(), 64 * 1024).await.unwrap_or_default();
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| {
            let code = v["error"]["code"].as_str()?.to_string();
            let msg = v["error"]["message"].as_str()?.to_string();
            Some(format!("{code}: {msg}"))
        })
        .unwrap_or_else(|| format!("Rejected with HTTP {status}."))
}

/// A batch array under `key` (case-sensitive), 1..=500 entries.
fn batch_list(body: &Map<String, Value>, key: &str) -> Result<Vec<Value>, Response> {
    match body.get(key) {
        Some(Value::Array(a)) if a.is_empty() => {
            Err(bad("InvalidInput", format!("'{key}' must contain at least one entry.")))
        }
        Some(Value::Array(a)) if a.len() > MAX_BATCH => Err(bad(
            "MaximumBatchSizeExceeded",
            format!("Maximum batch size exceeded. Received: {}, allowed: {MAX_BATCH}.", a.len()),
        )),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(other) => Err(invalid_body(format!("Request body is invalid: '{key}' must be an array, got {other}."))),
        None => {
            body_str(body, key, true)?;
            Err(invalid_body(format!("Request body is invalid: '{key}' is required.")))
        }
    }
}

/// `POST /api/indicators/BatchDelete`: `{"IndicatorIds":[...]}`; all or nothing — 400 for an
/// empty/oversized list or a malformed id, 404 if any id is unknown, else 204.
pub(super) async fn batch_delete(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    body: Bytes,
) -> Result<Response, Response> {
    require_ti(&c)?;
    endpoint_quota(&state, &c, "indicators/BatchDelete", 30, 1_500)?;
    let body = parse_body(&body)?;
    let raw = batch_list(&body, "IndicatorIds")?;
    let ids = raw
        .iter()
        .map(|v| match v {
            Value::String(s) => parse_id(s),
            Value::Number(n) => {
                n.as_u64().ok_or_else(|| bad("InvalidInput", format!("Indicator id '{n}' is not valid.")))
            }
            other => Err(bad("InvalidInput", format!("Indicator id {other} is not valid."))),
        })
        .collect::<Result<Vec<u64>, _>>()?;
    with_tenant(&state, &c, |t, _| -> Result<(), Response> {
        if let Some(missing) = ids.iter().find(|id| !t.mde.indicators.by_id.get(id).is_some_and(|i| visible(&c, i))) {
            return Err(not_found(&missing.to_string()));
        }
        for id in &ids {
            t.mde.indicators.remove(*id);
        }
        Ok(())
    })??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/indicators/{other}`: `import` and `BatchDelete` are routes of their own.
pub(super) async fn post_sub(_caller: MdeCaller, Path(sub): Path<String>) -> Response {
    errors::mde(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No action '{sub}' on indicators. Supported: import, BatchDelete."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rules() {
        assert!(validate_value("FileSha1", &"A".repeat(40)).is_ok());
        assert!(validate_value("FileSha1", &"a".repeat(39)).is_err());
        assert!(validate_value("FileSha256", &"0".repeat(64)).is_ok());
        assert!(validate_value("FileMd5", &"0".repeat(64)).is_err());
        assert!(validate_value("IpAddress", "8.8.8.8").is_ok());
        assert!(validate_value("IpAddress", "8.8.8.0/24").is_err());
        assert!(validate_value("IpAddress", "10.1.2.3").is_err());
        assert!(validate_value("IpAddress", "2001:db8::1").is_ok());
        assert!(validate_value("DomainName", "evil.example.com").is_ok());
        assert!(validate_value("DomainName", "https://evil.example.com").is_err());
        assert!(validate_value("DomainName", "localhost").is_err());
        assert!(validate_value("Url", "https://evil.example.com/x?y=1").is_ok());
        assert!(validate_value("Url", "evil.example.com/path").is_ok());
        assert!(validate_value("Url", "ftp://evil.example.com").is_err());
        assert!(validate_value("Url", "not a url").is_err());
    }
}
