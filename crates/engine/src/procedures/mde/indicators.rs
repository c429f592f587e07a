//! Indicator work that one call cannot do (upstream-apis.md §2.7).
//!
//! - Batch import: `POST /api/indicators/import` takes at most 500 indicators and 30 calls a
//!   minute per tenant, so a list is sent in chunks of 500 under the `IndicatorImport` budget;
//!   MDE answers each item (`isFailed`, `failureReason`) and so do we.
//! - Bulk remove: one `DELETE /api/indicators/{id}` per id, a few at a time, per-item results.
//! - Remove by value: the ids come from `$filter=indicatorValue eq '...'` first.
//! - Update: MDE has no PATCH; `POST /api/indicators` updates the indicator with the same value
//!   and type, so the current indicator is read, the changes applied, and the whole resubmitted.
//!
//! A request whose every item failed is an error (the first failure speaks for all); a partial
//! one succeeds with `PartiallySucceeded` and the failures in `results`.

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Map, Value, json};
use upstream::{Api, ApiRequest, Budget, Method};

/// Documented maximum per `indicators/import` call.
pub const IMPORT_CHUNK: usize = 500;
/// Deletes of one request in flight at once; MDE's 100/min budget paces them anyway.
const DELETE_CONCURRENCY: usize = 4;
/// Fields an update carries over from the current indicator when not given.
const KEPT_FIELDS: &[&str] = &[
    "action",
    "title",
    "description",
    "severity",
    "expirationTime",
    "recommendedActions",
    "rbacGroupNames",
    "generateAlert",
    "educateUrl",
    "application",
];
/// What an update may change: (MDE field, parameter); MDE's `action` is our `indicatorAction`.
const CHANGES: &[(&str, &str)] = &[
    ("action", "indicatorAction"),
    ("title", "title"),
    ("description", "description"),
    ("severity", "severity"),
    ("expirationTime", "expirationTime"),
    ("recommendedActions", "recommendedActions"),
    ("rbacGroupNames", "rbacGroupNames"),
    ("generateAlert", "generateAlert"),
];

/// `BulkAddIndicators`: chunks of 500 through `indicators/import`.
pub struct Import {
    items: Vec<Value>,
}

impl TryFrom<&Params> for Import {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Import { items: Args::of::<Self>(params).values("indicators")? })
    }
}

impl Procedure for Import {
    const ID: ProcedureId = ProcedureId("mde.indicators.import");
    const READS: &'static [Read] = &[required("indicators")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        import(ctx, self.items).await
    }
}

async fn import(ctx: &Ctx<'_>, items: Vec<Value>) -> Result<Carried, EngineError> {
    let mut rows: Vec<Value> = Vec::with_capacity(items.len());
    let mut request_ids = Vec::new();
    let mut first_error: Option<EngineError> = None;
    for chunk in items.chunks(IMPORT_CHUNK) {
        let req = ApiRequest::post(Api::Mde, "/api/indicators/import", json!({ "Indicators": chunk }))
            .with_group(Budget::IndicatorImport);
        match ctx.engine.upstream().call(ctx.creds, req).await {
            Ok(resp) => {
                request_ids.extend(resp.request_id);
                rows.extend(import_rows(chunk, &resp.body));
            }
            Err(e) => {
                let e: EngineError = e.into();
                let error = crate::error_json(&e);
                rows.extend(
                    chunk.iter().map(
                        |item| json!({ "indicatorValue": item["indicatorValue"], "success": false, "error": error }),
                    ),
                );
                first_error.get_or_insert(e);
            }
        }
    }
    finish(rows, request_ids, first_error)
}

/// MDE's per-item answers, matched to what was sent: by the echoed `indicator` value when the
/// answer carries it, else by position.
fn import_rows(chunk: &[Value], body: &Value) -> Vec<Value> {
    let answers = body["value"].as_array().cloned().unwrap_or_default();
    let by_value = |sent: &Value| {
        let value = sent["indicatorValue"].as_str()?;
        answers.iter().find(|a| a["indicator"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(value))).cloned()
    };
    chunk
        .iter()
        .enumerate()
        .map(|(i, sent)| {
            let answer = by_value(sent).or_else(|| answers.get(i).cloned()).unwrap_or(Value::Null);
            let failed = answer.is_null() || answer["isFailed"].as_bool().unwrap_or(false);
            json!({
                "indicatorValue": sent["indicatorValue"],
                "indicatorType": sent["indicatorType"],
                "id": answer["id"],
                "success": !failed,
                "failureReason": if answer.is_null() { json!("no answer for this item") } else { answer["failureReason"].clone() },
            })
        })
        .collect()
}

