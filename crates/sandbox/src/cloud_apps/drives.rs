//! OneDrive items through Graph (v1.0 and beta): the files Cloud Apps lists, which the Cloud
//! Apps API cannot govern (its file governance runs from portal policies), so a response
//! changes them here.
//!
//! | Method | Path | Answer |
//! |---|---|---|
//! | GET | `drives/{d}` | the drive and its owner |
//! | GET, PATCH, DELETE | `drives/{d}/items/{i}` (PATCH: `name`, `parentReference.id`) | item / item / 204 |
//! | GET | `drives/{d}/items/{i}/children`, `drives/{d}/root/children` | collection |
//! | POST | `drives/{d}/root/children`, `drives/{d}/items/{i}/children` (`name`, `folder`, `@microsoft.graph.conflictBehavior`) | 201 / 409 `nameAlreadyExists` |
//! | GET, DELETE | `drives/{d}/items/{i}/permissions[/{p}]` | collection / 204; an inherited permission 403 `accessDenied` |
//! | POST | `drives/{d}/items/{i}/assignSensitivityLabel` (`sensitivityLabelId`, `assignmentMethod`, `justificationText`) | 202 + `Location` of an operation whose `status` is `completed` |
//!
//! At Microsoft the label operation's monitor is a SharePoint URL; the sandbox serves it on its
//! own host (`drives/{d}/labelOperations/{op}`), and applies the label at once.
//!
//! Permissions: Files.Read.All to read, Files.ReadWrite.All (or Sites.ReadWrite.All) to change.
//! A deleted item goes to the recycle bin (gone from the API, kept in the state dump).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::auth::{Caller, GraphCaller};
use crate::errors::{self, json_response};
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::cloud_apps::DriveItem;

const READ: &[&str] = &["Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All"];
const WRITE: &[&str] = &["Files.ReadWrite.All", "Sites.ReadWrite.All"];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let d = format!("/{v}/drives/{{drive}}");
        r = r
            .route(&d, get(get_drive))
            .route(&format!("{d}/root/children"), get(root_children).post(create_in_root))
            .route(&format!("{d}/items/{{item}}"), get(get_item).patch(patch_item).delete(delete_item))
            .route(&format!("{d}/items/{{item}}/children"), get(children).post(create_in_folder))
            .route(&format!("{d}/items/{{item}}/permissions"), get(permissions))
            .route(&format!("{d}/items/{{item}}/assignSensitivityLabel"), post(assign_label))
            .route(&format!("/{v}/drives/{{drive}}/labelOperations/{{op}}"), get(label_operation))
            .route(&format!("{d}/items/{{item}}/permissions/{{perm}}"), get(get_permission).delete(delete_permission));
    }
    r
}

fn not_found(what: &str, id: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::NOT_FOUND, "itemNotFound", format!("The {what} '{id}' could not be found."), headers)
}

fn bad(msg: impl Into<String>, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::BAD_REQUEST, "invalidRequest", msg, headers)
}

fn with_tenant<T>(
    state: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Tenant) -> T,
) -> Result<T, Response> {
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| not_found("tenant", &c.tenant_id, headers))?;
    Ok(f(t))
}

/// The live (not deleted) item `item` of drive `drive`.
fn find<'a>(t: &'a mut Tenant, drive: &str, item: &str) -> Option<&'a mut DriveItem> {
    t.cloud_apps.drive_items.iter_mut().find(|i| i.drive_id == drive && i.id.eq_ignore_ascii_case(item) && !i.deleted)
}

fn root_id(t: &Tenant, drive: &str) -> Option<String> {
    t.cloud_apps.drive_items.iter().find(|i| i.drive_id == drive && i.parent_id.is_none()).map(|i| i.id.clone())
}

fn list(items: Vec<Value>) -> Response {
    json_response(StatusCode::OK, json!({ "value": items }))
}

async fn get_drive(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(drive): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let owner = with_tenant(&state, &c, &headers, |t| {
        t.cloud_apps.drive_items.iter().find(|i| i.drive_id == drive).map(|i| i.owner.clone())
    })?
    .ok_or_else(|| not_found("drive", &drive, &headers))?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "id": drive, "driveType": "business", "owner": { "user": { "email": owner, "displayName": owner } } }),
    ))
}

