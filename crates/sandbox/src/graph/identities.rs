//! Defender for Identity on Graph (upstream-apis.md §4.8), over `world/identity.rs`:
//!
//! | Method | Path (`/v1.0` and `/beta`) | Answer |
//! |---|---|---|
//! | GET | `security/identities/identityAccounts[/{id}]` | identity accounts, each with its `accounts` per provider |
//! | POST | `security/identities/identityAccounts/{id}/invokeAction` | 200 `{"value": {accountId, action, provider, correlationId}}` |
//! | GET | `security/secureScores` | the tenant's daily Secure Scores, newest first (`$top`) |
//!
//! The provider support follows Microsoft's matrix: v1.0 acts on `activeDirectory` (disable,
//! enable, forcePasswordReset) and `okta` (disable, enable, revokeAllSessions); beta adds
//! `entraID` (disable, enable, revokeAllSessions, requireUserToSignInAgain,
//! markUserAsCompromised). Anything else is a 400 naming the action and provider. The world has
//! no Okta accounts, so an Okta action finds no account (400). An `accountId` must be one of the
//! identity account's own accounts for that provider, else 400 naming `accountId`.
//!
//! Not documented, picked here: the wording of each 400; unknown identity accounts are 404
//! `itemNotFound`. Both `provider` (the documented example) and `identityProvider` (the
//! resource's name) are accepted in the body and returned in the answer.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::security::{check_options, page};
use super::{bad_request, forbidden, version};
use crate::auth::GraphCaller;
use crate::errors::{self, json_response};
use crate::paths::route;
use crate::query::Params;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::identity::{ActionRecord, IdentityAccount};

const ACCOUNT_READ: &[&str] = &["SecurityIdentitiesAccount.Read.All", "SecurityIdentitiesActions.ReadWrite.All"];
const ACTION_WRITE: &[&str] = &["SecurityIdentitiesActions.ReadWrite.All"];
const SCORE_READ: &[&str] = &["SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All"];

const PROVIDERS: &[&str] = &["activeDirectory", "entraID", "okta"];
const ACTIONS: &[&str] = &[
    "disable",
    "enable",
    "forcePasswordReset",
    "revokeAllSessions",
    "requireUserToSignInAgain",
    "markUserAsCompromised",
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let base = format!("/{v}/security/identities/identityAccounts");
        r = route(r, &base, get(list_accounts));
        r = route(r, &format!("{base}/{{id}}"), get(get_account));
        r = route(r, &format!("{base}/{{id}}/invokeAction"), post(invoke_action));
        r = route(r, &format!("/{v}/security/secureScores"), get(list_secure_scores));
    }
    r
}

fn account_json(t: &Tenant, a: &IdentityAccount) -> Value {
    let user = t.graph.users.iter().find(|u| u.id == a.user_id);
    let entra_enabled = user.is_some_and(|u| u.account_enabled);
    json!({
        "@odata.type": "#microsoft.graph.security.identityAccounts",
        "id": a.id,
        "displayName": a.display_name,
        "domain": a.domain,
        "onPremisesSecurityIdentifier": a.ad.sid,
        "cloudSecurityIdentifier": a.cloud_sid,
        "isEnabled": a.ad.enabled && entra_enabled,
        "accounts": [
            {
                "@odata.type": "#microsoft.graph.security.account",
                "accountId": a.ad.account_id,
                "displayName": a.display_name,
                "domain": a.domain,
                "identityProvider": "activeDirectory",
                "isEnabled": a.ad.enabled,
                "samAccountName": a.ad.sam_account_name,
            },
            {
                "@odata.type": "#microsoft.graph.security.account",
                "accountId": a.user_id,
                "displayName": a.display_name,
                "domain": user.and_then(|u| u.user_principal_name.split_once('@')).map(|(_, d)| d),
                "identityProvider": "entraID",
                "isEnabled": entra_enabled,
                "userPrincipalName": user.map(|u| u.user_principal_name.clone()),
            },
        ],
    })
}

fn not_found(id: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::NOT_FOUND, "itemNotFound", format!("No identity account with id '{id}'."), headers)
}

async fn list_accounts(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ACCOUNT_READ)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$count", "$select"], &headers)?;
    let items = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        t.identity.accounts.iter().map(|a| account_json(t, a)).collect::<Vec<_>>()
    };
    let context = format!("{}/{}/$metadata#security/identities/identityAccounts", state.base_url, version(&uri));
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        &["id", "displayName", "domain", "isEnabled", "onPremisesSecurityIdentifier", "cloudSecurityIdentifier"],
        "microsoft.graph.security.identityAccounts",
        (100, 1000),
        context,
    )
}

async fn get_account(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ACCOUNT_READ)?;
    let mut v = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        let a = t
            .identity
            .accounts
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| not_found(&id, &headers))?;
        account_json(t, a)
    };
    v["@odata.context"] =
        format!("{}/{}/$metadata#security/identities/identityAccounts/$entity", state.base_url, version(&uri)).into();
    Ok(json_response(StatusCode::OK, v))
}

