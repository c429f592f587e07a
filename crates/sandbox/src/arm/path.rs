//! ARM request paths, parsed once into what they address.
//!
//! ARM paths are case-insensitive (`resourcegroups` = `resourceGroups`), and a resource id nests
//! `{type}/{name}` pairs under a provider namespace. The router hands us the whole path; this
//! module turns it into a [`Target`] so handlers match on meaning, not on string segments.

/// What an ARM path addresses, below `/subscriptions/{sub}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/subscriptions`
    Subscriptions,
    /// `/subscriptions/{sub}`
    Subscription,
    /// `/subscriptions/{sub}/resourcegroups`
    Groups,
    /// `/subscriptions/{sub}/resourcegroups/{rg}`
    Group(String),
    /// `/subscriptions/{sub}/resourcegroups/{rg}/resources` or `/subscriptions/{sub}/resources`
    GenericResources(Option<String>),
    /// `/subscriptions/{sub}/providers/{ns}/{type}`: a subscription-wide list.
    ProviderList { ns: String, ty: String },
    /// `/subscriptions/{sub}/providers/{ns}/locations/{loc}/operations|operationResults/{id}`
    Operation { ns: String, location: String, id: String, result: bool },
    /// Anything under `/subscriptions/{sub}/resourcegroups/{rg}/providers/{ns}/...`.
    InGroup(ProviderPath),
    /// A resource of an extension provider ([`EXTENSION_NAMESPACES`]) at any scope: the
    /// subscription, a resource group or a resource (`{scope}/providers/{ns}/{rest...}`).
    Extension(ExtensionPath),
}

/// Providers whose resources extend other scopes (Defender for Cloud's pricings, alerts and
/// assessments; Sentinel's watchlists on a workspace; RBAC role assignments); `arm/security.rs`
/// serves them.
pub const EXTENSION_NAMESPACES: &[&str] =
    &["Microsoft.Security", "Microsoft.SecurityInsights", "Microsoft.Authorization"];

/// `{scope}/providers/{ns}/{rest...}`: the last `providers` segment names the extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionPath {
    /// The scope it extends, e.g. `/subscriptions/{sub}` or a storage account's id.
    pub scope: String,
    /// The namespace in its canonical spelling.
    pub ns: &'static str,
    /// The segments after the namespace, as sent.
    pub rest: Vec<String>,
}

fn extension(segs: &[String]) -> Option<ExtensionPath> {
    let at = segs.iter().rposition(|s| s.eq_ignore_ascii_case("providers")).filter(|&i| i >= 2)?;
    let ns = EXTENSION_NAMESPACES.iter().find(|n| segs.get(at + 1).is_some_and(|s| s.eq_ignore_ascii_case(n)))?;
    Some(ExtensionPath { scope: format!("/{}", segs[..at].join("/")), ns, rest: segs[at + 2..].to_vec() })
}

/// `{ns}/{type}/{name}[/{childType}/{childName}...][/{tail}]` inside a resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPath {
    pub rg: String,
    pub ns: String,
    /// `(type, name)` pairs from the top-level resource down.
    pub pairs: Vec<(String, String)>,
    /// A trailing odd segment: a collection (`securityRules`), a view (`instanceView`) or an
    /// action (`powerOff`).
    pub tail: Option<String>,
}

impl ProviderPath {
    /// The type path as sent, e.g. `networkSecurityGroups/securityRules` (with the tail when
    /// `with_tail`).
    pub fn type_path(&self, with_tail: bool) -> String {
        let mut parts: Vec<&str> = self.pairs.iter().map(|(t, _)| t.as_str()).collect();
        if with_tail && let Some(t) = &self.tail {
            parts.push(t);
        }
        parts.join("/")
    }
}

/// Parses the path (already split at `?`). `None` when it is not an ARM shape we serve.
pub fn parse(path: &str) -> Option<(Option<String>, Target)> {
    let segs: Vec<String> =
        path.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let seg = |i: usize| segs[i].clone();
    if l.first() == Some(&"subscriptions")
        && let Some(e) = extension(&segs)
    {
        return Some((Some(seg(1)), Target::Extension(e)));
    }
    let target = match l.as_slice() {
        ["subscriptions"] => return Some((None, Target::Subscriptions)),
        ["subscriptions", _] => Target::Subscription,
        ["subscriptions", _, "resourcegroups"] => Target::Groups,
        ["subscriptions", _, "resourcegroups", _] => Target::Group(seg(3)),
        ["subscriptions", _, "resources"] => Target::GenericResources(None),
        ["subscriptions", _, "resourcegroups", _, "resources"] => Target::GenericResources(Some(seg(3))),
        ["subscriptions", _, "providers", _, "locations", _, kind @ ("operations" | "operationresults"), _] => {
            Target::Operation { ns: seg(3), location: seg(5), id: seg(7), result: *kind == "operationresults" }
        }
        ["subscriptions", _, "providers", _, _] => Target::ProviderList { ns: seg(3), ty: seg(4) },
        ["subscriptions", _, "resourcegroups", _, "providers", _, _, ..] => {
            let rest = &segs[6..];
            let pairs = rest.chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            let tail = (rest.len() % 2 == 1).then(|| rest[rest.len() - 1].clone());
            Target::InGroup(ProviderPath { rg: seg(3), ns: seg(5), pairs, tail })
        }
        _ => return None,
    };
    Some((Some(seg(1)), target))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_resources_and_actions() {
        let (sub, t) = parse(
            "/subscriptions/S/resourcegroups/RG/providers/Microsoft.Network/networkSecurityGroups/n/securityRules/r",
        )
        .unwrap();
        assert_eq!(sub.as_deref(), Some("S"));
        let Target::InGroup(p) = t else { panic!() };
        assert_eq!(p.pairs.len(), 2);
        assert_eq!(p.tail, None);
        assert_eq!(p.type_path(false), "networkSecurityGroups/securityRules");
        let (_, t) =
            parse("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm/powerOff")
                .unwrap();
        let Target::InGroup(p) = t else { panic!() };
        assert_eq!(p.tail.as_deref(), Some("powerOff"));
        let (_, t) = parse("/subscriptions/S/providers/Microsoft.Compute/locations/westeurope/operations/abc").unwrap();
        assert!(matches!(t, Target::Operation { result: false, .. }));
    }
}
