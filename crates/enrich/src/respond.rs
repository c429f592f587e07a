//! Optional responses to verdicts, as ordinary Riposte actions through the engine (so each is
//! accepted durably, audited, checked against the scanner's role, idempotent and reversible by
//! its catalog inverse), never as raw upstream calls:
//!
//! - **file indicators** (`AddIndicator` with a `File*` type; inverse `RemoveIndicatorByValue`):
//!   one MDE indicator per tenant and malicious hash;
//! - **incident tags** (`AddIncidentTag`: reads the incident's `customTags`, PATCHes the union;
//!   inverse `RemoveIncidentTag`): the incident of an alert with a malicious or suspicious hash
//!   gets `"{tag_prefix}: MALICIOUS"` (or `SUSPICIOUS`).
//!
//! Both are off unless `[enrichment.respond]` turns them on. Each request carries an
//! idempotency key built from what it says (tenant, hash or incident, verdict, action), so a
//! write pass repeated after a crash or a failed comment replays the same operation instead of
//! making a second one.

use std::time::Duration;

use catalog::Product;
use engine::{ActionRequest, Engine, EngineError, Principal, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::hash::{FileHash, HashKind};
use crate::verdict::{Status, Verdict};

/// `[enrichment.respond]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondConfig {
    /// Submit an MDE file indicator for each malicious hash.
    #[serde(default)]
    pub file_indicators: bool,
    /// What MDE does on a match: `Audit`, `Warn`, `Block`, `BlockAndRemediate`, `AlertAndBlock`, `Alert`.
    #[serde(default = "default_indicator_action")]
    pub indicator_action: String,
    /// Tag the incident of an alert with a malicious or suspicious hash.
    #[serde(default)]
    pub incident_tags: bool,
    #[serde(default = "default_tag_prefix")]
    pub tag_prefix: String,
    /// The name the engine audits these actions under (a responder, all tenants).
    #[serde(default = "default_principal")]
    pub principal: String,
}

fn default_indicator_action() -> String {
    "Block".to_string()
}
fn default_tag_prefix() -> String {
    "Riposte enrichment".to_string()
}
fn default_principal() -> String {
    "enrichment-scanner".to_string()
}

impl Default for RespondConfig {
    fn default() -> Self {
        RespondConfig {
            file_indicators: false,
            indicator_action: default_indicator_action(),
            incident_tags: false,
            tag_prefix: default_tag_prefix(),
            principal: default_principal(),
        }
    }
}

impl RespondConfig {
    pub fn enabled(&self) -> bool {
        self.file_indicators || self.incident_tags
    }

    /// Checks the indicator action against the catalog's list before the scanner starts.
    pub fn validate(&self) -> Result<(), String> {
        const ACTIONS: &[&str] = &["Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock"];
        if self.file_indicators && !ACTIONS.contains(&self.indicator_action.as_str()) {
            return Err(format!(
                "enrichment.respond.indicator_action `{}`: one of {}",
                self.indicator_action,
                ACTIONS.join(", ")
            ));
        }
        if self.incident_tags && self.tag_prefix.trim().is_empty() {
            return Err("enrichment.respond.tag_prefix is empty".into());
        }
        Ok(())
    }
}

/// One action the responder asked the engine for, as status shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    pub action: &'static str,
    pub operation_id: String,
    pub status: String,
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    #[error("{action} refused by the engine: {source}")]
    Engine {
        action: &'static str,
        #[source]
        source: EngineError,
    },
}

pub struct Responder {
    engine: Engine,
    cfg: RespondConfig,
    principal: Principal,
}

/// How long a write pass waits for an action; past it the operation carries on detached.
const WAIT: Duration = Duration::from_secs(20);

impl Responder {
    pub fn new(engine: Engine, cfg: RespondConfig) -> Responder {
        let principal = Principal { name: cfg.principal.clone(), role: Role::Responder, tenants: Vec::new() };
        Responder { engine, cfg, principal }
    }

