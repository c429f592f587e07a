//! Exchange Online's admin REST endpoint, as the ExchangeOnlineManagement V3 module calls it for
//! every cmdlet: `POST /adminapi/beta/{tenant}/InvokeCommand` with
//! `{"CmdletInput": {"CmdletName": "...", "Parameters": {...}}}`, an app-only token for
//! `https://outlook.office365.com` carrying `Exchange.ManageAsApp`. Output is
//! `{"@odata.context", "value": [objects]}`; a failure is `{"error": {"code", "message"}}` whose
//! message starts with the Exchange exception type between bars, as the module shows it.
//!
//! Microsoft documents the cmdlets, not this transport; the sandbox follows the cmdlet docs for
//! parameter names and output properties. The cmdlets served are the Defender for Office 365
//! ones Riposte uses (`cmdlets.rs`); any other is refused the way PowerShell refuses an unknown
//! command, and an unknown parameter the way PowerShell's binder does.

mod cmdlets;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value, json};

use crate::auth::{Api, AuthError, authenticate};
use crate::errors::json_response;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/adminapi/beta/{tenant}/InvokeCommand", post(invoke_command))
}

/// A cmdlet failure: HTTP status, Exchange exception type and message.
#[derive(Debug)]
pub struct CmdletError {
    pub status: StatusCode,
    pub exception: &'static str,
    pub message: String,
}

impl CmdletError {
    pub fn bad(exception: &'static str, message: impl Into<String>) -> CmdletError {
        CmdletError { status: StatusCode::BAD_REQUEST, exception, message: message.into() }
    }

    pub fn not_found(what: &str) -> CmdletError {
        CmdletError {
            status: StatusCode::NOT_FOUND,
            exception: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            message: format!("The operation couldn't be performed because object '{what}' couldn't be found."),
        }
    }

    /// PowerShell's parameter binder, for a name the cmdlet does not have.
    pub fn unknown_parameter(name: &str) -> CmdletError {
        CmdletError::bad(
            "System.Management.Automation.ParameterBindingException",
            format!("A parameter cannot be found that matches parameter name '{name}'."),
        )
    }

    fn into_response(self) -> Response {
        let code = self.exception.rsplit('.').next().unwrap_or(self.exception);
        error(self.status, code, &format!("|{}|{}", self.exception, self.message))
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, json!({"error": {"code": code, "message": message}}))
}

/// 403 for an app without `Exchange.ManageAsApp`.
pub fn forbidden(role: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "The role assigned to application isn't supported in this scenario. The app needs the {role} permission and an Exchange role (e.g. Security Administrator)."
        ),
    )
}

fn unauthorized(e: AuthError) -> Response {
    let why = match e {
        AuthError::Missing => "The request has no bearer token.".to_string(),
        AuthError::WrongAudience(aud) => format!("The token audience '{aud}' is not https://outlook.office365.com."),
        AuthError::Expired { .. } => "The token has expired.".into(),
        other => format!("The token is not valid ({other:?})."),
    };
    error(StatusCode::UNAUTHORIZED, "Unauthorized", &why)
}

async fn invoke_command(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authenticate(&state, &headers, Api::ExchangeOnline) {
        Ok(c) => c,
        Err(e) => return unauthorized(e),
    };
    state.stats.lock().api_call(&caller.tenant_id, Api::ExchangeOnline);
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&tenant).filter(|t| t.tenant_id.eq_ignore_ascii_case(&caller.tenant_id)) else {
        return error(StatusCode::NOT_FOUND, "NotFound", &format!("Tenant '{tenant}' was not found for this token."));
    };
    if let Err(r) = caller.require(&[crate::world::mail::EXCHANGE_ROLE]) {
        return r;
    }
    let (name, params) = match parse_input(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let now = state.clock.now();
    match cmdlets::run(&mut t.mail, &name, &params, now) {
        Ok(objects) => json_response(
            StatusCode::OK,
            json!({
                "@odata.context": format!("{}/adminapi/beta/{}/$metadata#Collection(Exchange.GenericHashTable)", state.base_url, t.tenant_id),
                "value": objects,
            }),
        ),
        Err(e) => e.into_response(),
    }
}

/// `CmdletInput.CmdletName` and `CmdletInput.Parameters` (absent parameters: none).
fn parse_input(body: &[u8]) -> Result<(String, Map<String, Value>), CmdletError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CmdletError::bad("System.ArgumentException", format!("The request body is not JSON: {e}")))?;
    let input = &v["CmdletInput"];
    let name = input["CmdletName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| CmdletError::bad("System.ArgumentException", "CmdletInput.CmdletName is required."))?;
    let params = match &input["Parameters"] {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => return Err(CmdletError::bad("System.ArgumentException", "CmdletInput.Parameters must be an object.")),
    };
    Ok((name.to_string(), params))
}
