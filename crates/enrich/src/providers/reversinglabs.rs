//! ReversingLabs: Spectra Intelligence TCA-0101 file reputation in bulk (Basic auth, at most
//! 100 hashes of one type per POST, `extended=true&show_hashes=true`), and Spectra Analyze
//! (A1000) classification v3, one hash per GET with `Authorization: Token`.

use std::collections::HashMap;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{Provider, ProviderError, check_status, transport};
use crate::hash::FileHash;
use crate::verdict::{Detections, Status, Verdict};

pub struct ReversingLabs {
    http: reqwest::Client,
    base: String,
    username: String,
    password: SecretString,
}

impl ReversingLabs {
    pub fn new(http: reqwest::Client, base: String, username: String, password: SecretString) -> ReversingLabs {
        ReversingLabs { http, base, username, password }
    }

    async fn bulk(&self, hashes: &[FileHash]) -> Result<Vec<(FileHash, Verdict)>, ProviderError> {
        let kind = hashes.first().map(|h| h.kind).ok_or(ProviderError::Protocol("empty batch".into()))?;
        let body = json!({"rl": {"query": {"hash_type": kind.as_str(), "hashes": hashes.iter().map(|h| &h.value).collect::<Vec<_>>()}}});
        let url =
            format!("{}/api/databrowser/malware_presence/bulk_query/json?extended=true&show_hashes=true", self.base);
        let resp = self
            .http
            .post(url)
            .basic_auth(&self.username, Some(self.password.expose_secret()))
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        check_status(&resp)?;
        if !resp.status().is_success() {
            return Err(ProviderError::Protocol(format!("HTTP {}", resp.status().as_u16())));
        }
        let v: Value = resp.json().await.map_err(transport)?;
        let entries = v
            .pointer("/rl/entries")
            .and_then(Value::as_array)
            .ok_or_else(|| ProviderError::Protocol("bulk answer has no rl.entries".into()))?;
        let mut found: HashMap<String, Verdict> = HashMap::new();
        for e in entries {
            if let Some(q) = e.pointer(&format!("/query_hash/{}", kind.as_str())).and_then(Value::as_str) {
                found.insert(q.to_ascii_lowercase(), malware_presence(e));
            }
        }
        // Hashes RL lists as unknown or invalid, or leaves out, are unknown to it.
        Ok(hashes
            .iter()
            .map(|h| (h.clone(), found.remove(&h.value).unwrap_or_else(|| Verdict::unknown(NAME))))
            .collect())
    }
}

const NAME: &str = "ReversingLabs";

/// One `malware_presence` object → verdict.
fn malware_presence(e: &Value) -> Verdict {
    let status = match e.get("status").and_then(Value::as_str).unwrap_or("UNKNOWN") {
        "MALICIOUS" => Status::Malicious,
        "SUSPICIOUS" => Status::Suspicious,
        "KNOWN" => Status::KnownGood,
        _ => Status::Unknown,
    };
    let count = |k: &str| e.get(k).and_then(Value::as_u64).map(|n| n as u32);
    let detections = match (count("scanner_match"), count("scanner_count")) {
        (Some(detected), Some(scanned)) if scanned > 0 => Some(Detections { detected, scanned }),
        _ => None,
    };
    Verdict {
        status,
        threat_name: e.get("threat_name").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
        detections,
        first_seen: e.get("first_seen").and_then(Value::as_str).map(str::to_string),
        source: NAME.to_string(),
        skipped: Vec::new(),
    }
}

impl Provider for ReversingLabs {
    fn name(&self) -> &'static str {
        NAME
    }

    fn batch_size(&self) -> usize {
        100
    }

    fn lookup<'a>(&'a self, hashes: &'a [FileHash]) -> BoxFuture<'a, Result<Vec<(FileHash, Verdict)>, ProviderError>> {
        Box::pin(self.bulk(hashes))
    }
}

/// Spectra Analyze (A1000): `GET /api/samples/v3/{hash}/classification/?av_scanners=1`.
pub struct SpectraAnalyze {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl SpectraAnalyze {
    pub fn new(http: reqwest::Client, base: String, token: SecretString) -> SpectraAnalyze {
        SpectraAnalyze { http, base, token }
    }

    async fn one(&self, h: &FileHash) -> Result<Verdict, ProviderError> {
        let url = format!("{}/api/samples/v3/{}/classification/?localonly=0&av_scanners=1", self.base, h.value);
        let resp = self
            .http
            .get(url)
            .header("Authorization", format!("Token {}", self.token.expose_secret()))
            .send()
            .await
            .map_err(transport)?;
        check_status(&resp)?;
        if resp.status().as_u16() == 404 {
            return Ok(Verdict::unknown(ANALYZE));
        }
        let v: Value = resp.json().await.map_err(transport)?;
        let status = match v.get("classification").and_then(Value::as_str).unwrap_or("unknown") {
            "malicious" => Status::Malicious,
            "suspicious" => Status::Suspicious,
            "goodware" => Status::KnownGood,
            _ => Status::Unknown,
        };
        Ok(Verdict {
            status,
            threat_name: v
                .get("classification_result")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from),
            detections: None,
            first_seen: v.get("first_seen").and_then(Value::as_str).map(String::from),
            source: ANALYZE.to_string(),
            skipped: Vec::new(),
        })
    }
}

const ANALYZE: &str = "Spectra Analyze";

impl Provider for SpectraAnalyze {
    fn name(&self) -> &'static str {
        ANALYZE
    }

    fn lookup<'a>(&'a self, hashes: &'a [FileHash]) -> BoxFuture<'a, Result<Vec<(FileHash, Verdict)>, ProviderError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(hashes.len());
            for h in hashes {
                out.push((h.clone(), self.one(h).await?));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malware_presence_maps_to_the_normalised_verdict() {
        let v = malware_presence(&json!({
            "status": "MALICIOUS", "threat_name": "Win32.Trojan.X", "scanner_match": 44, "scanner_count": 47,
            "first_seen": "2024-01-02T03:04:05", "query_hash": {"sha1": "x"}
        }));
        assert_eq!(v.summary(), "ReversingLabs: MALICIOUS Win32.Trojan.X (44/47), first seen 2024-01-02T03:04:05");
        assert_eq!(
            malware_presence(&json!({"status": "KNOWN", "scanner_match": 0, "scanner_count": 41})).status,
            Status::KnownGood
        );
    }
}
