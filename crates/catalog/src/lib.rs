//! The catalog: every Riposte action declared once, as data.
//!
//! Surfaces, the CLI, OpenAPI and the engine all read these declarations; nothing here does I/O.
//! One product = one module (`mde`, `entra`, `incident`, ...), each a table of [`ActionSpec`]s.
//!
//! An action either has a [`Plan`] that tells the engine which Microsoft call(s) to make, or is
//! [`Plan::Unsupported`] with the reason and the nearest real action (answers 501, never fakes
//! success).

mod aws;
mod azure;
mod body;
mod entra;
mod incident;
mod intune;
mod lookup;
mod mcas;
mod mdc;
mod mde;
mod mdi;
mod mdo;
pub mod params;
mod procedure;
#[cfg(test)]
mod tests;
pub mod verify;

pub use lookup::{Catalog, ResolveError, Resolved};
pub use params::{ParamError, ParamKind, ParamSpec, Params};
pub use procedure::ProcedureId;
/// The words a [`Call`] is declared in, shared with `upstream` (`crates/vocab`: one vocabulary, no mapping).
pub use vocab::{Api, Budget, Method};

use serde::Serialize;

/// A Microsoft (or AWS) product Riposte acts on. Each has one catalog, upstream and sandbox module.
///
/// An action is keyed by `(product, name)`: the seed reused names across products (`UpdateAlert`
/// is an MDE alert on the MDE worker, a Graph `alerts_v2` alert on the Incident worker and the
/// MDI handler), so a name alone resolves only where exactly one product has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Product {
    /// Defender for Endpoint.
    #[serde(rename = "MDE")]
    Mde,
    /// Defender for Office 365.
    #[serde(rename = "MDO")]
    Mdo,
    /// Defender for Cloud.
    #[serde(rename = "MDC")]
    Mdc,
    /// Defender for Identity.
    #[serde(rename = "MDI")]
    Mdi,
    #[serde(rename = "EntraID")]
    EntraId,
    Intune,
    Azure,
    /// Defender for Cloud Apps.
    #[serde(rename = "MCAS")]
    Mcas,
    /// Defender XDR incidents and alerts (the Graph security API: `incidents`, `alerts_v2`).
    Incident,
    #[serde(rename = "AWS")]
    Aws,
}

impl Product {
    pub const ALL: &'static [Product] = &[
        Product::Mde,
        Product::Mdo,
        Product::Mdc,
        Product::Mdi,
        Product::EntraId,
        Product::Intune,
        Product::Azure,
        Product::Mcas,
        Product::Incident,
        Product::Aws,
    ];

    /// The canonical short key used in URLs, stored operations and the seed's `service` field.
    pub fn key(self) -> &'static str {
        match self {
            Product::Mde => "MDE",
            Product::Mdo => "MDO",
            Product::Mdc => "MDC",
            Product::Mdi => "MDI",
            Product::EntraId => "EntraID",
            Product::Intune => "Intune",
            Product::Azure => "Azure",
            Product::Mcas => "MCAS",
            Product::Incident => "Incident",
            Product::Aws => "AWS",
        }
    }

    /// The product's full name, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Product::Mde => "Microsoft Defender for Endpoint",
            Product::Mdo => "Microsoft Defender for Office 365",
            Product::Mdc => "Microsoft Defender for Cloud",
            Product::Mdi => "Microsoft Defender for Identity",
            Product::EntraId => "Microsoft Entra ID",
            Product::Intune => "Microsoft Intune",
            Product::Azure => "Azure Resource Manager",
            Product::Mcas => "Microsoft Defender for Cloud Apps",
            Product::Incident => "Defender XDR incidents and alerts (Graph security API)",
            Product::Aws => "Amazon Web Services",
        }
    }

    /// Every spelling of this product (`service=`, the `{Product}` of worker routes),
    /// case-insensitive; the key first. No spelling names two products (a test checks).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Product::Mde => &["MDE", "DefenderForEndpoint", "Endpoint", "Defender", "ATP", "MDATP"],
            Product::Mdo => &["MDO", "DefenderForOffice365", "DefenderForOffice", "Office365", "O365"],
            Product::Mdc => &["MDC", "DefenderForCloud", "SecurityCenter", "ASC"],
            Product::Mdi => &["MDI", "DefenderForIdentity", "Identity", "AzureATP", "AATP"],
            Product::EntraId => &["EntraID", "Entra", "AzureAD", "AAD", "ConditionalAccess", "IdentityProtection"],
            Product::Intune => &["Intune", "Endpoint Manager", "MEM", "DeviceManagement"],
            Product::Azure => &["Azure", "AzureRM", "ARM"],
            Product::Mcas => &["MCAS", "DefenderForCloudApps", "CloudApps", "CloudAppSecurity", "MDA"],
            Product::Incident => &["Incident", "Incidents", "XDR", "DefenderXDR", "SecurityIncidents"],
            Product::Aws => &["AWS", "AmazonWebServices", "EC2"],
        }
    }

    /// A product by any of its spellings, ignoring case, spaces, `_` and `-`.
    pub fn parse(s: &str) -> Option<Product> {
        let wanted = params::normalize(s);
        if wanted.is_empty() {
            return None;
        }
        Product::ALL.iter().copied().find(|p| p.aliases().iter().any(|a| params::normalize(a) == wanted))
    }

    /// Worker route names of the seed: `/api/DefenderXDR{Product}Worker` and `/api/{Product}Worker`
    /// (`IncidentWorker`, `DefenderXDRMDCWorker`, ...).
    pub fn from_worker_route(route: &str) -> Option<Product> {
        let r = strip_prefix_ignore_case(route, "DefenderXDR").unwrap_or(route);
        let r = strip_suffix_ignore_case(r, "Worker")?;
        Product::parse(r)
    }

    /// Seed names of a product that have no action yet (the product module keeps its list);
    /// calling one answers "unknown action" with close matches. Every other product resolves all
    /// its seed names. The list only shrinks: `tests/seed_names.rs` fails when a listed name starts
    /// to resolve.
    pub fn pending_seed_names(self) -> &'static [&'static str] {
        match self {
            Product::Azure => azure::PENDING_SEED_NAMES,
            _ => &[],
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

/// Risk class; roles and approvals key off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Reads only.
    Read,
    /// Reversible containment (isolate, disable user).
    Contain,
    /// Changes state in a way that is not simply reversible (quarantine a file, scan).
    Remediate,
    /// Wipe, hard delete, offboard.
    Destructive,
}

/// How an action's completion is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// The upstream answer is the outcome.
    Immediate,
    /// MDE returns a MachineAction; poll it to a terminal state.
    MachineAction,
    /// ARM long-running operation (Azure-AsyncOperation / Location).
    ArmOperation,
    /// Live-response session with per-command status.
    LiveResponse,
    /// Graph 202 + Location.
    GraphAccepted,
}

