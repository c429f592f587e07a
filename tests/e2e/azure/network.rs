//! Azure network containment: NSG deny rules, the isolation NSG and public IPs, asserted in the
//! sandbox's ARM store.

use super::{azure, subscription};
use crate::common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn network_security_groups_are_listed_with_their_rules() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (_, op) =
        azure(&h, &t, "GetNetworkSecurityGroups", json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers" }))
            .await;
    let nsgs = op["result"]["value"].as_array().unwrap_or_else(|| panic!("{op}"));
    assert_eq!(nsgs[0]["name"], "nsg-prod-servers");
    assert!(nsgs[0]["properties"]["securityRules"].as_array().unwrap().len() >= 3);
}
