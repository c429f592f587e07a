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
        let others = [
            "microsoft-_-windows_10",
            "microsoft-_-windows_11",
            "microsoft-_-windows_server_2019",
            "canonical-_-ubuntu_linux",
            "apple-_-macos",
        ];
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
    let m = machines.iter().find(|m| m["osPlatform"] == "Windows10").unwrap();
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

fn ids(list: &[Value]) -> std::collections::BTreeSet<String> {
    list.iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
}

/// Per machine view of one kind (`vulnerabilities` or `software`): item id -> machine ids.
async fn per_machine(
    e: &Env,
    tok: &str,
    machines: &[Value],
    kind: &str,
) -> std::collections::HashMap<String, std::collections::BTreeSet<String>> {
    let mut map = std::collections::HashMap::<String, std::collections::BTreeSet<String>>::new();
    for m in machines {
        let mid = m["id"].as_str().unwrap();
        for v in list(e, tok, &format!("/api/machines/{mid}/{kind}")).await {
            map.entry(v["id"].as_str().unwrap().to_string()).or_default().insert(mid.to_string());
        }
    }
    map
}

#[tokio::test]
async fn machine_references_match_per_machine_views() {
    let e = env().await;
    // Three reads per machine and two per product: more than MDE's 100 calls a minute.
    let r = e.admin_post("/_sandbox/settings", json!({"mde_per_minute": 10_000, "mde_per_hour": 100_000})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let tok = e.token(0, MDE).await;
    let machines = e.machines(&tok).await;
    let by_cve = per_machine(&e, &tok, &machines, "vulnerabilities").await;
    let by_software = per_machine(&e, &tok, &machines, "software").await;
    let mut exposed_somewhere = 0;
    for v in list(&e, &tok, "/api/vulnerabilities").await {
        let id = v["id"].as_str().unwrap();
        let refs = e.get(&tok, &format!("/api/vulnerabilities/{id}/machineReferences")).await;
        assert_eq!(refs.status, StatusCode::OK, "{id}: {:?}", refs.body);
        assert_eq!(refs.body["@odata.context"], e.url("/api/$metadata#MachineReferences").as_str());
        let refs = refs.body["value"].as_array().unwrap().clone();
        assert_eq!(ids(&refs), by_cve.get(id).cloned().unwrap_or_default(), "{id}");
        assert_eq!(refs.len() as u64, v["exposedMachines"].as_u64().unwrap(), "{id}");
        exposed_somewhere += usize::from(!refs.is_empty());
        for r in &refs {
            let m = machines.iter().find(|m| m["id"] == r["id"]).unwrap();
            for field in ["computerDnsName", "osPlatform", "rbacGroupName"] {
                assert_eq!(r[field], m[field], "{id} {field}");
            }
        }
    }
    assert!(exposed_somewhere > 0, "the world exposes some machine to some CVE");
    let software = list(&e, &tok, "/api/Software").await;
    assert!(!software.is_empty());
    for s in &software {
        let id = s["id"].as_str().unwrap();
        let refs = list(&e, &tok, &format!("/api/Software/{id}/machineReferences")).await;
        assert_eq!(ids(&refs), by_software[id], "{id}");
        let vulns = list(&e, &tok, &format!("/api/Software/{id}/vulnerabilities")).await;
        assert_eq!(vulns.len() as u64, s["weaknesses"].as_u64().unwrap(), "{id}");
        // Each CVE of the software is exposed on machines that have the software installed.
        for v in &vulns {
            let cve = v["id"].as_str().unwrap();
            let exposed = by_cve.get(cve).cloned().unwrap_or_default();
            assert_eq!(v["exposedMachines"].as_u64().unwrap(), exposed.len() as u64, "{id} {cve}");
            if s["exposedMachines"].as_u64().unwrap() > 0 {
                assert!(exposed.iter().any(|m| by_software[id].contains(m)), "{id} {cve}");
            }
        }
    }
}

#[tokio::test]
async fn related_reads_route_like_aspnet_and_page() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let cve = list(&e, &tok, "/api/vulnerabilities?$filter=exposedMachines+gt+1").await;
    let id = cve[0]["id"].as_str().unwrap();
    // Case-insensitive segments and ids, as ASP.NET routes them.
    let a = list(&e, &tok, &format!("/api/vulnerabilities/{id}/machineReferences")).await;
    let b = list(&e, &tok, &format!("/api/Vulnerabilities/{}/MACHINEREFERENCES", id.to_lowercase())).await;
    assert_eq!(a, b);
    let one = list(&e, &tok, &format!("/api/vulnerabilities/{id}/machineReferences?$top=1")).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], a[0]);
    let linux =
        list(&e, &tok, &format!("/api/vulnerabilities/{id}/machineReferences?$filter=osPlatform+eq+'Linux'")).await;
    let expected: Vec<Value> = a.iter().filter(|m| m["osPlatform"] == "Linux").cloned().collect();
    assert_eq!(linux, expected);
    // Unknown entities and sub-resources are Microsoft's 404s.
    for path in [
        "/api/vulnerabilities/CVE-1999-0001/machineReferences",
        "/api/Software/nobody-_-nothing/machineReferences",
        "/api/Software/nobody-_-nothing/vulnerabilities",
        "/api/Software/google-_-chrome/distributions-nope",
        "/api/vulnerabilities/CVE-2023-4863/software-nope",
    ] {
        let r = e.get(&tok, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {:?}", r.body);
    }
    let sw = list(&e, &tok, "/api/software").await;
    let sid = sw[0]["id"].as_str().unwrap();
    assert_eq!(
        list(&e, &tok, &format!("/api/software/{sid}/MachineReferences")).await,
        list(&e, &tok, &format!("/api/Software/{sid}/machineReferences")).await
    );
}

