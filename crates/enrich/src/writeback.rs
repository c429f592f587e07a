//! Write-back through Graph security: one concise comment per alert covering all its hashes
//! (`POST /v1.0/security/alerts_v2/{id}/comments`), through `upstream` (tokens, the `/security`
//! budget of 150 calls/min per tenant, 429s after `Retry-After`).
//!
//! POST has no idempotency key, so every comment ends with a stable marker,
//! `[riposte-enrich {digest}]`, where the digest covers each hash and its verdict. Before posting,
//! the alert is read and its comments searched for the marker: a retry after an uncertain POST
//! (a timeout, a crash before the ledger was written) adopts the comment that landed instead of
//! posting a second one. The ledger (`enrichment_writebacks`) then holds the digest, so the same
//! verdicts are never posted to an alert again, and changed verdicts are.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{PendingAlert, Store, StoreError, Writeback};
use time::OffsetDateTime;
use upstream::{Api, ApiRequest, TenantCredentials, Upstream, UpstreamError};

use crate::hash::{FileHash, HashKind};
use crate::metrics::Metrics;
use crate::respond::{RespondError, Responder};
use crate::verdict::{Status, Verdict};

/// Marker prefix; the version lets a later format be told apart.
const MARKER: &str = "[riposte-enrich v1 ";

/// What happened to one alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Posted,
    /// Our marker was already there (an earlier POST landed): recorded, not posted again.
    Adopted,
    /// The ledger already holds these verdicts.
    Unchanged,
    /// No hash reaches the configured minimum status: nothing to say.
    Quiet,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Posted => "posted",
            Outcome::Adopted => "adopted",
            Outcome::Unchanged => "unchanged",
            Outcome::Quiet => "quiet",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no credentials configured for tenant {0}")]
    UnknownTenant(String),
    #[error("graph: {0}")]
    Graph(#[from] UpstreamError),
    #[error("ledger: {0}")]
    Store(#[from] StoreError),
    #[error("no verdict for {0}")]
    MissingVerdict(String),
    #[error(transparent)]
    Respond(#[from] RespondError),
}

pub struct Writer {
    upstream: Upstream,
    tenants: HashMap<String, TenantCredentials>,
    store: Store,
    /// Hashes below this status are left out of the comment (default: all, unknown included).
    min_status: Status,
    /// File indicators and incident tags, when `[enrichment.respond]` turns them on.
    responder: Option<Responder>,
    metrics: Arc<Metrics>,
}

impl Writer {
    pub fn new(
        upstream: Upstream,
        tenants: Vec<TenantCredentials>,
        store: Store,
        min_status: Status,
        responder: Option<Responder>,
        metrics: Arc<Metrics>,
    ) -> Writer {
        let tenants = tenants.into_iter().map(|c| (c.tenant_id.trim().to_ascii_lowercase(), c)).collect();
        Writer { upstream, tenants, store, min_status, responder, metrics }
    }

    /// Writes one alert's verdicts, at most once per distinct set of verdicts.
    pub async fn write(
        &self,
        alert: &PendingAlert,
        verdicts: &HashMap<String, Verdict>,
    ) -> Result<Outcome, WriteError> {
        let lines = self.lines(alert, verdicts)?;
        let digest = digest(&lines);
        let ledger = self.store.writeback(&alert.tenant, &alert.alert_id).await?;
        if ledger.as_ref().is_some_and(|w| w.digest == digest) {
            self.record(alert, &digest, &ledger.map(|w| w.comment).unwrap_or_default(), Outcome::Unchanged).await?;
            return Ok(Outcome::Unchanged);
        }
        if lines.is_empty() {
            self.record(alert, &digest, "", Outcome::Quiet).await?;
            return Ok(Outcome::Quiet);
        }
        let comment = compose(&lines, &digest);
        let creds = self.tenants.get(&alert.tenant).ok_or_else(|| WriteError::UnknownTenant(alert.tenant.clone()))?;
        let path = format!("/v1.0/security/alerts_v2/{}", alert.alert_id);
        let current = self.upstream.call(creds, ApiRequest::get(Api::Graph, path.clone())).await?;
        let outcome = if has_marker(&current.body, &digest) {
            Outcome::Adopted
        } else {
            let body = json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": comment});
            self.upstream.call(creds, ApiRequest::post(Api::Graph, format!("{path}/comments"), body)).await?;
            Outcome::Posted
        };
        // Before the ledger: a crash or a refused action here retries the alert, which adopts
        // the comment by its marker and replays the actions by their idempotency keys.
        if let Some(responder) = &self.responder {
            let incident = current.body.get("incidentId").and_then(id_text).or_else(|| alert.incident_id.clone());
            let found: Vec<(FileHash, Verdict)> = lines.iter().map(|l| (l.hash.clone(), l.verdict.clone())).collect();
            for s in responder.respond(&alert.tenant, incident.as_deref(), &found).await? {
                let labels = vec![("action".to_string(), s.action.to_string()), ("status".to_string(), s.status)];
                self.metrics.responses.get_or_create(&labels).inc();
            }
        }
        self.record(alert, &digest, &comment, outcome).await?;
        Ok(outcome)
    }

    /// One line per hash at or above the minimum status, worst first.
    fn lines(&self, alert: &PendingAlert, verdicts: &HashMap<String, Verdict>) -> Result<Vec<Line>, WriteError> {
        let mut lines = Vec::new();
        for (kind, hash) in &alert.hashes {
            let v = verdicts.get(hash).ok_or_else(|| WriteError::MissingVerdict(hash.clone()))?;
            if v.status <= self.min_status {
                let kind = HashKind::parse(kind).unwrap_or(HashKind::Sha1);
                lines.push(Line { hash: FileHash { kind, value: hash.clone() }, verdict: v.clone() });
            }
        }
        lines.sort_by(|a, b| a.verdict.status.cmp(&b.verdict.status).then(a.hash.cmp(&b.hash)));
        Ok(lines)
    }

    async fn record(
        &self,
        alert: &PendingAlert,
        digest: &str,
        comment: &str,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        self.store
            .record_writeback(&Writeback {
                tenant: alert.tenant.clone(),
                alert_id: alert.alert_id.clone(),
                hash_count: alert.hash_count,
                digest: digest.to_string(),
                comment: comment.to_string(),
                outcome: outcome.as_str().to_string(),
                posted_at: OffsetDateTime::now_utc(),
            })
            .await
    }
}

struct Line {
    hash: FileHash,
    verdict: Verdict,
}

/// The stable identity of what a comment says: each hash with its status and threat name.
/// Detection counts and dates are left out, so a re-scan that moves 44/47 to 45/47 is not news.
fn digest(lines: &[Line]) -> String {
    let mut h = Sha256::new();
    let mut keys: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{}:{}:{}:{}",
                l.hash.kind,
                l.hash.value,
                l.verdict.status.as_str(),
                l.verdict.threat_name.as_deref().unwrap_or("")
            )
        })
        .collect();
    keys.sort();
    for k in keys {
        h.update(k.as_bytes());
        h.update(b"\n");
    }
    hex::encode(&h.finalize()[..8])
}

