//! Defender for Cloud alert state (catalog `mdc/mod.rs`): an alert's state changes by POSTing
//! its action (`dismiss`, `activate`, `resolve`, `inProgress`) on its full id, which holds the
//! resource group and ASC location the caller rarely knows. So the alert is found by name (or
//! id) in the subscription's list first.

use crate::EngineError;
use crate::plan::{Carried, encode_segment};
use crate::procedures::azure::arm::{self, carried};
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use upstream::Method;

const ALERTS: &str = "2022-01-01";

/// `UpdateSecurityAlert` and its fixed-state spellings (Dismiss, Resolve, Activate).
pub struct SetStatus {
    subscription: String,
    alert: String,
    status: String,
}

impl TryFrom<&Params> for SetStatus {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(SetStatus {
            subscription: args.text("subscriptionId")?,
            alert: args.text("alertId")?,
            status: args.text("status")?,
        })
    }
}

/// Microsoft's action for a state.
fn action_of(status: &str) -> &'static str {
    match status {
        "Dismissed" => "dismiss",
        "Resolved" => "resolve",
        "InProgress" => "inProgress",
        _ => "activate",
    }
}

impl Procedure for SetStatus {
    const ID: ProcedureId = ProcedureId("mdc.alerts.set_status");
    const READS: &'static [Read] = &[required("subscriptionId"), required("alertId"), required("status")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let list = format!("/subscriptions/{}/providers/Microsoft.Security/alerts", encode_segment(&self.subscription));
        let alerts = arm::list(ctx, &list, ALERTS).await?;
        let wanted = self.alert.trim_end_matches('/');
        let alert = alerts
            .iter()
            .find(|a| [&a["name"], &a["id"]].iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(wanted))))
            .ok_or_else(|| {
                EngineError::InvalidParam(ParamError {
                    field: "alertId".into(),
                    message: format!(
                        "no Defender for Cloud alert of subscription {} is named '{wanted}'",
                        self.subscription
                    ),
                    hint: "list the alerts with GetSecurityAlerts and send an alert's name or id".into(),
                })
            })?;
        let id = alert["id"].as_str().unwrap_or_default();
        let previous = alert.pointer("/properties/status").cloned().unwrap_or(Value::Null);
        let path = format!("{id}/{}", action_of(&self.status));
        let resp = arm::call(ctx, Method::Post, &path, ALERTS, None).await?;
        let data = json!({"alertId": alert["name"], "id": id, "previousStatus": previous, "status": self.status});
        Ok(carried(data, &[&resp]))
    }
}

/// `GetSecurityAlerts`: every page of the subscription's alerts, kept to those the caller's
/// `filter` matches. ARM's 2022-01-01 list has no `$filter` and ignores one (`filter.rs`), so
/// the filter is applied here; a filter that does not parse is a 400 naming `filter`.
pub struct List {
    subscription: String,
    filter: Option<String>,
}

impl TryFrom<&Params> for List {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(List { subscription: args.text("subscriptionId")?, filter: args.opt_text("filter")? })
    }
}

impl Procedure for List {
    const ID: ProcedureId = ProcedureId("mdc.alerts.list");
    const READS: &'static [Read] = &[required("subscriptionId"), optional("filter")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let expr = match &self.filter {
            Some(f) => Some(super::filter::parse(f).map_err(|why| {
                arm::invalid(
                    "filter",
                    format!("the alert filter does not parse: {why}"),
                    "e.g. properties/status eq 'Active' and properties/severity eq 'High'",
                )
            })?),
            None => None,
        };
        let list = format!("/subscriptions/{}/providers/Microsoft.Security/alerts", encode_segment(&self.subscription));
        let alerts = arm::list(ctx, &list, ALERTS).await?;
        let listed = alerts.len();
        let kept: Vec<Value> =
            alerts.into_iter().filter(|a| expr.as_ref().is_none_or(|e| super::filter::matches(e, a))).collect();
        let data = json!({"value": kept, "listed": listed, "filter": self.filter});
        Ok(carried(data, &[]))
    }
}
