//! Vulnerability management reads: inventory consistent with machines' OS, exposure counts.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn list(e: &Env, tok: &str, path: &str) -> Vec<Value> {
    let r = e.get(tok, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn machine_software_follows_its_os() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let machines = e.machines(&tok).await;
    for (os, product) in [
        ("Windows10", "microsoft-_-windows_10"),
        ("Windows11", "microsoft-_-windows_11"),
        ("WindowsServer2019", "microsoft-_-windows_server_2019"),
        ("Linux", "canonical-_-ubuntu_linux"),
        ("macOS", "apple-_-macos"),
    ] {
        let m = machines.iter().find(|m| m["osPlatform"] == os).unwrap();
        let sw = list(&e, &tok, &format!("/api/machines/{}/software", m["id"].as_str().unwrap())).await;
        assert!(sw.iter().any(|s| s["id"] == product), "{os}: {sw:?}");
        let others = ["microsoft-_-windows_10", "microsoft-_-windows_11", "microsoft-_-windows_server_2019", "canonical-_-ubuntu_linux", "apple-_-macos"];
        assert!(sw.iter().filter(|s| others.contains(&s["id"].as_str().unwrap())).count() == 1, "{os}");
        if os == "Linux" {
            assert!(!sw.iter().any(|s| s["id"] == "7-zip-_-7-zip"));
        }
    }
    assert_eq!(e.get(&tok, "/api/machines/nope/software").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exposure_counts_match_per_machine_views() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let vulns = list(&e, &tok, "/api/vulnerabilities").await;
    assert!(!vulns.is_empty());
    let machines = e.machines(&tok).await;
    // Count machines whose own vulnerability list contains each CVE.
    let mut per_cve = std::collections::HashMap::<String, u64>::new();
    for m in &machines {
        for v in list(&e, &tok, &format!("/api/machines/{}/vulnerabilities", m["id"].as_str().unwrap())).await {
            *per_cve.entry(v["id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    for v in &vulns {
        let id = v["id"].as_str().unwrap();
        assert!(id.starts_with("CVE-"));
        assert_eq!(v["exposedMachines"].as_u64().unwrap(), per_cve.get(id).copied().unwrap_or(0), "{id}");
        assert!(["Low", "Medium", "High", "Critical"].contains(&v["severity"].as_str().unwrap()));
    }
    let one = e.get(&tok, "/api/vulnerabilities/CVE-2023-4863").await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["publicExploit"], true);
    assert_eq!(e.get(&tok, "/api/vulnerabilities/CVE-1999-0001").await.status, StatusCode::NOT_FOUND);
    let sw = list(&e, &tok, "/api/Software").await;
    let chrome = sw.iter().find(|s| s["id"] == "google-_-chrome").expect("chrome installed somewhere");
    assert_eq!(chrome["weaknesses"], 1);
    let same = e.get(&tok, "/api/software/google-_-chrome").await;
    assert_eq!(same.body["exposedMachines"], chrome["exposedMachines"]);
    let high = list(&e, &tok, "/api/vulnerabilities?$filter=severity+eq+'Critical'").await;
    assert!(high.iter().all(|v| v["severity"] == "Critical"));
}

#[tokio::test]
async fn recommendations_and_remediation_tasks() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let recs = list(&e, &tok, "/api/recommendations").await;
    assert!(recs.iter().all(|r| r["id"].as_str().unwrap().starts_with("va-_-")));
    let active: Vec<&Value> = recs.iter().filter(|r| r["status"] == "Active").collect();
    assert!(!active.is_empty());
    for r in &active {
        assert!(r["exposedMachinesCount"].as_u64().unwrap() > 0);
        assert!(r["exposedMachinesCount"].as_u64() <= r["totalMachineCount"].as_u64());
    }
    let machines = e.machines(&tok).await;
    let m = machines
        .iter()
        .find(|m| m["osPlatform"] == "Windows10")
        .unwrap();
    let mrecs = list(&e, &tok, &format!("/api/machines/{}/recommendations", m["id"].as_str().unwrap())).await;
    let mvulns = list(&e, &tok, &format!("/api/machines/{}/vulnerabilities", m["id"].as_str().unwrap())).await;
    assert_eq!(mrecs.is_empty(), mvulns.is_empty());
    // No API creates remediation tasks: the list is real and empty.
    let r = e.get(&tok, "/api/remediationTasks").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["value"], json!([]));
}

#[tokio::test]
async fn tvm_reads_need_their_permissions() {
    let e = env().await;
    let t = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"mde": ["Machine.Read.All", "Software.Read.All"]})).await;
    let tok = e.token(0, MDE).await;
    assert_eq!(e.get(&tok, "/api/Software").await.status, StatusCode::OK);
    let r = e.get(&tok, "/api/vulnerabilities").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Forbidden");
}