async fn get_item(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, &headers, |t| find(t, &drive, &item).map(|i| i.graph_json()))?
        .ok_or_else(|| not_found("item", &item, &headers))?;
    Ok(json_response(StatusCode::OK, v))
}

/// PATCH: rename (`name`) and move (`parentReference.id`, a folder of the same drive).
async fn patch_item(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let map = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad("The request body must be a JSON object.", &headers)),
    };
    let name = match map.get("name") {
        None => None,
        Some(Value::String(n))
            if !n.trim().is_empty() && !n.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']) =>
        {
            Some(n.clone())
        }
        Some(other) => return Err(bad(format!("Invalid name {other}."), &headers)),
    };
    let parent = match map.get("parentReference") {
        None => None,
        Some(p) => Some(
            p["id"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| bad("parentReference.id is required to move an item.", &headers))?,
        ),
    };
    with_tenant(&state, &c, &headers, |t| -> Result<Response, Response> {
        if let Some(p) = &parent {
            let folder = t
                .cloud_apps
                .drive_items
                .iter()
                .any(|i| i.drive_id == drive && i.id.eq_ignore_ascii_case(p) && i.folder && !i.deleted);
            if !folder {
                return Err(not_found("parent folder", p, &headers));
            }
        }
        let it = find(t, &drive, &item).ok_or_else(|| not_found("item", &item, &headers))?;
        if it.parent_id.is_none() {
            return Err(bad("The root of a drive cannot be moved or renamed.", &headers));
        }
        if let Some(n) = name {
            it.name = n;
        }
        if let Some(p) = parent {
            it.parent_id = Some(p);
        }
        Ok(json_response(StatusCode::OK, it.graph_json()))
    })?
}

async fn delete_item(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    with_tenant(&state, &c, &headers, |t| {
        let it = find(t, &drive, &item).ok_or_else(|| not_found("item", &item, &headers))?;
        if it.parent_id.is_none() {
            return Err(bad("The root of a drive cannot be deleted.", &headers));
        }
        it.deleted = true;
        Ok(StatusCode::NO_CONTENT.into_response())
    })?
}

fn children_of(t: &Tenant, drive: &str, parent: &str) -> Vec<Value> {
    t.cloud_apps
        .drive_items
        .iter()
        .filter(|i| {
            i.drive_id == drive && !i.deleted && i.parent_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(parent))
        })
        .map(DriveItem::graph_json)
        .collect()
}

async fn root_children(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(drive): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items = with_tenant(&state, &c, &headers, |t| root_id(t, &drive).map(|r| children_of(t, &drive, &r)))?
        .ok_or_else(|| not_found("drive", &drive, &headers))?;
    Ok(list(items))
}

async fn children(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items =
        with_tenant(&state, &c, &headers, |t| find(t, &drive, &item).is_some().then(|| children_of(t, &drive, &item)))?
            .ok_or_else(|| not_found("item", &item, &headers))?;
    Ok(list(items))
}

async fn create_in_root(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(drive): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let root = with_tenant(&state, &c, &headers, |t| root_id(t, &drive))?
        .ok_or_else(|| not_found("drive", &drive, &headers))?;
    create_folder(&state, &c, &drive, &root, &headers, &body)
}

async fn create_in_folder(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    create_folder(&state, &c, &drive, &item, &headers, &body)
}

