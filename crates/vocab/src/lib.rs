//! # vocab — the words the catalog and `upstream` share
//!
//! Which API family a call goes to ([`Api`]), with which HTTP method ([`Method`]), and which
//! documented rate limit it draws from ([`Budget`]). The catalog declares calls in these words
//! and `upstream` carries them out in the same words, so nothing maps one enum onto another by
//! hand, and a new product adds a variant here once.
//!
//! A crate of its own, not a module of `catalog`, because `upstream` needs these three types and
//! nothing else of the catalog: depending on the whole action table would rebuild the HTTP layer
//! on every catalog edit and invite I/O code to read declarations it has no business with.
//! Nothing here does I/O or knows a URL: where each family lives is configuration
//! (`upstream::Clouds`).

use std::fmt;

use serde::Serialize;

/// An API family: decides (with the tenant's cloud) the base URL, the credential and token
/// audience, and the default budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Api {
    /// Defender for Endpoint (`api.securitycenter.microsoft.com`).
    Mde,
    /// Microsoft Graph: Entra ID, the security API (XDR incidents, alerts_v2, hunting), Intune,
    /// Office 365 (threat submissions), Identity (`identityAccounts`).
    Graph,
    /// Azure Resource Manager: Azure resources and Defender for Cloud.
    Arm,
    /// Defender for Cloud Apps: a per-tenant portal host (`https://{tenant}.portal.cloudappsecurity.com`).
    CloudApps,
    /// Key Vault data plane (`https://{vault}.vault.azure.net`): secrets and keys a response
    /// rotates or disables.
    KeyVault,
    /// AWS EC2 (`https://ec2.{region}.amazonaws.com`), signed with SigV4 rather than a token.
    Ec2,
    /// Exchange Online's admin REST endpoint (`https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand`),
    /// the transport of the ExchangeOnlineManagement V3 module's cmdlets; audience
    /// `https://outlook.office365.com`.
    ExchangeOnline,
}

impl Api {
    pub const ALL: [Api; 7] =
        [Api::Mde, Api::Graph, Api::Arm, Api::CloudApps, Api::KeyVault, Api::Ec2, Api::ExchangeOnline];

    /// Short, stable name: metric label, log field, configuration key.
    pub fn label(self) -> &'static str {
        match self {
            Api::Mde => "mde",
            Api::Graph => "graph",
            Api::Arm => "arm",
            Api::CloudApps => "cloud_apps",
            Api::KeyVault => "key_vault",
            Api::Ec2 => "ec2",
            Api::ExchangeOnline => "exchange_online",
        }
    }

    /// The family by its [`label`](Api::label).
    pub fn from_label(label: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.label() == label)
    }

    /// Whether calls carry a Microsoft Entra ID bearer token (every family but AWS).
    pub fn uses_entra_token(self) -> bool {
        !matches!(self, Api::Ec2)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The HTTP methods Microsoft's and AWS's APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    /// The method as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Reads only: safe to repeat, and ARM counts it against the read quota.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which documented rate limit a call draws from, beyond its family's general one.
///
/// Microsoft documents limits per endpoint group; the caller knows which endpoint it calls, so
/// it names the group, and `upstream::Budgets` holds the numbers (`upstream-apis.md` §2.10, §3,
/// §4.2, §5.2, §7). `Default` is resolved by family: MDE's 100/min + 1,500/h; Graph `/security`
/// paths the 150/min `/security` limit (and `/security/incidents` the XDR incidents limit too);
/// ARM reads, writes and deletes by method; Cloud Apps 30/min; Key Vault and EC2 their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Budget {
    /// The family's general limit.
    #[default]
    Default,
    /// MDE `runliveresponse`: 10/min.
    LiveResponse,
    /// Advanced hunting (MDE `advancedqueries/run`, XDR/Graph `runHuntingQuery`): 45/min and 1,500/h.
    Hunting,
    /// MDE `indicators/import`: 30/min.
    IndicatorImport,
    /// MDE `startInvestigation`: 50/h.
    Investigation,
    /// Defender XDR incidents: 50/min and 1,500/h (Graph `/security/incidents` draws it by path).
    Incidents,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_round_trip() {
        for api in Api::ALL {
            assert_eq!(Api::from_label(api.label()), Some(api));
        }
        assert_eq!(Api::from_label("nope"), None);
    }

    #[test]
    fn methods_spell_like_http() {
        assert_eq!(Method::Patch.to_string(), "PATCH");
        assert!(Method::Get.is_read() && !Method::Delete.is_read());
    }
}
