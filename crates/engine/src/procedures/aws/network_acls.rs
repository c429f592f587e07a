//! Network ACLs: the `GetNetworkAcls` read, and deny entries for an address (block, unblock).
//!
//! A network ACL is a stateless subnet firewall whose entries are evaluated in ascending rule
//! number, first match wins, separately for inbound and outbound (`Egress`). A deny entry
//! therefore blocks only if it comes before the allow entries, so `BlockIPInNetworkAcl` gives it
//! the lowest number in Riposte's range ([`RULE_NUMBERS`], 1-99: the VPC default ACL allows at
//! 100) that is free in that direction and below the first allow entry. Two blocks racing for a
//! number: AWS refuses the second with `NetworkAclEntryAlreadyExists`, which reads the ACL again
//! and takes the next free number. A repeat of the same block finds its entry (same range,
//! direction, protocol and ports, deny, in the range) and adds nothing; `UnblockIPInNetworkAcl`
//! deletes exactly those entries. The ACLs are those associated with the subnets of the target
//! instance's network interfaces (`DescribeNetworkAcls` filtered on `association.subnet-id`),
//! every ACL of a VPC, one ACL by id, or (no target) every ACL in the tenant's region. Both read
//! the ACLs back and report `verified`.

use super::security_groups::{Block, ip_block};
use super::{Calls, Ctx, Query, at_most_one_target, carried, text};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::aws::instances::{describe, paged};
use crate::procedures::{Args, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use std::ops::RangeInclusive;
use upstream::aws::items;

/// Riposte's rule numbers: below the default ACL's allow entry (100).
pub(crate) const RULE_NUMBERS: RangeInclusive<u32> = 1..=99;
/// Re-reads of an ACL after losing a rule number to a concurrent write.
const CLASH_RETRIES: usize = 5;

/// What one deny entry matches: range, protocol (`-1`, `6`, `17`) and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    block: Block,
    protocol: &'static str,
    ports: Option<(u32, u32)>,
}

impl Rule {
    /// Whether an entry of an ACL is this rule (a deny of the same range, protocol and ports).
    fn is(&self, entry: &Value) -> bool {
        let cidr = text(entry, if self.block.is_v6() { "ipv6CidrBlock" } else { "cidrBlock" });
        text(entry, "ruleAction") == "deny"
            && Block::parse(cidr) == Some(self.block)
            && protocol_number(text(entry, "protocol")) == self.protocol
            && (self.ports.is_none() || entry_ports(entry) == self.ports)
    }

    /// `CreateNetworkAclEntry`'s parameters besides the ACL, number and direction.
    fn query(&self, query: Query) -> Query {
        let cidr_field = if self.block.is_v6() { "Ipv6CidrBlock" } else { "CidrBlock" };
        let mut query =
            query.set("Protocol", self.protocol).set("RuleAction", "deny").set(cidr_field, self.block.cidr());
        if let Some((from, to)) = self.ports {
            query = query.set("PortRange.From", from.to_string()).set("PortRange.To", to.to_string());
        }
        query
    }
}

/// AWS spells the protocol as its IANA number, `-1` for all; some answers spell the name.
fn protocol_number(protocol: &str) -> &'static str {
    match protocol.to_ascii_lowercase().as_str() {
        "6" | "tcp" => "6",
        "17" | "udp" => "17",
        "-1" | "all" => "-1",
        _ => "other",
    }
}

fn entry_ports(entry: &Value) -> Option<(u32, u32)> {
    let range = entry.get("portRange")?;
    Some((text(range, "from").parse().ok()?, text(range, "to").parse().ok()?))
}

fn entry_number(entry: &Value) -> u32 {
    text(entry, "ruleNumber").parse().unwrap_or(0)
}

fn is_egress(entry: &Value) -> bool {
    text(entry, "egress") == "true"
}

/// The entries of one direction of an ACL.
fn entries(acl: &Value, egress: bool) -> impl Iterator<Item = &Value> {
    items(&acl["entrySet"]).iter().filter(move |e| is_egress(e) == egress)
}

