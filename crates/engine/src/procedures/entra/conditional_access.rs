//! Conditional access: named locations and the policies SOC playbooks create, built as Graph
//! bodies here because they need what a body template cannot say: ranges typed IPv4 or IPv6,
//! users as object ids, a state chosen by `enforce`, a location created before the policy that
//! uses it.
//!
//! Every policy is created `enabledForReportingButNotEnforced` unless `enforce` is true.

use super::steps::{self, Steps, quoted};
use super::users::resolve_all;
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use std::net::IpAddr;
use time::OffsetDateTime;

const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";
const IP_TYPE: &str = "#microsoft.graph.ipNamedLocation";

fn invalid(field: &str, message: String, hint: &str) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.into(), message, hint: hint.into() })
}

/// CIDR ranges as Graph's `ipRanges` (a bare address becomes /32 or /128).
fn ranges(field: &str, given: &[String]) -> Result<Vec<Value>, EngineError> {
    given.iter().map(|r| range(field, r)).collect()
}

fn range(field: &str, given: &str) -> Result<Value, EngineError> {
    let bad = || {
        invalid(
            field,
            format!("'{given}' is not an IP address or CIDR range"),
            "e.g. 203.0.113.0/24, 198.51.100.7 or 2001:db8::/48",
        )
    };
    let (addr, prefix) = match given.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
        None => (given, None),
    };
    let ip: IpAddr = addr.trim().parse().map_err(|_| bad())?;
    let (ty, max) =
        if ip.is_ipv4() { ("#microsoft.graph.iPv4CidrRange", 32) } else { ("#microsoft.graph.iPv6CidrRange", 128) };
    let prefix = prefix.unwrap_or(max);
    if prefix > max {
        return Err(bad());
    }
    Ok(json!({"@odata.type": ty, "cidrAddress": format!("{ip}/{prefix}")}))
}

fn state(enforce: bool) -> &'static str {
    if enforce { "enabled" } else { "enabledForReportingButNotEnforced" }
}

fn stamp() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// POSTs the policy and answers it, saying whether it is enforced.
async fn create_policy(ctx: &Ctx<'_>, mut steps: Steps, policy: Value) -> Result<Carried, EngineError> {
    let resp = steps::graph(ctx, steps::post(POLICIES, policy)).await?;
    steps.request_ids.extend(resp.request_id.clone());
    let enforced = resp.body["state"] == "enabled";
    Ok(Carried {
        data: json!({"policy": resp.body, "reportOnly": !enforced}),
        request_ids: steps.request_ids,
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    })
}

/// The common shape: users (included, excluded object ids), all applications, the controls.
fn policy(name: String, enforce: bool, users: Value, conditions: Value, grant: Value) -> Value {
    let mut conditions = conditions;
    conditions["users"] = users;
    if conditions.get("applications").is_none() {
        conditions["applications"] = json!({"includeApplications": ["All"]});
    }
    json!({"displayName": name, "state": state(enforce), "conditions": conditions, "grantControls": grant})
}

fn all_users_except(excluded: Vec<String>) -> Value {
    json!({"includeUsers": ["All"], "excludeUsers": excluded})
}

/// The parameters every tenant-wide policy takes.
struct Common {
    name: Option<String>,
    excluded: Vec<String>,
    enforce: bool,
}

impl Common {
    fn read(args: &Args<'_>) -> Result<Common, EngineError> {
        Ok(Common {
            name: args.opt_text("displayName")?,
            excluded: match args.opt_value("excludedUsers")? {
                Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
                _ => Vec::new(),
            },
            enforce: args.bool("enforce")?,
        })
    }

    async fn users(&self, ctx: &Ctx<'_>) -> Result<Value, EngineError> {
        Ok(all_users_except(resolve_all(ctx, "excludedUsers", &self.excluded).await?))
    }
}

const COMMON_READS: [Read; 3] = [optional("displayName"), optional("excludedUsers"), required("enforce")];

/// `CreateNamedLocation`.
pub struct CreateIpLocation {
    name: String,
    ranges: Vec<String>,
    trusted: Option<bool>,
}

impl TryFrom<&Params> for CreateIpLocation {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(CreateIpLocation {
            name: args.text("displayName")?,
            ranges: args.strings("ipRanges")?,
            trusted: args.opt_value("isTrusted")?.and_then(|v| v.as_bool()),
        })
    }
}

