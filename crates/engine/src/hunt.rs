//! Cross-tenant hunting: one KQL query over many tenants at once, answered as one table.
//!
//! The story of a hunt ([`Engine::hunt`]):
//! 1. decide what to run: the query text (or a saved query's version) and which Microsoft API
//!    answers it — MDE `advancedqueries/run`, or Graph `runHuntingQuery` when a `timespan` is
//!    given (MDE's legacy API has no timespan; it always looks at the last 30 days);
//! 2. decide where: the named tenants, or `"all"` = every configured tenant the key may access;
//!    a named tenant outside the key's scope is a 403, an unconfigured one a 400;
//! 3. record an `attempt` audit record per tenant (the query text is kept, results never are);
//! 4. ask every tenant at once, each call through `upstream` under that tenant's hunting budget
//!    (45 calls/min); a throttled or failing tenant does not sink the others;
//! 5. record each tenant's `outcome` and the run in the query history;
//! 6. merge: a leading `TenantId` column, the union of the tenants' columns, every row labelled
//!    with its tenant, per-tenant status, and `partial` when any tenant did not answer.
//!
//! A query Microsoft rejected in every tenant (a KQL syntax error, say) is the caller's mistake,
//! not a partial answer: it comes back as the error, with Microsoft's message. A hunt no tenant
//! answered for any other reason is a 502 (a 429 when every tenant was throttled) carrying each
//! tenant's status, never a 200 with no rows.

mod archive;

use crate::plan::{self, Carried};
use crate::{Engine, EngineError, Principal};
use catalog::{ActionSpec, ParamError, Params, Plan, Product};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};
use store::{NewAuditEvent, QueryRun, QueryRunTenant, SavedQuery};
use uuid::Uuid;

/// Tenants asked at once. Each tenant has its own budget, so this only bounds sockets.
const HUNT_CONCURRENCY: usize = 16;
/// Most merged rows returned: Microsoft's own per-query cap (100,000 rows) applied to the merge.
pub const MAX_MERGED_ROWS: usize = 100_000;
/// The catalog actions a hunt runs, one per upstream API.
const MDE_ACTION: &str = "RunAdvancedHuntingQuery";
const GRAPH_ACTION: &str = "RunHuntingQuery";

/// Where to hunt, as the caller said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantChoice {
    /// Every configured tenant the key may access.
    All,
    Named(Vec<String>),
}

/// What a hunt runs: validated params for one catalog hunting action, and where the text came from.
#[derive(Debug, Clone)]
pub(crate) struct HuntPlan {
    pub spec: &'static ActionSpec,
    pub params: Params,
    pub query: String,
    /// The saved query and version run, when it was one.
    pub saved: Option<(String, i64)>,
}

/// One tenant's answer (or why there is none).
struct TenantPart {
    tenant: String,
    duration: Duration,
    result: Result<Answer, EngineError>,
    request_id: Option<String>,
}

/// A hunting answer, read case-insensitively: MDE says `Schema`/`Results`, Graph `schema`/`results`.
struct Answer {
    schema: Vec<Column>,
    rows: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// How one tenant fared.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    pub tenant_id: String,
    /// `succeeded`, `throttled` or `failed`.
    pub status: &'static str,
    pub row_count: usize,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_request_id: Option<String>,
}

/// The merged answer of a hunt.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HuntOutcome {
    pub run_id: Uuid,
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_query: Option<Value>,
    /// The catalog action that ran in each tenant (which Microsoft API answered).
    pub action: &'static str,
    /// `succeeded`, `partial` or `failed`.
    pub status: &'static str,
    /// True when any tenant did not answer.
    pub partial: bool,
    pub schema: Vec<Column>,
    pub rows: Vec<Map<String, Value>>,
    pub row_count: usize,
    /// True when the merge stopped at [`MAX_MERGED_ROWS`].
    pub truncated: bool,
    pub tenants: Vec<TenantStatus>,
    pub duration_ms: u64,
    /// What an archive hunt read (`source: "archive"`): partitions, files, row groups, columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Value>,
}