/// The number of this rule's entry in Riposte's range, if the ACL has one.
fn existing(acl: &Value, egress: bool, rule: &Rule) -> Option<u32> {
    entries(acl, egress).filter(|e| RULE_NUMBERS.contains(&entry_number(e)) && rule.is(e)).map(entry_number).min()
}

/// The lowest number of Riposte's range free in this direction and below every allow entry.
fn free_number(acl: &Value, egress: bool) -> Option<u32> {
    let first_allow = entries(acl, egress).filter(|e| text(e, "ruleAction") == "allow").map(entry_number).min();
    let used: Vec<u32> = entries(acl, egress).map(entry_number).collect();
    RULE_NUMBERS.filter(|n| first_allow.is_none_or(|a| *n < a)).find(|n| !used.contains(n))
}

/// The directions asked for, as `Egress` values.
fn directions(direction: &str) -> &'static [bool] {
    match direction {
        "Inbound" => &[false],
        "Outbound" => &[true],
        _ => &[false, true],
    }
}

fn direction_name(egress: bool) -> &'static str {
    if egress { "Outbound" } else { "Inbound" }
}

/// The target of a block or unblock: exactly one of these.
struct Target {
    instance_id: Option<String>,
    vpc_id: Option<String>,
    network_acl_id: Option<String>,
}

/// The ACLs of the target: of the instance's subnets, of the VPC, the one named, or (no target)
/// every ACL in the tenant's region.
async fn acls_of(ctx: &Ctx<'_>, calls: &mut Calls, target: &Target) -> Result<Vec<Value>, EngineError> {
    let (query, field) = if let Some(id) = &target.instance_id {
        let instance = describe(ctx, calls, id).await?;
        if instance.subnet_ids.is_empty() {
            return Err(no_acl("instanceId", format!("instance {id} is in no subnet, so no network ACL guards it")));
        }
        (Query::new().filter("association.subnet-id", &instance.subnet_ids), "instanceId")
    } else if let Some(vpc) = &target.vpc_id {
        (Query::new().filter("vpc-id", std::slice::from_ref(vpc)), "vpcId")
    } else if let Some(acl) = &target.network_acl_id {
        (Query::new().list("NetworkAclId", std::slice::from_ref(acl)), "networkAclId")
    } else {
        (Query::new(), "vpcId")
    };
    let pages = paged(ctx, calls, "DescribeNetworkAcls", query).await?;
    let acls: Vec<Value> = pages.iter().flat_map(|p| items(&p["networkAclSet"]).to_vec()).collect();
    if acls.is_empty() {
        return Err(no_acl(field, "AWS shows no network ACL for it".into()));
    }
    Ok(acls)
}

fn no_acl(field: &str, message: String) -> EngineError {
    EngineError::InvalidParam(ParamError {
        field: field.into(),
        message,
        hint: "GetNetworkAcls lists the ACLs; name one with networkAclId".into(),
    })
}

/// One ACL read again by id.
async fn reread(ctx: &Ctx<'_>, calls: &mut Calls, id: &str) -> Result<Value, EngineError> {
    let body = calls.ec2(ctx, "DescribeNetworkAcls", Query::new().list("NetworkAclId", &[id.to_owned()])).await?;
    items(&body["networkAclSet"])
        .first()
        .cloned()
        .ok_or_else(|| EngineError::Internal(format!("network ACL {id} vanished while it was being changed")))
}

