//! Every MDE action of the catalog, end to end: gateway + sandbox over sockets, effect asserted
//! in the sandbox's own state.

use crate::common::*;
use serde_json::{Value, json};

/// The seed's isolate flow: 2xx + action id, the sandbox shows the Isolate action reaching
/// Succeeded, the operation follows, the audit has the records and the chain verifies.
#[tokio::test(flavor = "multi_thread")]
async fn isolate_flow_end_to_end() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let (status, body) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": m, "comment": "e2e" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let action_id = body["data"]["actionIds"][0].as_str().expect("an action id").to_string();

    let op = h.wait_operation(body["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");

    let actions = h.machine_actions(&t).await;
    let a = actions.iter().find(|a| a["id"] == action_id.as_str()).expect("the sandbox has the action");
    assert_eq!(a["type"], "Isolate");
    assert_eq!(a["machineId"], m.as_str());
    assert_eq!(a["status"], "Succeeded");
    // The comment MDE shows says who asked and carries the operation's marker (how a restart
    // finds the action).
    assert_eq!(
        a["requestorComment"],
        format!("e2e (by admin via Riposte) [riposte:{}]", body["operationId"].as_str().unwrap())
    );
    let state = h.state(&t).await;
    let machine = state["machines"].as_array().unwrap().iter().find(|x| x["id"] == m.as_str()).unwrap();
    assert_eq!(machine["isolated"], true, "the machine is isolated in the sandbox");

    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=IsolateDevice")).await;
    let kinds: Vec<&str> = audit["records"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"attempt") && kinds.contains(&"outcome") && kinds.contains(&"completed"), "{kinds:?}");
    assert!(audit["records"].as_array().unwrap().iter().all(|r| r["principal"] == "admin"));
    let report = h.engine.store().verify_audit().await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

/// Isolating a machine whose isolate is still pending is a 409 naming the pending action.
#[tokio::test(flavor = "multi_thread")]
async fn duplicate_isolate_is_a_clean_conflict() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let offline = h.offline_machine(&t).await["id"].as_str().unwrap().to_string();
    // The offline machine never picks the action up: past the 2 s wait the answer is 202, with
    // the action accepted upstream (InProgress).
    let (s1, first) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": offline, "wait": 2 })).await;
    assert_eq!(s1, 202, "{first}");
    assert_eq!(first["status"], "InProgress", "{first}");
    let pending_id = first["data"]["actionIds"][0].as_str().unwrap().to_string();
    let (s2, second) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": offline })).await;
    assert_eq!(s2, 409, "{second}");
    assert_eq!(second["success"], false);
    assert_eq!(second["error"]["code"], "ActiveRequestAlreadyExists");
    assert!(second["error"]["message"].as_str().unwrap().contains(&pending_id), "{second}");
    assert_eq!(second["error"]["pendingAction"]["id"], pending_id.as_str());
    // Exactly one isolate exists upstream for that machine.
    let isolates = h
        .machine_actions(&t)
        .await
        .into_iter()
        .filter(|a| a["machineId"] == offline.as_str() && a["type"] == "Isolate")
        .count();
    assert_eq!(isolates, 1);
}

