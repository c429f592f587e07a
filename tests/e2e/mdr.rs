//! Seed 002's MDR API (`/api/v1/mdr/*`) end to end: each route runs ordinary operations whose
//! effects are asserted in the sandbox's state; `/actions` reads them back from the audit and
//! `/status` reports per integration and tenant.

use crate::common::*;
use serde_json::{Value, json};

/// POST an MDR route with a key (and optional extra headers): (status, body).
pub async fn mdr_with(h: &Harness, route: &str, key: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = h.http.post(format!("{}/api/v1/mdr/{route}", h.gateway)).header("x-api-key", key).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn mdr(h: &Harness, route: &str, body: Value) -> (u16, Value) {
    mdr_with(h, route, &h.admin_key, body, &[]).await
}

/// A key of `role` scoped to `tenants`.
async fn key(h: &Harness, name: &str, role: &str, tenants: Vec<String>) -> String {
    let key = gateway::auth::generate_key();
    let new = store::NewKey { name: name.into(), role: role.into(), tenants, key_hash: gateway::auth::hash_key(&key) };
    h.engine.store().create_key(new).await.unwrap();
    key
}

fn short_name(m: &Value) -> String {
    m["computerDnsName"].as_str().unwrap().split('.').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn isolate_resolves_the_hostname_maps_network_only_and_is_idempotent() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0].clone();
    let id = m["id"].as_str().unwrap().to_string();
    let body = json!({ "hostname": short_name(&m), "isolation_type": "NetworkOnly", "reason": "beaconing to C2" });
    let headers = [("idempotency-key", "mdr-iso-1"), ("prefer", "wait=30")];
    let (status, first) = mdr_with(&h, "isolate", &h.admin_key, body.clone(), &headers).await;
    assert!(status == 200 || status == 202, "{first}");
    assert_eq!(first["type"], "isolate");
    assert_eq!(first["tenant_id"], t.as_str(), "one tenant: tenant_id may be left out");
    assert_eq!(first["deviceId"], id.as_str(), "{first}");
    assert_eq!(first["isolation_type"]["requested"], "NetworkOnly");
    assert_eq!(first["isolation_type"]["applied"], "Full");
    assert!(first["isolation_type"]["note"].as_str().unwrap().contains("nearest"), "{first}");
    let op = h.wait_operation(first["steps"][0]["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let state = h.state(&t).await;
    let machine = state["machines"].as_array().unwrap().iter().find(|x| x["id"] == id.as_str()).unwrap().clone();
    assert_eq!(machine["isolated"], true, "isolated in the sandbox");
    let isolate = h.machine_actions(&t).await.into_iter().find(|a| a["machineId"] == id.as_str()).unwrap();
    assert_eq!(isolate["type"], "Isolate");
    assert!(isolate["requestorComment"].as_str().unwrap().starts_with("beaconing to C2"), "{isolate}");

    // The same key and request: the same operation, nothing new upstream.
    let (_, again) = mdr_with(&h, "isolate", &h.admin_key, body, &headers).await;
    assert_eq!(again["steps"][0]["operationId"], first["steps"][0]["operationId"]);
    assert_eq!(again["steps"][0]["replayed"], true);
    assert_eq!(h.count_actions(&t, "Isolate", &id).await, 1);

    // Bad input names the MDR field.
    for (body, field) in [
        (json!({ "hostname": "no-such-host-77" }), "hostname"),
        (json!({}), "hostname"),
        (json!({ "hostname": "a, b" }), "hostname"),
        (json!({ "hostname": short_name(&m), "isolation_type": "Partial" }), "isolation_type"),
        (json!({ "hostname": short_name(&m), "isolationtype": "Full" }), "isolationtype"),
    ] {
        let (status, err) = mdr(&h, "isolate", body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_id_may_be_left_out_only_with_one_tenant_and_roles_apply() {
    let h = Harness::start(2).await;
    let (t0, t1) = (h.tenant(0), h.tenant(1));
    let m = h.online_machines(&t1).await[0].clone();
    let (status, err) = mdr(&h, "isolate", json!({ "hostname": short_name(&m) })).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["field"], "tenant_id");
    assert_eq!(err["error"]["tenants"].as_array().unwrap().len(), 2, "{err}");

    // A responder key scoped to tenant 1 only: tenant_id may be left out, tenant 0 is refused.
    let responder = key(&h, "mdr-responder", "responder", vec![t1.clone()]).await;
    let (status, body) =
        mdr_with(&h, "isolate", &responder, json!({ "hostname": short_name(&m), "isolation_type": "Selective" }), &[])
            .await;
    assert!(status == 200 || status == 202, "{body}");
    assert_eq!(body["tenant_id"], t1.as_str());
    let op = h.wait_operation(body["steps"][0]["operationId"].as_str().unwrap()).await;
    assert_eq!(op["principal"], "mdr-responder", "{op}");
    let (status, _) =
        mdr_with(&h, "isolate", &responder, json!({ "hostname": short_name(&m), "tenant_id": t0 }), &[]).await;
    assert_eq!(status, 403);

    // A reader may not contain.
    let reader = key(&h, "mdr-reader", "reader", vec![t1.clone()]).await;
    let (status, err) = mdr_with(&h, "disable-user", &reader, json!({ "upn": "someone@x.example" }), &[]).await;
    assert_eq!(status, 403, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("reader"), "{err}");
    let (status, _) =
        h.http.get(format!("{}/api/v1/mdr/status", h.gateway)).send().await.map(|r| (r.status().as_u16(), ())).unwrap();
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn block_ip_as_an_expiring_indicator_and_as_an_nsg_deny_rule() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = mdr(
        &h,
        "block-ip",
        json!({ "ip": "203.0.113.9", "firewall_type": "defender", "duration_hours": 6, "reason": "scanner" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Succeeded", "{body}");
    let indicators = h.state(&t).await["indicators"].as_array().cloned().unwrap_or_default();
    let ioc = indicators.iter().find(|i| i["indicatorValue"] == "203.0.113.9").expect("the indicator").clone();
    assert_eq!(ioc["action"], "Block", "{ioc}");
    let expires = time::OffsetDateTime::parse(
        ioc["expirationTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let hours = (expires - time::OffsetDateTime::now_utc()).whole_minutes() as f64 / 60.0;
    assert!((5.9..=6.01).contains(&hours), "expires in {hours} h: {ioc}");
    assert_eq!(body["revert"]["at"], body["expires_at"]);

    // An NSG: the seed's request plus where the NSG is.
    let sub = crate::azure::subscription(&h, &t).await;
    let nsg = json!({ "ip": "198.51.100.23", "firewall_type": "azure_nsg", "priority": 150,
        "subscription_id": sub, "resource_group": "rg-prod-servers", "nsg_name": "nsg-prod-servers" });
    let (status, body) = mdr(&h, "block-ip", nsg.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["steps"][0]["action"], "AddNSGDenyRule");
    let state = h.state(&t).await;
    let rule = state["arm"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["id"].as_str().unwrap().to_ascii_lowercase().ends_with("/securityrules/riposte-deny-in-198.51.100.23")
        })
        .expect("the inbound deny rule")
        .clone();
    assert_eq!(rule["properties"]["access"], "Deny");
    assert_eq!(rule["properties"]["priority"], 150);
    // The block reverts itself: a time-boxed action whose inverse runs after duration_hours
    // (default 24) of sandbox time.
    let op = body["steps"][0]["operationId"].as_str().unwrap().to_string();
    let (_, reverts) = h.get(&format!("/v1/reverts?operation={op}")).await;
    assert_eq!(reverts["count"], 1, "{reverts}");
    assert_eq!(reverts["reverts"][0]["status"], "Scheduled", "{reverts}");
    assert!(reverts.to_string().contains("RemoveNSGDenyRule"), "{reverts}");
    h.sandbox_admin("clock", json!({ "advance_seconds": 24 * 3600 + 120 })).await;
    wait_for(|| async {
        let state = h.state(&t).await;
        !state["arm"]["resources"].as_array().unwrap().iter().any(|r| {
            r["id"].as_str().unwrap().to_ascii_lowercase().ends_with("/securityrules/riposte-deny-in-198.51.100.23")
        })
    })
    .await;

    for (body, field) in [
        (json!({ "ip": "203.0.113.9", "firewall_type": "defender", "priority": 200 }), "priority"),
        (
            json!({ "ip": "203.0.113.9", "firewall_type": "azure_nsg", "subscription_id": sub, "resource_group": "rg-prod-servers" }),
            "nsg_name",
        ),
        (json!({ "ip": "203.0.113.0/24", "firewall_type": "defender" }), "ip"),
        (json!({ "ip": "203.0.113.9", "firewall_type": "palo_alto" }), "firewall_type"),
        (json!({ "ip": "203.0.113.9", "duration_hours": 0 }), "duration_hours"),
        (
            json!({ "ip": "203.0.113.9", "firewall_type": "azure_nsg", "subscription_id": sub, "resource_group": "rg-prod-servers", "nsg_name": "nsg-nope" }),
            "nsg_name",
        ),
    ] {
        let (status, err) = mdr(&h, "block-ip", body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_user_disables_and_revokes_and_quarantine_remediates_every_copy() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let users = state["users"].as_array().unwrap();
    let u = users.iter().find(|u| u["accountEnabled"] == true).unwrap().clone();
    let upn = u["userPrincipalName"].as_str().unwrap().to_string();
    let before = u["signInSessionsValidFromDateTime"].clone();
    let (status, body) = mdr(&h, "disable-user", json!({ "upn": upn, "reason": "password spray" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Succeeded", "{body}");
    let steps: Vec<&str> = body["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["disable", "revoke_sessions"]);
    let after = h.state(&t).await["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["userPrincipalName"] == upn.as_str())
        .unwrap()
        .clone();
    assert_eq!(after["accountEnabled"], false);
    assert_ne!(after["signInSessionsValidFromDateTime"], before, "sessions revoked");
    let (status, err) = mdr(&h, "disable-user", json!({ "upn": "nobody@nowhere.example" })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("upn")), "{err}");

    // quarantine-email without a recipient: every copy of the message, found by its delivery path.
    let messages = h.state(&t).await["mail"]["messages"].as_array().unwrap().clone();
    let network = messages[0]["networkMessageId"].as_str().unwrap().to_string();
    let copies: Vec<&Value> = messages.iter().filter(|m| m["networkMessageId"] == network.as_str()).collect();
    let (status, body) = mdr(&h, "quarantine-email", json!({ "message_id": network, "reason": "phish" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recipients"].as_array().unwrap().len(), copies.len(), "{body}");
    assert_eq!(body["steps"][1]["action"], "SoftDeleteEmails");
    wait_for(|| async {
        let state = h.state(&t).await;
        state["mail"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["networkMessageId"] == network.as_str())
            .all(|m| m["folder"] == "recoverableitemsdeletions")
    })
    .await;
    // One named mailbox, moved to junk; an action it does not take is a 400.
    let other = messages.iter().find(|m| m["networkMessageId"] != network.as_str()).unwrap();
    let (status, body) = mdr(
        &h,
        "quarantine-email",
        json!({ "message_id": other["networkMessageId"], "user_principal_name": other["recipientEmailAddress"], "action": "moveToJunk" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (id, rcpt) = (other["networkMessageId"].clone(), other["recipientEmailAddress"].clone());
    wait_for(|| async {
        let state = h.state(&t).await;
        state["mail"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["networkMessageId"] == id && m["recipientEmailAddress"] == rcpt && m["folder"] == "junkemail")
    })
    .await;
    let (status, err) = mdr(&h, "quarantine-email", json!({ "message_id": network, "action": "archive" })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("action")), "{err}");
}

async fn wait_for<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the sandbox never showed the expected effect");
}

#[tokio::test(flavor = "multi_thread")]
async fn actions_come_from_the_audit_and_status_reports_each_integration() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0].clone();
    let (_, iso) =
        mdr_with(&h, "isolate", &h.admin_key, json!({ "hostname": short_name(&m) }), &[("prefer", "wait=30")]).await;
    h.wait_operation(iso["steps"][0]["operationId"].as_str().unwrap()).await;
    let (status, _) = mdr(&h, "block-ip", json!({ "ip": "192.0.2.44" })).await;
    assert_eq!(status, 200);
    // A read is not a response action.
    h.mde(&t, "GetDeviceInfo", json!({ "deviceId": m["id"] })).await;

    let (status, list) = h.get("/api/v1/mdr/actions?since=24h").await;
    assert_eq!(status, 200, "{list}");
    let rows = list["actions"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["type"], "block-ip", "newest first: {list}");
    assert_eq!(rows[0]["target"], "192.0.2.44");
    assert_eq!(rows[1]["type"], "isolate");
    assert_eq!(rows[1]["status"], "Succeeded", "the tracked completion: {list}");
    assert_eq!(rows[1]["who"], "admin");
    assert_eq!(rows[1]["target"], m["id"]);
    let (_, only) = h.get(&format!("/api/v1/mdr/actions?type=isolate&tenant_id={t}&limit=5")).await;
    assert_eq!(only["count"], 1, "{only}");
    let (status, err) = h.get("/api/v1/mdr/actions?since=yesterday").await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("since")));

    // The console's view of the key: its role, and the tenant by the directory's own name (the
    // sandbox's Graph /organization), since none is configured.
    let (status, me) = h.get("/v1/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["role"].as_str(), me["scoped"].as_bool()), (Some("admin"), Some(false)), "{me}");
    assert_eq!(me["tenants"][0]["tenant_id"], t.as_str());
    assert_eq!(me["tenants"][0]["nameSource"], "graph", "{me}");
    assert!(me["tenants"][0]["name"].as_str().is_some_and(|n| n.starts_with("Contoso")), "{me}");
    let (status, found) = h.get(&format!("/v1/typeahead?kind=device&tenant={t}&q={}", short_name(&m))).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"][0]["value"], m["id"], "{found}");
    let (status, err) = h.get(&format!("/v1/typeahead?kind=printer&tenant={t}&q=x")).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("kind")), "{err}");

    let (status, health) = h.get("/api/v1/mdr/status").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "healthy", "{health}");
    let mde = &health["integrations"]["MDE"];
    assert_eq!(mde["status"], "healthy");
    assert_eq!(mde["tenants"][0]["tokenOk"], true);
    assert_eq!(mde["tenants"][0]["lastCall"]["status"], 200, "{health}");
    for integration in ["Graph", "ARM"] {
        assert_eq!(health["integrations"][integration]["status"], "healthy", "{health}");
    }
}

/// `aws_sg`: a network ACL deny (a security group cannot deny), in moto, reverted after
/// `duration_hours` of sandbox time.
#[tokio::test(flavor = "multi_thread")]
async fn block_ip_in_aws_denies_in_moto_and_reverts_itself() {
    let moto = crate::aws::Moto::start().await;
    let w = moto.world().await;
    let h = crate::aws::harness(vec![moto.tenant()]).await;
    let denied = |acl: &Value| -> Vec<String> {
        upstream::aws::items(&acl["entrySet"])
            .iter()
            .filter(|e| e["ruleAction"] == "deny" && e["ruleNumber"] != "32767")
            .map(|e| format!("{}:{}", e["egress"].as_str().unwrap_or(""), e["cidrBlock"].as_str().unwrap_or("")))
            .collect()
    };
    let body = json!({ "ip": "198.51.100.77", "firewall_type": "aws_sg", "instance_id": w.instance,
        "duration_hours": 2, "tenant_id": crate::aws::TENANT });
    let (status, answer) = mdr(&h, "block-ip", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["steps"][0]["action"], "BlockIPInNetworkAcl", "{answer}");
    let mut entries = denied(&moto.acl_of(&w.subnet).await);
    entries.sort();
    assert_eq!(entries, ["false:198.51.100.77/32", "true:198.51.100.77/32"], "inbound and outbound");
    let op = answer["steps"][0]["operationId"].as_str().unwrap();
    let (_, reverts) = h.get(&format!("/v1/reverts?operation={op}")).await;
    assert_eq!(reverts["count"], 1, "{reverts}");
    assert!(reverts.to_string().contains("UnblockIPInNetworkAcl"), "{reverts}");
    // `/status` reports the AWS integration of the AWS tenant, with the block's last call.
    let (_, health) = h.get("/api/v1/mdr/status").await;
    let aws = &health["integrations"]["AWS"];
    assert_eq!(aws["status"], "healthy", "{health}");
    assert_eq!(aws["tenants"][0]["tenant_id"], crate::aws::TENANT, "{health}");
    assert_eq!(aws["tenants"][0]["lastCall"]["status"], 200, "{health}");
    h.sandbox_admin("clock", json!({ "advance_seconds": 2 * 3600 + 120 })).await;
    for _ in 0..300 {
        if denied(&moto.acl_of(&w.subnet).await).is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the ACL deny entries were never removed: {}", moto.acl_of(&w.subnet).await);
}

/// Two MDE machines under one DNS name (a re-imaged device onboarded twice, seeded in the
/// sandbox): `isolate` by that hostname is a 400 naming `hostname` and listing both machine ids,
/// and neither machine is isolated nor any machine action sent.
#[tokio::test(flavor = "multi_thread")]
async fn isolate_with_an_ambiguous_hostname_lists_both_candidates_and_isolates_nothing() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0].clone();
    let first = m["id"].as_str().unwrap().to_string();
    let second = h.sandbox.duplicate_machine(&t, &first).expect("a second machine under the same name");
    let actions_before = h.machine_actions(&t).await.len();

    for hostname in [short_name(&m), m["computerDnsName"].as_str().unwrap().to_string()] {
        let (status, err) = mdr(&h, "isolate", json!({ "hostname": hostname, "reason": "ambiguity check" })).await;
        assert_eq!(status, 400, "{hostname}: {err}");
        assert_eq!(err["error"]["field"], "hostname", "{err}");
        let message = err["error"]["message"].as_str().unwrap().to_ascii_lowercase();
        assert!(message.contains("2 machines"), "{message}");
        for id in [&first, &second] {
            assert!(message.contains(&id.to_ascii_lowercase()), "candidate {id} listed: {message}");
        }
    }

    let state = h.state(&t).await;
    for id in [&first, &second] {
        let machine = state["machines"].as_array().unwrap().iter().find(|x| x["id"] == id.as_str()).unwrap().clone();
        assert_eq!(machine["isolated"], false, "{id} not isolated: {machine}");
    }
    assert_eq!(h.machine_actions(&t).await.len(), actions_before, "no machine action sent");
}
