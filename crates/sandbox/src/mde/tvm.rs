//! Defender Vulnerability Management reads: software inventory, vulnerabilities, security
//! recommendations and remediation tasks.
//!
//! Inventory is derived from each machine (its OS platform and version plus a deterministic
//! pick of applications from its id), so it is the same for a seed, consistent with
//! `/api/machines`, and needs no stored state. Exposure counts are computed from that inventory.
//! Remediation tasks are only created in the portal (no API creates them), so the list is empty.
//! The related reads (`/api/vulnerabilities/{cveId}/machineReferences`,
//! `/api/Software/{id}/vulnerabilities`, `/api/Software/{id}/machineReferences`) are derived
//! from the same inventory, so they agree with the per-machine views and the exposure counts.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{EntitySet, collection, context, forbidden, machine_not_found, with_tenant};
use crate::auth::{Caller, MdeCaller};
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;
use crate::world::{Machine, Tenant};

/// A product in the catalog: id (`vendor-_-product` as Microsoft spells it), display name,
/// vendor, the platforms it runs on, the fixed version, and its CVEs.
struct Product {
    id: &'static str,
    name: &'static str,
    vendor: &'static str,
    platforms: &'static [&'static str],
    fixed: &'static str,
    cves: &'static [&'static str],
    /// The OS itself is always installed; applications are picked per machine.
    is_os: bool,
}

const WIN: &[&str] = &["Windows10", "Windows11", "WindowsServer2019"];

const PRODUCTS: &[Product] = &[
    Product {
        id: "microsoft-_-windows_10",
        name: "windows_10",
        vendor: "microsoft",
        platforms: &["Windows10"],
        fixed: "10.0.19045.4780",
        cves: &["CVE-2024-38063"],
        is_os: true,
    },
    Product {
        id: "microsoft-_-windows_11",
        name: "windows_11",
        vendor: "microsoft",
        platforms: &["Windows11"],
        fixed: "10.0.22631.4037",
        cves: &["CVE-2024-38063"],
        is_os: true,
    },
    Product {
        id: "microsoft-_-windows_server_2019",
        name: "windows_server_2019",
        vendor: "microsoft",
        platforms: &["WindowsServer2019"],
        fixed: "10.0.17763.6189",
        cves: &["CVE-2024-38063"],
        is_os: true,
    },
    Product {
        id: "canonical-_-ubuntu_linux",
        name: "ubuntu_linux",
        vendor: "canonical",
        platforms: &["Linux"],
        fixed: "22.4",
        cves: &[],
        is_os: true,
    },
    Product {
        id: "apple-_-macos",
        name: "macos",
        vendor: "apple",
        platforms: &["macOS"],
        fixed: "14.7.1",
        cves: &["CVE-2024-44308"],
        is_os: true,
    },
    Product {
        id: "google-_-chrome",
        name: "chrome",
        vendor: "google",
        platforms: &["Windows10", "Windows11", "macOS"],
        fixed: "116.0.5845.187",
        cves: &["CVE-2023-4863"],
        is_os: false,
    },
    Product {
        id: "microsoft-_-edge_chromium-based",
        name: "edge_chromium-based",
        vendor: "microsoft",
        platforms: WIN,
        fixed: "116.0.1938.76",
        cves: &["CVE-2023-4863"],
        is_os: false,
    },
    Product {
        id: "7-zip-_-7-zip",
        name: "7-zip",
        vendor: "7-zip",
        platforms: WIN,
        fixed: "24.07",
        cves: &["CVE-2024-11477"],
        is_os: false,
    },
    Product {
        id: "oracle-_-jre",
        name: "jre",
        vendor: "oracle",
        platforms: &["Windows10", "Windows11", "WindowsServer2019", "Linux"],
        fixed: "8.0.421",
        cves: &["CVE-2024-21147"],
        is_os: false,
    },
    Product {
        id: "openbsd-_-openssh",
        name: "openssh",
        vendor: "openbsd",
        platforms: &["Linux", "macOS"],
        fixed: "9.8p1",
        cves: &["CVE-2024-6387"],
        is_os: false,
    },
    Product {
        id: "openssl-_-openssl",
        name: "openssl",
        vendor: "openssl",
        platforms: &["Linux"],
        fixed: "3.0.7",
        cves: &["CVE-2022-3602"],
        is_os: false,
    },
    Product {
        id: "mozilla-_-firefox",
        name: "firefox",
        vendor: "mozilla",
        platforms: &["Windows10", "Windows11", "macOS"],
        fixed: "131.0.2",
        cves: &["CVE-2024-9680"],
        is_os: false,
    },
];