    /// The actions one alert's verdicts call for. An action the engine accepted but that failed
    /// upstream is reported (and audited there), not retried: replaying its key would answer the
    /// same failed operation. An action the engine refused is an error, and the alert's
    /// write-back is retried on the next pass.
    pub async fn respond(
        &self,
        tenant: &str,
        incident_id: Option<&str>,
        lines: &[(FileHash, Verdict)],
    ) -> Result<Vec<Submitted>, RespondError> {
        let mut done = Vec::new();
        if self.cfg.file_indicators {
            for (hash, v) in lines.iter().filter(|(_, v)| v.status == Status::Malicious) {
                done.push(self.indicator(tenant, hash, v).await?);
            }
        }
        let worst = lines.iter().map(|(_, v)| v.status).min();
        if self.cfg.incident_tags
            && let (Some(incident), Some(status @ (Status::Malicious | Status::Suspicious))) = (incident_id, worst)
        {
            done.push(self.tag(tenant, incident, status).await?);
        }
        Ok(done)
    }

    async fn indicator(&self, tenant: &str, hash: &FileHash, v: &Verdict) -> Result<Submitted, RespondError> {
        let threat = v.threat_name.as_deref().unwrap_or("malicious file");
        let ty = match hash.kind {
            HashKind::Md5 => "FileMd5",
            HashKind::Sha1 => "FileSha1",
            HashKind::Sha256 => "FileSha256",
        };
        let params = json!({
            "indicatorValue": hash.value,
            "indicatorType": ty,
            "indicatorAction": self.cfg.indicator_action,
            "title": truncate(&format!("{}: {threat}", self.cfg.tag_prefix), 250),
            "description": truncate(&format!("{}: MALICIOUS {threat}. Submitted by the Riposte enrichment scanner.", v.source), 1000),
            "severity": "High",
        });
        let key = format!("enrich:indicator:{}:{}:{}", hash.value, self.cfg.indicator_action, threat);
        self.run(tenant, "AddIndicator", params, key).await
    }

    async fn tag(&self, tenant: &str, incident: &str, status: Status) -> Result<Submitted, RespondError> {
        let tag = format!("{}: {}", self.cfg.tag_prefix, status.as_str().to_ascii_uppercase());
        let params = json!({"incidentId": incident, "customTags": [tag]});
        let key = format!("enrich:tag:{incident}:{tag}");
        self.run(tenant, "AddIncidentTag", params, key).await
    }

    async fn run(
        &self,
        tenant: &str,
        action: &'static str,
        params: Value,
        key: String,
    ) -> Result<Submitted, RespondError> {
        let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
        let req = ActionRequest {
            tenant: tenant.to_string(),
            product: Some(if action == "AddIndicator" { Product::Mde } else { Product::Incident }),
            action: action.to_string(),
            params,
            principal: self.principal.clone(),
            idempotency_key: Some(key),
            wait: Some(WAIT),
            reveal: false,
        };
        let out = self.engine.execute(req).await.map_err(|source| RespondError::Engine { action, source })?;
        if out.status != engine::status::SUCCEEDED && engine::status::is_terminal(&out.status) {
            tracing::warn!(tenant, action, operation = %out.operation_id, status = %out.status, "enrichment response did not succeed");
        }
        Ok(Submitted { action, operation_id: out.operation_id.to_string(), status: out.status, replayed: out.replayed })
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_checked() {
        let c: RespondConfig = serde_json::from_value(json!({})).expect("defaults");
        assert!(!c.enabled());
        assert_eq!(c.indicator_action, "Block");
        let bad: RespondConfig =
            serde_json::from_value(json!({"file_indicators": true, "indicator_action": "Nuke"})).expect("parses");
        assert!(bad.validate().unwrap_err().contains("indicator_action `Nuke`"));
        assert!(serde_json::from_value::<RespondConfig>(json!({"file_indicator": true})).is_err());
    }
}
