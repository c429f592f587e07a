//! The ARM long-running-operation completion kind (`engine::completion`), run against the
//! sandbox's ARM resource store: an `Azure-AsyncOperation` monitor to `Succeeded`, `Failed` (with
//! ARM's error body) and `Canceled`, and a `Location` monitor (VM power off) to its end. The effect
//! is read back from ARM each time. The Graph kind (`graph_accepted`) is followed through
//! resetPassword's 202 + `Location` operation to `succeeded` and to an injected `failed`.

use crate::common::*;
use catalog::Completion;
use engine::OpState;
use engine::completion::{self, MonitorHeader, Progress, Tracking};
use serde_json::{Value, json};
use std::time::Duration;
use upstream::{ApiRequest, ApiResponse};

const NETWORK: &str = "2024-05-01";
const COMPUTE: &str = "2024-07-01";

async fn arm(
    h: &Harness,
    tenant: &str,
    method: upstream::Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> ApiResponse {
    let creds = h.engine.tenants().get(tenant).expect("a configured tenant");
    let req = ApiRequest {
        api: upstream::Api::Arm,
        method,
        path: path.to_string(),
        query: vec![("api-version".into(), version.into())],
        body,
        group: Default::default(),
    };
    h.engine.upstream().call(creds, req).await.expect("ARM answers")
}

async fn follow(h: &Harness, tenant: &str, tracking: &Tracking) -> Progress {
    let creds = h.engine.tenants().get(tenant).expect("a configured tenant");
    completion::follow(h.engine.upstream(), creds, tracking, Duration::from_millis(100), Duration::from_secs(60))
        .await
        .expect("the monitor answers")
}

/// The first NSG of the seeded production resource group.
async fn nsg_path(h: &Harness, tenant: &str, sub: &str) -> String {
    let rg = format!(
        "/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Network/networkSecurityGroups"
    );
    let list = arm(h, tenant, upstream::Method::Get, &rg, NETWORK, None).await;
    list.body["value"][0]["id"].as_str().expect("a seeded NSG").to_string()
}

fn deny_rule(priority: u32) -> Value {
    json!({ "properties": {
        "protocol": "*", "sourceAddressPrefix": "203.0.113.7", "sourcePortRange": "*",
        "destinationAddressPrefix": "*", "destinationPortRange": "*",
        "access": "Deny", "priority": priority, "direction": "Inbound"
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_put_is_followed_through_azure_async_operation_to_succeeded() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = h.sandbox.describe().tenants[0].subscription_id.clone();
    let rule = format!("{}/securityRules/riposte-lro-ok", nsg_path(&h, &t, &sub).await);
    let put = arm(&h, &t, upstream::Method::Put, &rule, NETWORK, Some(deny_rule(3001))).await;
    assert_eq!(put.status, 201, "{put:?}");
    let tracking = Tracking::from_answer(Completion::ArmOperation, &put).expect("a long-running operation");
    assert!(
        matches!(&tracking, Tracking::ArmOperation(m) if m.via == MonitorHeader::AzureAsyncOperation),
        "{tracking:?}"
    );
    let Progress::Done { state, error, .. } = follow(&h, &t, &tracking).await else {
        panic!("the operation did not end")
    };
    assert_eq!((state, error), (OpState::Succeeded, None));
    let read = arm(&h, &t, upstream::Method::Get, &rule, NETWORK, None).await;
    assert_eq!(read.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(read.body["properties"]["access"], "Deny");
    assert_eq!(read.body["properties"]["sourceAddressPrefix"], "203.0.113.7");
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_failure_and_cancellation_end_with_the_arm_error() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = h.sandbox.describe().tenants[0].subscription_id.clone();
    let nsg = nsg_path(&h, &t, &sub).await;
    for (i, (status, code, want)) in [
        ("Failed", "AnotherOperationInProgress", OpState::Failed),
        ("Canceled", "OperationCanceled", OpState::Cancelled),
    ]
    .into_iter()
    .enumerate()
    {
        h.sandbox_admin(&format!("arm/{t}/outcomes"), json!({ "status": status, "code": code })).await;
        let rule = format!("{nsg}/securityRules/riposte-lro-{i}");
        let put = arm(&h, &t, upstream::Method::Put, &rule, NETWORK, Some(deny_rule(3100 + i as u32))).await;
        let tracking = Tracking::from_answer(Completion::ArmOperation, &put).expect("a long-running operation");
        let Progress::Done { state, error, .. } = follow(&h, &t, &tracking).await else {
            panic!("the operation did not end")
        };
        assert_eq!(state, want);
        assert_eq!(error.expect("ARM's error body")["code"], code);
        let read = arm(&h, &t, upstream::Method::Get, &rule, NETWORK, None).await;
        assert_ne!(read.body["properties"]["provisioningState"], "Succeeded", "{:?}", read.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn vm_power_off_is_followed_through_its_location_monitor() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = h.sandbox.describe().tenants[0].subscription_id.clone();
    let vms = arm(
        &h,
        &t,
        upstream::Method::Get,
        &format!("/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines"),
        COMPUTE,
        None,
    )
    .await;
    let vm = vms.body["value"][0]["id"].as_str().expect("a seeded VM").to_string();
    let post = arm(&h, &t, upstream::Method::Post, &format!("{vm}/powerOff"), COMPUTE, Some(json!({}))).await;
    assert_eq!(post.status, 202, "{post:?}");
    let tracking = Tracking::from_answer(Completion::ArmOperation, &post).expect("a long-running operation");
    let Progress::Done { state, .. } = follow(&h, &t, &tracking).await else { panic!("the operation did not end") };
    assert_eq!(state, OpState::Succeeded);
    let view = arm(&h, &t, upstream::Method::Get, &format!("{vm}/instanceView"), COMPUTE, None).await;
    let codes: Vec<&str> = view.body["statuses"]
        .as_array()
        .expect("instance view statuses")
        .iter()
        .filter_map(|s| s["code"].as_str())
        .collect();
    assert!(codes.contains(&"PowerState/stopped"), "{codes:?}");
}

const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";

async fn reset_password(h: &Harness, tenant: &str, user: &str) -> ApiResponse {
    let creds = h.engine.tenants().get(tenant).expect("a configured tenant");
    let req = ApiRequest {
        api: upstream::Api::Graph,
        method: upstream::Method::Post,
        path: format!("/v1.0/users/{user}/authentication/methods/{PASSWORD_METHOD}/resetPassword"),
        query: Vec::new(),
        body: Some(json!({})),
        group: Default::default(),
    };
    h.engine.upstream().call(creds, req).await.expect("Graph accepts the reset")
}

fn password_changed_at(state: &Value, user: &str) -> Value {
    state["users"].as_array().expect("users").iter().find(|u| u["id"] == user).expect("the user")["passwordChangedAt"]
        .clone()
}

/// Graph documents resetPassword as delegated-only; the sandbox refuses app tokens there unless
/// told otherwise, and Riposte's upstream holds app credentials only.
async fn allow_app_password_reset(h: &Harness) {
    h.sandbox_admin("settings", json!({ "graph_app_password_reset": true })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_reset_password_is_followed_through_its_operation_to_succeeded() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    allow_app_password_reset(&h).await;
    let user = h.state(&t).await["users"][0]["id"].as_str().expect("a seeded user").to_string();
    assert_eq!(password_changed_at(&h.state(&t).await, &user), Value::Null);

    let post = reset_password(&h, &t, &user).await;
    assert_eq!(post.status, 202, "{post:?}");
    assert!(post.body["newPassword"].is_string(), "the generated password comes back once");
    let tracking = Tracking::from_answer(Completion::GraphAccepted, &post).expect("a Graph operation");
    assert!(
        matches!(&tracking, Tracking::GraphAccepted(m) if m.via == MonitorHeader::Location && m.url.contains("/authentication/operations/")),
        "{tracking:?}"
    );
    let Progress::Done { state, error, body } = follow(&h, &t, &tracking).await else {
        panic!("the operation did not end")
    };
    assert_eq!((state, error), (OpState::Succeeded, None), "{body}");
    assert_eq!(body["status"], "succeeded");
    let changed = password_changed_at(&h.state(&t).await, &user);
    assert!(changed.is_string(), "the password changed: {changed}");
    assert_eq!(changed, body["lastActionDateTime"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_reset_password_failure_ends_failed_and_leaves_the_password() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    allow_app_password_reset(&h).await;
    h.sandbox_admin(
        &format!("graph/{t}/operations/outcomes"),
        json!({ "status": "failed", "statusDetail": "Password is in the banned list." }),
    )
    .await;
    let user = h.state(&t).await["users"][1]["id"].as_str().expect("a seeded user").to_string();

    let post = reset_password(&h, &t, &user).await;
    assert_eq!(post.status, 202, "{post:?}");
    let tracking = Tracking::from_answer(Completion::GraphAccepted, &post).expect("a Graph operation");
    let Progress::Done { state, error, .. } = follow(&h, &t, &tracking).await else {
        panic!("the operation did not end")
    };
    assert_eq!(state, OpState::Failed);
    assert_eq!(error.expect("the operation's detail")["statusDetail"], "Password is in the banned list.");
    assert_eq!(password_changed_at(&h.state(&t).await, &user), Value::Null);
}
