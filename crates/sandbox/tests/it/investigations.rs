//! Automated investigations, device lookups (findbyip, computerDnsName, logonusers) and the
//! documented options of the classic machine actions.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn online_windows(m: &Value) -> bool {
    m["healthStatus"] == "Active" && m["osPlatform"].as_str().unwrap().starts_with("Windows")
}

async fn start(e: &Env, tok: &str, machine: &str) -> Resp {
    e.post(tok, &format!("/api/machines/{machine}/startInvestigation"), json!({"Comment": "investigate"})).await
}

#[tokio::test]
async fn investigation_runs_to_a_verdict_and_is_listed() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let mid = m["id"].as_str().unwrap();
    let r = start(&e, &tok, mid).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#Investigations/$entity"));
    assert_eq!(r.body["state"], "Running");
    assert_eq!(r.body["machineId"], mid);
    assert_eq!(r.body["endTime"], Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.parse::<u64>().is_ok(), "numeric id like the documented example: {id}");
    assert!(r.body.get("type").is_none(), "an Investigation, not a MachineAction");

    // A second one on the same device while the first runs is refused.
    let dup = start(&e, &tok, mid).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(dup.code(), "ActiveRequestAlreadyExists");

    e.advance(121).await;
    let r = e.get(&tok, &format!("/api/investigations/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let expected =
        if matches!(m["riskScore"].as_str(), Some("Medium" | "High")) { "SuccessfullyRemediated" } else { "Benign" };
    assert_eq!(r.body["state"], expected);
    assert!(r.body["endTime"].is_string());

    let r = e.get(&tok, &format!("/api/investigations?$filter=machineId eq '{mid}'&$top=5")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#Investigations"));
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = e.get(&tok, "/api/investigations?$filter=state eq 'Running'").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 0);

    let st = e.state(0).await;
    assert_eq!(st["investigations"][0]["id"], id.as_str());
    assert_eq!(st["investigations"][0]["comment"], "investigate");
    assert_eq!(st["investigations"][0]["state"], expected);

    let r = e.get(&tok, "/api/investigations/999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceNotFound");
    let r = e.post(&tok, &format!("/api/machines/{mid}/startInvestigation"), json!({"comment": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "InvalidRequestBody");
}

#[tokio::test]
async fn unsupported_and_offline_devices() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let linux = e.machine_where(&tok, |m| m["osPlatform"] == "Linux" && m["healthStatus"] == "Active").await;
    let r = start(&e, &tok, linux["id"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["state"], "UnsupportedOs");

    let off = e
        .machine_where(&tok, |m| {
            m["healthStatus"] != "Active" && m["osPlatform"].as_str().unwrap().starts_with("Windows")
        })
        .await;
    let r = start(&e, &tok, off["id"].as_str().unwrap()).await;
    assert_eq!(r.body["state"], "PendingResource");
    let id = r.body["id"].as_str().unwrap().to_string();
    e.advance(3 * 24 * 3600 + 1).await;
    let tok = e.token(0, MDE).await;
    let r = e.get(&tok, &format!("/api/investigations/{id}")).await;
    assert_eq!(r.body["state"], "TerminatedBySystem");
}

#[tokio::test]
async fn start_investigation_is_limited_per_hour() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let s = e.admin_get("/_sandbox/settings").await;
    assert_eq!(s.body["investigations_per_hour"], 50, "documented default");
    e.admin_post("/_sandbox/settings", json!({"investigations_per_hour": 3})).await;
    let machines: Vec<String> = e
        .machines(&tok)
        .await
        .iter()
        .filter(|m| online_windows(m))
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    for m in &machines[..3] {
        assert_eq!(start(&e, &tok, m).await.status, StatusCode::CREATED);
    }
    let r = start(&e, &tok, &machines[3]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 60 && retry <= 3600, "hourly window: {retry}");
}

#[tokio::test]
async fn find_by_ip_honours_the_window_and_history() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let st = e.state(0).await;
    let moved = st["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["previousIpAddress"].is_object())
        .expect("a machine with an earlier lease")
        .clone();
    let id = moved["id"].as_str().unwrap();
    let current = moved["lastIpAddress"].as_str().unwrap();
    let old = moved["previousIpAddress"]["ipAddress"].as_str().unwrap();
    let until = moved["previousIpAddress"]["until"].as_str().unwrap();
    let now = st["now"].as_str().unwrap();
    let ids = |r: &Resp| -> Vec<String> {
        r.body["value"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
    };

    let r = find(&e, &tok, current, now).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#Machines"));
    assert_eq!(ids(&r), vec![id.to_string()]);
    // The old lease is not current any more ...
    assert!(ids(&find(&e, &tok, old, now).await).is_empty());
    // ... but a day before the move it was, and 10 minutes after the move is still inside ±15 min.
    let day_before = shift(until, -86_400);
    assert_eq!(ids(&find(&e, &tok, old, &day_before).await), vec![id.to_string()]);
    assert_eq!(ids(&find(&e, &tok, old, &shift(until, 600)).await), vec![id.to_string()]);
    assert!(ids(&find(&e, &tok, old, &shift(until, 1800)).await).is_empty());

    let r = find(&e, &tok, current, &shift(now, -31 * 86_400)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "older than 30 days");
    let r = find(&e, &tok, "10.0.0.300", now).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "InvalidIpAddress");
    let r = e.get(&tok, "/api/machines/findbyip(ip='10.1.0.10')").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("timestamp"));
}

async fn find(e: &Env, tok: &str, ip: &str, ts: &str) -> Resp {
    e.get(tok, &format!("/api/machines/findbyip(ip='{ip}',timestamp={ts})")).await
}

/// `ts` moved by `secs` seconds, as RFC 3339.
fn shift(ts: &str, secs: i64) -> String {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).unwrap();
    (t + time::Duration::seconds(secs)).format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn lookups_by_dns_name_and_logged_on_users() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let dns = m["computerDnsName"].as_str().unwrap();
    let r = e.get(&tok, &format!("/api/machines?$filter=computerDnsName eq '{}'", dns.to_uppercase())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["value"][0]["id"], m["id"]);
    assert!(r.body["value"][0]["ipAddresses"][0]["ipAddress"].is_string());

    let r = e.get(&tok, &format!("/api/machines/{}/logonusers", m["id"].as_str().unwrap())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let users = r.body["value"].as_array().unwrap();
    assert!(!users.is_empty());
    let st = e.state(0).await;
    for u in users {
        let account = u["accountName"].as_str().unwrap();
        assert!(
            st["users"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["userPrincipalName"].as_str().unwrap().starts_with(&format!("{account}@"))),
            "{account} is one of the tenant's users"
        );
    }
}

#[tokio::test]
async fn machine_action_options_are_validated_and_recorded() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, online_windows).await;
    let mid = m["id"].as_str().unwrap();
    let r = e
        .post(&tok, &format!("/api/machines/{mid}/isolate"), json!({"Comment": "c", "IsolationType": "Partial"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("IsolationType"));
    let r = e
        .post(&tok, &format!("/api/machines/{mid}/runAntiVirusScan"), json!({"Comment": "c", "ScanType": "Deep"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("ScanType"));
    let r = e
        .post(
            &tok,
            &format!("/api/machines/{mid}/isolate"),
            json!({"Comment": "c", "IsolationType": "UnManagedDevice"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["scope"], "UnManagedDevice");
    let pkg = e.post(&tok, &format!("/api/machines/{mid}/collectInvestigationPackage"), json!({"Comment": "c"})).await;
    assert_eq!(pkg.status, StatusCode::CREATED);
    e.advance(121).await;
    let st = e.state(0).await;
    let sm = st["machines"].as_array().unwrap().iter().find(|x| x["id"] == mid).unwrap();
    assert_eq!(sm["isolationType"], "UnManagedDevice");
    assert_eq!(sm["investigationPackages"], 1);
    let r = e.get(&tok, &format!("/api/machineactions/{}/getPackageUri", pkg.body["id"].as_str().unwrap())).await;
    assert_eq!(r.status, StatusCode::OK);
    let (status, bytes) = {
        let resp = e.http.get(r.body["value"].as_str().unwrap()).send().await.unwrap();
        (resp.status(), resp.bytes().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bytes[..4], b"PK\x05\x06", "a zip archive");
}
