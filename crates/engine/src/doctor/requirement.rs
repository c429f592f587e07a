//! What an action's declared permission (`ActionSpec::permission`, prose written for people)
//! requires, read into checks, and which broader grants Microsoft documents as also allowing it.
//!
//! The catalog writes a permission the way Microsoft's pages do:
//! - `A, B` — both needed; `A | B` — any one of them;
//! - `A (or B on apps Riposte owns)` — B is an alternative to A;
//! - `A (+ B)` / `A (+ B to push scripts)` — B is needed for part of the action only (a
//!   conditional need: reported as `partial`, never as failing);
//! - other parentheses are notes (`(BitlockerKey.ReadBasic.All for the ids only)`);
//! - `Azure RBAC: ... (Role Name)` — an Azure role assignment; `A + B` in the role list means both;
//! - `Key Vault RBAC: ...` — a data-plane role on the vault; `ec2:...` — an IAM policy;
//! - `none ...`, `n/a` or nothing — no permission.

use catalog::{ActionSpec, Api, Plan};

/// One thing an action needs: any one of `any_of` (the first is the least-privileged fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// An application permission on `api`'s token (its `roles` claim).
    AppRole { api: Api, any_of: Vec<String> },
    /// An Azure role assigned to the service principal (any of these built-in roles).
    AzureRole { any_of: Vec<String> },
    /// What the doctor cannot read from a token or ARM, and why.
    Unchecked(&'static str),
}

/// What an action needs, read from its declaration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// Every one is needed.
    pub all: Vec<Need>,
    /// Needed for part of the action only (`(+ X)`).
    pub conditional: Vec<Need>,
}

/// Reads an action's declared permission.
pub fn of(spec: &ActionSpec) -> Requirement {
    let text = spec.permission.trim();
    let lower = text.to_ascii_lowercase();
    if text.is_empty() || lower == "n/a" || lower.starts_with("none") {
        return Requirement::default();
    }
    if lower.starts_with("ec2:") {
        return unchecked("an AWS IAM policy: not visible in a token; a dry run asks EC2 itself (DryRun=true)");
    }
    if lower.starts_with("key vault rbac") {
        return unchecked("a Key Vault data-plane role, assigned on the vault: not listed at the subscription");
    }
    if let Some(rest) = strip_prefix_ci(text, "Azure RBAC:") {
        let all = azure_needs(rest);
        if all.is_empty() {
            return unchecked("an Azure role the doctor does not know: check the role assignments by hand");
        }
        return Requirement { all, conditional: vec![] };
    }
    app_requirement(text, default_api(spec))
}

fn unchecked(why: &'static str) -> Requirement {
    Requirement { all: vec![Need::Unchecked(why)], conditional: vec![] }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len()).filter(|h| h.eq_ignore_ascii_case(prefix)).map(|_| &s[prefix.len()..])
}

/// The token a permission without a telling name is checked on: the call's family for a
/// templated call, Graph otherwise (procedures are Graph-based unless their names say otherwise).
fn default_api(spec: &ActionSpec) -> Api {
    match spec.plan {
        Plan::Call(call) if matches!(call.api, Api::Mde | Api::Graph | Api::CloudApps | Api::ExchangeOnline) => {
            call.api
        }
        _ => Api::Graph,
    }
}

/// The family a permission belongs to when its name says so (MDE's, Cloud Apps', Exchange's).
fn api_of(role: &str, default: Api) -> Api {
    const MDE: &[&str] = &[
        "Machine.",
        "Alert.Read",
        "Alert.ReadWrite",
        "AdvancedQuery.",
        "Ti.",
        "Vulnerability.",
        "Software.",
        "SecurityRecommendation.",
        "RemediationTasks.",
        "Library.",
        "Score.",
        "Ip.Read",
        "Url.Read",
        "File.Read",
    ];
    if MDE.iter().any(|p| role.starts_with(p)) {
        Api::Mde
    } else if role.starts_with("Discovery.") || role.starts_with("Investigation.") {
        Api::CloudApps
    } else if role.starts_with("Exchange.") {
        Api::ExchangeOnline
    } else {
        default
    }
}

/// A permission name at the start of `s` (`User.RevokeSessions.All`, `User-PasswordProfile.ReadWrite.All`).
fn role_token(s: &str) -> Option<String> {
    let t: String =
        s.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    let t = t.trim_end_matches('.');
    (t.contains('.') && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())).then(|| t.to_string())
}

