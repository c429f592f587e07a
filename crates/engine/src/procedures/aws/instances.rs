//! EC2 instances: the `GetInstances` read, and isolation by security-group swap.
//!
//! `IsolateInstance` replaces an instance's security groups (`ModifyInstanceAttribute`, which
//! acts on its primary network interface) with an isolation group that has no inbound and no
//! outbound rule: `riposte-isolation` in the instance's VPC (created when absent, its default
//! allow-all egress revoked, and any rule found on it revoked), or the group the caller names.
//! The previous groups are written to the instance's `riposte:isolated-from` tag *before* the
//! swap, so the inverse knows what to give back even after a restart, and the tag on the
//! instance tells a human why it is cut off. `UnisolateInstance` puts those groups back and
//! removes the tag. Both read the instance back and report `verified`.

use super::{Calls, Ctx, Query, carried, text};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use upstream::aws::items;

/// The tag that remembers an isolated instance's security groups (comma-separated ids).
pub(crate) const ISOLATED_FROM_TAG: &str = "riposte:isolated-from";
/// The isolation group Riposte creates per VPC.
const ISOLATION_GROUP_NAME: &str = "riposte-isolation";
/// Pages of a list read followed at most (EC2 pages by `nextToken`).
pub(crate) const MAX_PAGES: usize = 20;
/// AWS's limit on a tag value.
const TAG_VALUE_MAX: usize = 256;

/// One instance as the procedures need it.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    /// The subnets of all its network interfaces (the primary's first).
    pub(crate) subnet_ids: Vec<String>,
    pub(crate) group_ids: Vec<String>,
    pub(crate) isolated_from: Option<Vec<String>>,
}

impl Instance {
    fn from_item(item: &Value) -> Instance {
        let mut subnet_ids: Vec<String> = Vec::new();
        let primary = text(item, "subnetId");
        let interfaces = items(&item["networkInterfaceSet"]).iter().map(|n| text(n, "subnetId"));
        for subnet in std::iter::once(primary).chain(interfaces) {
            if !subnet.is_empty() && !subnet_ids.iter().any(|s| s == subnet) {
                subnet_ids.push(subnet.to_owned());
            }
        }
        let isolated_from = items(&item["tagSet"])
            .iter()
            .find(|t| text(t, "key") == ISOLATED_FROM_TAG)
            .map(|t| text(t, "value").split(',').filter(|s| !s.is_empty()).map(String::from).collect());
        Instance {
            id: text(item, "instanceId").to_owned(),
            vpc_id: text(item, "vpcId").to_owned(),
            subnet_ids,
            group_ids: group_ids(item),
            isolated_from,
        }
    }
}

fn group_ids(item: &Value) -> Vec<String> {
    items(&item["groupSet"]).iter().map(|g| text(g, "groupId").to_owned()).collect()
}

/// Every instance item of a `DescribeInstances` answer.
fn instance_items(body: &Value) -> Vec<Value> {
    items(&body["reservationSet"]).iter().flat_map(|r| items(&r["instancesSet"]).iter().cloned()).collect()
}

/// One instance by id; AWS's `InvalidInstanceID.NotFound` is a 400 on `instanceId`.
pub(crate) async fn describe(ctx: &Ctx<'_>, calls: &mut Calls, id: &str) -> Result<Instance, EngineError> {
    let body = calls.ec2(ctx, "DescribeInstances", Query::new().list("InstanceId", &[id.to_owned()])).await?;
    let found = instance_items(&body).iter().find(|i| text(i, "instanceId") == id).map(Instance::from_item);
    found.ok_or_else(|| {
        EngineError::InvalidParam(ParamError {
            field: "instanceId".into(),
            message: format!("AWS has no instance '{id}' in this tenant's region"),
            hint: "GetInstances lists the instances".into(),
        })
    })
}

/// What `GetInstances` shows of an instance.
fn view(item: &Value) -> Value {
    json!({
        "instanceId": text(item, "instanceId"),
        "state": item["instanceState"]["name"],
        "instanceType": text(item, "instanceType"),
        "vpcId": text(item, "vpcId"),
        "subnetId": text(item, "subnetId"),
        "privateIpAddress": text(item, "privateIpAddress"),
        "publicIpAddress": item.get("ipAddress").and_then(Value::as_str),
        "securityGroups": items(&item["groupSet"]).iter()
            .map(|g| json!({ "groupId": text(g, "groupId"), "groupName": text(g, "groupName") }))
            .collect::<Vec<_>>(),
        "tags": items(&item["tagSet"]).iter().map(|t| json!({ "key": text(t, "key"), "value": text(t, "value") })).collect::<Vec<_>>(),
    })
}

/// `GetInstances`: `DescribeInstances`, by ids and/or VPC, every page.
pub struct List {
    instance_ids: Vec<String>,
    vpc_id: Option<String>,
}

