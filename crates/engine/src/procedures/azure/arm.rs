//! ARM paths every Azure area's procedures share.

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/{kind}/{name}`.
pub fn resource_path(sub: &str, rg: &str, kind: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{kind}/{name}")
}
