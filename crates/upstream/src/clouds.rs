//! Where each API family lives, per sovereign cloud: a map from [`Api`] to its base URL and
//! token audience, plus the Entra ID authority that issues the tokens.
//!
//! Always configuration (invariant 5): the sandbox is just another cloud. A tenant lives in one
//! [`Cloud`] (public, GCC, GCC High, DoD, China); [`Clouds::of`] gives Microsoft's hosts for it,
//! and configuration may replace any base URL (the sandbox, a regional MDE host) or add the ones
//! that are per tenant by nature (the Cloud Apps portal, a Key Vault, an AWS region). The token
//! audience stays the cloud's own when a base is replaced, so a sandbox base still asks for
//! `https://graph.microsoft.com/.default`.
//!
//! Hosts per cloud (learn.microsoft.com `graph/deployments`, `defender-endpoint/gov`; ARM and
//! Key Vault from the Azure SDK environment tables):
//!
//! | cloud | login | Graph | MDE | ARM | Key Vault audience |
//! |---|---|---|---|---|---|
//! | public | login.microsoftonline.com | graph.microsoft.com | api.securitycenter.microsoft.com | management.azure.com | vault.azure.net |
//! | GCC | login.microsoftonline.com | graph.microsoft.com | api-gcc.securitycenter.microsoft.us | management.azure.com | vault.azure.net |
//! | GCC High | login.microsoftonline.us | graph.microsoft.us | api-gov.securitycenter.microsoft.us | management.usgovcloudapi.net | vault.usgovcloudapi.net |
//! | DoD | login.microsoftonline.us | dod-graph.microsoft.us | api-gov.securitycenter.microsoft.us | management.usgovcloudapi.net | vault.usgovcloudapi.net |
//! | China | login.chinacloudapi.cn | microsoftgraph.chinacloudapi.cn | (none: MDE is not offered) | management.chinacloudapi.cn | vault.azure.cn |
//!
//! Exchange Online (the admin REST endpoint `{host}/adminapi/beta/{tenant}/InvokeCommand` the
//! ExchangeOnlineManagement V3 module calls, token audience = host): public and GCC
//! `outlook.office365.com`, GCC High `outlook.office365.us`, DoD `webmail.apps.mil`, China
//! `partner.outlook.cn` (the module's `-ExchangeEnvironmentName` table: O365Default,
//! O365USGovGCCHigh, O365USGovDoD, O365China).
//!
//! Not confirmed: GCC tenants whose Azure subscriptions live in Azure Government (configure
//! `arm`), the Cloud Apps audience outside the public cloud (the same app id is assumed), and
//! Cloud Apps / Key Vault / EC2 hosts, which have no default: they are per tenant.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use url::Url;
use vocab::Api;

use crate::error::UpstreamError;

/// The Defender for Cloud Apps API's Entra application id; its token scope is `{id}/.default`.
pub const CLOUD_APPS_AUDIENCE: &str = "05a65629-4c1b-48c1-a78b-804c4abdd4af";

