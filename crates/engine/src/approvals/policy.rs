//! The approval policy: which actions need a second person, read from a TOML file.
//!
//! ```toml
//! expires_after = "PT4H"            # an undecided request expires (seconds or ISO 8601; default 4 h)
//! approver_roles = ["admin"]        # roles whose keys may decide (default admin); never the requester
//!
//! [[rules]]                         # held when every field the rule sets matches
//! name = "destructive"
//! risk = ["destructive"]            # read | contain | remediate | destructive
//! products = ["MDE"]                # optional
//! actions = ["OffboardDevice"]      # optional (canonical names or seed aliases)
//!
//! [blast_radius]
//! max_targets = 25                  # an action or job over more than 25 targets
//! max_job_tenants = 3               # a bulk job across more than 3 tenants
//!
//! [tier0.devices]                   # MDE machines: any write action on one is held
//! names = ["dc01.contoso.local"]    # computerDnsName (or its first label), or the machine id
//! tags = ["tier-0"]                 # machineTags
//! groups = ["Domain Controllers"]   # the MDE device group (rbacGroupName)
//! patterns = ["dc*.contoso.local"]  # * and ? over the name
//!
//! [tier0.users]                     # Entra users
//! names = ["breakglass@contoso.com"]  # userPrincipalName or mail, or the object id
//! groups = ["Tier 0 Admins"]        # groups the user is a direct member of (displayName)
//! patterns = ["*-adm@contoso.com"]
//! ```
//!
//! Matching is pure ([`Policy::evaluate`] over a [`Subject`] the engine gathered), so it is tested
//! here without I/O. Every name is compared case-insensitively.

use catalog::{Catalog, Product, Risk};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

use crate::Role;

/// How long a request waits for a decision unless the policy says.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(4 * 3600);

/// A compiled, validated policy. The empty policy holds nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub expires_after: Duration,
    pub approver_roles: Vec<Role>,
    pub rules: Vec<Rule>,
    pub max_targets: Option<usize>,
    pub max_job_tenants: Option<usize>,
    pub devices: Tier0,
    pub users: Tier0,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            expires_after: DEFAULT_EXPIRY,
            approver_roles: vec![Role::Admin],
            rules: vec![],
            max_targets: None,
            max_job_tenants: None,
            devices: Tier0::default(),
            users: Tier0::default(),
        }
    }
}

/// A rule over the action itself: every list it sets must contain the action's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub risks: Vec<Risk>,
    pub products: Vec<Product>,
    /// Canonical action names.
    pub actions: Vec<&'static str>,
}

/// Tier-0 targets, by name, tag, group or pattern (lower-cased).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tier0 {
    pub names: Vec<String>,
    pub tags: Vec<String>,
    pub groups: Vec<String>,
    pub patterns: Vec<String>,
}

impl Tier0 {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.tags.is_empty() && self.groups.is_empty() && self.patterns.is_empty()
    }

    /// Why this target is tier-0, or `None`. `names` are every name the target goes by (id,
    /// DNS name, UPN, mail); a DNS name's first label counts as a name too.
    fn why(&self, names: &[&str], tags: &[String], groups: &[String]) -> Option<String> {
        let names: Vec<String> = names.iter().filter(|n| !n.is_empty()).map(|n| n.to_ascii_lowercase()).collect();
        for n in &names {
            let short = n.split('.').next().unwrap_or(n);
            if let Some(listed) = self.names.iter().find(|l| *l == n || l.as_str() == short) {
                return Some(format!("is listed by name ('{listed}')"));
            }
        }
        if let Some(t) = tags.iter().find(|t| self.tags.contains(&t.to_ascii_lowercase())) {
            return Some(format!("carries the tag '{t}'"));
        }
        if let Some(g) = groups.iter().find(|g| self.groups.contains(&g.to_ascii_lowercase())) {
            return Some(format!("is in the group '{g}'"));
        }
        for p in &self.patterns {
            if let Some(n) = names.iter().find(|n| glob(p, n)) {
                return Some(format!("'{n}' matches the pattern '{p}'"));
            }
        }
        None
    }
}