/// (id, name, description, severity, cvssV3, published, public exploit, exploit verified, in kit)
struct Cve(&'static str, &'static str, &'static str, &'static str, f64, &'static str, bool, bool, bool);

const CVES: &[Cve] = &[
    Cve(
        "CVE-2024-38063",
        "CVE-2024-38063",
        "Windows TCP/IP remote code execution vulnerability (IPv6).",
        "Critical",
        9.8,
        "2024-08-13T00:00:00Z",
        false,
        false,
        false,
    ),
    Cve(
        "CVE-2024-44308",
        "CVE-2024-44308",
        "JavaScriptCore processing of maliciously crafted web content may lead to arbitrary code execution.",
        "High",
        8.8,
        "2024-11-19T00:00:00Z",
        true,
        true,
        false,
    ),
    Cve(
        "CVE-2023-4863",
        "CVE-2023-4863",
        "Heap buffer overflow in libwebp allows a remote attacker to perform an out of bounds memory write via a crafted HTML page.",
        "High",
        8.8,
        "2023-09-12T00:00:00Z",
        true,
        true,
        true,
    ),
    Cve(
        "CVE-2024-11477",
        "CVE-2024-11477",
        "7-Zip Zstandard decompression integer underflow remote code execution vulnerability.",
        "High",
        7.8,
        "2024-11-22T00:00:00Z",
        false,
        false,
        false,
    ),
    Cve(
        "CVE-2024-21147",
        "CVE-2024-21147",
        "Vulnerability in the Oracle Java SE Hotspot component allowing unauthenticated network access to compromise Java SE.",
        "High",
        7.4,
        "2024-07-16T00:00:00Z",
        false,
        false,
        false,
    ),
    Cve(
        "CVE-2024-6387",
        "CVE-2024-6387",
        "A signal handler race condition in OpenSSH's server (sshd) allows unauthenticated remote code execution (regreSSHion).",
        "High",
        8.1,
        "2024-07-01T00:00:00Z",
        true,
        true,
        false,
    ),
    Cve(
        "CVE-2022-3602",
        "CVE-2022-3602",
        "A buffer overrun can be triggered in X.509 certificate verification, specifically in name constraint checking.",
        "High",
        7.5,
        "2022-11-01T00:00:00Z",
        true,
        false,
        false,
    ),
    Cve(
        "CVE-2024-9680",
        "CVE-2024-9680",
        "Use-after-free in Animation timelines allows code execution in the content process.",
        "Critical",
        9.8,
        "2024-10-09T00:00:00Z",
        true,
        true,
        false,
    ),
];

/// One installed product on one machine: is it the vulnerable version?
struct Install<'a> {
    product: &'a Product,
    vulnerable: bool,
}

/// Deterministic per (machine, product): a byte of the machine id decides presence and version.
fn installs(m: &Machine) -> Vec<Install<'static>> {
    let bytes = hex::decode(&m.id).unwrap_or_default();
    PRODUCTS
        .iter()
        .enumerate()
        .filter(|(_, p)| p.platforms.contains(&m.os_platform.as_str()))
        .filter_map(|(i, p)| {
            let b = bytes.get(i % bytes.len().max(1)).copied().unwrap_or(0);
            let present = p.is_os || b % 3 != 0;
            // Ubuntu's own package has no CVE here; the rest are vulnerable on about half.
            present.then_some(Install { product: p, vulnerable: !p.cves.is_empty() && b % 2 == 0 })
        })
        .collect()
}

fn cve(id: &str) -> Option<&'static Cve> {
    CVES.iter().find(|c| c.0.eq_ignore_ascii_case(id))
}

/// Counts over the tenant: machines with the product, and with a vulnerable version.
fn exposure(t: &Tenant, product_id: &str) -> (usize, usize) {
    let mut installed = 0;
    let mut exposed = 0;
    for m in t.mde.machines.iter().filter(|m| !m.offboarded) {
        if let Some(i) = installs(m).into_iter().find(|i| i.product.id == product_id) {
            installed += 1;
            exposed += usize::from(i.vulnerable);
        }
    }
    (installed, exposed)
}

fn cve_exposed(t: &Tenant, id: &str) -> usize {
    t.mde
        .machines
        .iter()
        .filter(|m| !m.offboarded)
        .filter(|m| installs(m).iter().any(|i| i.vulnerable && i.product.cves.contains(&id)))
        .count()
}

fn has_alert(t: &Tenant, product: &Product) -> bool {
    t.mde.machines.iter().any(|m| {
        installs(m).iter().any(|i| i.vulnerable && i.product.id == product.id)
            && t.mde.alerts.iter().any(|a| a.machine_id == m.id && a.status != super::alerts::AlertStatus::Resolved)
    })
}

