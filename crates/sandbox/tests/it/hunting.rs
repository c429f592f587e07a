//! Advanced hunting: MDE `api/advancedqueries/run`, XDR `api/advancedhunting/run`, Graph
//! `security/runHuntingQuery`; tables consistent with the world; seed 004's queries; limits.

use std::collections::{BTreeSet, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const MDE_RUN: &str = "/api/advancedqueries/run";
const GRAPH_RUN: &str = "/v1.0/security/runHuntingQuery";

// Seed 004's three queries, verbatim from the lab text.
const SEED004_ATTACKER: &str = r#"CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "attacker"
| where ProcessCommandLine has_any ("curl", "nmap", "xmrig", "cmd=", ".git-credentials")
| project Timestamp, ProcessName, ProcessCommandLine, KubernetesNamespace, KubernetesPodName, AccountName
| order by Timestamp desc"#;

const SEED004_VICTIM: &str = r#"CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "victim"
| where ParentProcessName == "php-fpm"
   or ProcessCommandLine has_any ("cmd=", ".git-credentials", "nmap", "xmrig", "curl", "sudo", "chmod", "setcap")
   or FileName has_any ("/var/run/secrets/kubernetes.io/serviceaccount/token", "/etc/ld.so.preload")
   or ActionType == "FileModified"
| project Timestamp, ProcessName, ProcessCommandLine, ParentProcessName, FileName, FolderPath, KubernetesNamespace, KubernetesPodName, AccountName
| order by Timestamp desc"#;

const SEED004_CORRELATION: &str = r#"let AttackerActions = CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "attacker"
| where ProcessCommandLine has "curl" and ProcessCommandLine has "ws.php"
| project AttackerTimestamp = Timestamp, AttackerCommandLine = ProcessCommandLine, TargetURL = extract("http[s]?://([^/]+)", 1, ProcessCommandLine), KubernetesNamespace, KubernetesPodName;

let VictimObservations = CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "victim"
| where ParentProcessName == "php-fpm"
| project VictimTimestamp = Timestamp, VictimCommandLine = ProcessCommandLine, VictimPodName = KubernetesPodName, VictimParentProcess = ParentProcessName, KubernetesNamespace;

AttackerActions
| join kind=inner (VictimObservations) on KubernetesNamespace
| where TargetURL contains VictimPodName
| order by AttackerTimestamp desc"#;

async fn mde_hunt(e: &Env, token: &str, query: &str) -> Resp {
    e.post(token, MDE_RUN, json!({ "Query": query })).await
}

async fn graph_hunt(e: &Env, token: &str, query: &str) -> Resp {
    e.post(token, GRAPH_RUN, json!({ "Query": query })).await
}

fn rows(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let key = if r.body.get("Results").is_some() { "Results" } else { "results" };
    r.body[key].as_array().expect("results").clone()
}

fn strings(rows: &[Value], col: &str) -> Vec<String> {
    rows.iter().map(|r| r[col].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn mde_and_xdr_endpoints_answer_in_the_documented_shape() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let r = mde_hunt(
        &e,
        &tok,
        "DeviceProcessEvents | where Timestamp > ago(7d) | summarize Events = count(), Last = max(Timestamp) by DeviceId | top 3 by Events",
    )
    .await;
    let results = rows(&r);
    assert_eq!(results.len(), 3);
    assert_eq!(
        r.body["Schema"],
        json!([
            {"Name": "DeviceId", "Type": "String"},
            {"Name": "Events", "Type": "Int64"},
            {"Name": "Last", "Type": "DateTime"}
        ])
    );
    assert!(results[0]["Events"].as_i64().unwrap() > 0);
    let last = results[0]["Last"].as_str().unwrap();
    assert!(last.ends_with('Z') && last.len() == 28, "MDE datetime text: {last}");

    // Defender XDR's path adds Stats and accepts the same body.
    let x = e.post(&tok, "/api/advancedhunting/run", json!({"Query": "DeviceInfo | take 2"})).await;
    assert_eq!(rows(&x).len(), 2);
    assert!(x.body["Stats"].is_object(), "{:?}", x.body);

    // Body keys are case-sensitive on MDE; a missing query is InvalidRequestBody.
    let bad = e.post(&tok, MDE_RUN, json!({"query": "DeviceInfo"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.code(), "InvalidRequestBody");
    assert_eq!(bad.body["error"]["message"], "Missing query.");
    assert!(is_guid(bad.body["error"]["target"].as_str().unwrap()));
}

#[tokio::test]
async fn graph_endpoint_answers_v1_and_beta_and_honours_timespan() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    for version in ["v1.0", "beta"] {
        let r = e
            .post(
                &tok,
                &format!("/{version}/security/runHuntingQuery"),
                json!({"Query": "DeviceInfo | project DeviceId, Timestamp | take 4"}),
            )
            .await;
        assert_eq!(rows(&r).len(), 4);
        assert_eq!(
            r.body["@odata.context"],
            format!("{}/{version}/$metadata#microsoft.graph.security.huntingQueryResults", e.sb.base_url())
        );
        assert_eq!(
            r.body["schema"],
            json!([{"name": "DeviceId", "type": "String"}, {"name": "Timestamp", "type": "DateTime"}])
        );
    }
    let count = |r: &Resp| rows(r)[0]["Count"].as_i64().unwrap();
    let q = "DeviceLogonEvents | count";
    let all = e.post(&tok, GRAPH_RUN, json!({"Query": q, "Timespan": "P30D"})).await;
    let day = e.post(&tok, GRAPH_RUN, json!({"Query": q, "Timespan": "P1D"})).await;
    assert!(count(&day) > 0 && count(&day) < count(&all), "{:?} {:?}", day.body, all.body);
    let bad = e.post(&tok, GRAPH_RUN, json!({"Query": q, "Timespan": "last week"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body["error"]["message"].as_str().unwrap().contains("Timespan"));
    assert!(bad.body["error"]["innerError"]["request-id"].is_string());
}

/// DeviceInfo ⋈ DeviceProcessEvents gives devices that `GET /api/machines` knows, with the
/// same names, and events name the world's users.
#[tokio::test]
async fn tables_join_consistently_with_the_world() {
    let e = env().await;
    let mde = e.token(0, MDE).await;
    let machines: HashMap<String, String> = e
        .machines(&mde)
        .await
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_string(), m["computerDnsName"].as_str().unwrap().to_string()))
        .collect();
    let r = mde_hunt(
        &e,
        &mde,
        "DeviceInfo | summarize arg_max(Timestamp, DeviceName, OSPlatform) by DeviceId \
         | join kind=inner (DeviceProcessEvents | summarize Processes = count() by DeviceId) on DeviceId \
         | project DeviceId, DeviceName, OSPlatform, Processes",
    )
    .await;
    let joined = rows(&r);
    assert!(joined.len() >= 30, "most machines report events: {}", joined.len());
    for row in &joined {
        let id = row["DeviceId"].as_str().unwrap();
        assert_eq!(machines.get(id).map(String::as_str), row["DeviceName"].as_str(), "{id}");
        assert!(row["Processes"].as_i64().unwrap() > 0);
    }

    let graph = e.token(0, GRAPH).await;
    let users = e.get(&graph, "/v1.0/users?$top=999").await;
    let upns: BTreeSet<String> = users.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_string())
        .collect();
    let r = graph_hunt(
        &e,
        &graph,
        "DeviceProcessEvents | where isnotempty(AccountUpn) | distinct AccountUpn \
         | union (IdentityInfo | distinct AccountUpn) | distinct AccountUpn",
    )
    .await;
    let seen = strings(&rows(&r), "AccountUpn");
    assert!(!seen.is_empty());
    for upn in seen {
        assert!(upns.contains(&upn), "{upn} is a Graph user");
    }
    let ips = mde_hunt(&e, &mde, "DeviceNetworkEvents | distinct DeviceId, LocalIP").await;
    let state = e.state(0).await;
    let world_ips: HashMap<String, String> = state["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_string(), m["lastIpAddress"].as_str().unwrap().to_string()))
        .collect();
    for row in rows(&ips) {
        assert_eq!(world_ips.get(row["DeviceId"].as_str().unwrap()).map(String::as_str), row["LocalIP"].as_str());
    }
}

#[tokio::test]
async fn alert_tables_carry_the_alerts_api_ids() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let api = e.get(&tok, "/api/alerts?$top=10000").await;
    assert_eq!(api.status, StatusCode::OK, "{:?}", api.body);
    let api_ids: BTreeSet<String> =
        api.body["value"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    let info =
        mde_hunt(&e, &tok, "AlertInfo | where ServiceSource == 'Microsoft Defender for Endpoint' | distinct AlertId")
            .await;
    let info_ids: BTreeSet<String> = strings(&rows(&info), "AlertId").into_iter().collect();
    assert_eq!(info_ids, api_ids);
    let ev = mde_hunt(
        &e,
        &tok,
        "AlertEvidence | where EntityType == 'Machine' | join kind=inner AlertInfo on AlertId | distinct AlertId, DeviceId",
    )
    .await;
    assert_eq!(rows(&ev).len(), api_ids.len(), "one machine evidence per alert");
}

#[tokio::test]
async fn planted_needles_tell_one_story() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    // Encoded PowerShell started by Word.
    let ps = mde_hunt(
        &e,
        &tok,
        "DeviceProcessEvents | where FileName =~ 'powershell.exe' and ProcessCommandLine has '-EncodedCommand' \
         | project DeviceId, AccountUpn, InitiatingProcessFileName, ProcessCommandLine",
    )
    .await;
    let ps = rows(&ps);
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0]["InitiatingProcessFileName"], "WINWORD.EXE");
    // The victim clicked the phishing link, from the email the campaign sent.
    let click = mde_hunt(
        &e,
        &tok,
        "UrlClickEvents | where ActionType == 'ClickAllowed' \
         | join kind=inner (EmailEvents | where SenderFromDomain == 'contoso-invoices.com') on NetworkMessageId \
         | project AccountUpn, RecipientEmailAddress, Url",
    )
    .await;
    let click = rows(&click);
    assert_eq!(click.len(), 1, "{click:?}");
    assert_eq!(click[0]["AccountUpn"], click[0]["RecipientEmailAddress"]);
    assert_eq!(click[0]["AccountUpn"], ps[0]["AccountUpn"], "same user on the device");
    // LOLBins and the payload's beacons.
    let lol = mde_hunt(
        &e,
        &tok,
        "DeviceProcessEvents | where FileName in~ ('certutil.exe', 'mshta.exe', 'regsvr32.exe', 'bitsadmin.exe') | distinct FileName",
    )
    .await;
    assert_eq!(rows(&lol).len(), 4);
    let beacons = mde_hunt(
        &e,
        &tok,
        "DeviceNetworkEvents | where RemoteIP == '185.225.17.74' and InitiatingProcessFileName == 'invoice_update.exe' | count",
    )
    .await;
    assert!(rows(&beacons)[0]["Count"].as_i64().unwrap() >= 24);
}