impl TryFrom<&Params> for List {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(List {
            instance_ids: super::opt_ids(&args, "instanceIds")?.unwrap_or_default(),
            vpc_id: args.opt_text("vpcId")?,
        })
    }
}

impl Procedure for List {
    const ID: ProcedureId = ProcedureId("aws.instances.list");
    const READS: &'static [Read] = &[optional("instanceIds"), optional("vpcId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut query = Query::new().list("InstanceId", &self.instance_ids);
        if let Some(vpc) = &self.vpc_id {
            query = query.filter("vpc-id", std::slice::from_ref(vpc));
        }
        let mut calls = Calls::default();
        let pages = paged(ctx, &mut calls, "DescribeInstances", query).await?;
        let instances: Vec<Value> = pages.iter().flat_map(instance_items).map(|i| view(&i)).collect();
        Ok(carried(json!({ "count": instances.len(), "value": instances }), calls.request_ids))
    }
}

/// Every page of a list action (`nextToken`), at most [`MAX_PAGES`].
pub(crate) async fn paged(
    ctx: &Ctx<'_>,
    calls: &mut Calls,
    action: &str,
    query: Query,
) -> Result<Vec<Value>, EngineError> {
    let mut pages = vec![calls.ec2(ctx, action, query.clone()).await?];
    while pages.len() < MAX_PAGES {
        let next = pages.last().map(|p| text(p, "nextToken").to_owned()).unwrap_or_default();
        if next.is_empty() {
            break;
        }
        pages.push(calls.ec2(ctx, action, query.clone().set("NextToken", next)).await?);
    }
    Ok(pages)
}

/// `IsolateInstance`.
pub struct Isolate {
    instance_id: String,
    isolation_group_id: Option<String>,
}

impl TryFrom<&Params> for Isolate {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Isolate { instance_id: args.text("instanceId")?, isolation_group_id: args.opt_text("isolationGroupId")? })
    }
}

impl Procedure for Isolate {
    const ID: ProcedureId = ProcedureId("aws.instances.isolate");
    const READS: &'static [Read] = &[required("instanceId"), optional("isolationGroupId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut calls = Calls::default();
        let instance = describe(ctx, &mut calls, &self.instance_id).await?;
        let group = match &self.isolation_group_id {
            Some(id) => given_group(ctx, &mut calls, id, &instance).await?,
            None => isolation_group(ctx, &mut calls, &instance.vpc_id).await?,
        };
        // The groups to give back: those remembered by an earlier isolation, else today's.
        let previous = match &instance.isolated_from {
            Some(remembered) => remembered.clone(),
            None => {
                remember_groups(ctx, &mut calls, &instance).await?;
                instance.group_ids.clone()
            }
        };
        if instance.group_ids != [group.clone()] {
            set_groups(ctx, &mut calls, &instance.id, std::slice::from_ref(&group)).await?;
        }
        let now = describe(ctx, &mut calls, &instance.id).await?;
        let data = json!({
            "instanceId": instance.id,
            "isolationGroupId": group,
            "previousGroupIds": previous,
            "alreadyIsolated": instance.group_ids == [group.clone()],
            "securityGroups": now.group_ids,
            "verified": now.group_ids == [group],
        });
        Ok(carried(data, calls.request_ids))
    }
}

/// The caller's isolation group: it must exist and be in the instance's VPC.
async fn given_group(ctx: &Ctx<'_>, calls: &mut Calls, id: &str, instance: &Instance) -> Result<String, EngineError> {
    let body = calls
        .ec2(ctx, "DescribeSecurityGroups", Query::new().list("GroupId", &[id.to_owned()]))
        .await
        .map_err(|e| rename_field(e, "groupIds", "isolationGroupId"))?;
    let group = items(&body["securityGroupInfo"]).first().cloned().unwrap_or(Value::Null);
    if text(&group, "vpcId") != instance.vpc_id {
        return Err(EngineError::InvalidParam(ParamError {
            field: "isolationGroupId".into(),
            message: format!("security group '{id}' is not in the instance's VPC {}", instance.vpc_id),
            hint: "name a group of the instance's VPC, or leave isolationGroupId out to use riposte-isolation".into(),
        }));
    }
    Ok(id.to_owned())
}