fn software_json(t: &Tenant, p: &Product) -> Value {
    let (_, exposed) = exposure(t, p.id);
    json!({
        "id": p.id,
        "name": p.name,
        "vendor": p.vendor,
        "weaknesses": p.cves.len(),
        "publicExploit": p.cves.iter().filter_map(|c| cve(c)).any(|c| c.6),
        "activeAlert": has_alert(t, p),
        "exposedMachines": exposed,
        "impactScore": if exposed > 0 { (p.cves.iter().filter_map(|c| cve(c)).map(|c| c.4).fold(0.0, f64::max) * 10.0).round() / 10.0 } else { 0.0 },
    })
}

fn vulnerability_json(t: &Tenant, c: &Cve) -> Value {
    json!({
        "id": c.0,
        "name": c.1,
        "description": c.2,
        "severity": c.3,
        "cvssV3": c.4,
        "cvssVector": null,
        "exposedMachines": cve_exposed(t, c.0),
        "publishedOn": c.5,
        "updatedOn": c.5,
        "firstDetected": c.5,
        "publicExploit": c.6,
        "exploitVerified": c.7,
        "exploitInKit": c.8,
        "exploitTypes": if c.6 { vec!["RemoteCodeExecution"] } else { Vec::new() },
        "exploitUris": [],
        "cveSupportability": "Supported",
    })
}

fn recommendation_json(t: &Tenant, p: &Product) -> Value {
    let (installed, exposed) = exposure(t, p.id);
    let score = p.cves.iter().filter_map(|c| cve(c)).map(|c| c.4).fold(0.0, f64::max);
    json!({
        "id": format!("va-_-{}", p.id),
        "productName": p.name,
        "recommendationName": format!("Update {} {} to version {}", p.vendor, p.name, p.fixed),
        "weaknesses": p.cves.len(),
        "vendor": p.vendor,
        "recommendedVersion": p.fixed,
        "recommendedProgram": null,
        "recommendedVendor": null,
        "recommendationCategory": "Application",
        "subCategory": "",
        "severityScore": score,
        "publicExploit": p.cves.iter().filter_map(|c| cve(c)).any(|c| c.6),
        "activeAlert": has_alert(t, p),
        "associatedThreats": [],
        "remediationType": "Update",
        "status": if exposed > 0 { "Active" } else { "Completed" },
        "configScoreImpact": 0.0,
        "exposureImpact": (score * exposed as f64 / t.mde.machines.len().max(1) as f64 * 10.0).round() / 10.0,
        "totalMachineCount": installed,
        "exposedMachinesCount": exposed,
        "nonProductivityImpactedAssets": 0,
        "relatedComponent": p.name,
        "hasUnpatchableCve": false,
        "tags": [],
        "exposedCriticalDevices": 0,
    })
}

fn require(c: &Caller, role: &str) -> Result<(), Response> {
    if c.has_any_role(&[role]) { Ok(()) } else { Err(forbidden(role)) }
}

fn set(entity: &'static str, context: &'static str, fields: &'static [&'static str]) -> EntitySet {
    EntitySet { filterable: fields, fields, entity, context }
}

const SOFTWARE_FIELDS: &[&str] =
    &["id", "name", "vendor", "weaknesses", "publicExploit", "activeAlert", "exposedMachines", "impactScore"];
const VULN_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "severity",
    "cvssV3",
    "exposedMachines",
    "publishedOn",
    "updatedOn",
    "publicExploit",
    "exploitVerified",
    "exploitInKit",
];
const REC_FIELDS: &[&str] = &[
    "id",
    "productName",
    "recommendationName",
    "weaknesses",
    "vendor",
    "recommendedVersion",
    "recommendationCategory",
    "severityScore",
    "publicExploit",
    "activeAlert",
    "remediationType",
    "status",
    "exposedMachinesCount",
    "totalMachineCount",
];
const TASK_FIELDS: &[&str] = &["id", "title", "status", "createdOn", "dueOn", "type", "priority"];
/// A machine reference (`$metadata#MachineReferences`): the four properties Microsoft's
/// examples show for devices by vulnerability and devices by software.
const MACHINE_REF_FIELDS: &[&str] = &["id", "computerDnsName", "osPlatform", "rbacGroupName"];

/// Which TVM collection a path names (ASP.NET routes are case-insensitive).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Software,
    Vulnerabilities,
    Recommendations,
    RemediationTasks,
}