/// What `GetNetworkAcls` shows of an ACL.
fn view(acl: &Value) -> Value {
    let entries: Vec<Value> = items(&acl["entrySet"])
        .iter()
        .map(|e| {
            json!({
                "ruleNumber": entry_number(e),
                "direction": direction_name(is_egress(e)),
                "ruleAction": text(e, "ruleAction"),
                "protocol": text(e, "protocol"),
                "cidrBlock": e.get("cidrBlock").and_then(Value::as_str),
                "ipv6CidrBlock": e.get("ipv6CidrBlock").and_then(Value::as_str),
                "portRange": entry_ports(e).map(|(from, to)| json!({ "from": from, "to": to })),
            })
        })
        .collect();
    json!({
        "networkAclId": text(acl, "networkAclId"),
        "vpcId": text(acl, "vpcId"),
        "isDefault": text(acl, "default") == "true",
        "subnetIds": subnet_ids(acl),
        "entries": entries,
    })
}

fn subnet_ids(acl: &Value) -> Vec<&str> {
    items(&acl["associationSet"]).iter().map(|a| text(a, "subnetId")).collect()
}

/// `GetNetworkAcls`.
pub struct List {
    vpc_id: Option<String>,
    instance_id: Option<String>,
}

impl TryFrom<&Params> for List {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(List { vpc_id: args.opt_text("vpcId")?, instance_id: args.opt_text("instanceId")? })
    }
}

impl Procedure for List {
    const ID: ProcedureId = ProcedureId("aws.network_acls.list");
    const READS: &'static [Read] = &[optional("vpcId"), optional("instanceId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut calls = Calls::default();
        if self.vpc_id.is_some() && self.instance_id.is_some() {
            at_most_one_target(&[("vpcId", true), ("instanceId", true)], "network ACL target")?;
        }
        let acls = if self.vpc_id.is_none() && self.instance_id.is_none() {
            // Every ACL of the region: none is an empty list, not an error.
            let pages = paged(ctx, &mut calls, "DescribeNetworkAcls", Query::new()).await?;
            pages.iter().flat_map(|p| items(&p["networkAclSet"]).to_vec()).collect()
        } else {
            let target = Target { instance_id: self.instance_id, vpc_id: self.vpc_id, network_acl_id: None };
            acls_of(ctx, &mut calls, &target).await?
        };
        let value: Vec<Value> = acls.iter().map(view).collect();
        Ok(carried(json!({ "count": value.len(), "value": value }), calls.request_ids))
    }
}

/// The parameters block and unblock share, as given.
struct Request {
    ip: String,
    direction: String,
    protocol: String,
    from_port: Option<i64>,
    to_port: Option<i64>,
    target: Target,
}

const READS: &[Read] = &[
    required("ip"),
    optional("instanceId"),
    optional("vpcId"),
    optional("networkAclId"),
    required("direction"),
    required("protocol"),
    optional("fromPort"),
    optional("toPort"),
];

fn read_request(args: &Args<'_>) -> Result<Request, EngineError> {
    Ok(Request {
        ip: args.text("ip")?,
        direction: args.text("direction")?,
        protocol: args.text("protocol")?,
        from_port: args.opt_i64("fromPort")?,
        to_port: args.opt_i64("toPort")?,
        target: Target {
            instance_id: args.opt_text("instanceId")?,
            vpc_id: args.opt_text("vpcId")?,
            network_acl_id: args.opt_text("networkAclId")?,
        },
    })
}

impl Request {
    /// The rule it describes, once the combination is checked: one target, ports only with a
    /// protocol that has them, a range in order.
    fn rule(&self) -> Result<Rule, EngineError> {
        let t = &self.target;
        at_most_one_target(
            &[
                ("instanceId", t.instance_id.is_some()),
                ("vpcId", t.vpc_id.is_some()),
                ("networkAclId", t.network_acl_id.is_some()),
            ],
            "network ACL target",
        )?;
        let ports = match (self.protocol.as_str(), self.from_port, self.to_port) {
            ("All", None, None) => None,
            ("All", _, _) => {
                return Err(EngineError::InvalidParam(ParamError {
                    field: "protocol".into(),
                    message: "ports were given, but protocol All blocks every port".into(),
                    hint: "send protocol Tcp or Udp with the ports, or leave the ports out".into(),
                }));
            }
            (_, from, to) => {
                let from = from.unwrap_or(0);
                let to = to.unwrap_or(if from == 0 { 65535 } else { from });
                if from > to {
                    return Err(EngineError::InvalidParam(ParamError {
                        field: "toPort".into(),
                        message: format!("toPort {to} is below fromPort {from}"),
                        hint: "send a range with fromPort <= toPort".into(),
                    }));
                }
                Some((from as u32, to as u32))
            }
        };
        let protocol = match self.protocol.as_str() {
            "Tcp" => "6",
            "Udp" => "17",
            _ => "-1",
        };
        Ok(Rule { block: ip_block(&self.ip)?, protocol, ports })
    }
}