/// A sovereign cloud: the Microsoft cloud a tenant's directory and services live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    #[default]
    Public,
    /// US Government Community Cloud (moderate): public Entra ID and Graph, its own MDE host.
    Gcc,
    /// US Government L4.
    GccHigh,
    /// US Government L5 (Department of Defense).
    DoD,
    /// Azure and Microsoft 365 operated by 21Vianet.
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 5] = [Cloud::Public, Cloud::Gcc, Cloud::GccHigh, Cloud::DoD, Cloud::China];

    /// The configuration spelling: `public`, `gcc`, `gcc-high`, `dod`, `china`.
    pub fn key(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc-high",
            Cloud::DoD => "dod",
            Cloud::China => "china",
        }
    }

    /// Microsoft's hosts in this cloud: the login authority and a row per API family.
    fn hosts(self) -> (&'static str, &'static [Host]) {
        use Api::*;
        match self {
            Cloud::Public => (
                "https://login.microsoftonline.com",
                &[
                    (Mde, Some("https://api.securitycenter.microsoft.com"), "https://api.securitycenter.microsoft.com"),
                    (Graph, Some("https://graph.microsoft.com"), "https://graph.microsoft.com"),
                    (Arm, Some("https://management.azure.com"), "https://management.azure.com"),
                    (KeyVault, None, "https://vault.azure.net"),
                    (CloudApps, None, CLOUD_APPS_AUDIENCE),
                    (ExchangeOnline, Some("https://outlook.office365.com"), "https://outlook.office365.com"),
                ],
            ),
            Cloud::Gcc => (
                "https://login.microsoftonline.com",
                &[
                    (
                        Mde,
                        Some("https://api-gcc.securitycenter.microsoft.us"),
                        "https://api-gcc.securitycenter.microsoft.us",
                    ),
                    (Graph, Some("https://graph.microsoft.com"), "https://graph.microsoft.com"),
                    (Arm, Some("https://management.azure.com"), "https://management.azure.com"),
                    (KeyVault, None, "https://vault.azure.net"),
                    (CloudApps, None, CLOUD_APPS_AUDIENCE),
                    (ExchangeOnline, Some("https://outlook.office365.com"), "https://outlook.office365.com"),
                ],
            ),
            Cloud::GccHigh => (
                "https://login.microsoftonline.us",
                &[
                    (
                        Mde,
                        Some("https://api-gov.securitycenter.microsoft.us"),
                        "https://api-gov.securitycenter.microsoft.us",
                    ),
                    (Graph, Some("https://graph.microsoft.us"), "https://graph.microsoft.us"),
                    (Arm, Some("https://management.usgovcloudapi.net"), "https://management.usgovcloudapi.net"),
                    (KeyVault, None, "https://vault.usgovcloudapi.net"),
                    (CloudApps, None, CLOUD_APPS_AUDIENCE),
                    (ExchangeOnline, Some("https://outlook.office365.us"), "https://outlook.office365.us"),
                ],
            ),
            Cloud::DoD => (
                "https://login.microsoftonline.us",
                &[
                    (
                        Mde,
                        Some("https://api-gov.securitycenter.microsoft.us"),
                        "https://api-gov.securitycenter.microsoft.us",
                    ),
                    (Graph, Some("https://dod-graph.microsoft.us"), "https://dod-graph.microsoft.us"),
                    (Arm, Some("https://management.usgovcloudapi.net"), "https://management.usgovcloudapi.net"),
                    (KeyVault, None, "https://vault.usgovcloudapi.net"),
                    (CloudApps, None, CLOUD_APPS_AUDIENCE),
                    (ExchangeOnline, Some("https://webmail.apps.mil"), "https://webmail.apps.mil"),
                ],
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                &[
                    (Graph, Some("https://microsoftgraph.chinacloudapi.cn"), "https://microsoftgraph.chinacloudapi.cn"),
                    (Arm, Some("https://management.chinacloudapi.cn"), "https://management.chinacloudapi.cn"),
                    (KeyVault, None, "https://vault.azure.cn"),
                    (ExchangeOnline, Some("https://partner.outlook.cn"), "https://partner.outlook.cn"),
                ],
            ),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Cloud {
    type Err = UpstreamError;

    /// Accepts the key and common spellings (`GCCHigh`, `usgov-dod`, `AzureChinaCloud`), ignoring case.
    fn from_str(s: &str) -> Result<Cloud, UpstreamError> {
        let norm: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        match norm.as_str() {
            "public" | "commercial" | "global" | "azurecloud" => Ok(Cloud::Public),
            "gcc" | "usgovgcc" | "gccmoderate" => Ok(Cloud::Gcc),
            "gcchigh" | "usgovgcchigh" | "usgov" | "azureusgovernment" => Ok(Cloud::GccHigh),
            "dod" | "usgovdod" => Ok(Cloud::DoD),
            "china" | "21vianet" | "azurechinacloud" => Ok(Cloud::China),
            _ => Err(UpstreamError::Config(format!(
                "unknown cloud {s:?}: expected one of public, gcc, gcc-high, dod, china"
            ))),
        }
    }
}

/// One row of a cloud's host table: (family, default base URL if not per tenant, token audience).
type Host = (Api, Option<&'static str>, &'static str);

/// Where one API family is reached, and for which audience its token is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Root URL; request paths are appended (`/api/...`, `/v1.0/...`).
    pub base: Url,
    /// The resource a token must be issued for (v2 scope `{audience}/.default`); `None` for
    /// families not signed with an Entra token (AWS).
    pub audience: Option<String>,
}

/// One tenant's view of the clouds: the Entra authority and a map from API family to endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clouds {
    /// Which sovereign cloud the hosts (and the audiences of replaced bases) come from.
    pub cloud: Cloud,
    /// Entra ID authority, e.g. `https://login.microsoftonline.com`.
    pub login: Url,
    /// Families with a base URL. One without an entry is not configured for this tenant.
    pub apis: BTreeMap<Api, Endpoint>,
}

