//! Custom detection rules: scheduled hunting queries that raise alerts, through Graph beta
//! `security/rules/detectionRules` (the seed called an MDE path, `/api/customDetectionRules`,
//! that does not exist). Bodies are nested (`queryCondition/queryText`, `schedule/period`,
//! `detectionAction/alertTemplate/...`); a `/` in a body key is a path into nested objects.
use super::*;

const PATH: &str = "/beta/security/rules/detectionRules";
const RULE: &str = "/beta/security/rules/detectionRules/{ruleId}";

/// Graph's `schedule.period` values: `0` is near-real-time, the others hours between runs.
const PERIODS: &[&str] = &["0", "1H", "3H", "12H", "24H"];
const SEVERITIES: &[&str] = &["informational", "low", "medium", "high"];

const RULE_ID: ParamSpec = resource_id("ruleId", &["id", "detectionRuleId"], "Detection rule id, e.g. \"35079\"");
const RULE_NAME: ParamSpec = required_text(
    "ruleName",
    &["displayName", "name", "title"],
    256,
    "Rule name; also the title of the alerts it raises",
);
const QUERY: ParamSpec = ParamSpec {
    name: "query",
    aliases: &["queryText", "kql"],
    kind: ParamKind::Text { max: 100_000 },
    required: true,
    default: None,
    doc: "KQL query; results must include the columns the impacted assets name (DeviceId by default)",
};
/// Graph documents no default; 24H is the portal's default frequency.
const PERIOD: ParamSpec = ParamSpec {
    name: "period",
    aliases: &["queryFrequency", "frequency", "schedule"],
    kind: ParamKind::Enum { values: PERIODS },
    required: false,
    default: Some("24H"),
    doc: "How often the rule runs: 0 (near real time), 1H, 3H, 12H or 24H",
};
const SEVERITY: ParamSpec = ParamSpec {
    name: "severity",
    aliases: &[],
    kind: ParamKind::Enum { values: SEVERITIES },
    required: false,
    default: Some("medium"),
    doc: "informational, low, medium or high",
};
const DESCRIPTION: ParamSpec = ParamSpec {
    name: "description",
    aliases: &[],
    kind: ParamKind::Text { max: 1000 },
    required: false,
    default: Some("Custom detection rule created through Riposte"),
    doc: "Description of the alerts the rule raises",
};
/// Graph documents no default category; suspicious activity is the neutral one.
const CATEGORY: ParamSpec = ParamSpec {
    name: "category",
    aliases: &[],
    kind: ParamKind::Text { max: 100 },
    required: false,
    default: Some("SuspiciousActivity"),
    doc: "Alert category, e.g. Execution, Persistence, SuspiciousActivity",
};
const ENABLED: ParamSpec = ParamSpec {
    name: "enabled",
    aliases: &["isEnabled"],
    kind: ParamKind::Bool,
    required: false,
    default: Some("true"),
    doc: "Whether the rule runs",
};
const TECHNIQUES: ParamSpec = ParamSpec {
    name: "mitreTechniques",
    aliases: &["tactics", "techniques"],
    kind: ParamKind::TextList { max_items: 50, max_len: 20 },
    required: false,
    default: None,
    doc: "MITRE ATT&CK technique ids, e.g. T1059",
};
const RECOMMENDED: ParamSpec =
    optional_text("recommendedActions", &[], 1000, "Recommended actions shown with the rule's alerts");
const UPDATES: ParamSpec = ParamSpec {
    name: "updates",
    aliases: &["changes", "properties"],
    kind: ParamKind::JsonObject,
    required: false,
    default: None,
    doc: "Graph detectionRule properties to change, as a JSON object (the named parameters take precedence)",
};