impl Kind {
    pub(super) fn from_segment(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "software" => Some(Kind::Software),
            "vulnerabilities" => Some(Kind::Vulnerabilities),
            "recommendations" => Some(Kind::Recommendations),
            "remediationtasks" => Some(Kind::RemediationTasks),
            _ => None,
        }
    }

    fn role(self) -> &'static str {
        match self {
            Kind::Software => "Software.Read.All",
            Kind::Vulnerabilities => "Vulnerability.Read.All",
            Kind::Recommendations => "SecurityRecommendation.Read.All",
            Kind::RemediationTasks => "RemediationTasks.Read.All",
        }
    }

    fn set(self) -> EntitySet {
        match self {
            Kind::Software => set("Software", "Software", SOFTWARE_FIELDS),
            Kind::Vulnerabilities => set("Vulnerability", "Vulnerabilities", VULN_FIELDS),
            Kind::Recommendations => set("Recommendation", "Recommendations", REC_FIELDS),
            Kind::RemediationTasks => set("RemediationTask", "RemediationTasks", TASK_FIELDS),
        }
    }

    /// Every item of the tenant, or only those of machine `m`.
    fn items(self, t: &Tenant, m: Option<&Machine>) -> Vec<Value> {
        let on_machine: Option<Vec<Install>> = m.map(installs);
        let product_ok = |p: &Product, vulnerable_only: bool| match &on_machine {
            None => true,
            Some(list) => list.iter().any(|i| i.product.id == p.id && (i.vulnerable || !vulnerable_only)),
        };
        match self {
            Kind::Software => PRODUCTS
                .iter()
                .filter(|p| product_ok(p, false) && (m.is_some() || exposure(t, p.id).0 > 0))
                .map(|p| software_json(t, p))
                .collect(),
            Kind::Vulnerabilities => CVES
                .iter()
                .filter(|c| PRODUCTS.iter().any(|p| p.cves.contains(&c.0) && product_ok(p, true)))
                .map(|c| vulnerability_json(t, c))
                .collect(),
            Kind::Recommendations => PRODUCTS
                .iter()
                .filter(|p| !p.cves.is_empty() && product_ok(p, true) && (m.is_some() || exposure(t, p.id).0 > 0))
                .map(|p| recommendation_json(t, p))
                .collect(),
            Kind::RemediationTasks => Vec::new(),
        }
    }
}

/// Paths served, each in its documented spelling; `paths::route` matches them
/// case-insensitively, as ASP.NET does.
pub(super) fn routes() -> axum::Router<AppState> {
    use crate::paths::route;
    use axum::routing::get;
    let mut r = axum::Router::new();
    for seg in ["Software", "vulnerabilities", "recommendations"] {
        r = route(r, &format!("/api/{seg}"), get(list));
        r = route(r, &format!("/api/{seg}/{{id}}"), get(get_one));
    }
    for seg in ["Software", "vulnerabilities"] {
        r = route(r, &format!("/api/{seg}/{{id}}/{{sub}}"), get(related));
    }
    route(r, "/api/remediationTasks", get(list))
}

/// `GET /api/{Software|vulnerabilities|recommendations|remediationTasks}`.
pub(super) async fn list(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    let segment = uri.path().split('/').nth(2).unwrap_or("").to_string();
    let kind = Kind::from_segment(&segment).ok_or_else(|| unknown(&segment))?;
    require(&c, kind.role())?;
    let items = with_tenant(&state, &c, |t, _| kind.items(t, None))?;
    collection(&state, &uri, &Params::parse(q.as_deref()), items, &kind.set())
}

/// `GET /api/{Software|vulnerabilities|recommendations}/{id}`.
pub(super) async fn get_one(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, Response> {
    let segment = uri.path().split('/').nth(2).unwrap_or("").to_string();
    let kind = Kind::from_segment(&segment).ok_or_else(|| unknown(&segment))?;
    require(&c, kind.role())?;
    let v = with_tenant(&state, &c, |t, _| {
        kind.items(t, None).into_iter().find(|v| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id)))
    })?
    .ok_or_else(|| {
        errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("{} {id} was not found", kind.set().entity))
    })?;
    let mut v = v;
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), context(&state, &format!("{}/$entity", kind.set().context)).into());
    }
    Ok(json_response(StatusCode::OK, v))
}

/// `GET /api/machines/{id}/{software|vulnerabilities|recommendations}`.
pub(super) fn machine_items(
    state: &AppState,
    c: &Caller,
    kind: Kind,
    id: &str,
    uri: &Uri,
    q: Option<&str>,
) -> Result<Response, Response> {
    require(c, kind.role())?;
    let items = with_tenant(state, c, |t, _| t.machine(id).map(|m| kind.items(t, Some(m))))?
        .ok_or_else(|| machine_not_found(id))?;
    collection(state, uri, &Params::parse(q), items, &kind.set())
}

