//! The policy file, re-read when it changes.
//!
//! Every [`POLL`] the file is read again and compared with the text last seen (a policy file is
//! a few hundred bytes, so reading beats trusting modification times, which a quick edit within
//! the same tick, or a copy that keeps the time, would hide). Changed text is parsed; a policy
//! that parses replaces the one in force, one that does not keeps the previous policy, logs the
//! error and shows it in [`Source::describe`] (`GET /v1/approvals/policy`), with the
//! `riposte_approvals{event="policy_refused"}` counter. No file-watcher crate: one small read a
//! second costs nothing, works on every filesystem (including network mounts and Kubernetes'
//! symlink-swapped ConfigMaps, where inotify misses the change), and adds no dependency.

use super::Policy;
use crate::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// How often the file is read again.
pub const POLL: Duration = Duration::from_secs(1);

/// Where the policy came from and how its last read went.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    path: PathBuf,
    /// The text of the policy in force.
    text: String,
    loaded_at: OffsetDateTime,
    /// The text last seen, when it differs from the one in force and was refused.
    refused: Option<String>,
    error: Option<String>,
}

impl Source {
    pub(crate) fn describe(&self) -> Value {
        json!({
            "path": self.path.display().to_string(),
            "loadedAt": self.loaded_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "error": self.error,
        })
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn parse(path: &Path, text: &str) -> Result<Policy, String> {
    Policy::parse(text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Load the policy at `path` now (an error if it cannot be used: there is nothing to keep) and
/// watch it from then on.
pub(crate) fn start(engine: &Engine, path: PathBuf) -> Result<(), String> {
    let text = read(&path)?;
    let policy = parse(&path, &text)?;
    let rt = &engine.inner.approvals;
    rt.set_policy(policy);
    *rt.source.lock() =
        Some(Source { path: path.clone(), text, loaded_at: OffsetDateTime::now_utc(), refused: None, error: None });
    engine.inner.metrics.approvals.count("policy_loaded");
    tracing::info!(path = %path.display(), "approval policy loaded");
    let engine = engine.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            poll(&engine, &path);
        }
    });
    Ok(())
}

/// One look at the file: reload when its text changed.
fn poll(engine: &Engine, path: &Path) {
    let rt = &engine.inner.approvals;
    let seen = read(path);
    let mut source = rt.source.lock();
    let Some(src) = source.as_mut() else { return };
    let text = match seen {
        Ok(t) => t,
        Err(e) => {
            if src.error.as_deref() != Some(e.as_str()) {
                tracing::error!(error = %e, "approval policy: keeping the previous policy");
                engine.inner.metrics.approvals.count("policy_refused");
                src.error = Some(e);
            }
            return;
        }
    };
    if text == src.text {
        src.error = None; // back to the text in force (a refused edit was undone)
        src.refused = None;
        return;
    }
    if src.refused.as_deref() == Some(text.as_str()) {
        return; // refused already; said once
    }
    match parse(path, &text) {
        Ok(policy) => {
            rt.set_policy(policy);
            *src = Source {
                path: path.to_path_buf(),
                text,
                loaded_at: OffsetDateTime::now_utc(),
                refused: None,
                error: None,
            };
            engine.inner.metrics.approvals.count("policy_loaded");
            tracing::info!(path = %path.display(), "approval policy reloaded");
        }
        Err(e) => {
            tracing::error!(error = %e, "approval policy: the changed file is refused; keeping the previous policy");
            engine.inner.metrics.approvals.count("policy_refused");
            src.refused = Some(text);
            src.error = Some(e);
        }
    }
}
