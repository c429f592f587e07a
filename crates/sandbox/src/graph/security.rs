//! Microsoft Graph security: `alerts_v2` and `incidents` (upstream-apis.md §4.5), the Graph view
//! of the alerts and incidents modelled in `mde/alerts.rs` — a change through either API shows
//! in the other, as at Microsoft.
//!
//! Enum input is accepted case-insensitively and emitted camelCase (§4.5 DOC-CONFLICT note).
//! `/security` is throttled at 150 requests per minute per app per tenant (§4.2); the 429
//! carries `Retry-After` in seconds (open question 4 in the reference; we send it).
//!
//! Choices where the docs are silent: an unset classification/determination reads `unknown`;
//! resolving an incident resolves its alerts, and classifying an incident classifies its
//! alerts (what the Defender portal does); comments are returned as the whole list.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{bad_request, forbidden, version};
use crate::auth::{Caller, GraphCaller};
use crate::clock::fmt_mde;
use crate::entity_set;
use crate::errors::{self, json_response};
use crate::mde::alerts::{
    Alert, AlertStatus, Classification, Comment, Determination, Evidence, EvidenceKind, Incident, IncidentStatus,
    ServiceSource, Severity, Triage, check_pair, sync_incident,
};
use crate::query::Params;
use crate::state::AppState;
use crate::world::{Machine, Tenant};

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        r = r
            .route(&format!("/{v}/security/alerts_v2"), get(list_alerts))
            .route(&format!("/{v}/security/alerts_v2/{{id}}"), get(get_alert).patch(patch_alert))
            .route(&format!("/{v}/security/alerts_v2/{{id}}/comments"), post(comment_alert))
            .route(&format!("/{v}/security/incidents"), get(list_incidents))
            .route(&format!("/{v}/security/incidents/{{id}}"), get(get_incident).patch(patch_incident))
            .route(&format!("/{v}/security/incidents/{{id}}/comments"), post(comment_incident));
    }
    r
}

/// Documented `/security` limit (§4.2).
pub const SECURITY_PER_MINUTE: u32 = 150;

const ALERT_READ: &[&str] = &["SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"];
const ALERT_WRITE: &[&str] = &["SecurityAlert.ReadWrite.All"];
const INCIDENT_READ: &[&str] = &["SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"];
const INCIDENT_WRITE: &[&str] = &["SecurityIncident.ReadWrite.All"];

/// Page sizes (list-alerts_v2: default and max 2,000; list-incidents: default 20, max 50).
const ALERT_PAGE: (usize, usize) = (2_000, 2_000);
const INCIDENT_PAGE: (usize, usize) = (20, 50);

const ALERT_FILTER: &[&str] = &[
    "id",
    "incidentId",
    "status",
    "severity",
    "classification",
    "determination",
    "assignedTo",
    "serviceSource",
    "detectionSource",
    "category",
    "title",
    "createdDateTime",
    "lastUpdateDateTime",
];
const INCIDENT_FILTER: &[&str] = &[
    "id",
    "status",
    "severity",
    "classification",
    "determination",
    "assignedTo",
    "displayName",
    "createdDateTime",
    "lastUpdateDateTime",
];

fn access(c: &Caller, roles: &[&str], state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    c.require(roles)?;
    let key = format!("{}#{}#graph-security", c.tenant_id, c.app_id);
    let limited =
        state.limiter.lock().check(&key, std::time::Instant::now(), SECURITY_PER_MINUTE, SECURITY_PER_MINUTE * 60);
    limited.map_err(|retry_after| {
        let mut r = errors::graph(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!("Too many requests to /security. Retry after {retry_after} seconds."),
            headers,
        );
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        r
    })
}

fn item_not_found(kind: &str, id: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::NOT_FOUND, "NotFound", format!("The {kind} '{id}' was not found."), headers)
}

fn ctx(state: &AppState, uri: &Uri, fragment: &str) -> String {
    format!("{}/{}/$metadata#{fragment}", state.base_url, version(uri))
}

// ------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------

fn file_details(e: &Evidence) -> Value {
    json!({
        "sha1": e.sha1, "sha256": e.sha256, "fileName": e.file_name, "filePath": e.file_path,
        "fileSize": e.file_size, "filePublisher": null, "signer": null, "issuer": null,
    })
}

