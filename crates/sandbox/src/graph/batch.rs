//! Graph JSON batching: `POST /v1.0/$batch` and `/beta/$batch` (upstream-apis.md §4.3).
//!
//! Each sub-request is dispatched through the sandbox's own router, carrying the batch's
//! `Authorization`, so authentication, roles, injected faults and throttling apply to it
//! exactly as to a direct call (an inner 429 inside an outer 200 is possible, as documented).
//! Requests run in `dependsOn` order; one whose dependency did not succeed gets 424.
//!
//! Not settled by upstream-apis.md, picked from Graph's documented examples: a malformed batch
//! (no `requests`, a missing `id` / `method` / `url`, a body without `Content-Type`, a
//! `dependsOn` naming an unknown id, a dependency cycle) is a whole-batch 400 `BadRequest`.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::auth::GraphCaller;
use crate::errors::{self, json_response};
use crate::state::AppState;

/// Documented maximum number of requests in one batch.
pub const MAX_REQUESTS: usize = 20;

#[derive(Deserialize)]
struct Batch {
    requests: Vec<Item>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    headers: Map<String, Value>,
    #[serde(default)]
    body: Option<Value>,
    /// msgraph-sdk for Python (msgraph-core 1.x) writes the key as `depends_on`; we accept it
    /// next to the documented `dependsOn` so its BatchRequestContent works.
    #[serde(default, alias = "depends_on", deserialize_with = "null_as_default")]
    depends_on: Vec<String>,
}

/// SDKs send `null` for absent collections.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Item {
    fn has_content_type(&self) -> bool {
        self.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type"))
    }
}

pub async fn batch(
    State(state): State<AppState>,
    GraphCaller(_c): GraphCaller,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let version = if uri.path().starts_with("/beta") { "beta" } else { "v1.0" };
    let items = match parse(&body, &headers) {
        Ok(items) => items,
        Err(resp) => return resp,
    };
    let order = match run_order(&items, &headers) {
        Ok(o) => o,
        Err(resp) => return resp,
    };
    let mut done: Vec<Option<(u16, Value)>> = vec![None; items.len()];
    for i in order {
        let item = &items[i];
        let failed_dep = item.depends_on.iter().find(|d| {
            index_of(&items, d).and_then(|j| done[j].as_ref()).is_none_or(|(status, _)| !(200..300).contains(status))
        });
        let out = match failed_dep {
            Some(d) => failed_dependency(item, d),
            None => dispatch(&state, version, item, &headers).await,
        };
        done[i] = Some(out);
    }
    let responses: Vec<Value> = done.into_iter().flatten().map(|(_, v)| v).collect();
    json_response(StatusCode::OK, json!({"responses": responses}))
}

fn bad(message: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::BAD_REQUEST, "BadRequest", message, headers)
}

fn parse(body: &[u8], headers: &HeaderMap) -> Result<Vec<Item>, Response> {
    let batch: Batch =
        serde_json::from_slice(body).map_err(|e| bad(&format!("Invalid batch payload format: {e}"), headers))?;
    if batch.requests.is_empty() {
        return Err(bad("Invalid batch payload format: no requests.", headers));
    }
    if batch.requests.len() > MAX_REQUESTS {
        return Err(bad(&format!("The number of requests in a batch cannot exceed {MAX_REQUESTS}."), headers));
    }
    for (i, item) in batch.requests.iter().enumerate() {
        if item.id.trim().is_empty() || item.method.trim().is_empty() || item.url.trim().is_empty() {
            return Err(bad("Every batch request needs an id, a method and a url.", headers));
        }
        if batch.requests[..i].iter().any(|o| o.id.eq_ignore_ascii_case(&item.id)) {
            return Err(bad(&format!("Batch request ids must be unique; '{}' is repeated.", item.id), headers));
        }
        if item.body.is_some() && !item.has_content_type() {
            return Err(bad(
                &format!("Content-Type header required if body is present (request '{}').", item.id),
                headers,
            ));
        }
    }
    Ok(batch.requests)
}

fn index_of(items: &[Item], id: &str) -> Option<usize> {
    items.iter().position(|i| i.id.eq_ignore_ascii_case(id))
}

/// Array order, except that a request runs after everything it depends on.
fn run_order(items: &[Item], headers: &HeaderMap) -> Result<Vec<usize>, Response> {
    for item in items {
        if let Some(d) = item.depends_on.iter().find(|d| index_of(items, d).is_none()) {
            return Err(bad(&format!("Request '{}' depends on '{d}', which is not in the batch.", item.id), headers));
        }
    }
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        let ready = (0..items.len()).find(|i| {
            !order.contains(i)
                && items[*i].depends_on.iter().all(|d| index_of(items, d).is_some_and(|j| order.contains(&j)))
        });
        match ready {
            Some(i) => order.push(i),
            None => return Err(bad("The batch's dependsOn form a cycle.", headers)),
        }
    }
    Ok(order)
}

