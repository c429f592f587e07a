//! One device, many names: an Intune managed device resolved from whatever identity the caller has.
//!
//! An MDE machine and its Intune managed device are the same device, known by four identities:
//! the Intune id and the Entra device id (GUIDs), the MDE machine id (40 hex) and the DNS name.
//! Before an action with a [`ParamKind::ManagedDevice`] parameter is recorded,
//! [`managed_device_params`] replaces whatever was given with the Intune id:
//!
//! - a GUID: `GET managedDevices/{id}`; when Intune has no device of that id, it is taken as an
//!   Entra device id (`$filter=azureADDeviceId eq '..'`);
//! - an MDE machine id: `GET /api/machines/{id}` for its `aadDeviceId`, then the device of that
//!   Entra id; a machine MDE knows no Entra id for is matched by its short DNS name;
//! - a DNS name: `$filter=deviceName eq '<first label>'` (Intune names devices by host name).
//!
//! No match, or more than one, is a 400 naming the field and listing the candidates: acting on
//! the wrong device is worse than asking.

use crate::EngineError;
use catalog::params::is_machine_id;
use catalog::{ActionSpec, ParamError, ParamKind, Params};
use serde_json::Value;
use upstream::{Api, ApiRequest, TenantCredentials, Upstream, UpstreamError};

const DEVICES: &str = "/v1.0/deviceManagement/managedDevices";
/// Candidates a lookup gathers; far more than any real name matches.
const MAX_CANDIDATES: usize = 200;
/// Candidates an ambiguity error lists.
const LISTED: usize = 10;

/// Replace every managed-device parameter of `spec` with the Intune id of the device it names.
pub async fn managed_device_params(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &ActionSpec,
    mut params: Params,
) -> Result<Params, EngineError> {
    for p in spec.params.iter().filter(|p| p.kind == ParamKind::ManagedDevice) {
        let Some(Value::String(given)) = params.get(p.name).cloned() else { continue };
        let id = resolve(upstream, creds, p.name, &given).await?;
        params.insert(p.name, Value::String(id));
    }
    Ok(params)
}

/// The Intune id of the one device `given` names, or a 400 naming `field`.
async fn resolve(
    upstream: &Upstream,
    creds: &TenantCredentials,
    field: &str,
    given: &str,
) -> Result<String, EngineError> {
    if catalog::params::is_guid(given) {
        if let Some(device) = by_id(upstream, creds, given).await? {
            return intune_id(&device, given);
        }
        let found = by_filter(upstream, creds, &format!("azureADDeviceId eq '{given}'")).await?;
        return pick(field, given, "has the Intune or Entra device id", &found);
    }
    if is_machine_id(given) {
        let machine = mde_machine(upstream, creds, field, given).await?;
        if let Some(aad) = machine["aadDeviceId"].as_str().filter(|s| !s.is_empty()) {
            let found = by_filter(upstream, creds, &format!("azureADDeviceId eq '{}'", quote(aad))).await?;
            if !found.is_empty() {
                return pick(field, given, "is the MDE machine", &found);
            }
        }
        let name = machine["computerDnsName"].as_str().unwrap_or_default().to_ascii_lowercase();
        let found = by_name(upstream, creds, &name).await?;
        return pick(field, given, "is the MDE machine (matched by its DNS name)", &found);
    }
    let found = by_name(upstream, creds, given).await?;
    pick(field, given, "is named", &found)
}

