//! Conditional access: policies and named locations, validated as Graph validates them (the
//! documented enumerations, GUIDs where objects are referenced, ISO 3166-1 alpha-2 country codes,
//! CIDR ranges), each refusal a 400 `BadRequest` whose message names the field.
//!
//! Not documented word for word, picked here: the messages (Graph's own are terse); a policy must
//! include some users (users, groups or roles) and some applications, and carry grant or session
//! controls; `block` stands alone; `passwordChange` needs `mfa` with operator `AND`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::net::IpAddr;

use super::{body_object, collection, created, entity, is_guid, no_content, not_found, with_tenant};
use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::graph::bad_request;
use crate::state::AppState;
use crate::world::Tenant;

const READ: &[&str] = &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"];
const WRITE: &[&str] = &["Policy.ReadWrite.ConditionalAccess"];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let ca = format!("/{v}/identity/conditionalAccess");
        r = r
            .route(&format!("{ca}/policies"), get(list_policies).post(create_policy))
            .route(&format!("{ca}/policies/{{id}}"), get(get_policy).patch(patch_policy).delete(delete_policy))
            .route(&format!("{ca}/namedLocations"), get(list_locations).post(create_location))
            .route(
                &format!("{ca}/namedLocations/{{id}}"),
                get(get_location).patch(patch_location).delete(delete_location),
            );
    }
    // What If is beta only.
    r.route("/beta/identity/conditionalAccess/evaluate", axum::routing::post(evaluate))
}

/// ISO 3166-1 alpha-2, the codes `countriesAndRegions` accepts.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM \
FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV \
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC \
VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

fn bad(field: &str, msg: impl Into<String>, headers: &HeaderMap) -> Response {
    bad_request("BadRequest", format!("{field}: {}", msg.into()), headers)
}

// ---- Named locations --------------------------------------------------------------------------

const IP_TYPE: &str = "#microsoft.graph.ipNamedLocation";
const COUNTRY_TYPE: &str = "#microsoft.graph.countryNamedLocation";

/// A CIDR range: an address and a prefix within its family's bits, network bits only.
fn valid_cidr(s: &str) -> Option<bool> {
    let (addr, prefix) = s.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    match ip {
        IpAddr::V4(_) if prefix <= 32 => Some(true),
        IpAddr::V6(_) if prefix <= 128 => Some(false),
        _ => None,
    }
}

/// The validated location: `existing` is the stored entity on PATCH (its type cannot change).
fn location_from(map: &Map<String, Value>, existing: Option<&Value>, headers: &HeaderMap) -> Result<Value, Response> {
    let ty = map
        .get("@odata.type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("@odata.type", format!("is required: {IP_TYPE} or {COUNTRY_TYPE}"), headers))?;
    if ty != IP_TYPE && ty != COUNTRY_TYPE {
        return Err(bad("@odata.type", format!("'{ty}' is not {IP_TYPE} or {COUNTRY_TYPE}"), headers));
    }
    let mut out = existing.cloned().unwrap_or_else(|| json!({"@odata.type": ty}));
    if existing.is_some_and(|e| e["@odata.type"] != ty) {
        return Err(bad("@odata.type", "a named location's type cannot change", headers));
    }
    match map.get("displayName") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 256 => {
            out["displayName"] = n.clone().into()
        }
        None if existing.is_some() => {}
        _ => return Err(bad("displayName", "is required: a non-empty string of at most 256 characters", headers)),
    }
    for (k, v) in map {
        match (ty, k.as_str()) {
            (_, "@odata.type" | "displayName" | "id" | "createdDateTime" | "modifiedDateTime") => {}
            (IP_TYPE, "isTrusted") => {
                out["isTrusted"] =
                    Value::Bool(v.as_bool().ok_or_else(|| bad("isTrusted", "must be a boolean", headers))?)
            }
            (IP_TYPE, "ipRanges") => out["ipRanges"] = ip_ranges(v, headers)?,
            (COUNTRY_TYPE, "countriesAndRegions") => out["countriesAndRegions"] = countries(v, headers)?,
            (COUNTRY_TYPE, "includeUnknownCountriesAndRegions") => {
                out[k.as_str()] = Value::Bool(v.as_bool().ok_or_else(|| bad(k, "must be a boolean", headers))?)
            }
            (COUNTRY_TYPE, "countryLookupMethod") => match v.as_str() {
                Some("clientIpAddress" | "authenticatorAppGps") => out[k.as_str()] = v.clone(),
                _ => return Err(bad(k, "must be clientIpAddress or authenticatorAppGps", headers)),
            },
            _ => return Err(bad(k, format!("is not a property of {ty}"), headers)),
        }
    }
    if ty == IP_TYPE && out["ipRanges"].as_array().is_none_or(Vec::is_empty) {
        return Err(bad("ipRanges", "is required: at least one {\"cidrAddress\": \"203.0.113.0/24\"}", headers));
    }
    if ty == IP_TYPE && out.get("isTrusted").is_none() {
        out["isTrusted"] = false.into();
    }
    if ty == COUNTRY_TYPE {
        if out["countriesAndRegions"].as_array().is_none_or(Vec::is_empty) {
            return Err(bad(
                "countriesAndRegions",
                "is required: ISO 3166-1 alpha-2 codes such as [\"KP\", \"RU\"]",
                headers,
            ));
        }
        for (k, d) in
            [("includeUnknownCountriesAndRegions", json!(false)), ("countryLookupMethod", json!("clientIpAddress"))]
        {
            if out.get(k).is_none() {
                out[k] = d;
            }
        }
    }
    Ok(out)
}