fn failed_dependency(item: &Item, dep: &str) -> (u16, Value) {
    let body = json!({"error": {"code": "FailedDependency", "message": format!("The request '{}' depends on '{dep}', which failed.", item.id)}});
    (424, json!({"id": item.id, "status": 424, "headers": {"Content-Type": "application/json"}, "body": body}))
}

/// `/users/x`, `users/x` or an absolute Graph URL, as `/{version}/users/x`.
fn inner_path(version: &str, url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map(|j| &url[i + 3 + j..]).unwrap_or("/"),
        None => url,
    };
    let rest = format!("/{}", rest.trim_start_matches('/'));
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("/v1.0/") || lower.starts_with("/beta/") { rest } else { format!("/{version}{rest}") }
}

fn build_request(version: &str, item: &Item, outer: &HeaderMap) -> Result<Request, String> {
    let method = Method::from_bytes(item.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("Invalid method '{}'.", item.method))?;
    let path = inner_path(version, &item.url);
    if path.split('?').next().is_some_and(|p| p.to_ascii_lowercase().ends_with("/$batch")) {
        return Err("A batch cannot contain another batch.".into());
    }
    let body = match &item.body {
        Some(Value::String(s)) => Body::from(s.clone()),
        Some(v) => Body::from(v.to_string()),
        None => Body::empty(),
    };
    let mut req = Request::builder().method(method).uri(path).body(body).map_err(|e| e.to_string())?;
    let h = req.headers_mut();
    for name in [header::AUTHORIZATION, header::HeaderName::from_static("client-request-id")] {
        if let Some(v) = outer.get(&name) {
            h.insert(name, v.clone());
        }
    }
    for (k, v) in &item.headers {
        let value = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        if let (Ok(k), Ok(v)) = (header::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&value)) {
            h.insert(k, v);
        }
    }
    Ok(req)
}

async fn dispatch(state: &AppState, version: &str, item: &Item, outer: &HeaderMap) -> (u16, Value) {
    let req = match build_request(version, item, outer) {
        Ok(r) => r,
        Err(msg) => {
            let body = json!({"error": {"code": "BadRequest", "message": msg}});
            return (400, json!({"id": item.id, "status": 400, "body": body}));
        }
    };
    // A fresh router per batch (storing one in the state would make the state own itself);
    // `app` normalises path casing first, as for any request.
    let resp = match crate::app(state.clone()).oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let mut out = json!({"id": item.id, "status": status, "headers": headers_json(&parts.headers)});
    if !bytes.is_empty() {
        out["body"] = body_json(&parts.headers, &bytes);
    }
    (status, out)
}

fn headers_json(h: &HeaderMap) -> Value {
    let skip = ["content-length", "transfer-encoding", "connection", "date"];
    let map: Map<String, Value> = h
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter_map(|(k, v)| Some((canonical_name(k.as_str()), v.to_str().ok()?.into())))
        .collect();
    Value::Object(map)
}

/// `content-type` → `Content-Type`, as Graph spells headers in batch responses.
fn canonical_name(name: &str) -> String {
    name.split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// JSON bodies are embedded as JSON; anything else as base64, as Graph does.
fn body_json(h: &HeaderMap, bytes: &[u8]) -> Value {
    let is_json = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("json"));
    if is_json && let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    base64::engine::general_purpose::STANDARD.encode(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, deps: &[&str]) -> Item {
        Item {
            id: id.into(),
            method: "GET".into(),
            url: "/users".into(),
            headers: Map::new(),
            body: None,
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn dependencies_run_first_and_cycles_are_refused() {
        let h = HeaderMap::new();
        let items = vec![item("1", &["2"]), item("2", &[]), item("3", &["1"])];
        assert_eq!(run_order(&items, &h).unwrap(), vec![1, 0, 2]);
        let cyc = vec![item("a", &["b"]), item("b", &["a"])];
        assert!(run_order(&cyc, &h).is_err());
        assert_eq!(inner_path("v1.0", "users/x"), "/v1.0/users/x");
        assert_eq!(inner_path("beta", "https://graph.microsoft.com/v1.0/users"), "/v1.0/users");
        assert_eq!(canonical_name("retry-after"), "Retry-After");
    }
}
