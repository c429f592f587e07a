//! Machines named by DNS name or IP, resolved to MDE machine ids.
//!
//! The catalog lets every `deviceIds`/`deviceId` carry a DNS name or an IP besides a 40-hex
//! machine id. Before an action runs, [`machine_params`] replaces each name or IP with the one
//! machine it denotes: names through `GET /api/machines?$filter=...computerDnsName...`, IPs through
//! `GET /api/machines/findbyip(ip='..',timestamp=..)`. No match, or more than one, is a 400 that
//! names the field and lists the candidates: acting on the wrong machine is worse than asking.
//!
//! The same lookups answer the `GetDeviceByName` and `FindDevicesByIp` actions ([`FindByName`],
//! [`FindByIp`]).

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, answer, optional, required};
use catalog::params::is_machine_id;
use catalog::{ActionSpec, ParamError, ParamKind, Params, ProcedureId};
use serde_json::{Value, json};
use std::net::IpAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use upstream::{Api, ApiRequest, TenantCredentials, Upstream};

/// Candidates a lookup gathers; far more than any real name or IP matches.
const MAX_CANDIDATES: usize = 1000;
/// Candidates an ambiguity error lists.
const LISTED: usize = 10;

/// Replace DNS names and IPs in the device parameters of `spec` with machine ids.
pub async fn machine_params(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &ActionSpec,
    mut params: Params,
) -> Result<Params, EngineError> {
    for p in spec.params {
        let Some(value) = params.get(p.name).cloned() else { continue };
        let resolved = match (p.kind, value) {
            (ParamKind::DeviceIds, Value::Array(items)) => {
                let names: Vec<String> = items.iter().filter_map(|v| v.as_str().map(String::from)).collect();
                if names.iter().all(|n| is_machine_id(n)) {
                    continue;
                }
                Value::Array(
                    resolve_all(upstream, creds, p.name, names).await?.into_iter().map(Value::String).collect(),
                )
            }
            (ParamKind::DeviceId, Value::String(name)) if !is_machine_id(&name) => {
                Value::String(resolve_one(upstream, creds, p.name, &name).await?)
            }
            _ => continue,
        };
        params.insert(p.name, resolved);
    }
    Ok(params)
}

