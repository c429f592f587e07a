//! The vocabulary callers use: which API family, where the clouds are, what to send,
//! what came back. Nothing here does I/O.

use std::time::Duration;

use url::Url;

use crate::error::UpstreamError;

/// An API family. It decides the base URL, the token audience and which budgets apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Defender for Endpoint (`api.securitycenter.microsoft.com`).
    Mde,
    /// Microsoft Graph (identity, security, Intune).
    Graph,
    /// Azure Resource Manager.
    Arm,
}

impl Api {
    /// The resource a token must be issued for; the v2 scope is `{audience}/.default`.
    pub fn audience(self) -> &'static str {
        match self {
            Api::Mde => "https://api.securitycenter.microsoft.com",
            Api::Graph => "https://graph.microsoft.com",
            Api::Arm => "https://management.azure.com",
        }
    }

    /// Short, stable name used as a metric label and in logs.
    pub fn label(self) -> &'static str {
        match self {
            Api::Mde => "mde",
            Api::Graph => "graph",
            Api::Arm => "arm",
        }
    }
}

/// Where each cloud lives. Always configuration (invariant 5): the sandbox is just another cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clouds {
    /// Entra ID authority, e.g. `https://login.microsoftonline.com`.
    pub login: Url,
    /// Graph root, without the version segment (callers put `/v1.0` or `/beta` in the path).
    pub graph: Url,
    /// Defender for Endpoint root, without `/api` (callers put `/api/...` in the path).
    pub mde: Url,
    /// ARM root.
    pub arm: Url,
}

impl Clouds {
    /// Microsoft's public-cloud endpoints.
    pub fn microsoft() -> Clouds {
        Clouds {
            login: known_url("https://login.microsoftonline.com"),
            graph: known_url("https://graph.microsoft.com"),
            mde: known_url("https://api.securitycenter.microsoft.com"),
            arm: known_url("https://management.azure.com"),
        }
    }

    /// The base URL of an API family.
    pub fn base(&self, api: Api) -> &Url {
        match api {
            Api::Mde => &self.mde,
            Api::Graph => &self.graph,
            Api::Arm => &self.arm,
        }
    }

    /// Fails fast at start-up on base URLs we could never call safely.
    pub(crate) fn validate(&self) -> Result<(), UpstreamError> {
        for (name, url) in [
            ("login", &self.login),
            ("graph", &self.graph),
            ("mde", &self.mde),
            ("arm", &self.arm),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(UpstreamError::Config(format!(
                    "clouds.{name} must be an http(s) URL with a host, got {url}"
                )));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(UpstreamError::Config(format!(
                    "clouds.{name} must not carry a query or fragment: {url}"
                )));
            }
        }
        Ok(())
    }
}

/// Parses one of the literal production URLs above.
///
/// The only `expect` in the crate: the argument is a compile-time literal that is a valid URL
/// (the `production_urls_parse` test proves each one), so this cannot fail at run time.
fn known_url(literal: &'static str) -> Url {
    Url::parse(literal).expect("built-in production URL literal is valid")
}

/// Which documented rate limit a call draws from, beyond its family's default.
///
/// Microsoft documents limits per endpoint group; the engine knows which endpoint it calls,
/// so it says which group applies. `Default` is resolved by family: for Graph, paths under
/// `/security` use the `/security` limit; for ARM, the method picks read/write/delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BudgetGroup {
    /// The family's general limit (MDE 100/min and 1,500/h; Graph; ARM read/write/delete).
    #[default]
    Default,
    /// MDE `runliveresponse`: 10/min.
    LiveResponse,
    /// Advanced hunting (MDE `advancedqueries/run`, XDR/Graph hunting): 45/min and 1,500/h.
    Hunting,
    /// MDE `indicators/import`: 30/min.
    IndicatorImport,
    /// MDE `startInvestigation`: 50/h.
    Investigation,
    /// Defender XDR incidents API: 50/min and 1,500/h.
    Incidents,
}

/// One call to a Microsoft API.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub api: Api,
    pub method: reqwest::Method,
    /// Starts with `/`, appended to the family's base URL, e.g. `/api/machines/abc/isolate`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub group: BudgetGroup,
}

impl ApiRequest {
    /// A request with no query, no body and the default budget group.
    pub fn new(api: Api, method: reqwest::Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest {
            api,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            group: BudgetGroup::Default,
        }
    }

    /// Shorthand for a GET.
    pub fn get(api: Api, path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(api, reqwest::Method::GET, path)
    }

    /// Shorthand for a POST with a JSON body.
    pub fn post(api: Api, path: impl Into<String>, body: serde_json::Value) -> ApiRequest {
        ApiRequest::new(api, reqwest::Method::POST, path).with_body(body)
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
    pub fn with_group(mut self, group: BudgetGroup) -> ApiRequest {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_urls_parse() {
        let clouds = Clouds::microsoft();
        clouds.validate().unwrap();
        assert_eq!(
            clouds.base(Api::Graph).as_str(),
            "https://graph.microsoft.com/"
        );
        assert_eq!(clouds.login.host_str(), Some("login.microsoftonline.com"));
        for api in [Api::Mde, Api::Graph, Api::Arm] {
            assert_eq!(
                clouds.base(api).origin().ascii_serialization(),
                api.audience()
            );
        }
    }

    #[test]
    fn validate_rejects_non_http() {
        let mut clouds = Clouds::microsoft();
        clouds.arm = Url::parse("ftp://x").unwrap();
        assert!(clouds.validate().is_err());
        let mut clouds = Clouds::microsoft();
        clouds.mde = Url::parse("https://x/?a=b").unwrap();
        assert!(clouds.validate().is_err());
    }
}
