//! Conditional access: policies and named locations.
//!
//! Every policy Riposte creates is `enabledForReportingButNotEnforced` (report-only) unless the
//! caller sends `enforce: true` (see [`super::ENFORCE`]); the seed created them `enabled`, which
//! for "block all users except ..." policies is how tenants lock themselves out. Named locations
//! are IP ranges (`ipNamedLocation`, CIDR) or countries (`countryNamedLocation`, ISO 3166-1
//! alpha-2). Bodies are built by procedures (`engine/src/procedures/entra/conditional_access.rs`):
//! ranges need their IPv4/IPv6 type, users their object ids.
use super::{ENFORCE, EXCLUDED_USERS, USER};
use crate::*;

const DISPLAY_NAME: ParamSpec = ParamSpec {
    name: "displayName",
    aliases: &["name", "policyName", "locationName"],
    kind: ParamKind::Text { max: 256 },
    required: true,
    default: None,
    doc: "The display name",
};

const IP_RANGES: ParamSpec = ParamSpec {
    name: "ipRanges",
    aliases: &["ipAddresses", "cidrs", "ranges"],
    kind: ParamKind::TextList { max_items: 200, max_len: 64 },
    required: true,
    default: None,
    doc: "CIDR ranges (203.0.113.0/24, 2001:db8::/48); a bare address is taken as /32 or /128",
};

const IS_TRUSTED: ParamSpec = ParamSpec {
    name: "isTrusted",
    aliases: &["trusted"],
    kind: ParamKind::Bool,
    required: false,
    default: None,
    doc: "Mark the location trusted (lowers sign-in risk); default false on create, unchanged on update",
};

/// A policy the caller names, or the procedure's documented default name.
const POLICY_NAME: ParamSpec = ParamSpec { required: false, ..DISPLAY_NAME };

