//! Entra ID app registrations: Graph v1.0 `applications` (and the same paths on beta).
//!
//! | Method | Path | Answer | App role |
//! |---|---|---|---|
//! | GET | `applications` | collection (`$filter` on id, appId, displayName) | Application.Read.All |
//! | GET PATCH | `applications/{id}`, `applications(appId='{appId}')` | entity / 204 | Application.ReadWrite.All, or .OwnedBy on an owned app |
//! | POST | `.../addPassword` `{passwordCredential}` | 200 passwordCredential with `secretText` | same |
//! | POST | `.../removePassword` `{keyId}` | 204 | same |
//! | POST | `.../removeKey` `{keyId, proof}` | 204 | same |
//!
//! As on Graph: PATCH may not set `passwordCredentials` (addPassword/removePassword do), PATCH of
//! `keyCredentials` replaces the list (a kept key is named by its keyId; a new one must carry its
//! key material), and `removeKey` needs a `proof`, a JWT signed by one of the app's current
//! certificates (`aud` 00000002-0000-0000-c000-000000000000, `iss` the app's object id, a short
//! lifetime). The sandbox's certificates carry no key material, so it checks the proof's claims
//! and that its `x5t`/`kid` names one of the app's certificates, not the signature. A caller that
//! holds only `Application.ReadWrite.OwnedBy` acts on the apps it owns (`owners` holds owning app
//! ids); any other app gives Graph's 403 `Authorization_RequestDenied`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::directory::{body_object, collection, is_guid, with_tenant};
use super::{bad_request, version};
use crate::auth::{Caller, GraphCaller};
use crate::clock::{fmt_utc, parse_datetime};
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::directory::ServicePrincipal;

const READ_ALL: &[&str] = &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"];
const WRITE_ALL: &[&str] = &["Application.ReadWrite.All"];
const OWNED_BY: &str = "Application.ReadWrite.OwnedBy";
/// The audience a `removeKey`/`addKey` proof is issued to (Azure AD Graph's app id).
const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// An application object (app registration) and its credentials. Credentials are Graph's
/// `passwordCredential` / `keyCredential` JSON, stored with `secretText` and `key` null (Graph
/// never returns them on reads).
#[derive(Clone, Debug)]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub created: OffsetDateTime,
    pub password_credentials: Vec<Value>,
    pub key_credentials: Vec<Value>,
    /// Client ids of the apps that own this one (what `Application.ReadWrite.OwnedBy` checks).
    pub owners: Vec<String>,
}

/// One app registration per service principal of the tenant's own apps, sharing its `appId`:
/// two client secrets and a certificate each. Drawn from their own RNG stream so the directory
/// seeded before is unchanged.
pub fn seed(seed: u64, index: usize, sps: &[ServicePrincipal], now: OffsetDateTime) -> Vec<Application> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xA991_1CA7 ^ (index as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    sps.iter()
        .map(|sp| {
            let secret = |rng: &mut StdRng, name: &str, age: i64| {
                json!({
                    "keyId": crate::world::guid(rng),
                    "displayName": name,
                    "hint": format!("{}~", &hex::encode(rng.random::<[u8; 2]>())[..2]),
                    "secretText": null,
                    "customKeyIdentifier": null,
                    "startDateTime": fmt_utc(now - Duration::days(age)),
                    "endDateTime": fmt_utc(now - Duration::days(age) + Duration::days(730)),
                })
            };
            let password_credentials = vec![secret(&mut rng, "ci pipeline", 200), secret(&mut rng, "automation", 40)];
            let cert = json!({
                "keyId": crate::world::guid(&mut rng),
                "displayName": format!("CN={}", sp.display_name),
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "customKeyIdentifier": hex::encode_upper(rng.random::<[u8; 20]>()),
                "startDateTime": fmt_utc(now - Duration::days(60)),
                "endDateTime": fmt_utc(now + Duration::days(305)),
                "key": null,
            });
            Application {
                id: crate::world::guid(&mut rng),
                app_id: sp.app_id.clone(),
                display_name: sp.display_name.clone(),
                created: now - Duration::days(400),
                password_credentials,
                key_credentials: vec![cert],
                owners: Vec::new(),
            }
        })
        .collect()
}

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        r = r
            .route(&format!("/{v}/applications"), get(list))
            .route(&format!("/{v}/applications/{{id}}"), get(get_by_id).patch(patch_by_id))
            .route(&format!("/{v}/applications(appId={{key}}"), get(get_by_app_id).patch(patch_by_app_id));
        let ops = [
            ("addPassword", post(add_password_by_id), post(add_password_by_app_id)),
            ("removePassword", post(remove_password_by_id), post(remove_password_by_app_id)),
            ("removeKey", post(remove_key_by_id), post(remove_key_by_app_id)),
        ];
        for (op, by_id, by_app_id) in ops {
            r = r
                .route(&format!("/{v}/applications/{{id}}/{op}"), by_id)
                .route(&format!("/{v}/applications(appId={{key}}/{op}"), by_app_id);
        }
    }
    r
}

