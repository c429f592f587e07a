//! The original project's own Azure and Defender for Cloud requests, as it sent them: every
//! Azure and MDC entry of the seed's action list (`original_requests.json`: its route, action
//! name and the parameters it required, nothing else), once with values the sandbox holds and
//! once with names that exist nowhere and malformed addresses. Each answer must be JSON with a
//! real status, in time: 2xx, or a 4xx naming what is wrong; never a 5xx (the one 5xx allowed is
//! 501 `NotSupported`, the documented answer of an action with no API), never a hang.

use super::subscription;
use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;

const REQUESTS: &str = include_str!("original_requests.json");

/// Values the sandbox's world holds, by the original's parameter names.
struct Real {
    sub: String,
    vm: String,
    application: String,
    service_principal: String,
    alert: String,
}

impl Real {
    async fn read(h: &Harness, t: &str) -> Real {
        let state = h.state(t).await;
        let vm = state["vms"].as_array().unwrap().iter().find(|v| v["resourceGroup"] == "rg-prod-servers").unwrap();
        let alert = state["arm"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Microsoft.Security/locations/alerts")
            .expect("a Defender for Cloud alert");
        Real {
            sub: subscription(h, t).await,
            vm: vm["name"].as_str().unwrap().to_string(),
            application: state["directory"]["applications"][0]["id"].as_str().unwrap().to_string(),
            service_principal: state["directory"]["servicePrincipals"][0]["id"].as_str().unwrap().to_string(),
            alert: alert["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string(),
        }
    }

    /// A value for the original's parameter `name`; `wrong` gives one that exists nowhere.
    fn value(&self, name: &str, wrong: bool) -> Value {
        let missing = json!("riposte-probe-missing");
        match name {
            "subscriptionId" => json!(self.sub),
            "resourceGroup" if wrong => missing,
            "resourceGroup" => json!("rg-prod-servers"),
            "vmName" if !wrong => json!(self.vm),
            "nsgName" if !wrong => json!("nsg-prod-servers"),
            "sourceIp" | "sourceIP" | "ipAddress" if wrong => json!("203.0.113.300"),
            "sourceIp" | "sourceIP" | "ipAddress" => json!("203.0.113.77"),
            "applicationId" if wrong => json!("00000000-0000-4000-8000-0000000000aa"),
            "applicationId" => json!(self.application),
            "servicePrincipalId" if wrong => json!("00000000-0000-4000-8000-0000000000bb"),
            "servicePrincipalId" => json!(self.service_principal),
            "alertId" if !wrong => json!(self.alert),
            "status" => json!("Dismissed"),
            "planName" | "defenderPlan" if wrong => json!("Mainframes"),
            "planName" | "defenderPlan" => json!("StorageAccounts"),
            "priority" => json!(3000),
            "allowedIPs" => json!(["198.51.100.0/24"]),
            "countryCodes" => json!(["KP"]),
            "items" => json!([{ "Indicator": "198.51.100.1" }]),
            "matchConditions" => json!([]),
            "parameters" => json!({}),
            "async" => json!(false),
            "timeout" => json!(60),
            "script" => json!("echo riposte"),
            "scriptUri" => json!("https://riposte-probe.example.com/script.sh"),
            _ => missing,
        }
    }
}

/// Sends every request; answers the problems and how many requests succeeded.
async fn send_all(h: &Harness, t: &str, real: &Real, wrong: bool) -> (Vec<String>, usize) {
    let requests: Vec<Value> = serde_json::from_str(REQUESTS).expect("original_requests.json");
    let mut problems = Vec::new();
    let mut succeeded = 0;
    for r in &requests {
        let (action, route) = (r["action"].as_str().unwrap(), r["route"].as_str().unwrap());
        let mut body = json!({ "action": action, "tenantId": t });
        if route == "Gateway" {
            body["service"] = r["product"].clone();
        }
        for p in r["required"].as_array().unwrap().iter().filter_map(Value::as_str).filter(|p| *p != "tenantId") {
            body[p] = real.value(p, wrong);
        }
        let label = format!("{route} {action} ({})", if wrong { "names that exist nowhere" } else { "sandbox values" });
        let Ok((status, answer)) = tokio::time::timeout(Duration::from_secs(90), h.seed(route, body.clone())).await
        else {
            problems.push(format!("{label}: no answer within 90 s"));
            continue;
        };
        succeeded += usize::from((200..300).contains(&status));
        let not_supported = status == 501 && answer["error"]["code"] == "NotSupported";
        if !answer.is_object() {
            problems.push(format!("{label}: {status} without a JSON object"));
        } else if status >= 500 && !not_supported {
            problems.push(format!("{label}: {status} for {body}: {answer}"));
        }
    }
    (problems, succeeded)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_originals_azure_and_mdc_requests_get_json_and_no_5xx() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let real = Real::read(&h, &t).await;
    let (mut problems, succeeded) = send_all(&h, &t, &real, false).await;
    // With the sandbox's subscription, VM, NSG, app and alert, the reads and most VM, NSG and
    // identity actions go through (names of other resources are probes that exist nowhere).
    assert!(succeeded >= 30, "only {succeeded} of the original's requests succeeded on sandbox values");
    problems.extend(send_all(&h, &t, &real, true).await.0);
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