impl HuntOutcome {
    /// What a procedure hands back to `Engine::execute`.
    pub(crate) fn carried(&self) -> Carried {
        Carried {
            data: json!(self),
            request_ids: self.tenants.iter().filter_map(|t| t.upstream_request_id.clone()).collect(),
            machine_action_ids: vec![],
            failed_targets: self.tenants.iter().filter(|t| t.status != SUCCEEDED).count(),
            follow: None,
        }
    }
}

const SUCCEEDED: &str = "succeeded";
const THROTTLED: &str = "throttled";
const FAILED: &str = "failed";
const PARTIAL: &str = "partial";

/// A hunt under way: who asked, what, where, since when.
struct Run {
    id: Uuid,
    who: Principal,
    plan: HuntPlan,
    tenants: Vec<String>,
    started: Instant,
    started_at: time::OffsetDateTime,
}

impl Engine {
    /// Run one query over many tenants: the whole story is in the module documentation.
    ///
    /// `body` is the caller's request: `query` (or `saved` + optional `version`), `tenants`
    /// (`[..]`, `"a,b"` or `"all"`, default all) and optional `timespan`.
    pub async fn hunt(&self, principal: &Principal, body: &Map<String, Value>) -> Result<HuntOutcome, EngineError> {
        refuse_unknown_fields(body)?;
        if archive::wants_archive(body)? {
            return self.hunt_archive(principal, body).await;
        }
        if let Some(name) = ["from", "to"].into_iter().find(|f| field_present(body, f)) {
            return Err(param_error(
                name,
                "is the archive's time range",
                "add \"source\": \"archive\", or use timespan",
            ));
        }
        let plan = self.plan_hunt(body).await?;
        let tenants_field = body.iter().find(|(k, _)| k.eq_ignore_ascii_case("tenants")).map(|(_, v)| v);
        let tenants = self.tenants_to_hunt(principal, &parse_tenants(tenants_field)?)?;
        authorize_hunt(principal, &plan)?;
        let run = Run::start(principal, plan, tenants);
        self.audit_attempts(&run).await?;
        let parts = self.ask_tenants(&run).await;
        self.audit_outcomes(&run, &parts).await?;
        self.finish_run(run, parts, Strictness::QueryErrorsOnly).await
    }

    /// One tenant, for the `RunSavedQuery` action: `execute` already audits it, and any failure
    /// of the tenant is the action's error.
    pub(crate) async fn hunt_in_tenant(
        &self,
        principal: &Principal,
        plan: HuntPlan,
        tenant: &str,
    ) -> Result<HuntOutcome, EngineError> {
        let run = Run::start(principal, plan, vec![tenant.to_string()]);
        let parts = self.ask_tenants(&run).await;
        self.finish_run(run, parts, Strictness::AnyFailure).await
    }

    /// Step 1: the query text (given, or a saved query's version) and the action that runs it.
    async fn plan_hunt(&self, body: &Map<String, Value>) -> Result<HuntPlan, EngineError> {
        let timespan = field(body, &["timespan"]);
        if let Some(t) = timespan {
            check_timespan(t)?;
        }
        let saved_name = field(body, &["saved", "savedQuery", "queryName"]);
        let given_query = field(body, &["query", "kql"]);
        let (query, saved) = match (saved_name, given_query) {
            (Some(_), Some(_)) => {
                return Err(param_error(
                    "query",
                    "give either a query or a saved query name, not both",
                    "drop \"query\" to run the saved one",
                ));
            }
            (Some(name), None) => {
                let version = version_field(body)?;
                let saved = self.find_saved_query(name).await?;
                let chosen = saved.version(version).ok_or_else(|| {
                    param_error(
                        "version",
                        format!("'{}' has no version {}", saved.name, version.unwrap_or(saved.latest)),
                        format!("versions 1 to {} exist", saved.latest),
                    )
                })?;
                (chosen.query.clone(), Some((saved.name.clone(), chosen.version)))
            }
            (None, query) => (query.unwrap_or_default().to_string(), None),
        };
        self.hunt_plan(query, timespan.map(str::to_string), saved)
    }

