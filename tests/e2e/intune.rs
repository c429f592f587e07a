//! Intune end to end: remote actions asserted on the managed device in the sandbox (its
//! `deviceActionResults` and what the action did once the device checked in), a device named by
//! its MDE machine id, Entra id or DNS name, and secrets (a Mac's wipe PIN, a reset passcode, a
//! BitLocker recovery key) kept out of the audit and the stored operations.

use crate::common::*;
use serde_json::{Value, json};

async fn intune(h: &Harness, t: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": t });
    merge(&mut body, params);
    h.seed("DefenderXDRIntuneWorker", body).await
}

/// A native call with `Prefer: reveal-secrets` and the given key.
async fn native_reveal(h: &Harness, key: &str, t: &str, product: &str, action: &str, params: Value) -> (u16, Value) {
    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/{product}/{action}", h.gateway))
        .header("x-api-key", key)
        .header("prefer", "reveal-secrets")
        .json(&params)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn devices(state: &Value) -> Vec<Value> {
    state["intune"]["managedDevices"].as_array().unwrap().clone()
}

fn device(state: &Value, id: &str) -> Value {
    devices(state).into_iter().find(|d| d["id"] == id).unwrap_or_else(|| panic!("no device {id}"))
}

/// Online devices of a platform, in world order.
async fn online(h: &Harness, t: &str, os: &str) -> Vec<Value> {
    devices(&h.state(t).await).into_iter().filter(|d| d["operatingSystem"] == os && d["online"] == true).collect()
}

fn result_of<'a>(d: &'a Value, action: &str) -> &'a Value {
    d["deviceActionResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["actionName"] == action)
        .unwrap_or_else(|| panic!("no {action} result on {d}"))
}

