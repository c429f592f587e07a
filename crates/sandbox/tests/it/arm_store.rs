//! The ARM resource store: writes, long-running operations, provider validation, VM actions,
//! quotas and api-versions, asserted through ARM itself and `/_sandbox/state`.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NET: &str = "api-version=2024-05-01";
const CMP: &str = "api-version=2024-07-01";

struct Arm {
    e: Env,
    tok: String,
    sub: String,
}

async fn arm() -> Arm {
    let e = env().await;
    let tok = e.token(0, ARM).await;
    let sub = e.tenant(0).subscription_id.clone();
    Arm { e, tok, sub }
}

impl Arm {
    fn nsg(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-prod-servers/providers/Microsoft.Network/networkSecurityGroups/{name}",
            self.sub
        )
    }

    async fn call(&self, m: Method, path: &str, body: Option<Value>) -> Resp {
        self.e.send(m, &self.tok, path, body).await
    }

    /// Polls an `Azure-AsyncOperation` URL.
    async fn op_status(&self, r: &Resp) -> Value {
        let url = r.headers["azure-asyncoperation"].to_str().unwrap();
        let p = self.e.get(&self.tok, url).await;
        assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
        p.body
    }
}

fn rule(priority: i64, direction: &str) -> Value {
    json!({"properties": {"protocol": "Tcp", "sourceAddressPrefix": "203.0.113.7", "destinationAddressPrefix": "*",
        "access": "Deny", "destinationPortRange": "*", "sourcePortRange": "*", "priority": priority, "direction": direction}})
}

