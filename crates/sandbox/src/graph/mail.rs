//! Defender for Office 365 on Graph (upstream-apis.md §4.6), over the tenant's mail
//! (`world/mail.rs`):
//!
//! | Method | Path (`/v1.0` and `/beta` unless noted) | Answer |
//! |---|---|---|
//! | GET | `security/collaboration/analyzedEmails?startTime=&endTime=` | one analyzed email per delivered copy; `$filter`, `$top`, `$skip`, `$count` |
//! | GET | `security/collaboration/analyzedEmails/{id}` | one analyzed email |
//! | POST | `security/collaboration/analyzedEmails/remediate` | 202, `Location` on the Action Center history, empty body |
//! | POST, GET | `beta/security/threatSubmission/{emailThreats,urlThreats,fileThreats}[/{id}]` | 201 + the submission; its list or one |
//! | GET | `users/{id\|upn}/mailFolders/inbox/messageRules[/{ruleId}]` | inbox rules |
//! | DELETE | `users/{id\|upn}/mailFolders/inbox/messageRules/{ruleId}` | 204 |
//! | GET | `security/attackSimulation/payloads?$filter=source eq 'global'` | Microsoft's payloads (`$filter` on `source` required) |
//! | POST, GET | `security/attackSimulation/simulations` | 202 + `Location` on the creation's `attackSimulationOperation`; the list |
//! | GET | `security/attackSimulation/operations/{id}` | the operation: `running`, then `succeeded` after `graph_operation_seconds` |
//!
//! Graph requires `startTime` and `endTime` on the analyzed-email list (400 without them). A
//! remediation names each copy by `{networkMessageId, recipientEmailAddress}` (or the analyzed
//! email's `id`, as the documented example does); a copy this tenant does not have is a 400
//! naming the item, so a message id from another tenant is refused before anything moves. The
//! remediation then runs on the sandbox clock for `graph_operation_seconds` and moves (or
//! purges) every copy at once; the analyzed emails' `latestDelivery.location` shows the move,
//! and `/_sandbox/state` shows folders, the remediation's status and the submissions.
//!
//! Not documented, picked here: the wording of every 400; a submission's `status` is `pending`
//! when made (Microsoft's review is not modelled); unknown mailboxes answer 404
//! `ErrorInvalidUser` and unknown rules 404 `ErrorItemNotFound`, Exchange's codes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::security::{check_options, page};
use super::{bad_request, version};
use crate::auth::{Caller, GraphCaller};
use crate::clock::{fmt_utc, parse_datetime};
use crate::errors::{self, json_response};
use crate::paths::route;
use crate::query::Params;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::mail::{Folder, Message, PAYLOADS, Remediation, SimulationOp};

const ANALYZED_READ: &[&str] = &["SecurityAnalyzedMessage.Read.All", "SecurityAnalyzedMessage.ReadWrite.All"];
const ANALYZED_WRITE: &[&str] = &["SecurityAnalyzedMessage.ReadWrite.All"];
const SUBMISSION_READ: &[&str] = &["ThreatSubmission.Read.All", "ThreatSubmission.ReadWrite.All"];
const SUBMISSION_WRITE: &[&str] = &["ThreatSubmission.ReadWrite.All"];
const RULES_READ: &[&str] = &["MailboxSettings.Read", "MailboxSettings.ReadWrite"];
const RULES_WRITE: &[&str] = &["MailboxSettings.ReadWrite"];
const SIMULATION_READ: &[&str] = &["AttackSimulation.Read.All", "AttackSimulation.ReadWrite.All"];
const SIMULATION_WRITE: &[&str] = &["AttackSimulation.ReadWrite.All"];
const TECHNIQUES: &[&str] = &[
    "credentialHarvesting",
    "attachmentMalware",
    "driveByUrl",
    "linkInAttachment",
    "linkToMalwareFile",
    "oAuthConsentGrant",
];

const REMEDIATION_ACTIONS: &[&str] = &["softDelete", "hardDelete", "moveToJunk", "moveToInbox", "moveToDeletedItems"];
const EMAIL_CATEGORIES: &[&str] = &["spam", "phishing", "malware", "notSpam"];