const fn policy(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    key: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::EntraId,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: None,
        permission: "Policy.ReadWrite.ConditionalAccess",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(key)),
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::EntraId,
        "GetConditionalAccessPolicies",
        "List conditional access policies",
        &["ListConditionalAccessPolicies", "GetCAPolicies"],
        &[],
        "Policy.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/identity/conditionalAccess/policies").paged(),
    ),
    ActionSpec::read(
        Product::EntraId,
        "GetNamedLocations",
        "List named locations (IP ranges and countries)",
        &["ListNamedLocations"],
        &[],
        "Policy.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/identity/conditionalAccess/namedLocations").paged(),
    ),
    ActionSpec {
        product: Product::EntraId,
        name: "CreateNamedLocation",
        summary: "Create an IP named location from CIDR ranges",
        aliases: &["CreateIpNamedLocation"],
        params: &[DISPLAY_NAME, IP_RANGES, IS_TRUSTED],
        risk: Risk::Contain,
        inverse: None,
        permission: "Policy.ReadWrite.ConditionalAccess",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.conditional_access.create_ip_location")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "AddIPToNamedLocation",
        summary: "Add CIDR ranges to the IP named location of that name (created when none has it; several is a 400)",
        aliases: &["AddIpRangesToNamedLocation"],
        params: &[DISPLAY_NAME, IP_RANGES, IS_TRUSTED],
        risk: Risk::Contain,
        inverse: None,
        permission: "Policy.ReadWrite.ConditionalAccess",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.conditional_access.add_ip_ranges")),
    },
    policy(
        "BlockCountryLocation",
        "Create a country named location and a policy blocking sign-ins from it (report-only unless enforce)",
        &["BlockCountries", "BlockCountryLocations"],
        &[
            ParamSpec {
                name: "countryCodes",
                aliases: &["countries", "countriesAndRegions"],
                kind: ParamKind::TextList { max_items: 250, max_len: 2 },
                required: true,
                default: None,
                doc: "ISO 3166-1 alpha-2 codes, e.g. [\"KP\", \"IR\"]",
            },
            EXCLUDED_USERS,
            POLICY_NAME,
            ENFORCE,
        ],
        "entra.conditional_access.block_countries",
    ),
    policy(
        "CreateEmergencyCAPolicy",
        "Create a policy blocking one user from every application (report-only unless enforce)",
        &["CreateEmergencyBlockPolicy", "EmergencyBlockUser"],
        &[USER, POLICY_NAME, ENFORCE],
        "entra.conditional_access.emergency_block_user",
    ),
    policy(
        "CreateEmergencyBreakGlassPolicy",
        "Create a policy requiring MFA and a compliant device of all users except the break-glass accounts (report-only unless enforce)",
        &["CreateBreakGlassPolicy"],
        &[POLICY_NAME, EXCLUDED_USERS, ENFORCE],
        "entra.conditional_access.break_glass",
    ),
    policy(
        "BlockLegacyAuth",
        "Create a policy blocking legacy authentication clients (Exchange ActiveSync, other) for all users (report-only unless enforce)",
        &["BlockLegacyAuthentication"],
        &[POLICY_NAME, EXCLUDED_USERS, ENFORCE],
        "entra.conditional_access.block_legacy_auth",
    ),
    policy(
        "EnableCARiskPolicy",
        "Create a policy requiring MFA for sign-ins at or above a risk level (report-only unless enforce)",
        &["CreateSignInRiskPolicy"],
        &[
            ParamSpec {
                name: "riskLevel",
                aliases: &["signInRiskLevel", "level"],
                kind: ParamKind::Enum { values: &["high", "medium", "low"] },
                required: false,
                default: Some("medium"),
                doc: "The lowest sign-in risk the policy acts on: high, medium (default) or low",
            },
            POLICY_NAME,
            EXCLUDED_USERS,
            ENFORCE,
        ],
        "entra.conditional_access.sign_in_risk",
    ),
    policy(
        "EnableIdentityProtection",
        "Create a user-risk policy: high or medium user risk must pass MFA and change password (report-only unless enforce)",
        &["CreateUserRiskPolicy"],
        &[super::USER_OPTIONAL, POLICY_NAME, EXCLUDED_USERS, ENFORCE],
        "entra.conditional_access.user_risk",
    ),
    policy(
        "RequireMFAForRole",
        "Create a policy requiring MFA of the holders of a directory role (report-only unless enforce)",
        &["RequireMfaForDirectoryRole"],
        &[
            ParamSpec {
                name: "roleId",
                aliases: &["roleTemplateId", "roleDefinitionId"],
                kind: ParamKind::Guid,
                required: true,
                default: None,
                doc: "The directory role's template id, e.g. 62e90394-69f5-4237-9190-012177145e10 (Global Administrator)",
            },
            POLICY_NAME,
            EXCLUDED_USERS,
            ENFORCE,
        ],
        "entra.conditional_access.mfa_for_role",
    ),
    ActionSpec {
        product: Product::EntraId,
        name: "SimulateCAPolicy",
        summary: "What If: which conditional access policies would apply to a sign-in, and what they would require",
        aliases: &["EvaluateConditionalAccess", "WhatIfCAPolicy"],
        params: &[
            USER,
            ParamSpec {
                name: "policyId",
                aliases: &["policy"],
                kind: ParamKind::Guid,
                required: false,
                default: None,
                doc: "Only report this policy's verdict",
            },
            ParamSpec {
                name: "applicationId",
                aliases: &["appId"],
                kind: ParamKind::Guid,
                required: false,
                default: Some("00000003-0000-0000-c000-000000000000"),
                doc: "The application signed in to (default Microsoft Graph)",
            },
            ParamSpec {
                name: "clientAppType",
                aliases: &["clientApp"],
                kind: ParamKind::Enum {
                    values: &["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other"],
                },
                required: false,
                default: Some("browser"),
                doc: "The client type",
            },
            ParamSpec {
                name: "ipAddress",
                aliases: &["ip"],
                kind: ParamKind::Ip,
                required: false,
                default: None,
                doc: "The sign-in's IP address",
            },
            ParamSpec {
                name: "country",
                aliases: &["countryCode"],
                kind: ParamKind::Text { max: 2 },
                required: false,
                default: None,
                doc: "The sign-in's country (ISO 3166-1 alpha-2)",
            },
            ParamSpec {
                name: "signInRiskLevel",
                aliases: &["riskLevel"],
                kind: ParamKind::Enum { values: &["none", "low", "medium", "high"] },
                required: false,
                default: Some("none"),
                doc: "The sign-in risk to assume",
            },
        ],
        risk: Risk::Read,
        inverse: None,
        permission: "Policy.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.conditional_access.what_if")),
    },
];
