//! OpenAPI 3.1, generated from the catalog (one operation per action) plus the fixed routes.

use catalog::{ActionSpec, ParamKind, ParamSpec};
use serde_json::{Map, Value, json};

pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in catalog::all() {
        let path = format!("/v1/tenants/{{tenantId}}/actions/{}/{}", spec.product.key(), spec.name);
        paths.insert(path, json!({ "post": action_operation(spec) }));
    }
    crate::jobs::openapi(&mut paths);
    crate::approvals::openapi(&mut paths);
    paths.insert("/v1/operations/{id}".into(), json!({ "get": {
        "operationId": "getOperation", "summary": "An operation's status, result and upstream request ids",
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
        "responses": { "200": { "description": "The operation" }, "404": error_response("Unknown operation") }
    }}));
    paths.insert(
        "/v1/catalog".into(),
        json!({ "get": {
            "operationId": "listCatalog", "summary": "Every action, supported or not",
            "responses": { "200": { "description": "Catalog rows" } }
        }}),
    );
    paths.insert(
        "/v1/tenants".into(),
        json!({ "get": {
            "operationId": "listTenants", "summary": "Configured tenants this key may use",
            "responses": { "200": { "description": "Tenant ids" } }
        }}),
    );
    paths.insert(
        "/v1/audit".into(),
        json!({ "get": {
            "operationId": "queryAudit", "summary": "Audit records (hash-chained)",
            "parameters": [
                { "name": "tenant", "in": "query", "schema": { "type": "string" } },
                { "name": "action", "in": "query", "schema": { "type": "string" } },
                { "name": "since", "in": "query", "schema": { "type": "string", "format": "date-time" } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 10000 } }
            ],
            "responses": { "200": { "description": "Records" }, "400": error_response("Bad filter") }
        }}),
    );
    hunting_paths(&mut paths);
    crate::mdr_openapi::paths(&mut paths);
    crate::enrichment::openapi_paths(&mut paths);
    crate::doctor::openapi_paths(&mut paths);
    library_paths(&mut paths);
    for (p, summary) in [
        ("/healthz", "Liveness"),
        ("/readyz", "Readiness: up or down without a key; with a key, each check (store, token endpoints)"),
    ] {
        paths.insert(
            p.into(),
            json!({ "get": { "summary": summary, "security": [], "responses": { "200": { "description": "OK" } } } }),
        );
    }
    // Metrics need a key (issue 15): the global security requirement applies.
    paths.insert(
        "/metrics".into(),
        json!({ "get": { "summary": "Prometheus metrics (any key)", "responses": {
            "200": { "description": "OpenMetrics text" }, "401": error_response("No or unknown key") } } }),
    );
    // Every operation's error responses, from the error type (`openapi_errors.rs`).
    crate::openapi_errors::add_error_responses(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Riposte", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Response gateway for Microsoft Defender XDR. Generated from the action catalog." },
        "servers": [{ "url": "/" }],
        "security": [{ "functionsKey": [] }, { "apiKey": [] }, { "bearer": [] }, { "code": [] }],
        "components": {
            "securitySchemes": {
                "functionsKey": { "type": "apiKey", "in": "header", "name": "x-functions-key" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "x-api-key" },
                "code": { "type": "apiKey", "in": "query", "name": "code" },
                "bearer": { "type": "http", "scheme": "bearer" }
            },
            "schemas": { "Error": crate::openapi_errors::error_schema() }
        },
        "paths": paths,
    })
}