/// The devices check in: pending actions are picked up after the sandbox's check-in delay.
async fn check_in(h: &Harness) {
    h.sandbox_admin("clock", json!({ "advance_seconds": 5 })).await;
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_the_device_mde_names_by_machine_id_entra_id_or_dns_name() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    // An online Intune-managed MDE machine MDE knows the Entra id of, and its Intune device.
    let (machine, dev) = state["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| is_online(m) && m["aadDeviceId"].is_string())
        .find_map(|m| {
            devices(&state).into_iter().find(|d| d["azureADDeviceId"] == m["aadDeviceId"]).map(|d| (m.clone(), d))
        })
        .expect("a linked machine");
    let dev_id = id(&dev);

    let (status, body) = intune(&h, &t, "RemoteLock", json!({ "deviceId": machine["id"] })).await;
    assert_eq!(status, 200, "{body}");
    let (_, op) = h.get(&format!("/v1/operations/{}", body["operationId"].as_str().unwrap())).await;
    assert_eq!(op["params"]["deviceId"], dev_id.as_str(), "the machine id became the Intune id: {op}");
    let d = device(&h.state(&t).await, &dev_id);
    assert_eq!(result_of(&d, "remoteLock")["actionState"], "pending", "queued until the device checks in");
    assert_eq!(d["effects"]["locked"], false);
    check_in(&h).await;
    let d = device(&h.state(&t).await, &dev_id);
    assert_eq!(result_of(&d, "remoteLock")["actionState"], "done", "{d}");
    assert_eq!(d["effects"]["locked"], true);

    // The Entra device id and the DNS name (MDE's FQDN) name the same device.
    let (status, body) = intune(&h, &t, "SyncDevice", json!({ "azureADDeviceId": dev["azureADDeviceId"] })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = intune(&h, &t, "GetManagedDevice", json!({ "deviceId": machine["computerDnsName"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], dev_id.as_str());
    assert_eq!(result_of(&body["data"], "syncDevice")["actionState"], "pending", "{body}");
    // TriggerComplianceEvaluation is the same sync, said so.
    let (status, body) = intune(&h, &t, "TriggerComplianceEvaluation", json!({ "deviceId": dev_id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["action"], "SyncDevice", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_devices_and_bad_wipe_flags_are_4xx_naming_the_field() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    for unknown in ["0b7b3c1e-0000-4000-8000-000000000000", "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", "nope-9999"] {
        let (status, body) = intune(&h, &t, "RemoteLock", json!({ "deviceId": unknown })).await;
        assert_eq!(status, 400, "{unknown}: {body}");
        assert!(body.to_string().contains("deviceId"), "names the field: {body}");
    }
    let (status, body) = intune(&h, &t, "RemoteLock", json!({ "deviceId": "10.1.0.10" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("FindDevicesByIp"), "{body}");

    // Windows-only flags on an iPhone, and a Mac without its recovery PIN: Graph's 400s.
    let ios = online(&h, &t, "iOS").await;
    let (status, body) = intune(&h, &t, "WipeDevice", json!({ "deviceId": ios[0]["id"], "keepUserData": true })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("keepUserData"), "{body}");
    let mac = online(&h, &t, "macOS").await;
    let (status, body) = intune(&h, &t, "WipeDevice", json!({ "deviceId": mac[0]["id"] })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("macOsUnlockCode"), "{body}");
    let d = device(&h.state(&t).await, &id(&mac[0]));
    assert_eq!(d["managementState"], "managed", "nothing was wiped: {d}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wipe_a_mac_with_its_pin_and_the_pin_is_nowhere_in_riposte() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let mac = id(&online(&h, &t, "macOS").await[0]);
    let pin = "917354";
    let (status, body) = intune(&h, &t, "WipeDevice", json!({ "deviceId": mac, "macOsUnlockCode": pin })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(device(&h.state(&t).await, &mac)["managementState"], "wipePending");
    check_in(&h).await;
    let d = device(&h.state(&t).await, &mac);
    assert_eq!(result_of(&d, "wipe")["actionState"], "done");
    assert_eq!(d["effects"]["wiped"], true);
    assert_eq!(d["managementState"], "wipeIssued");

    let (_, op) = h.get(&format!("/v1/operations/{}", body["operationId"].as_str().unwrap())).await;
    assert!(!op.to_string().contains(pin), "the stored operation holds no PIN: {op}");
    assert_eq!(op["params"]["macOsUnlockCode"], "[redacted]", "{op}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=WipeDevice")).await;
    assert!(audit.to_string().contains("WipeDevice"), "{audit}");
    assert!(!audit.to_string().contains(pin), "the audit holds no PIN");

    // A Windows device keeps enrollment and user data when asked.
    let win = id(&online(&h, &t, "Windows").await[0]);
    let (status, body) =
        intune(&h, &t, "WipeDevice", json!({ "deviceId": win, "keepEnrollmentData": true, "keepUserData": true }))
            .await;
    assert_eq!(status, 200, "{body}");
    check_in(&h).await;
    assert_eq!(device(&h.state(&t).await, &win)["effects"]["wiped"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_actions_take_effect_when_the_device_checks_in() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let windows = online(&h, &t, "Windows").await;
    let (a, b) = (id(&windows[1]), id(&windows[2]));
    let keys_before = h.state(&t).await["intune"]["bitlockerRecoveryKeys"].as_array().unwrap().len();
    let calls = [
        ("DefenderScan", json!({ "deviceId": a, "scanType": "Full" })),
        ("UpdateDefenderSignatures", json!({ "deviceId": a })),
        ("RebootDeviceNow", json!({ "deviceId": a })),
        ("RotateBitLockerKey", json!({ "deviceId": a })),
        ("CleanWindowsDevice", json!({ "deviceId": a, "keepUserData": true })),
        ("RetireDevice", json!({ "deviceId": b })),
    ];
    for (action, params) in calls {
        let (status, body) = intune(&h, &t, action, params).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    check_in(&h).await;
    let state = h.state(&t).await;
    let d = device(&state, &a);
    for r in d["deviceActionResults"].as_array().unwrap() {
        assert_eq!(r["actionState"], "done", "{r}");
    }
    let e = &d["effects"];
    assert_eq!(e["lastDefenderScan"]["scanType"], "Full", "{e}");
    assert!(e["signaturesUpdatedAt"].is_string() && e["rebootedAt"].is_string(), "{e}");
    assert_eq!(e["cleaned"], true);
    assert_eq!(e["bitLockerKeyRotations"], 1);
    let keys = state["intune"]["bitlockerRecoveryKeys"].as_array().unwrap();
    assert_eq!(keys.len(), keys_before + 1, "the rotation escrowed a new key");
    assert_eq!(keys.last().unwrap()["deviceId"], d["azureADDeviceId"]);
    let retired = device(&state, &b);
    assert_eq!(retired["effects"]["retired"], true);
    assert_eq!(retired["managementState"], "retireIssued");
}

#[tokio::test(flavor = "multi_thread")]
async fn apple_and_android_actions_and_the_passcode_shown_once() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let ipad = id(&online(&h, &t, "iOS").await[0]);
    let mac = id(&online(&h, &t, "macOS").await[0]);
    let android = id(&online(&h, &t, "Android").await[0]);

    let (status, body) =
        intune(&h, &t, "EnableLostMode", json!({ "deviceId": ipad, "phoneNumber": "+1 555 0100" })).await;
    assert_eq!(status, 200, "{body}");
    check_in(&h).await;
    assert_eq!(device(&h.state(&t).await, &ipad)["effects"]["lostMode"], true);
    let (status, body) = intune(&h, &t, "DisableLostMode", json!({ "deviceId": ipad })).await;
    assert_eq!(status, 200, "{body}");
    for (action, target) in [
        ("LogoutSharedAppleDevice", &ipad),
        ("BypassActivationLock", &ipad),
        ("RotateFileVaultKey", &mac),
        ("ShutdownDevice", &mac),
    ] {
        let (status, body) = intune(&h, &t, action, json!({ "deviceId": target })).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    check_in(&h).await;
    let state = h.state(&t).await;
    let e = &device(&state, &ipad)["effects"];
    assert_eq!(e["lostMode"], false, "the inverse undid it");
    assert!(e["sharedUserLoggedOutAt"].is_string(), "{e}");
    assert_eq!(e["activationLockBypassed"], true);
    let e = &device(&state, &mac)["effects"];
    assert_eq!(e["fileVaultKeyRotations"], 1);
    assert_eq!(e["shutDown"], true);

    // The new Android passcode: shown to the caller who asked, once; stored redacted.
    let (status, body) =
        native_reveal(&h, &h.admin_key, &t, "Intune", "ResetDevicePasscode", json!({ "deviceId": android })).await;
    assert_eq!(status, 200, "{body}");
    let passcode = body["data"]["passcode"].as_str().map(String::from);
    let passcode = passcode.unwrap_or_else(|| panic!("the passcode is revealed: {body}"));
    assert!(passcode.len() >= 4 && passcode != "[redacted]", "{body}");
    let op_id = body["operation_id"].as_str().unwrap();
    let (_, op) = h.get(&format!("/v1/operations/{op_id}")).await;
    assert!(!op.to_string().contains(&passcode), "the stored result holds no passcode: {op}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=ResetDevicePasscode")).await;
    assert!(!audit.to_string().contains(&passcode), "the audit holds no passcode");
    assert!(device(&h.state(&t).await, &android)["effects"]["passcodeResetAt"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn bitlocker_recovery_keys_are_an_admin_read_audited_without_the_key() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let win = online(&h, &t, "Windows").await[0].clone();
    let key = state["intune"]["bitlockerRecoveryKeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["deviceId"] == win["azureADDeviceId"])
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();

    // Without the explicit flag: a 400 naming it. With false: the ids only.
    let (status, body) = intune(&h, &t, "GetBitLockerRecoveryKey", json!({ "deviceId": win["id"] })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("revealKey"), "{body}");
    let (status, body) =
        intune(&h, &t, "GetBitLockerRecoveryKey", json!({ "deviceId": win["id"], "revealKey": false })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], 1, "{body}");
    assert!(!body.to_string().contains(&key), "{body}");

    // A responder may not read keys.
    let responder = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey {
            name: "responder".into(),
            role: "responder".into(),
            tenants: vec![],
            key_hash: gateway::auth::hash_key(&responder),
        })
        .await
        .unwrap();
    let (status, body) = native_reveal(
        &h,
        &responder,
        &t,
        "Intune",
        "GetBitLockerRecoveryKey",
        json!({ "deviceId": win["id"], "revealKey": true }),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // An admin who asks sees the key once; the record and the audit never hold it.
    let (status, body) = native_reveal(
        &h,
        &h.admin_key,
        &t,
        "Intune",
        "GetBitLockerRecoveryKey",
        json!({ "deviceId": win["deviceName"], "revealKey": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains(&key), "revealed once: {body}");
    let (_, op) = h.get(&format!("/v1/operations/{}", body["operation_id"].as_str().unwrap())).await;
    assert!(op.to_string().contains("[redacted]"), "{op}");
    assert!(!op.to_string().contains(&key), "the stored result holds no key: {op}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=GetBitLockerRecoveryKey")).await;
    assert!(audit.to_string().contains("GetBitLockerRecoveryKey"), "audited: {audit}");
    assert!(!audit.to_string().contains(&key), "the audit holds no key");
}

#[tokio::test(flavor = "multi_thread")]
async fn force_update_mde_updates_signatures_through_the_intune_device() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let (machine, dev) = state["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| is_online(m))
        .find_map(|m| {
            let short = m["computerDnsName"].as_str().unwrap().split('.').next().unwrap().to_string();
            devices(&state).into_iter().find(|d| d["deviceName"] == short.as_str()).map(|d| (m.clone(), d))
        })
        .expect("an Intune-managed machine");
    let (status, body) = h.mde(&t, "ForceUpdateMDE", json!({ "machineId": machine["id"] })).await;
    assert_eq!(status, 200, "{body}");
    check_in(&h).await;
    let d = device(&h.state(&t).await, &id(&dev));
    assert_eq!(result_of(&d, "windowsDefenderUpdateSignatures")["actionState"], "done");
    assert!(d["effects"]["signaturesUpdatedAt"].is_string(), "{d}");
}

#[tokio::test(flavor = "multi_thread")]
async fn device_and_compliance_reads() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let all = devices(&h.state(&t).await);
    let (status, body) = intune(&h, &t, "GetManagedDevices", json!({ "filter": "operatingSystem eq 'iOS'" })).await;
    assert_eq!(status, 200, "{body}");
    let ios = all.iter().filter(|d| d["operatingSystem"] == "iOS").count();
    assert_eq!(body["data"]["value"].as_array().unwrap().len(), ios, "{body}");
    let (status, body) = h
        .seed("MainOrchestrator", json!({ "service": "Intune", "action": "GetDeviceComplianceStatus", "tenantId": t }))
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["data"]["value"].as_array().unwrap();
    assert_eq!(rows.len(), all.len());
    assert!(rows.iter().all(|r| r["complianceState"].is_string() && r.get("serialNumber").is_none()), "{body}");
    let (status, body) = intune(&h, &t, "GetDeviceCompliancePolicyStates", json!({ "deviceId": all[0]["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"][0]["state"], all[0]["complianceState"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_without_the_intune_role_gets_graphs_403() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let win = id(&online(&h, &t, "Windows").await[0]);
    let roles = h.sandbox_admin(&format!("roles/{t}"), json!({})).await;
    let kept: Vec<Value> = roles["graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !matches!(r.as_str(), Some(r) if r.contains("ManagedDevices.PrivilegedOperations") || r.contains("ManagedDevices.ReadWrite")))
        .cloned()
        .collect();
    h.sandbox_admin(&format!("roles/{t}"), json!({ "graph": kept })).await;
    let (status, body) = intune(&h, &t, "RemoteLock", json!({ "deviceId": win })).await;
    // The gateway answers an upstream refusal as an upstream failure, carrying Graph's code.
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied", "{body}");
    assert_eq!(body["error"]["upstreamStatus"], 403, "{body}");
    let d = device(&h.state(&t).await, &win);
    assert!(d["deviceActionResults"].as_array().unwrap().is_empty(), "nothing queued: {d}");
}

fn profile<'a>(state: &'a Value, id: &str) -> Option<&'a Value> {
    state["intune"]["configurationProfiles"].as_array().unwrap().iter().find(|p| p["id"] == id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_reaches_one_device_and_remove_config_profile_takes_it_back() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let windows = online(&h, &t, "Windows").await;
    let (win, other) = (id(&windows[3]), id(&windows[4]));
    let macs = online(&h, &t, "macOS").await;
    let (mac, mac2) = (id(&macs[0]), id(&macs[1]));
    let android = id(&online(&h, &t, "Android").await[0]);

    // Block the camera on one Windows device: a restrictions profile, a group holding only it.
    let (status, body) = intune(&h, &t, "BlockCamera", json!({ "deviceId": win })).await;
    assert_eq!(status, 200, "{body}");
    let pid = body["data"]["profileId"].as_str().unwrap().to_string();
    let state = h.state(&t).await;
    let p = profile(&state, &pid).expect("the profile exists");
    assert_eq!(p["@odata.type"], "#microsoft.graph.windows10GeneralConfiguration");
    assert_eq!(p["cameraBlocked"], true);
    assert_eq!(p["assignments"][0]["groupId"], body["data"]["groupId"], "{p}");
    assert_eq!(device(&state, &win)["assignedProfiles"], json!([pid]), "it reaches the device");
    assert_eq!(device(&state, &other)["assignedProfiles"], json!([]), "and no other");

    // The inverse removes the assignment group and the profile Riposte created.
    let (status, body) = intune(&h, &t, "RemoveConfigProfile", json!({ "profileId": pid })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["profileDeleted"], true, "{body}");
    let state = h.state(&t).await;
    assert!(profile(&state, &pid).is_none(), "profile gone");
    assert_eq!(device(&state, &win)["assignedProfiles"], json!([]));
    let group = body["data"]["removedGroups"][0].as_str().unwrap();
    assert!(!state.to_string().contains(group), "the group is gone too");

    // One setting per platform.
    let cases = [
        ("DisableUSBStorage", &android, "androidGeneralDeviceConfiguration", "storageBlockRemovableStorage"),
        ("EnableBitLocker", &win, "windows10EndpointProtectionConfiguration", "bitLockerEncryptDevice"),
        ("EnableDeviceEncryption", &mac, "macOSEndpointProtectionConfiguration", "fileVaultEnabled"),
        ("EnableFileVault", &mac, "macOSEndpointProtectionConfiguration", "fileVaultEnabled"),
        ("EnableFirewall", &mac, "macOSEndpointProtectionConfiguration", "firewallEnabled"),
    ];
    let mut firewall = String::new();
    for (action, target, ty, setting) in cases {
        let (status, body) = intune(&h, &t, action, json!({ "deviceId": target })).await;
        assert_eq!(status, 200, "{action}: {body}");
        let pid = body["data"]["profileId"].as_str().unwrap().to_string();
        let state = h.state(&t).await;
        let p = profile(&state, &pid).unwrap();
        assert_eq!(p["@odata.type"], format!("#microsoft.graph.{ty}"), "{action}");
        assert_eq!(p[setting], true, "{action}: {p}");
        assert!(device(&state, target)["assignedProfiles"].as_array().unwrap().contains(&json!(pid)));
        firewall = pid;
    }
    let (status, body) = intune(&h, &t, "EnableFirewall", json!({ "deviceId": win })).await;
    assert_eq!(status, 200, "{body}");
    let p = profile(&h.state(&t).await, body["data"]["profileId"].as_str().unwrap()).unwrap().clone();
    assert_eq!(p["firewallProfilePublic"]["firewallEnabled"], "allowed", "{p}");
    // A platform without the setting is a 400 naming the device, and nothing is left behind.
    let before = h.state(&t).await["intune"]["configurationProfiles"].as_array().unwrap().len();
    let (status, body) = intune(&h, &t, "EnableBitLocker", json!({ "deviceId": mac })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("deviceId"), "{body}");
    assert_eq!(h.state(&t).await["intune"]["configurationProfiles"].as_array().unwrap().len(), before);

    // An existing profile, by name, to one more device: the first assignment is kept; removing
    // it for that device takes only its group, and the profile stays until the last is gone.
    let name = profile(&h.state(&t).await, &firewall).unwrap()["displayName"].as_str().unwrap().to_string();
    let (status, body) = intune(&h, &t, "DeployConfigProfile", json!({ "profileName": name, "deviceId": mac2 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["assignments"], 2, "{body}");
    let state = h.state(&t).await;
    assert!(device(&state, &mac2)["assignedProfiles"].as_array().unwrap().contains(&json!(firewall)));
    assert!(device(&state, &mac)["assignedProfiles"].as_array().unwrap().contains(&json!(firewall)));
    let (status, body) =
        intune(&h, &t, "RemoveConfigProfile", json!({ "profileId": firewall, "deviceId": mac2 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["profileDeleted"], false, "another device still has it: {body}");
    let state = h.state(&t).await;
    assert!(!device(&state, &mac2)["assignedProfiles"].as_array().unwrap().contains(&json!(firewall)));
    assert!(device(&state, &mac)["assignedProfiles"].as_array().unwrap().contains(&json!(firewall)));
    let (status, body) = intune(&h, &t, "RemoveConfigProfile", json!({ "profileId": firewall })).await;
    assert_eq!(status, 200, "{body}");
    assert!(profile(&h.state(&t).await, &firewall).is_none());
    // Nothing of Riposte's left to remove: a 400 naming the field.
    let (status, body) = intune(&h, &t, "RemoveConfigProfile", json!({ "profileId": firewall })).await;
    assert!(status == 404 || status == 400, "{status}: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn uninstall_an_app_from_one_device_and_wipe_protected_app_data() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let windows = online(&h, &t, "Windows").await;
    let (win, other) = (id(&windows[5]), id(&windows[6]));
    let state = h.state(&t).await;
    let app = state["intune"]["mobileApps"][0].clone();

    let (status, body) = intune(&h, &t, "UninstallApp", json!({ "deviceId": win, "appId": app["id"] })).await;
    assert_eq!(status, 200, "{body}");
    let state = h.state(&t).await;
    let uninstall = json!({ "appId": app["id"], "displayName": app["displayName"], "intent": "uninstall" });
    assert!(device(&state, &win)["appIntents"].as_array().unwrap().contains(&uninstall), "reaches the device");
    assert!(device(&state, &other)["appIntents"].as_array().unwrap().is_empty(), "and no other");
    let assignments = state["intune"]["mobileApps"][0]["assignments"].as_array().unwrap().clone();
    assert_eq!(assignments.len(), 2, "the existing assignment is kept: {assignments:?}");
    assert!(assignments.iter().any(|a| a["intent"] == "available"));

    // The selective wipe covers every protected app of the user on the device: one app is refused.
    let phone = online(&h, &t, "iOS").await[0].clone();
    let (status, body) =
        intune(&h, &t, "WipeAppData", json!({ "deviceId": phone["id"], "appId": "com.microsoft.Office.Outlook" }))
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("appId"), "{body}");
    let (status, body) = intune(&h, &t, "WipeAppData", json!({ "deviceId": phone["id"] })).await;
    assert_eq!(status, 200, "{body}");
    let regs = h.state(&t).await["intune"]["appRegistrations"].as_array().unwrap().clone();
    let (mine, others): (Vec<&Value>, Vec<&Value>) =
        regs.iter().partition(|r| r["azureADDeviceId"] == phone["azureADDeviceId"]);
    assert_eq!(mine.len(), 2, "{regs:?}");
    assert!(mine.iter().all(|r| r["wipeRequestedDateTime"].is_string()), "{mine:?}");
    assert!(others.iter().all(|r| r["wipeRequestedDateTime"].is_null()), "only that device");
}

#[tokio::test(flavor = "multi_thread")]
async fn elevation_requests_are_denied_on_a_device_and_revoked() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let requests = state["intune"]["elevationRequests"].as_array().unwrap().clone();
    let pending = requests.iter().find(|r| r["status"] == "pending").unwrap().clone();
    let device_id = pending["requestedOnDeviceId"].as_str().unwrap().to_string();
    let status_of = |state: &Value, id: &Value| {
        state["intune"]["elevationRequests"].as_array().unwrap().iter().find(|r| r["id"] == *id).unwrap()["status"]
            .clone()
    };

    let (status, body) = intune(
        &h,
        &t,
        "BlockElevationRequest",
        json!({ "deviceId": device_id, "applicationPath": "ContosoSetup.exe" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], 1, "{body}");
    assert_eq!(status_of(&h.state(&t).await, &pending["id"]), "denied");
    // Nothing pending for it any more: a 400 naming the field.
    let (status, body) = intune(
        &h,
        &t,
        "BlockElevationRequest",
        json!({ "deviceId": device_id, "applicationPath": "ContosoSetup.exe" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("applicationPath"), "{body}");

    let approved = requests.iter().find(|r| r["status"] == "approved").unwrap().clone();
    let elsewhere = requests.iter().find(|r| r["requestedOnDeviceId"] != approved["requestedOnDeviceId"]).unwrap();
    let (status, body) = intune(
        &h,
        &t,
        "RevokeElevation",
        json!({ "elevationId": approved["id"], "deviceId": elsewhere["requestedOnDeviceId"] }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("deviceId"), "{body}");
    assert_eq!(status_of(&h.state(&t).await, &approved["id"]), "approved", "nothing revoked");
    let (status, body) = intune(
        &h,
        &t,
        "RevokeElevation",
        json!({ "elevationId": approved["id"], "deviceId": approved["requestedOnDeviceId"] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "revoked", "{body}");
    assert_eq!(status_of(&h.state(&t).await, &approved["id"]), "revoked");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_activation_lock_bypass_code_is_shown_once_and_stored_redacted() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let ipad = online(&h, &t, "iOS").await[0].clone();
    let code = ipad["activationLockBypassCode"].as_str().unwrap().to_string();
    let (status, body) =
        native_reveal(&h, &h.admin_key, &t, "Intune", "GetActivationLockBypassCode", json!({ "deviceId": ipad["id"] }))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["activationLockBypassCode"], code.as_str(), "{body}");
    let (_, op) = h.get(&format!("/v1/operations/{}", body["operation_id"].as_str().unwrap())).await;
    assert!(!op.to_string().contains(&code), "the stored result holds no code: {op}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=GetActivationLockBypassCode")).await;
    assert!(!audit.to_string().contains(&code), "the audit holds no code");
    // Without the reveal preference the answer is redacted too.
    let (status, body) = intune(&h, &t, "GetActivationLockBypassCode", json!({ "deviceId": ipad["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains(&code), "{body}");
    // And the bypass itself.
    let (status, body) = intune(&h, &t, "BypassActivationLock", json!({ "deviceId": ipad["id"] })).await;
    assert_eq!(status, 200, "{body}");
}
