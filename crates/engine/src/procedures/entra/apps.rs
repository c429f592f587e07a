//! Service principals: a certificate removed by writing `keyCredentials` without it (Graph's
//! `removeKey` needs a proof signed with the application's own key, which a responder lacks).

use super::steps::{self, Steps};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};

/// `RemoveServicePrincipalCertificate`.
pub struct RemoveCertificate {
    sp: String,
    key: String,
}

impl TryFrom<&Params> for RemoveCertificate {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RemoveCertificate { sp: args.text("servicePrincipalId")?, key: args.text("keyId")? })
    }
}

impl Procedure for RemoveCertificate {
    const ID: ProcedureId = ProcedureId("entra.apps.remove_certificate");
    const READS: &'static [Read] = &[required("servicePrincipalId"), required("keyId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let path = format!("/v1.0/servicePrincipals/{}", self.sp);
        let mut steps = Steps::default();
        let current = steps::graph(ctx, steps::get(&path).with_query("$select", "id,keyCredentials")).await?;
        steps.request_ids.extend(current.request_id);
        let keys: Vec<Value> = current.body["keyCredentials"].as_array().cloned().unwrap_or_default();
        let is_it = |k: &Value| k["keyId"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(&self.key));
        if !keys.iter().any(is_it) {
            let known: Vec<&str> = keys.iter().filter_map(|k| k["keyId"].as_str()).collect();
            return Err(EngineError::InvalidParam(ParamError {
                field: "keyId".into(),
                message: format!("the service principal has no certificate '{}'", self.key),
                hint: format!(
                    "its certificates' keyIds: {}",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                ),
            }));
        }
        let kept: Vec<Value> = keys.into_iter().filter(|k| !is_it(k)).collect();
        let resp = steps::graph(ctx, steps::patch(&path, json!({"keyCredentials": kept}))).await?;
        steps.request_ids.extend(resp.request_id);
        Ok(steps.finish(
            json!({"servicePrincipalId": self.sp, "removedKeyId": self.key, "remainingCertificates": kept.len()}),
        ))
    }
}