fn ip_ranges(v: &Value, headers: &HeaderMap) -> Result<Value, Response> {
    let list = v.as_array().ok_or_else(|| bad("ipRanges", "must be an array of ranges", headers))?;
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let cidr = r["cidrAddress"]
            .as_str()
            .ok_or_else(|| bad(&format!("ipRanges[{i}].cidrAddress"), "is required", headers))?;
        let v4 = valid_cidr(cidr).ok_or_else(|| {
            bad(
                &format!("ipRanges[{i}].cidrAddress"),
                format!("'{cidr}' is not a CIDR range such as 203.0.113.0/24"),
                headers,
            )
        })?;
        let ty = if v4 { "#microsoft.graph.iPv4CidrRange" } else { "#microsoft.graph.iPv6CidrRange" };
        if let Some(given) = r["@odata.type"].as_str().filter(|g| *g != ty) {
            return Err(bad(
                &format!("ipRanges[{i}].@odata.type"),
                format!("'{given}' does not match '{cidr}' ({ty})"),
                headers,
            ));
        }
        out.push(json!({"@odata.type": ty, "cidrAddress": cidr}));
    }
    Ok(Value::Array(out))
}

fn countries(v: &Value, headers: &HeaderMap) -> Result<Value, Response> {
    let list = v
        .as_array()
        .ok_or_else(|| bad("countriesAndRegions", "must be an array of ISO 3166-1 alpha-2 codes", headers))?;
    let mut out = Vec::new();
    for c in list {
        let code = c.as_str().unwrap_or_default();
        if !is_country(code) {
            return Err(bad(
                "countriesAndRegions",
                format!("'{code}' is not an ISO 3166-1 alpha-2 country code (upper case, e.g. \"KP\")"),
                headers,
            ));
        }
        out.push(Value::String(code.into()));
    }
    Ok(Value::Array(out))
}

async fn list_locations(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.named_locations.clone()))?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.namedLocation",
        &["id", "displayName", "createdDateTime", "modifiedDateTime"],
        items,
    )
}

fn find(list: &[Value], id: &str) -> Option<usize> {
    list.iter().position(|v| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

async fn get_location(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        let l = &t.graph.directory.named_locations;
        find(l, &id).map(|i| l[i].clone()).ok_or_else(|| not_found("namedLocation", &id, &headers))
    })?;
    Ok(entity(&state, &uri, v))
}

async fn create_location(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let map = body_object(&body, &headers)?;
    let mut v = location_from(&map, None, &headers)?;
    let v = with_tenant(&state, &c, &headers, |t, now| {
        v["id"] = uuid::Uuid::new_v4().to_string().into();
        v["createdDateTime"] = fmt_utc(now).into();
        v["modifiedDateTime"] = fmt_utc(now).into();
        t.graph.directory.named_locations.push(v.clone());
        t.graph.directory.audit(now, "Policy", "Add named location", v["id"].as_str().unwrap_or(""), "success");
        Ok(v)
    })?;
    Ok(created(&state, &uri, v))
}

