//! Saved hunting queries and the hunting history, kept in Riposte.
//!
//! The seed had `SaveQuery` (an echo that stored nothing) and `GetQueryHistory` (a placeholder);
//! here both are real. A saved query is versioned: saving an existing name adds a version, and
//! any version can be run. Seed 004's three container-hunting queries (attacker pod, victim pod,
//! their correlation) ship as read-only built-ins at version 1.
//!
//! The history answers "who ran what, when, where, and how did it go": every hunt through
//! Riposte (`POST /v1/hunt`, saved-query runs) is a run with per-tenant status and row counts,
//! and the plain `RunAdvancedHuntingQuery` / `RunHuntingQuery` actions appear from their
//! operation records. Result rows are never kept.

use crate::hunt::param_error;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, answer, optional, required};
use crate::{Engine, EngineError, Principal};
use catalog::{Params, ProcedureId};
use serde::Serialize;
use serde_json::{Value, json};
use store::{NewAuditEvent, NewSavedQuery, Operation, OperationFilter, QueryRunFilter, SavedQuery, SavedQueryVersion};
use time::OffsetDateTime;

/// Longest saved-query name.
const MAX_NAME_CHARS: usize = 128;
/// The hunting actions whose operations count as runs in the history.
const PASSTHROUGH_ACTIONS: &[&str] = &["RunAdvancedHuntingQuery", "RunHuntingQuery"];

/// `SaveQuery`: keep a query under a name; an existing name gets a new version.
pub struct SaveQuery {
    name: String,
    query: String,
    description: Option<String>,
}

impl TryFrom<&Params> for SaveQuery {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(SaveQuery {
            name: args.text("queryName")?,
            query: args.text("query")?,
            description: args.opt_text("description")?,
        })
    }
}

impl Procedure for SaveQuery {
    const ID: ProcedureId = ProcedureId("mde.hunting.save_query");
    const READS: &'static [Read] = &[required("queryName"), required("query"), optional("description")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let saved = ctx.engine.save_query(ctx.principal, &self.name, &self.query, self.description).await?;
        Ok(answer(json!(saved)))
    }
}

/// `ListSavedQueries`: built-ins and stored queries, the latest version of each.
pub struct ListSavedQueries;

impl TryFrom<&Params> for ListSavedQueries {
    type Error = EngineError;
    fn try_from(_: &Params) -> Result<Self, EngineError> {
        Ok(ListSavedQueries)
    }
}

impl Procedure for ListSavedQueries {
    const ID: ProcedureId = ProcedureId("mde.hunting.list_saved_queries");
    const READS: &'static [Read] = &[];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let all = ctx.engine.saved_queries().await?;
        Ok(answer(
            json!({ "count": all.len(), "queries": all.iter().map(SavedQueryView::summary).collect::<Vec<_>>() }),
        ))
    }
}

/// `GetSavedQuery`: one saved query with every version.
pub struct GetSavedQuery {
    name: String,
}

impl TryFrom<&Params> for GetSavedQuery {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(GetSavedQuery { name: Args::of::<Self>(params).text("queryName")? })
    }
}

impl Procedure for GetSavedQuery {
    const ID: ProcedureId = ProcedureId("mde.hunting.get_saved_query");
    const READS: &'static [Read] = &[required("queryName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let found = ctx.engine.saved_query(&self.name).await?.ok_or_else(|| unknown_query(&self.name))?;
        Ok(answer(json!(found)))
    }
}

/// `RunSavedQuery`: run the latest (or a given) version against the caller's tenant.
pub struct RunSavedQuery {
    name: String,
    version: Option<i64>,
}

impl TryFrom<&Params> for RunSavedQuery {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RunSavedQuery { name: args.text("queryName")?, version: args.opt_i64("version")? })
    }
}

impl Procedure for RunSavedQuery {
    const ID: ProcedureId = ProcedureId("mde.hunting.run_saved_query");
    const READS: &'static [Read] = &[required("queryName"), optional("version")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let engine = ctx.engine;
        let saved = engine.find_saved_query(&self.name).await?;
        let chosen = saved.version(self.version).ok_or_else(|| no_such_version(&saved, self.version))?;
        let plan = engine.hunt_plan(chosen.query.clone(), None, Some((saved.name.clone(), chosen.version)))?;
        Ok(engine.hunt_in_tenant(ctx.principal, plan, ctx.tenant).await?.carried())
    }
}

/// `DeleteSavedQuery`: remove a stored query (its versions and runs stay for audit).
pub struct DeleteSavedQuery {
    name: String,
}

impl TryFrom<&Params> for DeleteSavedQuery {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(DeleteSavedQuery { name: Args::of::<Self>(params).text("queryName")? })
    }
}

