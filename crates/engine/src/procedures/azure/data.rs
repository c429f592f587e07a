//! Storage and SQL procedures (catalog `azure/data.rs`): revoking every SAS of an account,
//! blocking an address at a SQL server's firewall, rotating a SQL administrator password.

use std::net::Ipv4Addr;

use super::arm::{self, carried, invalid, resource_path};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use rand::Rng;
use serde_json::{Value, json};
use upstream::Method;

const STORAGE: &str = "2023-05-01";
const SQL: &str = "2023-08-01";

/// A storage account or SQL server named by subscription, group and name.
struct Target {
    subscription: String,
    group: String,
    name: String,
}

impl Target {
    fn read(args: &Args<'_>, name: &'static str) -> Result<Target, EngineError> {
        Ok(Target {
            subscription: args.text("subscriptionId")?,
            group: args.text("resourceGroup")?,
            name: args.text(name)?,
        })
    }

    fn path(&self, namespace_type: &str) -> String {
        resource_path(&self.subscription, &self.group, namespace_type, &self.name)
    }
}

/// `RevokeStorageSAS`: Azure cannot revoke one SAS token. Account and service SAS tokens are
/// signed with an account key and die with it; user-delegation SAS tokens with a delegation key,
/// revoked for the whole account. So: revoke the delegation keys, regenerate key1 and key2.
/// The new key values are not in the answer (`listKeys` reads them).
pub struct RevokeSas {
    account: Target,
}

impl TryFrom<&Params> for RevokeSas {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(RevokeSas { account: Target::read(&Args::of::<Self>(params), "storageAccountName")? })
    }
}

impl Procedure for RevokeSas {
    const ID: ProcedureId = ProcedureId("azure.storage.revoke_sas");
    const READS: &'static [Read] =
        &[required("subscriptionId"), required("resourceGroup"), required("storageAccountName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let account = self.account.path("Microsoft.Storage/storageAccounts");
        let revoke = format!("{account}/revokeUserDelegationKeys");
        let revoked = arm::call(ctx, Method::Post, &revoke, STORAGE, Some(json!({}))).await?;
        let regenerate = format!("{account}/regenerateKey");
        let key1 = arm::call(ctx, Method::Post, &regenerate, STORAGE, Some(json!({"keyName": "key1"}))).await?;
        let key2 = arm::call(ctx, Method::Post, &regenerate, STORAGE, Some(json!({"keyName": "key2"}))).await?;
        let data = json!({
            "storageAccountName": self.account.name,
            "userDelegationKeysRevoked": true,
            "regeneratedKeys": ["key1", "key2"],
            "note": "Every account, service and user-delegation SAS issued before now is void; clients using the account keys need the new ones (listKeys).",
        });
        Ok(carried(data, &[&revoked, &key1, &key2]))
    }
}

/// `BlockSQLIP`: a SQL server's firewall only allows, so an address is blocked by removing
/// every rule whose range holds it (the seed removed exact matches only, and left ranges that
/// still admitted the address). Already blocked when no rule holds it.
pub struct BlockSqlIp {
    server: Target,
    ip: Ipv4Addr,
}

impl TryFrom<&Params> for BlockSqlIp {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let text = args.text("ipAddress")?;
        let ip = text.parse().map_err(|_| {
            invalid(
                "ipAddress",
                format!("'{text}' is not an IPv4 address"),
                "Azure SQL firewall rules hold IPv4 ranges only",
            )
        })?;
        Ok(BlockSqlIp { server: Target::read(&args, "serverName")?, ip })
    }
}

fn rule_holds(rule: &Value, ip: Ipv4Addr) -> bool {
    let bound = |f: &str| {
        rule.pointer(&format!("/properties/{f}")).and_then(Value::as_str).and_then(|s| s.parse::<Ipv4Addr>().ok())
    };
    matches!((bound("startIpAddress"), bound("endIpAddress")), (Some(s), Some(e)) if s <= ip && ip <= e)
}

