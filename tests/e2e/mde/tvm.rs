//! Vulnerability management reads through Riposte: the machines exposed to a CVE, the machines
//! with a software product, and a product's vulnerabilities equal what the sandbox's own MDE API
//! says per machine (`/api/machines/{id}/vulnerabilities` and `/software`).

use crate::common::*;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// Item id -> the machines whose own `kind` list (`vulnerabilities`, `software`) holds it.
async fn per_machine(mde: &Mde, h: &Harness, machines: &[Value], kind: &str) -> HashMap<String, BTreeSet<String>> {
    let mut map: HashMap<String, BTreeSet<String>> = HashMap::new();
    for m in machines {
        let mid = m["id"].as_str().unwrap();
        for v in mde.list(h, &format!("/api/machines/{mid}/{kind}")).await {
            map.entry(v["id"].as_str().unwrap().to_string()).or_default().insert(mid.to_string());
        }
    }
    map
}

fn ids(v: &Value) -> BTreeSet<String> {
    v["value"]
        .as_array()
        .unwrap_or_else(|| panic!("a collection: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

async fn read(h: &Harness, t: &str, action: &str, params: Value) -> Value {
    let (status, body) = h.mde(t, action, params).await;
    assert_eq!(status, 200, "{action}: {body}");
    assert_eq!(body["success"], true, "{action}: {body}");
    body["data"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn tvm_related_reads_match_the_sandbox_per_machine_views() {
    let h = Harness::start_with(1, |s| s.unlimited_budgets = true).await;
    // Two reads per machine plus the reads below exceed MDE's 100 calls a minute.
    h.sandbox_admin("settings", json!({ "mde_per_minute": 100_000, "mde_per_hour": 1_000_000 })).await;
    let t = h.tenant(0);
    let mde = Mde::connect(&h, &t).await;
    let machines = mde.list(&h, "/api/machines").await;
    let by_cve = per_machine(&mde, &h, &machines, "vulnerabilities").await;
    let by_software = per_machine(&mde, &h, &machines, "software").await;

    // GetVulnerabilityDevices: the machines whose own vulnerability list names the CVE.
    let cves = read(&h, &t, "GetVulnerabilities", json!({})).await;
    let mut exposed = 0;
    for v in cves["value"].as_array().unwrap() {
        let cve = v["id"].as_str().unwrap();
        let data = read(&h, &t, "GetVulnerabilityDevices", json!({ "cveId": cve })).await;
        let got = ids(&data);
        assert_eq!(got, by_cve.get(cve).cloned().unwrap_or_default(), "{cve}");
        exposed += usize::from(!got.is_empty());
        for r in data["value"].as_array().unwrap() {
            let m = machines.iter().find(|m| m["id"] == r["id"]).unwrap();
            assert_eq!(r["computerDnsName"], m["computerDnsName"], "{cve}");
        }
    }
    assert!(exposed > 0, "some CVE is exposed somewhere");

    // GetSoftwareDevices and GetSoftwareVulnerabilities for every product in the inventory.
    let software = read(&h, &t, "GetSoftware", json!({})).await;
    let software = software["value"].as_array().unwrap();
    assert!(!software.is_empty());
    for s in software {
        let id = s["id"].as_str().unwrap();
        let devices = read(&h, &t, "GetSoftwareDevices", json!({ "softwareId": id })).await;
        assert_eq!(ids(&devices), by_software[id], "{id}");
        let vulns = read(&h, &t, "GetSoftwareVulnerabilities", json!({ "softwareId": id })).await;
        let vulns = vulns["value"].as_array().unwrap();
        assert_eq!(vulns.len() as u64, s["weaknesses"].as_u64().unwrap(), "{id}");
        for v in vulns {
            let cve = v["id"].as_str().unwrap();
            let on = by_cve.get(cve).cloned().unwrap_or_default();
            assert_eq!(v["exposedMachines"].as_u64().unwrap(), on.len() as u64, "{id} {cve}");
            if s["exposedMachines"].as_u64().unwrap() > 0 {
                assert!(
                    on.iter().any(|m| by_software[id].contains(m)),
                    "{id} {cve} is exposed where {id} is installed"
                );
            }
        }
    }

    // The seed's aliases and $top reach the same reads.
    let first = software[0]["id"].as_str().unwrap();
    let top = read(&h, &t, "GetSoftwareMachines", json!({ "id": first, "top": 1 })).await;
    assert_eq!(top["value"].as_array().unwrap().len(), 1.min(by_software[first].len()));

    // Unknown ids are Microsoft's 404, passed on.
    let (status, body) = h.mde(&t, "GetVulnerabilityDevices", json!({ "cveId": "CVE-1999-0001" })).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = h.mde(&t, "GetSoftwareDevices", json!({ "softwareId": "nobody-_-nothing" })).await;
    assert_eq!(status, 404, "{body}");
}