/// Properties `$filter` takes on analyzed emails; the nested two are matched as paths.
const ANALYZED_FILTER: &[&str] = &[
    "id",
    "networkMessageId",
    "internetMessageId",
    "recipientEmailAddress",
    "subject",
    "threatType",
    "directionality",
    "loggedDateTime",
    "senderDetail/fromAddress",
    "latestDelivery/location",
    "originalDelivery/location",
];
/// Nested properties exposed as flat keys for `$filter`, removed before answering.
const PATHS: &[(&str, &str, &str)] = &[
    ("senderDetail/fromAddress", "senderDetail", "fromAddress"),
    ("latestDelivery/location", "latestDelivery", "location"),
    ("originalDelivery/location", "originalDelivery", "location"),
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let base = format!("/{v}/security/collaboration/analyzedEmails");
        r = route(r, &base, get(list_analyzed));
        r = route(r, &format!("{base}/remediate"), post(remediate));
        r = route(r, &format!("{base}/{{id}}"), get(get_analyzed));
        let rules = format!("/{v}/users/{{user}}/mailFolders/inbox/messageRules");
        r = route(r, &rules, get(list_rules));
        r = route(r, &format!("{rules}/{{rule}}"), get(get_rule).delete(delete_rule));
        let sim = format!("/{v}/security/attackSimulation");
        r = route(r, &format!("{sim}/payloads"), get(list_payloads));
        r = route(r, &format!("{sim}/simulations"), get(list_simulations).post(create_simulation));
        r = route(r, &format!("{sim}/operations/{{id}}"), get(get_simulation_operation));
    }
    for kind in ["emailThreats", "urlThreats", "fileThreats"] {
        let base = format!("/beta/security/threatSubmission/{kind}");
        r = route(r, &base, get(list_submissions).post(submit));
        r = route(r, &format!("{base}/{{id}}"), get(get_submission));
    }
    r
}

/// The caller's tenant, locked, with due remediations carried out.
fn with_mail<T>(
    state: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Tenant, OffsetDateTime) -> Result<T, Response>,
) -> Result<T, Response> {
    super::directory::with_tenant(state, c, headers, |t, now| {
        t.mail.settle(now);
        f(t, now)
    })
}

// ------------------------------------------------------------------------------------------
// Analyzed emails
// ------------------------------------------------------------------------------------------

fn delivery(folder: Folder, purged: bool, threat: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.security.analyzedEmailDeliveryDetail",
        "action": match folder {
            Folder::Quarantine => "blocked",
            Folder::JunkEmail => "deliveredToJunk",
            _ => "delivered",
        },
        "location": if purged { "deletedFolder" } else { folder.delivery_location() },
        "latestThreats": if threat == "none" { "" } else { threat },
        "originalThreats": if threat == "none" { "" } else { threat },
    })
}

/// The `microsoft.graph.security.analyzedEmail` of one copy.
pub fn analyzed_json(m: &Message) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.security.analyzedEmail",
        "id": m.analyzed_id(),
        "loggedDateTime": fmt_utc(m.received),
        "networkMessageId": m.network_message_id,
        "internetMessageId": m.internet_message_id,
        "senderDetail": {
            "@odata.type": "microsoft.graph.security.analyzedEmailSenderDetail",
            "fromAddress": m.sender,
            "mailFromAddress": m.sender,
            "displayName": m.sender_name,
            "domainName": m.sender.split_once('@').map(|(_, d)| d),
        },
        "recipientEmailAddress": m.recipient,
        "recipientEmailAddresses": [m.recipient],
        "subject": m.subject,
        "directionality": "inbound",
        "originalDelivery": delivery(m.original_folder, false, m.threat),
        "latestDelivery": delivery(m.folder, m.purged, m.threat),
        "threatType": m.threat,
        "attachmentsCount": 0,
        "urlsCount": m.urls.len(),
        "urls": m.urls.iter().map(|u| json!({"url": u})).collect::<Vec<_>>(),
        "language": "en",
        "policyAction": if m.original_folder == Folder::Quarantine { "Quarantine" } else { "" },
    })
}