/// Each target resolved in order (one lookup at a time: the MDE budget paces them anyway);
/// duplicates (an id and its own name) collapse to one.
async fn resolve_all(
    upstream: &Upstream,
    creds: &TenantCredentials,
    field: &str,
    names: Vec<String>,
) -> Result<Vec<String>, EngineError> {
    let mut ids: Vec<String> = Vec::new();
    for name in names {
        let id = if is_machine_id(&name) { name } else { resolve_one(upstream, creds, field, &name).await? };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The one machine a DNS name or IP denotes, or a 400 naming `field`.
async fn resolve_one(
    upstream: &Upstream,
    creds: &TenantCredentials,
    field: &str,
    name: &str,
) -> Result<String, EngineError> {
    let (machines, how) = match name.parse::<IpAddr>() {
        Ok(ip) => (by_ip(upstream, creds, ip, OffsetDateTime::now_utc()).await?, "had the IP"),
        Err(_) => (by_name(upstream, creds, name).await?, "is named"),
    };
    pick(field, name, how, &machines)
}

/// The one machine of the candidates, or a 400 naming `field`: none matched, or several did
/// (listed, so the caller can choose by id).
fn pick(field: &str, name: &str, how: &str, machines: &[Value]) -> Result<String, EngineError> {
    match machines {
        [one] => one["id"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| EngineError::Internal(format!("MDE answered a machine without an id for '{name}'"))),
        [] => Err(EngineError::InvalidParam(ParamError {
            field: field.to_string(),
            message: format!("no MDE machine {how} '{name}'"),
            hint: "check the name with GetDeviceByName or FindDevicesByIp, or send the 40-hex machine id".into(),
        })),
        many => Err(EngineError::InvalidParam(ParamError {
            field: field.to_string(),
            message: format!("'{name}' matches {} machines: {}", many.len(), describe(many)),
            hint: "send the 40-hex machine id of the one you mean".into(),
        })),
    }
}

/// `id (computerDnsName, lastIpAddress, last seen ...)` for the first few candidates.
fn describe(machines: &[Value]) -> String {
    let mut listed: Vec<String> = machines
        .iter()
        .take(LISTED)
        .map(|m| {
            format!(
                "{} ({}, {}, last seen {})",
                m["id"].as_str().unwrap_or("?"),
                m["computerDnsName"].as_str().unwrap_or("?"),
                m["lastIpAddress"].as_str().unwrap_or("?"),
                m["lastSeen"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    if machines.len() > LISTED {
        listed.push(format!("and {} more", machines.len() - LISTED));
    }
    listed.join("; ")
}

/// Machines whose `computerDnsName` is the name, or whose first label is (a short name `ws-01`
/// matches `ws-01.contoso.com`). MDE compares case-insensitively; names are lowercased already.
async fn by_name(upstream: &Upstream, creds: &TenantCredentials, name: &str) -> Result<Vec<Value>, EngineError> {
    let quoted = name.replace('\'', "''");
    let filter = if name.contains('.') {
        format!("computerDnsName eq '{quoted}'")
    } else {
        format!("computerDnsName eq '{quoted}' or startswith(computerDnsName,'{quoted}.')")
    };
    let req = ApiRequest::get(Api::Mde, "/api/machines").with_query("$filter", filter);
    let page = match upstream.get_paged(creds, req, MAX_CANDIDATES).await {
        Ok(page) => page,
        // MDE documents a 404 when no machine matches a machines query.
        Err(upstream::UpstreamError::Api { status: 404, .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let short = format!("{name}.");
    Ok(page
        .items
        .into_iter()
        .filter(|m| {
            let dns = m["computerDnsName"].as_str().unwrap_or("").to_ascii_lowercase();
            dns == name || dns.starts_with(&short)
        })
        .collect())
}

/// `findbyip`: machines seen with the IP within 15 minutes of `at`.
async fn by_ip(
    upstream: &Upstream,
    creds: &TenantCredentials,
    ip: IpAddr,
    at: OffsetDateTime,
) -> Result<Vec<Value>, EngineError> {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    let stamp = at.format(&Rfc3339).map_err(|e| EngineError::Internal(format!("timestamp: {e}")))?;
    let req = ApiRequest::get(Api::Mde, format!("/api/machines/findbyip(ip='{ip}',timestamp={stamp})"));
    match upstream.get_paged(creds, req, MAX_CANDIDATES).await {
        Ok(page) => Ok(page.items),
        Err(upstream::UpstreamError::Api { status: 404, .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// `GetDeviceByName`: machines whose DNS name (full, or the short name before the first dot) is
/// the one given. Every match is answered; none is an empty list, not an error.
pub struct FindByName {
    name: String,
}

impl TryFrom<&Params> for FindByName {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(FindByName { name: args.text("computerDnsName")?.trim().to_ascii_lowercase() })
    }
}

impl Procedure for FindByName {
    const ID: ProcedureId = ProcedureId("mde.devices.find_by_name");
    const READS: &'static [Read] = &[required("computerDnsName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        Ok(found(by_name(ctx.engine.upstream(), ctx.creds, &self.name).await?))
    }
}

/// `FindDevicesByIp`: machines seen with an internal IP around a moment (now when not given).
pub struct FindByIp {
    ip: IpAddr,
    at: Option<OffsetDateTime>,
}

impl TryFrom<&Params> for FindByIp {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let ip = args.text("ip")?;
        let ip = ip.parse().map_err(|_| EngineError::Internal(format!("ip '{ip}' passed validation")))?;
        let at = args
            .opt_text("timestamp")?
            .map(|t| OffsetDateTime::parse(&t, &Rfc3339).map_err(|e| EngineError::Internal(format!("timestamp: {e}"))))
            .transpose()?;
        Ok(FindByIp { ip, at })
    }
}

impl Procedure for FindByIp {
    const ID: ProcedureId = ProcedureId("mde.devices.find_by_ip");
    const READS: &'static [Read] = &[required("ip"), optional("timestamp")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let at = self.at.unwrap_or_else(OffsetDateTime::now_utc);
        Ok(found(by_ip(ctx.engine.upstream(), ctx.creds, self.ip, at).await?))
    }
}

fn found(machines: Vec<Value>) -> Carried {
    answer(json!({ "count": machines.len(), "value": machines }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(id: &str, dns: &str, ip: &str) -> Value {
        json!({ "id": id, "computerDnsName": dns, "lastIpAddress": ip, "lastSeen": "2026-11-23T10:00:00Z" })
    }

    #[test]
    fn one_candidate_is_the_machine() {
        let id = "1E5BC9D7E413DDD7902C2932E418702B84D0CC07";
        let got = pick("deviceIds", "ws-01", "is named", &[machine(id, "ws-01.contoso.com", "10.0.0.5")]).unwrap();
        assert_eq!(got, id.to_ascii_lowercase());
    }

    #[test]
    fn none_or_several_is_a_400_naming_the_field_and_the_candidates() {
        let err = pick("deviceIds", "ws-09", "is named", &[]).unwrap_err();
        let EngineError::InvalidParam(p) = err else { panic!("{err:?}") };
        assert_eq!(p.field, "deviceIds");
        assert!(p.message.contains("no MDE machine is named 'ws-09'"), "{}", p.message);

        let a = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";
        let b = "7bf0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8";
        let many = [machine(a, "ws-01.contoso.com", "10.0.0.5"), machine(b, "ws-01.fabrikam.com", "10.0.0.5")];
        let err = pick("deviceId", "10.0.0.5", "had the IP", &many).unwrap_err();
        let EngineError::InvalidParam(p) = err else { panic!("{err:?}") };
        assert_eq!(p.field, "deviceId");
        assert!(
            p.message.contains("matches 2 machines") && p.message.contains(a) && p.message.contains(b),
            "{}",
            p.message
        );
        assert!(p.message.contains("ws-01.fabrikam.com"), "{}", p.message);
        assert!(p.hint.contains("40-hex machine id"), "{}", p.hint);

        let crowd: Vec<Value> = (0..15).map(|i| machine(&format!("{i:040x}"), "x", "y")).collect();
        let EngineError::InvalidParam(p) = pick("deviceIds", "x", "is named", &crowd).unwrap_err() else { panic!() };
        assert!(p.message.contains("and 5 more"), "{}", p.message);
    }
}