    /// Validated params for the hunting action that fits: Graph when a timespan is asked for.
    pub(crate) fn hunt_plan(
        &self,
        query: String,
        timespan: Option<String>,
        saved: Option<(String, i64)>,
    ) -> Result<HuntPlan, EngineError> {
        let name = if timespan.is_some() { GRAPH_ACTION } else { MDE_ACTION };
        let spec = self
            .inner
            .catalog
            .get(Product::Mde, name)
            .ok_or_else(|| EngineError::Internal(format!("the catalog has no {name}")))?;
        let mut raw = Map::new();
        raw.insert("query".into(), Value::String(query));
        if let Some(t) = timespan {
            raw.insert("timespan".into(), Value::String(t));
        }
        let params = spec.validate(&raw).map_err(|e| match e.field.as_str() {
            "query" if e.message == "is required" => param_error(
                "query",
                "is required",
                "send \"query\": \"DeviceProcessEvents | take 10\", or \"saved\": \"<saved query name>\"",
            ),
            _ => EngineError::InvalidParam(e),
        })?;
        let query = params.get("query").and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(HuntPlan { spec, params, query, saved })
    }

    /// Step 2: the tenants to ask, in the caller's order, checked against the key's scope.
    fn tenants_to_hunt(&self, principal: &Principal, choice: &TenantChoice) -> Result<Vec<String>, EngineError> {
        let directory = &self.inner.tenants;
        let chosen: Vec<String> = match choice {
            TenantChoice::All => directory.ids().filter(|t| principal.may_access(t)).map(str::to_string).collect(),
            TenantChoice::Named(names) => {
                let mut out: Vec<String> = Vec::with_capacity(names.len());
                for name in names {
                    // Scope before existence: a scoped key learns nothing about other tenants.
                    if !principal.may_access(name) {
                        return Err(EngineError::Forbidden(format!(
                            "key '{}' is not scoped to tenant '{name}'",
                            principal.name
                        )));
                    }
                    let creds = directory.get(name).map_err(|_| {
                        param_error(
                            "tenants",
                            format!("tenant '{name}' is not configured in this gateway"),
                            "GET /v1/tenants lists the tenants this key may use",
                        )
                    })?;
                    if !out.iter().any(|t| t.eq_ignore_ascii_case(&creds.tenant_id)) {
                        out.push(creds.tenant_id.clone());
                    }
                }
                out
            }
        };
        if chosen.is_empty() {
            return Err(EngineError::Forbidden(format!("key '{}' may not use any configured tenant", principal.name)));
        }
        Ok(chosen)
    }

    /// Step 3: durable before the first call, one attempt record per tenant.
    async fn audit_attempts(&self, run: &Run) -> Result<(), EngineError> {
        for tenant in &run.tenants {
            let detail = json!({
                "hunt": run.id, "tenants": run.tenants.len(),
                "role": run.who.role.as_str(), "risk": run.plan.spec.risk,
            });
            self.inner
                .store
                .append_audit(run.audit_event(tenant, store::AuditKind::Attempt, None, vec![], None, detail))
                .await?;
        }
        Ok(())
    }

    /// Step 4: every tenant at once, each under its own hunting budget.
    async fn ask_tenants(&self, run: &Run) -> Vec<TenantPart> {
        // The futures are built first: a `map` closure over borrowed tenants would make the
        // stream's future not provably `Send` for axum's handlers.
        let asks: Vec<_> = run.tenants.iter().map(|tenant| self.ask_tenant(&run.plan, tenant)).collect();
        futures::stream::iter(asks).buffered(HUNT_CONCURRENCY).collect().await
    }

