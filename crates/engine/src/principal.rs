//! Who is asking, and what they may do.

use catalog::Risk;
use serde::{Deserialize, Serialize};

/// A key's role. Policy keys off the action's risk class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads only.
    Reader,
    /// Reads, containment and remediation; not destructive actions.
    Responder,
    /// Everything, including destructive actions and key management.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reader" => Some(Role::Reader),
            "responder" => Some(Role::Responder),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    /// The highest risk class this role may run.
    pub fn ceiling(self) -> Risk {
        match self {
            Role::Reader => Risk::Read,
            Role::Responder => Risk::Remediate,
            Role::Admin => Risk::Destructive,
        }
    }

    pub fn allows(self, risk: Risk) -> bool {
        risk <= self.ceiling()
    }
}

/// The authenticated caller: a named key with a role and a tenant scope.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    /// The key's name; this is what the audit records as "who".
    pub name: String,
    pub role: Role,
    /// Tenants this key may act on; empty means every tenant.
    pub tenants: Vec<String>,
}

impl Principal {
    pub fn may_access(&self, tenant: &str) -> bool {
        self.tenants.is_empty() || self.tenants.iter().any(|t| t.eq_ignore_ascii_case(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_risk() {
        assert!(Role::Reader.allows(Risk::Read));
        assert!(!Role::Reader.allows(Risk::Contain));
        assert!(Role::Responder.allows(Risk::Remediate));
        assert!(!Role::Responder.allows(Risk::Destructive));
        assert!(Role::Admin.allows(Risk::Destructive));
    }

    #[test]
    fn empty_scope_means_all_tenants() {
        let p = Principal { name: "k".into(), role: Role::Reader, tenants: vec![] };
        assert!(p.may_access("any"));
        let p = Principal { tenants: vec!["T1".into()], ..p };
        assert!(p.may_access("t1"));
        assert!(!p.may_access("t2"));
    }
}