/// Seed 004's three queries, through MDE and Graph, return what the simulation implies.
#[tokio::test]
async fn seed_004_queries_find_the_container_attack() {
    let e = env().await;
    let mde = e.token(1, MDE).await;
    let graph = e.token(1, GRAPH).await;
    for (name, q) in [("attacker", SEED004_ATTACKER), ("victim", SEED004_VICTIM), ("correlation", SEED004_CORRELATION)]
    {
        let a = rows(&mde_hunt(&e, &mde, q).await);
        let b = rows(&graph_hunt(&e, &graph, q).await);
        assert_eq!(a, b, "{name}: MDE and Graph agree");
    }
    // 1. Nine web-shell requests from the attacker pod, newest first.
    let attacker = rows(&mde_hunt(&e, &mde, SEED004_ATTACKER).await);
    assert_eq!(attacker.len(), 9);
    let cmds = strings(&attacker, "ProcessCommandLine");
    assert!(attacker.iter().all(|r| r["ProcessName"] == "curl" && r["KubernetesPodName"] == "mdc-simulation-attacker"));
    for needle in ["ws.php?cmd=", "nmap", "xmrig", ".git-credentials", "169.254.169.254"] {
        assert!(cmds.iter().any(|c| c.contains(needle)), "{needle}");
    }
    let times = strings(&attacker, "Timestamp");
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "ordered by Timestamp desc");
    // 2. The victim: ten php-fpm children (nine shells and the ld.so.preload write) plus the
    //    seven commands that name the simulation's tools.
    let victim = rows(&mde_hunt(&e, &mde, SEED004_VICTIM).await);
    assert_eq!(victim.len(), 17, "{victim:#?}");
    let from_php = victim.iter().filter(|r| r["ParentProcessName"] == "php-fpm").count();
    assert_eq!(from_php, 10);
    assert!(victim.iter().any(|r| r["FolderPath"] == "/etc/ld.so.preload"));
    for tool in ["nmap", "xmrig", "curl", "cat", "find"] {
        assert!(victim.iter().any(|r| r["ProcessName"] == tool), "{tool}");
    }
    assert!(victim.iter().all(|r| r["KubernetesPodName"] == "mdc-simulation-victim"));
    // 3. Every attacker request pairs with every php-fpm child in the namespace.
    let pairs = rows(&mde_hunt(&e, &mde, SEED004_CORRELATION).await);
    assert_eq!(pairs.len(), 9 * 10);
    assert!(pairs.iter().all(|r| r["TargetURL"] == "mdc-simulation-victim" && r["VictimParentProcess"] == "php-fpm"));
}