/// Graph requires `@odata.type` on a PATCH of a named location too.
async fn patch_location(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let map = body_object(&body, &headers)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let l = &mut t.graph.directory.named_locations;
        let i = find(l, &id).ok_or_else(|| not_found("namedLocation", &id, &headers))?;
        let mut v = location_from(&map, Some(&l[i]), &headers)?;
        v["modifiedDateTime"] = fmt_utc(now).into();
        l[i] = v;
        t.graph.directory.audit(now, "Policy", "Update named location", &id, "success");
        Ok(no_content())
    })
}

async fn delete_location(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let d = &mut t.graph.directory;
        let i = find(&d.named_locations, &id).ok_or_else(|| not_found("namedLocation", &id, &headers))?;
        let used = d.ca_policies.iter().any(|p| {
            ["includeLocations", "excludeLocations"].iter().any(|k| {
                p["conditions"]["locations"][*k]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id))))
            })
        });
        if used {
            return Err(bad(
                "id",
                "the named location is used by a conditional access policy; remove it from the policy first",
                &headers,
            ));
        }
        d.named_locations.remove(i);
        d.audit(now, "Policy", "Delete named location", &id, "success");
        Ok(no_content())
    })
}

// ---- Policies ---------------------------------------------------------------------------------

const STATES: &[&str] = &["enabled", "disabled", "enabledForReportingButNotEnforced"];
const CONTROLS: &[&str] = &[
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
];
const CLIENT_APPS: &[&str] =
    &["all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other"];
const RISK_LEVELS: &[&str] = &["low", "medium", "high", "hidden", "none"];
const USER_KEYWORDS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];

fn strings<'a>(v: &'a Value, field: &str, headers: &HeaderMap) -> Result<Vec<&'a str>, Response> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => {
            a.iter().map(|x| x.as_str().ok_or_else(|| bad(field, "must be an array of strings", headers))).collect()
        }
        _ => Err(bad(field, "must be an array of strings", headers)),
    }
}

fn one_of(values: &[&str], allowed: &[&str], field: &str, headers: &HeaderMap) -> Result<(), Response> {
    match values.iter().find(|v| !allowed.contains(v)) {
        Some(v) => Err(bad(field, format!("'{v}' is not one of {}", allowed.join(", ")), headers)),
        None => Ok(()),
    }
}

/// Object ids (or the keywords a field allows) that exist in the directory.
fn object_ids(
    t: &Tenant,
    values: &[&str],
    keywords: &[&str],
    field: &str,
    users: bool,
    headers: &HeaderMap,
) -> Result<(), Response> {
    for v in values {
        if keywords.contains(v) {
            continue;
        }
        if !is_guid(v) {
            return Err(bad(
                field,
                format!(
                    "'{v}' is not an object id (GUID){}",
                    if keywords.is_empty() { String::new() } else { format!(" or one of {}", keywords.join(", ")) }
                ),
                headers,
            ));
        }
        if users && !t.graph.users.iter().any(|u| u.id.eq_ignore_ascii_case(v)) {
            return Err(bad(field, format!("no user with object id '{v}'"), headers));
        }
    }
    Ok(())
}

