//! The Streaming API envelope: one Event Hubs message is `{"records":[...]}`, each record a row of
//! an Advanced Hunting table (`category` = `AdvancedHunting-<Table>`, `properties` = the row).
//!
//! The scanner keeps `AdvancedHunting-AlertEvidence` rows of File, Process and FileHash evidence
//! (configurable) and takes their SHA1, SHA256, and any MD5/SHA1/SHA256 inside `AdditionalFields`,
//! a JSON *string* parsed a second time (enrichment.md §3.2). Keys are matched tolerantly
//! (`MD5`, `FileHashSha256`, an `Algorithm`/`Value` pair) because Microsoft does not document
//! them; `MergeByKeyHex`, which is 40 hex digits but not a file hash, is never taken.
//!
//! A record that cannot be read becomes a [`DeadLetter`] with its reason; it is stored once and
//! never retried. Rows of other tables or entity types are counted as ignored, not dead.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hash::{FileHash, HashKind};

/// The one category enriched by default.
pub const ALERT_EVIDENCE: &str = "AdvancedHunting-AlertEvidence";

/// What to keep from the stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", default)]
pub struct ParseOptions {
    /// Record categories read; others are ignored.
    pub categories: Vec<String>,
    /// `EntityType` values whose hashes are taken.
    pub entity_types: Vec<String>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            categories: vec![ALERT_EVIDENCE.to_string()],
            entity_types: ["File", "Process", "FileHash"].map(String::from).to_vec(),
        }
    }
}

/// The file hashes of one alert found in one message, with the ids the write-back needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHashes {
    pub tenant: String,
    pub alert_id: String,
    /// AlertEvidence has no IncidentId column (enrichment.md §3.2); kept when `AdditionalFields`
    /// carries one, else resolved from the alert at write-back.
    pub incident_id: Option<String>,
    pub device_id: Option<String>,
    /// Sorted, without duplicates.
    pub hashes: Vec<FileHash>,
}

/// A record that could not be read, kept with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub reason: String,
    /// The record (or the whole message when the message itself is unreadable), truncated.
    pub payload: String,
}

/// Everything one message yields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// One entry per alert, in order of first appearance.
    pub alerts: Vec<AlertHashes>,
    pub dead: Vec<DeadLetter>,
    /// Records of other categories or entity types, and file rows without a usable hash.
    pub ignored: usize,
    pub records: usize,
}

/// Dead-letter payloads are cut to this many bytes: enough to diagnose, bounded in the database.
const PAYLOAD_LIMIT: usize = 8 * 1024;

/// Parses one Event Hubs message body.
pub fn parse_message(body: &[u8], opts: &ParseOptions) -> ParsedMessage {
    let mut out = ParsedMessage::default();
    let records = match message_records(body) {
        Ok(records) => records,
        Err(reason) => {
            out.dead.push(DeadLetter { reason, payload: truncate(&String::from_utf8_lossy(body)) });
            return out;
        }
    };
    let mut by_alert: BTreeMap<(String, String), usize> = BTreeMap::new();
    for record in records {
        out.records += 1;
        match parse_record(&record, opts) {
            Ok(Some(found)) => merge(&mut out.alerts, &mut by_alert, found),
            Ok(None) => out.ignored += 1,
            Err(reason) => out.dead.push(DeadLetter { reason, payload: truncate(&record.to_string()) }),
        }
    }
    out
}

/// `records[]` of the envelope. A bare record (one row, no envelope) is accepted as a message of one.
fn message_records(body: &[u8]) -> Result<Vec<Value>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("message is not JSON: {e}"))?;
    match v {
        Value::Object(mut o) if o.contains_key("records") => match o.remove("records") {
            Some(Value::Array(records)) => Ok(records),
            _ => Err("`records` is not an array".to_string()),
        },
        Value::Object(o) if o.contains_key("category") => Ok(vec![Value::Object(o)]),
        _ => Err("message is neither {\"records\":[...]} nor a record".to_string()),
    }
}

