//! Live response end to end: scripts from Riposte's library run on sandbox devices, GetFile
//! results behind signed links, the seed's helper actions, bad input, and a burst of 40 commands
//! on one tenant that all complete with no 429 from the (equally configured) sandbox.

use crate::common::*;
use serde_json::json;

async fn windows_online(h: &Harness, tenant: &str) -> String {
    let machines = h.online_machines(tenant).await;
    let m = machines
        .iter()
        .find(|m| m["osPlatform"].as_str().is_some_and(|o| o.starts_with("Windows")))
        .expect("an online Windows machine");
    m["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn run_script_output_is_retrieved_through_riposte() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machine = windows_online(&h, &t).await;
    h.upload(&t, "collect-triage.ps1", b"Get-Process\n").await;

    let (status, out) = h
        .native_mde(
            &t,
            "RunScript",
            json!({ "deviceId": machine, "scriptName": "collect-triage.ps1", "args": "-Full" }),
        )
        .await;
    // The caller waits (20 s by default) and the sandbox finishes in seconds: the answer is final.
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "Succeeded");
    let op = h.wait_operation(out["operation_id"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let output = op["result"]["output"].as_str().unwrap();
    assert!(output.contains("collect-triage.ps1") && output.contains("-Full"), "{output}");
    assert_eq!(op["result"]["transcript"]["exit_code"], 0);

    // The sandbox ran one LiveResponse session whose RunScript command completed, with our script
    // pushed to MDE's library first.
    let state = h.state(&t).await;
    let action = state["machineActions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == op["result"]["actionId"])
        .cloned()
        .unwrap();
    assert_eq!((action["type"].as_str(), action["status"].as_str()), (Some("LiveResponse"), Some("Succeeded")));
    assert_eq!(action["commands"][0]["commandStatus"], "Completed");
    assert_eq!(action["commands"][0]["command"]["type"], "RunScript");
    assert!(state["libraryFiles"].as_array().unwrap().iter().any(|f| f["fileName"] == "collect-triage.ps1"));
    // Durable: completed audit record with the final status.
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=RunScript")).await;
    assert!(
        audit["records"].as_array().unwrap().iter().any(|r| r["kind"] == "completed" && r["outcome"] == "Succeeded"),
        "{audit}"
    );
}

#[tokio::test]
async fn get_file_returns_a_signed_link_to_the_devices_bytes() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machine = windows_online(&h, &t).await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    h.upload(&t, "payload.bin", &payload).await;

    // PutFile places the library file on the device (the sandbox records it) ...
    let (status, out) =
        h.mde(&t, "PutLiveResponseFileFromLibrary", json!({ "machineId": machine, "fileName": "payload.bin" })).await;
    assert_eq!(status, 200, "{out}");
    let op = h.wait_operation(out["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let state = h.state(&t).await;
    let m = state["machines"].as_array().unwrap().iter().find(|m| m["id"] == machine.as_str()).cloned().unwrap();
    let put = m["liveResponse"]["putFiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("payload.bin"))
        .cloned()
        .unwrap();

    // ... and GetFile brings exactly those bytes back, through a signed Riposte link.
    let (status, out) =
        h.mde(&t, "GetFile", json!({ "parameters": { "machineId": machine, "filePath": put["path"] } })).await;
    assert_eq!(status, 200, "{out}");
    let op = h.wait_operation(out["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["file"]["sha256"], put["sha256"]);
    let url = op["result"]["file"]["download"]["url"].as_str().unwrap();
    let resp = h.http.get(format!("{}{url}", h.gateway)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), payload);
    let tampered = url.replace("/v1/downloads/", "/v1/downloads/x");
    assert_eq!(h.http.get(format!("{}{tampered}", h.gateway)).send().await.unwrap().status().as_u16(), 403);
}

#[tokio::test]
async fn missing_script_and_unsafe_arguments_are_400_naming_the_field() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machine = windows_online(&h, &t).await;
    let (status, err) =
        h.native_mde(&t, "RunScript", json!({ "deviceId": machine, "scriptName": "nowhere.ps1" })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("scriptName")), "{err}");
    let (status, err) = h.native_mde(&t, "RunScript", json!({ "deviceId": machine })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("scriptName")), "{err}");
    let (status, err) = h
        .mde(&t, "KillProcess", json!({ "machineId": machine, "processId": "x'; Remove-Item C:\\ -Recurse; '" }))
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("processId")), "{err}");
    let (status, err) = h.mde(&t, "StartSession", json!({ "machineId": machine })).await;
    assert_eq!((status, err["error"]["nearest"].as_str()), (501, Some("RunScript")), "{err}");
    // Nothing reached the device.
    let state = h.state(&t).await;
    assert!(!state["machineActions"].as_array().unwrap().iter().any(|a| a["type"] == "LiveResponse"));
}

#[tokio::test]
async fn seed_helpers_list_and_kill_processes() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machine = windows_online(&h, &t).await;
    // Orchestrator route with `service`, flat parameters.
    let (status, out) = h
        .seed(
            "DefenderXDROrchestrator",
            json!({ "service": "MDE", "action": "GetProcesses", "tenantId": t, "machineId": machine }),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let op = h.wait_operation(out["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let listing = op["result"]["output"].as_str().unwrap().to_string();
    let pid: u32 = listing
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
        .find(|p| *p > 4 && *p != 880)
        .expect("a stoppable process");

    // Worker route, nested parameters.
    let (status, out) =
        h.mde(&t, "KillProcess", json!({ "parameters": { "machineId": machine, "processId": pid.to_string() } })).await;
    assert_eq!(status, 200, "{out}");
    let op = h.wait_operation(out["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let state = h.state(&t).await;
    let m = state["machines"].as_array().unwrap().iter().find(|m| m["id"] == machine.as_str()).cloned().unwrap();
    assert!(m["liveResponse"]["killedProcesses"].as_array().unwrap().contains(&json!(pid)), "{m}");

    // The session's result can be fetched again by id and index.
    let (status, again) =
        h.mde(&t, "GetLiveResponseOutput", json!({ "sessionId": op["result"]["actionId"], "index": 0 })).await;
    assert_eq!(status, 200, "{again}");
    assert!(again["data"]["transcript"]["script_output"].as_str().unwrap().contains(&pid.to_string()));
}

#[tokio::test]
async fn a_burst_of_40_commands_completes_without_a_429() {
    // Riposte and the sandbox enforce the same live-response limit (30 calls in any sliding
    // minute). It is above MDE's documented 10/min so the test takes one minute, not four; 40
    // commands still exceed it, and with one session per machine and 6 online machines they
    // must also queue for sessions. Zero 429s at the sandbox means the budget held the line.
    let h = Harness::start_with(1, |s| {
        s.budgets = Some(upstream::Budgets {
            live_response: vec![upstream::Rate::per_minute(30)],
            mde: vec![upstream::Rate::per_minute(1000)],
            ..Default::default()
        });
    })
    .await;
    h.sandbox_admin(
        "limits",
        json!({ "live_response_per_minute": 30, "mde_per_minute": 1000, "mde_per_hour": 100000 }),
    )
    .await;
    h.sandbox_admin("clock", json!({ "speed": 4.0 })).await;
    let t = h.tenant(0);
    h.upload(&t, "noop.ps1", b"exit 0\n").await;
    h.upload(&t, "noop.sh", b"exit 0\n").await;
    let machines = h.online_machines(&t).await;
    let mut ops = Vec::new();
    let calls = (0..40).map(|i| {
        let m = &machines[i % machines.len()];
        let windows = m["osPlatform"].as_str().unwrap().starts_with("Windows");
        let script = if windows { "noop.ps1" } else { "noop.sh" };
        h.native_mde(&t, "RunScript", json!({ "deviceId": m["id"], "scriptName": script }))
    });
    for (status, out) in futures::future::join_all(calls).await {
        // Commands queue behind the session gate and the budget: some finish inside the wait.
        assert!(status == 200 || status == 202, "{status} {out}");
        ops.push(out["operation_id"].as_str().unwrap().to_string());
    }
    for id in &ops {
        let op = h.wait_operation_long(id).await;
        assert_eq!(op["status"], "Succeeded", "{op}");
    }
    let stats = h.sandbox_stats().await;
    assert_eq!(stats["throttled_total"], 0, "{stats}");
    let sessions = h.machine_actions(&t).await.into_iter().filter(|a| a["type"] == "LiveResponse").count();
    assert_eq!(sessions, 40);
}