/// How a request names the application: the object id, or the alternate key `appId`.
enum Key {
    Id(String),
    AppId(String),
}

impl Key {
    /// `'{appId}')` as the alternate-key segment ends (percent-decoded by the router).
    fn alternate(raw: &str, headers: &HeaderMap) -> Result<Key, Response> {
        raw.strip_prefix('\'')
            .and_then(|s| s.strip_suffix("')"))
            .filter(|s| !s.is_empty() && !s.contains('\''))
            .map(|s| Key::AppId(s.to_string()))
            .ok_or_else(|| {
                bad_request(
                    "BadRequest",
                    format!("Invalid alternate key '(appId={raw}': write applications(appId='{{appId}}')."),
                    headers,
                )
            })
    }

    fn text(&self) -> &str {
        match self {
            Key::Id(s) | Key::AppId(s) => s,
        }
    }

    fn find(&self, t: &Tenant, headers: &HeaderMap) -> Result<usize, Response> {
        t.graph
            .directory
            .applications
            .iter()
            .position(|a| match self {
                Key::Id(id) => a.id.eq_ignore_ascii_case(id),
                Key::AppId(app) => a.app_id.eq_ignore_ascii_case(app),
            })
            .ok_or_else(|| not_found(self.text(), headers))
    }
}

fn not_found(key: &str, headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        headers,
    )
}

/// Graph's application JSON (v1.0 default properties that matter to a responder).
pub fn app_json(a: &Application) -> Value {
    json!({
        "id": a.id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "createdDateTime": fmt_utc(a.created),
        "signInAudience": "AzureADMyOrg",
        "deletedDateTime": null,
        "passwordCredentials": a.password_credentials,
        "keyCredentials": a.key_credentials,
    })
}

/// The state dump's view: the entity plus its owners.
pub fn state_json(apps: &[Application]) -> Value {
    apps.iter()
        .map(|a| {
            let mut v = app_json(a);
            v["owners"] = json!(a.owners);
            v
        })
        .collect()
}

/// Makes the caller app (`client_id`) an owner of the tenant's last app registration, so an
/// app holding only `Application.ReadWrite.OwnedBy` has one app it may change.
pub fn own_last(apps: &mut [Application], client_id: &str) {
    if let Some(a) = apps.last_mut() {
        a.owners.push(client_id.to_string());
    }
}

/// Read access: any read role, or OwnedBy on an owned app.
fn may_read(c: &Caller, a: &Application) -> Result<(), Response> {
    if c.has_any_role(READ_ALL) || (c.has_any_role(&[OWNED_BY]) && owns(c, a)) {
        return Ok(());
    }
    Err(c.forbidden(READ_ALL[0]))
}

/// Write access: Application.ReadWrite.All, or OwnedBy on an owned app.
fn may_write(c: &Caller, a: &Application) -> Result<(), Response> {
    if c.has_any_role(WRITE_ALL) || (c.has_any_role(&[OWNED_BY]) && owns(c, a)) {
        return Ok(());
    }
    Err(c.forbidden(OWNED_BY))
}

