//! VirusTotal API v3: `GET /api/v3/files/{hash}` with `x-apikey`. 404 `NotFoundError` is unknown;
//! 429 `QuotaExceededError` is the spent quota (4/min, 500/day on a public key, which its terms
//! forbid in commercial products: configure a premium key's limits).

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Provider, ProviderError, check_status, transport, unix_to_rfc3339};
use crate::hash::FileHash;
use crate::verdict::{Detections, Status, Verdict};

pub struct VirusTotal {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    malicious_threshold: u32,
}

const NAME: &str = "VirusTotal";

impl VirusTotal {
    pub fn new(http: reqwest::Client, base: String, key: SecretString, malicious_threshold: u32) -> VirusTotal {
        VirusTotal { http, base, key, malicious_threshold: malicious_threshold.max(1) }
    }

    async fn one(&self, h: &FileHash) -> Result<Verdict, ProviderError> {
        let url = format!("{}/api/v3/files/{}", self.base, h.value);
        let resp = self.http.get(url).header("x-apikey", self.key.expose_secret()).send().await.map_err(transport)?;
        check_status(&resp)?;
        match resp.status().as_u16() {
            404 => return Ok(Verdict::unknown(NAME)),
            200 => {}
            s => return Err(ProviderError::Protocol(format!("HTTP {s}"))),
        }
        let v: Value = resp.json().await.map_err(transport)?;
        let attrs = v.pointer("/data/attributes").ok_or(ProviderError::Protocol("no data.attributes".into()))?;
        Ok(file_verdict(attrs, self.malicious_threshold))
    }
}

/// `data.attributes` → verdict; the detection ratio leaves out timeouts and unsupported types.
fn file_verdict(attrs: &Value, threshold: u32) -> Verdict {
    let stat =
        |k: &str| attrs.pointer(&format!("/last_analysis_stats/{k}")).and_then(Value::as_u64).unwrap_or(0) as u32;
    let (malicious, suspicious, undetected, harmless) =
        (stat("malicious"), stat("suspicious"), stat("undetected"), stat("harmless"));
    let scanned = malicious + suspicious + undetected + harmless;
    let status = if malicious >= threshold {
        Status::Malicious
    } else if malicious > 0 || suspicious > 0 {
        Status::Suspicious
    } else if scanned > 0 {
        Status::KnownGood
    } else {
        Status::Unknown
    };
    Verdict {
        status,
        threat_name: attrs
            .pointer("/popular_threat_classification/suggested_threat_label")
            .and_then(Value::as_str)
            .map(String::from),
        detections: (scanned > 0).then_some(Detections { detected: malicious, scanned }),
        first_seen: attrs.get("first_submission_date").and_then(Value::as_i64).and_then(unix_to_rfc3339),
        source: NAME.to_string(),
        skipped: Vec::new(),
    }
}

impl Provider for VirusTotal {
    fn name(&self) -> &'static str {
        NAME
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
    use serde_json::json;

    #[test]
    fn detection_ratio_and_thresholds() {
        let a = json!({"last_analysis_stats": {"malicious": 44, "suspicious": 0, "undetected": 3, "harmless": 0, "timeout": 5},
            "popular_threat_classification": {"suggested_threat_label": "trojan.x/y"}, "first_submission_date": 1704164645});
        let v = file_verdict(&a, 3);
        assert_eq!(v.summary(), "VirusTotal: MALICIOUS trojan.x/y (44/47), first seen 2024-01-02T03:04:05Z");
        let a = json!({"last_analysis_stats": {"malicious": 1, "undetected": 60}});
        assert_eq!(file_verdict(&a, 3).status, Status::Suspicious);
        let a = json!({"last_analysis_stats": {"malicious": 0, "undetected": 60, "harmless": 2}});
        assert_eq!(file_verdict(&a, 3).status, Status::KnownGood);
    }
}
