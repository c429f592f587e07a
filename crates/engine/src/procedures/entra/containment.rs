//! A compromised account contained in one call (`ContainCompromisedAccount`) and released
//! (`RestoreCompromisedAccount`).
//!
//! The story, each step a row of the answer with its outcome:
//! 1. disable the user (`PATCH accountEnabled=false`), read back;
//! 2. revoke sessions (`revokeSignInSessions`), read back `signInSessionsValidFromDateTime`;
//! 3. delete every authentication method but the password, one row per method;
//! 4. optionally, a Temporary Access Pass for the helpdesk (`/temporaryAccessPass` is declared
//!    sensitive: shown once with `Prefer: reveal-secrets`, redacted everywhere else);
//! 5. optionally, isolate the user's active MDE devices: `GET /api/users/{name}/machines` (MDE
//!    names users by account name), those seen in the last 24 hours, each `POST isolate`.
//!
//! A failed step does not stop the next (a disabled account without revoked sessions is still
//! worth having); any failure makes the operation `PartiallySucceeded` with the rows saying which.

use super::auth_methods;
use super::steps::{self, Steps};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use upstream::{Api, ApiRequest};

/// How recently a device must have been seen to count as the user's active device.
const ACTIVE_WITHIN: Duration = Duration::hours(24);

pub struct Contain {
    user: String,
    tap: bool,
    isolate: bool,
}

impl TryFrom<&Params> for Contain {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Contain { user: args.text("userId")?, tap: args.bool("issueTap")?, isolate: args.bool("isolateDevices")? })
    }
}

impl Procedure for Contain {
    const ID: ProcedureId = ProcedureId("entra.containment.contain");
    const READS: &'static [Read] = &[required("userId"), required("issueTap"), required("isolateDevices")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let user_path = format!("/v1.0/users/{}", self.user);
        let mut steps = Steps::default();
        let before = read_user(ctx, &user_path).await.ok();

        let disabled = steps::graph(ctx, steps::patch(&user_path, json!({"accountEnabled": false}))).await;
        if steps.record("disableUser", json!({}), disabled).is_some() {
            let read = read_user(ctx, &user_path).await;
            let ok = read.as_ref().is_ok_and(|u| u["accountEnabled"] == false);
            steps.note(
                "verifyDisabled",
                ok,
                json!({"read": read.map(|u| u["accountEnabled"].clone()).unwrap_or(Value::Null)}),
            );
        }

        let revoked = steps::graph(ctx, steps::post(format!("{user_path}/revokeSignInSessions"), json!({}))).await;
        if steps.record("revokeSessions", json!({}), revoked).is_some() {
            let was = before.as_ref().and_then(|u| u["signInSessionsValidFromDateTime"].as_str().map(String::from));
            let read = read_user(ctx, &user_path).await.ok();
            let now = read.as_ref().and_then(|u| u["signInSessionsValidFromDateTime"].as_str().map(String::from));
            let moved = now.is_some() && now != was;
            steps.note("verifySessionsRevoked", moved, json!({"signInSessionsValidFromDateTime": now, "before": was}));
        }

        if let Err(e) = auth_methods::delete_all(ctx, &self.user, &mut steps).await {
            steps.record("listAuthenticationMethods", json!({}), Err(e));
        }

        let mut answer = json!({"userId": self.user});
        if self.tap {
            let body = json!({"lifetimeInMinutes": 60, "isUsableOnce": true});
            let tap =
                steps::graph(ctx, steps::post(format!("{user_path}/authentication/temporaryAccessPassMethods"), body))
                    .await;
            if let Some(resp) = steps.record("issueTemporaryAccessPass", json!({"lifetimeInMinutes": 60}), tap) {
                answer["temporaryAccessPass"] = resp.body["temporaryAccessPass"].clone();
            }
        }
        if self.isolate {
            answer["isolatedDevices"] = Value::Array(isolate_devices(ctx, before.as_ref(), &mut steps).await);
        }
        Ok(steps.finish(answer))
    }
}

async fn read_user(ctx: &Ctx<'_>, path: &str) -> Result<Value, EngineError> {
    let req =
        steps::get(path).with_query("$select", "id,userPrincipalName,accountEnabled,signInSessionsValidFromDateTime");
    Ok(steps::graph(ctx, req).await?.body)
}

