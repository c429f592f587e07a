//! Security groups: the `GetSecurityGroups` read, and revoking (then restoring) the ingress
//! rules that admit an address.
//!
//! A security group is an allow-list, so the only way to stop it admitting an address is to take
//! away the rules that admit it: every ingress range (IPv4 `cidrIp`, IPv6 `cidrIpv6`) that
//! overlaps the address or range is revoked as one `RevokeSecurityGroupIngress` of exactly that
//! protocol, port range and CIDR. Whatever else that rule admitted loses access too, which is why
//! a broad rule (wider than /16, IPv6 /48: `0.0.0.0/0` is the common one) is only listed under
//! `kept` unless `includeBroadRules`. The revoked rules, descriptions included, are the
//! operation's result; `RestoreSecurityGroupIngress` reads them from there and authorizes each
//! again (`InvalidPermission.Duplicate`: it is back already, left as it is).

use super::{Calls, Ctx, Query, at_most_one_target, carried, text};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::aws::instances::{describe, paged};
use crate::procedures::{Args, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use std::net::IpAddr;
use upstream::aws::items;

/// Prefix lengths below which a range is "broad": revoking it cuts far more than one address.
const BROAD_V4: u8 = 16;
const BROAD_V6: u8 = 48;
/// The action whose result `RestoreSecurityGroupIngress` undoes.
const REVOKE_ACTION: &str = "RevokeSecurityGroupIngressForIP";

/// An address range: its network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    addr: IpAddr,
    bits: u8,
}

impl Block {
    /// `a.b.c.d/n` or a bare address (its /32 or /128).
    pub(crate) fn parse(text: &str) -> Option<Block> {
        let (addr, bits) = text.split_once('/').map_or((text, None), |(a, b)| (a, Some(b)));
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b.trim().parse::<u8>().ok().filter(|b| *b <= max)?,
            None => max,
        };
        Some(Block { addr, bits })
    }

    pub(crate) fn is_v6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// As AWS spells a CIDR block.
    pub(crate) fn cidr(&self) -> String {
        format!("{}/{}", self.addr, self.bits)
    }

    fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.bits)).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// Whether some address is in both.
    pub(crate) fn overlaps(&self, other: &Block) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    fn is_broad(&self) -> bool {
        self.bits < if self.is_v6() { BROAD_V6 } else { BROAD_V4 }
    }
}

/// `IpPermissions.{n}.*` for one permission item as `DescribeSecurityGroups` shows it (protocol,
/// ports, IPv4 and IPv6 ranges with descriptions, group pairs, prefix lists).
pub(crate) fn permission_query(mut query: Query, n: usize, permission: &Value) -> Query {
    let p = format!("IpPermissions.{n}");
    query = query.set(format!("{p}.IpProtocol"), text(permission, "ipProtocol"));
    for (field, name) in [("fromPort", "FromPort"), ("toPort", "ToPort")] {
        if !text(permission, field).is_empty() {
            query = query.set(format!("{p}.{name}"), text(permission, field));
        }
    }
    let lists = [
        ("ipRanges", "IpRanges", "cidrIp", "CidrIp"),
        ("ipv6Ranges", "Ipv6Ranges", "cidrIpv6", "CidrIpv6"),
        ("groups", "Groups", "groupId", "GroupId"),
        ("prefixListIds", "PrefixListIds", "prefixListId", "PrefixListId"),
    ];
    for (list, name, key, field) in lists {
        for (k, item) in items(&permission[list]).iter().enumerate() {
            query = query.set(format!("{p}.{name}.{}.{field}", k + 1), text(item, key));
            if !text(item, "description").is_empty() {
                query = query.set(format!("{p}.{name}.{}.Description", k + 1), text(item, "description"));
            }
        }
    }
    query
}

/// One ingress range of a group, as revoked (and restored).
fn rule(group: &Value, permission: &Value, range: &Value, v6: bool) -> Value {
    json!({
        "groupId": text(group, "groupId"),
        "groupName": text(group, "groupName"),
        "ipProtocol": text(permission, "ipProtocol"),
        "fromPort": text(permission, "fromPort"),
        "toPort": text(permission, "toPort"),
        "cidr": text(range, if v6 { "cidrIpv6" } else { "cidrIp" }),
        "description": text(range, "description"),
    })
}