    async fn ask_tenant(&self, hunt: &HuntPlan, tenant: &str) -> TenantPart {
        let started = Instant::now();
        let (result, request_id) = match self.call_hunting_api(hunt, tenant).await {
            Ok((answer, request_id)) => (Ok(answer), request_id),
            Err(e) => (Err(e), None),
        };
        TenantPart { tenant: tenant.to_string(), duration: started.elapsed(), result, request_id }
    }

    async fn call_hunting_api(&self, hunt: &HuntPlan, tenant: &str) -> Result<(Answer, Option<String>), EngineError> {
        let Plan::Call(call) = hunt.spec.plan else {
            return Err(EngineError::Internal(format!("{} is not a call", hunt.spec.name)));
        };
        let creds = self.inner.tenants.get(tenant)?;
        let request = plan::request(&call, &hunt.params, None)?;
        let response = self.inner.upstream.call(creds, request).await?;
        let answer = read_answer(&response.body).ok_or_else(|| EngineError::UpstreamFailed {
            status: response.status,
            code: "InvalidHuntingResponse".into(),
            message: "the hunting API answered without a schema and results".into(),
            request_id: response.request_id.clone(),
        })?;
        Ok((answer, response.request_id))
    }

    /// Step 5a: one outcome record per tenant.
    async fn audit_outcomes(&self, run: &Run, parts: &[TenantPart]) -> Result<(), EngineError> {
        for part in parts {
            let (outcome, detail) = match &part.result {
                Ok(a) => ("Succeeded", json!({ "hunt": run.id, "rowCount": a.rows.len() })),
                Err(e) => (outcome_label(e), json!({ "hunt": run.id, "error": crate::error_json(e) })),
            };
            self.inner.metrics.count(run.plan.spec.product, run.plan.spec.name, outcome);
            let ids = part.request_id.clone().into_iter().collect();
            let ms = part.duration.as_millis() as i64;
            let event = run.audit_event(&part.tenant, store::AuditKind::Outcome, Some(outcome), ids, Some(ms), detail);
            self.inner.store.append_audit(event).await?;
        }
        Ok(())
    }

    /// Steps 5b and 6: remember the run, merge the answers.
    async fn finish_run(
        &self,
        run: Run,
        parts: Vec<TenantPart>,
        strictness: Strictness,
    ) -> Result<HuntOutcome, EngineError> {
        let statuses: Vec<TenantStatus> = parts.iter().map(tenant_status).collect();
        let (schema, rows, truncated) = merge(&parts);
        let succeeded = statuses.iter().filter(|s| s.status == SUCCEEDED).count();
        let status = match succeeded {
            n if n == statuses.len() => SUCCEEDED,
            0 => FAILED,
            _ => PARTIAL,
        };
        let duration_ms = run.started.elapsed().as_millis() as u64;
        self.inner.store.record_query_run(&run.history(status, rows.len(), duration_ms, &statuses)).await?;
        if let Some(err) = strictness.error_of(parts) {
            return Err(err);
        }
        if status == FAILED {
            return Err(every_tenant_failed(&statuses));
        }
        Ok(HuntOutcome {
            run_id: run.id,
            query: run.plan.query.clone(),
            saved_query: run.plan.saved.as_ref().map(|(name, version)| json!({ "name": name, "version": version })),
            action: run.plan.spec.name,
            status,
            partial: status != SUCCEEDED,
            row_count: rows.len(),
            schema,
            rows,
            truncated,
            tenants: statuses,
            duration_ms,
            statistics: None,
        })
    }
}

impl Run {
    fn start(who: &Principal, plan: HuntPlan, tenants: Vec<String>) -> Run {
        Run {
            id: Uuid::now_v7(),
            who: who.clone(),
            plan,
            tenants,
            started: Instant::now(),
            started_at: time::OffsetDateTime::now_utc(),
        }
    }

    /// The query text is audited; rows never are.
    fn audit_params(&self) -> Value {
        let mut params = crate::redact::params(self.plan.spec, &self.plan.params);
        if let Some((name, version)) = &self.plan.saved {
            params["savedQuery"] = json!(name);
            params["version"] = json!(version);
        }
        params
    }