fn owns(c: &Caller, a: &Application) -> bool {
    a.owners.iter().any(|o| o.eq_ignore_ascii_case(&c.app_id))
}

fn entity(state: &AppState, uri: &Uri, fragment: &str, mut v: Value) -> Response {
    v["@odata.context"] = format!("{}/{}/$metadata#{fragment}", state.base_url, version(uri)).into();
    json_response(StatusCode::OK, v)
}

/// `$select` on one entity: the named properties (and `id`), unknown names refused.
fn select(v: Value, query: Option<&str>, headers: &HeaderMap) -> Result<Value, Response> {
    let params = Params::parse(query);
    let Some(list) = params.get("$select") else { return Ok(v) };
    let mut out = Map::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let value = v.get(name).ok_or_else(|| {
            bad_request(
                "Request_BadRequest",
                format!("Could not find a property named '{name}' on type 'microsoft.graph.application'."),
                headers,
            )
        })?;
        out.insert(name.to_string(), value.clone());
    }
    out.insert("id".into(), v["id"].clone());
    Ok(Value::Object(out))
}

async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    let all = c.has_any_role(READ_ALL);
    if !all && !c.has_any_role(&[OWNED_BY]) {
        return Err(c.forbidden(READ_ALL[0]));
    }
    let items = with_tenant(&state, &c, &headers, |t, _| {
        Ok(t.graph.directory.applications.iter().filter(|a| all || owns(&c, a)).map(app_json).collect())
    })?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.application",
        &["id", "appId", "displayName", "createdDateTime"],
        items,
    )
}

async fn read(
    state: AppState,
    c: Caller,
    key: Key,
    uri: Uri,
    headers: HeaderMap,
    q: Option<String>,
) -> Result<Response, Response> {
    let v = with_tenant(&state, &c, &headers, |t, _| {
        let a = &t.graph.directory.applications[key.find(t, &headers)?];
        may_read(&c, a)?;
        Ok(app_json(a))
    })?;
    Ok(entity(&state, &uri, "applications/$entity", select(v, q.as_deref(), &headers)?))
}

async fn get_by_id(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    read(state, c, Key::Id(id), uri, headers, q).await
}

async fn get_by_app_id(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(raw): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    let key = Key::alternate(&raw, &headers)?;
    read(state, c, key, uri, headers, q).await
}

/// The new `keyCredentials`: each kept key named by its keyId, or a new one with its key material.
/// The `keyCredentials` a PATCH leaves on an application or a service principal (`entity`):
/// Graph's documented app-only way to remove a certificate is to send the list without it.
/// Keys already held are named by `keyId`; a new one must carry its material, which, as in
/// Graph, is never returned afterwards.
pub(super) fn key_list(
    current: &[Value],
    v: &Value,
    entity: &str,
    headers: &HeaderMap,
) -> Result<Vec<Value>, Response> {
    let list = v.as_array().ok_or_else(|| bad_request("BadRequest", "keyCredentials must be an array.", headers))?;
    let mut kept = Vec::new();
    for k in list {
        let kid = k["keyId"].as_str().unwrap_or_default();
        let found = current
            .iter()
            .find(|c| c["keyId"].as_str().is_some_and(|x| !kid.is_empty() && x.eq_ignore_ascii_case(kid)));
        match found {
            Some(c) => kept.push(c.clone()),
            None if k.get("key").is_some_and(|k| k.as_str().is_some_and(|s| !s.is_empty())) => {
                let mut added = k.clone();
                added["key"] = Value::Null;
                kept.push(added);
            }
            None => {
                return Err(bad_request(
                    "BadRequest",
                    format!("keyCredentials: keyId '{kid}' is not a key of this {entity} and carries no key material."),
                    headers,
                ));
            }
        }
    }
    Ok(kept)
}

