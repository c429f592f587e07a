//! Seed names for which Microsoft has no API: each answers 501 with the reason and the nearest
//! real action, never a fake success. Several were misleading in the seed: `TriggerVulnerabilityScan`
//! and `ApplySecurityBaseline` only ran an antivirus scan; `DeploySecurityUpdate`,
//! `EnableNetworkProtection`, `BlockPortProtocol` and `BlockNetworkDestination` pushed live-response
//! scripts that nothing ever uploaded; `EnableWebContentFiltering` was a stub. (`ForceUpdateMDE`,
//! which pushed such a script too, is real: Intune updates the signatures of the same device.)
use super::*;

const fn unsupported(
    name: &'static str,
    summary: &'static str,
    reason: &'static str,
    nearest: Option<&'static str>,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mde,
        name,
        summary,
        aliases: &[],
        params: &[],
        risk: Risk::Remediate,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported { reason, nearest },
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    unsupported(
        "TriggerVulnerabilityScan",
        "Not available: vulnerability assessment is continuous",
        "Defender Vulnerability Management assesses devices continuously from sensor data; Microsoft has no API that triggers a vulnerability scan (the seed ran an antivirus scan under this name). Read the current assessment instead.",
        Some("GetDeviceVulnerabilities"),
    ),
    unsupported(
        "ApplySecurityBaseline",
        "Not available: baselines are applied by policy",
        "Security baselines are applied by Intune or Group Policy, not through the Defender for Endpoint API (the seed only ran an antivirus scan under this name). MDE's API reads configuration assessments and recommendations.",
        Some("GetDeviceRecommendations"),
    ),
    unsupported(
        "RemediateVulnerability",
        "Not available: remediation requests are created in the portal",
        "The MDE API exposes remediation activities read-only (GET /api/remediationTasks); requesting remediation is a Defender portal / Intune workflow with no API.",
        Some("GetRemediationTasks"),
    ),
    unsupported(
        "ExcludeVulnerability",
        "Not available: exceptions are created in the portal",
        "Recommendation exceptions are created in the Defender portal; Microsoft has no API to exclude a vulnerability on a device.",
        Some("GetVulnerability"),
    ),
    unsupported(
        "BlockVulnerableSoftware",
        "Not available: MDE cannot block software by name",
        "Defender for Endpoint has no API that blocks software by name or version (the seed sent an indicator type that does not exist). Block the executable by its hash with a file indicator, or restrict code execution on the device.",
        Some("AddFileIndicator"),
    ),
    // Not unsupported any more: the MDE API cannot update security intelligence, but Intune can,
    // and the MDE machine is resolved to its Intune device (the same device) by the engine.
    ActionSpec {
        product: Product::Mde,
        name: "ForceUpdateMDE",
        summary: "Update Defender's security intelligence on a machine now, through its Intune device (windowsDefenderUpdateSignatures)",
        aliases: &[],
        params: &[crate::intune::DEVICE],
        risk: Risk::Remediate,
        inverse: None,
        permission: crate::intune::PRIVILEGED,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(
            Api::Graph,
            Method::Post,
            "/v1.0/deviceManagement/managedDevices/{deviceId}/windowsDefenderUpdateSignatures",
        )),
    },
    unsupported(
        "DeploySecurityUpdate",
        "Not available: MDE does not deploy updates",
        "Defender for Endpoint does not deploy OS or application updates; that is Windows Update for Business, Intune or Configuration Manager. A live-response library script is the nearest.",
        Some("RunScript"),
    ),
    unsupported(
        "EnableNetworkProtection",
        "Not available: network protection is a policy setting",
        "Network protection is configured by policy (Intune, Group Policy, PowerShell Set-MpPreference on the device); the MDE API has no action for it. A live-response library script is the nearest.",
        Some("RunScript"),
    ),
    unsupported(
        "BlockPortProtocol",
        "Not available: MDE has no firewall API",
        "Defender for Endpoint exposes no firewall API to block a port or protocol; firewall rules come from Intune or Group Policy. Isolation cuts a device off entirely; a live-response script can add a local rule.",
        Some("IsolateDevice"),
    ),
    unsupported(
        "EnableWebContentFiltering",
        "Not available: web content filtering is configured in the portal",
        "Web content filtering policies are managed in the Defender portal only; Microsoft has no API for them. URL and domain indicators block specific sites.",
        Some("AddURLIndicator"),
    ),
    unsupported(
        "BlockNetworkDestination",
        "Not available as named: MDE blocks addresses tenant-wide, not per port or device",
        "MDE cannot block a destination per port or per device; an IP indicator with action Block applies to every device (through network protection), and the seed's per-device script was never uploaded. Submit the IP indicator instead.",
        Some("AddIPIndicator"),
    ),
];
