//! Vulnerability management reads (Defender Vulnerability Management through the MDE API):
//! vulnerabilities, software, security recommendations and remediation activities, tenant-wide
//! and per machine. Microsoft offers no write here (no remediation request, exception or scan
//! trigger through the API); the seed's names for those are in `unsupported.rs`.
use super::*;

const CVE_ID: ParamSpec =
    resource_id("vulnerabilityId", &["cveId", "cve", "id"], "Vulnerability (CVE) id, e.g. CVE-2024-21412");
const SOFTWARE_ID: ParamSpec =
    resource_id("softwareId", &["id"], "Software id as TVM spells it, e.g. microsoft-_-edge");
const RECOMMENDATION_ID: ParamSpec =
    resource_id("recommendationId", &["id"], "Security recommendation id, e.g. va-_-microsoft-_-edge");

/// One read: a collection (filtered, paged) or a single entity.
const fn read(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    permission: &'static str,
    call: Call,
) -> ActionSpec {
    ActionSpec::read(Product::Mde, name, summary, aliases, params, permission, call)
}

const VULN: &str = "Vulnerability.Read.All";
const SOFTWARE: &str = "Software.Read.All";
const RECS: &str = "SecurityRecommendation.Read.All";

pub static ACTIONS: &[ActionSpec] = &[
    read(
        "GetVulnerabilities",
        "List known vulnerabilities (CVEs) in the organisation",
        &["ListVulnerabilities"],
        &[FILTER, TOP],
        VULN,
        list("/api/vulnerabilities"),
    ),
    read(
        "GetVulnerability",
        "Get one vulnerability by CVE id",
        &["GetVulnerabilityById", "GetCve"],
        &[CVE_ID],
        VULN,
        Call::new(Api::Mde, Method::Get, "/api/vulnerabilities/{vulnerabilityId}"),
    ),
    read(
        "GetVulnerabilityDevices",
        "Machines exposed to a vulnerability",
        &["GetVulnerableDevices", "GetVulnerabilityMachines"],
        &[CVE_ID, FILTER, TOP],
        VULN,
        list("/api/vulnerabilities/{vulnerabilityId}/machineReferences"),
    ),
    read(
        "GetDeviceVulnerabilities",
        "Vulnerabilities found on a machine",
        &["GetMachineVulnerabilities"],
        &[DEVICE_ID, FILTER, TOP],
        VULN,
        list("/api/machines/{deviceId}/vulnerabilities"),
    ),
    read(
        "GetSoftware",
        "List the software inventory of the organisation",
        &["GetSoftwareInventory", "ListSoftware"],
        &[FILTER, TOP],
        SOFTWARE,
        list("/api/Software"),
    ),
    read(
        "GetSoftwareById",
        "Get one software product",
        &[],
        &[SOFTWARE_ID],
        SOFTWARE,
        Call::new(Api::Mde, Method::Get, "/api/Software/{softwareId}"),
    ),
    read(
        "GetSoftwareVulnerabilities",
        "Vulnerabilities of a software product",
        &[],
        &[SOFTWARE_ID, FILTER, TOP],
        VULN,
        list("/api/Software/{softwareId}/vulnerabilities"),
    ),
    read(
        "GetSoftwareDevices",
        "Machines with a software product installed",
        &["GetSoftwareMachines"],
        &[SOFTWARE_ID, FILTER, TOP],
        SOFTWARE,
        list("/api/Software/{softwareId}/machineReferences"),
    ),
    read(
        "GetDeviceSoftware",
        "Software installed on a machine",
        &["GetMachineSoftware", "GetInstalledSoftware"],
        &[DEVICE_ID, FILTER, TOP],
        SOFTWARE,
        list("/api/machines/{deviceId}/software"),
    ),
    read(
        "GetRecommendations",
        "List security recommendations",
        &["GetSecurityRecommendations", "ListRecommendations"],
        &[FILTER, TOP],
        RECS,
        list("/api/recommendations"),
    ),
    read(
        "GetRecommendation",
        "Get one security recommendation",
        &["GetRecommendationById"],
        &[RECOMMENDATION_ID],
        RECS,
        Call::new(Api::Mde, Method::Get, "/api/recommendations/{recommendationId}"),
    ),
    read(
        "GetDeviceRecommendations",
        "Security recommendations for a machine",
        &["GetMachineRecommendations"],
        &[DEVICE_ID, FILTER, TOP],
        RECS,
        list("/api/machines/{deviceId}/recommendations"),
    ),
    read(
        "GetRemediationTasks",
        "List remediation activities (created in the Defender portal)",
        &["GetRemediationActivities", "ListRemediationTasks"],
        &[FILTER, TOP],
        "RemediationTasks.Read.All",
        list("/api/remediationTasks"),
    ),
];