/// Cross-tenant hunting, saved queries and the run history (`hunt.rs`).
fn hunting_paths(paths: &mut Map<String, Value>) {
    let tenants = json!({ "oneOf": [
        { "type": "array", "items": { "type": "string" }, "description": "tenant ids" },
        { "type": "string", "description": "\"all\" (every tenant the key may use) or comma-separated ids" }] });
    let hunt_body = json!({ "type": "object", "properties": {
        "query": { "type": "string", "description": "KQL; or name a saved query with saved" },
        "saved": { "type": "string", "description": "saved query name, instead of query" },
        "version": { "type": "integer", "minimum": 1, "description": "saved query version (default latest)" },
        "tenants": tenants,
        "timespan": { "type": "string", "description": "ISO 8601 duration or interval; runs through Graph runHuntingQuery" },
        "source": { "type": "string", "enum": ["advancedHunting", "archive"], "default": "advancedHunting",
            "description": "advancedHunting: Defender's API (30 days); archive: the same KQL over Riposte's Parquet archive of the streamed tables, for any period (needs from; timespan is refused)" },
        "from": { "type": "string", "format": "date-time", "description": "archive only, required: rows with Timestamp >= from" },
        "to": { "type": "string", "format": "date-time", "description": "archive only: rows with Timestamp <= to (default now)" } } });
    let scan_statistics = json!({ "type": "object", "description": "archive hunts only: what was read",
        "properties": {
            "source": { "type": "string", "enum": ["archive"] }, "from": { "type": "string" }, "to": { "type": "string" },
            "partitions": { "type": "integer", "description": "tenant x table x day partitions read (only the days the range and the query's Timestamp filter need)" },
            "files": { "type": "integer" }, "rowGroups": { "type": "integer" },
            "rowGroupsSkipped": { "type": "integer", "description": "skipped by Parquet statistics (time range, == / in of a leading where)" },
            "rowsRead": { "type": "integer" }, "rowsLoaded": { "type": "integer" }, "bytesRead": { "type": "integer" },
            "columns": { "type": "object", "description": "per table, the columns decoded", "additionalProperties": { "type": "array", "items": { "type": "string" } } },
            "pushed": { "type": "object", "description": "per table, the predicates pushed into the scan", "additionalProperties": { "type": "array", "items": { "type": "string" } } },
            "tenants": { "type": "object", "description": "the same counts per tenant" } } });
    let hunt_responses = json!({
        "200": { "description": "Merged rows (leading TenantId), schema, per-tenant status (succeeded/throttled/failed), partial; an archive hunt adds statistics",
                 "content": { "application/json": { "schema": { "type": "object", "properties": {
                     "runId": { "type": "string" }, "action": { "type": "string", "description": "RunAdvancedHuntingQuery, RunHuntingQuery or ArchiveHunt" },
                     "status": { "type": "string" }, "partial": { "type": "boolean" }, "rowCount": { "type": "integer" },
                     "schema": { "type": "array" }, "rows": { "type": "array" }, "tenants": { "type": "array" },
                     "statistics": scan_statistics } } } } },
        "400": error_response("Invalid query, tenants, timespan, source, from or to (the field is named), a table the archive does not keep, or Microsoft rejected the query"),
        "401": error_response("Missing or wrong key"),
        "403": error_response("A named tenant is outside the key's scope"),
    });
    paths.insert(
        "/v1/hunt".into(),
        json!({ "post": {
            "operationId": "hunt", "summary": "Run one KQL query over many tenants", "tags": ["Hunting"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": hunt_body } } },
            "responses": hunt_responses,
        }}),
    );
    paths.insert("/v1/hunt/history".into(), json!({ "get": {
        "operationId": "huntHistory", "summary": "Hunting runs: who, when, query, tenants, row counts, status, duration", "tags": ["Hunting"],
        "parameters": [
            { "name": "query", "in": "query", "schema": { "type": "string" }, "description": "saved query name" },
            { "name": "tenant", "in": "query", "schema": { "type": "string" } },
            { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
        ],
        "responses": { "200": { "description": "Runs, newest first" }, "400": error_response("Bad filter"), "403": error_response("Tenant outside the key's scope") }
    }}));
    let name = json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } });
    paths.insert("/v1/queries".into(), json!({
        "get": { "operationId": "listSavedQueries", "summary": "Saved hunting queries (built-ins included)", "tags": ["Hunting"],
                 "responses": { "200": { "description": "Latest version of each" } } },
        "post": { "operationId": "saveQuery", "summary": "Save a hunting query; an existing name gets a new version", "tags": ["Hunting"],
                  "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["name", "query"],
                      "properties": { "name": { "type": "string", "maxLength": 128 }, "query": { "type": "string" }, "description": { "type": "string" } } } } } },
                  "responses": { "201": { "description": "The query with every version" }, "400": error_response("Invalid name or query, or a built-in name") } }
    }));
    paths.insert("/v1/queries/{name}".into(), json!({
        "get": { "operationId": "getSavedQuery", "summary": "A saved query with every version", "tags": ["Hunting"], "parameters": [name],
                 "responses": { "200": { "description": "The query" }, "404": error_response("No such query") } },
        "delete": { "operationId": "deleteSavedQuery", "summary": "Delete a saved query (versions and history are kept)", "tags": ["Hunting"], "parameters": [name],
                    "responses": { "204": { "description": "Deleted" }, "403": error_response("Role too low"), "404": error_response("No such query") } }
    }));
    paths.insert("/v1/queries/{name}/run".into(), json!({ "post": {
        "operationId": "runSavedQuery", "summary": "Run a saved query over many tenants", "tags": ["Hunting"], "parameters": [name],
        "requestBody": { "content": { "application/json": { "schema": { "type": "object", "properties": {
            "tenants": tenants, "version": { "type": "integer", "minimum": 1 }, "timespan": { "type": "string" },
            "source": { "type": "string", "enum": ["advancedHunting", "archive"] },
            "from": { "type": "string", "format": "date-time" }, "to": { "type": "string", "format": "date-time" } } } } } },
        "responses": hunt_responses,
    }}));
}

