//! `GET /api/v1/mdr/status`: seed 002's service health, per integration (MDE, Graph, ARM, AWS and
//! the other families a tenant is configured for) and per tenant within it: can a token (or AWS
//! signing keys) be had now, the last call this process made and its status, and whether the
//! tenant was throttled in the last [`THROTTLE_WINDOW_MINUTES`] minutes.
//!
//! An integration is `healthy` when every tenant has a token and none is throttled, `unhealthy`
//! when no tenant has one, `degraded` in between; the whole is `healthy` when every integration
//! is, `unhealthy` when none works (or no tenant is configured), else `degraded`. Only the
//! tenants the key may use are shown.

use crate::AppState;
use crate::auth::Caller;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;
use upstream::{Api, TenantCredentials};

/// A throttling answer older than this no longer makes a tenant "throttled".
pub const THROTTLE_WINDOW_MINUTES: i64 = 5;
/// How long one token check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The name seed 002 gives each family; the others keep their label.
fn integration_name(api: Api) -> &'static str {
    match api {
        Api::Mde => "MDE",
        Api::Graph => "Graph",
        Api::Arm => "ARM",
        Api::Ec2 => "AWS",
        Api::CloudApps => "CloudApps",
        Api::KeyVault => "KeyVault",
        Api::ExchangeOnline => "ExchangeOnline",
    }
}

/// `GET /api/v1/mdr/status`
pub async fn status(State(state): State<AppState>, Caller(principal): Caller) -> Json<Value> {
    let engine = &state.engine;
    let tenants: Vec<TenantCredentials> =
        engine.tenants().all().filter(|c| principal.may_access(&c.tenant_id)).cloned().collect();
    let mut checks = tokio::task::JoinSet::new();
    for creds in tenants {
        for api in engine.upstream().configured_apis(&creds) {
            let upstream = engine.upstream().clone();
            let creds = creds.clone();
            checks.spawn(async move {
                let checked = tokio::time::timeout(CHECK_TIMEOUT, upstream.check_token(&creds, api)).await;
                let error = match checked {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some(format!("no token within {} s", CHECK_TIMEOUT.as_secs())),
                };
                let activity = upstream.activity().get(&creds.tenant_id, api);
                (api, tenant_health(&creds.tenant_id, error, activity))
            });
        }
    }
    let mut by_integration: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    while let Some(done) = checks.join_next().await {
        if let Ok((api, health)) = done {
            by_integration.entry(integration_name(api)).or_default().push(health);
        }
    }
    let mut integrations = serde_json::Map::new();
    for (name, mut tenants) in by_integration {
        tenants.sort_by(|a, b| a["tenant_id"].as_str().cmp(&b["tenant_id"].as_str()));
        let status = integration_status(&tenants);
        integrations.insert(name.into(), json!({ "status": status, "tenants": tenants }));
    }
    let overall = overall_status(integrations.values().map(|i| i["status"].as_str().unwrap_or("unhealthy")));
    Json(json!({
        "status": overall,
        "checkedAt": rfc3339(OffsetDateTime::now_utc()),
        "throttleWindowMinutes": THROTTLE_WINDOW_MINUTES,
        "integrations": integrations,
    }))
}

/// One tenant's health within an integration.
fn tenant_health(tenant: &str, token_error: Option<String>, activity: Option<upstream::CallActivity>) -> Value {
    let now = OffsetDateTime::now_utc();
    let throttled_at = activity.as_ref().and_then(|a| a.throttled_at);
    let throttled = throttled_at.is_some_and(|t| now - t < time::Duration::minutes(THROTTLE_WINDOW_MINUTES));
    json!({
        "tenant_id": tenant,
        "tokenOk": token_error.is_none(),
        "error": token_error,
        "lastCall": activity.as_ref().map(|a| json!({ "at": rfc3339(a.last_at), "status": a.last_status })),
        "throttled": throttled,
        "lastThrottledAt": throttled_at.map(rfc3339),
    })
}

fn integration_status(tenants: &[Value]) -> &'static str {
    let ok = |t: &&Value| t["tokenOk"] == true;
    let fine = |t: &&Value| t["tokenOk"] == true && t["throttled"] == false;
    if !tenants.is_empty() && tenants.iter().all(|t| fine(&t)) {
        "healthy"
    } else if tenants.iter().any(|t| ok(&t)) {
        "degraded"
    } else {
        "unhealthy"
    }
}

fn overall_status<'a>(statuses: impl Iterator<Item = &'a str>) -> &'static str {
    let all: Vec<&str> = statuses.collect();
    if all.is_empty() || all.iter().all(|s| *s == "unhealthy") {
        "unhealthy"
    } else if all.iter().all(|s| *s == "healthy") {
        "healthy"
    } else {
        "degraded"
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_roll_up() {
        let fine = tenant_health("a", None, None);
        let down = tenant_health("b", Some("invalid_client".into()), None);
        let throttled = tenant_health(
            "c",
            None,
            Some(upstream::CallActivity {
                last_at: OffsetDateTime::now_utc(),
                last_status: Some(429),
                throttled_at: Some(OffsetDateTime::now_utc()),
            }),
        );
        assert_eq!(throttled["throttled"], true);
        assert_eq!(integration_status(std::slice::from_ref(&fine)), "healthy");
        assert_eq!(integration_status(&[fine.clone(), throttled]), "degraded");
        assert_eq!(integration_status(&[fine, down.clone()]), "degraded");
        assert_eq!(integration_status(&[down]), "unhealthy");
        assert_eq!(overall_status(["healthy", "healthy"].into_iter()), "healthy");
        assert_eq!(overall_status(["healthy", "unhealthy"].into_iter()), "degraded");
        assert_eq!(overall_status(std::iter::empty()), "unhealthy");
    }
}