/// `BlockIPInNetworkAcl`.
pub struct BlockIp(Request);

impl TryFrom<&Params> for BlockIp {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        read_request(&Args::of::<Self>(params)).map(BlockIp)
    }
}

impl Procedure for BlockIp {
    const ID: ProcedureId = ProcedureId("aws.network_acls.block");
    const READS: &'static [Read] = READS;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let rule = self.0.rule()?;
        let Request { direction, target, .. } = self.0;
        let mut calls = Calls::default();
        let acls = acls_of(ctx, &mut calls, &target).await?;
        let mut rows = Vec::new();
        for acl in &acls {
            for &egress in directions(&direction) {
                let (number, created) = add_entry(ctx, &mut calls, acl, egress, &rule).await?;
                rows.push(json!({
                    "networkAclId": text(acl, "networkAclId"),
                    "vpcId": text(acl, "vpcId"),
                    "subnetIds": subnet_ids(acl),
                    "direction": direction_name(egress),
                    "ruleNumber": number,
                    "created": created,
                }));
            }
        }
        let mut verified = true;
        for acl in &acls {
            let now = reread(ctx, &mut calls, text(acl, "networkAclId")).await?;
            verified &= directions(&direction).iter().all(|&egress| existing(&now, egress, &rule).is_some());
        }
        Ok(carried(answer(&rule, &direction, rows, verified), calls.request_ids))
    }
}