/// Where a JSON body value comes from: Graph, Intune, Exchange and ARM bodies said as data.
///
/// Every form that reads a parameter is left out of the body when that parameter is absent, so
/// optional fields appear only when the caller gave them.
#[derive(Debug, Clone, Copy)]
pub enum BodyValue {
    /// The validated parameter of that canonical name.
    Param(&'static str),
    /// A JSON literal, e.g. `false`.
    Literal(&'static str),
    /// Text with `{param}` placeholders, e.g. a Graph reference
    /// `"https://graph.microsoft.com/v1.0/directoryObjects/{userId}"`; left out when any is absent.
    Format(&'static str),
    /// A parameter's value looked up in a small table of (value, JSON literal), matched ignoring
    /// case; e.g. a Riposte enum spelling mapped to Microsoft's (`"High"` → `"high"`, `"Off"` → `0`).
    Mapped { param: &'static str, table: &'static [(&'static str, &'static str)] },
    /// An RFC 3339 instant: now plus the duration in `param` (a number of `unit_seconds`, or an
    /// ISO 8601 duration such as `"P7DT12H"`); e.g. an expiry `now + hours`.
    NowPlus { param: &'static str, unit_seconds: i64 },
    /// An array of objects built element-wise from list parameters: each field's source is read
    /// per index (a list param gives its i-th element, a scalar is repeated), so
    /// `{"analyzedEmails": [{"networkMessageId": .., "recipientEmailAddress": ..}]}` comes from two
    /// lists. The lists must be equally long; the array is left out when every list is absent.
    Objects(&'static [(&'static str, BodyValue)]),
}

/// One upstream call, as a template over validated parameters.
///
/// `path` holds `{param}` placeholders filled from validated params (URL-encoded). When `each` names
/// a list parameter, the call is made once per element, with `{each}` in the path bound to it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub api: Api,
    pub method: Method,
    pub path: &'static str,
    /// Query parameters: (upstream name, canonical param name); omitted when the param is absent.
    pub query: &'static [(&'static str, &'static str)],
    pub body: &'static [(&'static str, BodyValue)],
    pub each: Option<&'static str>,
    /// Follow `@odata.nextLink` and gather every page.
    pub paged: bool,
    /// OData equality clauses built from params: (upstream field, canonical param). Each present
    /// param adds `field eq 'value'` to `$filter`, joined with `and` to any caller filter; this is
    /// how the seed's `machineId` on a list becomes a real filter.
    pub filter_eq: &'static [(&'static str, &'static str)],
    /// Which documented rate limit the call draws from, beyond its API family's default
    /// (advanced hunting has its own 45/min per tenant).
    pub budget: Budget,
    /// A POST that creates or updates by what it says (MDE's indicator submit): carried out
    /// again, it changes nothing more. A restart that interrupted it runs it again
    /// (`engine::reconcile`) instead of ending it `Unknown`.
    pub repeatable: bool,
}