/// `startTime`/`endTime`: required by Graph, dates or date-times.
fn window(params: &Params, headers: &HeaderMap) -> Result<(OffsetDateTime, OffsetDateTime), Response> {
    let one = |name: &str| {
        let raw = params.get(name).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("The query parameter '{name}' is required: analyzedEmails needs startTime and endTime."),
                headers,
            )
        })?;
        parse_datetime(raw).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("The query parameter '{name}' is not a valid date or time: '{raw}'."),
                headers,
            )
        })
    };
    let (start, end) = (one("startTime")?, one("endTime")?);
    if end < start {
        return Err(bad_request("BadRequest", "endTime must not be earlier than startTime.", headers));
    }
    Ok((start, end))
}

async fn list_analyzed(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ANALYZED_READ)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$count", "$skiptoken"], &headers)?;
    let (start, end) = window(&params, &headers)?;
    let items = with_mail(&state, &c, &headers, |t, _| {
        let mut copies: Vec<&Message> =
            t.mail.messages.iter().filter(|m| m.received >= start && m.received <= end).collect();
        copies.sort_by_key(|m| std::cmp::Reverse(m.received));
        Ok(copies.into_iter().map(|m| with_paths(analyzed_json(m))).collect::<Vec<_>>())
    })?;
    let context = format!("{}/{}/$metadata#security/collaboration/analyzedEmails", state.base_url, version(&uri));
    let answer = page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        ANALYZED_FILTER,
        "microsoft.graph.security.analyzedEmail",
        (100, 1000),
        context,
    )?;
    strip_paths(answer).await
}

/// Adds the flat `a/b` keys `$filter` matches on.
fn with_paths(mut v: Value) -> Value {
    for (flat, outer, inner) in PATHS {
        let x = v[*outer][*inner].clone();
        if let Some(o) = v.as_object_mut() {
            o.insert((*flat).to_string(), x);
        }
    }
    v
}

/// Removes the flat keys again from a page answer.
async fn strip_paths(resp: Response) -> Result<Response, Response> {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|_| parts.status.into_response())?;
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(rows) = v.get_mut("value").and_then(Value::as_array_mut) {
        for row in rows.iter_mut().filter_map(Value::as_object_mut) {
            for (flat, _, _) in PATHS {
                row.remove(*flat);
            }
        }
    }
    Ok(json_response(parts.status, v))
}

async fn get_analyzed(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ANALYZED_READ)?;
    let v = with_mail(&state, &c, &headers, |t, _| {
        t.mail
            .messages
            .iter()
            .find(|m| m.analyzed_id().eq_ignore_ascii_case(&id))
            .map(analyzed_json)
            .ok_or_else(|| item_not_found(&format!("No analyzed email with id '{id}'."), &headers))
    })?;
    Ok(entity(
        v,
        format!("{}/{}/$metadata#security/collaboration/analyzedEmails/$entity", state.base_url, version(&uri)),
    ))
}

fn item_not_found(message: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::NOT_FOUND, "itemNotFound", message, headers)
}

fn entity(mut v: Value, context: String) -> Response {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), context.into());
    }
    json_response(StatusCode::OK, v)
}

// ------------------------------------------------------------------------------------------
// Remediation
// ------------------------------------------------------------------------------------------

/// A string property, required or not, with Graph's wording when it is missing or mistyped.
fn text<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    required: bool,
    headers: &HeaderMap,
) -> Result<Option<&'a str>, Response> {
    match body.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s)),
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(bad_request("BadRequest", format!("The property '{key}' is required."), headers))
        }
        Some(other) => {
            Err(bad_request("BadRequest", format!("The property '{key}' must be a string, got {other}."), headers))
        }
    }
}

