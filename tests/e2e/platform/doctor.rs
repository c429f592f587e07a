//! The permission doctor and dry runs (issue 15 §3).
//!
//! - The doctor on a tenant whose app lost some grants (the sandbox's `/_sandbox/roles`, before
//!   the gateway holds any token of that tenant) lists exactly the catalog actions those grants
//!   break, computed here from `GET /v1/catalog`, with the least-privileged fix; an untouched
//!   tenant lists none; what it predicts is what the sandbox then refuses.
//! - A dry run of an isolation, a Graph disable-user and an AWS network-ACL deny shows the
//!   requests and sends nothing that changes anything: the sandbox's request log holds no write,
//!   the sandbox and moto states are unchanged, no operation exists, one `dry_run` audit record does.

use crate::aws::{Moto, TENANT as AWS_TENANT, harness as aws_harness};
use crate::common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use upstream::aws::items;

/// App roles removed from the sandbox tenant: two MDE, two Graph. None of them is contained in
/// another grant the tenant keeps (no `X.ReadWrite` of them, no directory-wide write covers them).
const REMOVED_MDE: &[&str] = &["Machine.Isolate", "Machine.Scan"];
const REMOVED_GRAPH: &[&str] = &["ThreatSubmission.ReadWrite.All", "SecurityIdentitiesActions.ReadWrite.All"];
/// The one Azure role left to the app: reads work, every write role is gone.
const ARM_LEFT: &[&str] = &["Reader"];

async fn get_json(h: &Harness, url: String) -> Value {
    h.http.get(url).send().await.unwrap().json().await.unwrap()
}

async fn doctor(h: &Harness, tenant: &str) -> Value {
    let (status, body) = h.get(&format!("/v1/tenants/{tenant}/doctor")).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn actions_of(list: &Value) -> BTreeSet<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| (f["product"].as_str().unwrap().to_owned(), f["action"].as_str().unwrap().to_owned()))
        .collect()
}

/// The text with every `( ... )` group whose content starts with `+` taken out: what only part
/// of an action needs is not what makes it fail.
fn without_conditional_parts(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("(+") {
        out.push_str(&rest[..open]);
        rest = rest[open..].find(')').map_or("", |c| &rest[open + c + 1..]);
    }
    out.push_str(rest);
    out
}

/// Whether a permission text requires `role` with no alternative: it is named in a `,` piece
/// that offers no `|` or `(or ...)` choice.
fn requires(text: &str, role: &str) -> bool {
    without_conditional_parts(text).split(',').any(|piece| {
        let named = piece.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).any(|w| w == role);
        named && !piece.contains('|') && !piece.contains("(or ")
    })
}