#[tokio::test]
async fn security_rule_lifecycle_through_an_async_operation() {
    let a = arm().await;
    let path = format!("{}/securityRules/BlockAttacker?{NET}", a.nsg("nsg-prod-servers"));
    let r = a.call(Method::PUT, &path, Some(rule(150, "Inbound"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Updating");
    assert!(r.body["id"].as_str().unwrap().ends_with("/securityRules/BlockAttacker"));
    assert!(r.headers.contains_key("retry-after"));
    assert!(r.headers.contains_key("x-ms-ratelimit-remaining-subscription-writes"));
    assert_eq!(a.op_status(&r).await["status"], "InProgress");
    // The Network provider serialises writes on the NSG while the operation runs.
    let busy = a
        .call(
            Method::PUT,
            &format!("{}/securityRules/Other?{NET}", a.nsg("nsg-prod-servers")),
            Some(rule(160, "Inbound")),
        )
        .await;
    assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(busy.code(), "RetryableErrorDueToAnotherOperation");
    a.e.advance(60).await;
    let st = a.op_status(&r).await;
    assert_eq!(st["status"], "Succeeded", "{st}");
    assert!(st["endTime"].is_string());
    let got = a.call(Method::GET, &path, None).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    // Replace is 200; the NSG view embeds the rule.
    let r2 = a.call(Method::PUT, &path, Some(rule(151, "Inbound"))).await;
    assert_eq!(r2.status, StatusCode::OK);
    a.e.advance(60).await;
    let nsg = a.call(Method::GET, &format!("{}?{NET}", a.nsg("NSG-PROD-SERVERS")), None).await;
    let rules = nsg.body["properties"]["securityRules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["name"] == "BlockAttacker" && r["properties"]["priority"] == 151));
    let list = a.call(Method::GET, &format!("{}/securityRules?{NET}", a.nsg("nsg-prod-servers")), None).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), rules.len());
    // Visible in the sandbox state.
    let state = a.e.state(0).await;
    assert!(
        state["arm"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"].as_str().unwrap().ends_with("BlockAttacker"))
    );
    // DELETE: 202 + Location, 204 once gone.
    let d = a.call(Method::DELETE, &path, None).await;
    assert_eq!(d.status, StatusCode::ACCEPTED);
    let loc = d.headers["location"].to_str().unwrap().to_string();
    assert_eq!(a.e.get(&a.tok, &loc).await.status, StatusCode::ACCEPTED);
    a.e.advance(60).await;
    assert_eq!(a.e.get(&a.tok, &loc).await.status, StatusCode::NO_CONTENT);
    assert_eq!(a.call(Method::GET, &path, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(a.call(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn security_rule_validation() {
    let a = arm().await;
    let base = a.nsg("nsg-prod-servers");
    // AllowRdpFromCorp is Inbound priority 100.
    let r = a.call(Method::PUT, &format!("{base}/securityRules/Clash?{NET}"), Some(rule(100, "Inbound"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "SecurityRuleConflict");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("AllowRdpFromCorp"));
    let r = a.call(Method::PUT, &format!("{base}/securityRules/Low?{NET}"), Some(rule(50, "Inbound"))).await;
    assert_eq!(r.code(), "SecurityRuleInvalidPriority");
    let r = a.call(Method::PUT, &format!("{base}/securityRules/High?{NET}"), Some(rule(4097, "Outbound"))).await;
    assert_eq!(r.code(), "SecurityRuleInvalidPriority");
    // Same priority, other direction is fine.
    let r = a.call(Method::PUT, &format!("{base}/securityRules/Out100?{NET}"), Some(rule(100, "Outbound"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = a.call(Method::PUT, &format!("{}/securityRules/x?{NET}", a.nsg("nope")), Some(rule(300, "Inbound"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ParentResourceNotFound");
    let r = a
        .call(Method::PUT, &format!("{base}/defaultSecurityRules/DenyAllInBound?{NET}"), Some(rule(300, "Inbound")))
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = a.e.get(&a.tok, &format!("{base}/defaultSecurityRules/DenyAllInBound?{NET}")).await;
    assert_eq!(r.body["properties"]["priority"], 65500);
}

#[tokio::test]
async fn api_versions_are_checked_per_type() {
    let a = arm().await;
    let r = a.e.get(&a.tok, &format!("{}?api-version=2031-01-01", a.nsg("nsg-prod-servers"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "NoRegisteredProviderFound");
    let r = a.e.get(&a.tok, &format!("{}?api-version=yesterday", a.nsg("nsg-prod-servers"))).await;
    assert_eq!(r.code(), "InvalidApiVersionParameter");
    let r = a.e.get(&a.tok, &format!("/subscriptions/{}/resourcegroups?api-version=2031-01-01", a.sub)).await;
    assert_eq!(r.code(), "InvalidApiVersionParameter");
    let r =
        a.e.get(
            &a.tok,
            &format!("/subscriptions/{}/resourceGroups/rg-network/providers/Microsoft.Nope/things?{NET}", a.sub),
        )
        .await;
    assert_eq!(r.code(), "InvalidResourceNamespace");
    assert!(r.headers.contains_key("x-ms-request-id"));
    assert!(r.headers.contains_key("x-ms-correlation-request-id"));
}

#[tokio::test]
async fn vm_power_off_and_start_with_instance_view() {
    let a = arm().await;
    let vms =
        a.e.get(&a.tok, &format!("/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?{CMP}", a.sub)).await;
    let vm = vms.body["value"][0]["id"].as_str().unwrap().to_string();
    let start = a.call(Method::POST, &format!("{vm}/start?{CMP}"), None).await;
    assert_eq!(start.status, StatusCode::ACCEPTED);
    a.e.advance(60).await;
    let r = a.call(Method::POST, &format!("{vm}/powerOff?{CMP}&skipShutdown=false"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.headers.contains_key("location"));
    let iv = a.e.get(&a.tok, &format!("{vm}/instanceView?{CMP}")).await;
    assert_eq!(iv.body["statuses"][1]["code"], "PowerState/stopping");
    let got = a.e.get(&a.tok, &format!("{vm}?{CMP}")).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Updating");
    a.e.advance(60).await;
    assert_eq!(a.op_status(&r).await["status"], "Succeeded");
    let got = a.e.get(&a.tok, &format!("{vm}?{CMP}&$expand=instanceView")).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(got.body["properties"]["instanceView"]["statuses"][1]["code"], "PowerState/stopped");
    let state = a.e.state(0).await;
    let sv = state["vms"].as_array().unwrap().iter().find(|v| v["id"] == vm.as_str()).unwrap();
    assert_eq!(sv["powerState"], "stopped");
    // deallocate preempted by start: the first operation is Canceled.
    let d = a.call(Method::POST, &format!("{vm}/deallocate?{CMP}"), None).await;
    let s = a.call(Method::POST, &format!("{vm}/start?{CMP}"), None).await;
    let st = a.op_status(&d).await;
    assert_eq!(st["status"], "Canceled");
    assert_eq!(st["error"]["code"], "OperationPreempted");
    a.e.advance(60).await;
    assert_eq!(a.op_status(&s).await["status"], "Succeeded");
    let iv = a.e.get(&a.tok, &format!("{vm}/instanceView?{CMP}")).await;
    assert_eq!(iv.body["statuses"][1]["code"], "PowerState/running");
}

#[tokio::test]
async fn injected_failure_ends_the_operation_failed() {
    let a = arm().await;
    let tid = a.e.tenant(0).tenant_id.clone();
    let r =
        a.e.admin_post(
            &format!("/_sandbox/arm/{tid}/outcomes"),
            json!({"status": "Failed", "code": "AllocationFailed", "message": "no capacity"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let vms =
        a.e.get(&a.tok, &format!("/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?{CMP}", a.sub)).await;
    let vm = vms.body["value"][0]["id"].as_str().unwrap().to_string();
    let before = a.e.get(&a.tok, &format!("{vm}/instanceView?{CMP}")).await.body["statuses"][1]["code"].clone();
    let r = a.call(Method::POST, &format!("{vm}/restart?{CMP}"), None).await;
    a.e.advance(60).await;
    let st = a.op_status(&r).await;
    assert_eq!(st["status"], "Failed");
    assert_eq!(st["error"]["code"], "AllocationFailed");
    let got = a.e.get(&a.tok, &format!("{vm}?{CMP}&$expand=instanceView")).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Failed");
    assert_eq!(got.body["properties"]["instanceView"]["statuses"][1]["code"], before);
}

#[tokio::test]
async fn resource_groups_nsgs_snapshots_and_patch() {
    let a = arm().await;
    let rg = format!("/subscriptions/{}/resourceGroups/rg-ir?api-version=2021-04-01", a.sub);
    let r = a.call(Method::PUT, &rg, Some(json!({"location": "westeurope", "tags": {"case": "42"}}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(a.call(Method::PUT, &rg, Some(json!({"location": "westeurope"}))).await.status, StatusCode::OK);
    let r = a.call(Method::PUT, &rg.replace("rg-ir", "rg-bad"), Some(json!({}))).await;
    assert_eq!(r.code(), "LocationRequired");
    // An NSG with inline rules; the rules become child resources.
    let nsg = format!(
        "/subscriptions/{}/resourceGroups/rg-ir/providers/Microsoft.Network/networkSecurityGroups/quarantine",
        a.sub
    );
    let body = json!({"location": "westeurope", "properties": {"securityRules": [
        {"name": "DenyIn", "properties": {"protocol": "*", "access": "Deny", "direction": "Inbound", "priority": 100, "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "*"}},
        {"name": "DenyOut", "properties": {"protocol": "*", "access": "Deny", "direction": "Outbound", "priority": 100, "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "*"}}
    ]}});
    let r = a.call(Method::PUT, &format!("{nsg}?{NET}"), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["properties"]["securityRules"].as_array().unwrap().len(), 2);
    a.e.advance(60).await;
    let rule = a.e.get(&a.tok, &format!("{nsg}/securityRules/DenyOut?{NET}")).await;
    assert_eq!(rule.status, StatusCode::OK);
    // PATCH tags is synchronous.
    let r = a.call(Method::PATCH, &format!("{nsg}?{NET}"), Some(json!({"tags": {"quarantined": "yes"}}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["tags"]["quarantined"], "yes");
    // Snapshot of a VM's OS disk.
    let vms =
        a.e.get(&a.tok, &format!("/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?{CMP}", a.sub)).await;
    let disk = vms.body["value"][0]["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let snap = format!(
        "/subscriptions/{}/resourceGroups/rg-ir/providers/Microsoft.Compute/snapshots/evidence-1?api-version=2023-10-02",
        a.sub
    );
    let r = a.call(Method::PUT, &snap, Some(json!({"location": "westeurope", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk}}}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert!(r.headers.contains_key("location"));
    assert_eq!(r.body["properties"]["diskSizeGB"], 128);
    let r = a.call(Method::PUT, &snap.replace("evidence-1", "evidence-2"), Some(json!({"location": "westeurope", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": format!("{disk}-gone")}}}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Deleting the group removes what it holds.
    let d = a.call(Method::DELETE, &rg, None).await;
    assert_eq!(d.status, StatusCode::ACCEPTED);
    assert!(d.headers.contains_key("location"));
    a.e.advance(60).await;
    assert_eq!(a.e.get(&a.tok, &rg).await.status, StatusCode::NOT_FOUND);
    assert_eq!(a.e.get(&a.tok, &format!("{nsg}?{NET}")).await.code(), "ResourceGroupNotFound");
}

#[tokio::test]
async fn write_quota_throttles_with_retry_after() {
    let a = arm().await;
    a.e.admin_post("/_sandbox/settings", json!({"arm_writes_per_hour": 2})).await;
    let rg = |n: &str| format!("/subscriptions/{}/resourceGroups/{n}?api-version=2021-04-01", a.sub);
    let first = a.call(Method::PUT, &rg("a"), Some(json!({"location": "westeurope"}))).await;
    assert_eq!(first.headers["x-ms-ratelimit-remaining-subscription-writes"], "1");
    a.call(Method::PUT, &rg("b"), Some(json!({"location": "westeurope"}))).await;
    let r = a.call(Method::PUT, &rg("c"), Some(json!({"location": "westeurope"}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "SubscriptionRequestsThrottled");
    assert!(r.headers.contains_key("retry-after"));
    // Reads have their own quota.
    assert_eq!(a.e.get(&a.tok, &rg("a")).await.status, StatusCode::OK);
}