/// The managed device of this Intune id, if any.
async fn by_id(upstream: &Upstream, creds: &TenantCredentials, id: &str) -> Result<Option<Value>, EngineError> {
    match upstream.call(creds, ApiRequest::get(Api::Graph, format!("{DEVICES}/{id}"))).await {
        Ok(resp) => Ok(Some(resp.body)),
        Err(UpstreamError::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Managed devices whose host name is the first label of `name` (Intune keeps the host name,
/// MDE the FQDN); compared ignoring case.
async fn by_name(upstream: &Upstream, creds: &TenantCredentials, name: &str) -> Result<Vec<Value>, EngineError> {
    let host = name.split('.').next().unwrap_or(name);
    if host.is_empty() {
        return Ok(Vec::new());
    }
    let found = by_filter(upstream, creds, &format!("deviceName eq '{}'", quote(host))).await?;
    Ok(found.into_iter().filter(|d| d["deviceName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(host))).collect())
}

async fn by_filter(upstream: &Upstream, creds: &TenantCredentials, filter: &str) -> Result<Vec<Value>, EngineError> {
    let req = ApiRequest::get(Api::Graph, DEVICES).with_query("$filter", filter);
    Ok(upstream.get_paged(creds, req, MAX_CANDIDATES).await?.items)
}

/// The MDE machine of this id, or a 400: an unknown machine id names no device at all.
async fn mde_machine(
    upstream: &Upstream,
    creds: &TenantCredentials,
    field: &str,
    id: &str,
) -> Result<Value, EngineError> {
    match upstream.call(creds, ApiRequest::get(Api::Mde, format!("/api/machines/{id}"))).await {
        Ok(resp) => Ok(resp.body),
        Err(UpstreamError::Api { status: 404, .. }) => Err(invalid(
            field,
            format!("no MDE machine has the id '{id}', so no Intune device could be found for it"),
            "check the id with MDE's GetAllDevices, or send the Intune device id or the DNS name",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The one device among the candidates, or a 400 naming `field`.
fn pick(field: &str, given: &str, how: &str, devices: &[Value]) -> Result<String, EngineError> {
    match devices {
        [one] => intune_id(one, given),
        [] => Err(invalid(
            field,
            format!("no Intune managed device {how} '{given}'"),
            "the device may not be enrolled in Intune; list devices with GetManagedDevices, or send the Intune device id",
        )),
        many => Err(invalid(
            field,
            format!("'{given}' matches {} Intune managed devices: {}", many.len(), describe(many)),
            "send the Intune device id (GUID) of the one you mean",
        )),
    }
}

fn intune_id(device: &Value, given: &str) -> Result<String, EngineError> {
    device["id"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| EngineError::Internal(format!("Graph answered a managed device without an id for '{given}'")))
}

/// `id (deviceName, operatingSystem, userPrincipalName, last sync ...)` for the first few.
fn describe(devices: &[Value]) -> String {
    let mut listed: Vec<String> = devices
        .iter()
        .take(LISTED)
        .map(|d| {
            format!(
                "{} ({}, {}, {}, last sync {})",
                d["id"].as_str().unwrap_or("?"),
                d["deviceName"].as_str().unwrap_or("?"),
                d["operatingSystem"].as_str().unwrap_or("?"),
                d["userPrincipalName"].as_str().unwrap_or("?"),
                d["lastSyncDateTime"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    if devices.len() > LISTED {
        listed.push(format!("and {} more", devices.len() - LISTED));
    }
    listed.join("; ")
}

fn invalid(field: &str, message: String, hint: &str) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.to_string(), message, hint: hint.to_string() })
}

/// An OData string literal's inside: `'` doubled.
fn quote(s: &str) -> String {
    s.replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn device(id: &str, name: &str) -> Value {
        json!({ "id": id, "deviceName": name, "operatingSystem": "Windows", "userPrincipalName": "a@contoso.com" })
    }

    #[test]
    fn one_candidate_is_the_device_and_none_or_several_is_a_400_naming_the_field() {
        let a = "6F1C52A4-3C0E-4B8A-9A1E-2D7F0B5C9E31";
        assert_eq!(pick("deviceId", "ws-1", "is named", &[device(a, "ws-1")]).unwrap(), a.to_ascii_lowercase());

        let EngineError::InvalidParam(p) = pick("deviceId", "ws-9", "is named", &[]).unwrap_err() else { panic!() };
        assert_eq!(p.field, "deviceId");
        assert!(p.message.contains("no Intune managed device is named 'ws-9'"), "{}", p.message);

        let b = "7a1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e32";
        let many = [device(a, "ws-1"), device(b, "ws-1")];
        let EngineError::InvalidParam(p) = pick("deviceId", "ws-1", "is named", &many).unwrap_err() else { panic!() };
        assert!(p.message.contains("matches 2") && p.message.contains(a) && p.message.contains(b), "{}", p.message);
        assert!(p.hint.contains("Intune device id"), "{}", p.hint);
    }
}