/// The actions the removals break, from the catalog's declared permissions alone.
fn expected_failing(catalog: &Value) -> BTreeSet<(String, String)> {
    let removed: Vec<&str> = REMOVED_MDE.iter().chain(REMOVED_GRAPH).copied().collect();
    catalog
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "supported" && a["product"] != "AWS")
        .filter(|a| {
            let text = a["permission"].as_str().unwrap_or("");
            match text.strip_prefix("Azure RBAC:") {
                // Reader is left: only the reads that Reader (or Security Reader, which Reader's
                // `*/read` contains) allows still work.
                Some(rbac) => !matches!(rbac.trim(), "Reader" | "Security Reader"),
                None => removed.iter().any(|r| requires(text, r)),
            }
        })
        .map(|a| (a["product"].as_str().unwrap().to_owned(), a["name"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_lists_exactly_the_actions_the_missing_roles_break_and_names_the_fix() {
    let h = Harness::start(2).await;
    let (t, untouched) = (h.tenant(0), h.tenant(1));
    let roles_url = format!("{}/_sandbox/roles/{t}", h.sandbox.base_url());
    let before = get_json(&h, roles_url.clone()).await;
    let keep = |list: &Value, removed: &[&str]| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|r| !removed.contains(r))
            .map(String::from)
            .collect()
    };
    let after = h
        .sandbox_admin(
            &format!("roles/{t}"),
            json!({ "mde": keep(&before["mde"], REMOVED_MDE), "graph": keep(&before["graph"], REMOVED_GRAPH), "arm": ARM_LEFT }),
        )
        .await;
    assert_eq!(after["arm"], json!(ARM_LEFT), "{after}");

    let report = doctor(&h, &t).await;
    let (_, catalog) = h.get("/v1/catalog").await;
    let expected = expected_failing(&catalog);
    assert!(expected.contains(&("MDE".into(), "IsolateDevice".into())), "{expected:?}");
    assert!(expected.iter().any(|(p, _)| p == "Azure") && expected.iter().any(|(p, _)| p == "MDO"), "{expected:?}");
    let failing = actions_of(&report["failing"]);
    let missed: Vec<_> = expected.difference(&failing).collect();
    let extra: Vec<_> = failing.difference(&expected).collect();
    assert!(missed.is_empty() && extra.is_empty(), "missed {missed:?}, extra {extra:?}\n{report:#}");

    // What the tokens and ARM said, as read.
    let mde = report["grants"].as_array().unwrap().iter().find(|g| g["api"] == "mde").expect("an MDE grant");
    assert!(!mde["roles"].as_array().unwrap().iter().any(|r| r == "Machine.Isolate"), "{mde}");
    let subs = report["azure"]["subscriptions"].as_object().expect("Azure role assignments were read");
    assert_eq!(subs.values().next().unwrap(), &json!(ARM_LEFT), "{}", report["azure"]);

    // Each finding names the least-privileged fix.
    let find =
        |name: &str| report["failing"].as_array().unwrap().iter().find(|f| f["action"] == name).cloned().unwrap();
    let isolate = find("IsolateDevice");
    assert_eq!(isolate["missing"][0]["anyOf"], json!(["Machine.Isolate"]), "{isolate}");
    assert!(isolate["missing"][0]["fix"].as_str().unwrap().contains("Machine.Isolate"), "{isolate}");
    let azure_write = report["failing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["permission"].as_str().unwrap().contains("Security Admin (Microsoft.Security/pricings/write)"))
        .cloned()
        .expect("a Defender plan change fails without Security Admin");
    assert!(azure_write["missing"][0]["fix"].as_str().unwrap().contains("'Security Admin'"), "{azure_write}");
    // Containment isolates devices only when asked: it is partial, not failing.
    assert!(report["partial"].as_array().unwrap().iter().any(|f| f["product"] == "EntraID"), "{}", report["partial"]);

    // The prediction holds: MDE refuses the isolation the doctor said would fail.
    let machine = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_owned();
    let (status, body) =
        h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [machine], "comment": "doctor" })).await;
    assert!(status >= 400, "the isolation the doctor flagged went through: {body}");
    assert_eq!(h.state(&t).await["machines"].as_array().unwrap().iter().filter(|m| m["isolated"] == true).count(), 0);

    // A tenant with every grant the sandbox seeds: nothing fails.
    let clean = doctor(&h, &untouched).await;
    assert_eq!(clean["failing"], json!([]), "{:#}", clean["failing"]);
    assert!(clean["ok"].as_u64().unwrap() > 200, "{}", clean["ok"]);

    // `riposte doctor` fails on the broken tenant, passes on the clean one.
    let gateway = riposte::jobs_cli::GatewayArgs { url: h.gateway.clone(), key: h.admin_key.clone() };
    let cli = |tenant: &str| riposte::doctor_cli::DoctorArgs {
        tenant: Some(tenant.to_owned()),
        json: false,
        verbose: true,
        gateway: gateway.clone(),
    };
    let broken = riposte::doctor_cli::doctor(cli(&t)).await.expect_err("missing permissions fail the command");
    assert!(broken.to_string().contains(&format!("{} action(s) would fail", expected.len())), "{broken}");
    riposte::doctor_cli::doctor(cli(&untouched)).await.expect("a tenant with every grant passes");
}

async fn requests_since(h: &Harness, since: u64) -> Vec<Value> {
    let log = get_json(h, format!("{}/_sandbox/requests?since={since}", h.sandbox.base_url())).await;
    log["requests"].as_array().unwrap().clone()
}

async fn log_total(h: &Harness) -> u64 {
    get_json(h, format!("{}/_sandbox/requests", h.sandbox.base_url())).await["total"].as_u64().unwrap()
}