async fn patch(state: AppState, c: Caller, key: Key, headers: HeaderMap, body: Bytes) -> Result<Response, Response> {
    let map = body_object(&body, &headers)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = key.find(t, &headers)?;
        may_write(&c, &t.graph.directory.applications[i])?;
        let mut name = None;
        let mut keys = None;
        for (k, v) in &map {
            match k.as_str() {
                "displayName" => {
                    name = Some(
                        v.as_str()
                            .filter(|s| !s.trim().is_empty())
                            .ok_or_else(|| {
                                bad_request("BadRequest", "displayName must be a non-empty string.", &headers)
                            })?
                            .to_string(),
                    )
                }
                "keyCredentials" => {
                    keys =
                        Some(key_list(&t.graph.directory.applications[i].key_credentials, v, "application", &headers)?)
                }
                "passwordCredentials" => {
                    return Err(bad_request(
                        "BadRequest",
                        "Using PATCH to set passwordCredentials is not supported. Use the addPassword and removePassword methods.",
                        &headers,
                    ));
                }
                k if k.starts_with('@') => {}
                other => {
                    return Err(bad_request(
                        "BadRequest",
                        format!("Property '{other}' is not writable on application in the sandbox."),
                        &headers,
                    ));
                }
            }
        }
        let a = &mut t.graph.directory.applications[i];
        if let Some(n) = name {
            a.display_name = n;
        }
        if let Some(k) = keys {
            a.key_credentials = k;
        }
        let id = a.id.clone();
        t.graph.directory.audit(now, "ApplicationManagement", "Update application", &id, "success");
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

async fn patch_by_id(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    patch(state, c, Key::Id(id), headers, body).await
}

async fn patch_by_app_id(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let key = Key::alternate(&raw, &headers)?;
    patch(state, c, key, headers, body).await
}

/// A new client secret: 40 characters, of which Graph keeps the first three as the hint.
fn new_secret() -> String {
    let mut rng = rand::rng();
    (0..40).map(|_| rng.sample(rand::distr::Alphanumeric) as char).collect()
}

/// `{"passwordCredential": {"displayName"?, "startDateTime"?, "endDateTime"?}}` → 200 with the
/// credential and its `secretText` (the only time Graph returns it).
async fn add_password(
    state: AppState,
    c: Caller,
    key: Key,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let map = body_object(&body, &headers)?;
    let spec = match map.get("passwordCredential") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad_request("BadRequest", "passwordCredential must be an object.", &headers)),
    };
    let when = |field: &str| -> Result<Option<OffsetDateTime>, Response> {
        match spec.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_str().and_then(parse_datetime).map(Some).ok_or_else(|| {
                bad_request(
                    "BadRequest",
                    format!("passwordCredential.{field} must be an ISO 8601 date and time."),
                    &headers,
                )
            }),
        }
    };
    let (start, end) = (when("startDateTime")?, when("endDateTime")?);
    let display = spec.get("displayName").and_then(Value::as_str).map(str::to_string);
    let secret = new_secret();
    let created = with_tenant(&state, &c, &headers, |t, now| {
        let i = key.find(t, &headers)?;
        may_write(&c, &t.graph.directory.applications[i])?;
        let start = start.unwrap_or(now);
        let end = end.unwrap_or(start + Duration::days(730));
        if end <= start {
            return Err(bad_request(
                "BadRequest",
                "passwordCredential.endDateTime must be after startDateTime.",
                &headers,
            ));
        }
        let cred = json!({
            "keyId": uuid::Uuid::new_v4().to_string(),
            "displayName": display,
            "hint": &secret[..3],
            "secretText": null,
            "customKeyIdentifier": null,
            "startDateTime": fmt_utc(start),
            "endDateTime": fmt_utc(end),
        });
        let a = &mut t.graph.directory.applications[i];
        a.password_credentials.push(cred.clone());
        let id = a.id.clone();
        t.graph.directory.audit(
            now,
            "ApplicationManagement",
            "Update application – Certificates and secrets management ",
            &id,
            "success",
        );
        Ok(cred)
    })?;
    let mut v = created;
    v["secretText"] = secret.into();
    Ok(entity(&state, &uri, "microsoft.graph.passwordCredential", v))
}

