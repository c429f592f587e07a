//! The audit chain's key and its external anchor (issue 15 §1).
//!
//! The key ([`store::audit_key`]) makes each record's hash an HMAC, so a chain recomputed
//! forward without the key fails `audit verify`. It comes from `RIPOSTE_AUDIT_KEY` (hex), else
//! from the file `RIPOSTE_AUDIT_KEY_FILE` names, else from `{data}/audit.key`, generated with
//! mode 0600 on first start.
//!
//! The anchor covers what a key cannot: someone holding the key (or a backup of the database)
//! could wipe the chain and reset the head. Every [`ANCHOR_INTERVAL`] (and at start) the head
//! `(seq, hash)` is appended as a JSON line to an append-only file outside the database:
//! `RIPOSTE_AUDIT_ANCHOR`, else `{data}/audit-anchor.log`, and logged at `info` on the
//! `riposte::audit_anchor` target (ship that to syslog to keep a copy off the machine). Point
//! the file at storage the gateway's account cannot rewrite (`chattr +a`, a WORM mount).
//! `riposte audit verify` then checks every anchored head: the row at that `seq` must still
//! carry that hash.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::Store;
use store::audit_key::AuditKey;

/// How often the head is anchored while the gateway runs.
pub const ANCHOR_INTERVAL: Duration = Duration::from_secs(60);

/// One anchored head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub at: String,
    pub seq: i64,
    pub hash: String,
    /// Fingerprint of the key the hash is under (never the key).
    pub key: String,
}

/// The chain key: environment, named file, or `{data}/audit.key` (created on first start).
pub fn load_key(data_dir: &Path) -> anyhow::Result<AuditKey> {
    if let Ok(hex) = std::env::var("RIPOSTE_AUDIT_KEY") {
        return AuditKey::from_hex(&hex).context("RIPOSTE_AUDIT_KEY");
    }
    let path =
        std::env::var_os("RIPOSTE_AUDIT_KEY_FILE").map(PathBuf::from).unwrap_or_else(|| data_dir.join("audit.key"));
    AuditKey::load_or_create(&path).with_context(|| format!("the audit key {}", path.display()))
}

/// Where anchors go.
pub fn anchor_path(data_dir: &Path) -> PathBuf {
    std::env::var_os("RIPOSTE_AUDIT_ANCHOR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("audit-anchor.log"))
}

/// Every anchor written so far (a missing file is none; an unreadable line is an error).
pub fn read_anchors(path: &Path) -> anyhow::Result<Vec<Anchor>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut anchors = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        anchors.push(
            serde_json::from_str(&line).with_context(|| format!("{} line {}: not an anchor", path.display(), i + 1))?,
        );
    }
    Ok(anchors)
}

/// Keys the store's chain, re-keying a chain written before keys existed only when no anchor
/// says it was keyed already. Nothing is anchored here: `audit verify` opens the store too,
/// and must check the anchors before anything new is written to them.
pub async fn key_store(store: &mut Store, data_dir: &Path) -> anyhow::Result<()> {
    let key = load_key(data_dir)?;
    let path = anchor_path(data_dir);
    let anchored = !read_anchors(&path)?.is_empty();
    let keying = store.use_audit_key(key, !anchored).await.context("keying the audit chain")?;
    if let store::audit_key::Keying::Rekeyed(rows) = keying {
        tracing::warn!(rows, "the audit chain was re-keyed (migration 0017): its hashes are now HMACs under the key");
    }
    Ok(())
}

/// `riposte audit verify`: the chain under its key, then every anchor.
pub async fn verify(store: &Store, data_dir: &Path) -> anyhow::Result<store::VerifyReport> {
    let mut report = store.verify_audit().await?;
    let problems = check_anchors(store, &anchor_path(data_dir)).await?;
    report.ok &= problems.is_empty();
    report.problems.extend(problems);
    Ok(report)
}