async fn native_dry_run(h: &Harness, tenant: &str, product: &str, action: &str, params: Value) -> Value {
    let url = format!("{}/v1/tenants/{tenant}/actions/{product}/{action}?dryRun=true", h.gateway);
    let resp = h.http.post(url).header("x-api-key", &h.admin_key).json(&params).send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {body}");
    assert_eq!(body["dryRun"], true, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_shows_the_requests_and_sends_nothing_that_changes_anything() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machine = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_owned();
    let users = h.state(&t).await["users"].as_array().unwrap().clone();
    let (index, user) = users.iter().enumerate().find(|(_, u)| u["accountEnabled"] == true).expect("an enabled user");
    let (upn, user_id) =
        (user["userPrincipalName"].as_str().unwrap().to_owned(), user["id"].as_str().unwrap().to_owned());
    let mark = log_total(&h).await;

    let isolate = native_dry_run(
        &h,
        &t,
        "MDE",
        "IsolateDevice",
        json!({ "deviceIds": [machine], "comment": "dry run", "isolationType": "Selective" }),
    )
    .await;
    let req = &isolate["requests"][0];
    assert_eq!(isolate["requests"].as_array().unwrap().len(), 1, "{isolate}");
    assert_eq!(req["method"], "POST");
    assert!(req["url"].as_str().unwrap().ends_with(&format!("/api/machines/{machine}/isolate")), "{req}");
    assert_eq!(req["body"]["IsolationType"], "Selective", "{req}");
    assert!(req["body"]["Comment"].as_str().unwrap().contains("dry run"), "{req}");
    assert_eq!(req["sent"], false);
    assert_eq!(isolate["reads"], json!([]), "machine ids need no resolution");
    assert_eq!(isolate["permission"]["ok"], true, "{}", isolate["permission"]);
    assert_eq!(isolate["expectedChange"]["targets"], json!([machine]));
    let text = isolate.to_string().to_ascii_lowercase();
    assert!(!text.contains("authorization") && !text.contains("bearer"), "no credential in a preview: {isolate}");
    assert!(requests_since(&h, mark).await.is_empty(), "an isolation dry run sent something");

    // A user named by UPN is resolved (a read, sent), the PATCH is not.
    let disable = h
        .seed(
            "DefenderXDREntraIDWorker",
            json!({ "action": "DisableUser", "tenantId": t, "userId": upn, "dryRun": true }),
        )
        .await;
    assert_eq!(disable.0, 200, "{}", disable.1);
    let preview = &disable.1["data"];
    assert_eq!(disable.1["dryRun"], true);
    let patch = &preview["requests"][0];
    assert_eq!(patch["method"], "PATCH", "{preview}");
    assert!(patch["url"].as_str().unwrap().contains(&format!("/users/{user_id}")), "{patch}");
    assert_eq!(patch["body"]["accountEnabled"], false, "{patch}");
    assert!(
        preview["reads"].as_array().unwrap().iter().all(|r| r["method"] == "GET" && r["sent"] == true),
        "{preview}"
    );
    assert_eq!(preview["expectedChange"]["undoneBy"], "EnableUser", "{preview}");

    let sent = requests_since(&h, mark).await;
    assert!(sent.iter().all(|r| r["method"] == "GET"), "a dry run sent a write: {sent:?}");
    let state = h.state(&t).await;
    assert_eq!(state["users"][index]["accountEnabled"], true, "the user is still enabled");
    assert!(
        !state["machines"].as_array().unwrap().iter().any(|m| m["id"] == machine.as_str() && m["isolated"] == true)
    );
    assert!(h.machine_actions(&t).await.is_empty(), "no machine action exists");
    let (_, ops) = h.get(&format!("/v1/operations?tenant={t}")).await;
    assert_eq!(ops["count"], 0, "a dry run creates no operation: {ops}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}")).await;
    let dry: Vec<&Value> = audit["records"].as_array().unwrap().iter().filter(|r| r["kind"] == "dry_run").collect();
    assert_eq!(dry.len(), 2, "one audit record per dry run: {audit}");

    // The log does see writes: the same isolation for real is a POST in it.
    let mark = log_total(&h).await;
    let (status, body) =
        h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [machine], "comment": "for real" })).await;
    assert!(status == 200 || status == 202, "{body}");
    assert!(requests_since(&h, mark).await.iter().any(|r| r["method"] == "POST"), "the real isolation was logged");

    // `riposte action --dry-run` goes through the same route and creates nothing either.
    let mark = log_total(&h).await;
    let cli = riposte::doctor_cli::ActionArgs {
        product: "EntraID".into(),
        action: "RevokeSessions".into(),
        tenant: t.clone(),
        params: vec![format!("userId={user_id}")],
        dry_run: true,
        json: false,
        gateway: riposte::jobs_cli::GatewayArgs { url: h.gateway.clone(), key: h.admin_key.clone() },
    };
    riposte::doctor_cli::action(cli).await.expect("the CLI's dry run");
    assert!(requests_since(&h, mark).await.iter().all(|r| r["method"] == "GET"), "the CLI's dry run sent a write");

    // A bulk job's dry run: targets expanded, items rendered, nothing created.
    let job = h
        .http
        .post(format!("{}/v1/jobs", h.gateway))
        .header("x-api-key", &h.admin_key)
        .json(&json!({ "product": "EntraID", "action": "DisableUser", "dryRun": true,
                       "targets": [{ "tenant": t, "userId": user_id }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(job.status().as_u16(), 200);
    let job: Value = job.json().await.unwrap();
    assert_eq!((job["dryRun"].clone(), job["total"].clone()), (json!(true), json!(1)), "{job}");
    assert_eq!(job["items"][0]["requests"][0]["method"], "PATCH", "{job}");
    let (_, jobs) = h.get("/v1/jobs").await;
    assert_eq!(jobs["count"], 0, "{jobs}");
    assert_eq!(h.state(&t).await["users"][index]["accountEnabled"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_acl_deny_dry_run_leaves_moto_unchanged_and_security_group_writes_are_validated_by_aws() {
    let moto = Moto::start().await;
    let w = moto.world().await;
    let h = aws_harness(vec![moto.tenant()]).await;
    let acl_before = moto.acl_of(&w.subnet).await;
    let group_before = moto.group(&w.group).await;

    let (status, body) = crate::aws::aws(
        &h,
        AWS_TENANT,
        "BlockIPInNetworkAcl",
        json!({ "ip": "198.51.100.9", "instanceId": w.instance, "dryRun": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let preview = &body["data"];
    let create: Vec<&Value> = preview["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["body"]["Action"] == "CreateNetworkAclEntry")
        .collect();
    assert_eq!(create.len(), 2, "inbound and outbound deny entries: {preview}");
    assert!(create.iter().all(|r| r["body"]["CidrBlock"] == "198.51.100.9/32" && r["body"]["RuleAction"] == "deny"));
    assert!(create.iter().all(|r| r["sent"] == false), "{preview}");
    assert!(preview["reads"].as_array().unwrap().iter().any(|r| r["body"]["Action"] == "DescribeInstances"));
    assert_eq!(moto.acl_of(&w.subnet).await, acl_before, "moto's ACL is unchanged");

    // Revoking ingress: AWS's own validation mode answers DryRunOperation, and changes nothing.
    let cidr = items(&group_before["ipPermissions"])
        .iter()
        .flat_map(|p| items(&p["ipRanges"]))
        .find_map(|r| r["cidrIp"].as_str().map(str::to_owned))
        .expect("the web group admits a range");
    let ip = cidr.split('/').next().unwrap().to_owned();
    let (status, body) = crate::aws::aws(
        &h,
        AWS_TENANT,
        "RevokeSecurityGroupIngressForIP",
        json!({ "ip": ip, "instanceId": w.instance, "dryRun": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let validated: Vec<&Value> =
        body["data"]["requests"].as_array().unwrap().iter().filter(|r| r["validation"].is_object()).collect();
    assert!(!validated.is_empty(), "{body}");
    assert!(
        validated.iter().all(|r| r["validation"]["code"] == "DryRunOperation" && r["body"]["DryRun"] == "true"),
        "{body}"
    );
    assert_eq!(body["data"]["permission"]["ok"], true);
    assert_eq!(moto.group(&w.group).await, group_before, "moto's security group is unchanged");
}
