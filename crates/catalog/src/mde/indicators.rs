//! Indicators of compromise (upstream-apis.md §2.7): submit (create or update by value and
//! type), read, remove, batch import and bulk remove.
//!
//! The value is checked against its type before any call (hash lengths, one IP without CIDR,
//! domains, URLs, certificate thumbprints; `params/indicators.rs`); the type is inferred from the
//! value when absent. The typed seed actions (`AddFileIndicator`, `AddIPIndicator`, ...) are the
//! same `POST /api/indicators` with the type fixed or narrowed. The indicator's own `action`
//! (Block, Allowed, ...) is `indicatorAction`, because on the seed's flat routes `action` names
//! the Riposte action; the MDE worker's nested `parameters.action` is taken as it too.
//!
//! MDE keeps at most 15,000 indicators per tenant and answers 400 past that; batch imports go
//! through `indicators/import` in chunks of 500 under its own 30 calls/minute budget.
use super::*;
use crate::params::indicators::{self as ioc, FILE_TYPES};

const PERMISSION: &str = "Ti.ReadWrite.All";

/// Every field MDE's `POST /api/indicators` takes, from validated params.
const BODY: &[(&str, BodyValue)] = &[
    ("indicatorValue", BodyValue::Param("indicatorValue")),
    ("indicatorType", BodyValue::Param("indicatorType")),
    ("action", BodyValue::Param("indicatorAction")),
    ("title", BodyValue::Param("title")),
    ("description", BodyValue::Param("description")),
    ("severity", BodyValue::Param("severity")),
    ("expirationTime", BodyValue::Param("expirationTime")),
    ("recommendedActions", BodyValue::Param("recommendedActions")),
    ("rbacGroupNames", BodyValue::Param("rbacGroupNames")),
    ("generateAlert", BodyValue::Param("generateAlert")),
    ("educateUrl", BodyValue::Param("educateUrl")),
    ("application", BodyValue::Param("application")),
];

/// "Submit or update": a second submit of the same value updates the indicator it made.
const SUBMIT: Call = Call::new(Api::Mde, Method::Post, "/api/indicators").body(BODY).repeatable();

/// The seed's typed actions name the value after its type (`sha1`, `ipAddress`, `url`, ...).
const fn value(aliases: &'static [&'static str], doc: &'static str) -> ParamSpec {
    ParamSpec {
        name: "indicatorValue",
        aliases,
        kind: ParamKind::IndicatorValue { type_param: "indicatorType" },
        required: true,
        default: None,
        doc,
    }
}

/// The type a typed action takes: one fixed value, or a narrowed set inferred from the value.
const fn fixed_type(values: &'static [&'static str], default: Option<&'static str>) -> ParamSpec {
    ParamSpec {
        name: "indicatorType",
        aliases: &["type"],
        kind: ParamKind::Enum { values },
        required: false,
        default,
        doc: "Indicator type (fixed by this action, or inferred from the value)",
    }
}

/// The seed's orchestrator submitted `Block` when no action was given; so do we.
const ACTION: ParamSpec = ioc::action(false, Some("Block"));

/// The fields after value and type, shared by the typed actions.
macro_rules! typed_params {
    ($value:expr, $ty:expr) => {
        &[
            $value,
            $ty,
            ACTION,
            ioc::TITLE,
            ioc::DESCRIPTION,
            ioc::SEVERITY,
            ioc::EXPIRATION,
            ioc::RECOMMENDED,
            ioc::RBAC_GROUPS,
            ioc::GENERATE_ALERT,
            ioc::EDUCATE_URL,
            ioc::APPLICATION,
        ]
    };
}

const INDICATOR_ID: ParamSpec =
    resource_id("indicatorId", &["id"], "Indicator id, as AddIndicator or GetIndicators returned it (e.g. \"994\")");

const INDICATOR_IDS: ParamSpec = ParamSpec {
    name: "indicatorIds",
    aliases: &["ids", "indicatorId"],
    kind: ParamKind::ResourceIds { max: 500 },
    required: true,
    default: None,
    doc: "Indicator ids: a comma-separated string or an array, at most 500",
};

const INDICATORS: ParamSpec = ParamSpec {
    name: "indicators",
    aliases: &["items", "iocs"],
    kind: ParamKind::Indicators { max: 15_000 },
    required: true,
    default: None,
    doc: "Indicator objects ({indicatorValue, indicatorType, action, title, description, severity, expirationTime, ...}); at most 15,000, imported 500 per call",
};

