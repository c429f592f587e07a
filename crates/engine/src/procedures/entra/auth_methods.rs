//! Deleting authentication methods: each through its typed collection, found by listing first.
//!
//! `GET /users/{id}/authentication/methods` lists every method with its `@odata.type`; the type
//! names the collection a DELETE must go through (`#microsoft.graph.phoneAuthenticationMethod` →
//! `phoneMethods`). The password method cannot be deleted.

use super::steps::{self, Steps};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};

/// `@odata.type` → the typed collection that deletes it (Graph's documented segments).
const COLLECTIONS: &[(&str, &str)] = &[
    ("#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "microsoftAuthenticatorMethods"),
    ("#microsoft.graph.phoneAuthenticationMethod", "phoneMethods"),
    ("#microsoft.graph.fido2AuthenticationMethod", "fido2Methods"),
    ("#microsoft.graph.softwareOathAuthenticationMethod", "softwareOathMethods"),
    ("#microsoft.graph.emailAuthenticationMethod", "emailMethods"),
    ("#microsoft.graph.temporaryAccessPassAuthenticationMethod", "temporaryAccessPassMethods"),
    ("#microsoft.graph.windowsHelloForBusinessAuthenticationMethod", "windowsHelloForBusinessMethods"),
    ("#microsoft.graph.platformCredentialAuthenticationMethod", "platformCredentialMethods"),
];
const PASSWORD_TYPE: &str = "#microsoft.graph.passwordAuthenticationMethod";

fn collection_of(method: &Value) -> Option<&'static str> {
    let ty = method["@odata.type"].as_str()?;
    COLLECTIONS.iter().find(|(t, _)| t.eq_ignore_ascii_case(ty)).map(|(_, c)| *c)
}

pub async fn list_methods(ctx: &Ctx<'_>, user: &str, steps: &mut Steps) -> Result<Vec<Value>, EngineError> {
    steps::list(ctx, steps::get(format!("/v1.0/users/{user}/authentication/methods")), steps).await
}

/// Deletes every method but the password, one step each; the methods that were there.
pub async fn delete_all(ctx: &Ctx<'_>, user: &str, steps: &mut Steps) -> Result<(), EngineError> {
    let methods = list_methods(ctx, user, steps).await?;
    for m in methods.iter().filter(|m| m["@odata.type"] != PASSWORD_TYPE) {
        let id = m["id"].as_str().unwrap_or_default();
        let detail = json!({"methodId": id, "type": m["@odata.type"]});
        match collection_of(m) {
            Some(c) => {
                let outcome = steps::graph(ctx, steps::delete(format!("/v1.0/users/{user}/authentication/{c}/{id}"))).await;
                steps.record("deleteAuthenticationMethod", detail, outcome);
            }
            None => steps.note("deleteAuthenticationMethod", false, json!({"methodId": id, "type": m["@odata.type"], "error": {"message": "no documented collection deletes this method type"}})),
        }
    }
    Ok(())
}

/// `DeleteAuthenticationMethod`.
pub struct DeleteMethod {
    user: String,
    method: String,
}

impl TryFrom<&Params> for DeleteMethod {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(DeleteMethod { user: args.text("userId")?, method: args.text("authenticationMethodId")? })
    }
}

impl Procedure for DeleteMethod {
    const ID: ProcedureId = ProcedureId("entra.auth_methods.delete");
    const READS: &'static [Read] = &[required("userId"), required("authenticationMethodId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut steps = Steps::default();
        let methods = list_methods(ctx, &self.user, &mut steps).await?;
        let Some(m) = methods.iter().find(|m| m["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(&self.method)))
        else {
            let known: Vec<String> = methods
                .iter()
                .map(|m| {
                    format!(
                        "{} ({})",
                        m["id"].as_str().unwrap_or("?"),
                        m["@odata.type"].as_str().unwrap_or("?").trim_start_matches("#microsoft.graph.")
                    )
                })
                .collect();
            return Err(invalid(
                "authenticationMethodId",
                format!("the user has no authentication method '{}'", self.method),
                format!("the user's methods: {}", known.join(", ")),
            ));
        };
        if m["@odata.type"] == PASSWORD_TYPE {
            return Err(invalid(
                "authenticationMethodId",
                "the password method cannot be deleted".into(),
                "reset the password instead (ResetPassword)".into(),
            ));
        }
        let c = collection_of(m).ok_or_else(|| {
            invalid(
                "authenticationMethodId",
                format!("no documented collection deletes a {}", m["@odata.type"]),
                String::new(),
            )
        })?;
        let resp =
            steps::graph(ctx, steps::delete(format!("/v1.0/users/{}/authentication/{c}/{}", self.user, self.method)))
                .await?;
        steps.request_ids.extend(resp.request_id);
        Ok(steps.finish(
            json!({"userId": self.user, "deleted": {"id": self.method, "type": m["@odata.type"], "collection": c}}),
        ))
    }
}

fn invalid(field: &str, message: String, hint: String) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.into(), message, hint })
}

/// `DeleteAllMFAMethods` / `ResetMFARegistration`.
pub struct DeleteAllMethods {
    user: String,
}

impl TryFrom<&Params> for DeleteAllMethods {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(DeleteAllMethods { user: Args::of::<Self>(params).text("userId")? })
    }
}

impl Procedure for DeleteAllMethods {
    const ID: ProcedureId = ProcedureId("entra.auth_methods.delete_all");
    const READS: &'static [Read] = &[required("userId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut steps = Steps::default();
        delete_all(ctx, &self.user, &mut steps).await?;
        let deleted = steps.rows.iter().filter(|r| r["succeeded"] == true).count();
        Ok(steps.finish(json!({"userId": self.user, "deleted": deleted})))
    }
}