/// One MDE machine an action would act on, as MDE describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub group: Option<String>,
}

/// One Entra user an action would act on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub upn: Option<String>,
    pub mail: Option<String>,
    pub groups: Vec<String>,
}

/// What the policy is asked about: an action (or a bulk job) and what it would touch.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub product: Product,
    pub action: &'static str,
    pub risk: Risk,
    pub targets: usize,
    /// Tenants a bulk job spans (1 for an action).
    pub tenants: usize,
    pub job: bool,
    pub devices: &'a [Device],
    pub users: &'a [User],
    /// Targets that could not be checked against tier-0 (a lookup failed, too many to look up):
    /// held, since an unchecked target may be tier-0 (fail closed).
    pub unchecked: &'a [String],
}

/// Why the policy holds a request: the rule (`rules.<name>`, `blast_radius.max_targets`,
/// `tier0.devices`, ...) and what matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub why: String,
}

impl Policy {
    /// Every reason to hold the subject; empty when it may run at once.
    pub fn evaluate(&self, s: &Subject<'_>) -> Vec<Reason> {
        let mut reasons: Vec<Reason> = self
            .rules
            .iter()
            .filter(|r| r.matches(s))
            .map(|r| Reason {
                rule: format!("rules.{}", r.name),
                why: format!("{} is a {} action of {}", s.action, risk_name(s.risk), s.product.key()),
            })
            .collect();
        if s.risk == Risk::Read {
            return reasons; // blast radius and tier-0 guard changes, not reads
        }
        if let Some(max) = self.max_targets.filter(|m| s.targets > *m) {
            reasons.push(Reason {
                rule: "blast_radius.max_targets".into(),
                why: format!("{} targets, more than the policy's {max}", s.targets),
            });
        }
        if let Some(max) = self.max_job_tenants.filter(|m| s.job && s.tenants > *m) {
            reasons.push(Reason {
                rule: "blast_radius.max_job_tenants".into(),
                why: format!("a bulk job across {} tenants, more than the policy's {max}", s.tenants),
            });
        }
        for d in s.devices {
            let names: Vec<&str> = [Some(d.id.as_str()), d.name.as_deref()].into_iter().flatten().collect();
            let groups: Vec<String> = d.group.iter().cloned().collect();
            if let Some(why) = self.devices.why(&names, &d.tags, &groups) {
                let label = d.name.as_deref().unwrap_or(&d.id);
                reasons.push(Reason { rule: "tier0.devices".into(), why: format!("device {label} {why}") });
            }
        }
        for u in s.users {
            let names: Vec<&str> =
                [Some(u.id.as_str()), u.upn.as_deref(), u.mail.as_deref()].into_iter().flatten().collect();
            if let Some(why) = self.users.why(&names, &[], &u.groups) {
                let label = u.upn.as_deref().unwrap_or(&u.id);
                reasons.push(Reason { rule: "tier0.users".into(), why: format!("user {label} {why}") });
            }
        }
        for t in s.unchecked {
            reasons.push(Reason { rule: "tier0.unchecked".into(), why: t.clone() });
        }
        reasons
    }

    /// Whether any tier-0 rule needs the targets' names, tags or groups looked up.
    pub fn watches_devices(&self) -> bool {
        !self.devices.is_empty()
    }

    pub fn watches_users(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn may_approve(&self, role: Role) -> bool {
        self.approver_roles.contains(&role)
    }
}

impl Rule {
    fn matches(&self, s: &Subject<'_>) -> bool {
        (self.risks.is_empty() || self.risks.contains(&s.risk))
            && (self.products.is_empty() || self.products.contains(&s.product))
            && (self.actions.is_empty() || self.actions.contains(&s.action))
    }
}

fn risk_name(r: Risk) -> &'static str {
    match r {
        Risk::Read => "read",
        Risk::Contain => "contain",
        Risk::Remediate => "remediate",
        Risk::Destructive => "destructive",
    }
}

