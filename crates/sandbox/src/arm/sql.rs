//! Microsoft.Sql rules: server firewall rules are IPv4 ranges, and the administrator password is
//! write-only.
//!
//! Azure SQL never returns `administratorLoginPassword` (the REST spec marks it `x-ms-secret`):
//! a PUT or PATCH that sets it changes the login, and the server's body stays without it. The
//! sandbox keeps only the password's SHA-256 and when it changed, in a child no ARM route serves,
//! so a test can tell a rotation happened (and to which value) without the sandbox storing it.

use std::net::Ipv4Addr;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::clock::fmt_utc;
use crate::errors;
use crate::world::arm::{ArmStore, Resource};
use crate::world::azure_data::SQL_ADMIN_PASSWORD;

fn bad(code: &str, message: impl Into<String>) -> Response {
    errors::arm(StatusCode::BAD_REQUEST, code, message)
}

fn ip_field(r: &Resource, field: &str) -> Result<Ipv4Addr, Response> {
    let v = r.body.pointer(&format!("/properties/{field}")).and_then(Value::as_str).unwrap_or("");
    v.parse()
        .map_err(|_| bad("FirewallRuleNotIPAddress", format!("Firewall rule {field} '{v}' is not an IPv4 address.")))
}

/// `startIpAddress` and `endIpAddress` are IPv4 addresses, start not after end.
pub fn check_firewall_rule(r: &mut Resource) -> Result<(), Response> {
    let start = ip_field(r, "startIpAddress")?;
    let end = ip_field(r, "endIpAddress")?;
    if start > end {
        return Err(bad(
            "FirewallRuleInvalidRange",
            format!("The firewall rule's start IP address {start} is greater than its end IP address {end}."),
        ));
    }
    Ok(())
}

/// Checks a server update and takes the administrator password out of it, recording its hash.
pub fn take_admin_password(store: &mut ArmStore, r: &mut Resource, now: OffsetDateTime) -> Result<(), Response> {
    let access = r.body.pointer("/properties/publicNetworkAccess").cloned();
    if let Some(v) = access.filter(|v| !v.is_null())
        && !v
            .as_str()
            .is_some_and(|s| ["Enabled", "Disabled", "SecuredByPerimeter"].iter().any(|a| a.eq_ignore_ascii_case(s)))
    {
        return Err(bad(
            "InvalidPublicNetworkAccessValue",
            format!("Invalid value given for parameter publicNetworkAccess: {v}. Specify Enabled or Disabled."),
        ));
    }
    let password = r
        .body
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .and_then(|p| p.remove("administratorLoginPassword"));
    let Some(password) = password else { return Ok(()) };
    let password = password.as_str().unwrap_or("");
    if !meets_complexity(password) {
        return Err(bad(
            "PasswordNotComplex",
            "Password validation failed. The password does not meet policy requirements because it is not complex enough.",
        ));
    }
    let id = format!("{}/sandboxAdminPassword/current", r.id);
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(password.as_bytes()));
    store.put(Resource::new(
        id.clone(),
        SQL_ADMIN_PASSWORD,
        json!({"id": id, "properties": {"sha256": hash, "changed": fmt_utc(now)}}),
    ));
    Ok(())
}

/// Azure SQL's rule: 8 to 128 characters from at least three of upper case, lower case, digits
/// and symbols.
fn meets_complexity(p: &str) -> bool {
    let classes = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_alphanumeric()),
    ];
    (8..=128).contains(&p.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_taken_out_and_hashed() {
        let mut store = ArmStore::new("s");
        let mut r = Resource::new(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/x".into(),
            "Microsoft.Sql/servers",
            json!({"properties": {"administratorLoginPassword": "Str0ng!Passw0rd"}}),
        );
        take_admin_password(&mut store, &mut r, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert!(r.body.pointer("/properties/administratorLoginPassword").is_none());
        assert!(store.get(&format!("{}/sandboxAdminPassword/current", r.id)).is_some());
        let mut weak = Resource::new(
            "/x".into(),
            "Microsoft.Sql/servers",
            json!({"properties": {"administratorLoginPassword": "short"}}),
        );
        assert!(take_admin_password(&mut store, &mut weak, OffsetDateTime::UNIX_EPOCH).is_err());
        let mut rule = Resource::new(
            "/r".into(),
            "f",
            json!({"properties": {"startIpAddress": "10.0.0.9", "endIpAddress": "10.0.0.1"}}),
        );
        assert!(check_firewall_rule(&mut rule).is_err());
    }
}