const fn optional(p: ParamSpec) -> ParamSpec {
    ParamSpec { required: false, default: None, ..p }
}

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::Mde,
        name: "CreateCustomDetectionRule",
        summary: "Create a custom detection rule (a scheduled hunting query that raises alerts)",
        aliases: &["CreateDetectionRule"],
        params: &[RULE_NAME, QUERY, PERIOD, SEVERITY, DESCRIPTION, CATEGORY, ENABLED, TECHNIQUES, RECOMMENDED],
        risk: Risk::Contain,
        inverse: None,
        permission: "CustomDetection.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Post, PATH).body(&[
            ("displayName", BodyValue::Param("ruleName")),
            ("isEnabled", BodyValue::Param("enabled")),
            ("queryCondition/queryText", BodyValue::Param("query")),
            ("schedule/period", BodyValue::Param("period")),
            ("detectionAction/alertTemplate/title", BodyValue::Param("ruleName")),
            ("detectionAction/alertTemplate/description", BodyValue::Param("description")),
            ("detectionAction/alertTemplate/severity", BodyValue::Param("severity")),
            ("detectionAction/alertTemplate/category", BodyValue::Param("category")),
            ("detectionAction/alertTemplate/recommendedActions", BodyValue::Param("recommendedActions")),
            ("detectionAction/alertTemplate/mitreTechniques", BodyValue::Param("mitreTechniques")),
            // The device in each result row is the impacted asset, as in Microsoft's example.
            (
                "detectionAction/alertTemplate/impactedAssets",
                BodyValue::Literal(
                    r##"[{"@odata.type": "#microsoft.graph.security.impactedDeviceAsset", "identifier": "deviceId"}]"##,
                ),
            ),
            ("detectionAction/responseActions", BodyValue::Literal("[]")),
        ])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UpdateCustomDetectionRule",
        summary: "Change a custom detection rule (name, query, schedule, enabled; other properties whole, through updates)",
        aliases: &["UpdateDetectionRule"],
        params: &[RULE_ID, optional(RULE_NAME), optional(QUERY), optional(PERIOD), optional(ENABLED), UPDATES],
        risk: Risk::Contain,
        inverse: None,
        permission: "CustomDetection.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Patch, RULE).body(&[
            ("displayName", BodyValue::Param("ruleName")),
            ("isEnabled", BodyValue::Param("enabled")),
            ("queryCondition/queryText", BodyValue::Param("query")),
            ("schedule/period", BodyValue::Param("period")),
            // `detectionAction` is one complex value that a PATCH replaces whole (Graph requires
            // its alert template's title), so it is changed through `updates` only.
            ("*", BodyValue::Param("updates")),
        ])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "DeleteCustomDetectionRule",
        summary: "Delete a custom detection rule",
        aliases: &["DeleteDetectionRule", "RemoveCustomDetectionRule"],
        params: &[RULE_ID],
        risk: Risk::Contain,
        inverse: None,
        permission: "CustomDetection.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Delete, RULE)),
    },
    ActionSpec {
        product: Product::Mde,
        name: "EnableCustomDetectionRule",
        summary: "Turn a custom detection rule on",
        aliases: &["EnableDetectionRule"],
        params: &[RULE_ID],
        risk: Risk::Contain,
        inverse: Some("DisableCustomDetectionRule"),
        permission: "CustomDetection.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Patch, RULE).body(&[("isEnabled", BodyValue::Literal("true"))])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "DisableCustomDetectionRule",
        summary: "Turn a custom detection rule off",
        aliases: &["DisableDetectionRule"],
        params: &[RULE_ID],
        risk: Risk::Contain,
        inverse: Some("EnableCustomDetectionRule"),
        permission: "CustomDetection.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Patch, RULE).body(&[("isEnabled", BodyValue::Literal("false"))]),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetCustomDetectionRules",
        summary: "List custom detection rules",
        aliases: &["ListCustomDetectionRules", "GetDetectionRules"],
        params: &[FILTER, top_up_to(1000)],
        risk: Risk::Read,
        inverse: None,
        permission: "CustomDetection.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(graph_list(PATH)),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetCustomDetectionRule",
        summary: "Get one custom detection rule",
        aliases: &["GetDetectionRule"],
        params: &[RULE_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "CustomDetection.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Get, RULE)),
    },
];