#[tokio::test]
async fn syntax_and_semantic_errors_in_microsofts_shape() {
    let e = env().await;
    let mde = e.token(0, MDE).await;
    let r = mde_hunt(&e, &mde, "DeviceInfo\n| where DeviceName ==").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BadRequest");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("Syntax error") && msg.contains("line 2, column 22"), "{msg}");
    assert!(is_guid(r.body["error"]["target"].as_str().unwrap()));

    let graph = e.token(0, GRAPH).await;
    let r = graph_hunt(&e, &graph, "DeviceInfo | where DeviceNmae == 'x'").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BadRequest");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("Semantic error") && msg.contains("DeviceNmae") && msg.contains("DeviceName"), "{msg}");
    assert!(msg.contains("line 1, column 20"), "{msg}");
    assert!(r.body["error"]["innerError"]["date"].is_string());

    // Defined answers for what the sandbox cannot do, never a 500.
    for q in [
        "externaldata(x:string)[@'https://example.com/a.csv'] with (format='csv')",
        "DeviceFileEvents | take 1 | invoke FileProfile(SHA1, 1)",
    ] {
        let r = mde_hunt(&e, &mde, q).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {:?}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("sandbox"), "{:?}", r.body);
    }
}

#[tokio::test]
async fn row_limit_and_timeout_are_settings() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let r = e.admin_post("/_sandbox/settings", json!({"hunting_max_rows": 5})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["hunting_max_rows"], 5);
    assert_eq!(rows(&mde_hunt(&e, &tok, "DeviceProcessEvents").await).len(), 5);
    // Limits apply to the result, not to what the query reads.
    let n = rows(&mde_hunt(&e, &tok, "DeviceProcessEvents | count").await)[0]["Count"].as_i64().unwrap();
    assert!(n > 1000, "a few thousand rows: {n}");

    e.admin_post("/_sandbox/settings", json!({"hunting_timeout_seconds": 0})).await;
    let r = mde_hunt(&e, &tok, "DeviceProcessEvents | summarize count() by FileName").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("time limit"), "{:?}", r.body);
}

