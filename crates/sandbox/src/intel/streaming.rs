//! The Streaming API (Defender XDR → Event Hubs). Alerts created here land in the tenant's
//! world like any alert (Graph `alerts_v2` serves them and takes comments on them), and their
//! AlertInfo and AlertEvidence rows are appended, one Event Hubs message per alert in
//! Microsoft's `{"records":[...]}` envelope, to the hub Defender names
//! `insights-logs-advancedhunting-alertevidence`, spread over its partitions.
//!
//! The log is read with `GET /_sandbox/streaming/{hub}/partitions/{p}?offset=&max=` (offsets
//! as in Kafka: the next record to read; `highWatermark` the next to be written).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Intel;
use crate::mde::alerts::{Alert, EvidenceKind, empty_evidence};
use crate::state::AppState;

pub const HUB: &str = "insights-logs-advancedhunting-alertevidence";
pub(super) const PARTITIONS: usize = 4;

pub struct Stream {
    partitions: Mutex<Vec<Vec<String>>>,
    next_alert: AtomicU64,
}

impl Default for Stream {
    fn default() -> Self {
        Stream { partitions: Mutex::new(vec![Vec::new(); PARTITIONS]), next_alert: AtomicU64::new(1) }
    }
}

impl Stream {
    pub(super) fn append(&self, partition: usize, body: String) -> i64 {
        let mut p = self.partitions.lock();
        let log = &mut p[partition % PARTITIONS];
        log.push(body);
        log.len() as i64 - 1
    }
}

