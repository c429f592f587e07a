//! A hunt over the archive (`"source": "archive"`): the same KQL over the Parquet files the
//! archive keeps (`crates/archive`), for any period, not Defender's 30 days.
//!
//! The story is the hunt's (module above): the same query or saved query, the same tenant
//! choice and scope, the same role, an `attempt` and `outcome` audit record per tenant and the
//! run in the query history. What differs: a time range is required (`from`, optional `to`,
//! default now; `timespan` belongs to Defender's API and is refused here), the query is
//! checked once against the archived tables before anything is recorded (a bad query or an
//! unarchived table is a 400 naming `query`), each tenant's rows come from the archive instead
//! of Microsoft, and the answer carries `statistics`: partitions, files and row groups read,
//! the columns decoded and the predicates pushed into the scan.

use std::time::{Duration, Instant};

use archive::hunt::database::{QueryError, RunOptions};
use archive::hunt::table::{Table, value_to_json};
use archive::hunt::value::Type;
use archive::{ArchiveError, ArchiveHunt, ScanStats};
use serde_json::{Map, Value, json};

use super::{
    Answer, Column, HuntOutcome, MAX_MERGED_ROWS, Run, Strictness, TenantPart, authorize_hunt, field, param_error,
    parse_tenants,
};
use crate::{Engine, EngineError, Principal};

/// The `source` of a hunt that reads the archive.
pub const ARCHIVE: &str = "archive";
/// What an archive hunt reports as its action (no Microsoft API answers it).
const ACTION: &str = "ArchiveHunt";
/// How long one tenant's archive query may run (advanced hunting allows about 3 minutes).
const QUERY_DEADLINE: Duration = Duration::from_secs(180);

/// True when the body asks for the archive; an unknown source is a 400.
pub(super) fn wants_archive(body: &Map<String, Value>) -> Result<bool, EngineError> {
    match body.iter().find(|(k, _)| k.eq_ignore_ascii_case("source")).map(|(_, v)| v) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s.eq_ignore_ascii_case(ARCHIVE) => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("advancedHunting") => Ok(false),
        Some(other) => Err(param_error(
            "source",
            format!("'{}' is not a hunting source", other.as_str().unwrap_or(&other.to_string())),
            "\"advancedHunting\" (default: Defender's API, 30 days) or \"archive\" (with from/to)",
        )),
    }
}

impl Engine {
    /// Installs the hunting archive; once. Without one, `"source": "archive"` is a 400 that
    /// says how to configure it.
    pub fn set_archive(&self, archive: archive::Archive) -> bool {
        self.inner.archive.set(archive).is_ok()
    }

    pub fn archive(&self) -> Option<&archive::Archive> {
        self.inner.archive.get()
    }

    /// `POST /v1/hunt` with `"source": "archive"`.
    pub(super) async fn hunt_archive(
        &self,
        principal: &Principal,
        body: &Map<String, Value>,
    ) -> Result<HuntOutcome, EngineError> {
        let archive = self.archive().ok_or_else(|| {
            param_error(
                "source",
                "this gateway keeps no archive",
                "configure [archive] (tables, retention) and run the stream consumer (riposte serve / up)",
            )
        })?;
        if field(body, &["timespan"]).is_some() {
            return Err(param_error("timespan", "is Defender's time range", "an archive hunt takes from and to"));
        }
        let (from, to) = time_range(body)?;
        let plan = self.plan_hunt(body).await?;
        let tenants_field = body.iter().find(|(k, _)| k.eq_ignore_ascii_case("tenants")).map(|(_, v)| v);
        let tenants = self.tenants_to_hunt(principal, &parse_tenants(tenants_field)?)?;
        authorize_hunt(principal, &plan)?;
        let hunt = ArchiveHunt {
            query: plan.query.clone(),
            from,
            to,
            options: RunOptions { now: Some(now_ticks()), ..RunOptions::default() },
        };
        archive::reader::analyze(archive, &hunt).map_err(engine_error)?;
        let run = Run::start(principal, plan, tenants);
        self.audit_attempts(&run).await?;
        let mut parts = Vec::with_capacity(run.tenants.len());
        let mut per_tenant = Map::new();
        let mut total = ScanStats::default();
        for tenant in &run.tenants {
            let started = Instant::now();
            let mut hunt = hunt.clone();
            hunt.options.deadline = Some(started + QUERY_DEADLINE);
            let result = match archive.hunt(tenant, &hunt).await {
                Ok((table, stats)) => {
                    total.add(&stats);
                    per_tenant.insert(tenant.clone(), json!(stats));
                    Ok(answer(&table))
                }
                Err(e) => Err(engine_error(e)),
            };
            parts.push(TenantPart { tenant: tenant.clone(), duration: started.elapsed(), result, request_id: None });
        }
        self.audit_outcomes(&run, &parts).await?;
        let mut outcome = self.finish_run(run, parts, Strictness::QueryErrorsOnly).await?;
        outcome.action = ACTION;
        let mut statistics = json!({ "source": ARCHIVE, "from": text(from), "to": text(to) });
        if let (Value::Object(s), Value::Object(t)) = (&mut statistics, json!(total)) {
            s.extend(t);
            s.insert("tenants".into(), Value::Object(per_tenant));
        }
        outcome.statistics = Some(statistics);
        Ok(outcome)
    }
}