/// Appends the current head to the anchor file, unless the last anchor already says it.
pub async fn anchor_head(store: &Store, path: &Path) -> anyhow::Result<()> {
    let Some((seq, hash)) = store.audit_head().await? else { return Ok(()) };
    let last = read_anchors(path)?.pop();
    if last.as_ref().is_some_and(|a| a.seq == seq && a.hash == hash) {
        return Ok(());
    }
    let anchor = Anchor {
        at: time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        seq,
        hash,
        key: store.audit_key_fingerprint().unwrap_or_default(),
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(&anchor)?)?;
    file.sync_all()?;
    tracing::info!(target: "riposte::audit_anchor", seq = anchor.seq, hash = %anchor.hash, "audit head anchored");
    Ok(())
}

/// `[audit]` of the config file: where else the head is anchored.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// An HTTPS endpoint the head is POSTed to at start and every [`ANCHOR_INTERVAL`] (a SIEM's
    /// HTTP collector, a WORM store's ingest): a copy the gateway's host cannot rewrite.
    /// `RIPOSTE_AUDIT_ANCHOR_WEBHOOK` wins.
    pub anchor_webhook: Option<String>,
}

/// The webhook anchors go to: the environment, else `[audit] anchor_webhook`.
pub fn webhook_url(section: Option<&AuditSection>) -> Option<String> {
    std::env::var("RIPOSTE_AUDIT_ANCHOR_WEBHOOK")
        .ok()
        .or_else(|| section.and_then(|s| s.anchor_webhook.clone()))
        .filter(|u| !u.trim().is_empty())
}

/// How long one webhook POST may take: a slow collector must not hold the next anchor back.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs the current head to the webhook as JSON (`{source, at, seq, hash, key}`); anything
/// but a 2xx is an error (logged by the caller, retried at the next tick).
pub async fn post_head(store: &Store, client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let Some((seq, hash)) = store.audit_head().await? else { return Ok(()) };
    let body = serde_json::json!({
        "source": "riposte",
        "at": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        "seq": seq,
        "hash": hash,
        "key": store.audit_key_fingerprint().unwrap_or_default(),
    });
    let resp = client
        .post(url)
        .timeout(WEBHOOK_TIMEOUT)
        .json(&body)
        .send()
        .await
        // Without the URL: it may carry a token.
        .map_err(|e| anyhow::anyhow!("the anchor webhook: {}", e.without_url()))?;
    anyhow::ensure!(resp.status().is_success(), "the anchor webhook answered {}", resp.status());
    tracing::info!(target: "riposte::audit_anchor", seq, "audit head posted to the anchor webhook");
    Ok(())
}

/// Anchors the head now and then every [`ANCHOR_INTERVAL`] for as long as the process runs:
/// to the file (`audit verify` checks against it) and, when one is configured, to the webhook.
pub async fn start_anchoring(store: Store, path: PathBuf, webhook: Option<String>) -> anyhow::Result<()> {
    anchor_head(&store, &path).await?;
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ANCHOR_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = anchor_head(&store, &path).await {
                tracing::error!(error = %format!("{e:#}"), "anchoring the audit head failed");
            }
            if let Some(url) = &webhook
                && let Err(e) = post_head(&store, &client, url).await
            {
                // The URL may carry a token in its query: only the error's own text is logged.
                tracing::error!(error = %format!("{e:#}"), "posting the audit head to the anchor webhook failed");
            }
        }
    });
    Ok(())
}

/// What the anchors say about the chain: every anchored row must still carry its hash, and
/// the head must not be behind the newest anchor.
pub async fn check_anchors(store: &Store, path: &Path) -> anyhow::Result<Vec<String>> {
    let anchors = read_anchors(path)?;
    let mut problems = Vec::new();
    let head = store.audit_head().await?.map(|(seq, _)| seq).unwrap_or(0);
    if let Some(newest) = anchors.iter().map(|a| a.seq).max()
        && head < newest
    {
        problems.push(format!(
            "anchor mismatch: the head is at seq {head}, behind the anchored seq {newest} (rows wiped or head reset)"
        ));
    }
    for a in anchors.iter().filter(|a| a.seq > 0) {
        match store.audit_hash_at(a.seq).await? {
            Some(h) if h == a.hash => {}
            Some(_) => problems.push(format!(
                "anchor mismatch: seq {} no longer has the hash anchored at {} (chain rewritten)",
                a.seq, a.at
            )),
            None => problems.push(format!("anchor mismatch: seq {} anchored at {} is gone (rows wiped)", a.seq, a.at)),
        }
    }
    Ok(problems)
}