/// `*` (any run) and `?` (one character) over the whole text; both already lower-case.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

// ---- the file ----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    expires_after: Option<Value>,
    approver_roles: Option<Vec<String>>,
    #[serde(default)]
    rules: Vec<RuleFile>,
    blast_radius: Option<BlastRadiusFile>,
    tier0: Option<Tier0File>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: Option<String>,
    #[serde(default)]
    risk: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    actions: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlastRadiusFile {
    max_targets: Option<usize>,
    max_job_tenants: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tier0File {
    devices: Option<Tier0SetFile>,
    users: Option<Tier0SetFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tier0SetFile {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
}

/// A policy file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError { field: field.into(), message: message.into() }
}

impl Policy {
    /// Parse and check a policy file's text. Unknown keys, risk classes, products, actions and
    /// roles are errors naming the field: a misspelt rule must not silently hold nothing.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let span = e.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default();
            bad("policy", format!("{}{span}", e.message()))
        })?;
        let mut policy = Policy::default();
        if let Some(v) = &file.expires_after {
            policy.expires_after = duration(v).ok_or_else(|| {
                bad("expires_after", format!("{v} is not a duration: whole seconds or ISO 8601 such as \"PT4H\""))
            })?;
        }
        if let Some(roles) = &file.approver_roles {
            policy.approver_roles = roles
                .iter()
                .map(|r| {
                    Role::parse(r)
                        .ok_or_else(|| bad("approver_roles", format!("'{r}' is not a role (reader, responder, admin)")))
                })
                .collect::<Result<_, _>>()?;
            if policy.approver_roles.is_empty() {
                return Err(bad("approver_roles", "nobody could approve: name at least one role"));
            }
        }
        for (i, r) in file.rules.iter().enumerate() {
            policy.rules.push(rule(i, r)?);
        }
        if let Some(b) = &file.blast_radius {
            policy.max_targets = b.max_targets;
            policy.max_job_tenants = b.max_job_tenants;
        }
        if let Some(t) = file.tier0 {
            policy.devices = t.devices.map(tier0).unwrap_or_default();
            policy.users = t.users.map(tier0).unwrap_or_default();
        }
        Ok(policy)
    }
}