fn user_account(e: &Evidence) -> Value {
    json!({
        "accountName": e.account_name, "domainName": e.domain_name, "userSid": e.user_sid,
        "azureAdUserId": e.aad_user_id, "userPrincipalName": e.user_principal_name,
        "displayName": null,
    })
}

/// Graph evidence: one typed object per row (`#microsoft.graph.security.*Evidence`).
fn evidence_json(e: &Evidence, device_id: &str) -> Value {
    let mut v = json!({
        "createdDateTime": fmt_mde(e.created),
        "verdict": e.verdict.to_ascii_lowercase(),
        "remediationStatus": if e.detection_status == Some("Blocked") { "prevented" } else { "none" },
        "remediationStatusDetails": null,
        "roles": if e.role == "Impacted" { vec!["compromised"] } else { Vec::new() },
        "tags": [],
        "detailedRoles": [],
    });
    let extra = match e.kind {
        EvidenceKind::File => json!({
            "@odata.type": "#microsoft.graph.security.fileEvidence",
            "detectionStatus": e.detection_status.map(str::to_ascii_lowercase),
            "mdeDeviceId": device_id,
            "fileDetails": file_details(e),
        }),
        EvidenceKind::Process => json!({
            "@odata.type": "#microsoft.graph.security.processEvidence",
            "processId": e.process_id,
            "parentProcessId": e.parent_process_id,
            "processCommandLine": e.process_command_line,
            "processCreationDateTime": e.process_creation_time.map(fmt_mde),
            "parentProcessCreationDateTime": null,
            "detectionStatus": e.detection_status.map(str::to_ascii_lowercase),
            "mdeDeviceId": device_id,
            "imageFile": file_details(e),
            "parentProcessImageFile": {"fileName": e.parent_process_file_name},
            "userAccount": user_account(e),
        }),
        EvidenceKind::Ip => json!({
            "@odata.type": "#microsoft.graph.security.ipEvidence",
            "ipAddress": e.ip_address,
            "countryLetterCode": null,
        }),
        EvidenceKind::Url => json!({
            "@odata.type": "#microsoft.graph.security.urlEvidence",
            "url": e.url,
        }),
        EvidenceKind::User => json!({
            "@odata.type": "#microsoft.graph.security.userEvidence",
            "userAccount": user_account(e),
        }),
    };
    if let (Some(o), Value::Object(x)) = (v.as_object_mut(), extra) {
        o.extend(x);
    }
    v
}

fn device_evidence(m: &Machine, at: OffsetDateTime, now: OffsetDateTime) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.security.deviceEvidence",
        "createdDateTime": fmt_mde(at),
        "verdict": "suspicious",
        "remediationStatus": "none",
        "roles": [],
        "tags": [],
        "firstSeenDateTime": fmt_mde(m.first_seen),
        "mdeDeviceId": m.id,
        "azureAdDeviceId": m.aad_device_id,
        "deviceDnsName": m.computer_dns_name,
        "osPlatform": m.os_platform,
        "osBuild": m.os_build,
        "version": m.version,
        "healthStatus": m.health_status.to_ascii_lowercase(),
        "riskScore": m.risk_score.to_ascii_lowercase(),
        "rbacGroupId": m.rbac_group_id,
        "rbacGroupName": m.rbac_group_name,
        "onboardingStatus": m.onboarding_status.to_ascii_lowercase(),
        "defenderAvStatus": if m.is_windows() { "updated" } else { "unknown" },
        "lastExternalIpAddress": m.last_external_ip_address,
        "lastIpAddress": m.last_ip_address,
        "lastSeenDateTime": fmt_mde(m.last_seen(now)),
        "ipInterfaces": [m.last_ip_address],
        "loggedOnUsers": [],
    })
}