/// One of an enum's members, matched ignoring case, answered in Graph's spelling.
fn member(value: &str, members: &[&'static str], key: &str, headers: &HeaderMap) -> Result<&'static str, Response> {
    members.iter().copied().find(|m| m.eq_ignore_ascii_case(value)).ok_or_else(|| {
        bad_request(
            "BadRequest",
            format!("Requested value '{value}' was not found for '{key}'. Possible values: {}.", members.join(", ")),
            headers,
        )
    })
}

fn is_address(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && domain.split('.').all(|l| !l.is_empty())
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// The copies a remediation names, checked against the tenant's mail: (network id, recipient).
fn targets(t: &Tenant, items: &[Value], headers: &HeaderMap) -> Result<Vec<(String, String)>, Response> {
    let bad = |i: usize, m: String| bad_request("BadRequest", format!("analyzedEmails[{i}]: {m}"), headers);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let copy = if let Some(id) = item.get("id").and_then(Value::as_str) {
            t.mail
                .messages
                .iter()
                .find(|m| m.analyzed_id().eq_ignore_ascii_case(id))
                .ok_or_else(|| bad(i, format!("no analyzed email with id '{id}' in this tenant.")))?
        } else {
            let network = item.get("networkMessageId").and_then(Value::as_str).unwrap_or("");
            let recipient = item.get("recipientEmailAddress").and_then(Value::as_str).unwrap_or("");
            if network.is_empty() {
                return Err(bad(i, "networkMessageId (or id) is required.".into()));
            }
            if !is_address(recipient) {
                return Err(bad(i, format!("recipientEmailAddress '{recipient}' is not a valid email address.")));
            }
            t.mail
                .messages
                .iter()
                .find(|m| {
                    m.network_message_id.eq_ignore_ascii_case(network) && m.recipient.eq_ignore_ascii_case(recipient)
                })
                .ok_or_else(|| {
                    bad(
                        i,
                        format!(
                            "no message with networkMessageId '{network}' delivered to '{recipient}' in this tenant."
                        ),
                    )
                })?
        };
        out.push((copy.network_message_id.clone(), copy.recipient.clone()));
    }
    Ok(out)
}

async fn remediate(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(ANALYZED_WRITE)?;
    let body = super::directory::body_object(&body, &headers)?;
    let action = member(text(&body, "action", true, &headers)?.unwrap_or(""), REMEDIATION_ACTIONS, "action", &headers)?;
    let display_name = text(&body, "displayName", true, &headers)?.unwrap_or("").to_string();
    let description = text(&body, "description", false, &headers)?.map(str::to_string);
    let severity = match text(&body, "severity", false, &headers)? {
        Some(s) => member(s, &["low", "medium", "high"], "severity", &headers)?,
        None => "medium",
    };
    let senders_copy = match body.get("remediateSendersCopy") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // The documented example sends it as a string.
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
            s.eq_ignore_ascii_case("true")
        }
        Some(other) => {
            return Err(bad_request(
                "BadRequest",
                format!("remediateSendersCopy must be a boolean, got {other}."),
                &headers,
            ));
        }
    };
    let items = match body.get("analyzedEmails") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => {
            return Err(bad_request(
                "BadRequest",
                "The property 'analyzedEmails' must be a non-empty array.",
                &headers,
            ));
        }
    };
    let seconds = state.settings.lock().graph_operation_seconds;
    let (bulk_id, tenant_id) = with_mail(&state, &c, &headers, |t, now| {
        let targets = targets(t, &items, &headers)?;
        let bulk_id = uuid::Uuid::new_v4().to_string();
        t.mail.remediations.push(Remediation {
            bulk_id: bulk_id.clone(),
            display_name,
            description,
            severity: severity.to_string(),
            action: action.to_string(),
            remediate_senders_copy: senders_copy,
            targets,
            created: now,
            completes: now + Duration::seconds(seconds.max(0)),
            applied: false,
        });
        Ok((bulk_id, t.tenant_id.clone()))
    })?;
    // The documented Location: the Action Center history page, filtered on this bulk id.
    let location = format!(
        "https://security.microsoft.com/action-center/history?filters={{\"bulkId\":[\"{bulk_id}\"]}}&tid={tenant_id}"
    );
    let mut resp = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

