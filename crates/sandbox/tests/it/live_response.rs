//! Live response sessions, result downloads and the live response library (§2.6).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BOUNDARY: &str = "riposte-test-boundary";

fn online(m: &Value, platform_prefix: &str) -> bool {
    m["healthStatus"] == "Active" && m["osPlatform"].as_str().unwrap().starts_with(platform_prefix)
}

/// A multipart/form-data body as Microsoft's upload-library page describes it.
fn form(file: Option<(&str, &[u8])>, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some((name, bytes)) = file {
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"File\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

async fn upload(e: &Env, tok: &str, body: Vec<u8>) -> Resp {
    let r = e
        .http
        .post(e.url("/api/libraryfiles"))
        .bearer_auth(tok)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)), headers }
}

async fn delete(e: &Env, tok: &str, path: &str) -> StatusCode {
    e.http.delete(e.url(path)).bearer_auth(tok).send().await.unwrap().status()
}

fn cmd(ty: &str, params: &[(&str, &str)]) -> Value {
    json!({"type": ty, "params": params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>()})
}

async fn run(e: &Env, tok: &str, machine: &str, commands: Vec<Value>) -> Resp {
    e.post(
        tok,
        &format!("/api/machines/{machine}/runliveresponse"),
        json!({"Commands": commands, "Comment": "live response test"}),
    )
    .await
}

async fn action(e: &Env, tok: &str, id: &str) -> Value {
    let r = e.get(tok, &format!("/api/machineactions/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn link(e: &Env, tok: &str, id: &str, index: usize) -> Resp {
    e.get(tok, &format!("/api/machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})")).await
}

/// Follows a result link (no bearer token: the signature is the authorization).
async fn fetch(e: &Env, url: &str) -> (StatusCode, Vec<u8>) {
    let r = e.http.get(url).send().await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

async fn result_bytes(e: &Env, tok: &str, id: &str, index: usize) -> Vec<u8> {
    let r = link(e, tok, id, index).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#Edm.String"));
    let (status, bytes) = fetch(e, r.body["value"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    bytes
}

fn machine_state<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["machines"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()
}

#[tokio::test]
async fn session_runs_commands_in_order_and_serves_results() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| online(m, "Windows")).await;
    let mid = m["id"].as_str().unwrap();
    let payload = b"Write-Output 'collected'\r\n".to_vec();
    let up = upload(&e, &tok, form(Some(("collector.ps1", &payload)), &[])).await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.body);

    let put_path = "C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Downloads\\collector.ps1";
    let r = run(
        &e,
        &tok,
        mid,
        vec![
            cmd("PutFile", &[("FileName", "collector.ps1")]),
            cmd("RunScript", &[("ScriptName", "GetProcesses.ps1")]),
            cmd("RunScript", &[("ScriptName", "KillProcess.ps1"), ("Args", "-Name msedge.exe")]),
            cmd("GetFile", &[("Path", put_path)]),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["type"], "LiveResponse");
    assert_eq!(r.body["status"], "Pending");
    assert_eq!(r.body["requestorComment"], "live response test");
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#MachineActions/$entity"));
    let id = r.body["id"].as_str().unwrap().to_string();
    let cmds = r.body["commands"].as_array().unwrap();
    assert_eq!(cmds.len(), 4);
    for (i, c) in cmds.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert_eq!(c["commandStatus"], "Created");
        assert_eq!(c["startTime"], Value::Null);
        assert_eq!(c["errors"], json!([]));
    }
    assert_eq!(cmds[2]["command"]["params"][1], json!({"key": "Args", "value": "-Name msedge.exe"}));

    // Results are not there before the command ran.
    let early = link(&e, &tok, &id, 1).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{:?}", early.body);

    // 30 s Pending, then 90 s shared by four commands (22 s each).
    e.advance(31).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["status"], "InProgress");
    assert_eq!(a["commands"][0]["commandStatus"], "Created");
    assert!(a["commands"][0]["startTime"].is_string());
    e.advance(23).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["status"], "InProgress");
    assert_eq!(a["commands"][0]["commandStatus"], "Completed");
    assert_eq!(a["commands"][1]["commandStatus"], "Created");
    e.advance(70).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["status"], "Succeeded", "{a}");
    for c in a["commands"].as_array().unwrap() {
        assert_eq!(c["commandStatus"], "Completed", "{c}");
        assert!(c["endTime"].is_string());
    }

    // RunScript transcripts, shaped as MDE documents them.
    let t: Value = serde_json::from_slice(&result_bytes(&e, &tok, &id, 1).await).unwrap();
    assert_eq!(t["script_name"], "GetProcesses.ps1");
    assert_eq!(t["exit_code"], 0);
    assert!(t["script_output"].as_str().unwrap().contains("msedge.exe"));
    assert_eq!(t["script_errors"], "");
    let t: Value = serde_json::from_slice(&result_bytes(&e, &tok, &id, 2).await).unwrap();
    assert_eq!(t["script_name"], "KillProcess.ps1");
    assert_eq!(t["exit_code"], 0, "{t}");
    // GetFile returns the bytes PutFile placed.
    assert_eq!(result_bytes(&e, &tok, &id, 3).await, payload);

    // PutFile has no result; indexes beyond the commands are refused.
    assert_eq!(link(&e, &tok, &id, 0).await.status, StatusCode::BAD_REQUEST);
    let r = link(&e, &tok, &id, 9).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "InvalidInput");

    // The effects are visible in the sandbox's state.
    let st = e.state(0).await;
    let lr = &machine_state(&st, mid)["liveResponse"];
    assert_eq!(lr["killedProcesses"], json!([6204]));
    assert_eq!(lr["putFiles"][0]["path"], put_path);
    assert_eq!(lr["putFiles"][0]["sha256"], hex::encode(Sha256::digest(&payload)));
    let sa = st["machineActions"].as_array().unwrap().iter().find(|a| a["id"] == id.as_str()).unwrap();
    assert_eq!(sa["commands"].as_array().unwrap().len(), 4);

    // A second session sees the killed process gone.
    let r = run(&e, &tok, mid, vec![cmd("RunScript", &[("ScriptName", "GetProcesses.ps1")])]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id2 = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let t: Value = serde_json::from_slice(&result_bytes(&e, &tok, &id2, 0).await).unwrap();
    let out = t["script_output"].as_str().unwrap();
    assert!(!out.contains("msedge.exe") && out.contains("explorer.exe"), "{out}");
}