/// Isolates (Full) the user's devices seen in the last day; the machine ids it asked for.
async fn isolate_devices(ctx: &Ctx<'_>, user: Option<&Value>, steps: &mut Steps) -> Vec<Value> {
    let Some(account) = user.and_then(|u| u["userPrincipalName"].as_str()).and_then(|upn| upn.split('@').next()) else {
        steps.note(
            "findUserDevices",
            false,
            json!({"error": {"message": "the user's UPN could not be read, so MDE cannot be asked for their devices"}}),
        );
        return Vec::new();
    };
    let req = ApiRequest::get(Api::Mde, format!("/api/users/{account}/machines"));
    let machines = match ctx.engine.upstream().get_paged(ctx.creds, req, 1000).await {
        Ok(page) => {
            steps.request_ids.extend(page.request_ids);
            page.items
        }
        Err(upstream::UpstreamError::Api { status: 404, .. }) => Vec::new(),
        Err(e) => {
            steps.record("findUserDevices", json!({"accountName": account}), Err(e.into()));
            return Vec::new();
        }
    };
    let since = OffsetDateTime::now_utc() - ACTIVE_WITHIN;
    let active: Vec<&Value> = machines
        .iter()
        .filter(|m| {
            m["lastSeen"].as_str().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok()).is_some_and(|t| t >= since)
        })
        .collect();
    steps.note(
        "findUserDevices",
        true,
        json!({"accountName": account, "devices": machines.len(), "activeDevices": active.len()}),
    );
    let mut isolated = Vec::new();
    for m in active {
        let id = m["id"].as_str().unwrap_or_default();
        let body = json!({"Comment": format!("Riposte: compromised account contained (by {} via Riposte) [riposte:{}]", ctx.principal.name, ctx.operation), "IsolationType": "Full"});
        let outcome = ctx
            .engine
            .upstream()
            .call(ctx.creds, ApiRequest::post(Api::Mde, format!("/api/machines/{id}/isolate"), body))
            .await;
        let detail = json!({"machineId": id, "computerDnsName": m["computerDnsName"]});
        if let Some(resp) = steps.record("isolateDevice", detail, outcome.map_err(EngineError::from)) {
            if let Some(row) = steps.rows.last_mut() {
                row["machineActionId"] = resp.body["id"].clone();
            }
            isolated.push(Value::String(id.to_string()));
        }
    }
    isolated
}

/// `RestoreCompromisedAccount`: re-enable, read back, release the given isolations.
pub struct Restore {
    user: String,
    devices: Vec<String>,
}

impl TryFrom<&Params> for Restore {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let devices = match args.opt_value("deviceIds")? {
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        };
        Ok(Restore { user: args.text("userId")?, devices })
    }
}

impl Procedure for Restore {
    const ID: ProcedureId = ProcedureId("entra.containment.restore");
    const READS: &'static [Read] = &[required("userId"), optional("deviceIds")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let user_path = format!("/v1.0/users/{}", self.user);
        let mut steps = Steps::default();
        let enabled = steps::graph(ctx, steps::patch(&user_path, json!({"accountEnabled": true}))).await;
        if steps.record("enableUser", json!({}), enabled).is_some() {
            let read = read_user(ctx, &user_path).await;
            let ok = read.as_ref().is_ok_and(|u| u["accountEnabled"] == true);
            steps.note(
                "verifyEnabled",
                ok,
                json!({"read": read.map(|u| u["accountEnabled"].clone()).unwrap_or(Value::Null)}),
            );
        }
        for id in &self.devices {
            let body = json!({"Comment": format!("Riposte: account restored (by {} via Riposte) [riposte:{}]", ctx.principal.name, ctx.operation)});
            let outcome = ctx
                .engine
                .upstream()
                .call(ctx.creds, ApiRequest::post(Api::Mde, format!("/api/machines/{id}/unisolate"), body))
                .await;
            if let Some(resp) =
                steps.record("releaseDevice", json!({"machineId": id}), outcome.map_err(EngineError::from))
                && let Some(row) = steps.rows.last_mut()
            {
                row["machineActionId"] = resp.body["id"].clone();
            }
        }
        Ok(steps.finish(json!({"userId": self.user, "releasedDevices": self.devices})))
    }
}