impl Clouds {
    /// Microsoft's public-cloud endpoints.
    pub fn microsoft() -> Clouds {
        Clouds::of(Cloud::Public)
    }

    /// Microsoft's endpoints in `cloud`; per-tenant families (Cloud Apps, Key Vault, EC2) are
    /// left out until configured with [`Clouds::with_base`].
    pub fn of(cloud: Cloud) -> Clouds {
        let (login, hosts) = cloud.hosts();
        let apis = hosts
            .iter()
            .filter_map(|&(api, base, audience)| {
                base.map(|b| (api, Endpoint { base: known_url(b), audience: Some(audience.to_owned()) }))
            })
            .collect();
        Clouds { cloud, login: known_url(login), apis }
    }

    /// Replaces (or adds) the base URL of `api`, keeping the cloud's token audience for it.
    pub fn with_base(mut self, api: Api, base: Url) -> Clouds {
        let audience = default_audience(self.cloud, api);
        let entry = self.apis.entry(api).or_insert(Endpoint { base: base.clone(), audience });
        entry.base = base;
        self
    }

    /// Replaces the Entra authority (a sandbox, a regional login host).
    pub fn with_login(mut self, login: Url) -> Clouds {
        self.login = login;
        self
    }

    /// The endpoint of an API family, or a configuration error naming what to set.
    pub fn endpoint(&self, api: Api) -> Result<&Endpoint, UpstreamError> {
        self.apis.get(&api).ok_or_else(|| {
            UpstreamError::Config(format!(
                "no {api} endpoint is configured for the {} cloud (set clouds.{api} or the tenant's hosts.{api})",
                self.cloud
            ))
        })
    }

    /// The base URL of an API family, when configured.
    pub fn base(&self, api: Api) -> Option<&Url> {
        self.apis.get(&api).map(|e| &e.base)
    }

    /// Every configured family, in a stable order.
    pub fn configured(&self) -> impl Iterator<Item = Api> + '_ {
        self.apis.keys().copied()
    }

    /// Fails fast at start-up on base URLs we could never call safely.
    pub fn validate(&self) -> Result<(), UpstreamError> {
        check_url("login", &self.login)?;
        self.apis.iter().try_for_each(|(api, e)| check_url(api.label(), &e.base))
    }
}

/// The audience a family's token is issued for in `cloud`, even where the cloud has no default host.
fn default_audience(cloud: Cloud, api: Api) -> Option<String> {
    let (_, hosts) = cloud.hosts();
    hosts.iter().find(|(a, _, _)| *a == api).map(|(_, _, aud)| (*aud).to_owned())
}