/// A new folder (`{"name", "folder": {}}`); a name taken in the parent is 409 unless
/// `@microsoft.graph.conflictBehavior` is `rename`.
fn create_folder(
    state: &AppState,
    c: &Caller,
    drive: &str,
    parent: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad("The request body must be a JSON object.", headers)),
    };
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("'name' is required.", headers))?;
    if !map.get("folder").is_some_and(Value::is_object) {
        return Err(bad("Only folders can be created here: send \"folder\": {}.", headers));
    }
    let rename = map.get("@microsoft.graph.conflictBehavior").and_then(Value::as_str) == Some("rename");
    with_tenant(state, c, headers, |t| {
        let parent_item = t
            .cloud_apps
            .drive_items
            .iter()
            .find(|i| i.drive_id == drive && i.id.eq_ignore_ascii_case(parent) && i.folder && !i.deleted)
            .cloned();
        let parent_item = parent_item.ok_or_else(|| not_found("parent folder", parent, headers))?;
        let taken = |n: &str| {
            children_of(t, drive, &parent_item.id)
                .iter()
                .any(|x| x["name"].as_str().is_some_and(|y| y.eq_ignore_ascii_case(n)))
        };
        let mut final_name = name.to_string();
        if taken(name) {
            if !rename {
                return Err(errors::graph(
                    StatusCode::CONFLICT,
                    "nameAlreadyExists",
                    format!("An item named '{name}' already exists."),
                    headers,
                ));
            }
            let mut k = 1;
            while taken(&format!("{name} {k}")) {
                k += 1;
            }
            final_name = format!("{name} {k}");
        }
        let folder = DriveItem {
            id: format!("01{}", uuid::Uuid::new_v4().simple().to_string()[..24].to_uppercase()),
            drive_id: drive.to_string(),
            name: final_name,
            parent_id: Some(parent_item.id.clone()),
            folder: true,
            owner: parent_item.owner.clone(),
            size: 0,
            deleted: false,
            permissions: Vec::new(),
            cloud_apps_id: None,
            label: None,
        };
        let v = folder.graph_json();
        t.cloud_apps.drive_items.push(folder);
        Ok(json_response(StatusCode::CREATED, v))
    })?
}

async fn permissions(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items = with_tenant(&state, &c, &headers, |t| {
        find(t, &drive, &item).map(|i| i.permissions.iter().map(|p| p.graph_json(i)).collect::<Vec<_>>())
    })?
    .ok_or_else(|| not_found("item", &item, &headers))?;
    Ok(list(items))
}

async fn get_permission(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item, perm)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, &headers, |t| {
        let i = find(t, &drive, &item)?;
        i.permissions.iter().find(|p| p.id == perm).map(|p| p.graph_json(i))
    })?
    .ok_or_else(|| not_found("permission", &perm, &headers))?;
    Ok(json_response(StatusCode::OK, v))
}

async fn delete_permission(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item, perm)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    with_tenant(&state, &c, &headers, |t| {
        let i = find(t, &drive, &item).ok_or_else(|| not_found("item", &item, &headers))?;
        let k =
            i.permissions.iter().position(|p| p.id == perm).ok_or_else(|| not_found("permission", &perm, &headers))?;
        if i.permissions[k].inherited {
            return Err(errors::graph(
                StatusCode::FORBIDDEN,
                "accessDenied",
                "An inherited permission cannot be removed here; change it on the item it is inherited from.",
                &headers,
            ));
        }
        i.permissions.remove(k);
        Ok(StatusCode::NO_CONTENT.into_response())
    })?
}

const ASSIGNMENT_METHODS: &[&str] = &["standard", "privileged", "auto"];

/// `assignSensitivityLabel`: 202 Accepted with the operation's monitor in `Location`.
async fn assign_label(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((drive, item)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE)?;
    let map = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad("The request body must be a JSON object.", &headers)),
    };
    let label = map
        .get("sensitivityLabelId")
        .and_then(Value::as_str)
        .filter(|l| uuid::Uuid::parse_str(l).is_ok())
        .ok_or_else(|| bad("'sensitivityLabelId' is required and must be a GUID.", &headers))?
        .to_string();
    let method = match map.get("assignmentMethod").and_then(Value::as_str) {
        None => "standard".to_string(),
        Some(m) if ASSIGNMENT_METHODS.contains(&m) => m.to_string(),
        Some(m) => return Err(bad(format!("Invalid assignmentMethod '{m}': standard, privileged or auto."), &headers)),
    };
    with_tenant(&state, &c, &headers, |t| {
        let it = find(t, &drive, &item).ok_or_else(|| not_found("item", &item, &headers))?;
        if it.folder {
            return Err(bad("Sensitivity labels apply to files, not folders.", &headers));
        }
        it.label = Some((label, method));
        Ok(())
    })??;
    let op = uuid::Uuid::new_v4();
    let mut resp = StatusCode::ACCEPTED.into_response();
    let location = format!("{}/v1.0/drives/{drive}/labelOperations/{op}", state.base_url);
    if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(resp)
}

/// The label operation's monitor: the label is applied when the 202 is sent, so it has completed.
async fn label_operation(Path((_drive, op)): Path<(String, String)>) -> Response {
    json_response(StatusCode::OK, json!({ "id": op, "status": "completed", "percentageComplete": 100 }))
}