/// `Riposte enrichment: 2 file hashes` / one line per hash / the marker.
fn compose(lines: &[Line], digest: &str) -> String {
    let mut s = format!("Riposte enrichment: {} file hash{}", lines.len(), if lines.len() == 1 { "" } else { "es" });
    for l in lines {
        s.push_str(&format!(
            "\n{} {}: {}",
            l.hash.kind.as_str().to_ascii_uppercase(),
            l.hash.value,
            l.verdict.summary()
        ));
    }
    s.push_str(&format!("\n{MARKER}{digest}]"));
    s
}

/// Graph ids are strings; an older shape may carry a number.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether the alert (Graph `alert` JSON) already carries our comment with this digest.
fn has_marker(alert: &Value, digest: &str) -> bool {
    let needle = format!("{MARKER}{digest}]");
    alert.get("comments").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| c.get("comment").and_then(Value::as_str).is_some_and(|t| t.contains(&needle)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(hash: &str, status: Status) -> Line {
        let mut v = Verdict::unknown("ReversingLabs");
        v.status = status;
        Line { hash: FileHash::guess(hash).expect("hash"), verdict: v }
    }

    #[test]
    fn comment_and_marker() {
        let lines = vec![
            line("d481dfae3461afc11d7441b5b83c8411e079ace8", Status::Malicious),
            line("85e620855918916962d8fc9e144c705e", Status::Unknown),
        ];
        let d = digest(&lines);
        let c = compose(&lines, &d);
        assert!(c.starts_with("Riposte enrichment: 2 file hashes\nSHA1 d481dfae3461afc11d7441b5b83c8411e079ace8: ReversingLabs: MALICIOUS\n"));
        assert!(c.ends_with(&format!("[riposte-enrich v1 {d}]")));
        assert!(has_marker(&json!({"comments": [{"comment": "other"}, {"comment": c}]}), &d));
        assert!(!has_marker(&json!({"comments": [{"comment": "other"}]}), &d));
        // Order does not matter; a changed verdict does.
        let mut rev = vec![
            line("85e620855918916962d8fc9e144c705e", Status::Unknown),
            line("d481dfae3461afc11d7441b5b83c8411e079ace8", Status::Malicious),
        ];
        assert_eq!(digest(&rev), d);
        rev[0].verdict.status = Status::Suspicious;
        assert_ne!(digest(&rev), d);
    }
}