// ------------------------------------------------------------------------------------------
// Threat submissions
// ------------------------------------------------------------------------------------------

/// Which collection a submission path names.
fn kind_of(uri: &Uri) -> &'static str {
    let p = uri.path().to_ascii_lowercase();
    if p.contains("/urlthreats") {
        "url"
    } else if p.contains("/filethreats") {
        "file"
    } else {
        "email"
    }
}

/// `tenantAllowOrBlockListAction`, checked, and the entry it makes for `value` of `entry_type`.
fn list_action(
    body: &Map<String, Value>,
    entry_type: &str,
    value: &str,
    headers: &HeaderMap,
) -> Result<Option<(Value, Value)>, Response> {
    let Some(a) = body.get("tenantAllowOrBlockListAction").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(a) = a.as_object() else {
        return Err(bad_request("BadRequest", "tenantAllowOrBlockListAction must be an object.", headers));
    };
    let action = member(text(a, "action", true, headers)?.unwrap_or(""), &["allow", "block"], "action", headers)?;
    let expires = match text(a, "expirationDateTime", false, headers)? {
        Some(s) => Some(parse_datetime(s).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("tenantAllowOrBlockListAction.expirationDateTime '{s}' is not a date-time."),
                headers,
            )
        })?),
        None => None,
    };
    let echo = json!({"action": action, "expirationDateTime": expires.map(fmt_utc), "note": a.get("note").cloned().unwrap_or(Value::Null)});
    let entry = json!({
        "@odata.type": "#microsoft.graph.security.tenantAllowBlockListEntryResult",
        "identity": uuid::Uuid::new_v4().to_string(),
        "entryType": entry_type,
        "value": value,
        "expirationDateTime": expires.map(fmt_utc),
        "status": "succeeded",
        "action": action,
    });
    Ok(Some((echo, entry)))
}

/// The message a `messageUrl` names: `.../users/{id|upn}/messages/{id}` in this tenant.
fn message_of<'a>(t: &'a Tenant, url: &str, recipient: &str, headers: &HeaderMap) -> Result<&'a Message, Response> {
    let bad = |m: String| bad_request("BadRequest", m, headers);
    let path = url.split('?').next().unwrap_or(url);
    let segs: Vec<&str> = path.split('/').collect();
    let at = segs.iter().position(|s| s.eq_ignore_ascii_case("users"));
    let (user, id) = match at {
        Some(i) if segs.len() == i + 4 && segs[i + 2].eq_ignore_ascii_case("messages") => (segs[i + 1], segs[i + 3]),
        _ => {
            return Err(bad(format!(
                "messageUrl '{url}' is not a Graph message URL (.../users/{{id}}/messages/{{messageId}})."
            )));
        }
    };
    let owner = t.user_index(user).map(|i| t.graph.users[i].id.clone());
    let m = t
        .mail
        .messages
        .iter()
        .find(|m| m.id == id && owner.as_deref() == Some(m.mailbox.as_str()))
        .ok_or_else(|| bad(format!("messageUrl names no message of this tenant: '{url}'.")))?;
    if !m.recipient.eq_ignore_ascii_case(recipient) {
        return Err(bad(format!(
            "recipientEmailAddress '{recipient}' is not the recipient of the message at messageUrl."
        )));
    }
    Ok(m)
}