impl Procedure for BlockSqlIp {
    const ID: ProcedureId = ProcedureId("azure.sql.block_ip");
    const READS: &'static [Read] =
        &[required("subscriptionId"), required("resourceGroup"), required("serverName"), required("ipAddress")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let rules_path = format!("{}/firewallRules", self.server.path("Microsoft.Sql/servers"));
        let rules = arm::list(ctx, &rules_path, SQL).await?;
        let holding: Vec<Value> = rules.into_iter().filter(|r| rule_holds(r, self.ip)).collect();
        let mut responses = Vec::new();
        for rule in &holding {
            let name = rule["name"].as_str().unwrap_or_default();
            let path = format!("{rules_path}/{}", crate::plan::encode_segment(name));
            responses.push(arm::call(ctx, Method::Delete, &path, SQL, None).await?);
        }
        let removed: Vec<Value> = holding
            .iter()
            .map(|r| json!({"name": r["name"], "startIpAddress": r.pointer("/properties/startIpAddress"), "endIpAddress": r.pointer("/properties/endIpAddress")}))
            .collect();
        let data = json!({
            "ipAddress": self.ip.to_string(),
            "alreadyBlocked": removed.is_empty(),
            "removedRules": removed,
        });
        Ok(carried(data, &responses.iter().collect::<Vec<_>>()))
    }
}

/// `RotateSQLPassword`: PATCH the server's `administratorLoginPassword` (long-running, followed
/// to its end before answering). A generated password is the answer's `administratorLoginPassword`, declared
/// sensitive in the catalog: redacted before storage and audit, shown once on request. A
/// password the caller gave is never echoed.
pub struct RotateSqlPassword {
    server: Target,
    given: Option<String>,
}

impl TryFrom<&Params> for RotateSqlPassword {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RotateSqlPassword { server: Target::read(&args, "serverName")?, given: args.opt_text("newPassword")? })
    }
}

/// 32 characters from upper case, lower case, digits and symbols, at least one of each (Azure
/// SQL's complexity rule wants three of the four classes).
fn generate_password() -> String {
    const CLASSES: [&[u8]; 4] =
        [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"!#%*+-=?@^_~"];
    let mut rng = rand::rng();
    let mut chars: Vec<u8> = CLASSES.iter().map(|c| c[rng.random_range(0..c.len())]).collect();
    let all: Vec<u8> = CLASSES.concat();
    while chars.len() < 32 {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    for i in (1..chars.len()).rev() {
        chars.swap(i, rng.random_range(0..=i));
    }
    String::from_utf8(chars).expect("the alphabet is ASCII")
}

impl Procedure for RotateSqlPassword {
    const ID: ProcedureId = ProcedureId("azure.sql.rotate_password");
    const READS: &'static [Read] =
        &[required("subscriptionId"), required("resourceGroup"), required("serverName"), optional("newPassword")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let generated = self.given.is_none();
        let password = self.given.unwrap_or_else(generate_password);
        let body = json!({"properties": {"administratorLoginPassword": password}});
        let resp = arm::call(ctx, Method::Patch, &self.server.path("Microsoft.Sql/servers"), SQL, Some(body)).await?;
        let mut data = json!({
            "serverName": self.server.name,
            "administratorLogin": resp.body.pointer("/properties/administratorLogin"),
            "passwordGenerated": generated,
        });
        if generated {
            data["administratorLoginPassword"] = password.into();
        }
        // Followed here, not by the tracker: the one-time reveal is this answer, and it is
        // only worth giving once the password is in force.
        super::steps::finish(ctx, &resp).await?;
        Ok(carried(data, &[&resp]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_complex_and_fresh() {
        let a = generate_password();
        assert_eq!(a.len(), 32);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()) && a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()) && a.chars().any(|c| !c.is_alphanumeric()));
        assert_ne!(a, generate_password());
    }

    #[test]
    fn rules_hold_addresses_in_their_range() {
        let rule = json!({"properties": {"startIpAddress": "198.51.100.0", "endIpAddress": "198.51.100.255"}});
        assert!(rule_holds(&rule, "198.51.100.7".parse().unwrap()));
        assert!(!rule_holds(&rule, "198.51.101.7".parse().unwrap()));
    }
}