/// The Graph `microsoft.graph.security.alert` for a model alert.
pub fn alert_json(t: &Tenant, a: &Alert, base_url: &str, now: OffsetDateTime) -> Value {
    let mut evidence: Vec<Value> = Vec::new();
    if let Some(m) = t.machine(&a.machine_id) {
        evidence.push(device_evidence(m, a.first_event, now));
    }
    evidence.extend(a.evidence.iter().map(|e| evidence_json(e, &a.machine_id)));
    if a.service_source == ServiceSource::Cloud {
        evidence.extend(super::cloud_alerts::evidence(&t.subscription_id, &fmt_mde(a.created)));
    }
    json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "id": a.id,
        "providerAlertId": a.id,
        "incidentId": a.incident_id.to_string(),
        "status": a.status.graph(),
        "severity": a.severity.graph(),
        "classification": a.classification.map_or("unknown", Classification::graph),
        "determination": a.determination.map_or("unknown", Determination::graph_alert),
        "serviceSource": a.service_source.graph(),
        "detectionSource": detection_source(a),
        "productName": a.service_source.product_name(),
        "detectorId": a.detector_id,
        "tenantId": a.aad_tenant_id,
        "title": a.title,
        "description": a.description,
        "recommendedActions": a.recommended_actions,
        "category": a.category,
        "assignedTo": a.assigned_to,
        "alertWebUrl": format!("{base_url}/_portal/alerts/{}?tid={}", a.id, a.aad_tenant_id),
        "incidentWebUrl": format!("{base_url}/_portal/incidents/{}?tid={}", a.incident_id, a.aad_tenant_id),
        "actorDisplayName": null,
        "threatDisplayName": a.threat_family_name,
        "threatFamilyName": a.threat_family_name,
        "mitreTechniques": a.mitre_techniques,
        "createdDateTime": fmt_mde(a.created),
        "lastUpdateDateTime": fmt_mde(a.last_update),
        "resolvedDateTime": a.resolved.map(fmt_mde),
        "firstActivityDateTime": fmt_mde(a.first_event),
        "lastActivityDateTime": fmt_mde(a.last_event),
        "comments": a.comments.iter().map(Comment::graph_json).collect::<Vec<_>>(),
        "evidence": evidence,
        "systemTags": [],
        "alertPolicyId": null,
        "additionalData": {},
    })
}

/// Graph `detectionSource`: MDE's own detection technology for Endpoint alerts; Defender for
/// Cloud's alerts name their plan (the sandbox's are all seed 004's container alerts, so
/// `microsoftDefenderForContainers`, a member of Graph's evolvable enum); other products their
/// service.
fn detection_source(a: &Alert) -> &'static str {
    match a.service_source {
        ServiceSource::Endpoint => a.detection_source.graph(),
        ServiceSource::Cloud => "microsoftDefenderForContainers",
        other => other.graph(),
    }
}

pub fn incident_json(t: &Tenant, i: &Incident, base_url: &str, now: OffsetDateTime, expand: bool) -> Value {
    let mut v = json!({
        "@odata.type": "#microsoft.graph.security.incident",
        "id": i.id.to_string(),
        "tenantId": t.tenant_id,
        "status": i.status.graph(),
        "severity": i.severity(&t.mde.alerts).graph(),
        "incidentWebUrl": format!("{base_url}/_portal/incidents/{}?tid={}", i.id, t.tenant_id),
        "redirectIncidentId": i.redirect_incident_id.map(|x| x.to_string()),
        "displayName": i.display_name,
        "description": i.description,
        "createdDateTime": fmt_mde(i.created),
        "lastUpdateDateTime": fmt_mde(i.last_update),
        "resolvedDateTime": i.resolved.map(fmt_mde),
        "assignedTo": i.assigned_to,
        "classification": i.classification.map_or("unknown", Classification::graph),
        "determination": i.determination.map_or("unknown", Determination::graph_incident),
        "customTags": i.custom_tags,
        "systemTags": i.system_tags,
        "comments": i.comments.iter().map(Comment::graph_json).collect::<Vec<_>>(),
        "summary": null,
    });
    if expand && let Some(o) = v.as_object_mut() {
        o.insert(
            "alerts".into(),
            i.alerts(&t.mde.alerts).map(|a| alert_json(t, a, base_url, now)).collect::<Vec<_>>().into(),
        );
    }
    v
}

// ------------------------------------------------------------------------------------------
// Collections
// ------------------------------------------------------------------------------------------