/// The live-response file library (`library.rs`) and its signed download links (`downloads.rs`).
fn library_paths(paths: &mut Map<String, Value>) {
    let tenant = json!({ "name": "tenant", "in": "query", "schema": { "type": "string" },
        "description": "tenant id; may be left out when the key is scoped to one tenant" });
    let name = json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" }, "description": "file name" });
    let file = json!({ "type": "object", "properties": {
        "name": { "type": "string" }, "size": { "type": "integer" },
        "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
        "uploadedBy": { "type": "string" }, "uploadedAt": { "type": "string", "format": "date-time" },
        "description": { "type": ["string", "null"] }, "parametersDescription": { "type": ["string", "null"] },
        "hasParameters": { "type": "boolean" },
        "operation": { "type": "string", "description": "set on files GetFile retrieved: the operation that brought them back" } } });
    let text = |n: &str, d: &str| json!({ "name": n, "in": "query", "schema": { "type": "string" }, "description": d });
    paths.insert("/v1/library".into(), json!({
        "get": { "operationId": "listLibrary", "summary": "Files in the tenant's library", "tags": ["Library"], "parameters": [tenant],
                 "responses": { "200": { "description": "{count, value: [file]}", "content": { "application/json": { "schema": {
                     "type": "object", "properties": { "count": { "type": "integer" }, "value": { "type": "array", "items": file } } } } } },
                     "400": error_response("No tenant named"), "403": error_response("Tenant outside the key's scope") } },
        "post": { "operationId": "uploadLibraryFile", "summary": "Upload a file (script or tool) to the tenant's library; the body is the file's bytes",
                  "tags": ["Library"],
                  "parameters": [tenant,
                      { "name": "fileName", "in": "query", "required": true, "schema": { "type": "string" }, "x-aliases": ["name"],
                        "description": "file name, e.g. collect-triage.ps1" },
                      text("description", "what the file does"),
                      text("parametersDescription", "the parameters a script takes"),
                      { "name": "hasParameters", "in": "query", "schema": { "type": "boolean", "default": false } }],
                  "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                  "responses": { "201": { "description": "{file}", "content": { "application/json": { "schema": {
                      "type": "object", "properties": { "file": file } } } } },
                      "400": error_response("Missing tenant or file name, invalid name, empty body (the field is named)"),
                      "403": error_response("Role too low, or tenant outside the key's scope"),
                      "413": error_response("Larger than library.max_upload_bytes") } }
    }));
    paths.insert("/v1/library/{name}".into(), json!({
        "get": { "operationId": "getLibraryFile", "summary": "A file's metadata and a fresh signed download link", "tags": ["Library"],
                 "parameters": [name, tenant],
                 "responses": { "200": { "description": "{file, download}", "content": { "application/json": { "schema": {
                     "type": "object", "properties": { "file": file, "download": { "type": "object",
                         "description": "signed, expiring link: GET the url (/v1/downloads/{token}) before expiresAt",
                         "properties": { "url": { "type": "string" }, "token": { "type": "string" },
                                         "expiresAt": { "type": "string", "format": "date-time" } } } } } } } },
                     "403": error_response("Tenant outside the key's scope"), "404": error_response("No such file") } },
        "delete": { "operationId": "deleteLibraryFile", "summary": "Delete a file from the tenant's library", "tags": ["Library"],
                    "parameters": [name, tenant],
                    "responses": { "200": { "description": "{deleted: file}" }, "403": error_response("Role too low"),
                                   "404": error_response("No such file") } }
    }));
    paths.insert("/v1/downloads/{token}".into(), json!({ "get": {
        "operationId": "download", "summary": "A library or retrieved file through a signed, expiring link (the token is the authority, no key)",
        "tags": ["Library"], "security": [],
        "parameters": [{ "name": "token", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": { "200": { "description": "The file's bytes; x-content-sha256 carries its digest",
                                "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                       "403": error_response("Altered or foreign link"), "410": error_response("Link expired: ask for a fresh one") }
    }}));
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn action_operation(spec: &ActionSpec) -> Value {
    let mut props = Map::new();
    let mut required = vec![];
    for p in spec.params {
        props.insert(p.name.into(), param_schema(p));
        if p.required {
            required.push(p.name);
        }
    }
    if let Some(inverse) = spec.inverse {
        props.insert("revertAfter".into(), json!({ "description": format!("Undo with {inverse} after this long (ISO 8601 duration such as PT4H, or seconds); see /v1/reverts"),
            "oneOf": [{ "type": "string" }, { "type": "integer", "minimum": 1 }] }));
    }
    let mut responses = json!({
        "200": { "description": "Done" },
        "202": { "description": "Accepted; track it at the Location header" },
        "400": error_response("Invalid parameter (the field is named)"),
        "401": error_response("Missing or wrong key"),
        "403": error_response("Key not scoped to the tenant, or role too low for the risk class"),
        "404": error_response("Unknown tenant or target"),
        "409": error_response("An equivalent action is pending"),
        "502": error_response("Microsoft failed"),
        "503": error_response("Microsoft is throttling"),
    });
    if !spec.is_supported() {
        responses = json!({ "501": error_response("Microsoft has no API for this action") });
    }
    json!({
        "operationId": format!("{}_{}", spec.product.key(), spec.name),
        "summary": spec.summary,
        "tags": [spec.product.key()],
        "deprecated": !spec.is_supported(),
        "x-risk": spec.risk,
        "x-permission": spec.permission,
        "x-aliases": spec.aliases,
        "parameters": [
            { "name": "tenantId", "in": "path", "required": true, "schema": { "type": "string" } },
            { "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "minLength": 1 } },
            { "name": "dryRun", "in": "query", "schema": { "type": "boolean", "default": false },
              "description": "Render the upstream requests without sending them (200 with the preview; nothing is created)" }
        ],
        "requestBody": { "required": !required.is_empty(), "content": { "application/json": { "schema": {
            "type": "object", "properties": props, "required": required } } } },
        "responses": responses,
    })
}

fn param_schema(p: &ParamSpec) -> Value {
    let mut s = match p.kind {
        ParamKind::DeviceId => json!({ "type": "string", "description": "machine id (40 hex), DNS name or IP" }),
        ParamKind::DeviceIds => json!({ "oneOf": [
            { "type": "string", "description": "comma-separated machine ids, DNS names or IPs" },
            { "type": "array", "items": { "type": "string" } }] }),
        ParamKind::ManagedDevice => {
            json!({ "type": "string", "description": "Intune or Entra device id, MDE machine id or DNS name" })
        }
        ParamKind::UserRef => json!({ "type": "string", "description": "object id or UPN" }),
        ParamKind::EmailAddress => json!({ "type": "string", "format": "email" }),
        ParamKind::PairedIds { max } => json!({ "oneOf": [{ "type": "string" },
            { "type": "array", "maxItems": max, "items": { "type": "string" } }] }),
        ParamKind::EmailAddresses { max } => json!({ "oneOf": [{ "type": "string" },
            { "type": "array", "maxItems": max, "items": { "type": "string", "format": "email" } }] }),
        ParamKind::SenderEntries { max } => json!({ "oneOf": [{ "type": "string" },
            { "type": "array", "maxItems": max, "items": { "type": "string", "description": "domain or email address" } }] }),
        ParamKind::ActionId | ParamKind::Guid => json!({ "type": "string", "format": "uuid" }),
        ParamKind::Sha1 => json!({ "type": "string", "pattern": "^[0-9a-fA-F]{40}$" }),
        ParamKind::Sha256 => json!({ "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }),
        ParamKind::Md5 => json!({ "type": "string", "pattern": "^[0-9a-fA-F]{32}$" }),
        ParamKind::Ip => json!({ "type": "string", "format": "ip" }),
        ParamKind::Enum { values } => json!({ "type": "string", "enum": values }),
        ParamKind::Text { max } => json!({ "type": "string", "maxLength": max }),
        ParamKind::ODataFilter => json!({ "type": "string", "maxLength": 2000 }),
        ParamKind::Int { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        ParamKind::Bool => json!({ "type": "boolean" }),
        ParamKind::ResourceId => json!({ "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" }),
        ParamKind::ResourceIds { max } => json!({ "oneOf": [
            { "type": "string", "description": "comma-separated ids" },
            { "type": "array", "maxItems": max, "items": { "type": "string" } }] }),
        ParamKind::TextList { max_items, max_len } => json!({ "oneOf": [
            { "type": "string", "description": "comma-separated" },
            { "type": "array", "maxItems": max_items, "items": { "type": "string", "maxLength": max_len } }] }),
        ParamKind::DateTime => json!({ "type": "string", "format": "date-time" }),
        ParamKind::Url => json!({ "type": "string", "format": "uri" }),
        ParamKind::IndicatorValue { .. } => json!({ "type": "string", "maxLength": 2048 }),
        ParamKind::Indicators { max } => json!({ "type": "array", "maxItems": max, "items": { "type": "object" } }),
        ParamKind::Determination { pairs, .. } => {
            let mut all: Vec<&str> = pairs.iter().flat_map(|(_, v)| v.iter().copied()).collect();
            all.sort_unstable();
            all.dedup();
            json!({ "type": "string", "enum": all })
        }
        ParamKind::JsonObject => json!({ "type": "object" }),
        ParamKind::JsonObjects { max } => json!({ "type": "array", "maxItems": max, "items": { "type": "object" } }),
        ParamKind::Secret { max } => {
            json!({ "type": "string", "format": "password", "writeOnly": true, "maxLength": max })
        }
        ParamKind::ArmName => json!({ "type": "string", "maxLength": 90, "pattern": "^[-\\w.()]*[-\\w()]$" }),
        ParamKind::ArmResourceId => json!({ "type": "string", "pattern": "^/?subscriptions/[^/]+/resourceGroups/" }),
        ParamKind::IpPrefix => json!({ "type": "string", "description": "an IP address or CIDR range" }),
        ParamKind::IpPrefixes { max } => json!({ "oneOf": [
            { "type": "string", "description": "comma-separated IP addresses or CIDR ranges" },
            { "type": "array", "maxItems": max, "items": { "type": "string" } }] }),
        ParamKind::PortRanges { max } | ParamKind::CountryCodes { max } => json!({ "oneOf": [
            { "type": "string", "description": "comma-separated" },
            { "type": "array", "maxItems": max, "items": { "type": "string" } }] }),
    };
    s["description"] = p.doc.into();
    if let Some(d) = p.default {
        s["default"] = d.into();
    }
    if !p.aliases.is_empty() {
        s["x-aliases"] = json!(p.aliases);
    }
    s
}