/// The permission item that is exactly one recorded rule.
fn rule_permission(rule: &Value) -> Value {
    let v6 = Block::parse(text(rule, "cidr")).is_some_and(|b| b.is_v6());
    let range = if v6 {
        json!({ "cidrIpv6": rule["cidr"], "description": rule["description"] })
    } else {
        json!({ "cidrIp": rule["cidr"], "description": rule["description"] })
    };
    let mut permission =
        json!({ "ipProtocol": rule["ipProtocol"], "fromPort": rule["fromPort"], "toPort": rule["toPort"] });
    permission[if v6 { "ipv6Ranges" } else { "ipRanges" }] = json!([range]);
    permission
}

/// What `GetSecurityGroups` shows of a group.
fn view(group: &Value) -> Value {
    let rules = |list: &str| -> Vec<Value> {
        items(&group[list])
            .iter()
            .map(|p| {
                json!({
                    "ipProtocol": text(p, "ipProtocol"),
                    "fromPort": text(p, "fromPort"),
                    "toPort": text(p, "toPort"),
                    "cidrs": items(&p["ipRanges"]).iter().map(|r| text(r, "cidrIp"))
                        .chain(items(&p["ipv6Ranges"]).iter().map(|r| text(r, "cidrIpv6"))).collect::<Vec<_>>(),
                    "groups": items(&p["groups"]).iter().map(|g| text(g, "groupId")).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    json!({
        "groupId": text(group, "groupId"),
        "groupName": text(group, "groupName"),
        "vpcId": text(group, "vpcId"),
        "description": text(group, "groupDescription"),
        "ingress": rules("ipPermissions"),
        "egress": rules("ipPermissionsEgress"),
    })
}

/// The security groups of one target: ids, an instance's, or a VPC's.
async fn groups(
    ctx: &Ctx<'_>,
    calls: &mut Calls,
    ids: &[String],
    instance: Option<&str>,
    vpc: Option<&str>,
) -> Result<Vec<Value>, EngineError> {
    let mut query = Query::new();
    if let Some(id) = instance {
        let instance = describe(ctx, calls, id).await?;
        query = query.list("GroupId", &instance.group_ids);
    }
    query = query.list("GroupId", ids);
    if let Some(vpc) = vpc {
        query = query.filter("vpc-id", &[vpc.to_owned()]);
    }
    let pages = paged(ctx, calls, "DescribeSecurityGroups", query).await?;
    Ok(pages.iter().flat_map(|p| items(&p["securityGroupInfo"]).to_vec()).collect())
}

/// `GetSecurityGroups`.
pub struct List {
    group_ids: Vec<String>,
    vpc_id: Option<String>,
    instance_id: Option<String>,
}

impl TryFrom<&Params> for List {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(List {
            group_ids: super::opt_ids(&args, "groupIds")?.unwrap_or_default(),
            vpc_id: args.opt_text("vpcId")?,
            instance_id: args.opt_text("instanceId")?,
        })
    }
}

impl Procedure for List {
    const ID: ProcedureId = ProcedureId("aws.security_groups.list");
    const READS: &'static [Read] = &[optional("groupIds"), optional("vpcId"), optional("instanceId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut calls = Calls::default();
        let found =
            groups(ctx, &mut calls, &self.group_ids, self.instance_id.as_deref(), self.vpc_id.as_deref()).await?;
        let value: Vec<Value> = found.iter().map(view).collect();
        Ok(carried(json!({ "count": value.len(), "value": value }), calls.request_ids))
    }
}

/// `RevokeSecurityGroupIngressForIP`.
pub struct Revoke {
    ip: String,
    instance_id: Option<String>,
    group_ids: Option<Vec<String>>,
    vpc_id: Option<String>,
    include_broad: bool,
}

impl TryFrom<&Params> for Revoke {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Revoke {
            ip: args.text("ip")?,
            instance_id: args.opt_text("instanceId")?,
            vpc_id: args.opt_text("vpcId")?,
            include_broad: args.bool("includeBroadRules")?,
            group_ids: super::opt_ids(&args, "groupIds")?,
        })
    }
}

/// The validated `ip` (an address or CIDR range) as a block.
pub(crate) fn ip_block(ip: &str) -> Result<Block, EngineError> {
    Block::parse(ip).ok_or_else(|| {
        EngineError::InvalidParam(ParamError {
            field: "ip".into(),
            message: format!("'{ip}' is not an IPv4 or IPv6 address or CIDR range"),
            hint: "send e.g. \"203.0.113.7\" or \"203.0.113.0/24\"".into(),
        })
    })
}

impl Procedure for Revoke {
    const ID: ProcedureId = ProcedureId("aws.security_groups.revoke");
    const READS: &'static [Read] = &[
        required("ip"),
        optional("instanceId"),
        optional("groupIds"),
        optional("vpcId"),
        required("includeBroadRules"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let target = [
            ("instanceId", self.instance_id.is_some()),
            ("groupIds", self.group_ids.is_some()),
            ("vpcId", self.vpc_id.is_some()),
        ];
        at_most_one_target(&target, "security groups")?;
        let ip = ip_block(&self.ip)?;
        let mut calls = Calls::default();
        let ids = self.group_ids.unwrap_or_default();
        let found = groups(ctx, &mut calls, &ids, self.instance_id.as_deref(), self.vpc_id.as_deref()).await?;
        if found.is_empty() {
            let field = target.iter().find(|(_, given)| *given).map_or("groupIds", |(name, _)| *name);
            return Err(EngineError::InvalidParam(ParamError {
                field: field.into(),
                message: "AWS shows no security group for it".into(),
                hint: "GetSecurityGroups lists the groups".into(),
            }));
        }
        let (mut revoked, mut kept) = (Vec::new(), Vec::new());
        for group in &found {
            for permission in items(&group["ipPermissions"]) {
                for (list, key, v6) in [("ipRanges", "cidrIp", false), ("ipv6Ranges", "cidrIpv6", true)] {
                    for range in items(&permission[list]) {
                        let Some(block) = Block::parse(text(range, key)) else { continue };
                        if !block.overlaps(&ip) {
                            continue;
                        }
                        let rule = rule(group, permission, range, v6);
                        if block.is_broad() && !self.include_broad {
                            kept.push(json!({ "rule": rule, "reason": "broad: revoking it cuts every source it admits; send includeBroadRules to revoke it too" }));
                            continue;
                        }
                        let query = permission_query(
                            Query::new().set("GroupId", text(group, "groupId")),
                            1,
                            &rule_permission(&rule),
                        );
                        calls.ec2(ctx, "RevokeSecurityGroupIngress", query).await?;
                        revoked.push(rule);
                    }
                }
            }
        }
        let still = still_present(ctx, &mut calls, &revoked).await?;
        let data = json!({
            "ip": ip.cidr(),
            "groupsExamined": found.iter().map(|g| text(g, "groupId")).collect::<Vec<_>>(),
            "revoked": revoked,
            "kept": kept,
            "verified": still.is_empty(),
        });
        Ok(carried(data, calls.request_ids))
    }
}

/// The recorded rules a fresh read of their groups still shows.
async fn still_present(ctx: &Ctx<'_>, calls: &mut Calls, rules: &[Value]) -> Result<Vec<Value>, EngineError> {
    let mut ids: Vec<String> = rules.iter().map(|r| text(r, "groupId").to_owned()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = groups(ctx, calls, &ids, None, None).await?;
    let present = |r: &Value| {
        now.iter().filter(|g| g["groupId"] == r["groupId"]).any(|g| {
            items(&g["ipPermissions"]).iter().any(|p| {
                text(p, "ipProtocol") == text(r, "ipProtocol")
                    && text(p, "fromPort") == text(r, "fromPort")
                    && text(p, "toPort") == text(r, "toPort")
                    && items(&p["ipRanges"])
                        .iter()
                        .map(|x| text(x, "cidrIp"))
                        .chain(items(&p["ipv6Ranges"]).iter().map(|x| text(x, "cidrIpv6")))
                        .any(|c| c == text(r, "cidr"))
            })
        })
    };
    Ok(rules.iter().filter(|r| present(r)).cloned().collect())
}

/// `RestoreSecurityGroupIngress`.
pub struct Restore {
    operation_id: String,
}

impl TryFrom<&Params> for Restore {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Restore { operation_id: Args::of::<Self>(params).text("operationId")? })
    }
}