/// The deny entry of `rule` in one direction of `acl`: found, or created at the lowest free
/// number (read again and renumbered when a concurrent write took the number first).
async fn add_entry(
    ctx: &Ctx<'_>,
    calls: &mut Calls,
    acl: &Value,
    egress: bool,
    rule: &Rule,
) -> Result<(u32, bool), EngineError> {
    let id = text(acl, "networkAclId");
    let mut current = acl.clone();
    for _ in 0..=CLASH_RETRIES {
        if let Some(number) = existing(&current, egress, rule) {
            return Ok((number, false));
        }
        let number = free_number(&current, egress).ok_or_else(|| EngineError::UpstreamRejected {
            status: 409,
            code: "NetworkAclRuleNumbersExhausted".into(),
            message: format!(
                "network ACL {id} has no free rule number from {} to {} below its first {} allow entry",
                RULE_NUMBERS.start(),
                RULE_NUMBERS.end(),
                direction_name(egress).to_lowercase()
            ),
            request_id: None,
        })?;
        let query = rule.query(
            Query::new()
                .set("NetworkAclId", id)
                .set("RuleNumber", number.to_string())
                .set("Egress", egress.to_string()),
        );
        match calls.ec2(ctx, "CreateNetworkAclEntry", query).await {
            Ok(_) => return Ok((number, true)),
            Err(EngineError::UpstreamRejected { code, .. }) if code == "NetworkAclEntryAlreadyExists" => {
                current = reread(ctx, calls, id).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(EngineError::UpstreamRejected {
        status: 409,
        code: "NetworkAclEntryAlreadyExists".into(),
        message: format!(
            "network ACL {id}: every free rule number was taken by concurrent writes, {CLASH_RETRIES} times"
        ),
        request_id: None,
    })
}

fn answer(rule: &Rule, direction: &str, entries: Vec<Value>, verified: bool) -> Value {
    json!({
        "ip": rule.block.cidr(),
        "direction": direction,
        "protocol": rule.protocol,
        "portRange": rule.ports.map(|(from, to)| json!({ "from": from, "to": to })),
        "entries": entries,
        "verified": verified,
    })
}

/// `UnblockIPInNetworkAcl`.
pub struct UnblockIp(Request);

impl TryFrom<&Params> for UnblockIp {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        read_request(&Args::of::<Self>(params)).map(UnblockIp)
    }
}

impl Procedure for UnblockIp {
    const ID: ProcedureId = ProcedureId("aws.network_acls.unblock");
    const READS: &'static [Read] = READS;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let rule = self.0.rule()?;
        let Request { direction, target, .. } = self.0;
        let mut calls = Calls::default();
        let acls = acls_of(ctx, &mut calls, &target).await?;
        let mut rows = Vec::new();
        for acl in &acls {
            let id = text(acl, "networkAclId");
            for &egress in directions(&direction) {
                let ours: Vec<u32> = entries(acl, egress)
                    .filter(|e| RULE_NUMBERS.contains(&entry_number(e)) && rule.is(e))
                    .map(entry_number)
                    .collect();
                for number in &ours {
                    let query = Query::new()
                        .set("NetworkAclId", id)
                        .set("RuleNumber", number.to_string())
                        .set("Egress", egress.to_string());
                    calls.ec2(ctx, "DeleteNetworkAclEntry", query).await?;
                }
                rows.push(json!({
                    "networkAclId": id,
                    "direction": direction_name(egress),
                    "removedRuleNumbers": ours,
                }));
            }
        }
        let mut verified = true;
        for acl in &acls {
            let now = reread(ctx, &mut calls, text(acl, "networkAclId")).await?;
            verified &= directions(&direction).iter().all(|&egress| existing(&now, egress, &rule).is_none());
        }
        Ok(carried(answer(&rule, &direction, rows, verified), calls.request_ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: Value) -> Value {
        json!({ "networkAclId": "acl-1", "entrySet": entries })
    }

    fn entry(number: u32, action: &str, egress: bool, cidr: &str) -> Value {
        json!({ "ruleNumber": number.to_string(), "ruleAction": action, "egress": egress.to_string(), "protocol": "-1", "cidrBlock": cidr })
    }

    #[test]
    fn numbers_are_the_lowest_free_below_the_first_allow() {
        let default = acl(json!([entry(100, "allow", false, "0.0.0.0/0"), entry(32767, "deny", false, "0.0.0.0/0")]));
        assert_eq!(free_number(&default, false), Some(1));
        let busy = acl(json!([
            entry(1, "deny", false, "198.51.100.1/32"),
            entry(2, "deny", false, "198.51.100.2/32"),
            entry(4, "allow", false, "10.0.0.0/8")
        ]));
        assert_eq!(free_number(&busy, false), Some(3));
        assert_eq!(free_number(&busy, true), Some(1), "directions are numbered apart");
        let full = acl(json!([entry(1, "deny", false, "198.51.100.1/32"), entry(2, "allow", false, "0.0.0.0/0")]));
        assert_eq!(free_number(&full, false), None);
    }

    #[test]
    fn a_repeat_finds_its_entry_and_only_ours_match() {
        let rule = Rule { block: Block::parse("198.51.100.7").unwrap(), protocol: "-1", ports: None };
        let with = acl(json!([entry(3, "deny", false, "198.51.100.7/32"), entry(100, "allow", false, "0.0.0.0/0")]));
        assert_eq!(existing(&with, false, &rule), Some(3));
        assert_eq!(existing(&with, true, &rule), None);
        let outside = acl(json!([entry(150, "deny", false, "198.51.100.7/32")]));
        assert_eq!(existing(&outside, false, &rule), None, "not in Riposte's range: not ours");
        let tcp = Rule { protocol: "6", ports: Some((22, 22)), ..rule.clone() };
        assert_eq!(existing(&with, false, &tcp), None);
    }
}
