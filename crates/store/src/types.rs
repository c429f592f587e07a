//! Small domain types at the store boundary, so callers cannot misspell what the store matches:
//! a tenant id normalised once ([`TenantId`]), the kinds of audit record ([`AuditKind`]) and the
//! states of an operation ([`OpState`], re-exported by the engine, which owns their meaning).
//! Both are stored as the same strings as before, so existing databases and hash chains are
//! unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An Entra tenant id (a GUID) or one of its domains, trimmed and lower-cased once, so a filter
/// matches however the caller spelled it (`ABC…`, ` abc… `, `Contoso.onmicrosoft.com`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    pub fn new(raw: &str) -> TenantId {
        TenantId(raw.trim().to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TenantId {
    fn from(raw: &str) -> TenantId {
        TenantId::new(raw)
    }
}

impl From<String> for TenantId {
    fn from(raw: String) -> TenantId {
        TenantId::new(&raw)
    }
}

/// What an audit record records. The names are the stored strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// An action was accepted; written before any upstream call.
    Attempt,
    /// A step of an action finished (its answer, or its failure).
    Outcome,
    /// A tracked action (machine action, live response) reached its terminal state.
    Completed,
    /// A file entered or left the live-response library.
    Library,
    /// An API key was created.
    KeyCreated,
    /// A hunting query was saved (a new version).
    QuerySaved,
    /// A hunting query was deleted.
    QueryDeleted,
    /// An action or bulk job was held for a second person's approval (`engine::approvals`).
    ApprovalRequested,
    /// An approver let a held action or job run.
    Approved,
    /// An approver refused a held action or job; it never runs.
    Rejected,
    /// Nobody decided on a held action or job in time; it never runs.
    ApprovalExpired,
    /// An admin ran an action the policy holds, without approval, with a justification.
    BreakGlass,
    /// A kind written by another version of Riposte, kept verbatim so the chain still verifies.
    Other(String),
}

impl AuditKind {
    const KNOWN: [AuditKind; 12] = [
        AuditKind::Attempt,
        AuditKind::Outcome,
        AuditKind::Completed,
        AuditKind::Library,
        AuditKind::KeyCreated,
        AuditKind::QuerySaved,
        AuditKind::QueryDeleted,
        AuditKind::ApprovalRequested,
        AuditKind::Approved,
        AuditKind::Rejected,
        AuditKind::ApprovalExpired,
        AuditKind::BreakGlass,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            AuditKind::Attempt => "attempt",
            AuditKind::Outcome => "outcome",
            AuditKind::Completed => "completed",
            AuditKind::Library => "library",
            AuditKind::KeyCreated => "key_created",
            AuditKind::QuerySaved => "query_saved",
            AuditKind::QueryDeleted => "query_deleted",
            AuditKind::ApprovalRequested => "approval_requested",
            AuditKind::Approved => "approved",
            AuditKind::Rejected => "rejected",
            AuditKind::ApprovalExpired => "approval_expired",
            AuditKind::BreakGlass => "break_glass",
            AuditKind::Other(s) => s,
        }
    }

    /// The kind a stored string names; unknown names are kept as `Other`.
    pub fn parse(s: &str) -> AuditKind {
        AuditKind::KNOWN.into_iter().find(|k| k.as_str() == s).unwrap_or_else(|| AuditKind::Other(s.to_string()))
    }
}

/// Total, like [`AuditKind::parse`]: a name this version does not know becomes `Other`.
impl From<&str> for AuditKind {
    fn from(s: &str) -> AuditKind {
        AuditKind::parse(s)
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuditKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuditKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AuditKind, D::Error> {
        Ok(AuditKind::parse(&String::deserialize(d)?))
    }
}

/// The lifecycle of an operation: `Queued → Running → InProgress → Succeeded |
/// PartiallySucceeded | Failed | Cancelled | Unknown` (see `engine::state` for what each means);
/// an action the approval policy holds starts `AwaitingApproval` and becomes `Queued`, `Rejected`
/// or `Expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpState {
    /// Held by the approval policy: durable, nothing sent upstream, waiting for a second person.
    AwaitingApproval,
    Queued,
    Running,
    InProgress,
    Succeeded,
    PartiallySucceeded,
    Failed,
    Cancelled,
    Unknown,
    /// An approver refused it: it never ran.
    Rejected,
    /// Nobody approved it in time: it never ran.
    Expired,
}

impl OpState {
    pub const ALL: [OpState; 11] = [
        OpState::AwaitingApproval,
        OpState::Queued,
        OpState::Running,
        OpState::InProgress,
        OpState::Succeeded,
        OpState::PartiallySucceeded,
        OpState::Failed,
        OpState::Cancelled,
        OpState::Unknown,
        OpState::Rejected,
        OpState::Expired,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OpState::AwaitingApproval => "AwaitingApproval",
            OpState::Queued => "Queued",
            OpState::Running => "Running",
            OpState::InProgress => "InProgress",
            OpState::Succeeded => "Succeeded",
            OpState::PartiallySucceeded => "PartiallySucceeded",
            OpState::Failed => "Failed",
            OpState::Cancelled => "Cancelled",
            OpState::Unknown => "Unknown",
            OpState::Rejected => "Rejected",
            OpState::Expired => "Expired",
        }
    }

    /// Parses a stored name. Older databases may hold MDE's `TimeOut`, which is a failure.
    pub fn parse(s: &str) -> Option<OpState> {
        if s.eq_ignore_ascii_case("TimeOut") {
            return Some(OpState::Failed);
        }
        OpState::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// Terminal states end waiting and tracking.
    pub const fn is_terminal(self) -> bool {
        !matches!(self, OpState::AwaitingApproval | OpState::Queued | OpState::Running | OpState::InProgress)
    }
}

impl fmt::Display for OpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_normalised_once() {
        assert_eq!(
            TenantId::new("  ABCDEF01-0000-0000-0000-00000000AAAA "),
            TenantId::new("abcdef01-0000-0000-0000-00000000aaaa")
        );
        assert_eq!(TenantId::new("Contoso.OnMicrosoft.com").as_str(), "contoso.onmicrosoft.com");
    }

    #[test]
    fn audit_kinds_round_trip_their_stored_names() {
        for k in AuditKind::KNOWN {
            assert_eq!(AuditKind::parse(k.as_str()), k);
        }
        assert_eq!(AuditKind::parse("future_kind"), AuditKind::Other("future_kind".into()));
        assert_eq!(serde_json::to_value(AuditKind::KeyCreated).unwrap(), serde_json::json!("key_created"));
    }
}