/// Each machine action creates the right MachineAction upstream and reaches Succeeded.
#[tokio::test(flavor = "multi_thread")]
async fn machine_actions_take_effect() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machines: Vec<String> = h
        .online_machines(&t)
        .await
        .iter()
        .filter(|m| m["osPlatform"].as_str().unwrap_or("").starts_with("Windows"))
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert!(machines.len() >= 8, "need 8 online Windows machines, have {}", machines.len());
    let sha1 = "4f2d7d2a1c3b5e6f7a8b9c0d1e2f3a4b5c6d7e8f";
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        ("RestrictAppExecution", json!({}), "RestrictCodeExecution", None),
        ("RunAntivirusScan", json!({ "scanType": "full" }), "RunAntiVirusScan", Some("Full")),
        ("CollectInvestigationPackage", json!({}), "CollectInvestigationPackage", None),
        ("StopAndQuarantineFile", json!({ "sha1": sha1 }), "StopAndQuarantineFile", None),
        ("IsolateDevice", json!({ "isolationType": "Selective" }), "Isolate", Some("Selective")),
        ("OffboardDevice", json!({}), "Offboard", None),
    ];
    for (i, (action, extra, upstream_type, scope)) in cases.into_iter().enumerate() {
        let m = &machines[i];
        let mut params = json!({ "deviceIds": m });
        merge(&mut params, extra);
        let (status, body) = h.mde(&t, action, params).await;
        assert_eq!(status, 200, "{action}: {body}");
        let id = body["data"]["actionIds"][0].as_str().unwrap().to_string();
        let op = h.wait_operation(body["operationId"].as_str().unwrap()).await;
        assert_eq!(op["status"], "Succeeded", "{action}: {op}");
        let a = h.machine_actions(&t).await.into_iter().find(|a| a["id"] == id.as_str()).unwrap();
        assert_eq!(a["type"], upstream_type, "{action}");
        assert_eq!(a["machineId"], m.as_str());
        if let Some(scope) = scope {
            assert_eq!(a["scope"], scope, "{action}");
        }
        if action == "StopAndQuarantineFile" {
            assert_eq!(a["relatedFileInfo"]["fileIdentifier"], sha1);
        }
    }
    // Inverses undo: unrestrict machine 0, unisolate machine 4 (isolated above).
    for (action, m, upstream_type) in [
        ("UnrestrictAppExecution", &machines[0], "UnrestrictCodeExecution"),
        ("UnisolateDevice", &machines[4], "Unisolate"),
    ] {
        let (status, body) = h.mde(&t, action, json!({ "machineId": m })).await;
        assert_eq!(status, 200, "{action}: {body}");
        let op = h.wait_operation(body["operationId"].as_str().unwrap()).await;
        assert_eq!(op["status"], "Succeeded");
        let id = body["data"]["actionIds"][0].as_str().unwrap();
        let a = h.machine_actions(&t).await.into_iter().find(|a| a["id"] == id).unwrap();
        assert_eq!(a["type"], upstream_type);
    }
    let state = h.state(&t).await;
    let machine = |id: &str| state["machines"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(machine(&machines[0])["codeExecutionRestricted"], false, "restricted, then unrestricted");
    assert_eq!(machine(&machines[1])["lastAntivirusScan"]["scanType"], "Full");
    assert_eq!(machine(&machines[2])["investigationPackages"], 1);
    assert_eq!(machine(&machines[3])["quarantinedSha1"], json!([sha1]));
    assert_eq!(machine(&machines[4])["isolated"], false, "isolated, then unisolated");
    assert_eq!(machine(&machines[5])["offboarded"], true);
}

/// Reads: device list with filter and paging, device info, action status and list.
#[tokio::test(flavor = "multi_thread")]
async fn reads_return_upstream_data() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let all = state["machines"].as_array().unwrap().len();

    let (status, body) = h.mde(&t, "GetAllDevices", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"].as_u64().unwrap() as usize, all);

    let (_, body) = h.mde(&t, "GetMachines", json!({ "filter": "osPlatform eq 'Linux'" })).await;
    let linux = state["machines"].as_array().unwrap().iter().filter(|m| m["osPlatform"] == "Linux").count();
    assert_eq!(body["data"]["count"].as_u64().unwrap() as usize, linux);
    assert!(body["data"]["value"].as_array().unwrap().iter().all(|m| m["osPlatform"] == "Linux"));

    let (_, body) = h.mde(&t, "GetAllDevices", json!({ "top": 7 })).await;
    assert_eq!(body["data"]["value"].as_array().unwrap().len(), 7);

    let m = state["machines"][3].clone();
    let (status, body) = h.mde(&t, "GetDeviceInfo", json!({ "deviceId": m["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["computerDnsName"], m["computerDnsName"]);

    let online = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let (_, iso) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": online })).await;
    let action_id = iso["data"]["actionIds"][0].as_str().unwrap().to_string();
    let (status, body) = h.mde(&t, "GetActionStatus", json!({ "actionId": action_id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], action_id.as_str());
    assert_eq!(body["data"]["type"], "Isolate");

    let (status, body) = h.mde(&t, "GetAllActions", json!({ "filter": format!("machineId eq '{online}'") })).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["data"]["value"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![action_id.as_str()]);
}

/// CancelAction cancels a pending action upstream.
#[tokio::test(flavor = "multi_thread")]
async fn cancel_action_cancels_upstream() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let offline = h.offline_machine(&t).await["id"].as_str().unwrap().to_string();
    // Not waiting for the offline machine (it would time the action out first).
    let (status, body) = h.mde(&t, "RunAntivirusScan", json!({ "deviceIds": offline, "wait": 2 })).await;
    assert_eq!((status, body["status"].as_str()), (202, Some("InProgress")), "{body}");
    let id = body["data"]["actionIds"][0].as_str().unwrap().to_string();
    let (status, body) = h.mde(&t, "CancelAction", json!({ "actionId": id, "comment": "not needed" })).await;
    assert_eq!(status, 200, "{body}");
    let a = h.machine_actions(&t).await.into_iter().find(|a| a["id"] == id.as_str()).unwrap();
    assert_eq!(a["status"], "Cancelled");
    assert_eq!(a["cancellationComment"], "not needed");
}