impl Procedure for DeleteSavedQuery {
    const ID: ProcedureId = ProcedureId("mde.hunting.delete_saved_query");
    const READS: &'static [Read] = &[required("queryName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        if !ctx.engine.delete_saved_query(ctx.principal, &self.name).await? {
            return Err(unknown_query(&self.name));
        }
        Ok(answer(json!({ "deleted": self.name })))
    }
}

/// `GetQueryHistory`: the tenant's hunting runs the caller may see, newest first.
pub struct QueryHistory {
    query_name: Option<String>,
    limit: Option<i64>,
}

impl TryFrom<&Params> for QueryHistory {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(QueryHistory { query_name: args.opt_text("queryName")?, limit: args.opt_i64("limit")? })
    }
}

impl Procedure for QueryHistory {
    const ID: ProcedureId = ProcedureId("mde.hunting.query_history");
    const READS: &'static [Read] = &[optional("queryName"), optional("limit")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let filter = HistoryFilter {
            query_name: self.query_name,
            tenant: Some(ctx.tenant.to_string()),
            limit: self.limit.unwrap_or(100),
        };
        let runs = ctx.engine.query_history(ctx.principal, filter).await?;
        Ok(answer(json!({ "count": runs.len(), "runs": runs })))
    }
}

/// A saved query as shown: stored or built-in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQueryView {
    /// Built-ins ship with Riposte and are read-only.
    pub builtin: bool,
    #[serde(flatten)]
    pub query: SavedQuery,
}

impl SavedQueryView {
    /// The listing row: the latest version's text, not every version.
    pub fn summary(&self) -> Value {
        let latest = self.query.version(None);
        json!({
            "name": self.query.name,
            "builtin": self.builtin,
            "latest": self.query.latest,
            "query": latest.map(|v| v.query.as_str()),
            "description": latest.and_then(|v| v.description.as_deref()),
            "author": latest.map(|v| v.author.as_str()),
            "updatedAt": fmt_time(self.query.updated_at),
        })
    }
}

/// Which runs to show.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub query_name: Option<String>,
    pub tenant: Option<String>,
    /// 1..=1000; out-of-range values are clamped.
    pub limit: i64,
}

impl Engine {
    /// Every saved query: built-ins first, then the stored ones by name.
    pub async fn saved_queries(&self) -> Result<Vec<SavedQueryView>, EngineError> {
        let mut all: Vec<SavedQueryView> =
            builtins().into_iter().map(|q| SavedQueryView { builtin: true, query: q }).collect();
        for q in self.inner.store.list_saved_queries().await? {
            all.push(SavedQueryView { builtin: false, query: q });
        }
        Ok(all)
    }

    /// One saved query (built-in or stored) with every version; `None` when there is none.
    pub async fn saved_query(&self, name: &str) -> Result<Option<SavedQueryView>, EngineError> {
        if let Some(q) = builtin(name) {
            return Ok(Some(SavedQueryView { builtin: true, query: q }));
        }
        Ok(self.inner.store.saved_query(name).await?.map(|q| SavedQueryView { builtin: false, query: q }))
    }

    /// Save a query under a name; an existing name gets a new version. Audited.
    pub async fn save_query(
        &self,
        who: &Principal,
        name: &str,
        query: &str,
        description: Option<String>,
    ) -> Result<SavedQueryView, EngineError> {
        let name = check_name(name)?;
        if builtin(&name).is_some() {
            return Err(param_error(
                "queryName",
                format!("'{name}' is a built-in query and read-only"),
                "save your variant under another name",
            ));
        }
        // The same checks as the query of a hunt (required, bounded), so what is saved can run.
        let query = self.hunt_plan(query.to_string(), None, None)?.query;
        let query = query.as_str();
        let description = description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
        let saved = self
            .inner
            .store
            .save_query(NewSavedQuery {
                name: name.clone(),
                query: query.to_string(),
                description,
                author: who.name.clone(),
            })
            .await?;
        self.audit_saved_query(
            who,
            "query_saved",
            &saved.name,
            json!({ "name": saved.name, "version": saved.latest, "query": query }),
        )
        .await?;
        Ok(SavedQueryView { builtin: false, query: saved })
    }

    /// Delete a stored query (its versions and runs stay for audit); `false` when there is none.
    pub async fn delete_saved_query(&self, who: &Principal, name: &str) -> Result<bool, EngineError> {
        // The action's risk class decides, on every surface alike.
        let risk = self.resolve(Some(catalog::Product::Mde), "DeleteSavedQuery")?.risk;
        if !who.role.allows(risk) {
            return Err(EngineError::Forbidden(format!(
                "key '{}' has role '{}', which may not delete saved queries",
                who.name,
                who.role.as_str()
            )));
        }
        if builtin(name).is_some() {
            return Err(param_error(
                "queryName",
                format!("'{}' is a built-in query and cannot be deleted", name.trim()),
                "built-ins ship with Riposte",
            ));
        }
        let deleted = self.inner.store.delete_saved_query(name).await?;
        if deleted {
            self.audit_saved_query(who, "query_deleted", name.trim(), json!({ "name": name.trim() })).await?;
        }
        Ok(deleted)
    }

