//! Threat-intelligence providers behind one trait, each with its real API and auth
//! (enrichment.md §2), and the [`Gate`] every provider is called through: its rate limit, its
//! daily quota, and the back-off after a 429 or an exhausted quota, all visible in status.
//!
//! A provider turns hashes into normalised [`Verdict`]s and says nothing about caching or
//! order; `lookup.rs` decides who is asked (providers in configured order, the next one when the
//! answer is unknown or the provider is unavailable).

mod gate;
mod malwarebazaar;
mod misp;
mod reversinglabs;
mod virustotal;

use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use gate::{Gate, GateStatus, Limits, Unavailable};
pub use malwarebazaar::MalwareBazaar;
pub use misp::Misp;
pub use reversinglabs::{ReversingLabs, SpectraAnalyze};
pub use virustotal::VirusTotal;

use crate::hash::FileHash;
use crate::verdict::Verdict;

/// Why a provider gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// 429, or the provider says the quota is spent: back off (until `retry_after`, else until
    /// the daily reset when `quota`).
    #[error("rate limited{}", if *quota { " (quota exhausted)" } else { "" })]
    RateLimited { retry_after: Option<Duration>, quota: bool },
    /// 401/403: our credentials are refused. Not retried until the back-off passes.
    #[error("credentials refused: HTTP {status}")]
    Auth { status: u16 },
    #[error("transport: {0}")]
    Transport(String),
    /// An answer we cannot read (documented shape not met).
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// One threat-intelligence source.
pub trait Provider: Send + Sync {
    /// Display name used in comments and status (`ReversingLabs`).
    fn name(&self) -> &'static str;
    /// Most hashes one call may carry (RL bulk: 100 of one type; VirusTotal: 1).
    fn batch_size(&self) -> usize {
        1
    }
    /// Verdicts for `hashes` (at most `batch_size`, all of one algorithm). A hash the provider
    /// does not know is answered `Unknown`, never left out.
    fn lookup<'a>(&'a self, hashes: &'a [FileHash]) -> BoxFuture<'a, Result<Vec<(FileHash, Verdict)>, ProviderError>>;
}

/// Which API a configured provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// Spectra Intelligence TCA-0101 bulk file reputation (Basic auth).
    Reversinglabs,
    /// Spectra Analyze (A1000) classification v3 (`Authorization: Token`).
    SpectraAnalyze,
    Virustotal,
    Malwarebazaar,
    Misp,
}

/// One `[[enrichment.providers]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// API root: `https://data.reversinglabs.com`, `https://www.virustotal.com`,
    /// `https://mb-api.abuse.ch`, the MISP or A1000 host.
    pub base_url: String,
    /// RL Spectra Intelligence user name (Basic auth).
    #[serde(default)]
    pub username: Option<String>,
    /// The API key, token or password. Never logged.
    pub secret: SecretString,
    #[serde(default)]
    pub per_minute: Option<u32>,
    /// Lookups per UTC day; none = unlimited by contract (MISP, a premium key).
    #[serde(default)]
    pub daily_quota: Option<u64>,
    /// VirusTotal: engines that must flag a file for MALICIOUS (fewer is SUSPICIOUS).
    #[serde(default)]
    pub malicious_threshold: Option<u32>,
}

impl ProviderConfig {
    /// The documented limits unless configured (enrichment.md §2.6).
    pub fn limits(&self) -> Limits {
        let (per_minute, daily) = match self.kind {
            ProviderKind::Reversinglabs => (30_000, None),
            ProviderKind::SpectraAnalyze => (600, Some(10_000)),
            ProviderKind::Virustotal => (4, Some(500)),
            ProviderKind::Malwarebazaar => (60, None),
            ProviderKind::Misp => (600, None),
        };
        Limits { per_minute: self.per_minute.unwrap_or(per_minute), daily_quota: self.daily_quota.or(daily) }
    }

    /// Builds the provider on the shared HTTP client.
    pub fn build(&self, http: reqwest::Client) -> Result<Box<dyn Provider>, String> {
        let base = self.base_url.trim_end_matches('/').to_string();
        url::Url::parse(&base).map_err(|e| format!("provider base_url `{base}`: {e}"))?;
        let secret = self.secret.clone();
        Ok(match self.kind {
            ProviderKind::Reversinglabs => {
                let user = self.username.clone().ok_or("reversinglabs needs `username` (Basic auth)")?;
                Box::new(ReversingLabs::new(http, base, user, secret))
            }
            ProviderKind::SpectraAnalyze => Box::new(SpectraAnalyze::new(http, base, secret)),
            ProviderKind::Virustotal => {
                Box::new(VirusTotal::new(http, base, secret, self.malicious_threshold.unwrap_or(3)))
            }
            ProviderKind::Malwarebazaar => Box::new(MalwareBazaar::new(http, base, secret)),
            ProviderKind::Misp => Box::new(Misp::new(http, base, secret)),
        })
    }
}

/// Maps the statuses every provider shares: 401/403 auth, 429 back-off, 5xx transport.
pub(crate) fn check_status(resp: &reqwest::Response) -> Result<(), ProviderError> {
    let status = resp.status().as_u16();
    match status {
        401 | 403 => Err(ProviderError::Auth { status }),
        429 => Err(ProviderError::RateLimited { retry_after: retry_after(resp), quota: quota_hint(resp) }),
        s if s >= 500 => Err(ProviderError::Transport(format!("HTTP {s}"))),
        _ => Ok(()),
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A 429 without `Retry-After` is a spent quota (RL and VirusTotal answer so when the day's
/// quota is used); with it, a short rate limit.
fn quota_hint(resp: &reqwest::Response) -> bool {
    resp.headers().get(reqwest::header::RETRY_AFTER).is_none()
}

pub(crate) fn transport(e: reqwest::Error) -> ProviderError {
    ProviderError::Transport(e.without_url().to_string())
}

/// Unix seconds as RFC 3339 (VirusTotal and MISP dates).
pub(crate) fn unix_to_rfc3339(secs: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.format(&time::format_description::well_known::Rfc3339).ok()
}