/// `$filter`, `$orderby`, `$top`, `$skip`, `$count`, `$select` for a security collection,
/// through the shared entity-set layer; nextLink advances `$skip` (Graph security pages with
/// `$skip`).
#[allow(clippy::too_many_arguments)]
pub(super) fn page(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    params: &Params,
    items: Vec<Value>,
    filterable: &'static [&'static str],
    entity: &'static str,
    (default_page, max_page): (usize, usize),
    context: String,
) -> Result<Response, Response> {
    let set = entity_set::SetSpec {
        entity,
        filterable,
        sortable: filterable,
        select: entity_set::Select::Free,
        paging: entity_set::Paging::Skip { default: default_page, max: max_page, link_top: true },
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&set, params, items, &link).map_err(|e| {
        use entity_set::QueryError as Q;
        let m = match e {
            Q::Filter(e) => format!("Invalid filter clause: {e}"),
            Q::OrderBy(e) => e,
            Q::Top(t) => format!("Invalid $top value '{t}': must be an integer between 0 and {max_page}."),
            Q::TopTooLarge(n, _) => format!("Invalid $top value '{n}': must be an integer between 0 and {max_page}."),
            Q::Skip(s) | Q::Select(s) => format!("Invalid $skip value '{s}': must be a non-negative integer."),
            Q::SkipToken => "Invalid $skiptoken.".into(),
        };
        bad_request("BadRequest", m, headers)
    })?;
    Ok(json_response(StatusCode::OK, page.body(context, params)))
}

pub(super) fn check_options(params: &Params, allowed: &[&str], headers: &HeaderMap) -> Result<(), Response> {
    match params.unknown_system_option(allowed) {
        Some(opt) => Err(bad_request(
            "BadRequest",
            format!("Query option '{opt}' is not supported here. Supported: {}.", allowed.join(", ")),
            headers,
        )),
        None => Ok(()),
    }
}

/// `$expand=alerts` on incidents; anything else is refused.
fn expand_alerts(params: &Params, headers: &HeaderMap) -> Result<bool, Response> {
    match params.get("$expand") {
        None => Ok(false),
        Some(e) if e.trim().eq_ignore_ascii_case("alerts") => Ok(true),
        Some(e) => Err(bad_request(
            "BadRequest",
            format!(
                "Could not find a navigation property named '{e}' on 'microsoft.graph.security.incident'. Supported: alerts."
            ),
            headers,
        )),
    }
}

fn with_world<T>(
    state: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Tenant, OffsetDateTime) -> T,
) -> Result<T, Response> {
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(headers))?;
    Ok(f(t, now))
}

async fn list_alerts(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    access(&c, ALERT_READ, &state, &headers)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$orderby", "$count", "$select"], &headers)?;
    let items = with_world(&state, &c, &headers, |t, now| {
        let mut v: Vec<&Alert> = t.mde.alerts.iter().collect();
        v.sort_by_key(|a| std::cmp::Reverse(a.created));
        v.into_iter().map(|a| alert_json(t, a, &state.base_url, now)).collect::<Vec<_>>()
    })?;
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        ALERT_FILTER,
        "microsoft.graph.security.alert",
        ALERT_PAGE,
        ctx(&state, &uri, "security/alerts_v2"),
    )
}

fn entity(mut v: Value, context: String) -> Response {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), context.into());
    }
    json_response(StatusCode::OK, v)
}

async fn get_alert(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    access(&c, ALERT_READ, &state, &headers)?;
    let v = with_world(&state, &c, &headers, |t, now| {
        t.mde.alerts.iter().find(|a| a.id.eq_ignore_ascii_case(&id)).map(|a| alert_json(t, a, &state.base_url, now))
    })?
    .ok_or_else(|| item_not_found("alert", &id, &headers))?;
    Ok(entity(v, ctx(&state, &uri, "security/alerts_v2/$entity")))
}

/// A parsed Graph PATCH body: the triage fields, status, and (incidents) customTags/description.
struct GraphPatch {
    status: Option<String>,
    triage: Triage,
    custom_tags: Option<Vec<String>>,
    description: Option<String>,
}

