//! Graph security: alerts_v2 and incidents — the Graph view of the same alerts MDE serves.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap_or_else(|| panic!("{id} not found"))
}

#[tokio::test]
async fn alerts_v2_is_the_graph_view_of_mde_alerts() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let m = e.token(0, MDE).await;
    let r = e.get(&g, "/v1.0/security/alerts_v2").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Graph serves every product's alerts; the MDE API the Endpoint ones, the same alerts.
    let all = r.body["value"].as_array().unwrap().clone();
    let products: std::collections::BTreeSet<&str> = all.iter().filter_map(|a| a["serviceSource"].as_str()).collect();
    assert!(products.len() >= 4, "alerts of several products: {products:?}");
    let graph: Vec<Value> =
        all.iter().filter(|a| a["serviceSource"] == "microsoftDefenderForEndpoint").cloned().collect();
    let mde = e.get(&m, "/api/alerts").await.body["value"].as_array().unwrap().clone();
    let ids = |v: &[Value]| {
        let mut x: Vec<String> = v.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
        x.sort();
        x
    };
    assert_eq!(ids(&graph), ids(&mde));
    for a in &graph {
        assert!(["new", "inProgress", "resolved"].contains(&a["status"].as_str().unwrap()));
        assert!(["informational", "low", "medium", "high"].contains(&a["severity"].as_str().unwrap()));
        assert_eq!(a["serviceSource"], "microsoftDefenderForEndpoint");
        assert!(a["incidentId"].is_string());
        let ev = a["evidence"].as_array().unwrap();
        let dev = ev
            .iter()
            .find(|x| x["@odata.type"] == "#microsoft.graph.security.deviceEvidence")
            .expect("device evidence");
        let ma = find(&Value::Array(mde.clone()), a["id"].as_str().unwrap()).clone();
        assert_eq!(dev["mdeDeviceId"], ma["machineId"]);
        assert!(ev.iter().any(|x| x["@odata.type"] == "#microsoft.graph.security.userEvidence"));
    }
    let all_ev: Vec<&Value> = graph.iter().flat_map(|a| a["evidence"].as_array().unwrap()).collect();
    assert!(all_ev.iter().any(|x| x["@odata.type"] == "#microsoft.graph.security.fileEvidence"
        && x["fileDetails"]["sha256"].as_str().is_some_and(|h| h.len() == 64)));
    for t in ["processEvidence", "ipEvidence", "urlEvidence"] {
        assert!(all_ev.iter().any(|x| x["@odata.type"] == format!("#microsoft.graph.security.{t}")), "{t}");
    }
    let r = e.get(&g, "/v1.0/security/alerts_v2?$filter=status+eq+'new'&$top=2").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["value"].as_array().unwrap().iter().all(|a| a["status"] == "new"));
    let next = r.body["@odata.nextLink"].as_str().expect("nextLink");
    let r2 = e.get(&g, next).await;
    assert_eq!(r2.status, StatusCode::OK);
    assert!(r2.body["value"].as_array().unwrap().iter().all(|a| a["status"] == "new"));
    assert_eq!(e.get(&g, "/v1.0/security/alerts_v2/nope").await.status, StatusCode::NOT_FOUND);
    let r = e.get(&g, "/v1.0/security/alerts_v2?$filter=bogus+eq+1").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
}