impl Call {
    pub const fn new(api: Api, method: Method, path: &'static str) -> Call {
        Call {
            api,
            method,
            path,
            query: &[],
            body: &[],
            each: None,
            paged: false,
            filter_eq: &[],
            budget: Budget::Default,
            repeatable: false,
        }
    }
    pub const fn body(mut self, body: &'static [(&'static str, BodyValue)]) -> Call {
        self.body = body;
        self
    }
    pub const fn query(mut self, query: &'static [(&'static str, &'static str)]) -> Call {
        self.query = query;
        self
    }
    pub const fn each(mut self, param: &'static str) -> Call {
        self.each = Some(param);
        self
    }
    pub const fn paged(mut self) -> Call {
        self.paged = true;
        self
    }
    pub const fn filter_eq(mut self, clauses: &'static [(&'static str, &'static str)]) -> Call {
        self.filter_eq = clauses;
        self
    }
    pub const fn budget(mut self, budget: Budget) -> Call {
        self.budget = budget;
        self
    }
    pub const fn repeatable(mut self) -> Call {
        self.repeatable = true;
        self
    }
}

/// What the engine does to carry out an action.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// One templated upstream call (possibly once per device).
    Call(Call),
    /// A multi-step procedure, named by its stable key (see [`ProcedureId`]); the engine's
    /// per-product registry (`engine/src/procedures/<product>/`) holds its implementation:
    /// live-response command sequences, saved hunting queries, ... Whatever cannot be said as one
    /// [`Call`].
    Procedure(ProcedureId),
    /// Microsoft has no API for what the name says.
    Unsupported { reason: &'static str, nearest: Option<&'static str> },
}

/// One action, declared once.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub product: Product,
    /// Riposte's canonical name (PascalCase).
    pub name: &'static str,
    pub summary: &'static str,
    /// Every other spelling the seed used, resolved case-insensitively.
    pub aliases: &'static [&'static str],
    pub params: &'static [ParamSpec],
    pub risk: Risk,
    /// The canonical name of the action that undoes this one.
    pub inverse: Option<&'static str>,
    /// The Microsoft application permission the call needs.
    pub permission: &'static str,
    pub completion: Completion,
    pub plan: Plan,
    /// Where the answer carries secrets (a temporary access pass, a recovery key, a generated
    /// password): JSON pointers (RFC 6901) into the upstream answer, `*` standing for any key or
    /// index (`/value/*/key`). The engine redacts these before the result is stored, audited or
    /// logged; only a caller who asked for a one-time reveal sees them, once.
    pub sensitive_results: &'static [&'static str],
}

impl ActionSpec {
    /// A read row: risk `read`, no inverse, the answer is the outcome. Products' tables of reads
    /// (MDE's vulnerability reads, Graph security's lists) wrap this with their product.
    pub(crate) const fn read(
        product: Product,
        name: &'static str,
        summary: &'static str,
        aliases: &'static [&'static str],
        params: &'static [ParamSpec],
        permission: &'static str,
        call: Call,
    ) -> ActionSpec {
        ActionSpec {
            product,
            name,
            summary,
            aliases,
            params,
            risk: Risk::Read,
            inverse: None,
            permission,
            completion: Completion::Immediate,
            sensitive_results: &[],
            plan: Plan::Call(call),
        }
    }

    pub fn is_supported(&self) -> bool {
        !matches!(self.plan, Plan::Unsupported { .. })
    }

    /// Check raw request parameters against this action's declarations (see [`params::validate`]).
    pub fn validate(&self, raw: &serde_json::Map<String, serde_json::Value>) -> Result<Params, ParamError> {
        params::validate(self, raw)
    }

    /// The JSON row of `riposte catalog --json` and `GET /v1/catalog`.
    pub fn summary_json(&self) -> serde_json::Value {
        let (status, reason, nearest) = match self.plan {
            Plan::Unsupported { reason, nearest } => ("unsupported", Some(reason), nearest),
            Plan::Call(_) | Plan::Procedure(_) => ("supported", None, None),
        };
        serde_json::json!({
            "product": self.product,
            "name": self.name,
            "summary": self.summary,
            "aliases": self.aliases,
            "risk": self.risk,
            "status": status,
            "reason": reason,
            "nearest": nearest,
            "inverse": self.inverse,
            "permission": self.permission,
            "completion": self.completion,
            "params": self.params.iter().map(ParamSpec::describe).collect::<Vec<_>>(),
            "sensitiveResults": self.sensitive_results,
        })
    }
}

/// Every action of every product.
pub fn all() -> impl Iterator<Item = &'static ActionSpec> {
    mde::actions()
        .chain(mdo::actions())
        .chain(mdc::actions())
        .chain(mdi::actions())
        .chain(entra::actions())
        .chain(intune::actions())
        .chain(azure::actions())
        .chain(mcas::actions())
        .chain(incident::actions())
        .chain(aws::actions())
}