/// `riposte-isolation` in `vpc`: found or created, and stripped of every rule.
async fn isolation_group(ctx: &Ctx<'_>, calls: &mut Calls, vpc: &str) -> Result<String, EngineError> {
    let query =
        Query::new().filter("group-name", &[ISOLATION_GROUP_NAME.to_owned()]).filter("vpc-id", &[vpc.to_owned()]);
    let body = calls.ec2(ctx, "DescribeSecurityGroups", query).await?;
    let group = match items(&body["securityGroupInfo"]).first() {
        Some(g) => g.clone(),
        None => {
            let created = calls
                .ec2(
                    ctx,
                    "CreateSecurityGroup",
                    Query::new()
                        .set("GroupName", ISOLATION_GROUP_NAME)
                        .set("GroupDescription", "Riposte isolation: no inbound and no outbound rule")
                        .set("VpcId", vpc),
                )
                .await?;
            let id = text(&created, "groupId").to_owned();
            let body = calls.ec2(ctx, "DescribeSecurityGroups", Query::new().list("GroupId", &[id])).await?;
            items(&body["securityGroupInfo"]).first().cloned().unwrap_or(Value::Null)
        }
    };
    let id = text(&group, "groupId").to_owned();
    for (action, list) in
        [("RevokeSecurityGroupEgress", "ipPermissionsEgress"), ("RevokeSecurityGroupIngress", "ipPermissions")]
    {
        for (i, permission) in items(&group[list]).iter().enumerate() {
            let query = super::security_groups::permission_query(Query::new().set("GroupId", &id), 1, permission);
            calls.ec2(ctx, action, query).await.map_err(|e| {
                EngineError::Internal(format!(
                    "revoking rule {i} of {list} on {id} (the isolation group must have none): {e}"
                ))
            })?;
        }
    }
    Ok(id)
}

/// Writes the instance's groups to its `riposte:isolated-from` tag.
async fn remember_groups(ctx: &Ctx<'_>, calls: &mut Calls, instance: &Instance) -> Result<(), EngineError> {
    let value = instance.group_ids.join(",");
    if value.len() > TAG_VALUE_MAX {
        return Err(EngineError::InvalidParam(ParamError {
            field: "instanceId".into(),
            message: format!(
                "instance {} has {} security groups: their ids do not fit in one tag ({TAG_VALUE_MAX} characters), so isolation could not be undone",
                instance.id,
                instance.group_ids.len()
            ),
            hint: "isolate it by hand, or reduce its security groups".into(),
        }));
    }
    let query =
        Query::new().set("ResourceId.1", &instance.id).set("Tag.1.Key", ISOLATED_FROM_TAG).set("Tag.1.Value", value);
    calls.ec2(ctx, "CreateTags", query).await.map(drop)
}

/// `ModifyInstanceAttribute` with `GroupId.N`: the primary interface's groups become `groups`.
async fn set_groups(ctx: &Ctx<'_>, calls: &mut Calls, instance: &str, groups: &[String]) -> Result<(), EngineError> {
    let query = Query::new().set("InstanceId", instance).list("GroupId", groups);
    calls.ec2(ctx, "ModifyInstanceAttribute", query).await.map(drop)
}

/// A 400 on `from` reported on `to` (an id of another parameter than the usual).
fn rename_field(e: EngineError, from: &str, to: &str) -> EngineError {
    match e {
        EngineError::InvalidParam(mut p) if p.field == from => {
            p.field = to.into();
            EngineError::InvalidParam(p)
        }
        other => other,
    }
}

/// `UnisolateInstance`.
pub struct Unisolate {
    instance_id: String,
}

impl TryFrom<&Params> for Unisolate {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Unisolate { instance_id: Args::of::<Self>(params).text("instanceId")? })
    }
}

impl Procedure for Unisolate {
    const ID: ProcedureId = ProcedureId("aws.instances.unisolate");
    const READS: &'static [Read] = &[required("instanceId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut calls = Calls::default();
        let instance = describe(ctx, &mut calls, &self.instance_id).await?;
        let Some(previous) = instance.isolated_from.clone() else {
            // Nothing of ours to undo: released already, or never isolated by Riposte.
            let data = json!({
                "instanceId": instance.id,
                "released": false,
                "reason": format!("the instance has no {ISOLATED_FROM_TAG} tag: it is not isolated by Riposte"),
                "securityGroups": instance.group_ids,
            });
            return Ok(carried(data, calls.request_ids));
        };
        if previous.is_empty() {
            return Err(EngineError::Internal(format!("{}: the {ISOLATED_FROM_TAG} tag names no group", instance.id)));
        }
        set_groups(ctx, &mut calls, &instance.id, &previous).await?;
        let query = Query::new().set("ResourceId.1", &instance.id).set("Tag.1.Key", ISOLATED_FROM_TAG);
        calls.ec2(ctx, "DeleteTags", query).await?;
        let now = describe(ctx, &mut calls, &instance.id).await?;
        let data = json!({
            "instanceId": instance.id,
            "released": true,
            "restoredGroupIds": previous,
            "securityGroups": now.group_ids,
            "verified": now.group_ids == previous && now.isolated_from.is_none(),
        });
        Ok(carried(data, calls.request_ids))
    }
}