    /// Hunting runs the key may see, newest first: hunts through Riposte (with every tenant's
    /// part) and the plain hunting actions' operations. A scoped key sees only runs whose every
    /// tenant is in its scope.
    pub async fn query_history(&self, who: &Principal, filter: HistoryFilter) -> Result<Vec<Value>, EngineError> {
        let limit = filter.limit.clamp(1, 1000);
        if let Some(t) = &filter.tenant
            && !who.may_access(t)
        {
            return Err(EngineError::Forbidden(format!("key '{}' is not scoped to tenant '{t}'", who.name)));
        }
        let runs = self
            .inner
            .store
            .query_runs(QueryRunFilter {
                query_name: filter.query_name.clone(),
                tenant: filter.tenant.clone(),
                within: (!who.tenants.is_empty()).then(|| who.tenants.clone()),
                limit,
            })
            .await?;
        let mut entries: Vec<(OffsetDateTime, Value)> = runs
            .into_iter()
            .map(|r| {
                let mut v = json!(r);
                v["source"] = json!("hunt");
                (r.started_at, v)
            })
            .collect();
        if filter.query_name.is_none() {
            for action in PASSTHROUGH_ACTIONS {
                let ops = self
                    .inner
                    .store
                    .list_operations(OperationFilter {
                        tenant: filter.tenant.as_deref().map(store::TenantId::new),
                        action: Some(action.to_string()),
                        limit,
                        ..Default::default()
                    })
                    .await?;
                entries.extend(
                    ops.into_iter()
                        .filter(|op| who.may_access(&op.tenant))
                        .map(|op| (op.created_at, operation_entry(&op))),
                );
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.0));
        Ok(entries.into_iter().take(limit as usize).map(|(_, v)| v).collect())
    }

    async fn audit_saved_query(
        &self,
        who: &Principal,
        kind: &str,
        name: &str,
        params: Value,
    ) -> Result<(), EngineError> {
        self.inner
            .store
            .append_audit(NewAuditEvent {
                operation_id: None,
                kind: kind.into(),
                principal: who.name.clone(),
                tenant: None,
                product: Some("MDE".into()),
                action: Some(format!("{kind}:{name}")),
                params,
                outcome: Some(crate::status::SUCCEEDED.into()),
                upstream_request_ids: vec![],
                duration_ms: None,
                detail: json!({ "role": who.role.as_str() }),
            })
            .await?;
        Ok(())
    }
}

