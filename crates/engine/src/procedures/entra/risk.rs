//! Identity Protection: `confirmCompromised` and `dismiss` take `{"userIds": [objectId]}`.

use super::steps;
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{Params, ProcedureId};
use serde_json::json;

async fn risky_users_action(ctx: &Ctx<'_>, verb: &str, user: &str) -> Result<Carried, EngineError> {
    let path = format!("/v1.0/identityProtection/riskyUsers/{verb}");
    let resp = steps::graph(ctx, steps::post(path, json!({"userIds": [user]}))).await?;
    Ok(Carried {
        data: json!({"userId": user, verb: true}),
        request_ids: resp.request_id.into_iter().collect(),
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    })
}

/// `ConfirmCompromised`.
pub struct ConfirmCompromised {
    user: String,
}

impl TryFrom<&Params> for ConfirmCompromised {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(ConfirmCompromised { user: Args::of::<Self>(params).text("userId")? })
    }
}

impl Procedure for ConfirmCompromised {
    const ID: ProcedureId = ProcedureId("entra.risk.confirm_compromised");
    const READS: &'static [Read] = &[required("userId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        risky_users_action(ctx, "confirmCompromised", &self.user).await
    }
}

/// `DismissRisk`.
pub struct Dismiss {
    user: String,
}

impl TryFrom<&Params> for Dismiss {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Dismiss { user: Args::of::<Self>(params).text("userId")? })
    }
}

impl Procedure for Dismiss {
    const ID: ProcedureId = ProcedureId("entra.risk.dismiss");
    const READS: &'static [Read] = &[required("userId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        risky_users_action(ctx, "dismiss", &self.user).await
    }
}
