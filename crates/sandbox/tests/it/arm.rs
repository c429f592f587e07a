use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn reads_groups_vms_and_nsgs() {
    let e = env().await;
    let tok = e.token(0, ARM).await;
    let sub = e.tenant(0).subscription_id.clone();
    let r = e.get(&tok, &format!("/subscriptions/{sub}?api-version=2022-12-01")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["tenantId"], e.tenant(0).tenant_id.as_str());

    let r = e.get(&tok, &format!("/subscriptions/{sub}/resourcegroups?api-version=2021-04-01")).await;
    assert_eq!(r.status, StatusCode::OK);
    let rgs = r.body["value"].as_array().unwrap();
    assert!(rgs.len() >= 3, "the seeded groups: {rgs:?}");
    assert!(rgs.iter().all(|g| g["type"] == "Microsoft.Resources/resourceGroups"));
    assert!(rgs.iter().any(|g| g["name"] == "rg-prod-servers"), "{rgs:?}");

    let r = e
        .get(&tok, &format!("/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2026-04-01"))
        .await;
    let vms = r.body["value"].as_array().unwrap();
    assert!(!vms.is_empty());
    let vm_id = vms[0]["id"].as_str().unwrap().to_string();
    let r = e.get(&tok, &format!("{vm_id}?api-version=2024-07-01")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], vm_id.as_str());
    assert!(r.body["properties"]["vmId"].is_string());
    // case-insensitive paths
    let r = e.get(&tok, &format!("{}?api-version=2024-07-01", vm_id.to_lowercase())).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = e.get(&tok, &format!("{vm_id}/instanceView?api-version=2024-07-01")).await;
    assert!(r.body["statuses"][1]["code"].as_str().unwrap().starts_with("PowerState/"));

    let r = e.get(&tok, &format!("/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Network/networkSecurityGroups?api-version=2026-03-01")).await;
    let nsgs = r.body["value"].as_array().unwrap();
    assert_eq!(nsgs.len(), 1);
    let nsg = &nsgs[0];
    let rules = nsg["properties"]["securityRules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["properties"]["access"] == "Deny"));
    assert_eq!(nsg["properties"]["defaultSecurityRules"].as_array().unwrap().len(), 6);
    let r = e
        .get(
            &tok,
            &format!(
                "{}/securityRules/{}?api-version=2024-05-01",
                nsg["id"].as_str().unwrap(),
                rules[0]["name"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["properties"]["priority"], rules[0]["properties"]["priority"]);
}

#[tokio::test]
async fn arm_errors() {
    let e = env().await;
    let tok = e.token(0, ARM).await;
    let sub = e.tenant(0).subscription_id.clone();
    let r = e.get(&tok, &format!("/subscriptions/{sub}/resourcegroups")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "MissingApiVersionParameter");
    let r = e.get(&tok, &format!("/subscriptions/{sub}/resourceGroups/nope?api-version=2021-04-01")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceGroupNotFound");
    let r = e.get(&tok, &format!("/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Compute/virtualMachines/nope?api-version=2024-07-01")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceNotFound");
    let other = e.tenant(1).subscription_id.clone();
    let r = e.get(&tok, &format!("/subscriptions/{other}/resourcegroups?api-version=2021-04-01")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = e.get(&tok, "/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "SubscriptionNotFound");
}

#[tokio::test]
async fn read_quota_headers_and_throttling() {
    let e = env().await;
    let tok = e.token(0, ARM).await;
    let sub = e.tenant(0).subscription_id.clone();
    let url = format!("/subscriptions/{sub}/resourcegroups?api-version=2021-04-01");
    let first = e.get(&tok, &url).await;
    let second = e.get(&tok, &url).await;
    let n =
        |r: &Resp| r.headers["x-ms-ratelimit-remaining-subscription-reads"].to_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(n(&first), 11_999);
    assert_eq!(n(&second), 11_998);
    e.admin_post("/_sandbox/settings", serde_json::json!({"arm_reads_per_hour": 3})).await;
    assert_eq!(e.get(&tok, &url).await.status, StatusCode::OK);
    let r = e.get(&tok, &url).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.code(), "SubscriptionRequestsThrottled");
}