/// A plain hunting action's operation, as a history entry shaped like a run.
fn operation_entry(op: &Operation) -> Value {
    let rows = op.result.as_ref().and_then(|r| r.as_object()).and_then(|r| {
        r.iter().find(|(k, _)| k.eq_ignore_ascii_case("results")).and_then(|(_, v)| v.as_array()).map(Vec::len)
    });
    let status = match op.status.as_str() {
        crate::status::SUCCEEDED => "succeeded",
        _ if op.error.as_ref().is_some_and(|e| e["code"] == "Throttled") => "throttled",
        _ => "failed",
    };
    let duration_ms = (op.updated_at - op.created_at).whole_milliseconds().max(0) as i64;
    json!({
        "id": op.id,
        "source": "action",
        "action": op.action,
        "queryName": null,
        "queryVersion": null,
        "query": op.params.get("query"),
        "principal": op.principal,
        "status": status,
        "rowCount": rows.unwrap_or(0),
        "durationMs": duration_ms,
        "startedAt": fmt_time(op.created_at),
        "tenants": [{ "tenant": op.tenant, "status": status, "rowCount": rows.unwrap_or(0), "durationMs": duration_ms, "error": op.error }],
    })
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Names are what people type and what URLs carry: letters, digits, space, `-`, `_`, `.`.
fn check_name(name: &str) -> Result<String, EngineError> {
    let name = name.trim();
    let hint = "letters, digits, spaces, '-', '_' and '.', at most 128 characters, e.g. \"lateral-movement\"";
    if name.is_empty() {
        return Err(param_error("queryName", "is required", hint));
    }
    if name.chars().count() > MAX_NAME_CHARS
        || !name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
    {
        return Err(param_error(
            "queryName",
            format!("'{}' is not a valid query name", name.chars().take(60).collect::<String>()),
            hint,
        ));
    }
    Ok(name.to_string())
}

fn unknown_query(name: &str) -> EngineError {
    param_error(
        "queryName",
        format!("no saved query named '{name}'"),
        "ListSavedQueries (or GET /v1/queries) lists them",
    )
}

fn no_such_version(saved: &SavedQuery, version: Option<i64>) -> EngineError {
    param_error(
        "version",
        format!("'{}' has no version {}", saved.name, version.unwrap_or(saved.latest)),
        format!("versions 1 to {} exist", saved.latest),
    )
}

// --- Built-ins: seed 004's container hunting queries (Defender for Cloud attack simulation) -----

/// (name, description, KQL), verbatim from the seed.
const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "mdc-simulation-attacker",
        "Seed 004, query 1: every command the attacker pod ran in the mdc-simulation namespace \
         (curl to the webshell, nmap, xmrig, cmd= injection, .git-credentials access)",
        r#"CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "attacker"
| where ProcessCommandLine has_any ("curl", "nmap", "xmrig", "cmd=", ".git-credentials")
| project Timestamp, ProcessName, ProcessCommandLine, KubernetesNamespace, KubernetesPodName, AccountName
| order by Timestamp desc
"#,
    ),
    (
        "mdc-simulation-victim",
        "Seed 004, query 2: suspicious activity in the victim pod: processes spawned by php-fpm \
         (the webshell), secrets and preload file access, file modifications",
        r#"CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "victim"
| where ParentProcessName == "php-fpm"
   or ProcessCommandLine has_any ("cmd=", ".git-credentials", "nmap", "xmrig", "curl", "sudo", "chmod", "setcap")
   or FileName has_any ("/var/run/secrets/kubernetes.io/serviceaccount/token", "/etc/ld.so.preload")
   or ActionType == "FileModified"
| project Timestamp, ProcessName, ProcessCommandLine, ParentProcessName, FileName, FolderPath, KubernetesNamespace, KubernetesPodName, AccountName
| order by Timestamp desc
"#,
    ),
    (
        "mdc-simulation-correlation",
        "Seed 004, query 3: attacker curl requests to the webshell joined with the php-fpm \
         processes they caused in the victim pod",
        r#"let AttackerActions = CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "attacker"
| where ProcessCommandLine has "curl" and ProcessCommandLine has "ws.php"
| project AttackerTimestamp = Timestamp, AttackerCommandLine = ProcessCommandLine, TargetURL = extract("http[s]?://([^/]+)", 1, ProcessCommandLine), KubernetesNamespace, KubernetesPodName;

let VictimObservations = CloudProcessEvents
| where KubernetesNamespace == "mdc-simulation" and KubernetesPodName contains "victim"
| where ParentProcessName == "php-fpm"
| project VictimTimestamp = Timestamp, VictimCommandLine = ProcessCommandLine, VictimPodName = KubernetesPodName, VictimParentProcess = ParentProcessName, KubernetesNamespace;

AttackerActions
| join kind=inner (VictimObservations) on KubernetesNamespace
| where TargetURL contains VictimPodName
| order by AttackerTimestamp desc
"#,
    ),
];

/// When the built-ins were published (the seed lab's queries, taken into Riposte 0.1).
const BUILTIN_DATE: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00:00 UTC);

/// The built-in queries, each at version 1.
pub fn builtins() -> Vec<SavedQuery> {
    BUILTINS
        .iter()
        .map(|(name, description, query)| SavedQuery {
            name: name.to_string(),
            latest: 1,
            created_at: BUILTIN_DATE,
            updated_at: BUILTIN_DATE,
            versions: vec![SavedQueryVersion {
                version: 1,
                query: query.to_string(),
                description: Some(description.to_string()),
                author: "riposte (seed 004)".into(),
                created_at: BUILTIN_DATE,
            }],
        })
        .collect()
}

fn builtin(name: &str) -> Option<SavedQuery> {
    builtins().into_iter().find(|q| q.name.eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_seed_004s_three_queries_at_version_1() {
        let all = builtins();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|q| q.latest == 1 && q.versions.len() == 1));
        assert!(all[0].versions[0].query.contains(r#"KubernetesPodName contains "attacker""#));
        assert!(all[2].versions[0].query.contains("join kind=inner (VictimObservations) on KubernetesNamespace"));
        assert!(builtin("MDC-Simulation-Victim").is_some());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  lateral movement-1.v2 ").unwrap(), "lateral movement-1.v2");
        for bad in ["", "a/b", "x;y", &"n".repeat(129)] {
            assert!(matches!(check_name(bad), Err(EngineError::InvalidParam(p)) if p.field == "queryName"), "{bad}");
        }
    }
}