impl Procedure for Restore {
    const ID: ProcedureId = ProcedureId("aws.security_groups.restore");
    const READS: &'static [Read] = &[required("operationId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let id = uuid::Uuid::parse_str(&self.operation_id).map_err(|_| {
            EngineError::InvalidParam(ParamError {
                field: "operationId".into(),
                message: format!("'{}' is not an operation id", self.operation_id),
                hint: format!("send the operationId {REVOKE_ACTION} answered"),
            })
        })?;
        let rules = revoked_rules(ctx, id).await?;
        let mut calls = Calls::default();
        let mut restored = Vec::new();
        for rule in &rules {
            let query = permission_query(Query::new().set("GroupId", text(rule, "groupId")), 1, &rule_permission(rule));
            let already = match calls.ec2(ctx, "AuthorizeSecurityGroupIngress", query).await {
                Ok(_) => false,
                Err(EngineError::UpstreamRejected { code, .. }) if code == "InvalidPermission.Duplicate" => true,
                Err(e) => return Err(e),
            };
            restored.push(json!({ "rule": rule, "alreadyPresent": already }));
        }
        let present = still_present(ctx, &mut calls, &rules).await?;
        let data = json!({
            "revokeOperationId": id.to_string(),
            "restored": restored,
            "verified": present.len() == rules.len(),
        });
        Ok(carried(data, calls.request_ids))
    }
}