/// Application permissions: `,` all, `|` any, `(or X)` alternatives, `(+ X)` conditional.
fn app_requirement(text: &str, default: Api) -> Requirement {
    let mut req = Requirement::default();
    let mut main = String::new();
    let mut alternatives: Vec<(usize, String)> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        main.push_str(&rest[..open]);
        let close = rest[open..].find(')').map_or(rest.len(), |c| open + c);
        let inner = rest[open + 1..close.min(rest.len())].trim();
        if let Some(plus) = inner.strip_prefix('+') {
            for piece in plus.split(',') {
                if let Some(r) = role_token(piece) {
                    req.conditional.push(Need::AppRole { api: api_of(&r, default), any_of: vec![r] });
                }
            }
        } else if let Some(or) = inner.strip_prefix("or ")
            && let Some(r) = role_token(or)
        {
            // An alternative to the permission written just before the parenthesis.
            alternatives.push((main.split(',').count() - 1, r));
        }
        rest = rest.get(close + 1..).unwrap_or("");
    }
    main.push_str(rest);
    for (i, piece) in main.split(',').enumerate() {
        let mut any_of: Vec<String> = piece.split('|').filter_map(role_token).collect();
        any_of.extend(alternatives.iter().filter(|(at, _)| *at == i).map(|(_, r)| r.clone()));
        if let Some(first) = any_of.first() {
            let api = api_of(first, default);
            req.all.push(Need::AppRole { api, any_of });
        }
    }
    req
}

/// Azure built-in roles the catalog names, longest first so `Security Admin` is not read as a
/// part of something else.
const AZURE_ROLES: &[&str] = &[
    "Azure Connected Machine Resource Administrator",
    "Azure Kubernetes Service Cluster Admin",
    "Azure Kubernetes Service Cluster User",
    "Storage Account Key Operator Service Role",
    "Microsoft Sentinel Automation Contributor",
    "Microsoft Sentinel Contributor",
    "Virtual Machine Contributor",
    "User Access Administrator",
    "Disk Snapshot Contributor",
    "Storage Account Contributor",
    "SQL Server Contributor",
    "SQL Security Manager",
    "Network Contributor",
    "Website Contributor",
    "SQL DB Contributor",
    "Security Reader",
    "Security Admin",
    "Contributor",
    "Reader",
    "Owner",
];

/// `Azure RBAC: ...`: the roles named, in the parenthesis when it names one (`Microsoft.Network/...
/// (Network Contributor)`), else in the text before it (`Security Admin (Microsoft.Security/...)`);
/// `A + B` both.
fn azure_needs(text: &str) -> Vec<Need> {
    let named = match (text.rfind('('), text.rfind(')')) {
        (Some(o), Some(c)) if c > o && !roles_in(&text[o + 1..c]).is_empty() => &text[o + 1..c],
        (Some(o), _) => &text[..o],
        _ => text,
    };
    named
        .split(" + ")
        .filter_map(|piece| {
            let mut roles = roles_in(piece);
            if piece.contains("Admin/User") {
                roles.push("Azure Kubernetes Service Cluster User".into());
            }
            let first = roles.first()?.clone();
            let mut any_of = roles;
            for broader in azure_broader(&first) {
                if !any_of.iter().any(|r| r == broader) {
                    any_of.push(broader.to_string());
                }
            }
            Some(Need::AzureRole { any_of })
        })
        .collect()
}

fn roles_in(piece: &str) -> Vec<String> {
    let mut left = piece.to_string();
    let mut found = Vec::new();
    for role in AZURE_ROLES {
        if let Some(at) = left.find(role) {
            found.push((at, role.to_string()));
            left.replace_range(at..at + role.len(), &" ".repeat(role.len()));
        }
    }
    found.sort();
    found.into_iter().map(|(_, r)| r).collect()
}

/// Built-in roles whose actions include `role`'s (Microsoft's built-in role definitions):
/// Owner has `*`; Contributor `*` except `Microsoft.Authorization/*/Write|Delete`; Reader and
/// Security Admin `*/read`.
fn azure_broader(role: &str) -> &'static [&'static str] {
    match role {
        "Owner" => &[],
        "User Access Administrator" => &["Owner"],
        "Reader" => &["Contributor", "Owner"],
        "Security Reader" => &["Security Admin", "Reader", "Contributor", "Owner"],
        _ => &["Contributor", "Owner"],
    }
}