/// The whole policy validated; `existing` is the stored policy on PATCH (its fields are kept
/// unless the body replaces them).
fn policy_from(
    t: &Tenant,
    map: &Map<String, Value>,
    existing: Option<&Value>,
    headers: &HeaderMap,
) -> Result<Value, Response> {
    let mut p = existing
        .cloned()
        .unwrap_or_else(|| json!({"templateId": null, "sessionControls": null, "grantControls": null}));
    for (k, v) in map {
        match k.as_str() {
            "displayName" => match v.as_str() {
                Some(n) if !n.trim().is_empty() && n.chars().count() <= 256 => p["displayName"] = v.clone(),
                _ => return Err(bad("displayName", "must be a non-empty string of at most 256 characters", headers)),
            },
            "state" => {
                let s = v.as_str().unwrap_or_default();
                one_of(&[s], STATES, "state", headers)?;
                p["state"] = v.clone();
            }
            "conditions" | "grantControls" | "sessionControls" => p[k.as_str()] = v.clone(),
            "@odata.type" | "id" | "createdDateTime" | "modifiedDateTime" | "templateId" => {}
            other => return Err(bad(other, "is not a property of conditionalAccessPolicy", headers)),
        }
    }
    if p["displayName"].as_str().is_none() {
        return Err(bad("displayName", "is required", headers));
    }
    if p["state"].as_str().is_none() {
        return Err(bad("state", format!("is required: one of {}", STATES.join(", ")), headers));
    }
    let cond = &p["conditions"];
    if !cond.is_object() {
        return Err(bad("conditions", "is required (users and applications)", headers));
    }
    let users = &cond["users"];
    let include_users = strings(&users["includeUsers"], "conditions.users.includeUsers", headers)?;
    let include_groups = strings(&users["includeGroups"], "conditions.users.includeGroups", headers)?;
    let include_roles = strings(&users["includeRoles"], "conditions.users.includeRoles", headers)?;
    if include_users.is_empty() && include_groups.is_empty() && include_roles.is_empty() {
        return Err(bad(
            "conditions.users",
            "must include users, groups or roles (includeUsers: [\"All\"] for everyone)",
            headers,
        ));
    }
    object_ids(t, &include_users, USER_KEYWORDS, "conditions.users.includeUsers", true, headers)?;
    let exclude_users = strings(&users["excludeUsers"], "conditions.users.excludeUsers", headers)?;
    object_ids(t, &exclude_users, &["GuestsOrExternalUsers"], "conditions.users.excludeUsers", true, headers)?;
    for f in ["includeGroups", "excludeGroups", "includeRoles", "excludeRoles"] {
        let field = format!("conditions.users.{f}");
        object_ids(t, &strings(&users[f], &field, headers)?, &[], &field, false, headers)?;
    }
    let apps =
        strings(&cond["applications"]["includeApplications"], "conditions.applications.includeApplications", headers)?;
    let actions =
        strings(&cond["applications"]["includeUserActions"], "conditions.applications.includeUserActions", headers)?;
    if apps.is_empty() && actions.is_empty() {
        return Err(bad(
            "conditions.applications.includeApplications",
            "is required: [\"All\"], [\"Office365\"] or application ids",
            headers,
        ));
    }
    let client_apps = strings(&cond["clientAppTypes"], "conditions.clientAppTypes", headers)?;
    one_of(&client_apps, CLIENT_APPS, "conditions.clientAppTypes", headers)?;
    for f in ["userRiskLevels", "signInRiskLevels"] {
        let field = format!("conditions.{f}");
        one_of(&strings(&cond[f], &field, headers)?, RISK_LEVELS, &field, headers)?;
    }
    for f in ["includeLocations", "excludeLocations"] {
        let field = format!("conditions.locations.{f}");
        for l in strings(&cond["locations"][f], &field, headers)? {
            if l != "All" && l != "AllTrusted" && find(&t.graph.directory.named_locations, l).is_none() {
                return Err(bad(
                    &field,
                    format!("'{l}' is not All, AllTrusted or a named location id of this tenant"),
                    headers,
                ));
            }
        }
    }
    let grant = &p["grantControls"];
    if grant.is_null() && p["sessionControls"].is_null() {
        return Err(bad("grantControls", "is required unless sessionControls are given", headers));
    }
    if !grant.is_null() {
        let controls = strings(&grant["builtInControls"], "grantControls.builtInControls", headers)?;
        one_of(&controls, CONTROLS, "grantControls.builtInControls", headers)?;
        let op = grant["operator"].as_str().unwrap_or_default();
        if op != "AND" && op != "OR" {
            return Err(bad("grantControls.operator", "must be AND or OR", headers));
        }
        if controls.contains(&"block") && controls.len() > 1 {
            return Err(bad("grantControls.builtInControls", "block cannot be combined with other controls", headers));
        }
        if controls.contains(&"passwordChange") && !(op == "AND" && controls.contains(&"mfa")) {
            return Err(bad(
                "grantControls.builtInControls",
                "passwordChange must be combined with mfa under operator AND",
                headers,
            ));
        }
    }
    Ok(p)
}

