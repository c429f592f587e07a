use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn online_windows(m: &Value) -> bool {
    m["healthStatus"] == "Active" && m["osPlatform"].as_str().unwrap().starts_with("Windows")
}

async fn action_status(e: &Env, tok: &str, id: &str) -> String {
    let r = e.get(tok, &format!("/api/machineactions/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["status"].as_str().unwrap().to_string()
}

fn state_machine<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["machines"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()
}

/// Default timings: 30 s Pending, then 90 s InProgress.
async fn run_to_completion(e: &Env, tok: &str, action_id: &str) {
    assert_eq!(action_status(e, tok, action_id).await, "Pending");
    e.advance(31).await;
    assert_eq!(action_status(e, tok, action_id).await, "InProgress");
    e.advance(91).await;
    assert_eq!(action_status(e, tok, action_id).await, "Succeeded");
}

#[tokio::test]
async fn every_action_runs_to_succeeded_with_effects() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let id = m["id"].as_str().unwrap().to_string();
    let sha1 = "a".repeat(40);
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        ("isolate", json!({"Comment": "c", "IsolationType": "Selective"}), "Isolate", Some("Selective")),
        ("unisolate", json!({"Comment": "c"}), "Unisolate", None),
        ("runAntiVirusScan", json!({"Comment": "c", "ScanType": "Quick"}), "RunAntiVirusScan", Some("Quick")),
        ("restrictCodeExecution", json!({"Comment": "c"}), "RestrictCodeExecution", None),
        ("unrestrictCodeExecution", json!({"Comment": "c"}), "UnrestrictCodeExecution", None),
        ("collectInvestigationPackage", json!({"Comment": "c"}), "CollectInvestigationPackage", None),
        ("StopAndQuarantineFile", json!({"Comment": "c", "Sha1": sha1}), "StopAndQuarantineFile", None),
        ("offboard", json!({"Comment": "c"}), "Offboard", None),
    ];
    for (path, body, ty, scope) in cases {
        let r = e.post(&tok, &format!("/api/machines/{id}/{path}"), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{path}: {:?}", r.body);
        assert_eq!(r.body["@odata.context"], e.url("/api/$metadata#MachineActions/$entity").as_str());
        assert_eq!(r.body["type"], ty);
        assert_eq!(r.body["status"], "Pending");
        assert_eq!(r.body["machineId"], id.as_str());
        assert_eq!(r.body["requestorComment"], "c");
        assert_eq!(r.body["requestor"], e.tenant(0).client_id.as_str());
        assert!(is_guid(r.body["id"].as_str().unwrap()));
        if let Some(s) = scope {
            assert_eq!(r.body["scope"], s);
        }
        let aid = r.body["id"].as_str().unwrap().to_string();
        run_to_completion(&e, &tok, &aid).await;
        let st = e.state(0).await;
        let sm = state_machine(&st, &id);
        match path {
            "isolate" => {
                assert_eq!(sm["isolated"], true);
                assert_eq!(sm["isolationType"], "Selective");
            }
            "unisolate" => assert_eq!(sm["isolated"], false),
            "runAntiVirusScan" => assert_eq!(sm["lastAntivirusScan"]["scanType"], "Quick"),
            "restrictCodeExecution" => assert_eq!(sm["codeExecutionRestricted"], true),
            "unrestrictCodeExecution" => assert_eq!(sm["codeExecutionRestricted"], false),
            "collectInvestigationPackage" => {
                assert_eq!(sm["investigationPackages"], 1);
                let r = e.get(&tok, &format!("/api/machineactions/{aid}/getPackageUri")).await;
                assert_eq!(r.status, StatusCode::OK);
                let url = r.body["value"].as_str().unwrap();
                let blob = e.http.get(url).send().await.unwrap();
                assert_eq!(blob.status(), StatusCode::OK);
            }
            "StopAndQuarantineFile" => {
                assert_eq!(sm["quarantinedSha1"], json!([sha1.clone()]));
                let r = e.get(&tok, &format!("/api/machineactions/{aid}")).await;
                assert_eq!(r.body["relatedFileInfo"]["fileIdentifier"], sha1.as_str());
                assert_eq!(r.body["relatedFileInfo"]["fileIdentifierType"], "Sha1");
            }
            "offboard" => {
                assert_eq!(sm["offboarded"], true);
                assert_eq!(sm["healthStatus"], "Inactive");
            }
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn isolate_defaults_to_full() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| m["healthStatus"] == "Active" && m["osPlatform"] == "Linux").await;
    let id = m["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["scope"], "Full");
    e.advance(200).await;
    assert_eq!(state_machine(&e.state(0).await, id)["isolationType"], "Full");
}

#[tokio::test]
async fn offline_machine_times_out() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| m["healthStatus"] != "Active").await;
    let id = m["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let aid = r.body["id"].as_str().unwrap();
    e.advance(3600).await;
    let tok = e.token(0, MDE).await;
    assert_eq!(action_status(&e, &tok, aid).await, "Pending");
    e.advance(3 * 24 * 3600).await;
    let tok = e.token(0, MDE).await;
    assert_eq!(action_status(&e, &tok, aid).await, "TimeOut");
    assert_eq!(state_machine(&e.state(0).await, id)["isolated"], false);
}

#[tokio::test]
async fn fast_mode_finishes_in_seconds() {
    let e = env_with(sandbox::SandboxConfig::new(7, 3)).await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let id = m["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    let aid = r.body["id"].as_str().unwrap().to_string();
    let start = std::time::Instant::now();
    loop {
        let s = action_status(&e, &tok, &aid).await;
        if s == "Succeeded" {
            break;
        }
        assert!(start.elapsed().as_secs() < 10, "still {s}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn duplicate_in_same_family_is_rejected() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let id = m["id"].as_str().unwrap();
    assert_eq!(
        e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "1"})).await.status,
        StatusCode::CREATED
    );
    for path in ["isolate", "unisolate"] {
        let r = e.post(&tok, &format!("/api/machines/{id}/{path}"), json!({"Comment": "2"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.code(), "ActiveRequestAlreadyExists");
        assert_eq!(r.body["error"]["message"], "Action is already in progress");
        assert!(is_guid(r.body["error"]["target"].as_str().unwrap()));
    }
    // another family is fine
    let r = e
        .post(&tok, &format!("/api/machines/{id}/runAntiVirusScan"), json!({"Comment": "3", "ScanType": "Full"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = e
        .post(&tok, &format!("/api/machines/{id}/runAntiVirusScan"), json!({"Comment": "3", "ScanType": "Full"}))
        .await;
    assert_eq!(r.code(), "ActiveRequestAlreadyExists");
    e.advance(31).await; // InProgress still blocks
    let r = e.post(&tok, &format!("/api/machines/{id}/unisolate"), json!({"Comment": "4"})).await;
    assert_eq!(r.code(), "ActiveRequestAlreadyExists");
    e.advance(100).await; // finished: allowed again
    let r = e.post(&tok, &format!("/api/machines/{id}/unisolate"), json!({"Comment": "5"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn cancel_pending_action() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let id = m["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    let aid = r.body["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machineactions/{aid}/cancel"), json!({"comment": "lower"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.post(&tok, &format!("/api/machineactions/{aid}/cancel"), json!({"Comment": "changed my mind"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "Cancelled");
    assert_eq!(r.body["cancellationComment"], "changed my mind");
    assert!(r.body["cancellationDateTimeUtc"].is_string());
    e.advance(500).await;
    assert_eq!(action_status(&e, &tok, aid).await, "Cancelled");
    assert_eq!(state_machine(&e.state(0).await, id)["isolated"], false, "cancelled action has no effect");
    let r = e.post(&tok, &format!("/api/machineactions/{aid}/cancel"), json!({"Comment": "again"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BadRequest");
    let r =
        e.post(&tok, "/api/machineactions/00000000-0000-0000-0000-000000000000/cancel", json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // a new isolate is allowed after cancel
    assert_eq!(
        e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn body_validation_is_case_sensitive() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let win = e.machine_where(&tok, online_windows).await;
    let lin = e.machine_where(&tok, |m| m["osPlatform"] == "Linux" || m["osPlatform"] == "macOS").await;
    let w = win["id"].as_str().unwrap();
    let l = lin["id"].as_str().unwrap();
    let cases: Vec<(String, Option<Value>, &str)> = vec![
        (format!("/api/machines/{w}/isolate"), Some(json!({"comment": "x"})), "InvalidRequestBody"),
        (format!("/api/machines/{w}/isolate"), Some(json!({})), "MissingRequiredParameter"),
        (
            format!("/api/machines/{w}/isolate"),
            Some(json!({"Comment": "x", "isolationType": "Full"})),
            "InvalidRequestBody",
        ),
        (
            format!("/api/machines/{w}/isolate"),
            Some(json!({"Comment": "x", "IsolationType": "Partial"})),
            "InvalidRequestBody",
        ),
        (format!("/api/machines/{w}/isolate"), Some(json!({"Comment": 5})), "InvalidRequestBody"),
        (format!("/api/machines/{w}/isolate"), None, "InvalidRequestBody"),
        (format!("/api/machines/{w}/runAntiVirusScan"), Some(json!({"Comment": "x"})), "MissingRequiredParameter"),
        (format!("/api/machines/{w}/StopAndQuarantineFile"), Some(json!({"Comment": "x"})), "MissingRequiredParameter"),
        (
            format!("/api/machines/{w}/StopAndQuarantineFile"),
            Some(json!({"Comment": "x", "Sha1": "abc"})),
            "InvalidHashValue",
        ),
        (format!("/api/machines/{l}/offboard"), Some(json!({"Comment": "x"})), "OsPlatformNotSupported"),
    ];
    for (path, body, code) in cases {
        let r = match &body {
            Some(b) => e.post(&tok, &path, b.clone()).await,
            None => e.post_raw(&tok, &path, "{not json").await,
        };
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path} {body:?}");
        assert_eq!(r.code(), code, "{path} {body:?}");
    }
    assert!(e.state(0).await["machineActions"].as_array().unwrap().is_empty(), "no action created by bad requests");
    let r = e.post(&tok, &format!("/api/machines/{}/isolate", "f".repeat(40)), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceNotFound");
}

#[tokio::test]
async fn list_and_filter_machine_actions() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let online: Vec<Value> =
        e.machines(&tok).await.into_iter().filter(|m| m["healthStatus"] == "Active").take(6).collect();
    for m in &online {
        let id = m["id"].as_str().unwrap();
        assert_eq!(
            e.post(&tok, &format!("/api/machines/{id}/runAntiVirusScan"), json!({"Comment": "s", "ScanType": "Quick"}))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let first = online[0]["id"].as_str().unwrap();
    assert_eq!(
        e.post(&tok, &format!("/api/machines/{first}/isolate"), json!({"Comment": "i"})).await.status,
        StatusCode::CREATED
    );

    let r = e.get(&tok, "/api/machineactions").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 7);
    assert_eq!(r.body["@odata.context"], e.url("/api/$metadata#MachineActions").as_str());
    let r = e.get(&tok, "/api/machineactions?$filter=type eq 'Isolate'").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = e.get(&tok, &format!("/api/machineactions?$filter=machineId eq '{first}' and status eq 'Pending'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    let r = e.get(&tok, &format!("/api/machineactions?$filter=requestor eq '{}'", e.tenant(0).client_id)).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 7);
    let r = e.get(&tok, "/api/machineactions?$filter=creationDateTimeUtc gt 2020-01-01T00:00:00Z").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 7);
    let r = e.get(&tok, "/api/machineactions?$filter=status eq 'Succeeded'").await;
    assert!(r.body["value"].as_array().unwrap().is_empty());
    let r = e.get(&tok, "/api/machineactions?$filter=title eq 'x'").await;
    assert_eq!(r.code(), "ODataError");

    let r = e.get(&tok, "/api/machineactions?$top=3").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
    let next = r.body["@odata.nextLink"].as_str().unwrap().to_string();
    assert!(next.contains("$skip=3"));
    let r = e.get(&tok, &next).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
    let r = e.get(&tok, r.body["@odata.nextLink"].as_str().unwrap()).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    assert!(r.body.get("@odata.nextLink").is_none());

    e.advance(200).await;
    let r = e.get(&tok, "/api/machineactions?$filter=status eq 'Succeeded'").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 7);
    let r = e.get(&tok, "/api/machineactions/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn package_uri_requires_success() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let id = m["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/collectInvestigationPackage"), json!({"Comment": "x"})).await;
    let aid = r.body["id"].as_str().unwrap();
    let r = e.get(&tok, &format!("/api/machineactions/{aid}/getPackageUri")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    e.advance(200).await;
    let r = e.get(&tok, &format!("/api/machineactions/{aid}/getPackageUri")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["value"].as_str().unwrap().starts_with(e.sb.base_url()));
}

#[tokio::test]
async fn injected_failure_outcome() {
    let e = env().await;
    let r = e
        .admin_post(
            "/_sandbox/faults",
            json!({"path_prefix": "/api/machines/", "method": "POST", "outcome": "Failed", "count": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let id = m["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let aid = r.body["id"].as_str().unwrap().to_string();
    e.advance(31).await;
    assert_eq!(action_status(&e, &tok, &aid).await, "InProgress");
    e.advance(100).await;
    assert_eq!(action_status(&e, &tok, &aid).await, "Failed");
    assert_eq!(state_machine(&e.state(0).await, id)["isolated"], false);
    // count was 1: the next one succeeds
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    let aid = r.body["id"].as_str().unwrap().to_string();
    run_to_completion(&e, &tok, &aid).await;
}