/// Application permissions Microsoft documents as higher-privileged alternatives to `role` on
/// the same API (Graph's permission reference: e.g. `revokeSignInSessions` takes
/// `User.RevokeSessions.All`, or the broader `User.ReadWrite.All` / `Directory.ReadWrite.All`).
pub fn broader(role: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // `X.Read.Y` is contained in `X.ReadWrite.Y` (Graph's and MDE's naming rule).
    if let Some((head, tail)) = role.split_once(".Read.") {
        out.push(format!("{head}.ReadWrite.{tail}"));
    } else if let Some(head) = role.strip_suffix(".Read") {
        out.push(format!("{head}.ReadWrite"));
    }
    let table: &[&str] = match role {
        "User.Read.All" => &["User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
        "User.RevokeSessions.All" | "User.EnableDisableAccount.All" | "User-PasswordProfile.ReadWrite.All" => {
            &["User.ReadWrite.All", "Directory.ReadWrite.All"]
        }
        "User.ReadWrite.All" | "Group.ReadWrite.All" | "Directory.Read.All" => &["Directory.ReadWrite.All"],
        "GroupMember.Read.All" => {
            &["GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All"]
        }
        "GroupMember.ReadWrite.All" => &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
        "Group.Read.All" | "Application.Read.All" | "Device.Read.All" => {
            &["Directory.Read.All", "Directory.ReadWrite.All"]
        }
        "RoleManagement.Read.Directory" => &["RoleManagement.ReadWrite.Directory", "Directory.Read.All"],
        "RoleAssignmentSchedule.ReadWrite.Directory" | "RoleEligibilitySchedule.ReadWrite.Directory" => {
            &["RoleManagement.ReadWrite.Directory"]
        }
        "Machine.Read.All" => &["Machine.ReadWrite.All"],
        _ => &[],
    };
    for r in table {
        if !out.iter().any(|o| o == r) {
            out.push(r.to_string());
        }
    }
    out
}

/// Whether `granted` satisfies `role`: the role itself or a documented broader one, ignoring case.
pub fn satisfied_by<'g>(role: &str, granted: &'g [String]) -> Option<&'g str> {
    let has = |r: &str| granted.iter().find(|g| g.eq_ignore_ascii_case(r)).map(String::as_str);
    has(role).or_else(|| broader(role).iter().find_map(|b| has(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static ActionSpec {
        catalog::all().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} in the catalog"))
    }

    #[test]
    fn alternatives_conditions_and_notes_are_read() {
        let r = app_requirement(
            "Application.ReadWrite.All (or Application.ReadWrite.OwnedBy on apps Riposte owns)",
            Api::Graph,
        );
        assert_eq!(
            r.all,
            vec![Need::AppRole {
                api: Api::Graph,
                any_of: vec!["Application.ReadWrite.All".into(), "Application.ReadWrite.OwnedBy".into()]
            }]
        );
        let r =
            app_requirement("User.EnableDisableAccount.All, User.RevokeSessions.All (+ Machine.Isolate)", Api::Graph);
        assert_eq!(r.all.len(), 2);
        assert_eq!(r.conditional, vec![Need::AppRole { api: Api::Mde, any_of: vec!["Machine.Isolate".into()] }]);
        let r = app_requirement("Machine.Isolate | Machine.Scan (the one of the cancelled action's type)", Api::Mde);
        assert_eq!(
            r.all,
            vec![Need::AppRole { api: Api::Mde, any_of: vec!["Machine.Isolate".into(), "Machine.Scan".into()] }]
        );
        let r = app_requirement(
            "BitlockerKey.Read.All (BitlockerKey.ReadBasic.All for the ids only), DeviceManagementManagedDevices.Read.All",
            Api::Graph,
        );
        assert_eq!(r.all.len(), 2, "{r:?}");
        assert!(r.conditional.is_empty());
    }

    #[test]
    fn azure_roles_are_read_with_what_contains_them() {
        let needs = azure_needs(
            " Microsoft.Security/adaptiveNetworkHardenings/enforce/action (Security Admin + Network Contributor)",
        );
        assert_eq!(needs.len(), 2);
        assert_eq!(
            needs[0],
            Need::AzureRole { any_of: vec!["Security Admin".into(), "Contributor".into(), "Owner".into()] }
        );
        assert_eq!(
            azure_needs(" Reader"),
            vec![Need::AzureRole { any_of: vec!["Reader".into(), "Contributor".into(), "Owner".into()] }]
        );
        // The role before a parenthesis naming the Azure operation.
        let needs = azure_needs(" Security Admin (Microsoft.Security/pricings/write)");
        assert_eq!(
            needs,
            vec![Need::AzureRole { any_of: vec!["Security Admin".into(), "Contributor".into(), "Owner".into()] }]
        );
    }

    #[test]
    fn broader_grants_satisfy() {
        let granted = vec!["Directory.ReadWrite.All".to_string()];
        assert_eq!(satisfied_by("User.RevokeSessions.All", &granted), Some("Directory.ReadWrite.All"));
        assert_eq!(
            satisfied_by("Application.Read.All", &["Application.ReadWrite.All".to_string()]),
            Some("Application.ReadWrite.All")
        );
        assert_eq!(satisfied_by("Machine.Isolate", &["Machine.ReadWrite.All".to_string()]), None);
    }

    #[test]
    fn every_supported_action_reads_into_checks_or_says_why_not() {
        for s in catalog::all().filter(|s| s.is_supported()) {
            let r = of(s);
            let text = s.permission.trim().to_ascii_lowercase();
            let none = text.is_empty() || text == "n/a" || text.starts_with("none");
            assert!(none || !r.all.is_empty(), "{}/{}: '{}' read as no need", s.product.key(), s.name, s.permission);
        }
        assert!(
            matches!(&of(spec("IsolateDevice")).all[0], Need::AppRole { api: Api::Mde, any_of } if any_of == &["Machine.Isolate"])
        );
    }
}
