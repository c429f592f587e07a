//! Advanced hunting (upstream-apis.md §2.9, §3, §4.5): KQL over per-tenant event tables.
//!
//! | Method | Path | Token audience | App permission | Answer |
//! |---|---|---|---|---|
//! | POST | `/api/advancedqueries/run` | Defender for Endpoint | `AdvancedQuery.Read.All` | `{"Schema":[{"Name","Type"}],"Results":[..]}` |
//! | POST | `/api/advancedhunting/run` | Defender for Endpoint / XDR | `AdvancedHunting.Read.All` or `AdvancedQuery.Read.All` | the same plus `Stats` |
//! | POST | `/v1.0/security/runHuntingQuery`, `/beta/...` | Graph | `ThreatHunting.Read.All` | `{"@odata.context","schema":[{"name","type"}],"results":[..]}` |
//!
//! Queries run through the `hunt` crate against tables generated once per tenant (lazily, on
//! the first query; see [`tables`]) from the seeded world, with `now()` = the sandbox clock.
//! Microsoft's limits apply: 45 calls/min and 1,500/h per tenant (shared by the three paths),
//! 100,000 rows per result, a per-query timeout (200 s), 124 MB per result; all but the
//! result size are settings (`/_sandbox/settings`).

mod alerts;
mod device;
mod email;
pub(crate) mod history;
mod identity;
pub(crate) mod scenario;
mod synth;
mod tables;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::post;
use hunt::database::{Database, QueryError, RunOptions};
use hunt::eval::EvalError;
use hunt::table::{Table, value_to_json};
use hunt::value::Type;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::auth::{self, Api, Caller};
use crate::errors::{self, json_response};
use crate::limits::Limiter;
use crate::state::AppState;

pub use tables::ticks;

/// Documented maximum size of one result (§2.9): larger results are refused with 400.
const MAX_RESULT_BYTES: usize = 124 * 1024 * 1024;
/// Cap on rows any intermediate step may produce, so a runaway join or `range` fails with a
/// clear error instead of exhausting memory.
const MAX_INTERMEDIATE_ROWS: usize = 5_000_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/advancedqueries/run", post(mde_run))
        .route("/api/advancedhunting/run", post(xdr_run))
        .route("/v1.0/security/runHuntingQuery", post(graph_run))
        .route("/beta/security/runHuntingQuery", post(graph_run))
}

/// Advanced hunting's documented limits (§2.9), adjustable through `/_sandbox/settings`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HuntingSettings {
    /// Calls per minute per tenant (documented: 45).
    pub hunting_per_minute: u32,
    /// Calls per hour per tenant (documented: 1,500).
    pub hunting_per_hour: u32,
    /// Seconds a query may run (documented: 200 s for MDE; XDR and Graph say 3 minutes).
    pub hunting_timeout_seconds: u64,
    /// Rows returned at most per query (documented: 100,000).
    pub hunting_max_rows: usize,
}

impl Default for HuntingSettings {
    fn default() -> Self {
        HuntingSettings {
            hunting_per_minute: 45,
            hunting_per_hour: 1500,
            hunting_timeout_seconds: 200,
            hunting_max_rows: 100_000,
        }
    }
}

/// Per-tenant hunting state: the generated tables and the hunting call quota.
#[derive(Default)]
pub struct Hunting {
    /// tenant id (lower case) -> tables, generated at most once even under concurrent calls.
    dbs: Mutex<HashMap<String, Arc<OnceLock<Arc<Database>>>>>,
    limiter: Mutex<Limiter>,
}

impl Hunting {
    /// Forgets generated tables (they are rebuilt from the reset world) and quota windows.
    pub fn reset(&self) {
        self.dbs.lock().clear();
        self.limiter.lock().reset();
    }
}

/// The tenant's tables, generating them on first use. Blocking: call off the async runtime.
fn database(state: &AppState, tenant_id: &str) -> Arc<Database> {
    let cell = state.hunting.dbs.lock().entry(tenant_id.to_ascii_lowercase()).or_default().clone();
    cell.get_or_init(|| {
        let snapshot = {
            let world = state.world.lock();
            world.tenant(tenant_id).map(|t| synth::Snapshot::of(t, state.cfg.seed, state.clock.now()))
        };
        Arc::new(match snapshot {
            Some(s) => tables::generate(&s),
            None => Database::new(),
        })
    })
    .clone()
}

/// Which API a request came through; decides token audience, role, error and body shapes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// Defender for Endpoint (legacy) `api/advancedqueries/run`.
    Mde,
    /// Defender XDR `api/advancedhunting/run` (adds `Stats`).
    Xdr,
    /// Microsoft Graph `security/runHuntingQuery`, v1.0 or beta.
    Graph { beta: bool },
}

impl Surface {
    fn api(self) -> Api {
        match self {
            Surface::Graph { .. } => Api::Graph,
            _ => Api::Mde,
        }
    }