fn check_url(name: &str, url: &Url) -> Result<(), UpstreamError> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(UpstreamError::Config(format!("clouds.{name} must be an http(s) URL with a host, got {url}")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UpstreamError::Config(format!("clouds.{name} must not carry a query or fragment: {url}")));
    }
    Ok(())
}

/// Parses one of the literal production URLs above.
///
/// The argument is a compile-time literal that is a valid URL (the `every_profile_parses`
/// test proves each one), so this cannot fail at run time.
fn known_url(literal: &'static str) -> Url {
    Url::parse(literal).expect("built-in production URL literal is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_parses_and_audiences_match_hosts() {
        for cloud in Cloud::ALL {
            let clouds = Clouds::of(cloud);
            clouds.validate().unwrap();
            assert!(clouds.base(Api::Graph).is_some(), "{cloud}");
            for (api, e) in &clouds.apis {
                assert_eq!(Some(e.base.origin().ascii_serialization()), e.audience, "{cloud} {api}");
            }
            assert_eq!(cloud.key().parse::<Cloud>().unwrap(), cloud);
        }
    }

    #[test]
    fn sovereign_hosts() {
        let high = Clouds::of(Cloud::GccHigh);
        assert_eq!(high.login.host_str(), Some("login.microsoftonline.us"));
        assert_eq!(high.base(Api::Graph).unwrap().host_str(), Some("graph.microsoft.us"));
        assert_eq!(Clouds::of(Cloud::DoD).base(Api::Graph).unwrap().host_str(), Some("dod-graph.microsoft.us"));
        assert_eq!(
            Clouds::of(Cloud::Gcc).base(Api::Mde).unwrap().host_str(),
            Some("api-gcc.securitycenter.microsoft.us")
        );
        assert!(Clouds::of(Cloud::China).endpoint(Api::Mde).is_err());
        assert_eq!("GCC High".parse::<Cloud>().unwrap(), Cloud::GccHigh);
        assert!("mars".parse::<Cloud>().is_err());
        let exo = |c: Cloud| Clouds::of(c).base(Api::ExchangeOnline).unwrap().host_str().map(String::from);
        assert_eq!(exo(Cloud::GccHigh).as_deref(), Some("outlook.office365.us"));
        assert_eq!(exo(Cloud::DoD).as_deref(), Some("webmail.apps.mil"));
        assert_eq!(exo(Cloud::China).as_deref(), Some("partner.outlook.cn"));
    }

    #[test]
    fn a_replaced_base_keeps_the_cloud_audience() {
        let sandbox = Url::parse("http://127.0.0.1:9/graph/").unwrap();
        let clouds = Clouds::of(Cloud::GccHigh).with_base(Api::Graph, sandbox.clone());
        let e = clouds.endpoint(Api::Graph).unwrap();
        assert_eq!((&e.base, e.audience.as_deref()), (&sandbox, Some("https://graph.microsoft.us")));
        let portal = Url::parse("https://contoso.us3.portal.cloudappsecurity.com").unwrap();
        let clouds = Clouds::microsoft().with_base(Api::CloudApps, portal);
        assert_eq!(clouds.endpoint(Api::CloudApps).unwrap().audience.as_deref(), Some(CLOUD_APPS_AUDIENCE));
        let ec2 = Clouds::microsoft().with_base(Api::Ec2, Url::parse("https://ec2.us-east-1.amazonaws.com").unwrap());
        assert_eq!(ec2.endpoint(Api::Ec2).unwrap().audience, None);
        assert!(Clouds::microsoft().endpoint(Api::KeyVault).is_err());
    }

    #[test]
    fn validate_rejects_non_http() {
        let clouds = Clouds::microsoft().with_base(Api::Arm, Url::parse("ftp://x").unwrap());
        assert!(clouds.validate().is_err());
        let clouds = Clouds::microsoft().with_base(Api::Mde, Url::parse("https://x/?a=b").unwrap());
        assert!(clouds.validate().is_err());
    }
}
