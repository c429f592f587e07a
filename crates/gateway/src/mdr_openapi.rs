//! OpenAPI for seed 002's MDR routes (`mdr.rs`, `mdr_actions.rs`, `mdr_status.rs`) and the
//! console's reads (`console.rs`): `/v1/me`, `/v1/typeahead`, `/v1/audit/verify`.

use serde_json::{Map, Value, json};

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// An MDR POST: its body's fields (name, JSON type, enum, description) and which are required.
fn post(id: &str, summary: &str, fields: &[(&str, &str, &[&str], &str)], required: &[&str]) -> Value {
    let mut properties = Map::new();
    for (name, kind, values, doc) in fields {
        let mut schema = json!({ "type": kind, "description": doc });
        if !values.is_empty() {
            schema["enum"] = json!(values);
        }
        properties.insert((*name).into(), schema);
    }
    json!({ "post": {
        "operationId": id, "summary": summary,
        "parameters": [{ "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "minLength": 1 },
                         "description": "The same key and body is the same request: every step is replayed, nothing runs twice" }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "additionalProperties": false, "required": required, "properties": properties } } } },
        "responses": {
            "200": { "description": "Every step ended: {success, type, tenant_id, status, steps: [{step, action, operationId, status, data}], ...}" },
            "202": { "description": "A step is still under way; Location is its operation" },
            "400": error("A field is missing or invalid (named in error.field), or tenant_id is needed"),
            "401": error("No or unknown key"),
            "403": error("The key's role or tenant scope does not allow it"),
            "409": error("A conflicting action is pending"),
        }
    }})
}

const TENANT: (&str, &str, &[&str], &str) =
    ("tenant_id", "string", &[], "Optional when the key may use exactly one tenant");
const REASON: (&str, &str, &[&str], &str) =
    ("reason", "string", &[], "Why: recorded as the action's comment or description where it has one");

pub fn paths(paths: &mut Map<String, Value>) {
    paths.insert(
        "/api/v1/mdr/isolate".into(),
        post(
            "mdrIsolate",
            "Isolate a device named by hostname (one device, else 400 listing the candidates)",
            &[
                ("hostname", "string", &[], "DNS name or its first label"),
                (
                    "isolation_type",
                    "string",
                    &["Full", "Selective", "NetworkOnly"],
                    "NetworkOnly is MDE's Full (said in the answer)",
                ),
                REASON,
                TENANT,
            ],
            &["hostname"],
        ),
    );
    paths.insert(
        "/api/v1/mdr/block-ip".into(),
        post(
            "mdrBlockIp",
            "Block an IP: an expiring MDE indicator, or an NSG / network ACL deny that reverts itself",
            &[
                ("ip", "string", &[], "IPv4/IPv6 address (defender: no CIDR)"),
                ("firewall_type", "string", &["defender", "azure_nsg", "aws_sg"], "Default defender"),
                (
                    "duration_hours",
                    "integer",
                    &[],
                    "1 to 8760, default 24: the indicator's expiration, or the revert of the deny",
                ),
                ("priority", "integer", &[], "azure_nsg only: the rule priority (100-4096)"),
                ("subscription_id", "string", &[], "azure_nsg: the NSG's subscription"),
                ("resource_group", "string", &[], "azure_nsg: the NSG's resource group"),
                ("nsg_name", "string", &[], "azure_nsg: the NSG"),
                ("network_acl_id", "string", &[], "aws_sg: one network ACL"),
                ("vpc_id", "string", &[], "aws_sg: every ACL of a VPC"),
                (
                    "instance_id",
                    "string",
                    &[],
                    "aws_sg: the ACLs of an instance's subnets (none of the three: every ACL of the region)",
                ),
                REASON,
                TENANT,
            ],
            &["ip"],
        ),
    );
    paths.insert(
        "/api/v1/mdr/disable-user".into(),
        post(
            "mdrDisableUser",
            "Disable a user and revoke their sessions (both steps reported)",
            &[("upn", "string", &[], "UPN, mail or object id"), REASON, TENANT],
            &["upn"],
        ),
    );
    paths.insert(
        "/api/v1/mdr/quarantine-email".into(),
        post(
            "mdrQuarantineEmail",
            "Remediate a message: the named mailbox's copy, or every copy its delivery path lists",
            &[
                ("message_id", "string", &[], "The message's networkMessageId"),
                ("user_principal_name", "string", &[], "The recipient mailbox; absent: every recipient"),
                ("action", "string", &["softDelete", "hardDelete", "moveToJunk"], "Default softDelete"),
                REASON,
                TENANT,
            ],
            &["message_id"],
        ),
    );
    let query = |name: &str, doc: &str| json!({ "name": name, "in": "query", "schema": { "type": "string" }, "description": doc });
    paths.insert("/api/v1/mdr/actions".into(), json!({ "get": {
        "operationId": "mdrActions", "summary": "Recent response actions from the audit: who, what, target, status, when",
        "parameters": [query("type", "isolate, block-ip, disable-user, quarantine-email, or an action name"),
                       query("tenant_id", "One tenant (a scoped key reads each of its tenants otherwise)"),
                       query("since", "RFC 3339 or a span back from now: 90m, 24h, 7d"),
                       query("limit", "1 to 1000, default 50")],
        "responses": { "200": { "description": "{count, actions: [...]}, newest first" }, "400": error("Bad filter"), "403": error("Tenant outside the key's scope") } } }));
    paths.insert("/api/v1/mdr/status".into(), json!({ "get": {
        "operationId": "mdrStatus", "summary": "Health per integration (MDE, Graph, ARM, AWS, ...) and tenant: token, last call, throttled; overall healthy|degraded|unhealthy",
        "responses": { "200": { "description": "{status, checkedAt, integrations: {MDE: {status, tenants: [...]}}}" } } } }));
    paths.insert("/v1/me".into(), json!({ "get": {
        "operationId": "me", "summary": "The key's name, role and tenants by name",
        "responses": { "200": { "description": "{name, role, scoped, tenants: [{tenant_id, name, nameSource}]}" } } } }));
    paths.insert("/v1/typeahead".into(), json!({ "get": {
        "operationId": "typeahead", "summary": "Up to 10 devices (MDE, DNS name prefix) or users (Graph, UPN or name prefix) of a tenant",
        "parameters": [query("tenant", "Optional for a key with one tenant"), query("kind", "device or user"), query("q", "The typed prefix")],
        "responses": { "200": { "description": "{tenant_id, items: [{value, label, detail}]}" }, "400": error("Bad kind or q") } } }));
    paths.insert(
        "/v1/audit/verify".into(),
        json!({ "get": {
        "operationId": "verifyAudit", "summary": "Walk the audit hash chain",
        "responses": { "200": { "description": "{rows, ok, problems}" } } } }),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_mdr_route_is_described() {
        let mut paths = serde_json::Map::new();
        super::paths(&mut paths);
        for p in ["isolate", "block-ip", "disable-user", "quarantine-email", "actions", "status"] {
            assert!(paths.contains_key(&format!("/api/v1/mdr/{p}")), "{p}");
        }
        assert_eq!(
            paths["/api/v1/mdr/isolate"]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"][0],
            "hostname"
        );
    }
}
