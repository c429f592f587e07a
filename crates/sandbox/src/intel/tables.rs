//! `POST /_sandbox/streaming/tables`: the Streaming API's rows of any advanced-hunting table.
//!
//! Defender streams every table's events (category `AdvancedHunting-<Table>`, `properties` the
//! row) as they happen. This replays a tenant's past as Defender would have streamed it: the
//! rows of the named tables over the last `days` days (`hunting/history.rs`: the newest 30
//! days are the rows advanced hunting answers from), in Microsoft's `{"records":[...]}`
//! envelope, `RECORDS_PER_MESSAGE` records a message, spread over the hub's partitions in
//! time order, on the same hub as the alert evidence (one Event Hubs destination for every
//! category, as a Streaming API rule with one event hub name sends them).
//!
//! Body: `{"tenant": id, "tables": ["DeviceProcessEvents", ...], "days": 90}` (days 1..=365,
//! default 30). Answer 201: `{"hub", "messages", "records": {table: n}, "from", "to"}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hunt::table::value_to_json;
use hunt::value::Value as KqlValue;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Intel;
use super::streaming::{HUB, PARTITIONS};
use crate::hunting::history::{self, Window};
use crate::state::AppState;

const RECORDS_PER_MESSAGE: usize = 200;
const MAX_DAYS: i64 = 365;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    tenant: String,
    tables: Vec<String>,
    #[serde(default)]
    days: Option<i64>,
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub async fn replay(State(state): State<AppState>, Extension(intel): Extension<Arc<Intel>>, body: Bytes) -> Response {
    let req: Replay = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    };
    let days = req.days.unwrap_or(history::WINDOW_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return answer(StatusCode::BAD_REQUEST, json!({"error": format!("days must be 1 to {MAX_DAYS}")}));
    }
    let schema = hunt::schema::Schema::defender();
    if let Some(t) = req.tables.iter().find(|t| schema.table(t).is_none()) {
        return answer(StatusCode::BAD_REQUEST, json!({"error": format!("{t} is not an advanced-hunting table")}));
    }
    let tenant = req.tenant.clone();
    let gen_state = state.clone();
    let windows = tokio::task::spawn_blocking(move || history::windows(&gen_state, &tenant, days)).await;
    let Ok(Some(windows)) = windows else {
        return answer(StatusCode::NOT_FOUND, json!({"error": format!("unknown tenant {}", req.tenant)}));
    };
    let tenant_id = state.world.lock().tenant(&req.tenant).map(|t| t.tenant_id.clone()).unwrap_or_default();
    let records = records(&tenant_id, &req.tables, &windows);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &records {
        *counts.entry(r.0).or_default() += 1;
    }
    let mut messages = 0;
    for (i, chunk) in records.chunks(RECORDS_PER_MESSAGE).enumerate() {
        let body = json!({"records": chunk.iter().map(|(_, _, r)| r).collect::<Vec<_>>()});
        intel.stream.append(i % PARTITIONS, body.to_string());
        messages += 1;
    }
    let lo = windows.last().map_or(0, |w| w.lo);
    let hi = windows.first().map_or(0, |w| w.hi);
    answer(
        StatusCode::CREATED,
        json!({"hub": HUB, "messages": messages, "records": counts,
            "from": KqlValue::DateTime(lo).to_kusto_string(), "to": KqlValue::DateTime(hi).to_kusto_string()}),
    )
}

/// Every row of `tables` in the windows, as Streaming API records, oldest first.
fn records<'t>(tenant_id: &str, tables: &'t [String], windows: &[Window]) -> Vec<(&'t str, i64, Value)> {
    let mut out = Vec::new();
    for w in windows {
        for name in tables {
            let Some(t) = w.tables.table(name) else { continue };
            let Some(ts) = t.column("Timestamp") else { continue };
            for i in 0..t.num_rows() {
                let KqlValue::DateTime(when) = ts.get(i) else { continue };
                if when <= w.lo || when > w.hi {
                    continue;
                }
                let properties: Map<String, Value> =
                    t.columns.iter().map(|c| (c.name.clone(), value_to_json(&c.get(i)))).collect();
                let time = KqlValue::DateTime(when).to_kusto_string();
                out.push((
                    name.as_str(),
                    when,
                    json!({"time": time, "tenantId": tenant_id, "operationName": "Publish",
                        "category": format!("AdvancedHunting-{name}"), "_TimeReceivedBySvc": time,
                        "properties": properties}),
                ));
            }
        }
    }
    out.sort_by_key(|r| r.1);
    out
}