impl Procedure for CreateIpLocation {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.create_ip_location");
    const READS: &'static [Read] = &[required("displayName"), required("ipRanges"), optional("isTrusted")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let body = json!({
            "@odata.type": IP_TYPE,
            "displayName": self.name,
            "isTrusted": self.trusted.unwrap_or(false),
            "ipRanges": ranges("ipRanges", &self.ranges)?,
        });
        let resp = steps::graph(ctx, steps::post(LOCATIONS, body)).await?;
        Ok(Carried {
            data: resp.body,
            request_ids: resp.request_id.into_iter().collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// `AddIPToNamedLocation`: the IP location of that display name gets the ranges added (kept
/// once each); none of that name creates it; several is a 400 listing them.
pub struct AddIpRanges {
    inner: CreateIpLocation,
}

impl TryFrom<&Params> for AddIpRanges {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(AddIpRanges {
            inner: CreateIpLocation {
                name: args.text("displayName")?,
                ranges: args.strings("ipRanges")?,
                trusted: args.opt_value("isTrusted")?.and_then(|v| v.as_bool()),
            },
        })
    }
}

impl Procedure for AddIpRanges {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.add_ip_ranges");
    const READS: &'static [Read] = &[required("displayName"), required("ipRanges"), optional("isTrusted")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let new = ranges("ipRanges", &self.inner.ranges)?;
        let mut steps = Steps::default();
        let req = steps::get(LOCATIONS).with_query("$filter", format!("displayName eq {}", quoted(&self.inner.name)));
        let found: Vec<Value> = steps::list(ctx, req, &mut steps)
            .await?
            .into_iter()
            .filter(|l| l["displayName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&self.inner.name)))
            .collect();
        let existing = match found.as_slice() {
            [] => {
                let mut c = self.inner.apply(ctx).await?;
                c.data = json!({"created": true, "location": c.data});
                return Ok(c);
            }
            [one] if one["@odata.type"] == IP_TYPE => one,
            [one] => {
                return Err(invalid(
                    "displayName",
                    format!(
                        "the named location '{}' is a {}, not an IP location",
                        self.inner.name,
                        one["@odata.type"].as_str().unwrap_or("?")
                    ),
                    "name an IP named location",
                ));
            }
            many => {
                let ids: Vec<&str> = many.iter().filter_map(|l| l["id"].as_str()).collect();
                return Err(invalid(
                    "displayName",
                    format!("{} named locations are called '{}': {}", many.len(), self.inner.name, ids.join(", ")),
                    "rename one, or add to it through Graph by id",
                ));
            }
        };
        let mut merged: Vec<Value> = existing["ipRanges"].as_array().cloned().unwrap_or_default();
        let mut added = Vec::new();
        for r in new {
            if !merged.iter().any(|m| m["cidrAddress"] == r["cidrAddress"]) {
                added.push(r["cidrAddress"].clone());
                merged.push(r);
            }
        }
        let id = existing["id"].as_str().unwrap_or_default().to_string();
        let mut body = json!({"@odata.type": IP_TYPE, "ipRanges": merged});
        if let Some(t) = self.inner.trusted {
            body["isTrusted"] = t.into();
        }
        let resp = steps::graph(ctx, steps::patch(format!("{LOCATIONS}/{id}"), body)).await?;
        steps.request_ids.extend(resp.request_id);
        Ok(Carried {
            data: json!({"created": false, "locationId": id, "added": added, "ipRanges": merged}),
            request_ids: steps.request_ids,
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// `BlockCountryLocation`: a country location, then a policy blocking it.
pub struct BlockCountries {
    countries: Vec<String>,
    common: Common,
}

impl TryFrom<&Params> for BlockCountries {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(BlockCountries {
            countries: args.strings("countryCodes")?.into_iter().map(|c| c.trim().to_ascii_uppercase()).collect(),
            common: Common::read(&args)?,
        })
    }
}

impl Procedure for BlockCountries {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.block_countries");
    const READS: &'static [Read] = &[required("countryCodes"), COMMON_READS[0], COMMON_READS[1], COMMON_READS[2]];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        if let Some(bad) = self.countries.iter().find(|c| c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic())) {
            return Err(invalid(
                "countryCodes",
                format!("'{bad}' is not an ISO 3166-1 alpha-2 country code"),
                "two letters, e.g. KP, IR, RU",
            ));
        }
        let users = self.common.users(ctx).await?;
        let mut steps = Steps::default();
        let location = json!({
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": format!("Blocked countries {}", stamp()),
            "countriesAndRegions": self.countries,
            "includeUnknownCountriesAndRegions": false,
        });
        let loc = steps::graph(ctx, steps::post(LOCATIONS, location)).await?;
        steps.request_ids.extend(loc.request_id.clone());
        let loc_id = loc.body["id"].as_str().unwrap_or_default().to_string();
        let name =
            self.common.name.clone().unwrap_or_else(|| format!("Block sign-ins from {}", self.countries.join(", ")));
        let body = policy(
            name,
            self.common.enforce,
            users,
            json!({"locations": {"includeLocations": [loc_id]}}),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        );
        let mut c = create_policy(ctx, steps, body).await?;
        c.data["namedLocation"] = loc.body;
        Ok(c)
    }
}

/// `CreateEmergencyCAPolicy`: one user blocked from every application.
pub struct EmergencyBlockUser {
    user: String,
    name: Option<String>,
    enforce: bool,
}

impl TryFrom<&Params> for EmergencyBlockUser {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(EmergencyBlockUser {
            user: args.text("userId")?,
            name: args.opt_text("displayName")?,
            enforce: args.bool("enforce")?,
        })
    }
}

impl Procedure for EmergencyBlockUser {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.emergency_block_user");
    const READS: &'static [Read] = &[required("userId"), optional("displayName"), required("enforce")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let name = self.name.unwrap_or_else(|| format!("EMERGENCY - Block User {} - {}", self.user, stamp()));
        let body = policy(
            name,
            self.enforce,
            json!({"includeUsers": [self.user]}),
            json!({}),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        );
        create_policy(ctx, Steps::default(), body).await
    }
}

/// A tenant-wide policy whose conditions and controls are fixed per action.
macro_rules! tenant_policy {
    ($ty:ident, $key:literal, $default_name:literal, $conditions:expr, $grant:expr) => {
        pub struct $ty {
            common: Common,
        }

        impl TryFrom<&Params> for $ty {
            type Error = EngineError;
            fn try_from(params: &Params) -> Result<Self, EngineError> {
                Ok($ty { common: Common::read(&Args::of::<Self>(params))? })
            }
        }

        impl Procedure for $ty {
            const ID: ProcedureId = ProcedureId($key);
            const READS: &'static [Read] = &COMMON_READS;
            async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
                let users = self.common.users(ctx).await?;
                let name = self.common.name.clone().unwrap_or_else(|| $default_name.to_string());
                create_policy(ctx, Steps::default(), policy(name, self.common.enforce, users, $conditions, $grant))
                    .await
            }
        }
    };
}

