//! Conditional access: named locations created and extended, policies created report-only
//! unless `enforce`, What If evaluated against them, and bad input refused naming the field.

use super::*;

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn location(state: &Value, name: &str) -> Option<Value> {
    directory(state, "namedLocations").into_iter().find(|l| l["displayName"] == name)
}

fn policy(state: &Value, id: &Value) -> Value {
    directory(state, "conditionalAccessPolicies")
        .into_iter()
        .find(|p| p["id"] == *id)
        .unwrap_or_else(|| panic!("no policy {id}"))
}

/// The created policy's id from an answer.
fn created(body: &Value) -> Value {
    body["data"]["policy"]["id"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn named_locations_are_created_and_extended_by_name() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = h
        .entra(
            &t,
            "CreateNamedLocation",
            json!({ "displayName": "Riposte blocked ranges", "ipRanges": ["203.0.113.0/24", "198.51.100.7"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let l = location(&h.state(&t).await, "Riposte blocked ranges").expect("created");
    let cidrs: Vec<&str> = l["ipRanges"].as_array().unwrap().iter().filter_map(|r| r["cidrAddress"].as_str()).collect();
    assert_eq!(cidrs, ["203.0.113.0/24", "198.51.100.7/32"]);
    assert_eq!(l["isTrusted"], false);

    // The orchestrator's spelling: locationName + ipAddresses (a comma string), merged once each.
    let (status, body) = h
        .seed(
            "Gateway",
            json!({ "service": "EntraID", "action": "AddIPToNamedLocation", "tenantId": t,
            "locationName": "Riposte blocked ranges", "ipAddresses": "192.0.2.0/24, 203.0.113.0/24" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let l = location(&h.state(&t).await, "Riposte blocked ranges").unwrap();
    assert_eq!(l["ipRanges"].as_array().unwrap().len(), 3, "{l}");
    // A name nobody has yet creates the location.
    let (status, body) = h
        .entra(&t, "AddIPToNamedLocation", json!({ "displayName": "Riposte new", "ipRanges": ["2001:db8::/48"] }))
        .await;
    assert_eq!(status, 200, "{body}");
    let l = location(&h.state(&t).await, "Riposte new").expect("created by AddIPToNamedLocation");
    assert_eq!(l["ipRanges"][0]["@odata.type"], "#microsoft.graph.iPv6CidrRange");

    let (status, body) = h.entra(&t, "GetNamedLocations", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["value"].as_array().unwrap().len() >= 3, "{body}");

    // Bad input names the field.
    let (status, body) =
        h.entra(&t, "CreateNamedLocation", json!({ "displayName": "x", "ipRanges": ["riposte"] })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("ipRanges"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_are_report_only_unless_enforced_and_what_if_reads_them() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let (u0, u1, u5) = (nth_user(&state, 0), nth_user(&state, 1), nth_user(&state, 5));

    // Countries: a country location, then a block policy excluding the break-glass account.
    let (status, body) = h
        .entra(
            &t,
            "BlockCountryLocation",
            json!({ "countryCodes": ["KP", "ir"], "excludedUsers": [u0["userPrincipalName"]] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let countries = created(&body);
    let s = h.state(&t).await;
    let p = policy(&s, &countries);
    assert_eq!(p["state"], "enabledForReportingButNotEnforced", "report-only by default: {p}");
    assert_eq!(p["conditions"]["users"]["excludeUsers"], json!([u0["id"]]));
    assert_eq!(p["grantControls"]["builtInControls"], json!(["block"]));
    let loc_id = &p["conditions"]["locations"]["includeLocations"][0];
    let loc = directory(&s, "namedLocations").into_iter().find(|l| l["id"] == *loc_id).unwrap();
    assert_eq!(loc["countriesAndRegions"], json!(["KP", "IR"]));
    // An invalid country code is Graph's 400, naming the field.
    let (status, body) = h.entra(&t, "BlockCountryLocation", json!({ "countryCodes": ["XX"] })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("countriesAndRegions"), "{body}");

    // Emergency block of one user, enforced because the caller says so.
    let (status, body) =
        h.entra(&t, "CreateEmergencyCAPolicy", json!({ "userId": u1["userPrincipalName"], "enforce": true })).await;
    assert_eq!(status, 200, "{body}");
    let emergency = created(&body);
    let p = policy(&h.state(&t).await, &emergency);
    assert_eq!((p["state"].as_str(), &p["conditions"]["users"]["includeUsers"]), (Some("enabled"), &json!([u1["id"]])));

    // The tenant-wide templates, each report-only with its documented controls.
    for (action, params, check) in [
        ("CreateEmergencyBreakGlassPolicy", json!({ "excludedUsers": [u0["id"]] }), "/grantControls/builtInControls/1"),
        ("BlockLegacyAuth", json!({}), "/conditions/clientAppTypes/0"),
        ("EnableCARiskPolicy", json!({ "riskLevel": "high" }), "/conditions/signInRiskLevels/0"),
        ("EnableIdentityProtection", json!({}), "/conditions/userRiskLevels/1"),
        ("RequireMFAForRole", json!({ "roleId": GLOBAL_ADMIN }), "/conditions/users/includeRoles/0"),
    ] {
        let (status, body) = h.entra(&t, action, params).await;
        assert_eq!(status, 200, "{action}: {body}");
        let p = policy(&h.state(&t).await, &created(&body));
        assert_eq!(p["state"], "enabledForReportingButNotEnforced", "{action}: {p}");
        let expected = match action {
            "CreateEmergencyBreakGlassPolicy" => json!("compliantDevice"),
            "BlockLegacyAuth" => json!("exchangeActiveSync"),
            "EnableCARiskPolicy" => json!("high"),
            "EnableIdentityProtection" => json!("medium"),
            _ => json!(GLOBAL_ADMIN),
        };
        assert_eq!(p.pointer(check), Some(&expected), "{action}: {p}");
        assert_eq!(body["data"]["reportOnly"], true);
    }
    // Bad input: a role that is no GUID, an excluded user nobody is.
    let (status, body) = h.entra(&t, "RequireMFAForRole", json!({ "roleId": "Global Administrator" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("roleId"), "{body}");
    let (status, body) = h.entra(&t, "BlockLegacyAuth", json!({ "excludedUsers": ["ghost@nowhere.example"] })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("excludedUsers"), "{body}");

    let (status, body) = h.entra(&t, "GetConditionalAccessPolicies", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["value"].as_array().unwrap().len() >= 8, "{body}");

    // What If: the enforced emergency policy applies to its user; the country block applies from
    // KP to anyone not excluded, not from the US, and never to the excluded account.
    let what_if = |user: &Value, policy: &Value, country: &str| json!({ "userId": user["id"], "policyId": policy, "country": country, "ipAddress": "203.0.113.9" });
    let (status, body) = h.entra(&t, "SimulateCAPolicy", what_if(&u1, &emergency, "US")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"][0]["policyApplies"], true, "{body}");
    let (_, body) = h.entra(&t, "SimulateCAPolicy", what_if(&u5, &countries, "KP")).await;
    assert_eq!(body["data"]["value"][0]["policyApplies"], true, "{body}");
    let (_, body) = h.entra(&t, "SimulateCAPolicy", what_if(&u5, &countries, "US")).await;
    assert_eq!(body["data"]["value"][0]["policyApplies"], false, "{body}");
    assert!(body["data"]["value"][0]["analysisReasons"].as_str().unwrap().contains("location"), "{body}");
    let (_, body) = h.entra(&t, "SimulateCAPolicy", what_if(&u0, &countries, "KP")).await;
    assert!(body["data"]["value"][0]["analysisReasons"].as_str().unwrap().contains("users"), "{body}");
    let (status, body) = h
        .entra(
            &t,
            "SimulateCAPolicy",
            json!({ "userId": u1["id"], "policyId": "00000000-0000-0000-0000-000000000009" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("policyId"), "{body}");
}
