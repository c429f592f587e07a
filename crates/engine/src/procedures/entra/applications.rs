//! App registrations: read one by object id or appId, remove its client secrets (`removePassword`
//! each) and certificates (one PATCH of `keyCredentials` without them: `removeKey` needs a proof
//! signed with the app's own key, which a responder does not hold).

use super::steps::{self, Steps};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};

const SELECT: &str = "id,appId,displayName,passwordCredentials,keyCredentials";

/// The application `given` names (object id first, then appId as the alternate key), read with
/// its credentials; neither is a 400 naming `applicationId`.
async fn read_app(ctx: &Ctx<'_>, given: &str, steps: &mut Steps) -> Result<Value, EngineError> {
    let paths = [format!("/v1.0/applications/{given}"), format!("/v1.0/applications(appId='{given}')")];
    for path in paths {
        match steps::graph(ctx, steps::get(path).with_query("$select", SELECT)).await {
            Ok(resp) => {
                steps.request_ids.extend(resp.request_id);
                return Ok(resp.body);
            }
            Err(EngineError::UpstreamRejected { status: 404, .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(EngineError::InvalidParam(ParamError {
        field: "applicationId".into(),
        message: format!("no application has the object id or appId '{given}'"),
        hint: "give the app registration's object id or its application (client) id".into(),
    }))
}

fn key_ids(list: &[Value]) -> Vec<String> {
    list.iter().filter_map(|k| k["keyId"].as_str().map(str::to_string)).collect()
}

fn list(app: &Value, field: &str) -> Vec<Value> {
    app[field].as_array().cloned().unwrap_or_default()
}

/// `GetApplication`.
pub struct GetApplication {
    app: String,
}

impl TryFrom<&Params> for GetApplication {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(GetApplication { app: Args::of::<Self>(params).text("applicationId")? })
    }
}

impl Procedure for GetApplication {
    const ID: ProcedureId = ProcedureId("entra.applications.get");
    const READS: &'static [Read] = &[required("applicationId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut steps = Steps::default();
        let app = read_app(ctx, &self.app, &mut steps).await?;
        Ok(Carried {
            data: app,
            request_ids: steps.request_ids,
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// `RemoveApplicationCredentials` (`CERTS_ONLY = false`: secrets and certificates) and
/// `RemoveApplicationCertificates` (`true`).
pub struct RemoveCredentials<const CERTS_ONLY: bool> {
    app: String,
    key: Option<String>,
}

impl<const C: bool> TryFrom<&Params> for RemoveCredentials<C> {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RemoveCredentials { app: args.text("applicationId")?, key: args.opt_text("keyId")? })
    }
}

impl<const C: bool> RemoveCredentials<C> {
    fn is_named(&self, k: &Value) -> bool {
        match &self.key {
            None => true,
            Some(id) => k["keyId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)),
        }
    }

    /// A named keyId that is not a credential this action removes: a 400 listing what is there.
    fn unknown_key(&self, secrets: &[Value], certs: &[Value]) -> EngineError {
        let key = self.key.clone().unwrap_or_default();
        let is_secret = secrets.iter().any(|k| self.is_named(k));
        let message = if C && is_secret {
            format!("'{key}' is a client secret, not a certificate")
        } else {
            format!("the application has no credential '{key}'")
        };
        let known = |l: &[Value]| {
            let ids = key_ids(l);
            if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
        };
        let hint = if C && is_secret {
            format!("RemoveApplicationCredentials removes secrets; certificates' keyIds: {}", known(certs))
        } else if C {
            format!("its certificates' keyIds: {}", known(certs))
        } else {
            format!("its secrets' keyIds: {}; its certificates' keyIds: {}", known(secrets), known(certs))
        };
        EngineError::InvalidParam(ParamError { field: "keyId".into(), message, hint })
    }
}

impl<const C: bool> Procedure for RemoveCredentials<C> {
    const ID: ProcedureId = if C {
        ProcedureId("entra.applications.remove_certificates")
    } else {
        ProcedureId("entra.applications.remove_credentials")
    };
    const READS: &'static [Read] = &[required("applicationId"), optional("keyId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut steps = Steps::default();
        let app = read_app(ctx, &self.app, &mut steps).await?;
        let object_id = app["id"].as_str().unwrap_or(&self.app).to_string();
        let path = format!("/v1.0/applications/{object_id}");
        let (secrets, certs) = (list(&app, "passwordCredentials"), list(&app, "keyCredentials"));
        let doomed_secrets: Vec<&Value> =
            if C { vec![] } else { secrets.iter().filter(|k| self.is_named(k)).collect() };
        let doomed_certs: Vec<&Value> = certs.iter().filter(|k| self.is_named(k)).collect();
        if self.key.is_some() && doomed_secrets.is_empty() && doomed_certs.is_empty() {
            return Err(self.unknown_key(&secrets, &certs));
        }
        let mut first = None;
        let mut removed_secrets = Vec::new();
        for s in &doomed_secrets {
            let kid = s["keyId"].as_str().unwrap_or_default();
            let outcome = steps::graph(ctx, steps::post(format!("{path}/removePassword"), json!({"keyId": kid}))).await;
            if let Err(e) = &outcome {
                first.get_or_insert(e.clone());
            }
            let detail = json!({"keyId": kid, "kind": "secret", "displayName": s["displayName"]});
            if steps.record("removePassword", detail, outcome).is_some() {
                removed_secrets.push(kid.to_string());
            }
        }
        let mut removed_certs = Vec::new();
        let kept: Vec<Value> = certs.iter().filter(|k| !self.is_named(k)).cloned().collect();
        if !doomed_certs.is_empty() {
            let ids = key_ids(&doomed_certs.iter().map(|v| (*v).clone()).collect::<Vec<_>>());
            let outcome = steps::graph(ctx, steps::patch(&path, json!({"keyCredentials": kept}))).await;
            if let Err(e) = &outcome {
                first.get_or_insert(e.clone());
            }
            let detail = json!({"keyIds": ids, "kind": "certificate", "kept": kept.len()});
            if steps.record("patchKeyCredentials", detail, outcome).is_some() {
                removed_certs = ids;
            }
        }
        if doomed_secrets.is_empty() && doomed_certs.is_empty() {
            steps.note("nothingToRemove", true, json!({"detail": "the application holds no credential of this kind"}));
        }
        let remaining_secrets = secrets.len() - removed_secrets.len();
        let remaining_certs = certs.len() - removed_certs.len();
        let extra = json!({
            "applicationId": object_id,
            "appId": app["appId"],
            "displayName": app["displayName"],
            "removedSecretKeyIds": removed_secrets,
            "removedCertificateKeyIds": removed_certs,
            "remainingSecrets": remaining_secrets,
            "remainingCertificates": remaining_certs,
        });
        steps.finish_or_fail(extra, first)
    }
}