/// `from` (required) and `to` (default now), ISO 8601 datetimes, as ticks.
fn time_range(body: &Map<String, Value>) -> Result<(i64, i64), EngineError> {
    let parse = |name: &str| -> Result<Option<i64>, EngineError> {
        match body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => archive::hunt::value::parse_datetime(s.trim()).map(Some).ok_or_else(|| {
                param_error(name, format!("'{s}' is not a datetime"), "an ISO 8601 datetime, e.g. 2026-09-01T00:00:00Z")
            }),
            Some(other) => {
                Err(param_error(name, format!("must be a string, got {other}"), "e.g. \"2026-09-01T00:00:00Z\""))
            }
        }
    };
    let from = parse("from")?.ok_or_else(|| {
        param_error("from", "is required for an archive hunt", "send \"from\": \"2026-09-01T00:00:00Z\" (and \"to\")")
    })?;
    let to = parse("to")?.unwrap_or_else(now_ticks);
    if from > to {
        return Err(param_error("from", "is after to", "give from <= to"));
    }
    Ok((from, to))
}

fn engine_error(e: ArchiveError) -> EngineError {
    match e {
        ArchiveError::Invalid { field, message, hint } => param_error(&field, message, hint),
        ArchiveError::Query(QueryError::Timeout) => EngineError::UpstreamTimeout,
        ArchiveError::Query(q) => param_error(
            "query",
            q.to_string(),
            "the archive runs the same KQL as advanced hunting over the archived tables' columns",
        ),
        other => EngineError::Internal(other.to_string()),
    }
}

/// A result table as a hunting answer (at most what a merge can return).
fn answer(table: &Table) -> Answer {
    let schema = table.columns.iter().map(|c| Column { name: c.name.clone(), kind: api_type(c.ty).into() }).collect();
    let rows = (0..table.num_rows().min(MAX_MERGED_ROWS + 1))
        .map(|i| table.columns.iter().map(|c| (c.name.clone(), value_to_json(&c.get(i)))).collect())
        .collect();
    Answer { schema, rows }
}

/// Result column types as advanced hunting names them (.NET names, as the sandbox answers).
fn api_type(t: Type) -> &'static str {
    match t {
        Type::Bool => "Boolean",
        Type::Int => "Int32",
        Type::Long => "Int64",
        Type::Real => "Double",
        Type::Decimal => "Decimal",
        Type::String => "String",
        Type::DateTime => "DateTime",
        Type::TimeSpan => "TimeSpan",
        Type::Guid => "Guid",
        Type::Dynamic => "Object",
    }
}

fn now_ticks() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    archive::hunt::value::UNIX_EPOCH_TICKS + (now.unix_timestamp_nanos() / 100) as i64
}

fn text(t: i64) -> String {
    archive::hunt::value::Value::DateTime(t).to_kusto_string()
}