    fn audit_event(
        &self,
        tenant: &str,
        kind: store::AuditKind,
        outcome: Option<&str>,
        upstream_request_ids: Vec<String>,
        duration_ms: Option<i64>,
        detail: Value,
    ) -> NewAuditEvent {
        NewAuditEvent {
            operation_id: Some(self.id),
            kind,
            principal: self.who.name.clone(),
            tenant: Some(tenant.to_string()),
            product: Some(self.plan.spec.product.key().into()),
            action: Some(self.plan.spec.name.into()),
            params: self.audit_params(),
            outcome: outcome.map(str::to_string),
            upstream_request_ids,
            duration_ms,
            detail,
        }
    }

    fn history(&self, status: &str, rows: usize, duration_ms: u64, statuses: &[TenantStatus]) -> QueryRun {
        QueryRun {
            id: self.id,
            query_name: self.plan.saved.as_ref().map(|(n, _)| n.clone()),
            query_version: self.plan.saved.as_ref().map(|(_, v)| *v),
            query: self.plan.query.clone(),
            principal: self.who.name.clone(),
            status: status.into(),
            row_count: rows as i64,
            duration_ms: duration_ms as i64,
            started_at: self.started_at,
            tenants: statuses
                .iter()
                .map(|s| QueryRunTenant {
                    tenant: s.tenant_id.clone(),
                    status: s.status.into(),
                    row_count: s.row_count as i64,
                    duration_ms: s.duration_ms as i64,
                    error: s.error.clone(),
                })
                .collect(),
        }
    }
}

/// When a hunt's failures become the answer.
#[derive(Clone, Copy)]
enum Strictness {
    /// Only when Microsoft rejected the query itself in every tenant (a bad query, not a bad day).
    QueryErrorsOnly,
    /// Any failure (one-tenant runs, where a per-tenant status would hide the error).
    AnyFailure,
}

impl Strictness {
    fn error_of(self, parts: Vec<TenantPart>) -> Option<EngineError> {
        let fatal = match self {
            Strictness::QueryErrorsOnly => {
                !parts.is_empty() && parts.iter().all(|p| matches!(p.result, Err(EngineError::UpstreamRejected { .. })))
            }
            Strictness::AnyFailure => parts.iter().any(|p| p.result.is_err()),
        };
        if fatal { parts.into_iter().find_map(|p| p.result.err()) } else { None }
    }
}

fn tenant_status(part: &TenantPart) -> TenantStatus {
    let mut status = TenantStatus {
        tenant_id: part.tenant.clone(),
        status: SUCCEEDED,
        row_count: 0,
        duration_ms: part.duration.as_millis() as u64,
        error: None,
        retry_after_seconds: None,
        upstream_request_id: part.request_id.clone(),
    };
    match &part.result {
        Ok(answer) => status.row_count = answer.rows.len(),
        Err(e) => {
            status.status = if matches!(e, EngineError::Throttled { .. }) { THROTTLED } else { FAILED };
            status.error = Some(crate::error_json(e));
            if let EngineError::Throttled { retry_after } = e {
                status.retry_after_seconds = retry_after.map(|d| d.as_secs().max(1));
            }
        }
    }
    status
}

/// No tenant answered: a 502 (or a 429 when every tenant was throttled, with the longest
/// Retry-After) carrying each tenant's status, instead of a 200 with no rows.
fn every_tenant_failed(statuses: &[TenantStatus]) -> EngineError {
    let all_throttled = statuses.iter().all(|s| s.status == THROTTLED);
    let retry_after = statuses.iter().filter_map(|s| s.retry_after_seconds).max().map(Duration::from_secs);
    EngineError::HuntFailed {
        count: statuses.len(),
        all_throttled,
        retry_after: if all_throttled { retry_after } else { None },
        tenants: json!(statuses),
    }
}

fn outcome_label(e: &EngineError) -> &'static str {
    if matches!(e, EngineError::Throttled { .. }) { "Throttled" } else { crate::status::FAILED }
}