tenant_policy!(
    BreakGlass,
    "entra.conditional_access.break_glass",
    "EMERGENCY - Require MFA and a compliant device (break-glass excluded)",
    json!({}),
    json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]})
);

tenant_policy!(
    BlockLegacyAuth,
    "entra.conditional_access.block_legacy_auth",
    "Block legacy authentication",
    json!({"clientAppTypes": ["exchangeActiveSync", "other"]}),
    json!({"operator": "OR", "builtInControls": ["block"]})
);

/// `EnableCARiskPolicy`: MFA at or above the sign-in risk level.
pub struct SignInRisk {
    level: String,
    common: Common,
}

impl TryFrom<&Params> for SignInRisk {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(SignInRisk { level: args.text("riskLevel")?, common: Common::read(&args)? })
    }
}

impl Procedure for SignInRisk {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.sign_in_risk");
    const READS: &'static [Read] = &[required("riskLevel"), COMMON_READS[0], COMMON_READS[1], COMMON_READS[2]];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let levels: &[&str] = match self.level.as_str() {
            "high" => &["high"],
            "medium" => &["high", "medium"],
            _ => &["high", "medium", "low"],
        };
        let users = self.common.users(ctx).await?;
        let name = self.common.name.clone().unwrap_or_else(|| format!("Risk-based access - {} and above", self.level));
        let body = policy(
            name,
            self.common.enforce,
            users,
            json!({"signInRiskLevels": levels}),
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
        );
        create_policy(ctx, Steps::default(), body).await
    }
}

/// `EnableIdentityProtection`: high or medium user risk must pass MFA and change password
/// (Graph requires `passwordChange` together with `mfa` under `AND`).
pub struct UserRisk {
    user: Option<String>,
    common: Common,
}

impl TryFrom<&Params> for UserRisk {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(UserRisk { user: args.opt_text("userId")?, common: Common::read(&args)? })
    }
}

