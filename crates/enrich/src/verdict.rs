//! One normalised verdict for every provider (enrichment.md §2.7): what a comment says, what
//! the history stores, and what decides how long a lookup is trusted.

use serde::{Deserialize, Serialize};
use time::Duration;

/// Worst first: merging verdicts keeps the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Malicious,
    Suspicious,
    KnownGood,
    Unknown,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Malicious, Status::Suspicious, Status::KnownGood, Status::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Malicious => "malicious",
            Status::Suspicious => "suspicious",
            Status::KnownGood => "known-good",
            Status::Unknown => "unknown",
        }
    }

    /// How the comment spells it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Malicious => "MALICIOUS",
            Status::Suspicious => "SUSPICIOUS",
            Status::KnownGood => "KNOWN-GOOD",
            Status::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s) || v.label().eq_ignore_ascii_case(s))
    }

    /// Is a provider's answer final? Unknown asks the next provider.
    pub fn is_definitive(self) -> bool {
        self != Status::Unknown
    }
}

/// AV engines that detected the file out of those that scanned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detections {
    pub detected: u32,
    pub scanned: u32,
}

/// A provider's answer for one hash, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub status: Status,
    pub threat_name: Option<String>,
    pub detections: Option<Detections>,
    /// As the provider wrote it (RFC 3339 where the provider gives a date).
    pub first_seen: Option<String>,
    /// The provider's display name (`ReversingLabs`, `VirusTotal`, ...), or `none` when no
    /// provider could answer.
    pub source: String,
    /// Providers skipped because they were at quota, backing off or refusing our credentials:
    /// an unknown with skips is retried sooner (it may not be unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl Verdict {
    pub fn unknown(source: &str) -> Verdict {
        Verdict {
            status: Status::Unknown,
            threat_name: None,
            detections: None,
            first_seen: None,
            source: source.to_string(),
            skipped: Vec::new(),
        }
    }

    /// One line of the comment: `ReversingLabs: MALICIOUS Win32.Trojan.X (44/47), first seen 2024-01-02`.
    pub fn summary(&self) -> String {
        let mut s = format!("{}: {}", self.source, self.status.label());
        if let Some(name) = &self.threat_name {
            s.push(' ');
            s.push_str(name);
        }
        if let Some(d) = self.detections {
            s.push_str(&format!(" ({}/{})", d.detected, d.scanned));
        }
        if let Some(first) = &self.first_seen {
            s.push_str(&format!(", first seen {first}"));
        }
        s
    }
}

/// How long a verdict is trusted before the hash is looked up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ttls {
    pub malicious_secs: i64,
    pub suspicious_secs: i64,
    pub known_good_secs: i64,
    pub unknown_secs: i64,
    /// An unknown reached while some provider was unavailable: short, so the hash catches up
    /// when the quota returns.
    pub degraded_secs: i64,
}

impl Default for Ttls {
    /// enrichment.md §5.3: malicious 7 d, suspicious 24 h, known 30 d, unknown 12 h.
    fn default() -> Self {
        Ttls {
            malicious_secs: 7 * 86_400,
            suspicious_secs: 86_400,
            known_good_secs: 30 * 86_400,
            unknown_secs: 12 * 3_600,
            degraded_secs: 10 * 60,
        }
    }
}

impl Ttls {
    pub fn for_verdict(&self, v: &Verdict) -> Duration {
        let secs = match v.status {
            Status::Malicious => self.malicious_secs,
            Status::Suspicious => self.suspicious_secs,
            Status::KnownGood => self.known_good_secs,
            Status::Unknown if !v.skipped.is_empty() => self.degraded_secs,
            Status::Unknown => self.unknown_secs,
        };
        Duration::seconds(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_like_the_issue() {
        let v = Verdict {
            status: Status::Malicious,
            threat_name: Some("Win32.Trojan.X".into()),
            detections: Some(Detections { detected: 44, scanned: 47 }),
            first_seen: Some("2024-01-02T03:04:05Z".into()),
            source: "ReversingLabs".into(),
            skipped: vec![],
        };
        assert_eq!(v.summary(), "ReversingLabs: MALICIOUS Win32.Trojan.X (44/47), first seen 2024-01-02T03:04:05Z");
        assert_eq!(Verdict::unknown("MalwareBazaar").summary(), "MalwareBazaar: UNKNOWN");
    }

    #[test]
    fn ttl_is_short_for_a_degraded_unknown() {
        let t = Ttls::default();
        let mut v = Verdict::unknown("none");
        assert_eq!(t.for_verdict(&v), Duration::hours(12));
        v.skipped.push("VirusTotal".into());
        assert_eq!(t.for_verdict(&v), Duration::minutes(10));
        assert!(Status::Malicious < Status::Unknown);
    }
}