/// The `keyId` of a remove body (a GUID), or Graph's 400.
fn key_id(map: &Map<String, Value>, what: &str, headers: &HeaderMap) -> Result<String, Response> {
    map.get("keyId").and_then(Value::as_str).filter(|k| is_guid(k)).map(str::to_string).ok_or_else(|| {
        bad_request("BadRequest", format!("The property 'keyId' (the GUID of the {what}) is required."), headers)
    })
}

fn position(list: &[Value], key: &str) -> Option<usize> {
    list.iter().position(|p| p["keyId"].as_str().is_some_and(|k| k.eq_ignore_ascii_case(key)))
}

async fn remove_password(
    state: AppState,
    c: Caller,
    key: Key,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let map = body_object(&body, &headers)?;
    let kid = key_id(&map, "password credential", &headers)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = key.find(t, &headers)?;
        may_write(&c, &t.graph.directory.applications[i])?;
        let a = &mut t.graph.directory.applications[i];
        let pos = position(&a.password_credentials, &kid).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("No password credential with keyId '{kid}' exists on this application."),
                &headers,
            )
        })?;
        a.password_credentials.remove(pos);
        let id = a.id.clone();
        t.graph.directory.audit(
            now,
            "ApplicationManagement",
            "Update application – Certificates and secrets management ",
            &id,
            "success",
        );
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// The claims of a `removeKey` proof, and the certificate thumbprint its header names.
fn proof_claims(proof: &str) -> Option<(Value, String)> {
    let mut parts = proof.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || s.is_empty() {
        return None;
    }
    let decode = |x: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(x.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let header = decode(h)?;
    let claims = decode(p)?;
    let thumb = header["x5t"].as_str().map(|t| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t.trim_end_matches('='))
            .map(hex::encode_upper)
            .unwrap_or_default()
    });
    let thumb = thumb.filter(|t| !t.is_empty()).or_else(|| header["kid"].as_str().map(str::to_ascii_uppercase))?;
    Some((claims, thumb))
}

/// Why a proof is refused for this app now, if it is.
fn proof_problem(a: &Application, proof: &str, now: OffsetDateTime) -> Option<String> {
    let Some((claims, thumb)) = proof_claims(proof) else {
        return Some("The proof is not a signed JWT naming a certificate (x5t or kid).".into());
    };
    if claims["aud"] != PROOF_AUDIENCE {
        return Some(format!("The proof's aud must be '{PROOF_AUDIENCE}'."));
    }
    if !claims["iss"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&a.id)) {
        return Some("The proof's iss must be the application's object id.".into());
    }
    let t = now.unix_timestamp();
    let (nbf, exp) = (claims["nbf"].as_i64().unwrap_or(i64::MAX), claims["exp"].as_i64().unwrap_or(0));
    if nbf > t + 300 || exp < t || exp - nbf > 600 {
        return Some("The proof is expired or lives longer than 10 minutes.".into());
    }
    let signed_by_a_key = a
        .key_credentials
        .iter()
        .any(|k| k["customKeyIdentifier"].as_str().is_some_and(|c| c.eq_ignore_ascii_case(&thumb)));
    (!signed_by_a_key).then(|| "The proof is not signed by a current certificate of the application.".into())
}