/// The rules a revoke operation of this tenant recorded; anything else is a 400 on `operationId`.
async fn revoked_rules(ctx: &Ctx<'_>, id: uuid::Uuid) -> Result<Vec<Value>, EngineError> {
    let refuse = |message: String| {
        EngineError::InvalidParam(ParamError {
            field: "operationId".into(),
            message,
            hint: format!("send the operationId a succeeded {REVOKE_ACTION} of this tenant answered"),
        })
    };
    let op = match ctx.engine.operation_for(ctx.principal, id).await {
        Ok(op) => op,
        Err(EngineError::OperationNotFound(_)) => return Err(refuse(format!("operation {id} does not exist"))),
        Err(e) => return Err(e),
    };
    if !op.tenant.trim().eq_ignore_ascii_case(ctx.tenant.trim()) {
        return Err(refuse(format!("operation {id} belongs to another tenant")));
    }
    if op.action != REVOKE_ACTION {
        return Err(refuse(format!("operation {id} is a {}, not a {REVOKE_ACTION}", op.action)));
    }
    let revoked = op.result.as_ref().and_then(|r| r.get("revoked")).and_then(Value::as_array);
    revoked.cloned().ok_or_else(|| refuse(format!("operation {id} ({}) recorded no revoked rules", op.status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_overlap_and_broad_ones_are_told_apart() {
        let b = |s: &str| Block::parse(s).unwrap();
        assert!(b("203.0.113.0/24").overlaps(&b("203.0.113.7")));
        assert!(b("203.0.113.7/32").overlaps(&b("203.0.113.0/24")));
        assert!(!b("203.0.113.0/24").overlaps(&b("198.51.100.7")));
        assert!(b("0.0.0.0/0").overlaps(&b("198.51.100.7")) && b("0.0.0.0/0").is_broad());
        assert!(!b("2001:db8::/64").overlaps(&b("203.0.113.7")));
        assert!(b("2001:db8::/32").is_broad() && !b("2001:db8::/64").is_broad());
        assert_eq!(b("203.0.113.7").cidr(), "203.0.113.7/32");
        assert!(Block::parse("10.0.0.0/33").is_none());
    }

    #[test]
    fn a_recorded_rule_becomes_one_exact_permission() {
        let rule = json!({ "groupId": "sg-1", "ipProtocol": "tcp", "fromPort": "22", "toPort": "22", "cidr": "203.0.113.0/24", "description": "ssh" });
        let q = permission_query(Query::new().set("GroupId", "sg-1"), 1, &rule_permission(&rule));
        let pairs: Vec<(String, String)> = q.pairs;
        let expected = [
            ("GroupId", "sg-1"),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "22"),
            ("IpPermissions.1.ToPort", "22"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "203.0.113.0/24"),
            ("IpPermissions.1.IpRanges.1.Description", "ssh"),
        ];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
}