fn parse_graph_patch(
    body: &[u8],
    allowed: &[&str],
    odata_type: &str,
    headers: &HeaderMap,
) -> Result<GraphPatch, Response> {
    let bad = |m: String| bad_request("BadRequest", m, headers);
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad("The request body must be a JSON object.".into())),
        Err(e) => return Err(bad(format!("Unable to read JSON request payload: {e}."))),
    };
    let mut p = GraphPatch { status: None, triage: Triage::default(), custom_tags: None, description: None };
    for (k, v) in &map {
        if k == "@odata.type" {
            if v.as_str().is_some_and(|t| t.trim_start_matches('#').eq_ignore_ascii_case(odata_type)) {
                continue;
            }
            return Err(bad(format!("A type named '{v}' could not be resolved by the model.")));
        }
        let Some(prop) = allowed.iter().find(|a| a.eq_ignore_ascii_case(k)) else {
            return Err(bad(format!(
                "Property '{k}' does not exist or cannot be updated on '{odata_type}'. Updatable: {}.",
                allowed.join(", ")
            )));
        };
        let text = || -> Result<Option<String>, Response> {
            match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(bad(format!("Invalid value {other} for property '{prop}': expected a string."))),
            }
        };
        match *prop {
            "status" => {
                p.status = Some(text()?.ok_or_else(|| bad("Property 'status' cannot be null.".into()))?)
            }
            "assignedTo" => p.triage.assigned_to = Some(text()?),
            "description" => p.description = text()?,
            "classification" => {
                p.triage.classification = Some(match text()? {
                    None => None,
                    Some(s) if s.eq_ignore_ascii_case("unknown") => None,
                    Some(s) => Some(Classification::parse(&s).ok_or_else(|| {
                        bad(format!("Invalid value '{s}' for 'classification'. Allowed: unknown, falsePositive, truePositive, informationalExpectedActivity."))
                    })?),
                })
            }
            "determination" => {
                p.triage.determination = Some(match text()? {
                    None => None,
                    Some(s) if s.eq_ignore_ascii_case("unknown") => None,
                    Some(s) => Some(Determination::parse(&s).ok_or_else(|| {
                        bad(format!(
                            "Invalid value '{s}' for 'determination'. Allowed: unknown, {}.",
                            Determination::ALL.map(Determination::graph_alert).join(", ")
                        ))
                    })?),
                })
            }
            "customTags" => match v {
                Value::Array(a) if a.iter().all(Value::is_string) => {
                    p.custom_tags = Some(a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                }
                _ => return Err(bad("Property 'customTags' must be an array of strings.".into())),
            },
            _ => {}
        }
    }
    Ok(p)
}

async fn patch_alert(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    access(&c, ALERT_WRITE, &state, &headers)?;
    let p = parse_graph_patch(
        &body,
        &["status", "assignedTo", "classification", "determination"],
        "microsoft.graph.security.alert",
        &headers,
    )?;
    let status = match &p.status {
        None => None,
        Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("Invalid value '{s}' for 'status'. Allowed: new, inProgress, resolved."),
                &headers,
            )
        })?),
    };
    let v = with_world(&state, &c, &headers, |t, now| -> Result<Value, Response> {
        let i = t
            .mde
            .alerts
            .iter()
            .position(|a| a.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| item_not_found("alert", &id, &headers))?;
        let a = &t.mde.alerts[i];
        let pair = check_pair(a.classification, a.determination, &p.triage)
            .map_err(|m| bad_request("BadRequest", m, &headers))?;
        t.mde.alerts[i].apply(status, pair, &p.triage, &c.app_id, now);
        let inc = t.mde.alerts[i].incident_id;
        sync_incident(t, inc, now);
        super::cloud_alerts::sync_to_defender_for_cloud(t, &id);
        Ok(alert_json(t, &t.mde.alerts[i], &state.base_url, now))
    })??;
    Ok(entity(v, ctx(&state, &uri, "security/alerts_v2/$entity")))
}

/// `{"@odata.type":"microsoft.graph.security.alertComment","comment":"..."}` → the comment text.
fn parse_comment(body: &[u8], headers: &HeaderMap) -> Result<String, Response> {
    let bad = |m: &str| bad_request("BadRequest", m.to_string(), headers);
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad("The request body must be a JSON object with a 'comment'.")),
    };
    if let Some(t) = map.get("@odata.type")
        && !t
            .as_str()
            .is_some_and(|t| t.trim_start_matches('#').eq_ignore_ascii_case("microsoft.graph.security.alertComment"))
    {
        return Err(bad("'@odata.type' must be 'microsoft.graph.security.alertComment'."));
    }
    match map.iter().find(|(k, _)| k.eq_ignore_ascii_case("comment")).map(|(_, v)| v) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(bad("Property 'comment' is required and must be a non-empty string.")),
    }
}

