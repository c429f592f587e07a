//! The aws product's procedures (catalog keys `aws.<area>.<verb>`), one file per catalog area:
//! `instances.rs` (reads, isolation), `network_acls.rs` (deny entries), `security_groups.rs`
//! (ingress revocation and its restoration).
//!
//! What they share lives here: an EC2 Query API call through `upstream` ([`ec2`]) whose AWS
//! errors that name a parameter (`InvalidInstanceID.NotFound`, `InvalidVpcID.Malformed`, ...)
//! become a 400 naming that field, the numbered-list spelling of the Query API ([`Query`]), and
//! the target rule (a request names at most one of its alternative targets; none means all of
//! them in the tenant's region).

mod instances;
mod network_acls;
mod security_groups;

use super::{Args, Ctx, Entry, entry};
use crate::EngineError;
use crate::plan::Carried;
use catalog::ParamError;
use serde_json::Value;
use upstream::{AwsResponse, Credential, UpstreamError};

/// Every aws procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<instances::List>(),
    entry::<instances::Isolate>(),
    entry::<instances::Unisolate>(),
    entry::<network_acls::List>(),
    entry::<network_acls::BlockIp>(),
    entry::<network_acls::UnblockIp>(),
    entry::<security_groups::List>(),
    entry::<security_groups::Revoke>(),
    entry::<security_groups::Restore>(),
];

/// AWS error codes that say a parameter is wrong, and the parameter they name. An unknown or
/// malformed id is the caller's to fix, so it is a 400 on the field, not an upstream failure.
const FIELD_ERRORS: &[(&str, &str)] = &[
    ("InvalidInstanceID", "instanceId"),
    ("InvalidVpcID", "vpcId"),
    ("InvalidGroup", "groupIds"),
    ("InvalidGroupId", "groupIds"),
    ("InvalidNetworkAclID", "networkAclId"),
    ("InvalidNetworkAclId", "networkAclId"),
];

/// An EC2 action's parameters, spelt as the Query API numbers lists (`InstanceId.1`,
/// `Filter.1.Name`, `Filter.1.Value.1`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
    filters: usize,
}

impl Query {
    pub(crate) fn new() -> Query {
        Query::default()
    }

    pub(crate) fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Query {
        self.pairs.push((name.into(), value.into()));
        self
    }

    /// `{name}.1`, `{name}.2`, ...
    pub(crate) fn list(mut self, name: &str, values: &[String]) -> Query {
        for (i, v) in values.iter().enumerate() {
            self.pairs.push((format!("{name}.{}", i + 1), v.clone()));
        }
        self
    }

    /// One `Filter.N` with its values.
    pub(crate) fn filter(mut self, name: &str, values: &[String]) -> Query {
        self.filters += 1;
        let n = self.filters;
        self.pairs.push((format!("Filter.{n}.Name"), name.to_owned()));
        for (i, v) in values.iter().enumerate() {
            self.pairs.push((format!("Filter.{n}.Value.{}", i + 1), v.clone()));
        }
        self
    }
}

/// One EC2 call for this tenant. A tenant without AWS keys is a 400 naming `tenantId`; an AWS
/// error about a parameter a 400 naming it (see [`FIELD_ERRORS`]); the rest maps as every
/// upstream error does (AuthFailure, UnauthorizedOperation: 502 with AWS's code).
pub(crate) async fn ec2(ctx: &Ctx<'_>, action: &str, query: Query) -> Result<AwsResponse, EngineError> {
    if !matches!(ctx.creds.credential, Credential::Aws(_)) {
        return Err(EngineError::InvalidParam(ParamError {
            field: "tenantId".into(),
            message: format!("tenant '{}' has no AWS credential, so EC2 cannot be called for it", ctx.tenant),
            hint: "name a tenant configured with `aws = { region, access_key_id_env, secret_access_key_env }`".into(),
        }));
    }
    ctx.engine.upstream().ec2(ctx.creds, action, &query.pairs).await.map_err(field_error)
}

/// An AWS error naming a parameter as a 400 on it; anything else as usual.
fn field_error(e: UpstreamError) -> EngineError {
    if let UpstreamError::Api { status: 400..=499, code, message, .. } = &e {
        let family = code.split('.').next().unwrap_or_default();
        if let Some((_, field)) = FIELD_ERRORS.iter().find(|(c, _)| *c == family) {
            return EngineError::InvalidParam(ParamError {
                field: (*field).into(),
                message: format!("AWS answered {code}: {message}"),
                hint: "check the id and the tenant's region (GetInstances, GetNetworkAcls and GetSecurityGroups list them)"
                    .into(),
            });
        }
    }
    e.into()
}

/// The target a request names among alternatives (`instanceId`, `vpcId`, ...), if any: naming
/// several is a 400 naming the second (no target means all of them in the tenant's region).
pub(crate) fn at_most_one_target(
    given: &[(&'static str, bool)],
    what: &str,
) -> Result<Option<&'static str>, EngineError> {
    let named: Vec<&'static str> = given.iter().filter(|(_, present)| *present).map(|(n, _)| *n).collect();
    match named.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        several => {
            let all: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
            Err(EngineError::InvalidParam(ParamError {
                field: several[1].into(),
                message: format!("name one {what}, got {}", several.join(" and ")),
                hint: format!("send at most one of {} (none: all of them in the tenant's region)", all.join(", ")),
            }))
        }
    }
}

/// An optional list of ids (validation made it an array of strings).
pub(crate) fn opt_ids(args: &Args<'_>, name: &'static str) -> Result<Option<Vec<String>>, EngineError> {
    let Some(value) = args.opt_value(name)? else { return Ok(None) };
    let ids = value.as_array().map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect());
    ids.map(Some).ok_or_else(|| EngineError::Internal(format!("`{name}` passed validation but is not a list")))
}

/// A text field of an EC2 item (`""` when absent).
pub(crate) fn text<'v>(item: &'v Value, key: &str) -> &'v str {
    item.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The answer of a procedure that called AWS: its data and AWS's request ids.
pub(crate) fn carried(data: Value, request_ids: Vec<String>) -> Carried {
    Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None }
}

/// Collects AWS request ids across the calls of one procedure.
#[derive(Default)]
pub(crate) struct Calls {
    pub(crate) request_ids: Vec<String>,
}

impl Calls {
    /// [`ec2`], keeping the request id.
    pub(crate) async fn ec2(&mut self, ctx: &Ctx<'_>, action: &str, query: Query) -> Result<Value, EngineError> {
        let answer = ec2(ctx, action, query).await?;
        self.request_ids.extend(answer.request_id);
        Ok(answer.body)
    }
}
