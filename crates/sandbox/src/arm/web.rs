//! Microsoft.Web (App Service, upstream-apis.md §5): a site's `stop` / `start` / `restart`
//! actions and its configuration resources (`config/authsettingsV2`, `config/web`).
//!
//! The actions answer 200 with no body when done (the REST spec's `WebApps_Stop` / `_Start` /
//! `_Restart` are synchronous); the site's `properties.state` shows `Stopped` or `Running`, and a
//! restart counts in `properties.restartCount` (a sandbox field, so tests can see it happened).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::{Req, method_not_allowed, ops, types};
use crate::errors;
use crate::world::arm::ArmStore;

pub use crate::world::arm::WEB_SITES as SITES;

/// POST `.../sites/{name}/{stop|start|restart}`.
pub fn action(req: &Req, store: &mut ArmStore, id: &str, tail: &str) -> Result<Response, Response> {
    let state = match tail.to_ascii_lowercase().as_str() {
        "stop" => "Stopped",
        "start" | "restart" => "Running",
        _ => return Err(types::unknown("Microsoft.Web", &format!("sites/{tail}"), &req.api_version)),
    };
    if req.method != Method::POST {
        return Err(method_not_allowed(&req.method));
    }
    let name = id.rsplit('/').next().unwrap_or_default().to_string();
    let site = store.get_mut(id).ok_or_else(|| {
        errors::arm(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource 'Microsoft.Web/sites/{name}' under resource group was not found."),
        )
    })?;
    let Some(props) = site.body.get_mut("properties").and_then(Value::as_object_mut) else {
        return Err(errors::arm(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "site without properties"));
    };
    props.insert("state".into(), state.into());
    if tail.eq_ignore_ascii_case("restart") {
        let n = props.get("restartCount").and_then(Value::as_u64).unwrap_or(0);
        props.insert("restartCount".into(), (n + 1).into());
    }
    Ok(ops::empty(StatusCode::OK))
}