fn comment_list(state: &AppState, uri: &Uri, comments: &[Comment]) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "@odata.context": ctx(state, uri, "Collection(microsoft.graph.security.alertComment)"),
            "value": comments.iter().map(Comment::graph_json).collect::<Vec<_>>(),
        }),
    )
}

async fn comment_alert(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    access(&c, ALERT_WRITE, &state, &headers)?;
    let text = parse_comment(&body, &headers)?;
    let comments = with_world(&state, &c, &headers, |t, now| {
        let a = t.mde.alerts.iter_mut().find(|a| a.id.eq_ignore_ascii_case(&id))?;
        a.comments.push(Comment { comment: text, created_by: c.app_id.clone(), created: now });
        a.last_update = now;
        Some(a.comments.clone())
    })?
    .ok_or_else(|| item_not_found("alert", &id, &headers))?;
    Ok(comment_list(&state, &uri, &comments))
}

async fn list_incidents(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    access(&c, INCIDENT_READ, &state, &headers)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$orderby", "$count", "$select", "$expand"], &headers)?;
    let expand = expand_alerts(&params, &headers)?;
    let items = with_world(&state, &c, &headers, |t, now| {
        let mut v: Vec<&Incident> = t.mde.incidents.iter().collect();
        v.sort_by_key(|a| std::cmp::Reverse(a.created));
        v.into_iter().map(|i| incident_json(t, i, &state.base_url, now, expand)).collect::<Vec<_>>()
    })?;
    let fragment = if expand { "security/incidents(alerts())" } else { "security/incidents" };
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        INCIDENT_FILTER,
        "microsoft.graph.security.incident",
        INCIDENT_PAGE,
        ctx(&state, &uri, fragment),
    )
}

fn find_incident(t: &Tenant, id: &str) -> Option<usize> {
    let n: u64 = id.trim().parse().ok()?;
    t.mde.incidents.iter().position(|i| i.id == n)
}

async fn get_incident(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    access(&c, INCIDENT_READ, &state, &headers)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$expand", "$select"], &headers)?;
    let expand = expand_alerts(&params, &headers)?;
    let v = with_world(&state, &c, &headers, |t, now| {
        find_incident(t, &id).map(|i| incident_json(t, &t.mde.incidents[i], &state.base_url, now, expand))
    })?
    .ok_or_else(|| item_not_found("incident", &id, &headers))?;
    Ok(entity(v, ctx(&state, &uri, "security/incidents/$entity")))
}

async fn patch_incident(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    access(&c, INCIDENT_WRITE, &state, &headers)?;
    let p = parse_graph_patch(
        &body,
        &["status", "assignedTo", "classification", "determination", "customTags", "description"],
        "microsoft.graph.security.incident",
        &headers,
    )?;
    let patch_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let status = match &p.status {
        None => None,
        Some(s) => Some(IncidentStatus::parse(s).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("Invalid value '{s}' for 'status'. Allowed: active, inProgress, resolved, redirected."),
                &headers,
            )
        })?),
    };
    let v = with_world(&state, &c, &headers, |t, now| -> Result<Value, Response> {
        let i = find_incident(t, &id).ok_or_else(|| item_not_found("incident", &id, &headers))?;
        let inc = &t.mde.incidents[i];
        let pair = check_pair(inc.classification, inc.determination, &p.triage)
            .map_err(|m| bad_request("BadRequest", m, &headers))?;
        let incident_id = inc.id;
        let inc = &mut t.mde.incidents[i];
        if let Some(s) = status {
            if s == IncidentStatus::Resolved && inc.status != IncidentStatus::Resolved {
                inc.resolved = Some(now);
            } else if s != IncidentStatus::Resolved {
                inc.resolved = None;
            }
            inc.status = s;
        }
        if let Some(a) = &p.triage.assigned_to {
            inc.assigned_to = a.clone();
        }
        inc.classification = pair.0;
        inc.determination = pair.1;
        if let Some(tags) = &p.custom_tags {
            inc.custom_tags = tags.clone();
        }
        if let Some(d) = &p.description {
            inc.description = d.clone();
        }
        inc.last_update = now;
        inc.history.push(json!({ "time": fmt_mde(now), "by": c.app_id, "changes": patch_json }));
        // The portal carries resolution and classification down to the incident's alerts.
        let classify = p.triage.classification.is_some() || p.triage.determination.is_some();
        let resolve = status == Some(IncidentStatus::Resolved);
        if classify || resolve {
            for a in t.mde.alerts.iter_mut().filter(|a| a.incident_id == incident_id) {
                let alert_triage = Triage::default();
                let alert_pair = if classify { pair } else { (a.classification, a.determination) };
                let st = resolve.then_some(AlertStatus::Resolved);
                a.apply(st, alert_pair, &alert_triage, &c.app_id, now);
            }
        }
        let inc = &t.mde.incidents[i];
        Ok(incident_json(t, inc, &state.base_url, now, false))
    })??;
    Ok(entity(v, ctx(&state, &uri, "security/incidents/$entity")))
}

