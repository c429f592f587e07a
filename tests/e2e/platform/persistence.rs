//! A restart keeps the data: operations, audit and keys survive, and the chain still verifies.

use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_operations_and_audit() {
    let h = crate::common::Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let (s, body) = h.mde(&t, "GetDeviceInfo", json!({ "deviceId": m })).await;
    assert_eq!(s, 200);
    let op_id = body["operationId"].as_str().unwrap().to_string();
    let dir = h.dir.path().to_path_buf();
    let settings = riposte::app::sandbox_settings(&h.sandbox, dir, Duration::from_millis(300)).unwrap();
    let again = riposte::app::build(settings).await.unwrap();
    let op = again.engine.store().get_operation(op_id.parse().unwrap()).await.unwrap().expect("operation persisted");
    assert_eq!(op.status, "Succeeded");
    let report = again.engine.store().verify_audit().await.unwrap();
    assert!(report.ok && report.rows >= 2, "{report:?}");
}
