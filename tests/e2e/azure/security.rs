//! Azure security: Defender plans under the Azure product's names, just-in-time VM access
//! (policy, request, removal), Sentinel watchlist rows and playbook automation rules, and ARM's
//! RBAC refusal when the app lost its roles.

use super::{azure, resource, subscription};
use crate::common::*;
use serde_json::{Value, json};

fn pricing(sub: &str, plan: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/{plan}")
}

async fn props(h: &Harness, t: &str, id: &str) -> Value {
    resource(h, t, id).await.unwrap_or_else(|| panic!("no resource {id}"))["properties"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn defender_plans_and_reads_under_the_azure_names() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let s = json!({ "subscriptionId": sub });
    assert_eq!(props(&h, &t, &pricing(&sub, "SqlServers")).await["pricingTier"], "Free");

    let mut plan = s.clone();
    merge(&mut plan, json!({ "planName": "SqlServers" }));
    let (_, op) = azure(&h, &t, "EnableDefenderPlan", plan.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &pricing(&sub, "SqlServers")).await;
    assert_eq!(p["pricingTier"], "Standard");
    assert!(p["enablementTime"].is_string(), "{p}");
    let (_, op) = azure(&h, &t, "DisableDefenderPlan", plan).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &pricing(&sub, "SqlServers")).await["pricingTier"], "Free");

    let (_, op) = azure(&h, &t, "EnableAppServiceDefender", s.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &pricing(&sub, "AppServices")).await["pricingTier"], "Standard");

    let (_, op) = azure(&h, &t, "GetDefenderPlans", s.clone()).await;
    assert_eq!(op["result"]["value"].as_array().map(Vec::len), Some(12), "{op}");
    let (_, op) = azure(&h, &t, "GetSecureScore", s.clone()).await;
    assert_eq!(op["result"]["value"][0]["name"], "ascScore", "{op}");
    let (_, op) = azure(&h, &t, "GetSecurityRecommendations", s.clone()).await;
    assert!(op["result"]["count"].as_u64().unwrap_or(0) >= 4, "{op}");
    let (_, op) = azure(&h, &t, "GetRegulatoryCompliance", s.clone()).await;
    assert_eq!(op["result"]["count"], 3, "{op}");
    let (_, op) = azure(&h, &t, "GetJitAccessPolicies", s.clone()).await;
    assert_eq!(op["result"]["count"], 1, "{op}");

    let (status, body) = azure(&h, &t, "ApplySecurityRecommendation", s).await;
    assert_eq!(status, 501, "{body}");
    assert!(body.to_string().contains("GetSecurityRecommendations"), "names the nearest action: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn jit_policy_request_and_removal() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let state = h.state(&t).await;
    let vm = state["vms"].as_array().unwrap().iter().find(|v| v["resourceGroup"] == "rg-dev-servers").unwrap().clone();
    let name = vm["name"].as_str().unwrap();
    let target = json!({ "subscriptionId": sub, "resourceGroup": "rg-dev-servers", "vmName": name });
    let policy = format!(
        "/subscriptions/{sub}/resourceGroups/rg-dev-servers/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/{name}"
    );

    let (_, op) = azure(&h, &t, "EnableJITVMAccess", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &policy).await;
    assert_eq!(p["virtualMachines"][0]["id"], vm["id"], "{p}");
    let ports: Vec<u64> =
        p["virtualMachines"][0]["ports"].as_array().unwrap().iter().map(|p| p["number"].as_u64().unwrap()).collect();
    assert_eq!(ports, [22, 3389]);

    let mut request = target.clone();
    merge(
        &mut request,
        json!({ "sourceIp": "203.0.113.9", "ports": "22", "durationHours": 2, "justification": "IR-42" }),
    );
    let (_, op) = azure(&h, &t, "RequestJITAccess", request.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let requests = props(&h, &t, &policy).await["requests"].clone();
    let granted = &requests[0]["virtualMachines"][0]["ports"][0];
    assert_eq!(
        (granted["number"].clone(), granted["allowedSourceAddressPrefix"].clone()),
        (json!(22), json!("203.0.113.9"))
    );
    assert_eq!(requests[0]["justification"], "IR-42");

    let mut too_long = request.clone();
    merge(&mut too_long, json!({ "durationHours": 5 }));
    let (_, body) = azure(&h, &t, "RequestJITAccess", too_long).await;
    assert_eq!(body["error"]["code"], "InvalidEndTime", "beyond the policy's 3 hours: {body}");
    let mut not_a_port = request;
    merge(&mut not_a_port, json!({ "ports": "8000-8080" }));
    let (status, body) = azure(&h, &t, "RequestJITAccess", not_a_port).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("ports"), "{body}");

    let (_, op) = azure(&h, &t, "DisableJITVMAccess", target).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(resource(&h, &t, &policy).await.is_none(), "the policy is gone");

    let (status, body) = azure(&h, &t, "BlockJITRequest", json!({ "subscriptionId": sub })).await;
    assert_eq!(status, 501, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sentinel_watchlist_rows_are_idempotent_and_playbooks_become_automation_rules() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let workspace = "law-contoso-1-sentinel";
    let ws = format!(
        "/subscriptions/{sub}/resourceGroups/rg-data/providers/Microsoft.OperationalInsights/workspaces/{workspace}"
    );
    let items = json!([{ "Indicator": "203.0.113.7", "Source": "IR-42" }, { "Indicator": "evil.example.com", "Source": "IR-42" }]);
    let params = json!({ "subscriptionId": sub, "resourceGroup": "rg-data", "workspaceName": workspace,
                         "watchlistAlias": "HighRiskIndicators", "items": items });
    let (_, op) = azure(&h, &t, "AddSentinelWatchlist", params.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["watchlistCreated"], true, "{op}");
    let watchlist = format!("{ws}/providers/Microsoft.SecurityInsights/watchlists/HighRiskIndicators");
    assert_eq!(props(&h, &t, &watchlist).await["itemsSearchKey"], "Indicator");
    let rows = |state: &Value| {
        state["arm"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "Microsoft.SecurityInsights/watchlists/watchlistItems")
            .map(|r| r["properties"]["itemsKeyValue"]["Indicator"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&h.state(&t).await), [json!("203.0.113.7"), json!("evil.example.com")]);
    let (_, op) = azure(&h, &t, "AddSentinelWatchlist", params.clone()).await;
    assert_eq!(op["result"]["watchlistCreated"], false, "{op}");
    assert_eq!(rows(&h.state(&t).await).len(), 2, "a repeat adds no duplicate rows");

    let mut no_key = params;
    merge(&mut no_key, json!({ "items": [{ "Value": "x" }] }));
    let (_, op) = azure(&h, &t, "AddSentinelWatchlist", no_key).await;
    assert!(op.to_string().contains("items"), "a row without the search key is refused naming items: {op}");

    let rule = "8f3c2a10-5b6d-4e7f-9a01-23456789abcd";
    let (_, op) = azure(
        &h,
        &t,
        "EnableSentinelPlaybook",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-data", "workspaceName": workspace,
                "playbookName": "pb-isolate-host", "ruleId": rule }),
    )
    .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let state = h.state(&t).await;
    let automation = state["arm"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Microsoft.SecurityInsights/automationRules")
        .expect("an automation rule")
        .clone();
    let p = &automation["properties"];
    assert_eq!(p["actions"][0]["actionType"], "RunPlaybook");
    assert!(
        p["actions"][0]["actionConfiguration"]["logicAppResourceId"]
            .as_str()
            .unwrap()
            .ends_with("/workflows/pb-isolate-host")
    );
    let condition = &p["triggeringLogic"]["conditions"][0]["conditionProperties"];
    assert!(condition["propertyValues"][0].as_str().unwrap().ends_with(rule), "{condition}");
}

/// Without Contributor and Security Admin the app gets ARM's 403 `AuthorizationFailed`, and the
/// plan stays as it was; reads still work with Reader.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_role_is_arms_authorization_failed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let creds = h.engine.tenants().get(&t).expect("a configured tenant");
    for n in [2, 3] {
        let path = format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/5a5e0000-0000-4000-8000-{n:012}"
        );
        let req = upstream::ApiRequest::new(upstream::Api::Arm, upstream::Method::Delete, path)
            .with_query("api-version", "2022-04-01");
        let resp = h.engine.upstream().call(creds, req).await.expect("User Access Administrator may remove roles");
        assert_eq!(resp.status, 200);
    }
    let (status, body) =
        azure(&h, &t, "EnableDefenderPlan", json!({ "subscriptionId": sub, "planName": "KeyVaults" })).await;
    assert_eq!(body["error"]["code"], "AuthorizationFailed", "ARM's code is carried ({status}): {body}");
    assert_eq!(body["error"]["upstreamStatus"], 403, "{body}");
    assert_eq!(props(&h, &t, &pricing(&sub, "KeyVaults")).await["pricingTier"], "Free", "nothing changed");
    let (_, op) = azure(&h, &t, "GetDefenderPlans", json!({ "subscriptionId": sub })).await;
    assert_eq!(op["status"], "Succeeded", "Reader still reads: {op}");
    let (_, op) = azure(
        &h,
        &t,
        "DisableStoragePublicAccess",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-data", "storageAccountName": "stcontoso1data" }),
    )
    .await;
    assert!(op.to_string().contains("AuthorizationFailed"), "storage writes need Contributor: {op}");
}