async fn comment_incident(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    access(&c, INCIDENT_WRITE, &state, &headers)?;
    let text = parse_comment(&body, &headers)?;
    let comments = with_world(&state, &c, &headers, |t, now| {
        let i = find_incident(t, &id)?;
        let inc = &mut t.mde.incidents[i];
        inc.comments.push(Comment { comment: text, created_by: c.app_id.clone(), created: now });
        inc.last_update = now;
        Some(inc.comments.clone())
    })?
    .ok_or_else(|| item_not_found("incident", &id, &headers))?;
    Ok(comment_list(&state, &uri, &comments))
}

// ------------------------------------------------------------------------------------------
// Cross-product incidents
// ------------------------------------------------------------------------------------------

/// Incidents added beside the Endpoint ones: each groups alerts of two or three products about
/// one user (Office 365 phish, Identity sign-in, Cloud Apps activity, a Defender for Cloud
/// container alert), the way Defender XDR correlates them. None sits on an MDE machine.
pub const CROSS_PRODUCT_INCIDENTS: usize = 40;

/// One non-Endpoint alert kind: what it says and the evidence it carries.
struct CrossScenario {
    source: ServiceSource,
    /// Id prefix Microsoft uses for the product's alert ids.
    prefix: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    mitre: &'static [&'static str],
    severity: Severity,
    ip: bool,
    url: Option<&'static str>,
}

const CROSS_SCENARIOS: &[CrossScenario] = &[
    CrossScenario {
        source: ServiceSource::Office365,
        prefix: "fa",
        title: "Email messages containing malicious URL removed after delivery",
        description: "Emails with a malicious URL were delivered and later removed by zero-hour auto purge.",
        category: "InitialAccess",
        mitre: &["T1566.002"],
        severity: Severity::Medium,
        ip: false,
        url: Some("https://sharepoint-docs.example-phish.com/view"),
    },
    CrossScenario {
        source: ServiceSource::Identity,
        prefix: "aa",
        title: "Suspected brute-force attack (LDAP)",
        description: "Many failed LDAP authentications for the account came from one source.",
        category: "CredentialAccess",
        mitre: &["T1110.001"],
        severity: Severity::Medium,
        ip: true,
        url: None,
    },
    CrossScenario {
        source: ServiceSource::CloudApps,
        prefix: "ca",
        title: "Impossible travel activity",
        description: "The user signed in from two distant locations within a time shorter than travel allows.",
        category: "InitialAccess",
        mitre: &["T1078"],
        severity: Severity::High,
        ip: true,
        url: None,
    },
    CrossScenario {
        source: ServiceSource::Cloud,
        prefix: "dc",
        title: "Suspicious process executed in a Kubernetes container",
        description: "A container in the cluster ran a reverse shell (seed 004's container scenario).",
        category: "Execution",
        mitre: &["T1059.004", "T1610"],
        severity: Severity::High,
        ip: true,
        url: None,
    },
];