/// Fields an update may change; absent ones keep their current value.
const fn optional(p: ParamSpec) -> ParamSpec {
    ParamSpec { required: false, default: None, ..p }
}

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::Mde,
        name: "AddIndicator",
        summary: "Submit an indicator (file hash, IP, domain, URL or certificate); resubmitting updates it",
        aliases: &["SubmitIndicator", "CreateIndicator", "SubmitTiIndicator", "AddTiIndicator"],
        params: typed_params!(ioc::VALUE, ioc::TYPE),
        risk: Risk::Contain,
        // Undone by removing what it added: the same value and type (the enrichment scanner's
        // file indicators are this action, so they can be reverted).
        inverse: Some("RemoveIndicatorByValue"),
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SUBMIT),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddFileIndicator",
        summary: "Submit a file-hash indicator (SHA-1, SHA-256 or MD5, told apart by length)",
        aliases: &["AddFileHashIndicator", "SubmitFileIndicator"],
        params: typed_params!(
            value(
                &["sha1", "sha256", "md5", "fileHash", "hash", "value"],
                "File hash: SHA-1 (40 hex), SHA-256 (64) or MD5 (32)"
            ),
            fixed_type(FILE_TYPES, None)
        ),
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SUBMIT),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddIPIndicator",
        summary: "Submit an IP address indicator (one address, no CIDR)",
        aliases: &["SubmitIpIndicator", "AddIpAddressIndicator"],
        params: typed_params!(
            value(&["ipAddress", "ip", "value"], "One IPv4 or IPv6 address, no CIDR"),
            fixed_type(&["IpAddress"], Some("IpAddress"))
        ),
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SUBMIT),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddURLIndicator",
        summary: "Submit a URL indicator",
        aliases: &["SubmitUrlIndicator"],
        params: typed_params!(value(&["url", "value"], "http(s) URL, or host/path"), fixed_type(&["Url"], Some("Url"))),
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SUBMIT),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddDomainIndicator",
        summary: "Submit a domain indicator",
        aliases: &["SubmitDomainIndicator"],
        params: typed_params!(
            value(&["domain", "domainName", "value"], "Domain, e.g. evil.example.com"),
            fixed_type(&["DomainName"], Some("DomainName"))
        ),
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SUBMIT),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddCertificateIndicator",
        summary: "Submit a certificate indicator by its SHA-1 thumbprint",
        aliases: &["SubmitCertificateIndicator"],
        params: typed_params!(
            value(
                &["certificateHash", "thumbprint", "certificateThumbprint", "value"],
                "Certificate SHA-1 thumbprint (40 hex; spaces and colons are dropped)"
            ),
            fixed_type(&["CertificateThumbprint"], Some("CertificateThumbprint"))
        ),
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SUBMIT),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetIndicators",
        summary: "List indicators, optionally filtered",
        aliases: &["GetAllIndicators", "ListIndicators"],
        params: &[FILTER, TOP],
        risk: Risk::Read,
        inverse: None,
        permission: "Ti.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(list("/api/indicators")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetIndicator",
        summary: "Get one indicator by id",
        aliases: &["GetIndicatorById"],
        params: &[INDICATOR_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Ti.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        // Not on Microsoft's public pages (they document the list); answered by the service.
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/indicators/{indicatorId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UpdateIndicator",
        summary: "Change an indicator's action, title, description, severity or expiry",
        aliases: &["ModifyIndicator"],
        params: &[
            INDICATOR_ID,
            ioc::action(false, None),
            optional(ioc::TITLE),
            optional(ioc::DESCRIPTION),
            ioc::SEVERITY,
            ioc::EXPIRATION,
            ioc::RECOMMENDED,
            ioc::RBAC_GROUPS,
            ioc::GENERATE_ALERT,
        ],
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        // MDE has no PATCH for indicators: an update is the indicator resubmitted with its value
        // and type (POST /api/indicators updates in place), so it is read first.
        plan: Plan::Procedure(ProcedureId("mde.indicators.update")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "RemoveIndicator",
        summary: "Delete an indicator by id",
        aliases: &["DeleteIndicator"],
        params: &[INDICATOR_ID],
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Delete, "/api/indicators/{indicatorId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "RemoveIndicatorByValue",
        summary: "Delete every indicator with a given value (domain, IP, URL, hash)",
        aliases: &[
            "RemoveDomainIndicator",
            "RemoveIPIndicator",
            "RemoveURLIndicator",
            "RemoveFileIndicator",
            "DeleteIndicatorByValue",
        ],
        params: &[
            value(
                &["domain", "ipAddress", "url", "sha1", "sha256", "md5", "fileHash", "value"],
                "The indicator value to remove",
            ),
            ioc::TYPE,
        ],
        risk: Risk::Contain,
        inverse: Some("AddIndicator"),
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.indicators.remove_by_value")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "BulkAddIndicators",
        summary: "Import many indicators (500 per call, 30 calls per minute), with per-item results",
        aliases: &["ImportIndicators", "BatchAddIndicators", "BatchSubmitIndicators"],
        params: &[INDICATORS],
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.indicators.import")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "BulkRemoveIndicators",
        summary: "Delete many indicators by id, with per-item results",
        aliases: &["BatchDeleteIndicators", "RemoveIndicators", "DeleteIndicators"],
        params: &[INDICATOR_IDS],
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.indicators.remove")),
    },
];