async fn submit(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(SUBMISSION_WRITE)?;
    let body = super::directory::body_object(&body, &headers)?;
    let kind = kind_of(&uri);
    let odata_type =
        text(&body, "@odata.type", true, &headers)?.unwrap_or("").trim_start_matches('#').to_ascii_lowercase();
    let allowed: &[&str] = match kind {
        "email" => &[
            "microsoft.graph.security.emailurlthreatsubmission",
            "microsoft.graph.security.emailcontentthreatsubmission",
        ],
        "url" => &["microsoft.graph.security.urlthreatsubmission"],
        _ => &[
            "microsoft.graph.security.filecontentthreatsubmission",
            "microsoft.graph.security.fileurlthreatsubmission",
        ],
    };
    if !allowed.contains(&odata_type.as_str()) {
        return Err(bad_request(
            "BadRequest",
            format!("@odata.type '{odata_type}' is not a {kind} threat submission type."),
            &headers,
        ));
    }
    let category =
        member(text(&body, "category", true, &headers)?.unwrap_or(""), EMAIL_CATEGORIES, "category", &headers)?;
    let v = with_mail(&state, &c, &headers, |t, now| {
        let mut v = json!({
            "@odata.type": format!("#{}", allowed.iter().find(|a| **a == odata_type).copied().unwrap_or("")),
            "id": uuid::Uuid::new_v4().to_string(),
            "createdDateTime": fmt_utc(now),
            "contentType": kind,
            "category": category,
            "status": "pending",
            "source": "administrator",
            "createdBy": {"user": {"identity": c.app_id, "displayName": null, "email": null}},
            "result": null,
            "adminReview": null,
            "tenantId": t.tenant_id,
        });
        let (value, entry_type) = match kind {
            "email" => {
                let recipient = text(&body, "recipientEmailAddress", true, &headers)?.unwrap_or("");
                if !is_address(recipient) {
                    return Err(bad_request(
                        "BadRequest",
                        format!("recipientEmailAddress '{recipient}' is not a valid email address."),
                        &headers,
                    ));
                }
                let url = text(&body, "messageUrl", odata_type.ends_with("emailurlthreatsubmission"), &headers)?;
                let m = match url {
                    Some(u) => Some(message_of(t, u, recipient, &headers)?),
                    None => None,
                };
                v["recipientEmailAddress"] = recipient.to_ascii_lowercase().into();
                v["messageUrl"] = url.into();
                if let Some(m) = m {
                    v["internetMessageId"] = m.internet_message_id.clone().into();
                    v["sender"] = m.sender.clone().into();
                    v["subject"] = m.subject.clone().into();
                    v["receivedDateTime"] = fmt_utc(m.received).into();
                    v["originalCategory"] = m.threat.into();
                }
                (m.map(|m| m.sender.clone()).unwrap_or_default(), "sender")
            }
            "url" => {
                let url = text(&body, "webUrl", true, &headers)?.unwrap_or("");
                if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 11 {
                    return Err(bad_request(
                        "BadRequest",
                        format!("webUrl '{url}' is not an absolute http(s) URL."),
                        &headers,
                    ));
                }
                v["webUrl"] = url.into();
                (url.to_string(), "url")
            }
            _ => {
                let name = text(&body, "fileName", true, &headers)?.unwrap_or("");
                let content =
                    text(&body, "fileContent", odata_type.ends_with("filecontentthreatsubmission"), &headers)?;
                let bytes = match content {
                    Some(c) => base64::engine::general_purpose::STANDARD.decode(c.trim()).map_err(|_| {
                        bad_request("BadRequest", "fileContent must be base64-encoded file content.", &headers)
                    })?,
                    None => Vec::new(),
                };
                let sha256 = sha256_hex(&bytes);
                v["fileName"] = name.into();
                v["fileHash"] = sha256.clone().into();
                (sha256, "fileHash")
            }
        };
        if let Some((echo, entry)) = list_action(&body, entry_type, &value, &headers)? {
            v["tenantAllowOrBlockListAction"] = echo;
            v["result"] = json!({"tenantAllowBlockListEntryResults": [entry]});
        }
        t.mail.submissions.push(v.clone());
        Ok(v)
    })?;
    let context = format!("{}/beta/$metadata#security/threatSubmission/{kind}Threats/$entity", state.base_url);
    let mut resp = entity(v, context);
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn list_submissions(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(SUBMISSION_READ)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$count"], &headers)?;
    let kind = kind_of(&uri);
    let items = with_mail(&state, &c, &headers, |t, _| {
        Ok(t.mail.submissions.iter().filter(|s| s["contentType"] == kind).cloned().collect::<Vec<_>>())
    })?;
    let context = format!("{}/beta/$metadata#security/threatSubmission/{kind}Threats", state.base_url);
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        &["id", "category", "status", "createdDateTime"],
        "microsoft.graph.security.threatSubmission",
        (100, 1000),
        context,
    )
}