/// Appends [`CROSS_PRODUCT_INCIDENTS`] incidents from their own RNG stream, so the Endpoint
/// incidents seeded before are unchanged. A few carry a comment and a custom tag, as triaged ones do.
#[allow(clippy::too_many_arguments)]
pub fn seed_cross_product(
    seed: u64,
    tenant_index: usize,
    tenant_id: &str,
    tenant_name: &str,
    users: &[crate::world::User],
    now: OffsetDateTime,
    alerts: &mut Vec<Alert>,
    incidents: &mut Vec<Incident>,
) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        seed ^ (tenant_index as u64 + 1).wrapping_mul(0xC405_5EED_0000_0003) ^ 0x0C05_5B0D,
    );
    let mut next_id = incidents.iter().map(|i| i.id).max().unwrap_or(1_000) + 1_000;
    for i in 0..CROSS_PRODUCT_INCIDENTS {
        next_id += rng.random_range(1..20u64);
        let user = &users[rng.random_range(0..users.len())];
        let au = crate::mde::alerts::alert_user(tenant_name, user);
        let start = now - time::Duration::minutes(rng.random_range(30..7 * 24 * 60));
        let count = 2 + i % 2;
        let first = i % CROSS_SCENARIOS.len();
        let mut titles = Vec::new();
        for k in 0..count {
            let s = &CROSS_SCENARIOS[(first + k) % CROSS_SCENARIOS.len()];
            let created = start + time::Duration::minutes(k as i64 * rng.random_range(2..40));
            alerts.push(cross_alert(&mut rng, s, &au, next_id, tenant_id, created));
            titles.push(s.title);
        }
        let last = start + time::Duration::minutes(90);
        let tagged = i % 5 == 0;
        incidents.push(Incident {
            id: next_id,
            display_name: format!("Multi-stage incident involving {} across {count} products", titles[0]),
            description: String::new(),
            created: start,
            last_update: last.min(now),
            resolved: None,
            status: IncidentStatus::Active,
            assigned_to: None,
            classification: None,
            determination: None,
            custom_tags: if tagged { vec!["seeded".into()] } else { Vec::new() },
            system_tags: vec!["Multi-product".into()],
            comments: if tagged {
                vec![Comment {
                    comment: "Correlated by Defender XDR across products.".into(),
                    created_by: "Automation".into(),
                    created: last.min(now),
                }]
            } else {
                Vec::new()
            },
            redirect_incident_id: None,
            history: Vec::new(),
        });
    }
}

fn cross_alert(
    rng: &mut rand::rngs::StdRng,
    s: &CrossScenario,
    au: &crate::mde::alerts::AlertUser,
    incident_id: u64,
    tenant_id: &str,
    created: OffsetDateTime,
) -> Alert {
    use crate::mde::alerts::{AlertStatus, DetectionSource, digits, empty_evidence};
    use rand::Rng;
    let mut evidence = Vec::new();
    let mut u = empty_evidence(EvidenceKind::User, created);
    u.role = "Impacted";
    u.account_name = Some(au.account_name.clone());
    u.domain_name = Some(au.domain_name.clone());
    u.user_sid = Some(au.user_sid.clone());
    u.aad_user_id = Some(au.aad_user_id.clone());
    u.user_principal_name = Some(au.user_principal_name.clone());
    evidence.push(u);
    if s.ip {
        let mut e = empty_evidence(EvidenceKind::Ip, created);
        e.verdict = "Malicious";
        e.ip_address = Some(format!("198.51.100.{}", rng.random_range(1..255u8)));
        evidence.push(e);
    }
    if let Some(url) = s.url {
        let mut e = empty_evidence(EvidenceKind::Url, created);
        e.verdict = "Malicious";
        e.url = Some(url.into());
        evidence.push(e);
    }
    Alert {
        id: format!("{}{}", s.prefix, digits(rng, 18)),
        incident_id,
        service_source: s.source,
        investigation_id: None,
        investigation_state: "UnsupportedAlertType",
        assigned_to: None,
        severity: s.severity,
        status: AlertStatus::New,
        classification: None,
        determination: None,
        detection_source: DetectionSource::CustomDetection,
        detector_id: crate::world::guid(rng),
        category: s.category,
        threat_family_name: None,
        title: s.title.into(),
        description: s.description.into(),
        recommended_actions: "Review the user's recent sign-ins and mail, and revoke sessions if compromised.".into(),
        mitre_techniques: s.mitre.to_vec(),
        created,
        first_event: created - time::Duration::minutes(5),
        last_event: created,
        last_update: created,
        resolved: None,
        machine_id: String::new(),
        computer_dns_name: String::new(),
        rbac_group_name: String::new(),
        aad_tenant_id: tenant_id.to_string(),
        user: Some(au.clone()),
        comments: Vec::new(),
        evidence,
    }
}
