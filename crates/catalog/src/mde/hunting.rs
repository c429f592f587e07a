//! Advanced hunting (upstream-apis.md §2.9, §4.5): running KQL against a tenant's Defender data,
//! and the hunting queries Riposte keeps (saved, versioned, with a run history).
//!
//! Two upstream APIs answer the same question. MDE's `POST /api/advancedqueries/run` (what the
//! seed called, `{Schema, Results}`) and Graph's `POST /v1.0/security/runHuntingQuery` (the
//! current one, `{schema, results}`, with an optional `Timespan`). The seed had no Graph action;
//! `RunHuntingQuery` sits under MDE until a Defender XDR product exists. Both draw from the
//! hunting budget (45 calls/min and 1,500/h per tenant), not MDE's general 100/min.
//!
//! Seed spellings: the worker's `RunQuery`, the orchestrator's `RunAdvancedQuery` and its
//! wildcard label `AdvancedHunt*` (any action starting with `AdvancedHunt`; the listed forms are
//! the ones the seed's notes and workbooks use). `SaveQuery` and `GetQueryHistory` were stubs in
//! the seed; here they are real, stored in Riposte.
use super::*;

// --- Parameters -------------------------------------------------------------------------------

/// Longest query accepted. Microsoft documents no query-length limit (only result size, rows and
/// CPU); this bounds what we store and forward, far above any hunting query people write.
pub(crate) const MAX_QUERY_CHARS: usize = 100_000;

/// The KQL text. MDE spells the body key `Query`; the seed's orchestrator used `huntQuery`.
pub(crate) const QUERY: ParamSpec = ParamSpec {
    name: "query",
    aliases: &["Query", "kql", "huntQuery", "kqlQuery", "huntingQuery"],
    kind: ParamKind::Text { max: MAX_QUERY_CHARS },
    required: true,
    default: None,
    doc: "KQL advanced hunting query, e.g. DeviceProcessEvents | where FileName == \"powershell.exe\" | take 10",
};

/// Graph's `Timespan`: ISO 8601 `start/end`, `duration/end`, `start/duration`, `duration` or
/// `start`. Microsoft validates it; absent means Graph's default (the last 30 days).
const TIMESPAN: ParamSpec = ParamSpec {
    name: "timespan",
    aliases: &["Timespan", "timeSpan"],
    kind: ParamKind::Text { max: 100 },
    required: false,
    default: None,
    doc: "ISO 8601 interval or duration, e.g. P7D or 2026-11-01T00:00:00Z/2026-11-08T00:00:00Z (Graph only)",
};

/// A saved query's name: case-insensitive, unique among saved queries (built-ins included).
const QUERY_NAME: ParamSpec = ParamSpec {
    name: "queryName",
    aliases: &["name", "savedQuery", "savedQueryName"],
    kind: ParamKind::Text { max: 128 },
    required: true,
    default: None,
    doc: "Saved query name (letters, digits, space, '-', '_', '.'; at most 128 characters)",
};

const QUERY_NAME_FILTER: ParamSpec = ParamSpec { required: false, doc: "Only runs of this saved query", ..QUERY_NAME };

const DESCRIPTION: ParamSpec = ParamSpec {
    name: "description",
    aliases: &[],
    kind: ParamKind::Text { max: 2000 },
    required: false,
    default: None,
    doc: "What the query looks for",
};

const VERSION: ParamSpec = ParamSpec {
    name: "version",
    aliases: &["queryVersion"],
    kind: ParamKind::Int { min: 1, max: 1_000_000 },
    required: false,
    default: None,
    doc: "Saved query version (default: the latest)",
};

const LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    aliases: &["top", "$top"],
    kind: ParamKind::Int { min: 1, max: 1000 },
    required: false,
    default: Some("100"),
    doc: "Most runs to return, newest first (1-1000)",
};

/// Saved queries live in Riposte: no Microsoft permission is involved.
const RIPOSTE_ONLY: &str = "none (kept in Riposte)";

// --- The table --------------------------------------------------------------------------------

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::Mde,
        name: "RunAdvancedHuntingQuery",
        summary: "Run a KQL advanced hunting query (Defender for Endpoint API): {Schema, Results}",
        aliases: &[
            "RunQuery",
            "RunAdvancedQuery",
            "AdvancedHunt*",
            "AdvancedHunting",
            "AdvancedHuntingRunQuery",
            "AdvancedHuntingQuery",
            "RunAdvancedHunting",
        ],
        params: &[QUERY],
        risk: Risk::Read,
        inverse: None,
        permission: "AdvancedQuery.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Post, "/api/advancedqueries/run")
                .body(&[("Query", BodyValue::Param("query"))])
                .budget(Budget::Hunting),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "RunHuntingQuery",
        summary: "Run a KQL hunting query through Microsoft Graph (Defender XDR tables): {schema, results}",
        aliases: &["RunGraphHuntingQuery", "GraphHuntingQuery", "RunXdrHuntingQuery"],
        params: &[QUERY, TIMESPAN],
        risk: Risk::Read,
        inverse: None,
        permission: "ThreatHunting.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Post, "/v1.0/security/runHuntingQuery")
                .body(&[("Query", BodyValue::Param("query")), ("Timespan", BodyValue::Param("timespan"))])
                .budget(Budget::Hunting),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "SaveQuery",
        summary: "Save a hunting query in Riposte; saving an existing name adds a version",
        aliases: &["SaveHuntingQuery", "SaveAdvancedQuery"],
        params: &[QUERY_NAME, QUERY, DESCRIPTION],
        // Read: it changes nothing at Microsoft and never destroys (a save adds a version), so
        // read-only hunters may keep their queries.
        risk: Risk::Read,
        inverse: None,
        permission: RIPOSTE_ONLY,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.hunting.save_query")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "ListSavedQueries",
        summary: "Saved hunting queries (built-ins included), latest version of each",
        aliases: &["GetSavedQueries", "ListQueries"],
        params: &[],
        risk: Risk::Read,
        inverse: None,
        permission: RIPOSTE_ONLY,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.hunting.list_saved_queries")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetSavedQuery",
        summary: "One saved hunting query with all its versions",
        aliases: &["GetQuery"],
        params: &[QUERY_NAME],
        risk: Risk::Read,
        inverse: None,
        permission: RIPOSTE_ONLY,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.hunting.get_saved_query")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "RunSavedQuery",
        summary: "Run a saved hunting query (latest or a given version) against the tenant",
        aliases: &["RunSavedHuntingQuery"],
        params: &[QUERY_NAME, VERSION],
        risk: Risk::Read,
        inverse: None,
        permission: "AdvancedQuery.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.hunting.run_saved_query")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "DeleteSavedQuery",
        summary: "Delete a saved hunting query (versions and run history are kept for audit)",
        aliases: &["DeleteQuery"],
        params: &[QUERY_NAME],
        // Remediate: a reader may not remove what others rely on; nothing at Microsoft changes.
        risk: Risk::Remediate,
        inverse: None,
        permission: RIPOSTE_ONLY,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.hunting.delete_saved_query")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetQueryHistory",
        summary: "Hunting runs on the tenant: who, when, query, row counts, status, duration",
        aliases: &["GetHuntingHistory", "QueryHistory"],
        params: &[QUERY_NAME_FILTER, LIMIT],
        risk: Risk::Read,
        inverse: None,
        permission: RIPOSTE_ONLY,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.hunting.query_history")),
    },
];