/// Union of the tenants' columns behind a leading `TenantId`, every row labelled with its tenant.
fn merge(parts: &[TenantPart]) -> (Vec<Column>, Vec<Map<String, Value>>, bool) {
    let mut schema = vec![Column { name: "TenantId".into(), kind: "String".into() }];
    let mut rows = Vec::new();
    let mut truncated = false;
    for part in parts {
        let Ok(answer) = &part.result else { continue };
        for column in &answer.schema {
            if !schema.iter().any(|c| c.name == column.name) {
                schema.push(column.clone());
            }
        }
        for row in &answer.rows {
            if rows.len() == MAX_MERGED_ROWS {
                truncated = true;
                break;
            }
            let mut labelled = Map::with_capacity(row.len() + 1);
            labelled.insert("TenantId".into(), Value::String(part.tenant.clone()));
            for (k, v) in row {
                if k != "TenantId" {
                    labelled.insert(k.clone(), v.clone());
                }
            }
            rows.push(labelled);
        }
    }
    (schema, rows, truncated)
}

/// `{Schema, Results}` (MDE) or `{schema, results}` (Graph); schema entries `Name/Type` or
/// `name/type` (Microsoft's own examples use both).
fn read_answer(body: &Value) -> Option<Answer> {
    let schema = member(body, "schema")?.as_array()?;
    let results = member(body, "results")?.as_array()?;
    let schema = schema
        .iter()
        .filter_map(|c| {
            Some(Column {
                name: member(c, "name")?.as_str()?.to_string(),
                kind: member(c, "type").and_then(Value::as_str).unwrap_or("Dynamic").to_string(),
            })
        })
        .collect();
    let rows = results.iter().filter_map(|r| r.as_object().cloned()).collect();
    Some(Answer { schema, rows })
}

/// An object member by case-insensitive name.
fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// `tenants`: absent or `"all"` = all; `"a,b"` or `["a", "b"]` = those.
pub fn parse_tenants(value: Option<&Value>) -> Result<TenantChoice, EngineError> {
    let hint = "send \"tenants\": [\"<tenant id>\", ...] or \"all\"";
    let names: Vec<String> = match value {
        None | Some(Value::Null) => return Ok(TenantChoice::All),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("all") => return Ok(TenantChoice::All),
        Some(Value::String(s)) => s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                other => Err(param_error("tenants", format!("every entry must be a tenant id, got {other}"), hint)),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(param_error(
                "tenants",
                format!("must be an array of tenant ids or \"all\", got {other}"),
                hint,
            ));
        }
    };
    if names.is_empty() {
        return Err(param_error("tenants", "names no tenant", hint));
    }
    if names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
        return Err(param_error("tenants", "\"all\" cannot be combined with tenant ids", "send \"all\" on its own"));
    }
    Ok(TenantChoice::Named(names))
}

/// The fields a hunt takes (any case). Anything else is refused rather than ignored: a typo
/// like `"tenant"` must not silently widen a hunt to every tenant.
const HUNT_FIELDS: &[&str] =
    &["query", "kql", "saved", "savedQuery", "queryName", "version", "tenants", "timespan", "source", "from", "to"];

fn refuse_unknown_fields(body: &Map<String, Value>) -> Result<(), EngineError> {
    if let Some(unknown) = body.keys().find(|k| !HUNT_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k))) {
        return Err(param_error(
            unknown,
            "is not a field of a hunt",
            format!("a hunt takes {}", HUNT_FIELDS.join(", ")),
        ));
    }
    // Text fields must be text: a number where the query goes is a mistake, not "no query".
    for (key, value) in body {
        let text_field = ["query", "kql", "saved", "savedQuery", "queryName", "timespan"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(key));
        if text_field && !matches!(value, Value::String(_) | Value::Null) {
            return Err(param_error(key, format!("must be a string, got {value}"), "send it as a JSON string"));
        }
    }
    Ok(())
}