fn unknown(segment: &str) -> Response {
    errors::mde(StatusCode::NOT_FOUND, "NotFound", format!("No resource matches '/api/{segment}'."))
}

/// A collection hanging off one TVM entity.
#[derive(Clone, Copy)]
enum Related {
    /// `/api/vulnerabilities/{cveId}/machineReferences`: machines exposed to the CVE.
    CveMachines,
    /// `/api/Software/{id}/vulnerabilities`: the product's CVEs.
    SoftwareVulnerabilities,
    /// `/api/Software/{id}/machineReferences`: machines with the product installed.
    SoftwareMachines,
}

impl Related {
    /// The sub-resource a path names under a collection (case-insensitive, like ASP.NET).
    fn parse(kind: Kind, sub: &str) -> Option<Related> {
        match (kind, sub.to_ascii_lowercase().as_str()) {
            (Kind::Vulnerabilities, "machinereferences") => Some(Related::CveMachines),
            (Kind::Software, "vulnerabilities") => Some(Related::SoftwareVulnerabilities),
            (Kind::Software, "machinereferences") => Some(Related::SoftwareMachines),
            _ => None,
        }
    }

    /// The permission Microsoft documents for each read.
    fn role(self) -> &'static str {
        match self {
            Related::CveMachines | Related::SoftwareVulnerabilities => Kind::Vulnerabilities.role(),
            Related::SoftwareMachines => Kind::Software.role(),
        }
    }

    fn set(self) -> EntitySet {
        match self {
            Related::SoftwareVulnerabilities => Kind::Vulnerabilities.set(),
            Related::CveMachines | Related::SoftwareMachines => {
                set("MachineReference", "MachineReferences", MACHINE_REF_FIELDS)
            }
        }
    }

    /// The items for entity `id`, or `None` when the tenant has no such entity (the same rule
    /// as `GET /api/{collection}/{id}`: a CVE of the catalog, software installed somewhere).
    fn items(self, t: &Tenant, id: &str) -> Option<Vec<Value>> {
        match self {
            Related::CveMachines => {
                let c = cve(id)?;
                Some(machine_refs(t, |i| i.vulnerable && i.product.cves.contains(&c.0)))
            }
            Related::SoftwareVulnerabilities => {
                let p = installed_product(t, id)?;
                // Every CVE of the product, as its `weaknesses` count says; exposure per CVE
                // is in each entry's `exposedMachines`.
                Some(p.cves.iter().filter_map(|c| cve(c)).map(|c| vulnerability_json(t, c)).collect())
            }
            Related::SoftwareMachines => {
                let p = installed_product(t, id)?;
                Some(machine_refs(t, |i| i.product.id == p.id))
            }
        }
    }
}

/// A product of the catalog that is installed on at least one machine of the tenant.
fn installed_product(t: &Tenant, id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id.eq_ignore_ascii_case(id)).filter(|p| exposure(t, p.id).0 > 0)
}

/// Onboarded machines with an install matching `pred`: offboarded machines are left out, as
/// they are from the `exposedMachines` counts, so the two always agree.
fn machine_refs(t: &Tenant, pred: impl Fn(&Install) -> bool) -> Vec<Value> {
    t.mde
        .machines
        .iter()
        .filter(|m| !m.offboarded && installs(m).iter().any(&pred))
        .map(|m| {
            json!({
                "id": m.id,
                "computerDnsName": m.computer_dns_name,
                "osPlatform": m.os_platform,
                "rbacGroupName": m.rbac_group_name,
            })
        })
        .collect()
}

/// `GET /api/vulnerabilities/{cveId}/machineReferences`, `GET /api/Software/{id}/vulnerabilities`
/// and `GET /api/Software/{id}/machineReferences` (filtered and paged like any collection).
pub(super) async fn related(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path((id, sub)): Path<(String, String)>,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    let segment = uri.path().split('/').nth(2).unwrap_or("").to_string();
    let kind = Kind::from_segment(&segment).ok_or_else(|| unknown(&segment))?;
    let rel = Related::parse(kind, &sub).ok_or_else(|| unknown(&format!("{segment}/{id}/{sub}")))?;
    require(&c, rel.role())?;
    let items = with_tenant(&state, &c, |t, _| rel.items(t, &id))?.ok_or_else(|| {
        errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("{} {id} was not found", kind.set().entity))
    })?;
    collection(&state, &uri, &Params::parse(q.as_deref()), items, &rel.set())
}
