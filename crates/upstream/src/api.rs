//! What callers send and what comes back. The words (`Api`, `Method`, `Budget`) are the shared
//! vocabulary of `crates/vocab`, the same the catalog declares calls in; where the clouds are is
//! `clouds.rs`. Nothing here does I/O.

use std::time::Duration;

pub use vocab::{Api, Budget, Method};

/// One call to a Microsoft API.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub api: Api,
    pub method: Method,
    /// Starts with `/`, appended to the family's base URL, e.g. `/api/machines/abc/isolate`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    /// Which documented limit the call draws from beyond its family's (see [`Budget`]).
    pub group: Budget,
}

impl ApiRequest {
    /// A request with no query, no body and the default budget group.
    pub fn new(api: Api, method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest { api, method, path: path.into(), query: Vec::new(), body: None, group: Budget::Default }
    }

    /// Shorthand for a GET.
    pub fn get(api: Api, path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(api, Method::Get, path)
    }

    /// Shorthand for a POST with a JSON body.
    pub fn post(api: Api, path: impl Into<String>, body: serde_json::Value) -> ApiRequest {
        ApiRequest::new(api, Method::Post, path).with_body(body)
    }

    /// Adds one query parameter (encoded when sent).
    pub fn with_query(mut self, key: impl Into<String>, value: impl Into<String>) -> ApiRequest {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets the JSON body.
    pub fn with_body(mut self, body: serde_json::Value) -> ApiRequest {
        self.body = Some(body);
        self
    }

    /// Sets which documented limit applies.
    pub fn with_group(mut self, group: Budget) -> ApiRequest {
        self.group = group;
        self
    }
}

/// A successful (2xx/3xx) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// Parsed JSON; `Null` for an empty body; a JSON string for a non-JSON body.
    pub body: serde_json::Value,
    /// Microsoft's request id (`request-id`/`x-ms-request-id`), else the client-request-id we sent.
    pub request_id: Option<String>,
    /// `Location` header (Graph 202s, ARM fallback monitor URL).
    pub location: Option<String>,
    /// `Azure-AsyncOperation` header: ARM's preferred monitor URL for long-running operations.
    pub async_operation: Option<String>,
    /// `Retry-After` on a success (ARM LROs say how long to wait before polling).
    pub retry_after: Option<Duration>,
    /// How many HTTP attempts this took (1 = no retry).
    pub attempts: u32,
}

/// All items of an OData collection, gathered across `@odata.nextLink` pages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Paged {
    pub items: Vec<serde_json::Value>,
    /// One per page fetched, in order.
    pub request_ids: Vec<String>,
    /// True when `max_items` stopped us before the collection was exhausted.
    pub truncated: bool,
}