/// Whether Microsoft documents `action` for `provider` in this API version.
fn supported(action: &str, provider: &str, beta: bool) -> bool {
    match (action, provider) {
        ("disable" | "enable", "activeDirectory" | "okta") => true,
        ("forcePasswordReset", "activeDirectory") => true,
        ("revokeAllSessions", "okta") => true,
        (
            "disable" | "enable" | "revokeAllSessions" | "requireUserToSignInAgain" | "markUserAsCompromised",
            "entraID",
        ) => beta,
        _ => false,
    }
}

/// A string member of the body, matched to an enum ignoring case.
fn member(
    body: &Map<String, Value>,
    keys: &[&str],
    members: &[&'static str],
    headers: &HeaderMap,
) -> Result<&'static str, Response> {
    let raw = keys
        .iter()
        .find_map(|k| body.get(*k))
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("BadRequest", format!("The property '{}' is required.", keys[0]), headers))?;
    members.iter().copied().find(|m| m.eq_ignore_ascii_case(raw)).ok_or_else(|| {
        bad_request(
            "BadRequest",
            format!(
                "Requested value '{raw}' was not found for '{}'. Possible values: {}.",
                keys[0],
                members.join(", ")
            ),
            headers,
        )
    })
}

async fn invoke_action(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(ACTION_WRITE)?;
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad_request("BadRequest", "The request body must be a JSON object.", &headers)),
    };
    let action = member(&body, &["action"], ACTIONS, &headers)?;
    let provider = member(&body, &["identityProvider", "provider"], PROVIDERS, &headers)?;
    let account_id = body.get("accountId").and_then(Value::as_str).unwrap_or("").to_string();
    if account_id.is_empty() {
        return Err(bad_request("BadRequest", "The property 'accountId' is required.", &headers));
    }
    let beta = uri.path().starts_with("/beta/");
    if !supported(action, provider, beta) {
        return Err(bad_request(
            "BadRequest",
            format!(
                "The action '{action}' is not supported for identity provider '{provider}' in {}.",
                if beta { "beta" } else { "v1.0" }
            ),
            &headers,
        ));
    }
    let now = state.clock.now();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    {
        let mut world = state.world.lock();
        let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        let i = t
            .identity
            .accounts
            .iter()
            .position(|a| a.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| not_found(&id, &headers))?;
        let a = &t.identity.accounts[i];
        let owns = match provider {
            "activeDirectory" => a.ad.account_id.eq_ignore_ascii_case(&account_id),
            "entraID" => a.user_id.eq_ignore_ascii_case(&account_id),
            _ => false,
        };
        if !owns {
            return Err(bad_request(
                "BadRequest",
                format!("accountId '{account_id}' is not a {provider} account of identity account '{id}'."),
                &headers,
            ));
        }
        let user_id = a.user_id.clone();
        apply(t, i, &user_id, action, provider, now);
        t.identity.actions.push(ActionRecord {
            identity_account_id: t.identity.accounts[i].id.clone(),
            account_id: account_id.clone(),
            action: action.into(),
            provider: provider.into(),
            correlation_id: correlation_id.clone(),
            at: now,
        });
    }
    Ok(json_response(
        StatusCode::OK,
        json!({
            "@odata.context": format!("{}/{}/$metadata#microsoft.graph.security.invokeActionResult", state.base_url, version(&uri)),
            "value": {
                "accountId": account_id,
                "action": action,
                "provider": provider,
                "identityProvider": provider,
                "correlationId": correlation_id,
            },
        }),
    ))
}

/// The effect of one supported action on the account of `provider`.
fn apply(t: &mut Tenant, i: usize, user_id: &str, action: &str, provider: &str, now: time::OffsetDateTime) {
    if provider == "activeDirectory" {
        let ad = &mut t.identity.accounts[i].ad;
        match action {
            "disable" => ad.enabled = false,
            "enable" => ad.enabled = true,
            "forcePasswordReset" => ad.must_change_password = true,
            _ => {}
        }
        return;
    }
    let Some(u) = t.graph.users.iter_mut().find(|u| u.id == user_id) else {
        return;
    };
    match action {
        "disable" => u.account_enabled = false,
        "enable" => u.account_enabled = true,
        "revokeAllSessions" | "requireUserToSignInAgain" => {
            u.sign_in_sessions_valid_from = now;
            u.sessions_revoked_at = Some(now);
        }
        _ => {}
    }
}

async fn list_secure_scores(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(SCORE_READ)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$count", "$select"], &headers)?;
    let items = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        t.identity.secure_scores.clone()
    };
    let context = format!("{}/{}/$metadata#security/secureScores", state.base_url, version(&uri));
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        &["id", "createdDateTime", "azureTenantId"],
        "microsoft.graph.secureScore",
        (100, 1000),
        context,
    )
}