impl Procedure for UserRisk {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.user_risk");
    const READS: &'static [Read] = &[optional("userId"), COMMON_READS[0], COMMON_READS[1], COMMON_READS[2]];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut users = self.common.users(ctx).await?;
        if let Some(u) = &self.user {
            users["includeUsers"] = json!([u]);
        }
        let name = self.common.name.clone().unwrap_or_else(|| "Identity Protection - User risk policy".to_string());
        let body = policy(
            name,
            self.common.enforce,
            users,
            json!({"userRiskLevels": ["high", "medium"]}),
            json!({"operator": "AND", "builtInControls": ["mfa", "passwordChange"]}),
        );
        create_policy(ctx, Steps::default(), body).await
    }
}

/// `RequireMFAForRole`.
pub struct MfaForRole {
    role: String,
    common: Common,
}

impl TryFrom<&Params> for MfaForRole {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(MfaForRole { role: args.text("roleId")?, common: Common::read(&args)? })
    }
}

impl Procedure for MfaForRole {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.mfa_for_role");
    const READS: &'static [Read] = &[required("roleId"), COMMON_READS[0], COMMON_READS[1], COMMON_READS[2]];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let excluded = resolve_all(ctx, "excludedUsers", &self.common.excluded).await?;
        let users = json!({"includeRoles": [self.role], "excludeUsers": excluded});
        let name = self.common.name.clone().unwrap_or_else(|| format!("Require MFA - role {}", self.role));
        let body =
            policy(name, self.common.enforce, users, json!({}), json!({"operator": "OR", "builtInControls": ["mfa"]}));
        create_policy(ctx, Steps::default(), body).await
    }
}

/// `SimulateCAPolicy`: Graph's What If (`POST /beta/identity/conditionalAccess/evaluate`).
pub struct WhatIf {
    user: String,
    policy: Option<String>,
    app: String,
    client: String,
    ip: Option<String>,
    country: Option<String>,
    risk: String,
}

impl TryFrom<&Params> for WhatIf {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(WhatIf {
            user: args.text("userId")?,
            policy: args.opt_text("policyId")?,
            app: args.text("applicationId")?,
            client: args.text("clientAppType")?,
            ip: args.opt_text("ipAddress")?,
            country: args.opt_text("country")?.map(|c| c.to_ascii_uppercase()),
            risk: args.text("signInRiskLevel")?,
        })
    }
}

impl Procedure for WhatIf {
    const ID: ProcedureId = ProcedureId("entra.conditional_access.what_if");
    const READS: &'static [Read] = &[
        required("userId"),
        optional("policyId"),
        required("applicationId"),
        required("clientAppType"),
        optional("ipAddress"),
        optional("country"),
        required("signInRiskLevel"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut conditions = json!({"clientAppType": self.client, "signInRiskLevel": self.risk});
        if let Some(ip) = &self.ip {
            conditions["ipAddress"] = ip.clone().into();
        }
        if let Some(c) = &self.country {
            conditions["country"] = c.clone().into();
        }
        let body = json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": self.user},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [self.app]},
            "signInConditions": conditions,
            "appliedPoliciesOnly": false,
        });
        let resp = steps::graph(ctx, steps::post("/beta/identity/conditionalAccess/evaluate", body)).await?;
        let mut results: Vec<Value> = resp.body["value"].as_array().cloned().unwrap_or_default();
        if let Some(p) = &self.policy {
            results.retain(|r| r["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(p)));
            if results.is_empty() {
                return Err(invalid(
                    "policyId",
                    format!("no conditional access policy '{p}' in this tenant"),
                    "list them with GetConditionalAccessPolicies",
                ));
            }
        }
        let applying = results.iter().filter(|r| r["policyApplies"] == true).count();
        Ok(Carried {
            data: json!({"userId": self.user, "applyingPolicies": applying, "value": results}),
            request_ids: resp.request_id.into_iter().collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_typed_and_bare_addresses_get_a_full_prefix() {
        assert_eq!(range("ipRanges", "203.0.113.0/24").unwrap()["@odata.type"], "#microsoft.graph.iPv4CidrRange");
        assert_eq!(range("ipRanges", "198.51.100.7").unwrap()["cidrAddress"], "198.51.100.7/32");
        assert_eq!(range("ipRanges", "2001:db8::/48").unwrap()["@odata.type"], "#microsoft.graph.iPv6CidrRange");
        for bad in ["riposte", "10.0.0.0/33", "10.0.0/8"] {
            let EngineError::InvalidParam(p) = range("ipRanges", bad).unwrap_err() else { panic!() };
            assert_eq!(p.field, "ipRanges");
        }
    }
}
