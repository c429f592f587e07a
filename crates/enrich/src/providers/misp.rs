//! MISP `POST /attributes/restSearch` by value, `Authorization: <key>` (no "Bearer"). One search
//! carries a batch of values. An attribute flagged `to_ids` is MALICIOUS, any other hit
//! SUSPICIOUS; no attribute is unknown. The event's `info` is the threat name.

use std::collections::HashMap;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{Provider, ProviderError, check_status, transport, unix_to_rfc3339};
use crate::hash::FileHash;
use crate::verdict::{Status, Verdict};

pub struct Misp {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

const NAME: &str = "MISP";

impl Misp {
    pub fn new(http: reqwest::Client, base: String, key: SecretString) -> Misp {
        Misp { http, base, key }
    }

    async fn search(&self, hashes: &[FileHash]) -> Result<Vec<(FileHash, Verdict)>, ProviderError> {
        let body = json!({
            "returnFormat": "json",
            "value": hashes.iter().map(|h| &h.value).collect::<Vec<_>>(),
            "type": ["md5", "sha1", "sha256", "filename|md5", "filename|sha1", "filename|sha256"],
            "includeEventTags": 1,
            "limit": 1000,
            "page": 1,
        });
        let resp = self
            .http
            .post(format!("{}/attributes/restSearch", self.base))
            .header("Authorization", self.key.expose_secret())
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        check_status(&resp)?;
        if !resp.status().is_success() {
            return Err(ProviderError::Protocol(format!("HTTP {}", resp.status().as_u16())));
        }
        let v: Value = resp.json().await.map_err(transport)?;
        let attrs = v.pointer("/response/Attribute").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut found: HashMap<String, Verdict> = HashMap::new();
        for a in &attrs {
            let Some(value) = attribute_hash(a) else { continue };
            let v = attribute_verdict(a);
            let keep = found.get(&value).is_none_or(|old| v.status < old.status);
            if keep {
                found.insert(value, v);
            }
        }
        Ok(hashes
            .iter()
            .map(|h| (h.clone(), found.remove(&h.value).unwrap_or_else(|| Verdict::unknown(NAME))))
            .collect())
    }
}

/// The hash an attribute holds: `value`, or the part after `|` of `filename|sha1`.
fn attribute_hash(a: &Value) -> Option<String> {
    let value = a.get("value").and_then(Value::as_str)?;
    Some(value.rsplit('|').next().unwrap_or(value).trim().to_ascii_lowercase())
}

fn attribute_verdict(a: &Value) -> Verdict {
    let to_ids = match a.get("to_ids") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let ts = a.get("timestamp").and_then(|t| t.as_str().and_then(|s| s.parse().ok()).or_else(|| t.as_i64()));
    Verdict {
        status: if to_ids { Status::Malicious } else { Status::Suspicious },
        threat_name: a.pointer("/Event/info").and_then(Value::as_str).map(String::from),
        detections: None,
        first_seen: ts.and_then(unix_to_rfc3339),
        source: NAME.to_string(),
        skipped: Vec::new(),
    }
}

impl Provider for Misp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn batch_size(&self) -> usize {
        100
    }

    fn lookup<'a>(&'a self, hashes: &'a [FileHash]) -> BoxFuture<'a, Result<Vec<(FileHash, Verdict)>, ProviderError>> {
        Box::pin(self.search(hashes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_map_to_verdicts() {
        let a = json!({"type": "filename|sha1", "value": "x.exe|D481DFAE3461AFC11D7441B5B83C8411E079ACE8", "to_ids": true,
            "timestamp": "1704164645", "Event": {"info": "Campaign X"}});
        assert_eq!(attribute_hash(&a).as_deref(), Some("d481dfae3461afc11d7441b5b83c8411e079ace8"));
        assert_eq!(attribute_verdict(&a).summary(), "MISP: MALICIOUS Campaign X, first seen 2024-01-02T03:04:05Z");
        assert_eq!(attribute_verdict(&json!({"value": "x", "to_ids": false})).status, Status::Suspicious);
    }
}
