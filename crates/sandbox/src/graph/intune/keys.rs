//! `informationProtection/bitlocker/recoveryKeys`: the BitLocker recovery keys Entra ID holds.
//!
//! As documented: the list and a plain get never carry the key; `GET .../{id}?$select=key` does,
//! and needs BitlockerKey.Read.All (BitlockerKey.ReadBasic.All reads everything but the key).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{bad_request, not_found, unknown_tenant};
use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::entity_set;
use crate::errors::json_response;
use crate::query::Params;
use crate::state::AppState;
use crate::world::intune::RecoveryKey;

const BASIC_ROLES: &[&str] = &["BitlockerKey.ReadBasic.All", "BitlockerKey.Read.All"];
const KEY_ROLES: &[&str] = &["BitlockerKey.Read.All"];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        r = r
            .route(&format!("/{v}/informationProtection/bitlocker/recoveryKeys"), get(list))
            .route(&format!("/{v}/informationProtection/bitlocker/recoveryKeys/{{id}}"), get(get_one));
    }
    r
}

const SET: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.bitlockerRecoveryKey",
    filterable: &["id", "deviceId"],
    sortable: &["createdDateTime"],
    select: entity_set::Select::Known(&["id", "createdDateTime", "volumeType", "deviceId"]),
    paging: entity_set::Paging::SkipToken { default: 100, max: 999, prefix: "sandbox-recovery-keys" },
};

/// The key's metadata; never the key itself.
fn key_json(k: &RecoveryKey) -> Value {
    json!({ "id": k.id, "createdDateTime": fmt_utc(k.created), "volumeType": 1, "deviceId": k.device_id })
}

fn context(state: &AppState, uri: &Uri) -> String {
    let v = if uri.path().starts_with("/beta/") { "beta" } else { "v1.0" };
    format!("{}/{v}/$metadata#informationProtection/bitlocker/recoveryKeys", state.base_url)
}

async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(BASIC_ROLES)?;
    let params = Params::parse(q.as_deref());
    if params.get("$select").is_some_and(|s| s.split(',').any(|p| p.trim().eq_ignore_ascii_case("key"))) {
        return Err(bad_request("The key property can only be selected on a single recovery key.", &headers));
    }
    let rows: Vec<Value> = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        t.intune.recovery_keys.iter().map(key_json).collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&SET, &params, rows, &link)
        .map_err(|e| bad_request(format!("Invalid query: {e:?}"), &headers))?;
    Ok(json_response(StatusCode::OK, page.body(context(&state, &uri), &params)))
}

async fn get_one(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(BASIC_ROLES)?;
    let params = Params::parse(q.as_deref());
    let wants_key = params.get("$select").is_some_and(|s| s.split(',').any(|p| p.trim().eq_ignore_ascii_case("key")));
    if wants_key {
        c.require(KEY_ROLES)?;
    }
    let world = state.world.lock();
    let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let k = t
        .intune
        .recovery_keys
        .iter()
        .find(|k| k.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| not_found("bitlockerRecoveryKey", &id, &headers))?;
    let mut v = key_json(k);
    if wants_key {
        v["key"] = k.key.clone().into();
    }
    v["@odata.context"] = format!("{}/$entity", context(&state, &uri)).into();
    Ok(json_response(StatusCode::OK, v))
}