fn json_status(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAlerts {
    tenant: String,
    alerts: Vec<NewAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewAlert {
    files: Vec<NewFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewFile {
    #[serde(default)]
    sha1: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    /// Carried only in `AdditionalFields`, as AlertEvidence has no MD5 column.
    #[serde(default)]
    md5: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// `POST /_sandbox/streaming/alerts` `{"tenant": id, "alerts": [{"files": [{"sha1", "sha256", "md5", "fileName"}]}]}`:
/// creates Defender for Endpoint alerts with this file evidence (modelled on one of the
/// tenant's seeded alerts: same machine and incident) and streams their records.
pub async fn create_alerts(
    State(state): State<AppState>,
    Extension(intel): Extension<Arc<Intel>>,
    body: Bytes,
) -> Response {
    let req: NewAlerts = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_status(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    };
    let now = state.clock.now();
    let mut made = Vec::new();
    {
        let mut world = state.world.lock();
        let Some(t) = world.tenant_mut(&req.tenant) else {
            return json_status(StatusCode::NOT_FOUND, json!({"error": format!("unknown tenant {}", req.tenant)}));
        };
        let Some(template) = t.mde.alerts.iter().find(|a| !a.machine_id.is_empty()).cloned() else {
            return json_status(
                StatusCode::CONFLICT,
                json!({"error": "the tenant has no machine alert to model alerts on"}),
            );
        };
        for new in &req.alerts {
            let n = intel.stream.next_alert.fetch_add(1, Ordering::Relaxed);
            let alert = file_alert(&template, n, new, now);
            made.push((n, alert.clone()));
            t.mde.alerts.push(alert);
        }
    }
    let mut out = Vec::new();
    for (n, alert) in &made {
        let files: Vec<&NewFile> = req.alerts[out.len()].files.iter().collect();
        let message = json!({"records": records(&state.cfg_tenant(&req.tenant), alert, &files, now)});
        let partition = (*n as usize) % PARTITIONS;
        let offset = intel.stream.append(partition, message.to_string());
        out.push(json!({"id": alert.id, "incidentId": alert.incident_id.to_string(), "partition": partition, "offset": offset}));
    }
    json_status(StatusCode::CREATED, json!({"hub": HUB, "alerts": out}))
}

trait TenantIdOf {
    fn cfg_tenant(&self, tenant: &str) -> String;
}

impl TenantIdOf for AppState {
    /// The tenant's GUID (the request may name it by domain).
    fn cfg_tenant(&self, tenant: &str) -> String {
        self.world.lock().tenant(tenant).map_or_else(|| tenant.to_string(), |t| t.tenant_id.clone())
    }
}

fn file_alert(template: &Alert, n: u64, new: &NewAlert, now: OffsetDateTime) -> Alert {
    let mut a = template.clone();
    a.id = format!("da{:018}_{}", 638_900_000_000_000_000u64 + n, 1_000_000 + n);
    a.title =
        format!("Suspicious file observed ({} file{})", new.files.len(), if new.files.len() == 1 { "" } else { "s" });
    a.created = now;
    a.first_event = now;
    a.last_event = now;
    a.last_update = now;
    a.resolved = None;
    a.comments = Vec::new();
    a.evidence = new
        .files
        .iter()
        .map(|f| {
            let mut e = empty_evidence(EvidenceKind::File, now);
            e.role = "Impacted";
            e.verdict = "Suspicious";
            e.detection_status = Some("Detected");
            e.sha1 = f.sha1.clone();
            e.sha256 = f.sha256.clone();
            e.file_name = Some(f.file_name.clone().unwrap_or_else(|| "sample.exe".to_string()));
            e.file_path = Some("C:\\Users\\Public\\Downloads".to_string());
            e
        })
        .collect();
    a
}

/// The AlertInfo row, one AlertEvidence File row per file and the Machine row, as the
/// Streaming API sends them (`properties` is the Advanced Hunting row).
fn records(tenant_id: &str, a: &Alert, files: &[&NewFile], now: OffsetDateTime) -> Vec<Value> {
    let time = now.format(&Rfc3339).unwrap_or_default();
    let record = |category: &str, properties: Value| {
        json!({"time": time, "tenantId": tenant_id, "operationName": "Publish", "category": category,
            "_TimeReceivedBySvc": time, "properties": properties})
    };
    let base = |entity: &str| {
        json!({"Timestamp": time, "AlertId": a.id, "Title": a.title, "Categories": "[\"Malware\"]",
            "AttackTechniques": "[]", "ServiceSource": "Microsoft Defender for Endpoint", "DetectionSource": "Antivirus",
            "EntityType": entity, "EvidenceRole": "Impacted", "EvidenceDirection": null, "SHA1": null, "SHA256": null,
            "FileName": null, "FolderPath": null, "DeviceId": a.machine_id, "DeviceName": a.computer_dns_name,
            "AdditionalFields": null, "Severity": "High", "MachineGroup": a.rbac_group_name})
    };
    let mut out = vec![record(
        "AdvancedHunting-AlertInfo",
        json!({"Timestamp": time, "AlertId": a.id, "Title": a.title, "Category": "Malware", "Severity": "High",
            "ServiceSource": "Microsoft Defender for Endpoint", "DetectionSource": "Antivirus", "AttackTechniques": "[]"}),
    )];
    for f in files {
        let mut p = base("File");
        p["SHA1"] = json!(f.sha1);
        p["SHA256"] = json!(f.sha256);
        p["FileName"] = json!(f.file_name.clone().unwrap_or_else(|| "sample.exe".into()));
        p["FolderPath"] = json!("C:\\Users\\Public\\Downloads");
        let mut extra = json!({"Type": "file", "Role": 0, "Name": p["FileName"]});
        if let Some(md5) = &f.md5 {
            extra["Hashes"] = json!([{"Algorithm": "MD5", "Value": md5}]);
        }
        p["AdditionalFields"] = json!(extra.to_string());
        out.push(record("AdvancedHunting-AlertEvidence", p));
    }
    let mut machine = base("Machine");
    machine["AdditionalFields"] = json!(json!({"Type": "host", "MachineId": a.machine_id}).to_string());
    out.push(record("AdvancedHunting-AlertEvidence", machine));
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    partition: usize,
    body: String,
}

/// `POST /_sandbox/streaming/raw` `{"partition": 0, "body": "..."}`: appends a message as is
/// (malformed input for the dead-letter path).
pub async fn append_raw(Extension(intel): Extension<Arc<Intel>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Raw>(&body) {
        Ok(r) if r.partition < PARTITIONS => {
            let offset = intel.stream.append(r.partition, r.body);
            json_status(StatusCode::CREATED, json!({"partition": r.partition, "offset": offset}))
        }
        Ok(_) => {
            json_status(StatusCode::BAD_REQUEST, json!({"error": format!("partition must be below {PARTITIONS}")}))
        }
        Err(e) => json_status(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    }
}

fn unknown_hub(hub: &str) -> Response {
    json_status(StatusCode::NOT_FOUND, json!({"error": format!("no event hub {hub}; the sandbox streams to {HUB}")}))
}

/// `GET /_sandbox/streaming/{hub}`.
pub async fn hub(Path(hub): Path<String>) -> Response {
    if hub != HUB {
        return unknown_hub(&hub);
    }
    json_status(StatusCode::OK, json!({"name": HUB, "partitions": (0..PARTITIONS as i32).collect::<Vec<_>>()}))
}

/// `GET /_sandbox/streaming/{hub}/partitions/{p}?offset=0&max=100`.
pub async fn fetch(
    Extension(intel): Extension<Arc<Intel>>,
    Path((hub, partition)): Path<(String, usize)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if hub != HUB || partition >= PARTITIONS {
        return unknown_hub(&hub);
    }
    let offset = q.get("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let max = q.get("max").and_then(|m| m.parse::<usize>().ok()).unwrap_or(100).clamp(1, 1000);
    let p = intel.stream.partitions.lock();
    let log = &p[partition];
    let records: Vec<Value> =
        log.iter().enumerate().skip(offset).take(max).map(|(i, body)| json!({"offset": i, "body": body})).collect();
    json_status(StatusCode::OK, json!({"records": records, "highWatermark": log.len()}))
}