async fn get_submission(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(SUBMISSION_READ)?;
    let kind = kind_of(&uri);
    let v = with_mail(&state, &c, &headers, |t, _| {
        t.mail
            .submissions
            .iter()
            .find(|s| s["contentType"] == kind && s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id)))
            .cloned()
            .ok_or_else(|| item_not_found(&format!("No {kind} threat submission with id '{id}'."), &headers))
    })?;
    Ok(entity(v, format!("{}/beta/$metadata#security/threatSubmission/{kind}Threats/$entity", state.base_url)))
}

// ------------------------------------------------------------------------------------------
// Inbox rules
// ------------------------------------------------------------------------------------------

/// The mailbox owner's object id, or Exchange's 404 for an unknown mailbox.
fn mailbox(t: &Tenant, user: &str, headers: &HeaderMap) -> Result<String, Response> {
    t.user_index(user).map(|i| t.graph.users[i].id.clone()).ok_or_else(|| {
        errors::graph(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            format!("The requested user '{user}' is invalid."),
            headers,
        )
    })
}

fn rule_not_found(headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
        headers,
    )
}

async fn list_rules(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(user): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(RULES_READ)?;
    let rules = with_mail(&state, &c, &headers, |t, _| {
        let owner = mailbox(t, &user, &headers)?;
        Ok(t.mail.rules.iter().filter(|r| r.mailbox == owner).map(|r| r.rule.clone()).collect::<Vec<_>>())
    })?;
    let context =
        format!("{}/{}/$metadata#users('{user}')/mailFolders('inbox')/messageRules", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, json!({"@odata.context": context, "value": rules})))
}