#[tokio::test]
async fn a_failed_command_stops_the_session() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| online(m, "Windows")).await;
    let mid = m["id"].as_str().unwrap();
    let r = run(
        &e,
        &tok,
        mid,
        vec![
            cmd("RunScript", &[("ScriptName", "NotInLibrary.ps1")]),
            cmd("GetFile", &[("Path", "C:\\Windows\\System32\\drivers\\etc\\hosts")]),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["status"], "Failed");
    assert_eq!(a["commands"][0]["commandStatus"], "Failed");
    assert!(a["commands"][0]["errors"][0].as_str().unwrap().contains("NotInLibrary.ps1"));
    assert_eq!(a["commands"][1]["commandStatus"], "Created", "later commands do not run");
    assert_eq!(link(&e, &tok, &id, 1).await.status, StatusCode::BAD_REQUEST);

    // A missing path fails GetFile; a seeded file comes back with its deterministic content.
    let r = run(
        &e,
        &tok,
        mid,
        vec![
            cmd("GetFile", &[("Path", "c:\\windows\\system32\\drivers\\etc\\HOSTS")]),
            cmd("GetFile", &[("Path", "C:\\nope\\missing.txt")]),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["status"], "Failed");
    assert_eq!(a["commands"][0]["commandStatus"], "Completed");
    assert_eq!(a["commands"][1]["commandStatus"], "Failed");
    assert!(a["commands"][1]["errors"][0].as_str().unwrap().contains("missing.txt"));
    let hosts = String::from_utf8(result_bytes(&e, &tok, &id, 0).await).unwrap();
    assert!(hosts.contains(m["computerDnsName"].as_str().unwrap()), "{hosts}");

    // A script that fails by design completes with its exit code in the transcript.
    let r = run(&e, &tok, mid, vec![cmd("RunScript", &[("ScriptName", "TestFailure.ps1")])]).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["status"], "Succeeded");
    let t: Value = serde_json::from_slice(&result_bytes(&e, &tok, &id, 0).await).unwrap();
    assert_eq!(t["exit_code"], 1);
    assert!(!t["script_errors"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn scripts_follow_the_platform_and_change_the_registry() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let linux = e.machine_where(&tok, |m| online(m, "Linux")).await;
    let r = run(&e, &tok, linux["id"].as_str().unwrap(), vec![cmd("RunScript", &[("ScriptName", "GetProcesses.ps1")])])
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let a = action(&e, &tok, &id).await;
    assert_eq!(a["commands"][0]["commandStatus"], "Failed", "a .ps1 script cannot run on Linux");
    let r = run(&e, &tok, linux["id"].as_str().unwrap(), vec![cmd("RunScript", &[("ScriptName", "get_processes.sh")])])
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let t: Value = serde_json::from_slice(&result_bytes(&e, &tok, &id, 0).await).unwrap();
    assert!(t["script_output"].as_str().unwrap().contains("wdavdaemon"));

    let win = e.machine_where(&tok, |m| online(m, "Windows")).await;
    let wid = win["id"].as_str().unwrap();
    let key = "HKLM:\\SOFTWARE\\Contoso";
    let r = run(
        &e,
        &tok,
        wid,
        vec![
            cmd(
                "RunScript",
                &[("ScriptName", "SetRegistryValue.ps1"), ("Args", &format!("-Path '{key}' -Name Marker -Value 42"))],
            ),
            cmd(
                "RunScript",
                &[("ScriptName", "GetRegistryValue.ps1"), ("Args", &format!("-Path '{key}' -Name Marker"))],
            ),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let t: Value = serde_json::from_slice(&result_bytes(&e, &tok, &id, 1).await).unwrap();
    assert!(t["script_output"].as_str().unwrap().contains("Marker = 42"), "{t}");
    let st = e.state(0).await;
    assert_eq!(
        machine_state(&st, wid)["liveResponse"]["registryChanges"][0],
        json!({"key": "HKLM\\SOFTWARE\\Contoso", "name": "Marker", "value": "42"})
    );
}

#[tokio::test]
async fn bad_bodies_are_400_with_the_field_named() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| online(m, "Windows")).await;
    let path = format!("/api/machines/{}/runliveresponse", m["id"].as_str().unwrap());
    let cases = [
        (json!({"commands": [], "Comment": "x"}), "InvalidRequestBody", "Commands"),
        (json!({"Comment": "x"}), "MissingRequiredParameter", "Commands"),
        (json!({"Commands": [cmd("Execute", &[])]}), "InvalidRequestBody", "Execute"),
        (json!({"Commands": [cmd("GetFile", &[])]}), "MissingRequiredParameter", "Path"),
        (json!({"Commands": [cmd("GetFile", &[("path", "C:\\x")])]}), "InvalidRequestBody", "path"),
        (
            json!({"Commands": [cmd("GetFile", &[("Path", "C:\\x")]), cmd("PutFile", &[("FileName", "a.ps1")])]}),
            "InvalidRequestBody",
            "order",
        ),
    ];
    for (body, code, needle) in cases {
        let r = e.post(&tok, &path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
        assert_eq!(r.code(), code, "{body}: {:?}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(needle), "{body}: {:?}", r.body);
    }
    let r = run(&e, &tok, "0000000000000000000000000000000000000000", vec![cmd("GetFile", &[("Path", "C:\\x")])]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ten_calls_per_minute_and_one_session_per_machine() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| online(m, "Windows")).await;
    let mid = m["id"].as_str().unwrap();
    let c = || vec![cmd("RunScript", &[("ScriptName", "GetProcesses.ps1")])];
    let first = run(&e, &tok, mid, c()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    for _ in 1..10 {
        let r = run(&e, &tok, mid, c()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        assert_eq!(r.code(), "ActiveRequestAlreadyExists");
    }
    let r = run(&e, &tok, mid, c()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Other MDE calls are not affected by the live response quota.
    assert_eq!(e.get(&tok, "/api/libraryfiles").await.status, StatusCode::OK);
}

#[tokio::test]
async fn concurrent_sessions_are_capped_offline_ones_time_out_and_cancel_frees_the_machine() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let r = e
        .admin_post("/_sandbox/settings", json!({"live_response_per_minute": 1000, "live_response_max_sessions": 2}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let machines = e.machines(&tok).await;
    let offline: Vec<&str> =
        machines.iter().filter(|m| m["healthStatus"] != "Active").map(|m| m["id"].as_str().unwrap()).collect();
    let onl: Vec<&str> = machines.iter().filter(|m| online(m, "Windows")).map(|m| m["id"].as_str().unwrap()).collect();
    let c = || vec![cmd("RunScript", &[("ScriptName", "GetProcesses.ps1")])];
    let off = run(&e, &tok, offline[0], c()).await;
    assert_eq!(off.status, StatusCode::CREATED);
    let off_id = off.body["id"].as_str().unwrap().to_string();
    let on = run(&e, &tok, onl[0], c()).await;
    assert_eq!(on.status, StatusCode::CREATED);
    let on_id = on.body["id"].as_str().unwrap().to_string();
    let third = run(&e, &tok, onl[1], c()).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", third.body);
    assert!(third.headers.contains_key("retry-after"));

    // Cancelling frees a slot and the machine.
    let r = e.post(&tok, &format!("/api/machineactions/{on_id}/cancel"), json!({"Comment": "stop"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "Cancelled");
    assert_eq!(r.body["commands"][0]["commandStatus"], "Created");
    let again = run(&e, &tok, onl[0], c()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);

    // The offline device never picks its session up: TimeOut after three days.
    e.advance(2 * 24 * 3600).await;
    let tok = e.token(0, MDE).await;
    assert_eq!(action(&e, &tok, &off_id).await["status"], "Pending");
    e.advance(24 * 3600 + 1).await;
    let tok = e.token(0, MDE).await;
    let a = action(&e, &tok, &off_id).await;
    assert_eq!(a["status"], "TimeOut");
    assert_eq!(a["commands"][0]["commandStatus"], "Created");
}

#[tokio::test]
async fn result_links_are_signed_and_expire_after_30_minutes() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| online(m, "Windows")).await;
    let r =
        run(&e, &tok, m["id"].as_str().unwrap(), vec![cmd("RunScript", &[("ScriptName", "GetProcesses.ps1")])]).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(200).await;
    let url = link(&e, &tok, &id, 0).await.body["value"].as_str().unwrap().to_string();
    assert!(url.contains("sig=") && url.contains("se="), "{url}");
    let tampered = url.replace("/0?", "/1?");
    assert_eq!(fetch(&e, &tampered).await.0, StatusCode::FORBIDDEN);
    let (status, body) = fetch(&e, &format!("{url}x")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("AuthenticationFailed"));
    assert_eq!(fetch(&e, &url).await.0, StatusCode::OK);
    e.advance(31 * 60).await;
    assert_eq!(fetch(&e, &url).await.0, StatusCode::FORBIDDEN, "expired");
    let fresh = link(&e, &tok, &id, 0).await.body["value"].as_str().unwrap().to_string();
    assert_eq!(fetch(&e, &fresh).await.0, StatusCode::OK, "a new link works again");
}

#[tokio::test]
async fn library_upload_list_override_and_delete() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let r = e.get(&tok, "/api/libraryfiles").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#LibraryFiles"));
    let names: Vec<&str> =
        r.body["value"].as_array().unwrap().iter().map(|f| f["fileName"].as_str().unwrap()).collect();
    assert!(names.contains(&"GetProcesses.ps1") && names.contains(&"KillProcess.ps1"));

    let content = b"Get-Service | Out-String".to_vec();
    let r = upload(
        &e,
        &tok,
        form(
            Some(("services.ps1", &content)),
            &[("Description", "lists services"), ("HasParameters", "false"), ("ParametersDescription", "none")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["fileName"], "services.ps1");
    assert_eq!(r.body["sha256"], hex::encode(Sha256::digest(&content)));
    assert_eq!(r.body["description"], "lists services");
    assert_eq!(r.body["hasParameters"], false);

    // Same name without OverrideIfExists: refused; with it: replaced.
    let r = upload(&e, &tok, form(Some(("services.ps1", b"v2")), &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("OverrideIfExists"));
    let r = upload(&e, &tok, form(Some(("services.ps1", b"v2")), &[("OverrideIfExists", "true")])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["sha256"], hex::encode(Sha256::digest(b"v2")));

    // Bad forms name the field.
    let r = upload(&e, &tok, form(None, &[("Description", "no file")])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "MissingRequiredParameter");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("File"));
    let r = upload(&e, &tok, form(Some(("x.ps1", b"x")), &[("HasParameters", "maybe")])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("HasParameters"));
    let r = e.post(&tok, "/api/libraryfiles", json!({"File": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("multipart/form-data"));
    let big = vec![b'a'; 20 * 1024 * 1024 + 1];
    let r = upload(&e, &tok, form(Some(("big.bin", &big)), &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("20 MB"));

    let st = e.state(0).await;
    assert!(st["libraryFiles"].as_array().unwrap().iter().any(|f| f["fileName"] == "services.ps1"));

    assert_eq!(delete(&e, &tok, "/api/libraryfiles/services.ps1").await, StatusCode::NO_CONTENT);
    assert_eq!(delete(&e, &tok, "/api/libraryfiles/services.ps1").await, StatusCode::NOT_FOUND);
    let r = e.get(&tok, "/api/libraryfiles").await;
    assert!(!r.body["value"].as_array().unwrap().iter().any(|f| f["fileName"] == "services.ps1"));

    // Library.Manage is required.
    let tenant = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{tenant}"), json!({"mde": ["Machine.Read.All"]})).await;
    let weak = e.token(0, MDE).await;
    let r = e.get(&weak, "/api/libraryfiles").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Forbidden");
}