    /// Documented application permissions, any of which allows the call.
    fn roles(self) -> &'static [&'static str] {
        match self {
            Surface::Mde => &["AdvancedQuery.Read.All"],
            // The sandbox serves Defender XDR and Defender for Endpoint as one resource, so an
            // app holding either product's hunting permission may call it.
            Surface::Xdr => &["AdvancedHunting.Read.All", "AdvancedQuery.Read.All"],
            Surface::Graph { .. } => &["ThreatHunting.Read.All"],
        }
    }

    /// A Microsoft-shaped error for this surface.
    fn error(self, status: StatusCode, code: &str, message: String, headers: &HeaderMap) -> Response {
        match self {
            Surface::Graph { .. } => errors::graph(status, code, message, headers),
            _ => errors::mde(status, code, message),
        }
    }
}

async fn mde_run(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    run(state, Surface::Mde, headers, body).await
}

async fn xdr_run(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    run(state, Surface::Xdr, headers, body).await
}

async fn graph_run(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let beta = uri.path().starts_with("/beta/");
    run(state, Surface::Graph { beta }, headers, body).await
}

/// One hunting call: who, how often, what, then the query itself.
async fn run(state: AppState, surface: Surface, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match admit(&state, surface, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let request = match parse_request(surface, &body, ticks(now)) {
        Ok(r) => r,
        Err(msg) => {
            // MDE answers a bad body with `InvalidRequestBody` (§2.2); Graph with `BadRequest`.
            let code = match surface {
                Surface::Graph { .. } => "BadRequest",
                _ => "InvalidRequestBody",
            };
            return surface.error(StatusCode::BAD_REQUEST, code, msg, &headers);
        }
    };
    let (timeout, max_rows) = {
        let s = state.settings.lock();
        (s.hunting.hunting_timeout_seconds, s.hunting.hunting_max_rows)
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(timeout);
    let tenant_id = caller.tenant_id.clone();
    let query = request.query.clone();
    let timespan = request.timespan;
    let worker_state = state.clone();
    let job = tokio::task::spawn_blocking(move || {
        let db = database(&worker_state, &tenant_id);
        // Each run gets its own thread, stack, call depth and heap bound (`hunt::limits`).
        let opts = RunOptions {
            now: Some(ticks(now)),
            max_rows: Some(MAX_INTERMEDIATE_ROWS),
            deadline: Some(deadline),
            max_memory: None,
        };
        match timespan {
            Some((from, to)) => db.restrict_time("Timestamp", from, to).run_with(&query, &opts),
            None => db.run_with(&query, &opts),
        }
    });
    // The evaluator stops itself at the deadline between operators; this bounds the answer
    // even when one operator runs long.
    let outcome = tokio::time::timeout(Duration::from_secs(timeout) + Duration::from_secs(5), job).await;
    let result = match outcome {
        Err(_) => Err(QueryError::Timeout),
        Ok(Err(join)) => {
            tracing::error!("hunting query task failed: {join}");
            return surface.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "The query failed unexpectedly.".into(),
                &headers,
            );
        }
        Ok(Ok(r)) => r,
    };
    match result {
        Ok(table) => respond(&state, surface, table, max_rows, started.elapsed(), &headers),
        Err(e) => query_error(surface, e, timeout, &headers),
    }
}

/// Authenticates, checks the app permission, counts the call and applies the hunting quota
/// (per tenant, per-minute and per-hour sliding windows on real time, as for MDE).
fn admit(state: &AppState, surface: Surface, headers: &HeaderMap) -> Result<Caller, Response> {
    let caller = auth::authenticate(state, headers, surface.api()).map_err(|e| match surface {
        Surface::Graph { .. } => auth::graph_rejection(state, e, headers),
        _ => auth::mde_rejection(state, e),
    })?;
    state.stats.lock().api_call(&caller.tenant_id, surface.api());
    if !caller.has_any_role(surface.roles()) {
        return Err(match surface {
            Surface::Graph { .. } => errors::graph(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
                headers,
            ),
            _ => errors::mde(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("The application does not have the required permission: {}.", surface.roles()[0]),
            ),
        });
    }
    let (per_minute, per_hour) = {
        let s = state.settings.lock();
        (s.hunting.hunting_per_minute, s.hunting.hunting_per_hour)
    };
    let limited = state.hunting.limiter.lock().check(&caller.tenant_id, Instant::now(), per_minute, per_hour);
    if let Err(retry_after) = limited {
        let mut resp = surface.error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Rate limit is exceeded: advanced hunting allows {per_minute} calls per minute and {per_hour} per hour per tenant. Try again in {retry_after} seconds."
            ),
            headers,
        );
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        state.stats.lock().throttled_total += 1;
        *state.stats.lock().throttled.entry(caller.tenant_id.clone()).or_default() += 1;
        return Err(resp);
    }
    Ok(caller)
}

struct HuntRequest {
    query: String,
    /// Graph `Timespan` as an inclusive tick range on `Timestamp`.
    timespan: Option<(i64, i64)>,
}