async fn list_policies(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.ca_policies.clone()))?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.conditionalAccessPolicy",
        &["id", "displayName", "state", "createdDateTime"],
        items,
    )
}

async fn get_policy(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        let l = &t.graph.directory.ca_policies;
        find(l, &id).map(|i| l[i].clone()).ok_or_else(|| not_found("conditionalAccessPolicy", &id, &headers))
    })?;
    Ok(entity(&state, &uri, v))
}

async fn create_policy(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let map = body_object(&body, &headers)?;
    let v = with_tenant(&state, &c, &headers, |t, now| {
        let mut v = policy_from(t, &map, None, &headers)?;
        v["id"] = uuid::Uuid::new_v4().to_string().into();
        v["createdDateTime"] = fmt_utc(now).into();
        v["modifiedDateTime"] = Value::Null;
        t.graph.directory.ca_policies.push(v.clone());
        t.graph.directory.audit(
            now,
            "Policy",
            "Add conditional access policy",
            v["id"].as_str().unwrap_or(""),
            "success",
        );
        Ok(v)
    })?;
    Ok(created(&state, &uri, v))
}

async fn patch_policy(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let map = body_object(&body, &headers)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = find(&t.graph.directory.ca_policies, &id)
            .ok_or_else(|| not_found("conditionalAccessPolicy", &id, &headers))?;
        let mut v = policy_from(t, &map, Some(&t.graph.directory.ca_policies[i]), &headers)?;
        v["modifiedDateTime"] = fmt_utc(now).into();
        t.graph.directory.ca_policies[i] = v;
        t.graph.directory.audit(now, "Policy", "Update conditional access policy", &id, "success");
        Ok(no_content())
    })
}

async fn delete_policy(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = find(&t.graph.directory.ca_policies, &id)
            .ok_or_else(|| not_found("conditionalAccessPolicy", &id, &headers))?;
        t.graph.directory.ca_policies.remove(i);
        t.graph.directory.audit(now, "Policy", "Delete conditional access policy", &id, "success");
        Ok(no_content())
    })
}

// ---- What If (beta `conditionalAccess/evaluate`) -----------------------------------------------

/// The sign-in a What If request describes.
struct SignIn {
    user: String,
    app: String,
    client_app: String,
    ip: Option<IpAddr>,
    country: Option<String>,
    sign_in_risk: String,
}

fn sign_in(t: &Tenant, map: &Map<String, Value>, headers: &HeaderMap) -> Result<SignIn, Response> {
    let user = map.get("signInIdentity").and_then(|i| i["userId"].as_str()).unwrap_or_default().to_ascii_lowercase();
    if !t.graph.users.iter().any(|u| u.id == user) {
        return Err(bad("signInIdentity.userId", format!("'{user}' is not a user object id of this tenant"), headers));
    }
    let app = map
        .get("signInContext")
        .and_then(|c| c["includeApplications"].as_array())
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or_else(|| bad("signInContext.includeApplications", "is required (an application id)", headers))?
        .to_ascii_lowercase();
    let cond = map.get("signInConditions").cloned().unwrap_or(Value::Null);
    let client_app = cond["clientAppType"].as_str().unwrap_or("browser").to_string();
    one_of(&[client_app.as_str()], &CLIENT_APPS[1..], "signInConditions.clientAppType", headers)?;
    let ip = match cond["ipAddress"].as_str() {
        None => None,
        Some(s) => Some(
            s.parse().map_err(|_| bad("signInConditions.ipAddress", format!("'{s}' is not an IP address"), headers))?,
        ),
    };
    let country = cond["country"].as_str().map(str::to_string);
    if let Some(c) = &country
        && !is_country(c)
    {
        return Err(bad("signInConditions.country", format!("'{c}' is not an ISO 3166-1 alpha-2 code"), headers));
    }
    let sign_in_risk = cond["signInRiskLevel"].as_str().unwrap_or("none").to_string();
    one_of(&[sign_in_risk.as_str()], RISK_LEVELS, "signInConditions.signInRiskLevel", headers)?;
    Ok(SignIn { user, app, client_app, ip, country, sign_in_risk })
}

fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let Some((addr, prefix)) = cidr.split_once('/') else { return false };
    let (Ok(net), Ok(prefix)) = (addr.parse::<IpAddr>(), prefix.parse::<u32>()) else { return false };
    let bits = |a: IpAddr| -> (u128, u32) {
        match a {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    };
    let ((a, w1), (n, w2)) = (bits(ip), bits(net));
    if w1 != w2 || prefix > w1 {
        return false;
    }
    let shift = w1 - prefix;
    shift >= w1 || (a >> shift) == (n >> shift)
}

/// Whether the sign-in is at one of the locations (`All`, `AllTrusted`, or named ids).
fn at_location(t: &Tenant, s: &SignIn, ids: &[&str]) -> bool {
    ids.iter().any(|id| {
        if *id == "All" {
            return true;
        }
        let Some(i) = find(&t.graph.directory.named_locations, id) else { return false };
        let l = &t.graph.directory.named_locations[i];
        let ip_in = |l: &Value| {
            s.ip.is_some_and(|ip| {
                l["ipRanges"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| in_cidr(ip, r["cidrAddress"].as_str().unwrap_or(""))))
            })
        };
        if *id == "AllTrusted" {
            return l["isTrusted"] == true && ip_in(l);
        }
        match l["@odata.type"].as_str() {
            Some(IP_TYPE) => ip_in(l),
            _ => s
                .country
                .as_deref()
                .is_some_and(|c| l["countriesAndRegions"].as_array().is_some_and(|a| a.iter().any(|x| x == c))),
        }
    })
}

/// Why a policy does not apply to the sign-in (Graph's `analysisReasons` flags), empty if it does.
fn reasons(t: &Tenant, p: &Value, s: &SignIn) -> Vec<&'static str> {
    let mut why = Vec::new();
    let cond = &p["conditions"];
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_ascii_lowercase)).collect())
            .unwrap_or_default()
    };
    if p["state"] == "disabled" {
        why.push("policyNotEnabled");
    }
    let users = &cond["users"];
    let roles: Vec<String> = t
        .graph
        .directory
        .role_assignments
        .iter()
        .filter(|a| a["principalId"] == s.user.as_str())
        .filter_map(|a| a["roleDefinitionId"].as_str().map(str::to_ascii_lowercase))
        .collect();
    let groups: Vec<String> = t
        .graph
        .directory
        .groups
        .iter()
        .filter(|g| g.members.contains(&s.user))
        .map(|g| g.id.to_ascii_lowercase())
        .collect();
    let included = list(&users["includeUsers"]).iter().any(|u| u == "all" || *u == s.user)
        || list(&users["includeRoles"]).iter().any(|r| roles.contains(r))
        || list(&users["includeGroups"]).iter().any(|g| groups.contains(g));
    let excluded = list(&users["excludeUsers"]).contains(&s.user)
        || list(&users["excludeRoles"]).iter().any(|r| roles.contains(r))
        || list(&users["excludeGroups"]).iter().any(|g| groups.contains(g));
    if !included || excluded {
        why.push("users");
    }
    let apps = list(&cond["applications"]["includeApplications"]);
    if !(apps.iter().any(|a| a == "all" || *a == s.app))
        || list(&cond["applications"]["excludeApplications"]).contains(&s.app)
    {
        why.push("application");
    }
    let clients = list(&cond["clientAppTypes"]);
    if !clients.is_empty() && !clients.iter().any(|c| c == "all" || c.eq_ignore_ascii_case(&s.client_app)) {
        why.push("clientApps");
    }
    let sign_in_levels = list(&cond["signInRiskLevels"]);
    if !sign_in_levels.is_empty() && !sign_in_levels.contains(&s.sign_in_risk.to_ascii_lowercase()) {
        why.push("signInRisk");
    }
    let user_levels = list(&cond["userRiskLevels"]);
    if !user_levels.is_empty() {
        let level = t
            .graph
            .directory
            .risky_users
            .iter()
            .find(|r| r["id"] == s.user.as_str())
            .and_then(|r| r["riskLevel"].as_str())
            .unwrap_or("none")
            .to_ascii_lowercase();
        if !user_levels.contains(&level) {
            why.push("userRisk");
        }
    }
    let raw = |k: &str| -> Vec<String> {
        cond["locations"][k]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let (inc, exc) = (raw("includeLocations"), raw("excludeLocations"));
    let (inc, exc): (Vec<&str>, Vec<&str>) =
        (inc.iter().map(String::as_str).collect(), exc.iter().map(String::as_str).collect());
    if (!inc.is_empty() && !at_location(t, s, &inc)) || (!exc.is_empty() && at_location(t, s, &exc)) {
        why.push("location");
    }
    why
}