/// `BulkRemoveIndicators`: one DELETE per id.
pub struct Remove {
    ids: Vec<String>,
}

impl TryFrom<&Params> for Remove {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Remove { ids: Args::of::<Self>(params).strings("indicatorIds")? })
    }
}

impl Procedure for Remove {
    const ID: ProcedureId = ProcedureId("mde.indicators.remove");
    const READS: &'static [Read] = &[required("indicatorIds")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        delete_each(ctx, self.ids).await
    }
}

/// `RemoveIndicatorByValue`: every indicator with that value and type.
pub struct RemoveByValue {
    value: String,
    kind: String,
}

impl TryFrom<&Params> for RemoveByValue {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RemoveByValue { value: args.text("indicatorValue")?, kind: args.text("indicatorType")? })
    }
}

impl Procedure for RemoveByValue {
    const ID: ProcedureId = ProcedureId("mde.indicators.remove_by_value");
    const READS: &'static [Read] = &[required("indicatorValue"), required("indicatorType")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (value, ty) = (&self.value, &self.kind);
        let filter = format!("indicatorValue eq '{}' and indicatorType eq '{ty}'", value.replace('\'', "''"));
        let req = ApiRequest::get(Api::Mde, "/api/indicators").with_query("$filter", filter);
        let found = ctx.engine.upstream().get_paged(ctx.creds, req, 15_000).await?;
        let ids: Vec<String> = found.items.iter().filter_map(|i| id_text(&i["id"])).collect();
        if ids.is_empty() {
            return Err(EngineError::InvalidParam(ParamError {
                field: "indicatorValue".into(),
                message: format!("no {ty} indicator has the value '{value}'"),
                hint: "list indicators with GetIndicators to see what exists".into(),
            }));
        }
        delete_each(ctx, ids).await
    }
}

