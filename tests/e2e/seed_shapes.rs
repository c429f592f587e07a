//! Every catalog action in each of the seed's request shapes, generated from the catalog.
//!
//! For every action of every product (`catalog::all()`), the test sends the action in the
//! three shapes the seed used: its product's worker route (`/api/DefenderXDR{Product}Worker`)
//! with flat parameters, the same route with the parameters nested under `parameters`, and the
//! orchestrator (`/api/Gateway`) with `service` set to the product key.
//!
//! No action is listed here: the required parameters are generated from their declarations
//! ([`Gen::value`]): an example value per parameter kind, and per parameter name where the kind
//! does not say enough (which fixture pool an `alertId` or a library `fileName` draws from). The
//! fixtures are read from the sandbox (`/_sandbox/state/{tenant}`: machines, users, alerts,
//! incidents, indicators, detection rules, investigations, machine actions; the TVM lists through
//! the sandbox's MDE API) after the few created here (indicators, rules, pending actions, ...), and
//! Riposte's own library and saved queries. A new action is therefore covered as soon as it is in
//! the catalog; a parameter the generator has no value for fails the test naming the action, the
//! parameter and its kind (a new kind needs a generator, never a skip).
//!
//! Expected answers, each in the seed envelope: a read 200; a write, sent with `"wait": 0`, 200 or
//! 202 (accepted, not awaited); an unsupported action 501 `NotSupported`. A 409 is accepted only
//! for an MDE write on a device (machine actions, investigations, live-response sessions), where
//! Microsoft allows one pending request per machine, and must name `ActiveRequestAlreadyExists`.
//!
//! Effects are asserted in the per-area tests (`mde/indicators.rs`, `mde/alerts.rs`,
//! `mde/devices.rs`, `mde/actions.rs`, `mde/live_response.rs`, `hunting.rs`, `entra.rs`,
//! `incident.rs`); this test is about the request shapes and the envelope.

use crate::common::*;
use base64::Engine as _;
use catalog::{ActionSpec, ParamKind, ParamSpec, Product, Risk};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Documented Microsoft reads the sandbox does not serve yet (it answers 404 for the path);
/// their shapes are checked here once it does. Keep this list short and say why.
/// None today: the TVM related reads (machineReferences, software vulnerabilities) are served.
const SANDBOX_LACKS: &[(Product, &str)] = &[];

#[derive(Clone, Copy, Debug)]
enum Shape {
    WorkerFlat,
    WorkerNested,
    Orchestrator,
}

const SHAPES: [Shape; 3] = [Shape::WorkerFlat, Shape::WorkerNested, Shape::Orchestrator];

fn worker_route(product: Product) -> String {
    format!("DefenderXDR{}Worker", product.key())
}

/// One seed request; `wait` (seconds) goes at the top level, beside `action` and `tenantId`.
async fn send(
    h: &Harness,
    tenant: &str,
    shape: Shape,
    spec: &ActionSpec,
    params: Value,
    wait: Option<u64>,
) -> (u16, Value) {
    let mut body = json!({ "action": spec.name, "tenantId": tenant });
    if let Some(w) = wait {
        body["wait"] = w.into();
    }
    match shape {
        Shape::WorkerFlat => {
            merge(&mut body, params);
            h.seed(&worker_route(spec.product), body).await
        }
        Shape::WorkerNested => {
            body["parameters"] = params;
            h.seed(&worker_route(spec.product), body).await
        }
        Shape::Orchestrator => {
            body["service"] = spec.product.key().into();
            merge(&mut body, params);
            h.seed("Gateway", body).await
        }
    }
}

/// Fixture values of one sort: the first is shared by every read, the others are handed to
/// writes one per use (round robin), so a write never changes or deletes what a read relies on.
struct Pool {
    shared: String,
    spares: Vec<String>,
    next: usize,
}

impl Pool {
    fn new(mut items: Vec<String>) -> Option<Pool> {
        if items.is_empty() {
            return None;
        }
        let shared = items.remove(0);
        Some(Pool { shared, spares: items, next: 0 })
    }

    fn get(&mut self, write: bool) -> String {
        if !write || self.spares.is_empty() {
            return self.shared.clone();
        }
        let v = self.spares[self.next % self.spares.len()].clone();
        self.next += 1;
        v
    }
}

/// Generates an action's required parameters from the fixtures.
struct Gen {
    pools: HashMap<&'static str, Pool>,
    /// The shared machine's DNS name and IP, for the lookups.
    dns: String,
    ip: String,
    counter: u32,
    /// Azure resource name (lower-cased) -> its resource group, so that an action naming a VM or
    /// an NSG gets the group that holds it.
    arm_groups: HashMap<String, String>,
}

fn trunc(s: impl Into<String>, max: usize) -> String {
    s.into().chars().take(max).collect()
}