fn rule(i: usize, r: &RuleFile) -> Result<Rule, PolicyError> {
    let field = |f: &str| format!("rules[{i}].{f}");
    if r.risk.is_empty() && r.products.is_empty() && r.actions.is_empty() {
        return Err(bad(
            format!("rules[{i}]"),
            "a rule with no risk, products or actions would hold every action; say which",
        ));
    }
    let risks = r
        .risk
        .iter()
        .map(|s| match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Risk::Read),
            "contain" => Ok(Risk::Contain),
            "remediate" => Ok(Risk::Remediate),
            "destructive" => Ok(Risk::Destructive),
            _ => Err(bad(field("risk"), format!("'{s}' is not a risk class (read, contain, remediate, destructive)"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let products = r
        .products
        .iter()
        .map(|p| Product::parse(p).ok_or_else(|| bad(field("products"), format!("'{p}' is not a product"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut actions = Vec::new();
    for a in &r.actions {
        let scope = if products.len() == 1 { Some(products[0]) } else { None };
        match Catalog::global().resolve(scope, a) {
            Ok(spec) => actions.push(spec.name),
            Err(catalog::ResolveError::Ambiguous { products: ps, .. }) => {
                // The same name in several products: the rule names it in each.
                for p in ps {
                    if let Ok(spec) = Catalog::global().resolve(Some(p), a) {
                        actions.push(spec.name);
                    }
                }
            }
            Err(catalog::ResolveError::UnknownAction { close, .. }) => {
                let hint = close.first().map(|c| format!(" (did you mean '{c}'?)")).unwrap_or_default();
                return Err(bad(field("actions"), format!("'{a}' is not a catalog action{hint}")));
            }
        }
    }
    let name = r.name.clone().unwrap_or_else(|| format!("{i}"));
    Ok(Rule { name, risks, products, actions })
}

fn tier0(s: Tier0SetFile) -> Tier0 {
    let low = |v: Vec<String>| v.into_iter().map(|x| x.trim().to_ascii_lowercase()).filter(|x| !x.is_empty()).collect();
    Tier0 { names: low(s.names), tags: low(s.tags), groups: low(s.groups), patterns: low(s.patterns) }
}

fn duration(v: &Value) -> Option<Duration> {
    let secs = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| crate::plan::body::iso8601_seconds(s.trim())),
        _ => None,
    }?;
    (secs >= 1).then(|| Duration::from_secs(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        expires_after = "PT2H"
        approver_roles = ["admin", "responder"]

        [[rules]]
        name = "destructive"
        risk = ["destructive"]

        [[rules]]
        name = "mde-isolation"
        products = ["MDE"]
        actions = ["IsolateDevice"]

        [blast_radius]
        max_targets = 3
        max_job_tenants = 2

        [tier0.devices]
        names = ["dc01.contoso.local"]
        tags = ["Tier-0"]
        groups = ["Domain Controllers"]
        patterns = ["adfs-*"]

        [tier0.users]
        names = ["root@contoso.com"]
        groups = ["Tier 0 Admins"]
        patterns = ["*-adm@contoso.com"]
    "#;

    fn subject<'a>(action: &'static str, risk: Risk, devices: &'a [Device], users: &'a [User]) -> Subject<'a> {
        Subject {
            product: Product::Mde,
            action,
            risk,
            targets: 1,
            tenants: 1,
            job: false,
            devices,
            users,
            unchecked: &[],
        }
    }

    fn device(name: &str, tags: &[&str], group: &str) -> Device {
        Device {
            id: "a".repeat(40),
            name: Some(name.into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            group: Some(group.into()),
        }
    }

    fn rules(reasons: &[Reason]) -> Vec<&str> {
        reasons.iter().map(|r| r.rule.as_str()).collect()
    }

    #[test]
    fn the_file_parses_into_the_policy() {
        let p = Policy::parse(FILE).expect("a valid policy");
        assert_eq!(p.expires_after, Duration::from_secs(7200));
        assert_eq!(p.approver_roles, [Role::Admin, Role::Responder]);
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[1].actions, ["IsolateDevice"]);
        assert_eq!(p.devices.tags, ["tier-0"]);
        assert_eq!((p.max_targets, p.max_job_tenants), (Some(3), Some(2)));
    }

    #[test]
    fn rules_match_by_risk_product_and_action() {
        let p = Policy::parse(FILE).unwrap();
        assert_eq!(rules(&p.evaluate(&subject("IsolateDevice", Risk::Contain, &[], &[]))), ["rules.mde-isolation"]);
        assert_eq!(rules(&p.evaluate(&subject("OffboardDevice", Risk::Destructive, &[], &[]))), ["rules.destructive"]);
        assert!(p.evaluate(&subject("RunAntiVirusScan", Risk::Remediate, &[], &[])).is_empty());
        let entra = Subject { product: Product::EntraId, ..subject("IsolateDevice", Risk::Contain, &[], &[]) };
        assert!(p.evaluate(&entra).is_empty(), "the rule names MDE only");
    }

    #[test]
    fn blast_radius_counts_targets_and_job_tenants_but_never_reads() {
        let p = Policy::parse(FILE).unwrap();
        let many = Subject { targets: 4, ..subject("RunAntiVirusScan", Risk::Remediate, &[], &[]) };
        assert_eq!(rules(&p.evaluate(&many)), ["blast_radius.max_targets"]);
        let three = Subject { targets: 3, ..many.clone() };
        assert!(p.evaluate(&three).is_empty(), "3 is not more than 3");
        let job = Subject { tenants: 3, job: true, ..three.clone() };
        assert_eq!(rules(&p.evaluate(&job)), ["blast_radius.max_job_tenants"]);
        let not_a_job = Subject { tenants: 3, job: false, ..three };
        assert!(p.evaluate(&not_a_job).is_empty());
        let read = Subject { targets: 400, ..subject("GetDeviceInfo", Risk::Read, &[], &[]) };
        assert!(p.evaluate(&read).is_empty());
    }

    #[test]
    fn tier0_devices_match_by_name_short_name_tag_group_and_pattern() {
        let p = Policy::parse(FILE).unwrap();
        let scan = |d: Device| p.evaluate(&subject("RunAntiVirusScan", Risk::Remediate, &[d], &[]));
        let by_tag = scan(device("ws-1.contoso.local", &["VIP", "TIER-0"], "Workstations"));
        assert_eq!(rules(&by_tag), ["tier0.devices"]);
        assert!(by_tag[0].why.contains("carries the tag 'TIER-0'"), "{by_tag:?}");
        assert_eq!(rules(&scan(device("DC01.contoso.local", &[], "Servers"))), ["tier0.devices"]);
        assert_eq!(rules(&scan(device("dc01", &[], "Servers"))), [] as [&str; 0], "a short name is not the FQDN");
        assert_eq!(rules(&scan(device("srv-9.contoso.local", &[], "Domain Controllers"))), ["tier0.devices"]);
        assert_eq!(rules(&scan(device("adfs-02.contoso.local", &[], "Servers"))), ["tier0.devices"]);
        assert!(scan(device("ws-2.contoso.local", &["VIP"], "Workstations")).is_empty());
        // Reads of tier-0 devices are not held.
        let d = [device("dc01.contoso.local", &["tier-0"], "Servers")];
        assert!(p.evaluate(&subject("GetDeviceInfo", Risk::Read, &d, &[])).is_empty());
    }

    #[test]
    fn tier0_users_match_by_upn_mail_group_and_pattern() {
        let p = Policy::parse(FILE).unwrap();
        let user = |upn: &str, groups: &[&str]| User {
            id: "0000".into(),
            upn: Some(upn.into()),
            mail: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        let disable = |u: User| p.evaluate(&subject("DisableUser", Risk::Contain, &[], &[u]));
        assert_eq!(rules(&disable(user("Root@Contoso.com", &[]))), ["tier0.users"]);
        assert_eq!(rules(&disable(user("alice-adm@contoso.com", &[]))), ["tier0.users"]);
        assert_eq!(rules(&disable(user("bob@contoso.com", &["tier 0 admins"]))), ["tier0.users"]);
        assert!(disable(user("bob@contoso.com", &["Sales"])).is_empty());
    }

    #[test]
    fn unchecked_targets_are_held() {
        let p = Policy::default();
        let why = ["device x could not be read".to_string()];
        let s = Subject { unchecked: &why, ..subject("IsolateDevice", Risk::Contain, &[], &[]) };
        assert_eq!(rules(&p.evaluate(&s)), ["tier0.unchecked"]);
    }

    #[test]
    fn bad_files_name_the_field() {
        let err = |text: &str| Policy::parse(text).expect_err("refused").field;
        assert_eq!(err("[[rules]]\nrisk = [\"dangerous\"]"), "rules[0].risk");
        assert_eq!(err("[[rules]]\nactions = [\"IsolateDevic\"]"), "rules[0].actions");
        assert_eq!(err("[[rules]]\nproducts = [\"Nope\"]"), "rules[0].products");
        assert_eq!(err("[[rules]]\nname = \"all\""), "rules[0]");
        assert_eq!(err("approver_roles = [\"boss\"]"), "approver_roles");
        assert_eq!(err("expires_after = \"soon\""), "expires_after");
        assert_eq!(err("max_targets = 3"), "policy", "unknown keys are refused");
        assert!(Policy::parse("").unwrap().rules.is_empty());
    }

    #[test]
    fn glob_matches_stars_and_question_marks() {
        assert!(glob("dc*", "dc01.contoso.local"));
        assert!(glob("*-adm@*", "alice-adm@contoso.com"));
        assert!(glob("ws-0?", "ws-01"));
        assert!(!glob("ws-0?", "ws-011"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "acbd"));
        assert!(glob("a*b*c", "axxbyyc"));
    }
}