/// One record: `Ok(None)` when it is not file evidence we enrich.
fn parse_record(record: &Value, opts: &ParseOptions) -> Result<Option<AlertHashes>, String> {
    let r = record.as_object().ok_or("record is not an object")?;
    let category = text(r, "category").ok_or("record has no `category`")?;
    if !opts.categories.iter().any(|c| c.eq_ignore_ascii_case(category)) {
        return Ok(None);
    }
    let props = properties(r)?;
    let entity = text(&props, "EntityType").ok_or("AlertEvidence row has no `EntityType`")?;
    if !opts.entity_types.iter().any(|t| t.eq_ignore_ascii_case(entity)) {
        return Ok(None);
    }
    let tenant = text(r, "tenantId").ok_or("record has no `tenantId`")?.trim().to_ascii_lowercase();
    let alert_id = text(&props, "AlertId").ok_or("AlertEvidence row has no `AlertId`")?.trim().to_string();
    if tenant.is_empty() || alert_id.is_empty() {
        return Err("empty `tenantId` or `AlertId`".to_string());
    }
    let extra = additional_fields(&props)?;
    let mut hashes = column_hashes(&props)?;
    if let Some(extra) = &extra {
        collect_hashes(extra, &mut hashes);
    }
    hashes.sort();
    hashes.dedup();
    if hashes.is_empty() {
        return Ok(None);
    }
    let incident_id = extra.as_ref().and_then(|e| e.get("IncidentId")).and_then(id_text);
    let device_id = text(&props, "DeviceId").map(str::to_string).filter(|d| !d.is_empty());
    Ok(Some(AlertHashes { tenant, alert_id, incident_id, device_id, hashes }))
}

/// `properties`: an object (or, tolerated, a JSON string holding one).
fn properties(r: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    match r.get("properties") {
        Some(Value::Object(p)) => Ok(p.clone()),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Object(p)) => Ok(p),
            _ => Err("`properties` is a string that is not a JSON object".to_string()),
        },
        Some(_) => Err("`properties` is not an object".to_string()),
        None => Err("record has no `properties`".to_string()),
    }
}

/// The `SHA1` / `SHA256` columns. A value present but not a hash is dropped (Defender writes
/// empty strings); a non-string value is a malformed row.
fn column_hashes(props: &Map<String, Value>) -> Result<Vec<FileHash>, String> {
    let mut out = Vec::new();
    for (column, kind) in [("SHA1", HashKind::Sha1), ("SHA256", HashKind::Sha256), ("MD5", HashKind::Md5)] {
        match props.get(column) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => out.extend(FileHash::new(kind, s)),
            Some(other) => return Err(format!("`{column}` is not a string: {other}")),
        }
    }
    Ok(out)
}

/// `AdditionalFields`, parsed a second time when it is a string. Unparseable text is a malformed row.
fn additional_fields(props: &Map<String, Value>) -> Result<Option<Value>, String> {
    match props.get("AdditionalFields") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            serde_json::from_str(s).map(Some).map_err(|e| format!("`AdditionalFields` is not JSON: {e}"))
        }
        Some(v) => Ok(Some(v.clone())),
    }
}

/// Every hash inside `AdditionalFields`: keys naming an algorithm, and `{Algorithm, Value}` pairs,
/// at any depth.
fn collect_hashes(v: &Value, out: &mut Vec<FileHash>) {
    match v {
        Value::Object(o) => {
            if let (Some(alg), Some(value)) = (field_ci(o, "Algorithm"), field_ci(o, "Value"))
                && let (Some(kind), Some(value)) = (alg.as_str().and_then(HashKind::from_name), value.as_str())
            {
                out.extend(FileHash::new(kind, value));
            }
            for (key, value) in o {
                match (HashKind::from_name(key), value) {
                    (Some(kind), Value::String(s)) => out.extend(FileHash::new(kind, s)),
                    _ => collect_hashes(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_hashes(i, out)),
        _ => {}
    }
}

fn merge(alerts: &mut Vec<AlertHashes>, index: &mut BTreeMap<(String, String), usize>, found: AlertHashes) {
    let key = (found.tenant.clone(), found.alert_id.clone());
    match index.get(&key) {
        Some(&i) => {
            let a = &mut alerts[i];
            a.hashes.extend(found.hashes);
            a.hashes.sort();
            a.hashes.dedup();
            a.incident_id = a.incident_id.take().or(found.incident_id);
            a.device_id = a.device_id.take().or(found.device_id);
        }
        None => {
            index.insert(key, alerts.len());
            alerts.push(found);
        }
    }
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn field_ci<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= PAYLOAD_LIMIT {
        return s.to_string();
    }
    let mut end = PAYLOAD_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Wraps records in Microsoft's envelope (what the sandbox produces and the bench replays).
pub fn envelope(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "records": records })).expect("a JSON value serialises")
}

#[cfg(test)]
mod tests;