async fn remove_key(
    state: AppState,
    c: Caller,
    key: Key,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let map = body_object(&body, &headers)?;
    let kid = key_id(&map, "key credential", &headers)?;
    let proof =
        map.get("proof").and_then(Value::as_str).filter(|p| !p.is_empty()).map(str::to_string).ok_or_else(|| {
            bad_request(
                "BadRequest",
                "The property 'proof' is required: a JWT signed with an existing certificate of the application.",
                &headers,
            )
        })?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = key.find(t, &headers)?;
        may_write(&c, &t.graph.directory.applications[i])?;
        let a = &mut t.graph.directory.applications[i];
        if let Some(why) = proof_problem(a, &proof, now) {
            return Err(bad_request("Authentication_InvalidProof", why, &headers));
        }
        let pos = position(&a.key_credentials, &kid).ok_or_else(|| {
            bad_request(
                "BadRequest",
                format!("No key credential with keyId '{kid}' exists on this application."),
                &headers,
            )
        })?;
        a.key_credentials.remove(pos);
        let id = a.id.clone();
        t.graph.directory.audit(
            now,
            "ApplicationManagement",
            "Update application – Certificates and secrets management ",
            &id,
            "success",
        );
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// The two spellings of each action: by object id, and by `appId` (the alternate key).
macro_rules! by_key {
    ($by_id:ident, $by_app_id:ident, $f:ident $(, $uri:ident)?) => {
        async fn $by_id(
            State(state): State<AppState>,
            GraphCaller(c): GraphCaller,
            Path(id): Path<String>,
            $($uri: Uri,)?
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, Response> {
            $f(state, c, Key::Id(id), $($uri,)? headers, body).await
        }

        async fn $by_app_id(
            State(state): State<AppState>,
            GraphCaller(c): GraphCaller,
            Path(raw): Path<String>,
            $($uri: Uri,)?
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, Response> {
            let key = Key::alternate(&raw, &headers)?;
            $f(state, c, key, $($uri,)? headers, body).await
        }
    };
}

by_key!(add_password_by_id, add_password_by_app_id, add_password, uri);
by_key!(remove_password_by_id, remove_password_by_app_id, remove_password);
by_key!(remove_key_by_id, remove_key_by_app_id, remove_key);

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> Application {
        Application {
            id: "11111111-1111-1111-1111-111111111111".into(),
            app_id: "22222222-2222-2222-2222-222222222222".into(),
            display_name: "x".into(),
            created: OffsetDateTime::UNIX_EPOCH,
            password_credentials: vec![],
            key_credentials: vec![
                json!({"keyId": "33333333-3333-3333-3333-333333333333", "customKeyIdentifier": "ABCD"}),
            ],
            owners: vec![],
        }
    }

    fn jwt(header: Value, claims: Value) -> String {
        let e = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", e(header), e(claims))
    }

    #[test]
    fn a_proof_must_name_a_certificate_of_the_app_and_be_fresh() {
        let a = app();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let t = now.unix_timestamp();
        let claims = json!({"aud": PROOF_AUDIENCE, "iss": a.id, "nbf": t, "exp": t + 600});
        let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xAB, 0xCD]);
        assert_eq!(proof_problem(&a, &jwt(json!({"x5t": x5t}), claims.clone()), now), None);
        assert!(proof_problem(&a, &jwt(json!({"x5t": "AAAA"}), claims.clone()), now).is_some());
        assert!(proof_problem(&a, &jwt(json!({"kid": "abcd"}), json!({"aud": "x", "iss": a.id})), now).is_some());
        let stale = json!({"aud": PROOF_AUDIENCE, "iss": a.id, "nbf": t - 4000, "exp": t - 3400});
        assert!(proof_problem(&a, &jwt(json!({"kid": "ABCD"}), stale), now).is_some());
        assert!(proof_problem(&a, "not-a-jwt", now).is_some());
    }

    #[test]
    fn the_alternate_key_is_quoted() {
        let h = HeaderMap::new();
        assert!(matches!(Key::alternate("'abc')", &h), Ok(Key::AppId(s)) if s == "abc"));
        assert!(Key::alternate("abc)", &h).is_err());
        assert!(Key::alternate("''')", &h).is_err());
    }

    #[test]
    fn kept_keys_come_from_the_app_and_new_ones_need_material() {
        let h = HeaderMap::new();
        let current = app().key_credentials;
        assert_eq!(key_list(&current, &json!([]), "application", &h).unwrap(), Vec::<Value>::new());
        let kept =
            key_list(&current, &json!([{"keyId": "33333333-3333-3333-3333-333333333333"}]), "application", &h).unwrap();
        assert_eq!(kept, current);
        assert!(
            key_list(&current, &json!([{"keyId": "44444444-4444-4444-4444-444444444444"}]), "application", &h).is_err()
        );
    }
}