#[tokio::test]
async fn quota_is_45_per_minute_per_tenant_shared_by_all_paths() {
    let e = env().await;
    let settings = e.admin_get("/_sandbox/settings").await;
    assert_eq!(settings.body["hunting_per_minute"], 45);
    assert_eq!(settings.body["hunting_per_hour"], 1500);
    e.admin_post("/_sandbox/settings", json!({"hunting_per_minute": 2})).await;
    let mde = e.token(0, MDE).await;
    let graph = e.token(0, GRAPH).await;
    rows(&mde_hunt(&e, &mde, "DeviceInfo | take 1").await);
    rows(&graph_hunt(&e, &graph, "DeviceInfo | take 1").await);
    let r = mde_hunt(&e, &mde, "DeviceInfo | take 1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "TooManyRequests");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    let g = graph_hunt(&e, &graph, "DeviceInfo | take 1").await;
    assert_eq!(g.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(g.body["error"]["innerError"].is_object());
    // Another tenant has its own quota; other MDE APIs are not affected.
    let other = e.token(1, MDE).await;
    rows(&mde_hunt(&e, &other, "DeviceInfo | take 1").await);
    assert_eq!(e.get(&mde, "/api/machines?$top=1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_need_the_right_audience_and_permission() {
    let e = env().await;
    let graph = e.token(0, GRAPH).await;
    let mde = e.token(0, MDE).await;
    let r = mde_hunt(&e, &graph, "DeviceInfo").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "Unauthorized");
    let r = graph_hunt(&e, &mde, "DeviceInfo").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    let tenant = e.tenant(0).tenant_id.clone();
    e.admin_post(
        &format!("/_sandbox/roles/{tenant}"),
        json!({"mde": ["Machine.Read.All"], "graph": ["User.Read.All"]}),
    )
    .await;
    let mde = e.token(0, MDE).await;
    let graph = e.token(0, GRAPH).await;
    let r = mde_hunt(&e, &mde, "DeviceInfo").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("AdvancedQuery.Read.All"));
    let r = graph_hunt(&e, &graph, "DeviceInfo").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Authorization_RequestDenied");
}

#[tokio::test]
async fn injected_faults_hit_the_hunting_routes() {
    let e = env().await;
    let tenant = e.tenant(0).tenant_id.clone();
    let r = e
        .admin_post(
            "/_sandbox/faults",
            json!({"path_prefix": MDE_RUN, "status": 429, "retry_after": 7, "count": 1, "tenant": tenant}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let other = e.token(1, MDE).await;
    rows(&mde_hunt(&e, &other, "DeviceInfo | take 1").await);
    let tok = e.token(0, MDE).await;
    let r = mde_hunt(&e, &tok, "DeviceInfo | take 1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    rows(&mde_hunt(&e, &tok, "DeviceInfo | take 1").await);
}

/// Same seed, same tables (timestamps are relative to the clock, content is not).
#[tokio::test]
async fn tables_are_deterministic_for_the_seed() {
    let a = env().await;
    let b = env().await;
    let q = "DeviceProcessEvents | summarize n = count() by DeviceId, FileName | order by DeviceId asc, FileName asc";
    let ra = rows(&mde_hunt(&a, &a.token(2, MDE).await, q).await);
    let rb = rows(&mde_hunt(&b, &b.token(2, MDE).await, q).await);
    assert!(!ra.is_empty());
    assert_eq!(ra, rb);
}