async fn get_rule(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((user, rule)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(RULES_READ)?;
    let v = with_mail(&state, &c, &headers, |t, _| {
        let owner = mailbox(t, &user, &headers)?;
        t.mail
            .rules
            .iter()
            .find(|r| r.mailbox == owner && r.id() == rule)
            .map(|r| r.rule.clone())
            .ok_or_else(|| rule_not_found(&headers))
    })?;
    Ok(entity(
        v,
        format!(
            "{}/{}/$metadata#users('{user}')/mailFolders('inbox')/messageRules/$entity",
            state.base_url,
            version(&uri)
        ),
    ))
}

async fn delete_rule(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((user, rule)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(RULES_WRITE)?;
    with_mail(&state, &c, &headers, |t, _| {
        let owner = mailbox(t, &user, &headers)?;
        let at = t
            .mail
            .rules
            .iter()
            .position(|r| r.mailbox == owner && r.id() == rule)
            .ok_or_else(|| rule_not_found(&headers))?;
        t.mail.rules.remove(at);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------------------------------
// Attack simulation
// ------------------------------------------------------------------------------------------

async fn list_payloads(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(SIMULATION_READ)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$count"], &headers)?;
    // Documented: listing payloads requires a filter on their source.
    if !params.get("$filter").is_some_and(|f| f.to_ascii_lowercase().contains("source")) {
        return Err(bad_request("BadRequest", "A $filter on 'source' (global or tenant) is required.", &headers));
    }
    let items: Vec<Value> = PAYLOADS
        .iter()
        .map(|(id, name, technique)| {
            json!({"id": id, "displayName": name, "source": "global", "technique": technique,
                   "platform": "email", "status": "ready", "simulationAttackType": "social"})
        })
        .collect();
    let context = format!("{}/{}/$metadata#security/attackSimulation/payloads", state.base_url, version(&uri));
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        &["source", "technique", "displayName"],
        "microsoft.graph.payload",
        (100, 1000),
        context,
    )
}

async fn list_simulations(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(SIMULATION_READ)?;
    let params = Params::parse(q.as_deref());
    check_options(&params, &["$filter", "$top", "$skip", "$count"], &headers)?;
    let items = with_mail(&state, &c, &headers, |t, _| Ok(t.mail.simulations.clone()))?;
    let context = format!("{}/{}/$metadata#security/attackSimulation/simulations", state.base_url, version(&uri));
    page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        &["displayName", "status", "attackTechnique"],
        "microsoft.graph.simulation",
        (100, 1000),
        context,
    )
}

/// The payload id a `payload@odata.bind` names, if it is one of the payloads.
fn bound_payload(body: &Map<String, Value>, headers: &HeaderMap) -> Result<&'static str, Response> {
    let bind = text(body, "payload@odata.bind", true, headers)?.unwrap_or("");
    let id = bind.rsplit('/').next().unwrap_or("");
    PAYLOADS
        .iter()
        .find(|(p, _, _)| p.eq_ignore_ascii_case(id))
        .map(|(p, _, _)| *p)
        .ok_or_else(|| bad_request("BadRequest", format!("payload@odata.bind names no payload: '{bind}'."), headers))
}

async fn create_simulation(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(SIMULATION_WRITE)?;
    let body = super::directory::body_object(&body, &headers)?;
    let name = text(&body, "displayName", true, &headers)?.unwrap_or("").to_string();
    let technique =
        member(text(&body, "attackTechnique", true, &headers)?.unwrap_or(""), TECHNIQUES, "attackTechnique", &headers)?;
    let status =
        member(text(&body, "status", true, &headers)?.unwrap_or(""), &["draft", "scheduled"], "status", &headers)?;
    let payload = bound_payload(&body, &headers)?;
    let targets: Vec<String> = body
        .get("includedAccountTarget")
        .and_then(|t| t.get("accountTargetEmails"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect())
        .unwrap_or_default();
    if targets.is_empty() {
        return Err(bad_request(
            "BadRequest",
            "includedAccountTarget.accountTargetEmails must name at least one user.",
            &headers,
        ));
    }
    let seconds = state.settings.lock().graph_operation_seconds;
    let op_id = with_mail(&state, &c, &headers, |t, now| {
        if let Some(unknown) = targets.iter().find(|e| t.user_index(e).is_none()) {
            return Err(bad_request(
                "BadRequest",
                format!("accountTargetEmails: '{unknown}' is not a user of this tenant."),
                &headers,
            ));
        }
        let simulation_id = uuid::Uuid::new_v4().to_string();
        let days =
            body.get("durationInDays").and_then(|d| d.as_i64().or_else(|| d.as_str().and_then(|s| s.parse().ok())));
        t.mail.simulations.push(json!({
            "id": simulation_id,
            "displayName": name,
            "attackTechnique": technique,
            "attackType": "social",
            "payloadDeliveryPlatform": "email",
            "status": status,
            "durationInDays": days,
            "launchDateTime": body.get("launchDateTime").cloned().unwrap_or_else(|| fmt_utc(now).into()),
            "createdDateTime": fmt_utc(now),
            "payloadId": payload,
            "includedAccountTarget": {"type": "addressBook", "accountTargetEmails": targets},
        }));
        let op = SimulationOp {
            id: uuid::Uuid::new_v4().to_string(),
            simulation_id,
            created: now,
            completes: now + Duration::seconds(seconds.max(0)),
        };
        let id = op.id.clone();
        t.mail.simulation_ops.push(op);
        Ok(id)
    })?;
    let location = format!("{}/{}/security/attackSimulation/operations/{op_id}", state.base_url, version(&uri));
    let mut resp = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

async fn get_simulation_operation(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(SIMULATION_READ)?;
    let v = with_mail(&state, &c, &headers, |t, now| {
        t.mail
            .simulation_ops
            .iter()
            .find(|o| o.id.eq_ignore_ascii_case(&id))
            .map(|o| o.to_json(&t.tenant_id, now))
            .ok_or_else(|| item_not_found(&format!("No attack simulation operation with id '{id}'."), &headers))
    })?;
    Ok(entity(
        v,
        format!("{}/{}/$metadata#security/attackSimulation/operations/$entity", state.base_url, version(&uri)),
    ))
}