impl Gen {
    fn take(&mut self, pool: &str, write: bool) -> Result<String, String> {
        let p = self.pools.get_mut(pool).ok_or_else(|| format!("no fixture pool '{pool}' (add one in `fixtures`)"))?;
        Ok(p.get(write))
    }

    fn next(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    /// `n` hex digits, different on every call.
    fn hex(&mut self, n: usize) -> String {
        let c = self.next();
        format!("{:08x}", 0x4f2d_0000u32 + c).repeat(n / 8 + 1)[..n].to_string()
    }

    /// The required parameters of one call of `spec`, canonical names, or what could not be made.
    fn params(&mut self, spec: &ActionSpec) -> Result<Value, String> {
        let mut out = Map::new();
        for p in spec.params.iter().filter(|p| p.required) {
            let v = self.value(spec, p).map_err(|why| {
                format!(
                    "{} {}: no value for required parameter `{}` of kind {:?}: {why}",
                    spec.product.key(),
                    spec.name,
                    p.name,
                    p.kind
                )
            })?;
            out.insert(p.name.to_string(), v);
        }
        self.fit_resource_group(&mut out);
        Ok(Value::Object(out))
    }

    /// An Azure action names a resource and its group: the group is the one holding the named
    /// resource (any generated name found in the sandbox's ARM store decides).
    fn fit_resource_group(&self, out: &mut Map<String, Value>) {
        if !out.contains_key("resourceGroup") {
            return;
        }
        let group = out
            .iter()
            .filter(|(k, _)| k.as_str() != "resourceGroup")
            .find_map(|(_, v)| v.as_str().and_then(|n| self.arm_groups.get(&n.to_ascii_lowercase())).cloned());
        if let Some(g) = group {
            out.insert("resourceGroup".into(), json!(g));
        }
    }

    /// An example value by kind; by name where the kind is not enough (which pool an id comes
    /// from, what a free-text field means). Reads get the shared fixture, writes a spare one.
    fn value(&mut self, spec: &ActionSpec, p: &ParamSpec) -> Result<Value, String> {
        let write = spec.risk != Risk::Read;
        Ok(match p.kind {
            ParamKind::DeviceId | ParamKind::DeviceIds => json!(self.take("machine", write)?),
            // FileVault is macOS only; every other Intune action is taken (or recorded
            // notSupported, as Intune does) on a Windows device.
            ParamKind::ManagedDevice if spec.name == "EnableFileVault" => json!(self.take("intuneMac", write)?),
            ParamKind::ManagedDevice => json!(self.take("intuneDevice", write)?),
            ParamKind::UserRef => json!(self.take("user", write)?),
            // MDO: the recipient of the fixture message (one copy, so that ids and recipients pair).
            ParamKind::EmailAddress => json!(self.take("recipientEmailAddress", write)?),
            ParamKind::EmailAddresses { max } => {
                json!(
                    (0..max.clamp(1, 2))
                        .map(|_| self.take("recipientEmailAddress", write))
                        .collect::<Result<Vec<_>, _>>()?
                )
            }
            // MDI: an account of the identity, for the provider the action defaults to.
            ParamKind::ResourceId if p.name == "accountId" => {
                let provider = spec.params.iter().find(|q| q.name == "identityProvider").and_then(|q| q.default);
                json!(self.take(if provider == Some("entraID") { "entraAccountId" } else { "adAccountId" }, write)?)
            }
            // A live-response session where the parameter is also spelled `sessionId`; else any
            // machine action (pending ones, so that a cancellation has something to cancel).
            ParamKind::ActionId => {
                let session = p.aliases.iter().any(|a| a.eq_ignore_ascii_case("sessionId"));
                json!(self.take(if session { "liveResponseSession" } else { "machineAction" }, write)?)
            }
            // Pools of upstream ids are named after the parameter (`alertId`, `ruleId`, ...); the
            // bulk form `alertIds` draws from `alertId`.
            ParamKind::ResourceId => json!(self.take(p.name, write)?),
            ParamKind::PairedIds { max } | ParamKind::ResourceIds { max } => {
                let pool = p.name.strip_suffix('s').unwrap_or(p.name);
                let ids = (0..max.clamp(1, 2)).map(|_| self.take(pool, write)).collect::<Result<Vec<_>, _>>()?;
                json!(ids)
            }
            ParamKind::Sha1 => json!(self.hex(40)),
            ParamKind::Sha256 => json!(self.hex(64)),
            ParamKind::Md5 => json!(self.hex(32)),
            // A real machine's address, so that lookups by IP find one.
            ParamKind::Ip => json!(self.ip),
            ParamKind::Guid if p.name == "subscriptionId" => json!(self.take("subscriptionId", write)?),
            // A fixture when a pool is named after the parameter (Entra's groupId, ...), else fresh.
            ParamKind::Guid if self.pools.contains_key(p.name) => json!(self.take(p.name, write)?),
            ParamKind::Guid => json!(uuid::Uuid::new_v4().to_string()),
            // Names of resources an action creates (a SQL firewall rule, a Sentinel watchlist, the
            // playbook an automation rule runs) are new ones.
            ParamKind::ArmName if matches!(p.name, "ruleName" | "watchlistAlias" | "playbookName") => {
                json!(format!("riposte-shape-{}", self.next()))
            }
            // Azure resources are named per parameter (`vmName`, `nsgName`, `resourceGroup`, ...).
            ParamKind::ArmName | ParamKind::ArmResourceId => json!(self.take(p.name, write)?),
            ParamKind::IpPrefix => json!(format!("198.51.100.{}", self.next() % 250 + 1)),
            ParamKind::IpPrefixes { .. } => json!([format!("198.51.100.{}", self.next() % 250 + 1)]),
            // Watchlist rows carry the default search key column.
            ParamKind::JsonObjects { .. } => json!([{ "Indicator": format!("198.51.100.{}", self.next() % 250 + 1) }]),
            ParamKind::PortRanges { .. } => json!(["*"]),
            ParamKind::CountryCodes { .. } => json!(["KP"]),
            ParamKind::Enum { values } => json!(p.default.or(values.first().copied()).ok_or("an enum without values")?),
            // MDO (Exchange Online): a policy the sandbox lets change, or a quarantined message.
            ParamKind::Text { .. } if p.name == "identity" => json!(self.exchange_identity(spec, write)?),
            ParamKind::TextList { .. } if p.name == "identities" => json!([self.take("quarantineIdentity", write)?]),
            // Removals name an entry the tenant has; additions a new domain.
            ParamKind::SenderEntries { .. } => json!([match spec.name {
                "UnblockSenderDomain" => self.take("blockedSender", write)?,
                "RemoveSafeSender" => self.take("allowedSender", write)?,
                _ => format!("shape-{}.riposte-shape.example", self.next()),
            }]),
            ParamKind::Text { max } => json!(trunc(self.text(p.name, write)?, max)),
            ParamKind::Int { min, max } => {
                json!(p.default.and_then(|d| d.parse::<i64>().ok()).unwrap_or(1i64.clamp(min, max)))
            }
            ParamKind::Bool => json!(true),
            ParamKind::TextList { max_len, .. } => json!([trunc("riposte-shape", max_len)]),
            ParamKind::DateTime => json!("2030-12-31T23:59:59Z"),
            // A submitted message is named by its Graph URL: the fixture copy's.
            ParamKind::Url if p.name == "messageUrl" => json!(self.take("messageUrl", write)?),
            ParamKind::Url => json!("https://riposte-shape.example.com/help"),
            ParamKind::IndicatorValue { type_param } => json!(self.indicator_value(spec, type_param, write)?),
            ParamKind::Indicators { max } => {
                let n = self.next();
                let items = [
                    json!({ "indicatorValue": format!("203.0.113.{}", n % 250 + 1) }),
                    json!({ "indicatorValue": format!("https://bulk-{n}.riposte-shape.example.com/x") }),
                ];
                json!(items[..max.clamp(1, 2)])
            }
            ParamKind::Determination { pairs, .. } => {
                json!(pairs.first().and_then(|(_, values)| values.first()).ok_or("a determination without values")?)
            }
            ParamKind::Secret { max } => {
                let n = self.next();
                json!(trunc(format!("Rip0ste!Shape-{n:04}-x7Q"), max))
            }
            // A `$filter` or a JSON body means something only for one entity: say it by name.
            ParamKind::ODataFilter | ParamKind::JsonObject => {
                return Err(
                    "no example for this kind without knowing the parameter: add one by name in `Gen::value`".into()
                );
            }
            #[allow(unreachable_patterns)]
            _ => return Err("no example for this kind: add a generator in `Gen::value`".into()),
        })
    }

    /// Free text, by what the parameter names.
    fn text(&mut self, name: &str, write: bool) -> Result<String, String> {
        Ok(match name {
            // Riposte's saved queries and library files, as the fixtures made them.
            "queryName" | "fileName" | "scriptName" => self.take(name, write)?,
            // InvokeCommand's argument for its first command type (RunScript): a library script.
            "command" => self.take("scriptName", write)?,
            "computerDnsName" => self.dns.clone(),
            // Intune: a configuration profile Riposte made (fixtures).
            "profileName" => self.take("profileName", write)?,
            // Intune: every Windows device has a pending elevation request for this setup.
            "applicationPath" => r"C:\Users\Public\Downloads\ContosoSetup.exe".into(),
            "query" => "DeviceEvents | take 1".into(),
            "ruleName" => format!("riposte shape rule {}", self.next()),
            // WAF custom rule names are letters and digits only.
            "customRuleName" => format!("RiposteShapeRule{}", self.next()),
            "assignedTo" => "soc@contoso.com".into(),
            "fileContent" => base64::engine::general_purpose::STANDARD.encode(b"riposte seed shape file"),
            "content" => base64::engine::general_purpose::STANDARD
                .encode(format!("Write-Output 'riposte shape {}'\n", self.next())),
            "filePath" => r"C:\Windows\Temp\riposte-shape.txt".into(),
            "processId" => "4242".into(),
            "registryPath" => r"HKLM\SOFTWARE\Contoso\RiposteShape".into(),
            "valueName" => "RiposteShape".into(),
            // Comments, registry data and any other free text.
            _ => "riposte seed shape".into(),
        })
    }

    /// The `identity` of an Exchange Online row: the policy it changes, else a quarantined message.
    fn exchange_identity(&mut self, spec: &ActionSpec, write: bool) -> Result<String, String> {
        Ok(match spec.name {
            "UpdateQuarantinePolicy" => "Contoso quarantine policy".into(),
            "EnableATPSafeAttachments" => "Contoso Safe Attachments".into(),
            "UpdateSpamPolicy" => "Default".into(),
            _ => self.take("quarantineIdentity", write)?,
        })
    }

    /// An indicator of the type the action fixes (its type parameter's default), or of the first
    /// type it allows; domains come from existing indicators, so a removal by value removes one.
    fn indicator_value(&mut self, spec: &ActionSpec, type_param: &str, write: bool) -> Result<String, String> {
        let ty = spec
            .params
            .iter()
            .find(|q| q.name == type_param)
            .and_then(|q| match q.kind {
                ParamKind::Enum { values } => q
                    .default
                    .or_else(|| values.contains(&"DomainName").then_some("DomainName"))
                    .or(values.first().copied()),
                _ => None,
            })
            .unwrap_or("DomainName");
        let n = self.next();
        Ok(match ty {
            "DomainName" => self.take("indicatorValue", write)?,
            "FileSha1" | "CertificateThumbprint" => self.hex(40),
            "FileSha256" => self.hex(64),
            "FileMd5" => self.hex(32),
            "IpAddress" => format!("198.51.100.{}", n % 250 + 1),
            "Url" => format!("https://ioc-{n}.riposte-shape.example.com/x"),
            other => return Err(format!("no example for indicator type {other}")),
        })
    }
}

fn id_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().map(|a| a.iter().map(|x| id_of(&x["id"])).collect()).unwrap_or_default()
}

