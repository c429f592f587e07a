use super::*;

const STREAMING: &str = include_str!("../../tests/fixtures/streaming-sample.json");
const EVIDENCE: &str = include_str!("../../tests/fixtures/alertevidence-sample.jsonl");

fn evidence_message() -> Vec<u8> {
    let records: Vec<Value> = EVIDENCE.lines().map(|l| serde_json::from_str(l).expect("sample line")).collect();
    envelope(&records)
}

fn hashes(a: &AlertHashes) -> Vec<(HashKind, &str)> {
    a.hashes.iter().map(|h| (h.kind, h.value.as_str())).collect()
}

#[test]
fn alert_evidence_sample_yields_file_and_process_hashes_per_alert() {
    let parsed = parse_message(&evidence_message(), &ParseOptions::default());
    assert_eq!(parsed.records, 10);
    assert!(parsed.dead.is_empty(), "{:?}", parsed.dead);
    // Machine, User, Ip, Url and MailMessage rows are not file evidence.
    assert_eq!(parsed.ignored, 5);
    let ids: Vec<&str> = parsed.alerts.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "da685537354688326394_-1338636003",
            "fa2e4d0367-c416-448c-c889-b8f815010956",
            "sn62092a9b-2f45-1a1b-290a-c63ca8f27643",
            "da439522034367961719_692471774"
        ]
    );
    let mde = &parsed.alerts[0];
    assert_eq!(mde.tenant, "0f3c9a2e-7b41-4d6e-9c85-2a1e6b7d4f90");
    assert_eq!(mde.device_id.as_deref(), Some("8e6f616d43bdcc71f59336d5d6d84ff7fff5313f"));
    // File + Process rows, SHA1 and SHA256 each; MergeByKeyHex (40 hex digits) is not taken.
    assert_eq!(
        hashes(mde),
        [
            (HashKind::Sha1, "b8d0a958572f22ea35d15dfc78c723267300838f"),
            (HashKind::Sha1, "d481dfae3461afc11d7441b5b83c8411e079ace8"),
            (HashKind::Sha256, "716608a1cf5dae239e34bc59dddaa8c60c294c725b4f03c56aed5dcdce7c932e"),
            (HashKind::Sha256, "dcaf3b751a638fcb49ff78e16a353f6fd41f19173722f9ee911372a36130089a"),
        ]
    );
    assert_eq!(
        hashes(&parsed.alerts[1]),
        [(HashKind::Sha256, "57c59465799fc191cd08a25f1dea4dcd192d8f2f6cab8aa7fe8f08415d5f7c92")]
    );
    // The Sentinel FileHash entity: MD5 only, inside AdditionalFields as Algorithm/Value.
    assert_eq!(hashes(&parsed.alerts[2]), [(HashKind::Md5, "85e620855918916962d8fc9e144c705e")]);
    // Same SHA1 as the first alert, SHA256 null: a second alert to write to, one hash to look up.
    assert_eq!(hashes(&parsed.alerts[3]), [(HashKind::Sha1, "d481dfae3461afc11d7441b5b83c8411e079ace8")]);
}

#[test]
fn streaming_sample_keeps_only_alert_evidence() {
    let parsed = parse_message(STREAMING.as_bytes(), &ParseOptions::default());
    assert!(parsed.dead.is_empty(), "{:?}", parsed.dead);
    assert_eq!(parsed.alerts.len(), 1);
    let a = &parsed.alerts[0];
    assert_eq!(a.alert_id, "da638845012345678901_-1122334455");
    assert_eq!(a.tenant, "6f1c2a9e-3b7d-4c21-9e8a-1d2f3a4b5c6d");
    assert_eq!(hashes(a), [(HashKind::Sha1, "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567")]);
    // AlertInfo, the Machine evidence row and two other tables.
    assert_eq!(parsed.ignored, parsed.records - 1);
}

#[test]
fn hashes_inside_additional_fields_and_zero_values() {
    let record = serde_json::json!({
        "tenantId": "T1", "category": "AdvancedHunting-AlertEvidence",
        "properties": {
            "AlertId": "a1", "EntityType": "File", "SHA1": "0000000000000000000000000000000000000000", "SHA256": "",
            "AdditionalFields": "{\"FileHashMd5\":\"85E620855918916962D8FC9E144C705E\",\"Hashes\":[{\"Algorithm\":\"SHA256\",\"Value\":\"716608a1cf5dae239e34bc59dddaa8c60c294c725b4f03c56aed5dcdce7c932e\"}],\"IncidentId\":42}"
        }
    });
    let parsed = parse_message(&envelope(&[record]), &ParseOptions::default());
    let a = &parsed.alerts[0];
    assert_eq!(a.tenant, "t1");
    assert_eq!(a.incident_id.as_deref(), Some("42"));
    assert_eq!(
        hashes(a),
        [
            (HashKind::Md5, "85e620855918916962d8fc9e144c705e"),
            (HashKind::Sha256, "716608a1cf5dae239e34bc59dddaa8c60c294c725b4f03c56aed5dcdce7c932e")
        ]
    );
}

#[test]
fn malformed_records_are_dead_letters_with_reasons_and_the_rest_is_kept() {
    let good: Value = serde_json::from_str(EVIDENCE.lines().next().expect("line")).expect("json");
    let records = vec![
        serde_json::json!("not a record"),
        serde_json::json!({"category": "AdvancedHunting-AlertEvidence", "properties": {"EntityType": "File", "AlertId": "x", "SHA1": "d481dfae3461afc11d7441b5b83c8411e079ace8"}}),
        serde_json::json!({"tenantId": "t", "category": "AdvancedHunting-AlertEvidence", "properties": {"EntityType": "File", "AlertId": "x", "SHA1": 5}}),
        serde_json::json!({"tenantId": "t", "category": "AdvancedHunting-AlertEvidence", "properties": {"EntityType": "File", "AlertId": "x", "AdditionalFields": "{broken"}}),
        good,
    ];
    let parsed = parse_message(&envelope(&records), &ParseOptions::default());
    let reasons: Vec<&str> = parsed.dead.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert_eq!(reasons[0], "record is not an object");
    assert_eq!(reasons[1], "record has no `tenantId`");
    assert!(reasons[2].contains("`SHA1` is not a string"), "{}", reasons[2]);
    assert!(reasons[3].contains("`AdditionalFields` is not JSON"), "{}", reasons[3]);
    assert_eq!(parsed.alerts.len(), 1);
}

#[test]
fn an_unreadable_message_is_one_dead_letter() {
    let parsed = parse_message(b"\x00garbage", &ParseOptions::default());
    assert_eq!(parsed.dead.len(), 1);
    assert!(parsed.dead[0].reason.starts_with("message is not JSON"));
    let parsed = parse_message(br#"{"records": 3}"#, &ParseOptions::default());
    assert_eq!(parsed.dead[0].reason, "`records` is not an array");
}
