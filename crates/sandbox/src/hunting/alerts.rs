//! `AlertInfo` and `AlertEvidence` (upstream-apis.md §6.2, §6.3), read from the same alerts
//! the MDE alerts API serves (`Tenant::alerts`), so `AlertId`s match `GET /api/alerts`.
//! Each alert also gets a `Machine` evidence row for its device, as the portal shows.
//! (Defender for Cloud's container alerts for seed 004 are added by `scenario.rs`.)

use serde_json::json;

use super::synth::*;
use super::tables::Tables;
use crate::mde::alerts::Alert;

pub fn generate(snap: &Snapshot, t: &mut Tables) {
    // The Endpoint alerts, whose ids the MDE alerts API serves (the other products' alerts of
    // XDR incidents are not in these tables yet).
    for a in snap.alerts.iter().filter(|a| a.is_endpoint()) {
        alert(snap, t, a);
    }
}

fn alert(snap: &Snapshot, t: &mut Tables, a: &Alert) {
    let techniques = json!(a.mitre_techniques).to_string();
    let service = a.service_source.product_name();
    let detection = a.detection_source.hunting();
    let created = ticks(a.created);
    t.push(
        "AlertInfo",
        vec![
            ("Timestamp", dt(created)),
            ("AlertId", s(&a.id)),
            ("Title", s(&a.title)),
            ("Category", s(a.category)),
            ("Severity", s(a.severity.as_str())),
            ("ServiceSource", s(service)),
            ("DetectionSource", s(detection)),
            ("AttackTechniques", s(&techniques)),
        ],
    );
    let common = |row: &mut Row| {
        row.extend([
            ("AlertId", s(&a.id)),
            ("Title", s(&a.title)),
            ("Categories", json_text(json!([a.category]))),
            ("AttackTechniques", s(&techniques)),
            ("ServiceSource", s(service)),
            ("DetectionSource", s(detection)),
            ("Severity", s(a.severity.as_str())),
        ]);
    };
    let local_ip = snap
        .devices
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(&a.machine_id))
        .map(|d| d.ip.clone())
        .unwrap_or_default();
    let mut machine: Row = vec![
        ("Timestamp", dt(created)),
        ("EntityType", s("Machine")),
        ("EvidenceRole", s("Impacted")),
        ("DeviceId", s(&a.machine_id)),
        ("DeviceName", s(&a.computer_dns_name)),
        ("LocalIP", s(&local_ip)),
    ];
    common(&mut machine);
    // Only Endpoint alerts sit on a machine; other products' alerts have no Machine row.
    if !a.machine_id.is_empty() {
        t.push("AlertEvidence", machine);
    }
    for e in &a.evidence {
        let mut row: Row = vec![
            ("Timestamp", dt(ticks(e.created))),
            ("EntityType", s(e.kind.hunting())),
            ("EvidenceRole", s(e.role)),
            ("DeviceId", s(&a.machine_id)),
            ("DeviceName", s(&a.computer_dns_name)),
        ];
        let text = |row: &mut Row, col: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                row.push((col, s(v)));
            }
        };
        text(&mut row, "FileName", &e.file_name);
        text(&mut row, "FolderPath", &e.file_path);
        text(&mut row, "SHA1", &e.sha1);
        text(&mut row, "SHA256", &e.sha256);
        text(&mut row, "ProcessCommandLine", &e.process_command_line);
        text(&mut row, "RemoteIP", &e.ip_address);
        text(&mut row, "RemoteUrl", &e.url);
        text(&mut row, "AccountName", &e.account_name);
        text(&mut row, "AccountDomain", &e.domain_name);
        text(&mut row, "AccountSid", &e.user_sid);
        text(&mut row, "AccountObjectId", &e.aad_user_id);
        text(&mut row, "AccountUpn", &e.user_principal_name);
        if let Some(size) = e.file_size {
            row.push(("FileSize", long(size as i64)));
        }
        if let Some(family) = a.threat_family_name {
            row.push(("ThreatFamily", s(family)));
        }
        common(&mut row);
        t.push("AlertEvidence", row);
    }
}
