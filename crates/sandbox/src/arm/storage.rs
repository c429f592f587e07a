//! Microsoft.Storage rules: the account keys behind `listKeys` / `regenerateKey`, user-delegation
//! key revocation, and the checks the provider applies to account and container updates.
//!
//! Account keys sign shared-key requests and every account or service SAS, so regenerating a
//! key is what invalidates the SAS tokens signed with it; user-delegation SAS tokens are signed
//! with Entra-issued delegation keys instead, which `revokeUserDelegationKeys` revokes
//! (learn.microsoft.com `storage/common/storage-account-keys-manage`, `storage/blobs/
//! storage-blob-user-delegation-sas-create-cli`: "revoke all user delegation keys").

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, method_not_allowed, ok_json, ops};
use crate::clock::fmt_utc;
use crate::errors;
use crate::world::arm::{ArmStore, Resource};
use crate::world::azure_data::new_storage_key;

fn keys_id(account_id: &str) -> String {
    format!("{account_id}/sandboxKeys/default")
}

fn account_not_found(account_id: &str) -> Response {
    let name = account_id.rsplit('/').next().unwrap_or("");
    errors::arm(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn bad(code: &str, message: impl Into<String>) -> Response {
    errors::arm(StatusCode::BAD_REQUEST, code, message)
}

/// POST `listKeys`, `regenerateKey`, `revokeUserDelegationKeys` on an account.
pub fn action(req: &Req, store: &mut ArmStore, account_id: &str, tail: &str) -> Result<Response, Response> {
    if req.method != Method::POST {
        return Err(method_not_allowed(&req.method));
    }
    if store.get(account_id).is_none() {
        return Err(account_not_found(account_id));
    }
    let action = format!("Microsoft.Storage/storageAccounts/{}/action", tail.to_ascii_lowercase());
    super::security::authorize(store, super::security::Access::ResourceWrite, &action, account_id)?;
    match tail.to_ascii_lowercase().as_str() {
        "listkeys" => Ok(ok_json(keys_view(store, account_id))),
        "regeneratekey" => regenerate(req, store, account_id),
        "revokeuserdelegationkeys" => {
            revoke_delegation_keys(store, account_id, req.now);
            Ok(ops::empty(StatusCode::OK))
        }
        _ => Err(super::types::unknown("Microsoft.Storage", &format!("storageAccounts/{tail}"), &req.api_version)),
    }
}

/// `{"keys": [{keyName, value, permissions, creationTime}]}`, as `listKeys` answers.
fn keys_view(store: &ArmStore, account_id: &str) -> Value {
    let keys = store.get(&keys_id(account_id)).and_then(|k| k.body.pointer("/properties/keys").cloned());
    json!({"keys": keys.unwrap_or_else(|| json!([]))})
}

/// `regenerateKey` with `{"keyName": "key1"|"key2"}`: a new value for that key (the old one and
/// everything it signed stop working), its creation time on the account's `keyCreationTime`.
fn regenerate(req: &Req, store: &mut ArmStore, account_id: &str) -> Result<Response, Response> {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let Some(name) = body.get("keyName").and_then(Value::as_str) else {
        return Err(bad("InvalidRequestContent", "The request body must carry 'keyName' (key1 or key2)."));
    };
    let name = match name.to_ascii_lowercase().as_str() {
        "key1" => "key1",
        "key2" => "key2",
        _ => {
            return Err(bad(
                "InvalidValuesForRequestParameters",
                format!("Values for request parameters are invalid: keyName. '{name}' is not key1 or key2."),
            ));
        }
    };
    let at = fmt_utc(req.now);
    let value = new_storage_key(&mut rand::rng());
    if let Some(keys) = store.get_mut(&keys_id(account_id)).and_then(|k| k.body.pointer_mut("/properties/keys"))
        && let Some(list) = keys.as_array_mut()
    {
        for k in list.iter_mut().filter(|k| k["keyName"] == name) {
            k["value"] = value.clone().into();
            k["creationTime"] = at.clone().into();
        }
    }
    if let Some(p) = store.get_mut(account_id).and_then(|a| a.body.get_mut("properties")) {
        p["keyCreationTime"][name] = at.into();
    }
    Ok(ok_json(keys_view(store, account_id)))
}

/// Records the revocation on the keys resource (the sandbox issues no delegation keys, so the
/// time is the whole effect: a user-delegation SAS signed before it is void).
fn revoke_delegation_keys(store: &mut ArmStore, account_id: &str, now: time::OffsetDateTime) {
    if let Some(p) = store.get_mut(&keys_id(account_id)).and_then(|k| k.body.get_mut("properties")) {
        p["userDelegationKeysRevoked"] = fmt_utc(now).into();
    }
}

fn one_of(r: &Resource, pointer: &str, allowed: &[&str], field: &str) -> Result<(), Response> {
    match r.body.pointer(pointer) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(v)) if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) => Ok(()),
        Some(v) => Err(bad(
            "InvalidValuesForRequestParameters",
            format!("Values for request parameters are invalid: {field}. '{v}' is not one of {}.", allowed.join(", ")),
        )),
    }
}

/// An account update: enums the provider knows, and IP rules that are addresses or IPv4 CIDR
/// ranges (Storage accepts no IPv6 and no private ranges in `ipRules`; the sandbox checks form).
pub fn check_account(r: &mut Resource) -> Result<(), Response> {
    one_of(
        r,
        "/properties/publicNetworkAccess",
        &["Enabled", "Disabled", "SecuredByPerimeter"],
        "publicNetworkAccess",
    )?;
    one_of(r, "/properties/networkAcls/defaultAction", &["Allow", "Deny"], "networkAcls.defaultAction")?;
    if let Some(v) = r.body.pointer("/properties/allowBlobPublicAccess")
        && !v.is_boolean()
    {
        return Err(bad("InvalidRequestContent", "allowBlobPublicAccess must be true or false."));
    }
    let rules =
        r.body.pointer("/properties/networkAcls/ipRules").and_then(Value::as_array).cloned().unwrap_or_default();
    for rule in rules {
        let value = rule.get("value").and_then(Value::as_str).unwrap_or("");
        if !is_ipv4_or_cidr(value) {
            return Err(bad(
                "NetworkAclsValidationFailure",
                format!("Validation of network acls failure: Invalid ip address or range: {value}."),
            ));
        }
    }
    Ok(())
}

fn is_ipv4_or_cidr(v: &str) -> bool {
    let (ip, bits) = v.split_once('/').map(|(i, b)| (i, Some(b))).unwrap_or((v, None));
    ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.is_none_or(|b| b.parse::<u8>().is_ok_and(|n| n <= 32))
}

/// A container's `publicAccess` is `None`, `Blob` or `Container`.
pub fn check_container(r: &mut Resource) -> Result<(), Response> {
    one_of(r, "/properties/publicAccess", &["None", "Blob", "Container"], "publicAccess")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_rules_are_addresses_or_ranges() {
        assert!(is_ipv4_or_cidr("203.0.113.7"));
        assert!(is_ipv4_or_cidr("203.0.113.0/24"));
        assert!(!is_ipv4_or_cidr("203.0.113.0/33"));
        assert!(!is_ipv4_or_cidr("not-an-ip"));
        let mut r = Resource::new(
            "/x".into(),
            "Microsoft.Storage/storageAccounts",
            json!({"properties": {"networkAcls": {"defaultAction": "Block"}}}),
        );
        assert!(check_account(&mut r).is_err());
    }
}
