//! The internet edge: WAF policy blocks and mode, App Service stop/start/restart and its
//! authentication switch, asserted in the sandbox's ARM store.

use super::{azure, resource, subscription};
use crate::common::*;
use serde_json::{Value, json};

async fn waf(h: &Harness, t: &str, sub: &str) -> Value {
    let id = format!(
        "/subscriptions/{sub}/resourceGroups/rg-network/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf-prod"
    );
    resource(h, t, &id).await.expect("the seeded WAF policy")
}

fn rule<'a>(policy: &'a Value, name: &str) -> Option<&'a Value> {
    policy["properties"]["customRules"].as_array().unwrap().iter().find(|r| r["name"] == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn waf_ip_and_geo_blocks_land_in_riposte_rules_and_come_out() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let base = json!({ "subscriptionId": sub, "resourceGroup": "rg-network", "wafPolicyName": "waf-prod" });
    let with = |extra: Value| {
        let mut v = base.clone();
        merge(&mut v, extra);
        v
    };

    for ip in ["203.0.113.7", "198.51.100.0/24", "203.0.113.7"] {
        let (status, op) = azure(&h, &t, "BlockIPInWAF", with(json!({ "ipAddress": ip }))).await;
        assert_eq!((status, op["status"].as_str()), (200, Some("Succeeded")), "{op}");
    }
    let (_, op) = azure(&h, &t, "BlockGeoLocationWAF", with(json!({ "countryCodes": "kp,IR" }))).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let policy = waf(&h, &t, &sub).await;
    let ips = rule(&policy, "RiposteBlockedIPs").expect("the IP rule");
    assert_eq!(ips["action"], "Block");
    assert_eq!(ips["matchConditions"][0]["operator"], "IPMatch");
    assert_eq!(ips["matchConditions"][0]["matchValues"], json!(["203.0.113.7", "198.51.100.0/24"]), "no duplicate");
    let geo = rule(&policy, "RiposteBlockedCountries").expect("the geo rule");
    assert_eq!(geo["matchConditions"][0]["operator"], "GeoMatch");
    assert_eq!(geo["matchConditions"][0]["matchValues"], json!(["KP", "IR"]));
    assert_ne!(ips["priority"], geo["priority"]);

    let (_, op) = azure(&h, &t, "UnblockIPInWAF", with(json!({ "ipAddress": "203.0.113.7" }))).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let (_, op) = azure(&h, &t, "UnblockGeoLocationWAF", with(json!({ "countryCodes": ["KP", "IR"] }))).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let policy = waf(&h, &t, &sub).await;
    assert_eq!(
        rule(&policy, "RiposteBlockedIPs").unwrap()["matchConditions"][0]["matchValues"],
        json!(["198.51.100.0/24"])
    );
    assert!(rule(&policy, "RiposteBlockedCountries").is_none(), "an emptied rule is removed");

    let (status, body) = azure(&h, &t, "BlockGeoLocationWAF", with(json!({ "countryCodes": ["KP", "XX"] }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("countryCodes"), "{body}");
    let (status, body) =
        azure(&h, &t, "BlockIPInWAF", with(json!({ "ipAddress": "1.2.3.4", "wafPolicyName": "nope" }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("wafPolicyName"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn waf_prevention_mode_and_back() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let base = json!({ "subscriptionId": sub, "resourceGroup": "rg-network", "wafPolicyName": "waf-prod" });
    assert_eq!(waf(&h, &t, &sub).await["properties"]["policySettings"]["mode"], "Detection");
    let (_, op) = azure(&h, &t, "EnableWAFPreventionMode", base.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(waf(&h, &t, &sub).await["properties"]["policySettings"]["mode"], "Prevention");
    let (_, op) = azure(&h, &t, "SetWAFDetectionMode", base.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(waf(&h, &t, &sub).await["properties"]["policySettings"]["mode"], "Detection");
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_stop_start_restart_and_auth() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let app = json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "appName": "app-contoso-portal" });
    let site_id =
        format!("/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Web/sites/app-contoso-portal");

    let (_, op) = azure(&h, &t, "StopAppService", app.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(resource(&h, &t, &site_id).await.expect("the site")["properties"]["state"], "Stopped");
    let (_, op) = azure(&h, &t, "StartAppService", app.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(resource(&h, &t, &site_id).await.expect("the site")["properties"]["state"], "Running");
    let (_, op) = azure(&h, &t, "RestartAppService", app.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(resource(&h, &t, &site_id).await.expect("the site")["properties"]["restartCount"], 1);

    let auth_id = format!("{site_id}/config/authsettingsV2");
    let (_, op) = azure(&h, &t, "DisableAppServiceAuth", app.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let auth = resource(&h, &t, &auth_id).await.unwrap();
    assert_eq!(auth["properties"]["platform"]["enabled"], false);
    assert_eq!(auth["properties"]["identityProviders"]["azureActiveDirectory"]["enabled"], true, "the rest is kept");
    let (_, op) = azure(&h, &t, "EnableAppServiceAuth", app.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(resource(&h, &t, &auth_id).await.unwrap()["properties"]["platform"]["enabled"], true);

    let (status, body) = azure(
        &h,
        &t,
        "StopAppService",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "appName": "no-such-app" }),
    )
    .await;
    assert!(status == 404 || status == 502 || status == 400, "{status} {body}");
    assert!(body.to_string().contains("ResourceNotFound"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn firewall_blocks_go_in_riposte_group_of_the_policy_and_come_out() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let fw = json!({ "subscriptionId": sub, "resourceGroup": "rg-network", "firewallName": "afw-hub" });
    let with = |extra: Value| {
        let mut v = fw.clone();
        merge(&mut v, extra);
        v
    };
    let policy =
        format!("/subscriptions/{sub}/resourceGroups/rg-network/providers/Microsoft.Network/firewallPolicies/afwp-hub");
    let group_id = format!("{policy}/ruleCollectionGroups/RiposteBlocklist");

    let (a, b) = tokio::join!(
        azure(&h, &t, "BlockIPInFirewall", with(json!({ "sourceIp": "203.0.113.7" }))),
        azure(&h, &t, "BlockIPInFirewall", with(json!({ "sourceIp": "198.51.100.0/24" })))
    );
    assert_eq!(
        (a.1["status"].as_str(), b.1["status"].as_str()),
        (Some("Succeeded"), Some("Succeeded")),
        "{} {}",
        a.1,
        b.1
    );
    let (_, op) = azure(&h, &t, "BlockDomainInFirewall", with(json!({ "domain": "Evil.Example.com" }))).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let group = resource(&h, &t, &group_id).await.expect("Riposte's group");
    assert_eq!(group["properties"]["priority"], 100, "ahead of the seeded group at 200");
    let colls = group["properties"]["ruleCollections"].as_array().unwrap();
    let ips = colls.iter().find(|c| c["name"] == "RiposteBlockedIPs").expect("the IP collection");
    assert_eq!(ips["action"]["type"], "Deny");
    let from = ips["rules"].as_array().unwrap().iter().find(|r| r["name"] == "deny-from").unwrap();
    let mut sources: Vec<&str> =
        from["sourceAddresses"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    sources.sort();
    assert_eq!(sources, ["198.51.100.0/24", "203.0.113.7"], "concurrent blocks both kept");
    let domains = colls.iter().find(|c| c["name"] == "RiposteBlockedDomains").expect("the domain collection");
    assert_eq!(domains["rules"][0]["targetFqdns"], json!(["evil.example.com"]));
    let seeded =
        resource(&h, &t, &format!("{policy}/ruleCollectionGroups/DefaultNetworkRuleCollectionGroup")).await.unwrap();
    assert_eq!(seeded["properties"]["ruleCollections"][0]["name"], "AllowWeb", "other groups untouched");

    for (action, extra) in [
        ("UnblockIPInFirewall", json!({ "sourceIp": "203.0.113.7" })),
        ("UnblockIPInFirewall", json!({ "sourceIp": "198.51.100.0/24" })),
        ("UnblockDomainInFirewall", json!({ "domain": "evil.example.com" })),
    ] {
        let (_, op) = azure(&h, &t, action, with(extra)).await;
        assert_eq!(op["status"], "Succeeded", "{action}: {op}");
    }
    let group = resource(&h, &t, &group_id).await.unwrap();
    assert_eq!(group["properties"]["ruleCollections"], json!([]), "everything Riposte added is gone");

    let (status, body) = azure(&h, &t, "BlockDomainInFirewall", with(json!({ "domain": "not a domain" }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("domain"), "{body}");

    let (_, op) = azure(&h, &t, "EnableThreatIntel", with(json!({ "mode": "Deny" }))).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(resource(&h, &t, &policy).await.unwrap()["properties"]["threatIntelMode"], "Deny", "set on the policy");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_waf_rule_is_added_once_and_removed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let params = json!({ "subscriptionId": sub, "resourceGroup": "rg-network", "wafPolicyName": "waf-prod",
        "ruleName": "BlockEvilBot",
        "matchConditions": [{ "matchVariables": [{ "variableName": "RequestHeaders", "selector": "User-Agent" }],
                              "operator": "Contains", "matchValues": ["evilbot"] }] });
    for _ in 0..2 {
        let (_, op) = azure(&h, &t, "AddWAFCustomRule", params.clone()).await;
        assert_eq!(op["status"], "Succeeded", "{op}");
    }
    let policy = waf(&h, &t, &sub).await;
    let rules = policy["properties"]["customRules"].as_array().unwrap();
    assert_eq!(rules.iter().filter(|r| r["name"] == "BlockEvilBot").count(), 1, "a repeat replaces, never duplicates");
    let r = rule(&policy, "BlockEvilBot").unwrap();
    assert_eq!((r["action"].as_str(), r["priority"].as_i64()), (Some("Block"), Some(1)));
    assert_eq!(r["matchConditions"][0]["matchValues"], json!(["evilbot"]));

    let mut bad = params.clone();
    bad["matchConditions"] = json!([{ "operator": "Contains", "matchValues": ["x"] }]);
    bad["ruleName"] = json!("NoVariables");
    let (status, body) = azure(&h, &t, "AddWAFCustomRule", bad).await;
    assert!(status >= 400 && body.to_string().contains("matchVariables"), "{status}: {body}");

    let (_, op) = azure(&h, &t, "RemoveWAFCustomRule",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-network", "wafPolicyName": "waf-prod", "ruleName": "BlockEvilBot" })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(rule(&waf(&h, &t, &sub).await, "BlockEvilBot").is_none());
}