/// `POST /beta/identity/conditionalAccess/evaluate`: every policy (or, with
/// `appliedPoliciesOnly`, those that apply) with `policyApplies` and `analysisReasons`.
async fn evaluate(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(READ)?;
    let map = body_object(&body, &headers)?;
    let only_applied = map.get("appliedPoliciesOnly").and_then(Value::as_bool).unwrap_or(false);
    let value = with_tenant(&state, &c, &headers, |t, _| {
        let s = sign_in(t, &map, &headers)?;
        Ok(t.graph
            .directory
            .ca_policies
            .iter()
            .filter_map(|p| {
                let why = reasons(t, p, &s);
                let applies = why.is_empty();
                if only_applied && !applies {
                    return None;
                }
                let mut r = p.clone();
                r["policyApplies"] = applies.into();
                r["analysisReasons"] = if applies { "notSet".into() } else { why.join(",").into() };
                Some(r)
            })
            .collect::<Vec<_>>())
    })?;
    let ctx = format!("{}/beta/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)", state.base_url);
    let _ = uri;
    Ok(crate::errors::json_response(axum::http::StatusCode::OK, json!({"@odata.context": ctx, "value": value})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_and_cidrs() {
        assert!(is_country("KP") && is_country("US") && !is_country("XX") && !is_country("us") && !is_country("USA"));
        assert_eq!(COUNTRIES.split(' ').count(), 249);
        assert_eq!(valid_cidr("203.0.113.0/24"), Some(true));
        assert_eq!(valid_cidr("2001:db8::/32"), Some(false));
        assert_eq!(valid_cidr("203.0.113.7"), None);
        assert_eq!(valid_cidr("203.0.113.0/33"), None);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_cidr(ip("198.51.100.9"), "198.51.100.0/24") && !in_cidr(ip("198.51.101.9"), "198.51.100.0/24"));
        assert!(in_cidr(ip("10.1.2.3"), "0.0.0.0/0") && in_cidr(ip("2001:db8::1"), "2001:db8::/32"));
    }

    /// Policies Graph would reject are 400s; the templates Riposte sends are accepted.
    #[test]
    fn policies_graph_would_reject_are_refused() {
        let world = crate::world::World::generate(1, 1, time::OffsetDateTime::now_utc());
        let t = &world.tenants[0];
        let h = HeaderMap::new();
        let ok = json!({"displayName": "p", "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"], "locations": null},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
        let check = |v: &Value| policy_from(t, v.as_object().unwrap(), None, &h).map(drop).map_err(|r| r.status());
        assert_eq!(check(&ok), Ok(()));
        let mut bad = Vec::new();
        for (pointer, value) in [
            ("/state", json!("on")),
            ("/conditions/users/includeUsers", json!([])),
            ("/conditions/users/includeUsers", json!(["alice@contoso.com"])),
            ("/conditions/applications/includeApplications", json!([])),
            ("/grantControls/builtInControls", json!(["block", "mfa"])),
            ("/grantControls/builtInControls", json!(["passwordChange"])),
            ("/grantControls/operator", json!("XOR")),
            ("/conditions/clientAppTypes", json!(["telnet"])),
            ("/conditions/locations", json!({"includeLocations": ["00000000-0000-0000-0000-000000000001"]})),
        ] {
            let mut v = ok.clone();
            *v.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
            bad.push((pointer, check(&v)));
        }
        for (pointer, got) in bad {
            assert_eq!(got, Err(axum::http::StatusCode::BAD_REQUEST), "{pointer}");
        }
    }
}