async fn delete_each(ctx: &Ctx<'_>, ids: Vec<String>) -> Result<Carried, EngineError> {
    let upstream = ctx.engine.upstream();
    let mut rows = Vec::with_capacity(ids.len());
    let mut request_ids = Vec::new();
    let mut first_error = None;
    for batch in ids.chunks(DELETE_CONCURRENCY) {
        let calls: Vec<_> = batch.iter().map(|id| delete_one(upstream, ctx.creds, id)).collect();
        for (id, outcome) in batch.iter().zip(futures::future::join_all(calls).await) {
            match outcome {
                Ok(resp) => {
                    request_ids.extend(resp.request_id);
                    rows.push(json!({ "indicatorId": id, "success": true }));
                }
                Err(e) => {
                    rows.push(json!({ "indicatorId": id, "success": false, "error": crate::error_json(&e) }));
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    finish(rows, request_ids, first_error)
}

async fn delete_one(
    upstream: &upstream::Upstream,
    creds: &upstream::TenantCredentials,
    id: &str,
) -> Result<upstream::ApiResponse, EngineError> {
    let req = ApiRequest::new(Api::Mde, Method::Delete, format!("/api/indicators/{}", encode(id)));
    upstream.call(creds, req).await.map_err(EngineError::from)
}

/// `UpdateIndicator`: read, apply the given fields, resubmit.
pub struct Update {
    id: String,
    /// The given changes, by MDE field name.
    changes: Map<String, Value>,
}

impl TryFrom<&Params> for Update {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let mut changes = Map::new();
        for (field, param) in CHANGES {
            if let Some(v) = args.opt_value(param)? {
                changes.insert((*field).to_string(), v);
            }
        }
        Ok(Update { id: args.text("indicatorId")?, changes })
    }
}

impl Procedure for Update {
    const ID: ProcedureId = ProcedureId("mde.indicators.update");
    const READS: &'static [Read] = &[
        required("indicatorId"),
        optional("indicatorAction"),
        optional("title"),
        optional("description"),
        optional("severity"),
        optional("expirationTime"),
        optional("recommendedActions"),
        optional("rbacGroupNames"),
        optional("generateAlert"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let current = upstream
            .call(ctx.creds, ApiRequest::get(Api::Mde, format!("/api/indicators/{}", encode(&self.id))))
            .await?;
        let body = resubmission(&current.body, &self.changes);
        let resp = upstream.call(ctx.creds, ApiRequest::post(Api::Mde, "/api/indicators", Value::Object(body))).await?;
        Ok(Carried {
            data: resp.body,
            request_ids: current.request_id.into_iter().chain(resp.request_id).collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// The current indicator's value, type and kept fields, overridden by the given changes.
fn resubmission(current: &Value, changes: &Map<String, Value>) -> Map<String, Value> {
    let mut body = Map::new();
    for key in ["indicatorValue", "indicatorType"] {
        body.insert(key.into(), current[key].clone());
    }
    for key in KEPT_FIELDS {
        if let Some(v) = changes.get(*key).or_else(|| current.get(*key).filter(|v| !v.is_null())) {
            body.insert((*key).to_string(), v.clone());
        }
    }
    body
}

/// Per-item rows into an outcome: all failed is the first error; some failed is partial.
fn finish(
    rows: Vec<Value>,
    request_ids: Vec<String>,
    first_error: Option<EngineError>,
) -> Result<Carried, EngineError> {
    let failed = rows.iter().filter(|r| r["success"] != true).count();
    if let (true, Some(e)) = (failed == rows.len(), first_error) {
        return Err(e);
    }
    Ok(Carried {
        data: json!({ "count": rows.len(), "succeeded": rows.len() - failed, "failed": failed, "results": rows }),
        request_ids,
        machine_action_ids: vec![],
        failed_targets: failed,
        follow: None,
    })
}

/// MDE indicator ids are numbers in some answers and strings in others.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Ids were validated to `[A-Za-z0-9-_.:]`; encode anyway so a path never changes shape.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_rows_follow_mde_answers_in_order() {
        let sent = vec![
            json!({"indicatorValue": "a.example.com", "indicatorType": "DomainName"}),
            json!({"indicatorValue": "b"}),
        ];
        // Answered out of order: matched by the echoed value.
        let body = json!({"value": [{"id": null, "indicator": "b", "isFailed": true, "failureReason": "bad"}, {"id": "1", "indicator": "A.example.com", "isFailed": false}]});
        let rows = import_rows(&sent, &body);
        assert_eq!(rows[0]["success"], true);
        assert_eq!(rows[0]["id"], "1");
        assert_eq!(rows[1]["success"], false);
        assert_eq!(rows[1]["failureReason"], "bad");
        let rows = import_rows(&sent, &json!({}));
        assert!(rows.iter().all(|r| r["success"] == false));
    }

    #[test]
    fn resubmission_keeps_what_was_not_given() {
        let current = json!({"id": "7", "indicatorValue": "evil.example.com", "indicatorType": "DomainName", "action": "Audit",
                             "title": "old", "description": "d", "severity": "Low", "generateAlert": true, "createdBy": "x"});
        let mut p = Params::new();
        p.insert("indicatorId", json!("7"));
        p.insert("indicatorAction", json!("Block"));
        p.insert("title", json!("new"));
        let update = Update::try_from(&p).unwrap();
        let body = Value::Object(resubmission(&current, &update.changes));
        assert_eq!(
            body,
            json!({"indicatorValue": "evil.example.com", "indicatorType": "DomainName", "action": "Block", "title": "new",
                   "description": "d", "severity": "Low", "generateAlert": true})
        );
    }

    #[test]
    fn all_failed_is_the_first_error_and_some_failed_is_partial() {
        let rows = vec![json!({"success": false}), json!({"success": true})];
        let c = finish(rows, vec![], Some(EngineError::UpstreamTimeout)).unwrap();
        assert_eq!((c.failed_targets, c.data["succeeded"].as_u64()), (1, Some(1)));
        assert!(finish(vec![json!({"success": false})], vec![], Some(EngineError::UpstreamTimeout)).is_err());
    }
}
