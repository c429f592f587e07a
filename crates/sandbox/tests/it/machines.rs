use crate::common::*;
use reqwest::StatusCode;
use std::collections::HashSet;

#[tokio::test]
async fn lists_the_seeded_machines() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let r = e.get(&tok, "/api/machines").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["@odata.context"], e.url("/api/$metadata#Machines").as_str());
    assert!(r.body.get("@odata.nextLink").is_none());
    let ms = r.body["value"].as_array().unwrap();
    assert!(ms.len() >= 50);
    for m in ms {
        let id = m["id"].as_str().unwrap();
        assert_eq!(id.len(), 40);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        for k in [
            "computerDnsName",
            "osPlatform",
            "healthStatus",
            "onboardingStatus",
            "riskScore",
            "exposureLevel",
            "lastIpAddress",
            "lastSeen",
            "machineTags",
        ] {
            assert!(!m[k].is_null(), "{k} in {m}");
        }
    }
    let platforms: HashSet<_> = ms.iter().map(|m| m["osPlatform"].as_str().unwrap()).collect();
    for p in ["Windows10", "Windows11", "WindowsServer2019", "Linux", "macOS"] {
        assert!(platforms.contains(p), "{p}");
    }
}

#[tokio::test]
async fn odata_filters() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let all = e.machines(&tok).await;
    let count = |f: &dyn Fn(&serde_json::Value) -> bool| all.iter().filter(|m| f(m)).count();

    let r = e.get(&tok, "/api/machines?$filter=healthStatus eq 'Active'").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.body["value"].as_array().unwrap();
    assert_eq!(v.len(), count(&|m| m["healthStatus"] == "Active"));
    assert!(v.len() < all.len() && !v.is_empty());

    let r = e.get(&tok, "/api/machines?$filter=osPlatform in ('Linux','macOS') and healthStatus ne 'Active'").await;
    assert_eq!(
        r.body["value"].as_array().unwrap().len(),
        count(&|m| (m["osPlatform"] == "Linux" || m["osPlatform"] == "macOS") && m["healthStatus"] != "Active")
    );

    let r = e.get(&tok, "/api/machines?$filter=startswith(computerDnsName,'srv-') or osPlatform eq 'Windows11'").await;
    let n = r.body["value"].as_array().unwrap().len();
    assert_eq!(
        n,
        count(&|m| m["computerDnsName"].as_str().unwrap().starts_with("srv-") || m["osPlatform"] == "Windows11")
    );
    assert!(n > 0);

    // lastSeen comparison: machines not seen in the last 7 days are exactly the stale ones
    let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(7);
    let cutoff_s = cutoff.format(&time::format_description::well_known::Rfc3339).unwrap();
    let r = e.get(&tok, &format!("/api/machines?$filter=lastSeen lt {cutoff_s}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let stale = r.body["value"].as_array().unwrap();
    assert!(!stale.is_empty());
    assert!(stale.iter().all(|m| m["healthStatus"] != "Active"));

    let r = e.get(&tok, "/api/machines?$filter=riskScore eq 'High' and rbacGroupId eq 1").await;
    assert_eq!(
        r.body["value"].as_array().unwrap().len(),
        count(&|m| m["riskScore"] == "High" && m["rbacGroupId"] == 1)
    );

    let id = all[3]["id"].as_str().unwrap();
    let r = e.get(&tok, &format!("/api/machines?$filter=id eq '{id}'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_odata_is_400_odata_error() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    for q in [
        "$filter=healthStatus eq",
        "$filter=bogusField eq 'x'",
        "$filter=healthStatus eq 'Active",
        "$filter=(osPlatform eq 'Linux'",
        "$top=abc",
        "$top=10001",
        "$skip=-1",
        "$expand=everything",
    ] {
        let r = e.get(&tok, &format!("/api/machines?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.code(), "ODataError", "{q}");
    }
}

#[tokio::test]
async fn top_skip_and_next_link_paging() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let total = e.machines(&tok).await.len();
    let mut url = e.url("/api/machines?$top=25");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = e.get(&tok, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}");
        let v = r.body["value"].as_array().unwrap();
        assert!(v.len() <= 25);
        seen.extend(v.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        pages += 1;
        match r.body.get("@odata.nextLink").and_then(|l| l.as_str()) {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, total.div_ceil(25));
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), total);

    let r = e.get(&tok, "/api/machines?$top=5&$skip=58").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), total - 58);
    assert!(r.body.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn get_machine_and_404() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = &e.machines(&tok).await[0];
    let id = m["id"].as_str().unwrap();
    let r = e.get(&tok, &format!("/api/machines/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["@odata.context"], e.url("/api/$metadata#Machines/$entity").as_str());
    let missing = "0".repeat(40);
    let r = e.get(&tok, &format!("/api/machines/{missing}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceNotFound");
    assert_eq!(r.body["error"]["message"], format!("Machine {missing} was not found").as_str());
    let r = e.get(&tok, &format!("/api/machines/{id}/logonusers")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body["value"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn rate_limit_429_with_retry_after() {
    let e = env().await;
    let r = e.admin_post("/_sandbox/settings", serde_json::json!({"mde_per_minute": 5})).await;
    assert_eq!(r.status, StatusCode::OK);
    let tok = e.token(0, MDE).await;
    for _ in 0..5 {
        assert_eq!(e.get(&tok, "/api/machines?$top=1").await.status, StatusCode::OK);
    }
    let r = e.get(&tok, "/api/machines?$top=1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "TooManyRequests");
    let ra: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&ra), "{ra}");
    // per tenant
    let other = e.token(1, MDE).await;
    assert_eq!(e.get(&other, "/api/machines?$top=1").await.status, StatusCode::OK);
    let stats = e.admin_get("/_sandbox/stats").await.body;
    assert_eq!(stats["throttled"][&e.tenant(0).tenant_id], 1);
    // raising the limit lets the tenant through again
    e.sb.set_mde_limits(1000, 10000);
    assert_eq!(e.get(&tok, "/api/machines?$top=1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn hourly_quota_applies_too() {
    let e = env().await;
    e.admin_post("/_sandbox/settings", serde_json::json!({"mde_per_minute": 100, "mde_per_hour": 3})).await;
    let tok = e.token(0, MDE).await;
    for _ in 0..3 {
        assert_eq!(e.get(&tok, "/api/machines?$top=1").await.status, StatusCode::OK);
    }
    let r = e.get(&tok, "/api/machines?$top=1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let ra: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(ra > 60 && ra <= 3600, "{ra}");
}