fn authorize_hunt(principal: &Principal, plan: &HuntPlan) -> Result<(), EngineError> {
    if principal.role.allows(plan.spec.risk) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(format!(
            "key '{}' has role '{}', which may not hunt",
            principal.name,
            principal.role.as_str()
        )))
    }
}

/// Graph validates the interval itself; this only stops what cannot be ISO 8601 at all
/// (`start/end`, `duration/end`, `start/duration`, `duration` or `start`).
fn check_timespan(t: &str) -> Result<(), EngineError> {
    let ok = t.len() <= 100
        && t.starts_with(|c: char| c == 'P' || c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '+' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(param_error(
            "timespan",
            format!("'{}' is not an ISO 8601 duration or interval", t.chars().take(60).collect::<String>()),
            "e.g. P7D, or 2026-11-01T00:00:00Z/2026-11-08T00:00:00Z",
        ))
    }
}

fn version_field(body: &Map<String, Value>) -> Result<Option<i64>, EngineError> {
    let Some((_, v)) = body.iter().find(|(k, _)| k.eq_ignore_ascii_case("version")) else { return Ok(None) };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_i64().is_some_and(|n| n >= 1) => Ok(n.as_i64()),
        Value::String(s) if s.trim().parse::<i64>().is_ok_and(|n| n >= 1) => Ok(s.trim().parse().ok()),
        other => Err(param_error(
            "version",
            format!("must be a version number (1, 2, ...), got {other}"),
            "omit it to run the latest version",
        )),
    }
}

/// A non-blank string member under any of `names` (case-insensitive).
fn field_present(body: &Map<String, Value>, name: &str) -> bool {
    body.iter().any(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_null())
}

fn field<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    body.iter()
        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.trim().is_empty())
}

pub(crate) fn param_error(field: &str, message: impl Into<String>, hint: impl Into<String>) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.into(), message: message.into(), hint: hint.into() })
}