/// Defender for Servers on one Arc machine (resource-level pricing), and the service principal
/// switch under the Azure product's names (Graph, as Entra ID's rows).
#[tokio::test(flavor = "multi_thread")]
async fn defender_on_an_arc_machine_and_service_principals_switched_off_and_on() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let arc = format!(
        "/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.HybridCompute/machines/arc-onprem-web01"
    );
    let target =
        json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "machineName": "arc-onprem-web01" });
    let (_, op) = azure(&h, &t, "EnableDefenderArc", target).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &format!("{arc}/providers/Microsoft.Security/pricings/VirtualMachines")).await;
    assert_eq!((p["pricingTier"].clone(), p["subPlan"].clone()), (json!("Standard"), json!("P1")), "{p}");
    let (status, body) = azure(
        &h,
        &t,
        "EnableDefenderArc",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "machineName": "arc-no-such-server" }),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("ResourceNotFound")), "{body}");

    let sp = |state: &Value| state["directory"]["servicePrincipals"][0].clone();
    let id = sp(&h.state(&t).await)["id"].clone();
    let (_, op) = azure(&h, &t, "DisableServicePrincipal", json!({ "servicePrincipalId": id })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(sp(&h.state(&t).await)["accountEnabled"], false);
    let (_, op) = azure(&h, &t, "EnableServicePrincipal", json!({ "servicePrincipalId": id })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(sp(&h.state(&t).await)["accountEnabled"], true, "the inverse undid it");
}