async fn ok(h: &Harness, t: &str, action: &str, params: Value) -> Value {
    let (status, body) = h.mde(t, action, params).await;
    assert_eq!(status, 200, "fixture {action}: {body}");
    body["data"].clone()
}

/// A write submitted without waiting for its end (200 when it already ended, else 202).
async fn accepted(h: &Harness, t: &str, action: &str, params: Value) {
    let mut p = json!({ "wait": 0 });
    merge(&mut p, params);
    let (status, body) = h.mde(t, action, p).await;
    assert!(status == 200 || status == 202, "fixture {action}: {status} {body}");
}

/// Machine actions left pending on each offline fixture machine (one per kind: MDE refuses a
/// second pending action of a kind on a machine).
const PENDING_KINDS: [&str; 4] =
    ["IsolateDevice", "RunAntivirusScan", "RestrictAppExecution", "CollectInvestigationPackage"];

/// Items this test creates per pool (indicators twice over: by id and by value): a few more
/// than today's writes use, so round robin rarely hands a deleted one out again.
const CREATED: usize = 16;

/// Create what the seeded world lacks (indicators, rules, investigations, pending actions,
/// library files, saved queries), then read every pool back from the sandbox and Riposte.
async fn fixtures(h: &Harness, t: &str) -> Gen {
    let state = h.state(t).await;
    let machines = state["machines"].as_array().unwrap().clone();
    let windows = |m: &&Value| m["osPlatform"].as_str().unwrap_or("").starts_with("Windows");
    let mut online: Vec<&Value> = machines.iter().filter(windows).filter(|m| is_online(m)).collect();
    let offline: Vec<&Value> = machines.iter().filter(|m| !is_online(m)).collect();
    // Reads look at one online Windows machine; another carries the fixture investigation, and
    // a few offline machines keep the fixture actions pending.
    let reader = online.remove(0).clone();
    let investigated = id_of(&online.remove(0)["id"]);
    let pending_hosts: Vec<String> = offline.iter().take(3).map(|m| id_of(&m["id"])).collect();
    assert_eq!(pending_hosts.len(), 3, "three offline machines");
    // Writes get every other Windows machine (Offboard and StopAndQuarantineFile are Windows
    // only), online ones first.
    let reserved = |m: &Value| {
        pending_hosts.contains(&id_of(&m["id"])) || id_of(&m["id"]) == investigated || m["id"] == reader["id"]
    };
    let mut writers: Vec<String> = online.iter().filter(|m| !reserved(m)).map(|m| id_of(&m["id"])).collect();
    writers.extend(machines.iter().filter(windows).filter(|m| !is_online(m) && !reserved(m)).map(|m| id_of(&m["id"])));

    // Not awaited (an offline machine never picks them up): the sandbox shows them Pending.
    let pending = async {
        let mut creations = Vec::new();
        for host in &pending_hosts {
            for action in PENDING_KINDS {
                creations.push(accepted(h, t, action, json!({ "deviceIds": host })));
            }
        }
        futures::future::join_all(creations).await;
        for _ in 0..100 {
            let state = h.state(t).await;
            let n = state["machineActions"].as_array().unwrap().iter().filter(|a| a["status"] == "Pending").count();
            if n >= pending_hosts.len() * PENDING_KINDS.len() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the fixture actions did not reach the sandbox");
    };
    let investigation = ok(h, t, "StartInvestigation", json!({ "deviceIds": &investigated }));
    // Finished live-response sessions, for the reads of a session and its results (a machine
    // takes one session at a time: one after the other).
    let sessions = async {
        h.upload(t, "fixture-session.ps1", b"Write-Output 'fixture'\n").await;
        for _ in 0..2 {
            ok(h, t, "RunScript", json!({ "deviceId": &investigated, "scriptName": "fixture-session.ps1" })).await;
        }
    };
    let indicators =
        futures::future::join_all((0..2 * CREATED).map(|i| {
            ok(h, t, "AddDomainIndicator", json!({ "domain": format!("fixture{i}.riposte-shape.example.com") }))
        }));
    let rules = futures::future::join_all((0..CREATED).map(|i| {
        ok(
            h,
            t,
            "CreateCustomDetectionRule",
            json!({ "ruleName": format!("fixture {i}"), "query": "DeviceEvents | take 1" }),
        )
    }));
    let queries = futures::future::join_all((0..CREATED).map(|i| {
        ok(h, t, "SaveQuery", json!({ "queryName": format!("riposte-shape-{i:02}"), "query": "DeviceInfo | take 5" }))
    }));
    let files = async {
        for i in 0..=CREATED {
            h.upload(t, &format!("riposte-shape-{i:02}.txt"), b"riposte seed shape\n").await;
        }
        for i in 0..3 {
            h.upload(t, &format!("riposte-shape-{i:02}.ps1"), b"Write-Output 'riposte'\n").await;
        }
    };
    tokio::join!(pending, investigation, sessions, indicators, rules, queries, files);
    let profiles = intune_profiles(h, t, &state).await;

    let state = h.state(t).await;
    let mut pools: HashMap<&'static str, Vec<String>> = HashMap::new();
    let mut machine = vec![id_of(&reader["id"])];
    machine.extend(writers);
    pools.insert("machine", machine);
    // Intune: online Windows devices (every remote action is queued there; platform-bound ones
    // are recorded notSupported, as Intune does), named by their Intune id.
    pools.insert(
        "intuneDevice",
        state["intune"]["managedDevices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["operatingSystem"] == "Windows" && d["online"] == true)
            .map(|d| id_of(&d["id"]))
            .collect(),
    );
    pools.insert(
        "intuneMac",
        state["intune"]["managedDevices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["operatingSystem"] == "macOS")
            .map(|d| id_of(&d["id"]))
            .collect(),
    );
    // Profiles Riposte made: the first half are deployed further by name, the rest removed by id.
    let (by_name, by_id) = profiles.split_at(profiles.len() / 2);
    pools.insert("profileName", by_name.iter().map(|(_, name)| name.clone()).collect());
    pools.insert("profileId", by_id.iter().map(|(id, _)| id.clone()).collect());
    pools.insert("appId", ids(&state["intune"]["mobileApps"]));
    let approved =
        state["intune"]["elevationRequests"].as_array().unwrap().iter().filter(|r| r["status"] == "approved");
    pools.insert("elevationId", approved.map(|r| id_of(&r["id"])).collect());
    pools.insert(
        "user",
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userPrincipalName"].as_str().unwrap().to_string())
            .collect(),
    );
    pools.insert(
        "machineAction",
        state["machineActions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "Pending")
            .map(|a| id_of(&a["id"]))
            .collect(),
    );
    pools.insert(
        "liveResponseSession",
        state["machineActions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "LiveResponse" && a["status"] == "Succeeded")
            .map(|a| id_of(&a["id"]))
            .collect(),
    );
    // Entra ID: service principals and groups of the sandbox's directory.
    pools.insert("servicePrincipalId", ids(&state["directory"]["servicePrincipals"]));
    // App registrations (Entra ID, and the Azure worker's app-credential names).
    pools.insert("applicationId", ids(&state["directory"]["applications"]));
    pools.insert("groupId", ids(&state["directory"]["groups"]));
    pools.insert("authenticationMethodId", ids(&state["directory"]["authenticationMethods"]));
    pools.insert("requestId", ids(&state["directory"]["roleAssignmentScheduleRequests"]));
    mail_and_identity_pools(&state, &mut pools);
    pools.insert("alertId", ids(&state["alerts"]));
    pools.insert("incidentId", ids(&state["incidents"]));
    pools.insert("investigationId", ids(&state["investigations"]));
    pools.insert("ruleId", ids(&state["detectionRules"]));
    // Cloud Apps: its alerts (24-hex ids), and the OAuth apps users consented to (service principals).
    let cloud_apps = &state["cloudApps"];
    pools.insert(
        "cloudAppsAlertId",
        cloud_apps["alerts"].as_array().unwrap().iter().map(|a| id_of(&a["_id"])).collect(),
    );
    let mut consented: Vec<String> =
        cloud_apps["oauth2PermissionGrants"].as_array().unwrap().iter().map(|g| id_of(&g["clientId"])).collect();
    consented.dedup();
    pools.insert("servicePrincipalId", consented);
    let items = cloud_apps["driveItems"].as_array().unwrap();
    let of = |folder: bool| items.iter().filter(move |i| i["folder"].is_object() == folder && !i["root"].is_object());
    pools.insert("fileId", of(false).map(|i| id_of(&i["id"])).collect());
    pools.insert("targetFolderId", of(true).map(|i| id_of(&i["id"])).collect());
    // Fixture indicators: half are handed out by id, the other half by value.
    let made: Vec<&Value> = state["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["indicatorValue"].as_str().is_some_and(|v| v.ends_with(".riposte-shape.example.com")))
        .collect();
    pools.insert("indicatorId", made.iter().step_by(2).map(|i| id_of(&i["id"])).collect());
    pools.insert("indicatorValue", made.iter().skip(1).step_by(2).map(|i| id_of(&i["indicatorValue"])).collect());
    let mde = Mde::connect(h, t).await;
    for (pool, path) in [
        ("vulnerabilityId", "/api/vulnerabilities"),
        ("softwareId", "/api/Software"),
        ("recommendationId", "/api/recommendations"),
    ] {
        pools.insert(pool, mde.list(h, path).await.iter().map(|v| id_of(&v["id"])).collect());
    }
    let (_, library) = h.get(&format!("/v1/library?tenant={t}")).await;
    let names: Vec<String> = library["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .filter(|n| n.starts_with("riposte-shape-"))
        .map(String::from)
        .collect();
    pools.insert("fileName", names.iter().filter(|n| n.ends_with(".txt")).cloned().collect());
    pools.insert("scriptName", names.iter().filter(|n| n.ends_with(".ps1")).cloned().collect());
    let (_, queries) = h.get("/v1/queries").await;
    pools.insert(
        "queryName",
        queries["queries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|q| q["name"].as_str())
            .filter(|n| n.starts_with("riposte-shape-"))
            .map(String::from)
            .collect(),
    );

    let arm_groups = arm_pools(&state, &mut pools);
    let pools = pools
        .into_iter()
        .map(|(name, items)| (name, Pool::new(items).unwrap_or_else(|| panic!("fixture pool {name} is empty"))))
        .collect();
    Gen {
        pools,
        dns: reader["computerDnsName"].as_str().unwrap().to_string(),
        ip: reader["lastIpAddress"].as_str().unwrap().to_string(),
        counter: 0,
        arm_groups,
    }
}

/// MDO and MDI fixtures: one phishing copy (its network id, recipient and Graph message URL, one
/// of each so that they always pair), the first identity account and its two accounts.
fn mail_and_identity_pools(state: &Value, pools: &mut HashMap<&'static str, Vec<String>>) {
    let copy = &state["mail"]["messages"].as_array().unwrap().iter().find(|m| m["threatType"] == "phishing").unwrap();
    pools.insert("networkMessageId", vec![id_of(&copy["networkMessageId"])]);
    pools.insert("recipientEmailAddress", vec![id_of(&copy["recipientEmailAddress"])]);
    let url =
        format!("https://graph.microsoft.com/v1.0/users/{}/messages/{}", id_of(&copy["mailbox"]), id_of(&copy["id"]));
    pools.insert("messageUrl", vec![url]);
    pools.insert("payloadId", ids(&state["mail"]["simulationPayloads"]));
    // Exchange Online: quarantined copies (releases and deletions take spares), sender entries.
    let held: Vec<String> = state["mail"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["quarantineIdentity"].is_string() && m["purged"] == false)
        .map(|m| id_of(&m["quarantineIdentity"]))
        .collect();
    pools.insert("quarantineIdentity", held);
    let senders = |action: &str| -> Vec<String> {
        state["mail"]["exchange"]["tenantAllowBlockListItems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["Action"] == action)
            .map(|e| id_of(&e["Value"]))
            .collect()
    };
    pools.insert("blockedSender", senders("Block"));
    pools.insert("allowedSender", senders("Allow"));
    let identity = &state["identity"]["identityAccounts"][0];
    pools.insert("identityAccountId", vec![id_of(&identity["id"])]);
    pools.insert("adAccountId", vec![id_of(&identity["activeDirectory"]["accountId"])]);
    pools.insert("entraAccountId", vec![id_of(&identity["userId"])]);
}

/// Intune: eight camera-blocking profiles Riposte made, each for its own Windows device (so their
/// display names differ), as `(id, display name)`.
async fn intune_profiles(h: &Harness, t: &str, state: &Value) -> Vec<(String, String)> {
    let windows: Vec<String> = state["intune"]["managedDevices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["operatingSystem"] == "Windows")
        .map(|d| id_of(&d["id"]))
        .collect();
    let mut made = Vec::new();
    for device in windows.iter().rev().take(8) {
        let body = json!({ "action": "BlockCamera", "tenantId": t, "deviceId": device });
        let (status, body) = h.seed("DefenderXDRIntuneWorker", body).await;
        assert_eq!(status, 200, "fixture BlockCamera: {body}");
        made.push(id_of(&body["data"]["profileId"]));
    }
    let after = h.state(t).await;
    let profiles = after["intune"]["configurationProfiles"].as_array().unwrap();
    made.into_iter()
        .map(|id| {
            let name =
                profiles.iter().find(|p| p["id"] == id.as_str()).unwrap()["displayName"].as_str().unwrap().to_string();
            (id, name)
        })
        .collect()
}

/// Azure fixtures from the sandbox's ARM store: the subscription, and resource names per
/// parameter name by type (reads get the first, writes the others); returns name -> group.
fn arm_pools(state: &Value, pools: &mut HashMap<&'static str, Vec<String>>) -> HashMap<String, String> {
    const BY_TYPE: &[(&str, &str)] = &[
        ("Microsoft.Resources/resourceGroups", "resourceGroup"),
        ("Microsoft.Compute/virtualMachines", "vmName"),
        ("Microsoft.Network/networkSecurityGroups", "nsgName"),
        ("Microsoft.Network/azureFirewalls", "firewallName"),
        ("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "wafPolicyName"),
        ("Microsoft.Web/sites", "appName"),
        ("Microsoft.ContainerService/managedClusters", "clusterName"),
        ("Microsoft.HybridCompute/machines", "machineName"),
        ("Microsoft.Storage/storageAccounts", "storageAccountName"),
        ("Microsoft.Sql/servers", "serverName"),
        ("Microsoft.Sql/servers/databases", "databaseName"),
        ("Microsoft.Storage/storageAccounts/blobServices/containers", "containerName"),
        // The Key Vault data plane's secrets and keys (kept beside the vault in the ARM store).
        ("Microsoft.KeyVault/vaults/sandboxSecrets", "secretName"),
        ("Microsoft.KeyVault/vaults/sandboxKeys", "keyName"),
        ("Microsoft.KeyVault/vaults", "vaultName"),
        ("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    ];
    let mut groups = HashMap::new();
    let resources = state["arm"]["resources"].as_array().cloned().unwrap_or_default();
    for r in &resources {
        let (Some(id), Some(ty)) = (r["id"].as_str(), r["type"].as_str()) else { continue };
        let Some((_, pool)) = BY_TYPE.iter().find(|(t, _)| t.eq_ignore_ascii_case(ty)) else { continue };
        let name = id.rsplit('/').next().unwrap_or_default().to_string();
        let group = id.split('/').nth(4).unwrap_or_default().to_string();
        if *pool != "resourceGroup" {
            groups.insert(name.to_ascii_lowercase(), group);
        }
        pools.entry(pool).or_default().push(name);
    }
    let sub = resources.iter().find_map(|r| r["id"].as_str()).and_then(|id| id.split('/').nth(2)).map(String::from);
    pools.insert("subscriptionId", sub.into_iter().collect());
    groups
}

#[tokio::test(flavor = "multi_thread")]
async fn every_catalog_action_in_every_seed_shape() {
    // AWS actions go to an AWS tenant whose EC2 is moto (`aws.rs`).
    let moto = crate::aws::Moto::start().await;
    let aws_world = moto.world().await;
    let aws_tenant = moto.tenant();
    let h = Harness::start_with(1, |s| {
        s.unlimited_budgets = true;
        s.tenants.push(aws_tenant);
    })
    .await;
    h.sandbox_admin(
        "settings",
        json!({
            "mde_per_minute": 100_000, "mde_per_hour": 1_000_000, "hunting_per_minute": 10_000, "hunting_per_hour": 100_000,
            "live_response_per_minute": 10_000, "live_response_max_sessions": 10_000, "investigations_per_hour": 10_000,
            // Actions on offline machines stay pending through the run (fixtures to cancel).
            "offline_timeout_seconds": 3600,
        }),
    )
    .await;
    let t = h.tenant(0);
    let mut g = fixtures(&h, &t).await;
    for (name, items) in crate::aws::shape_pools(&h, &aws_world).await {
        g.pools.insert(name, Pool::new(items).unwrap_or_else(|| panic!("fixture pool {name} is empty")));
    }
    let tenant_of = |product: Product| if product == Product::Aws { crate::aws::TENANT.to_owned() } else { t.clone() };

    let mut specs: Vec<&'static ActionSpec> = catalog::all().collect();
    // Reads first, on the fixtures as made; then writes, destructive ones last (an offboarded
    // machine takes no further actions).
    specs.sort_by_key(|s| (s.risk != Risk::Read, s.risk == Risk::Destructive));
    let mut problems: Vec<String> = Vec::new();
    let mut covered: HashMap<Product, usize> = HashMap::new();
    for spec in specs {
        let name = format!("{} {}", spec.product.key(), spec.name);
        let t = tenant_of(spec.product);
        if SANDBOX_LACKS.contains(&(spec.product, spec.name)) {
            let p = g.params(spec).unwrap_or_else(|e| panic!("{e}"));
            let (status, _) = send(&h, &t, Shape::WorkerFlat, spec, p, None).await;
            if status != 404 {
                problems.push(format!("{name} is served now ({status}): remove it from SANDBOX_LACKS"));
            }
            continue;
        }
        *covered.entry(spec.product).or_default() += 1;
        for shape in SHAPES {
            let label = format!("{name} {shape:?}");
            if !spec.is_supported() {
                // Refused before its parameters are read; sent with them anyway, as a caller would.
                let p = g.params(spec).unwrap_or_else(|_| json!({}));
                let (status, body) = send(&h, &t, shape, spec, p, None).await;
                if (status, body["success"].as_bool(), body["error"]["code"].as_str())
                    != (501, Some(false), Some("NotSupported"))
                {
                    problems
                        .push(format!("{label}: an unsupported action answers 501 NotSupported, got {status} {body}"));
                }
                continue;
            }
            let p = match g.params(spec) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(e);
                    break;
                }
            };
            let write = spec.risk != Risk::Read;
            let (status, body) = send(&h, &t, shape, spec, p.clone(), write.then_some(0)).await;
            // Microsoft allows one pending request per machine (machine actions of a kind, an
            // automated investigation, a live-response session): only there is 409 an answer.
            let device_write = write
                && spec.product == Product::Mde
                && spec
                    .params
                    .iter()
                    .any(|q| q.required && matches!(q.kind, ParamKind::DeviceId | ParamKind::DeviceIds));
            match status {
                200 => {}
                202 if write => {}
                409 if device_write => {
                    if body["error"]["code"] != "ActiveRequestAlreadyExists" {
                        problems.push(format!("{label}: a 409 names ActiveRequestAlreadyExists: {body}"));
                    }
                    continue;
                }
                _ => {
                    let expected = if write { "200 or 202" } else { "200" };
                    problems.push(format!("{label}: expected {expected}, got {status} for {p}: {body}"));
                    continue;
                }
            }
            let envelope = [
                ("success", body["success"] == true),
                ("action is the canonical name", body["action"] == spec.name),
                ("service is the product key", body["service"] == spec.product.key()),
                ("tenantId", body["tenantId"] == t.as_str()),
                ("correlationId", body["correlationId"].is_string()),
                ("operationId", body["operationId"].is_string()),
                ("data", body.get("data").is_some()),
            ];
            for (what, holds) in envelope {
                if !holds {
                    problems.push(format!("{label}: envelope {what}: {body}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    let wrapped: Vec<&str> = g.pools.iter().filter(|(_, p)| p.next > p.spares.len()).map(|(n, _)| *n).collect();
    eprintln!("seed shapes: actions covered per product {covered:?}; pools reused round robin: {wrapped:?}");
    for product in Product::ALL {
        assert!(covered.get(product).is_some_and(|n| *n > 0), "no action of {} was sent", product.key());
    }
}