/// MDE body keys are case-sensitive (`Query`), as documented; Graph reads JSON properties
/// case-insensitively. An empty or missing query is `Missing query.`, the text MDE sends.
fn parse_request(surface: Surface, body: &[u8], now: i64) -> Result<HuntRequest, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("The request body is not valid JSON: {e}."))?;
    let Some(obj) = v.as_object() else {
        return Err("The request body must be a JSON object with a 'Query' property.".into());
    };
    let get = |name: &str| -> Option<&Value> {
        match surface {
            Surface::Graph { .. } => obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v),
            _ => obj.get(name),
        }
    };
    let query = match get("Query") {
        Some(Value::String(q)) if !q.trim().is_empty() => q.clone(),
        Some(Value::String(_)) | None => return Err("Missing query.".into()),
        Some(_) => return Err("'Query' must be a string holding the KQL query.".into()),
    };
    let timespan = match (surface, get("Timespan")) {
        (Surface::Graph { .. }, Some(Value::String(s))) => {
            Some(tables::parse_timespan(s, now).map_err(|e| format!("Invalid 'Timespan' value '{s}': {e}"))?)
        }
        (Surface::Graph { .. }, Some(Value::Null) | None) => None,
        (Surface::Graph { .. }, Some(_)) => {
            return Err("'Timespan' must be an ISO 8601 string such as 'P7D'.".into());
        }
        _ => None,
    };
    Ok(HuntRequest { query, timespan })
}

/// Query failures: all are the caller's to fix, so 400 with the documented code and a message
/// that names where the problem is.
fn query_error(surface: Surface, e: QueryError, timeout: u64, headers: &HeaderMap) -> Response {
    let message = match e {
        QueryError::Syntax { message, line, column } => {
            format!("Syntax error: Query could not be parsed at line {line}, column {column}: {message}")
        }
        QueryError::Semantic { message, line, column, .. } => {
            format!("Semantic error: {message} (line {line}, column {column})")
        }
        // Microsoft documents the limit, not the answer; a timeout is the query's fault, so the
        // sandbox answers 400 like the other query limits rather than a retryable 5xx.
        QueryError::Timeout => format!(
            "Query execution has exceeded the allowed time limit of {timeout} seconds. Optimize the query (filter early, shorten the time range) and try again."
        ),
        QueryError::Eval(EvalError::TooManyRows(n)) => format!(
            "Query execution has exceeded the allowed limits: an intermediate result exceeds {n} rows. Optimize the query by filtering earlier and try again."
        ),
        QueryError::Eval(
            e @ (EvalError::UnknownTable(_)
            | EvalError::UnknownName(_)
            | EvalError::UnknownFunction(_)
            | EvalError::Type(_)),
        ) => format!("Semantic error: {e}"),
        QueryError::Eval(e) => format!("Query execution failed: {e}"),
    };
    surface.error(StatusCode::BAD_REQUEST, "BadRequest", message, headers)
}

/// The result in the surface's shape, cut to the row limit and checked against the size
/// limit.
fn respond(
    state: &AppState,
    surface: Surface,
    table: Table,
    max_rows: usize,
    elapsed: Duration,
    headers: &HeaderMap,
) -> Response {
    let total = table.num_rows();
    // Advanced hunting returns at most 100,000 rows (§2.9); the sandbox keeps the first ones,
    // as the portal does, rather than failing the whole query.
    let table = if total > max_rows { table.head(max_rows) } else { table };
    let graph = matches!(surface, Surface::Graph { .. });
    let (name_key, type_key) = if graph { ("name", "type") } else { ("Name", "Type") };
    let schema: Vec<Value> =
        table.columns.iter().map(|c| json!({name_key: c.name, type_key: api_type(c.ty)})).collect();
    let results: Vec<Value> = (0..table.num_rows())
        .map(|i| {
            let row: Map<String, Value> =
                table.columns.iter().map(|c| (c.name.clone(), value_to_json(&c.get(i)))).collect();
            Value::Object(row)
        })
        .collect();
    let body = match surface {
        Surface::Mde => json!({"Schema": schema, "Results": results}),
        Surface::Xdr => json!({
            "Stats": {
                "ExecutionTime": elapsed.as_secs_f64(),
                "resource_usage": {"cpu": {"total cpu": format!("{:.3}", elapsed.as_secs_f64())}},
                "dataset_statistics": [{"table_row_count": table.num_rows(), "table_size": 0}],
            },
            "Schema": schema,
            "Results": results,
        }),
        Surface::Graph { beta } => json!({
            "@odata.context": format!(
                "{}/{}/$metadata#microsoft.graph.security.huntingQueryResults",
                state.base_url,
                if beta { "beta" } else { "v1.0" }
            ),
            "schema": schema,
            "results": results,
        }),
    };
    let size = serde_json::to_vec(&body).map(|v| v.len()).unwrap_or(0);
    if size > MAX_RESULT_BYTES {
        return surface.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again.".into(),
            headers,
        );
    }
    json_response(StatusCode::OK, body)
}

/// Result column types as advanced hunting names them: .NET type names (`String`,
/// `DateTime`, `Int64`, ...). Microsoft's examples show `String` and `DateTime`; the numeric
/// and dynamic names follow the same .NET convention (an inference, see §2.9).
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