#[tokio::test]
async fn patch_alert_changes_the_shared_model() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let m = e.token(0, MDE).await;
    let filter = "status+eq+'new'+and+serviceSource+eq+'microsoftDefenderForEndpoint'";
    let a = e.get(&g, &format!("/v1.0/security/alerts_v2?$filter={filter}")).await.body["value"][0].clone();
    let id = a["id"].as_str().unwrap();
    assert_eq!(a["classification"], "unknown");
    let path = format!("/v1.0/security/alerts_v2/{id}");
    let r = e
        .patch(
            &g,
            &path,
            json!({"status": "resolved", "classification": "truePositive",
            "determination": "malware", "assignedTo": "soc@contoso.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "resolved");
    assert_eq!(r.body["determination"], "malware");
    assert!(r.body["resolvedDateTime"].is_string());
    let md = e.get(&m, &format!("/api/alerts/{id}")).await;
    assert_eq!(md.body["status"], "Resolved");
    assert_eq!(md.body["classification"], "TruePositive");
    assert_eq!(md.body["determination"], "Malware");
    assert_eq!(md.body["assignedTo"], "soc@contoso.com");
    // PascalCase input is accepted too (DOC-CONFLICT in the reference).
    let r = e.patch(&g, &path, json!({"classification": "FalsePositive", "determination": "Clean"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["determination"], "clean");
    for body in [
        json!({"classification": "falsePositive", "determination": "malware"}),
        json!({"classification": "unknown", "determination": "phishing"}),
        json!({"status": "closed"}),
        json!({"severity": "low"}),
        json!({"determination": "apt"}),
    ] {
        let r = e.patch(&g, &path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
    }
    assert_eq!(
        e.patch(&g, "/v1.0/security/alerts_v2/x1", json!({"status": "new"})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn comments_return_the_whole_list() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let id = e.get(&g, "/v1.0/security/alerts_v2?$top=1").await.body["value"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1.0/security/alerts_v2/{id}/comments");
    let c = |t: &str| json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": t});
    let r = e.post(&g, &path, c("first")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = e.post(&g, &path, c("second")).await;
    let v = r.body["value"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1]["comment"], "second");
    assert!(v[0]["createdDateTime"].is_string());
    assert_eq!(e.post(&g, &path, json!({"comment": ""})).await.status, StatusCode::BAD_REQUEST);
    let s = e.state(0).await;
    let sa = find(&s["alerts"], &id);
    assert_eq!(sa["comments"].as_array().unwrap().len(), 2);

    let inc = e.get(&g, "/v1.0/security/incidents?$top=1").await.body["value"][0]["id"].as_str().unwrap().to_string();
    let r = e.post(&g, &format!("/v1.0/security/incidents/{inc}/comments"), c("looking")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["value"][0]["comment"], "looking");
    let s = e.state(0).await;
    assert_eq!(find(&s["incidents"], &inc)["comments"][0]["comment"], "looking");
    let r = e.post(&g, "/v1.0/security/incidents/999999999/comments", c("x")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn incidents_list_expand_and_paging() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    // 51 incidents: the default page is 20, $top up to 50 (list-incidents).
    let r = e.get(&g, "/v1.0/security/incidents?$expand=alerts").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 20);
    let r = e.get(&g, "/v1.0/security/incidents?$expand=alerts&$top=50").await;
    let incs = r.body["value"].as_array().unwrap();
    assert_eq!(incs.len(), 50);
    let rest = e.get(&g, "/v1.0/security/incidents?$expand=alerts&$top=50&$skip=50").await;
    let rest = rest.body["value"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    let mut total = 0;
    for i in incs.iter().chain(&rest) {
        let alerts = i["alerts"].as_array().unwrap();
        assert!(!alerts.is_empty());
        assert!(alerts.iter().all(|a| a["incidentId"] == i["id"]));
        total += alerts.len();
        assert!(["active", "inProgress", "resolved"].contains(&i["status"].as_str().unwrap()));
    }
    let all_alerts = e.get(&g, "/v1.0/security/alerts_v2").await.body["value"].as_array().unwrap().len();
    assert_eq!(total, all_alerts);
    let r = e.get(&g, "/v1.0/security/incidents").await;
    assert!(r.body["value"][0].get("alerts").is_none());
    let r = e.get(&g, "/v1.0/security/incidents?$top=4&$count=true").await;
    assert_eq!(r.body["@odata.count"], 51);
    assert!(r.body["@odata.nextLink"].as_str().unwrap().contains("$skip=4"));
    assert_eq!(e.get(&g, "/v1.0/security/incidents?$top=51").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.get(&g, "/v1.0/security/incidents?$expand=users").await.status, StatusCode::BAD_REQUEST);
    let id = incs[0]["id"].as_str().unwrap();
    let one = e.get(&g, &format!("/v1.0/security/incidents/{id}?$expand=alerts")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["alerts"].as_array().unwrap().len(), incs[0]["alerts"].as_array().unwrap().len());
    assert_eq!(e.get(&g, "/v1.0/security/incidents/abc").await.status, StatusCode::NOT_FOUND);
    let r = e.get(&g, "/beta/security/incidents?$filter=status+eq+'resolved'").await;
    assert!(r.body["value"].as_array().unwrap().iter().all(|i| i["status"] == "resolved"));
}

#[tokio::test]
async fn resolving_an_incident_resolves_and_classifies_its_alerts() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let inc = e.get(&g, "/v1.0/security/incidents?$filter=status+eq+'active'").await.body["value"][0].clone();
    let id = inc["id"].as_str().unwrap();
    let path = format!("/v1.0/security/incidents/{id}");
    let r = e.patch(&g, &path, json!({"classification": "falsePositive", "determination": "malware"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e
        .patch(
            &g,
            &path,
            json!({"status": "resolved", "classification": "falsePositive",
            "determination": "notMalicious", "customTags": ["fp", "reviewed"], "assignedTo": "me@contoso.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "resolved");
    assert_eq!(r.body["determination"], "notMalicious");
    let s = e.state(0).await;
    let si = find(&s["incidents"], id);
    assert_eq!(si["status"], "resolved");
    assert_eq!(si["customTags"], json!(["fp", "reviewed"]));
    assert_eq!(si["assignedTo"], "me@contoso.com");
    for aid in si["alertIds"].as_array().unwrap() {
        let a = find(&s["alerts"], aid.as_str().unwrap());
        assert_eq!(a["status"], "Resolved");
        assert_eq!(a["classification"], "FalsePositive");
        assert_eq!(a["determination"], "Clean");
    }
    // Reactivate: incident only (alerts keep their state).
    let r = e.patch(&g, &path, json!({"status": "active"})).await;
    assert_eq!(r.body["status"], "active");
    assert!(r.body["resolvedDateTime"].is_null());
    assert_eq!(e.patch(&g, &path, json!({"status": "closed"})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.patch(&g, &path, json!({"customTags": "x"})).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn security_throttles_at_150_per_minute_and_checks_roles() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    for i in 0..150 {
        let r = e.get(&g, "/v1.0/security/incidents?$top=1").await;
        assert_eq!(r.status, StatusCode::OK, "call {i}");
    }
    let r = e.get(&g, "/v1.0/security/alerts_v2?$top=1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "TooManyRequests");
    assert!(r.headers.get("retry-after").is_some());
    // Users are not in the /security bucket.
    assert_eq!(e.get(&g, "/v1.0/users?$top=1").await.status, StatusCode::OK);

    let t = e.tenant(1).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"graph": ["SecurityAlert.Read.All"]})).await;
    let g1 = e.token(1, GRAPH).await;
    assert_eq!(e.get(&g1, "/v1.0/security/alerts_v2?$top=1").await.status, StatusCode::OK);
    assert_eq!(e.get(&g1, "/v1.0/security/incidents").await.status, StatusCode::FORBIDDEN);
    let id = e.get(&g1, "/v1.0/security/alerts_v2?$top=1").await.body["value"][0]["id"].as_str().unwrap().to_string();
    let r = e.patch(&g1, &format!("/v1.0/security/alerts_v2/{id}"), json!({"status": "resolved"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

fn rule_body() -> Value {
    json!({
        "displayName": "Encoded PowerShell",
        "queryCondition": {"queryText": "DeviceProcessEvents | where ProcessCommandLine has '-Enc'"},
        "schedule": {"period": "1H"},
        "detectionAction": {
            "alertTemplate": {"title": "Encoded PowerShell", "severity": "medium", "category": "Execution",
                "impactedAssets": [{"@odata.type": "#microsoft.graph.security.impactedDeviceAsset", "identifier": "deviceId"}]},
            "responseActions": [{"@odata.type": "#microsoft.graph.security.isolateDeviceResponseAction", "isolationType": "full", "identifier": "deviceId"}]
        }
    })
}

#[tokio::test]
async fn detection_rules_crud_with_validation() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let base = "/beta/security/rules/detectionRules";
    let r = e.post(&g, base, rule_body()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["isEnabled"], true, "documented default");
    assert_eq!(r.body["schedule"]["period"], "1H");
    assert!(r.body["schedule"]["nextRunDateTime"].is_string());
    assert!(r.body["detectionAction"]["organizationalScope"].is_null());
    let s = e.state(0).await;
    assert_eq!(s["detectionRules"][0]["id"], id.as_str());
    let r = e.patch(&g, &format!("{base}/{id}"), json!({"isEnabled": false, "schedule": {"period": "24H"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["isEnabled"], false);
    assert_eq!(r.body["displayName"], "Encoded PowerShell");
    let list = e.get(&g, base).await;
    assert_eq!(list.body["value"][0]["schedule"]["period"], "24H");
    // The list is an entity set: OData options and paging.
    let mut second = rule_body();
    second["displayName"] = json!("Second rule");
    assert_eq!(e.post(&g, base, second).await.status, StatusCode::CREATED);
    let page = e.get(&g, &format!("{base}?$top=1&$count=true&$orderby=displayName desc")).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    assert_eq!(page.body["@odata.count"], 2);
    assert_eq!(page.body["value"][0]["displayName"], "Second rule");
    let next = e.get(&g, page.body["@odata.nextLink"].as_str().unwrap()).await;
    assert_eq!(next.body["value"][0]["displayName"], "Encoded PowerShell");
    let filtered = e.get(&g, &format!("{base}?$filter=isEnabled eq false&$select=id,displayName")).await;
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1);
    assert!(filtered.body["value"][0].get("schedule").is_none());
    let second_id = page.body["value"][0]["id"].as_str().unwrap().to_string();
    let del = e.http.delete(e.url(&format!("{base}/{second_id}"))).bearer_auth(&g).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    for (mutate, what) in [
        (json!({"schedule": {"period": "2H"}}), "period"),
        (json!({"queryCondition": {"queryText": ""}}), "queryText"),
        (json!({"displayName": null}), "displayName"),
        (
            json!({"detectionAction": {"alertTemplate": {"title": "x", "severity": "severe", "category": "Execution"}}}),
            "severity",
        ),
        (json!({"detectionAction": {"alertTemplate": {"severity": "low", "category": "Execution"}}}), "title"),
    ] {
        let mut body = rule_body();
        for (k, v) in mutate.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = e.post(&g, base, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {:?}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(what), "{what}");
    }
    let mut no_schedule = rule_body();
    no_schedule.as_object_mut().unwrap().remove("schedule");
    assert_eq!(e.post(&g, base, no_schedule).await.status, StatusCode::BAD_REQUEST);
    let del = e.http.delete(e.url(&format!("{base}/{id}"))).bearer_auth(&g).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    assert_eq!(e.get(&g, &format!("{base}/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(e.state(0).await["detectionRules"], json!([]));
}
