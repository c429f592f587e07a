//! Graph calls of a multi-step procedure, and the step-by-step report they make.

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::Ctx;
use serde_json::{Map, Value, json};
use upstream::{Api, ApiRequest, ApiResponse, Method};

/// One Graph call with the tenant's credentials.
pub async fn graph(ctx: &Ctx<'_>, req: ApiRequest) -> Result<ApiResponse, EngineError> {
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?)
}

pub fn get(path: impl Into<String>) -> ApiRequest {
    ApiRequest::get(Api::Graph, path)
}

pub fn post(path: impl Into<String>, body: Value) -> ApiRequest {
    ApiRequest::post(Api::Graph, path, body)
}

pub fn patch(path: impl Into<String>, body: Value) -> ApiRequest {
    ApiRequest::new(Api::Graph, Method::Patch, path).with_body(body)
}

pub fn delete(path: impl Into<String>) -> ApiRequest {
    ApiRequest::new(Api::Graph, Method::Delete, path)
}

/// Every item of a Graph collection (paged), with the request ids of its pages.
pub async fn list(ctx: &Ctx<'_>, req: ApiRequest, steps: &mut Steps) -> Result<Vec<Value>, EngineError> {
    let page = ctx.engine.upstream().get_paged(ctx.creds, req, 10_000).await?;
    steps.request_ids.extend(page.request_ids);
    Ok(page.items)
}

/// The per-step report: `{"step", "succeeded", ...detail}` rows, request ids, failures.
#[derive(Default)]
pub struct Steps {
    pub rows: Vec<Value>,
    pub request_ids: Vec<String>,
    pub failed: usize,
}

impl Steps {
    /// Records a call's outcome as a step; returns the answer when it succeeded.
    pub fn record(
        &mut self,
        step: &str,
        detail: Value,
        outcome: Result<ApiResponse, EngineError>,
    ) -> Option<ApiResponse> {
        let mut row = Map::new();
        row.insert("step".into(), step.into());
        if let Value::Object(d) = detail {
            row.extend(d);
        }
        match outcome {
            Ok(resp) => {
                row.insert("succeeded".into(), true.into());
                row.insert("status".into(), resp.status.into());
                self.request_ids.extend(resp.request_id.clone());
                self.rows.push(Value::Object(row));
                Some(resp)
            }
            Err(e) => {
                row.insert("succeeded".into(), false.into());
                row.insert("error".into(), error_json(&e));
                self.failed += 1;
                self.rows.push(Value::Object(row));
                None
            }
        }
    }

    /// A step that made no call (a check, a skip), with its verdict.
    pub fn note(&mut self, step: &str, succeeded: bool, detail: Value) {
        let mut row = Map::new();
        row.insert("step".into(), step.into());
        row.insert("succeeded".into(), succeeded.into());
        if let Value::Object(d) = detail {
            row.extend(d);
        }
        if !succeeded {
            self.failed += 1;
        }
        self.rows.push(Value::Object(row));
    }

    /// The answer: `extra` fields, then `steps`; failed steps make it `PartiallySucceeded`.
    pub fn finish(self, extra: Value) -> Carried {
        let mut data = match extra {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        data.insert("failedSteps".into(), self.failed.into());
        data.insert("steps".into(), Value::Array(self.rows));
        Carried {
            data: Value::Object(data),
            request_ids: self.request_ids,
            machine_action_ids: vec![],
            failed_targets: self.failed,
            follow: None,
        }
    }

    /// Like [`Steps::finish`], except that when every step failed the first failure is the
    /// answer (an error, not a success with nothing done).
    pub fn finish_or_fail(self, extra: Value, first: Option<EngineError>) -> Result<Carried, EngineError> {
        let all_failed = !self.rows.is_empty() && self.failed == self.rows.len();
        match first {
            Some(e) if all_failed => Err(e),
            _ => Ok(self.finish(extra)),
        }
    }
}

/// An engine error as a step's `error` field (Microsoft's code and message when it gave one).
pub fn error_json(e: &EngineError) -> Value {
    match e {
        EngineError::UpstreamRejected { status, code, message, request_id }
        | EngineError::UpstreamFailed { status, code, message, request_id } => {
            json!({"status": status, "code": code, "message": message, "requestId": request_id})
        }
        other => json!({"message": other.to_string()}),
    }
}

/// A `$filter` string literal.
pub fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