impl Engine {
    /// The saved query a name means (built-ins first), or a 400 naming it.
    pub(crate) async fn find_saved_query(&self, name: &str) -> Result<SavedQuery, EngineError> {
        self.saved_query(name).await?.map(|v| v.query).ok_or_else(|| {
            param_error("saved", format!("no saved query named '{name}'"), "GET /v1/queries lists the saved queries")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(tenant: &str, result: Result<Answer, EngineError>) -> TenantPart {
        TenantPart { tenant: tenant.into(), duration: Duration::from_millis(3), result, request_id: None }
    }

    fn answer(body: Value) -> Answer {
        read_answer(&body).expect("an answer")
    }

    #[test]
    fn both_answer_shapes_are_read() {
        let mde = answer(json!({"Schema": [{"Name": "A", "Type": "String"}], "Results": [{"A": "x"}]}));
        let graph = answer(json!({"schema": [{"name": "A", "type": "String"}], "results": [{"A": "y"}, {"A": "z"}]}));
        assert_eq!(mde.schema, graph.schema);
        assert_eq!((mde.rows.len(), graph.rows.len()), (1, 2));
        assert!(read_answer(&json!({"value": []})).is_none());
    }

    #[test]
    fn merge_labels_rows_and_unions_columns_in_first_seen_order() {
        let parts = vec![
            part("t1", Ok(answer(json!({"Schema": [{"Name": "A", "Type": "String"}], "Results": [{"A": 1}]})))),
            part("t2", Err(EngineError::Throttled { retry_after: Some(Duration::from_secs(30)) })),
            part(
                "t3",
                Ok(answer(
                    json!({"Schema": [{"Name": "B", "Type": "Int"}, {"Name": "A", "Type": "String"}], "Results": [{"A": 2, "B": 3}]}),
                )),
            ),
        ];
        let (schema, rows, truncated) = merge(&parts);
        let names: Vec<&str> = schema.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["TenantId", "A", "B"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["TenantId"], "t1");
        assert_eq!(rows[1]["TenantId"], "t3");
        assert_eq!(rows[1]["B"], 3);
        assert!(!truncated);
        let statuses: Vec<_> = parts.iter().map(tenant_status).collect();
        assert_eq!(statuses[1].status, THROTTLED);
        assert_eq!(statuses[1].retry_after_seconds, Some(30));
        assert_eq!(statuses[2].row_count, 1);
    }

    #[test]
    fn a_query_rejected_everywhere_is_the_error_but_a_bad_day_is_not() {
        let rejected = || {
            Err(EngineError::UpstreamRejected {
                status: 400,
                code: "BadRequest".into(),
                message: "Syntax error".into(),
                request_id: None,
            })
        };
        let err = Strictness::QueryErrorsOnly.error_of(vec![part("a", rejected()), part("b", rejected())]);
        assert!(matches!(err, Some(EngineError::UpstreamRejected { .. })));
        let mixed = vec![part("a", rejected()), part("b", Err(EngineError::Throttled { retry_after: None }))];
        assert!(Strictness::QueryErrorsOnly.error_of(mixed).is_none());
        let one_ok = vec![part("a", Ok(answer(json!({"Schema": [], "Results": []})))), part("b", rejected())];
        assert!(Strictness::QueryErrorsOnly.error_of(one_ok).is_none());
        let throttled = vec![part("a", Err(EngineError::Throttled { retry_after: None }))];
        assert!(matches!(Strictness::AnyFailure.error_of(throttled), Some(EngineError::Throttled { .. })));
    }

    #[test]
    fn tenants_field_forms() {
        assert_eq!(parse_tenants(None).unwrap(), TenantChoice::All);
        assert_eq!(parse_tenants(Some(&json!("ALL"))).unwrap(), TenantChoice::All);
        assert_eq!(parse_tenants(Some(&json!("a, b"))).unwrap(), TenantChoice::Named(vec!["a".into(), "b".into()]));
        assert_eq!(parse_tenants(Some(&json!(["a"]))).unwrap(), TenantChoice::Named(vec!["a".into()]));
        for bad in [json!([]), json!(""), json!(3), json!([1]), json!(["all", "a"]), json!({})] {
            match parse_tenants(Some(&bad)) {
                Err(EngineError::InvalidParam(p)) => assert_eq!(p.field, "tenants", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    /// Both hunting actions draw from the hunting budget (45/min per tenant), not MDE's 100/min,
    /// and send the body keys Microsoft documents.
    #[test]
    fn hunting_requests_use_the_hunting_budget_and_microsofts_body() {
        let catalog = catalog::Catalog::global();
        let mut params = Params::new();
        params.insert("query", json!("DeviceInfo | take 1"));
        for (name, path) in [(MDE_ACTION, "/api/advancedqueries/run"), (GRAPH_ACTION, "/v1.0/security/runHuntingQuery")]
        {
            let spec = catalog.get(Product::Mde, name).unwrap();
            let Plan::Call(call) = spec.plan else { panic!("{name} is a call") };
            let req = plan::request(&call, &params, None).unwrap();
            assert_eq!(req.group, upstream::Budget::Hunting, "{name}");
            assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", path));
            assert_eq!(req.body, Some(json!({ "Query": "DeviceInfo | take 1" })), "{name}: Timespan only when given");
        }
        params.insert("timespan", json!("P7D"));
        let spec = catalog.get(Product::Mde, GRAPH_ACTION).unwrap();
        let Plan::Call(call) = spec.plan else { panic!() };
        assert_eq!(
            plan::request(&call, &params, None).unwrap().body,
            Some(json!({ "Query": "DeviceInfo | take 1", "Timespan": "P7D" }))
        );
    }

    #[test]
    fn timespans_that_cannot_be_iso_8601_are_refused() {
        for ok in ["P7D", "PT1H", "2026-11-01T00:00:00Z/2026-11-08T00:00:00Z", "P1D/2026-11-08T00:00:00Z"] {
            assert!(check_timespan(ok).is_ok(), "{ok}");
        }
        for bad in ["7 days", "", "yesterday", "P7D; drop"] {
            assert!(check_timespan(bad).is_err(), "{bad}");
        }
    }
}
