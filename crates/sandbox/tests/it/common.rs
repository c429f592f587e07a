use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sandbox::{Describe, RunningSandbox, SandboxConfig};
use serde_json::{Value, json};

pub const GRAPH: &str = "https://graph.microsoft.com/.default";
pub const MDE: &str = "https://api.securitycenter.microsoft.com/.default";
pub const ARM: &str = "https://management.azure.com/.default";

pub struct Env {
    pub sb: RunningSandbox,
    pub http: reqwest::Client,
    pub d: Describe,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A sandbox with Microsoft's real lifecycle timings, so tests step lifecycles with the clock.
pub async fn env() -> Env {
    env_with(SandboxConfig::new(7, 3).with_realistic(true)).await
}

pub async fn env_with(cfg: SandboxConfig) -> Env {
    let sb = sandbox::start(cfg, "127.0.0.1:0".parse().unwrap()).await.expect("sandbox starts");
    let d = sb.describe();
    Env { sb, http: reqwest::Client::new(), d }
}

async fn to_resp(r: reqwest::Response) -> Resp {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Resp { status, body, headers }
}

pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("json claims")
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sb.base_url(), path)
    }

    pub fn tenant(&self, i: usize) -> &sandbox::TenantInfo {
        &self.d.tenants[i]
    }

    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Resp {
        let r = self.http.post(self.url(&format!("/{tenant}/oauth2/v2.0/token"))).form(form).send().await.unwrap();
        to_resp(r).await
    }

    pub async fn token(&self, i: usize, scope: &str) -> String {
        let t = self.tenant(i).clone();
        let r = self
            .token_request(
                &t.tenant_id,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &t.client_id),
                    ("client_secret", &t.client_secret),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn get(&self, token: &str, path_or_url: &str) -> Resp {
        let url = if path_or_url.starts_with("http") { path_or_url.to_string() } else { self.url(path_or_url) };
        let r = self.http.get(url).bearer_auth(token).send().await.unwrap();
        to_resp(r).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Resp {
        let r = self.http.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        to_resp(r).await
    }

    pub async fn post_raw(&self, token: &str, path: &str, body: &str) -> Resp {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        to_resp(r).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Resp {
        let r = self.http.patch(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        to_resp(r).await
    }

    /// Any method, with an optional JSON body; `path_or_url` as in `get`.
    pub async fn send(&self, method: reqwest::Method, token: &str, path_or_url: &str, body: Option<Value>) -> Resp {
        let url = if path_or_url.starts_with("http") { path_or_url.to_string() } else { self.url(path_or_url) };
        let mut rb = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        to_resp(rb.send().await.unwrap()).await
    }

    pub async fn admin_get(&self, path: &str) -> Resp {
        to_resp(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Resp {
        to_resp(self.http.post(self.url(path)).json(&body).send().await.unwrap()).await
    }

    pub async fn advance(&self, seconds: u64) {
        let r = self.admin_post("/_sandbox/clock", json!({"advance_seconds": seconds})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    pub async fn state(&self, i: usize) -> Value {
        let r = self.admin_get(&format!("/_sandbox/state/{}", self.tenant(i).tenant_id)).await;
        assert_eq!(r.status, StatusCode::OK);
        r.body
    }

    /// All machines of tenant `i` as the MDE API returns them.
    pub async fn machines(&self, token: &str) -> Vec<Value> {
        let r = self.get(token, "/api/machines").await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["value"].as_array().unwrap().clone()
    }

    /// First machine matching a predicate.
    pub async fn machine_where(&self, token: &str, f: impl Fn(&Value) -> bool) -> Value {
        self.machines(token).await.into_iter().find(|m| f(m)).expect("a matching machine")
    }
}

pub fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}