#[tokio::test]
async fn offboarded_machines_leave_machine_references() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let vulns = list(&e, &tok, "/api/vulnerabilities?$filter=exposedMachines+gt+0").await;
    // An online machine exposed to some CVE.
    let mut target = None;
    for v in &vulns {
        let id = v["id"].as_str().unwrap().to_string();
        for r in list(&e, &tok, &format!("/api/vulnerabilities/{id}/machineReferences")).await {
            let m = e.get(&tok, &format!("/api/machines/{}", r["id"].as_str().unwrap())).await.body;
            if m["healthStatus"] == "Active" {
                target = Some((id.clone(), r["id"].as_str().unwrap().to_string()));
                break;
            }
        }
        if target.is_some() {
            break;
        }
    }
    let (cve, mid) = target.expect("an online exposed machine");
    let r = e.post(&tok, &format!("/api/machines/{mid}/offboard"), json!({"Comment": "gone"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    e.advance(31).await;
    e.advance(91).await;
    let sm = e.state(0).await;
    let sm = sm["machines"].as_array().unwrap().iter().find(|m| m["id"] == mid.as_str()).unwrap().clone();
    assert_eq!(sm["offboarded"], true);
    let refs = list(&e, &tok, &format!("/api/vulnerabilities/{cve}/machineReferences")).await;
    assert!(!refs.iter().any(|r| r["id"] == mid.as_str()), "{refs:?}");
    let v = e.get(&tok, &format!("/api/vulnerabilities/{cve}")).await.body;
    assert_eq!(v["exposedMachines"].as_u64().unwrap(), refs.len() as u64);
}

#[tokio::test]
async fn related_reads_need_their_permissions() {
    let e = env().await;
    let t = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"mde": ["Machine.Read.All", "Software.Read.All"]})).await;
    let tok = e.token(0, MDE).await;
    let sw = list(&e, &tok, "/api/Software").await;
    let sid = sw[0]["id"].as_str().unwrap();
    assert_eq!(e.get(&tok, &format!("/api/Software/{sid}/machineReferences")).await.status, StatusCode::OK);
    for path in [
        format!("/api/Software/{sid}/vulnerabilities"),
        "/api/vulnerabilities/CVE-2023-4863/machineReferences".to_string(),
    ] {
        let r = e.get(&tok, &path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.code(), "Forbidden");
    }
}
