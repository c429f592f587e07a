//! Seed names with no API behind them: each answers 501 with the reason and the nearest real
//! action. (What the seed sent for them did something else or nothing: a sensitivity label
//! created as a "DLP policy", an app-governance endpoint that does not exist, every service
//! principal carrying a tag disabled as a "category".)
use super::*;

const fn unsupported(
    name: &'static str,
    summary: &'static str,
    reason: &'static str,
    nearest: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mcas,
        name,
        summary,
        aliases: &[],
        params: &[],
        risk: Risk::Contain,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported { reason, nearest: Some(nearest) },
    }
}

pub(super) static ACTIONS: &[ActionSpec] = &[
    unsupported(
        "ApplyDLPPolicy",
        "Create a data loss prevention policy (no API; see the reason)",
        "Microsoft Purview DLP policies are created in the Purview portal or with Security & Compliance PowerShell \
         (New-DlpCompliancePolicy); neither Graph nor the Cloud Apps API can create one (the seed posted a sensitivity \
         label, which is not a DLP policy). Cloud Apps file policies are portal-only too.",
        "GetCloudAppsFiles",
    ),
    unsupported(
        "EnableAppGovernance",
        "Turn on app governance policies (no API; see the reason)",
        "App governance policies of Defender for Cloud Apps are managed only in the Defender portal; there is no \
         Graph or Cloud Apps API for them (the seed's /beta/security/appGovernancePolicies does not exist). A risky \
         OAuth app can be acted on directly.",
        "BanRiskyApp",
    ),
    unsupported(
        "BlockAppCategory",
        "Block every discovered app of a category (no API; see the reason)",
        "Cloud Discovery has no API to tag apps or categories as unsanctioned; it is done in the portal. The block \
         script API then exports every unsanctioned app for a firewall or proxy. (The seed disabled every service \
         principal carrying a tag equal to the category, which is not what a category is.)",
        "GetBlockScript",
    ),
];
