//! The seed's registry and file helpers, InvokeCommand and the live-response session reads, end
//! to end: each helper's effect is asserted in the sandbox's device state (or against what the
//! sandbox's own MDE API says), not only its status.

use crate::common::*;
use serde_json::{Value, json};

/// Runs a live-response action to its end and returns the finished operation.
async fn run(h: &Harness, tenant: &str, action: &str, params: Value) -> Value {
    let (status, out) = h.native_mde(tenant, action, params).await;
    assert_eq!(status, 200, "{action}: {out}");
    let op = h.wait_operation(out["operation_id"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{action}: {op}");
    op
}

async fn device_state(h: &Harness, tenant: &str, machine: &str) -> Value {
    let state = h.state(tenant).await;
    let m = state["machines"].as_array().unwrap().iter().find(|m| m["id"] == machine).cloned().unwrap();
    m["liveResponse"].clone()
}

fn output(op: &Value) -> String {
    op["result"]["output"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn registry_helpers_write_read_and_delete_on_the_device() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machines = h.online_machines(&t).await;
    let windows = machines.iter().find(|m| m["osPlatform"].as_str().is_some_and(|o| o.starts_with("Windows"))).unwrap();
    let machine = windows["id"].as_str().unwrap().to_string();
    let key = json!({ "deviceId": machine, "registryPath": "HKLM\\SOFTWARE\\Contoso", "valueName": "Mode" });

    let mut set = key.clone();
    set["value"] = json!("strict");
    run(&h, &t, "SetRegistryValue", set).await;
    let changes = device_state(&h, &t, &machine).await["registryChanges"].clone();
    assert!(changes.as_array().unwrap().iter().any(|c| c["name"] == "Mode" && c["value"] == "strict"), "{changes}");

    let read = run(&h, &t, "GetRegistryValue", key.clone()).await;
    assert!(output(&read).contains("Mode = strict"), "{read}");

    run(&h, &t, "DeleteRegistryValue", key.clone()).await;
    let changes = device_state(&h, &t, &machine).await["registryChanges"].clone();
    assert!(changes.as_array().unwrap().iter().any(|c| c["name"] == "Mode" && c["value"].is_null()), "{changes}");
    // Reading a deleted value: MDE completes the command, and the script's exit code and error
    // say the value is gone (a script's own failure is not a failed command in MDE).
    let gone = run(&h, &t, "GetRegistryValue", key).await;
    assert_eq!(gone["result"]["transcript"]["exit_code"], 1, "{gone}");
    assert!(gone["result"]["transcript"]["script_errors"].as_str().unwrap().contains("does not exist"), "{gone}");
}

#[tokio::test]
async fn file_helpers_find_and_hash_what_put_file_placed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machine = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let bytes = b"indicator list v1\n";
    h.upload(&t, "ioc-list.txt", bytes).await;
    run(&h, &t, "PutFile", json!({ "deviceId": machine, "fileName": "ioc-list.txt" })).await;
    let placed = device_state(&h, &t, &machine).await["putFiles"][0].clone();
    let path = placed["path"].as_str().unwrap().to_string();
    assert!(path.ends_with("ioc-list.txt"), "{placed}");

    let found = run(&h, &t, "FindFiles", json!({ "deviceId": machine, "fileName": "ioc-*.txt" })).await;
    assert!(output(&found).contains(&path), "{found}");

    let info = run(&h, &t, "GetFileInfo", json!({ "deviceId": machine, "filePath": path })).await;
    let text = output(&info);
    assert!(text.contains(placed["sha256"].as_str().unwrap()), "{text}");
    assert!(text.contains(&format!("Length: {}", bytes.len())), "{text}");
}

#[tokio::test]
async fn invoke_command_and_session_reads_match_the_sandbox() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machines = h.online_machines(&t).await;
    let windows = machines.iter().find(|m| m["osPlatform"].as_str().is_some_and(|o| o.starts_with("Windows"))).unwrap();
    let machine = windows["id"].as_str().unwrap().to_string();
    h.upload(&t, "probe.ps1", b"Write-Output probe\n").await;
    let op = run(
        &h,
        &t,
        "InvokeCommand",
        json!({ "deviceId": machine, "commandType": "RunScript", "command": "probe.ps1" }),
    )
    .await;
    assert!(output(&op).contains("probe.ps1 ran on"), "{op}");

    // The session list through Riposte is the sandbox's own list of LiveResponse actions there.
    let sandbox: Vec<Value> = h
        .machine_actions(&t)
        .await
        .into_iter()
        .filter(|a| a["type"] == "LiveResponse" && a["machineId"] == machine.as_str())
        .collect();
    assert_eq!(sandbox.len(), 1);
    let (status, listed) = h.mde(&t, "GetLiveResponseSessions", json!({ "machineId": machine })).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> = listed["data"]["value"].as_array().unwrap().iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, vec![sandbox[0]["id"].as_str().unwrap()], "{listed}");

    let (status, one) = h.mde(&t, "GetLiveResponseSession", json!({ "sessionId": sandbox[0]["id"] })).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["data"]["id"], sandbox[0]["id"]);
    assert_eq!(one["data"]["status"], sandbox[0]["status"]);
    assert_eq!(one["data"]["commands"][0]["commandStatus"], "Completed", "{one}");
}
