//! The data resources of a tenant's subscription: storage accounts (with their blob service,
//! containers and account keys), a key vault (ARM resource and data-plane secrets and keys), a
//! SQL server with a database, and the Log Analytics workspace Microsoft Sentinel runs on.
//!
//! Everything lives in the ARM store (`world/arm.rs`) as ARM JSON, so the generic resource
//! protocol serves it and `/_sandbox/state/{tenant}` shows it. What Microsoft never returns on
//! a GET lives in children of kinds no provider registers, so no ARM route serves them: the
//! storage account keys (`.../storageAccounts/{n}/sandboxKeys/default`, served by `listKeys`),
//! the SQL administrator password's hash (`.../servers/{n}/sandboxAdminPassword/current`) and
//! the Key Vault data plane (`.../vaults/{v}/sandboxSecrets/{name}`, `sandboxKeys/{name}`).
//!
//! The seed draws from its own stream (tenant index and the world seed), so adding these
//! resources shifts no id drawn elsewhere.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::arm::{ArmStore, RESOURCE_GROUPS, Resource};
use super::guid;
use crate::clock::fmt_utc;

pub const STORAGE_ACCOUNTS: &str = "Microsoft.Storage/storageAccounts";
pub const BLOB_SERVICES: &str = "Microsoft.Storage/storageAccounts/blobServices";
pub const CONTAINERS: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";
/// The two account keys (never on a GET; `listKeys` / `regenerateKey` answer them).
pub const STORAGE_KEYS: &str = "Microsoft.Storage/storageAccounts/sandboxKeys";
pub const VAULTS: &str = "Microsoft.KeyVault/vaults";
/// A Key Vault secret with its versions (the data plane, `keyvault/`).
pub const VAULT_SECRETS: &str = "Microsoft.KeyVault/vaults/sandboxSecrets";
/// A Key Vault key with its versions.
pub const VAULT_KEYS: &str = "Microsoft.KeyVault/vaults/sandboxKeys";
pub const SQL_SERVERS: &str = "Microsoft.Sql/servers";
pub const SQL_FIREWALL_RULES: &str = "Microsoft.Sql/servers/firewallRules";
pub const SQL_DATABASES: &str = "Microsoft.Sql/servers/databases";
pub const SQL_TDE: &str = "Microsoft.Sql/servers/databases/transparentDataEncryption";
pub const SQL_DB_AUDITING: &str = "Microsoft.Sql/servers/databases/auditingSettings";
/// The SQL administrator password's SHA-256 (the password itself is never kept).
pub const SQL_ADMIN_PASSWORD: &str = "Microsoft.Sql/servers/sandboxAdminPassword";
pub const WORKSPACES: &str = "Microsoft.OperationalInsights/workspaces";

/// The resource group the data resources live in.
pub const DATA_GROUP: &str = "rg-data";
const LOCATION: &str = "westeurope";

/// Names of a tenant's data resources (`contoso-1` → `stcontoso1data`, `kv-contoso-1`, ...).
pub struct DataNames {
    pub storage: String,
    pub logs_storage: String,
    pub vault: String,
    pub sql_server: String,
    pub database: &'static str,
    pub workspace: String,
}

impl DataNames {
    pub fn of(tenant_name: &str) -> DataNames {
        let compact: String = tenant_name.chars().filter(char::is_ascii_alphanumeric).collect();
        DataNames {
            storage: format!("st{compact}data"),
            logs_storage: format!("st{compact}logs"),
            vault: format!("kv-{tenant_name}"),
            sql_server: format!("sql-{tenant_name}"),
            database: "appdb",
            workspace: format!("law-{tenant_name}-sentinel"),
        }
    }
}

fn group_id(sub: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{DATA_GROUP}")
}

fn put(store: &mut ArmStore, id: String, kind: &str, body: Value) {
    store.put(Resource::new(id, kind, body));
}

/// A storage account key: 64 random bytes, base64, as Azure issues them.
pub fn new_storage_key(rng: &mut impl Rng) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..64).map(|_| rng.random()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Seeds the data resources of one tenant into its ARM store.
pub fn seed(
    store: &mut ArmStore,
    world_seed: u64,
    index: usize,
    tenant_id: &str,
    tenant_name: &str,
    now: OffsetDateTime,
) {
    let mut rng = StdRng::seed_from_u64(world_seed ^ (index as u64 + 1).wrapping_mul(0xA5A5_5A5A_D00D_F00D));
    let sub = store.subscription_id.clone();
    let names = DataNames::of(tenant_name);
    let rg = group_id(&sub);
    put(
        store,
        rg.clone(),
        RESOURCE_GROUPS,
        json!({"id": rg, "name": DATA_GROUP, "type": RESOURCE_GROUPS, "location": LOCATION,
               "tags": {"environment": "prod", "owner": "data-platform"}, "properties": {"provisioningState": "Succeeded"}}),
    );
    let created = now - time::Duration::days(200);
    seed_storage(store, &mut rng, &sub, &names.storage, true, created);
    seed_storage(store, &mut rng, &sub, &names.logs_storage, false, created);
    seed_vault(store, &mut rng, &sub, tenant_id, &names.vault, created);
    seed_sql(store, &mut rng, &sub, &names, created);
    let ws = format!("{rg}/providers/{WORKSPACES}/{}", names.workspace);
    let customer_id = guid(&mut rng);
    put(
        store,
        ws.clone(),
        WORKSPACES,
        json!({"id": ws, "name": names.workspace, "type": WORKSPACES, "location": LOCATION, "tags": {},
               "properties": {"provisioningState": "Succeeded", "customerId": customer_id,
                              "sku": {"name": "PerGB2018"}, "retentionInDays": 90}}),
    );
}

/// A StorageV2 account; the "public" one allows anonymous blob access and public networks, as
/// the accounts a response locks down do.
fn seed_storage(store: &mut ArmStore, rng: &mut StdRng, sub: &str, name: &str, public: bool, created: OffsetDateTime) {
    let id = format!("{}/providers/{STORAGE_ACCOUNTS}/{name}", group_id(sub));
    let at = fmt_utc(created);
    let endpoint = |svc: &str| format!("https://{name}.{svc}.core.windows.net/");
    let body = json!({
        "id": id, "name": name, "type": STORAGE_ACCOUNTS, "location": LOCATION, "tags": {},
        "sku": {"name": "Standard_LRS", "tier": "Standard"}, "kind": "StorageV2",
        "properties": {
            "provisioningState": "Succeeded", "creationTime": at,
            "keyCreationTime": {"key1": at, "key2": at},
            "allowBlobPublicAccess": public, "publicNetworkAccess": "Enabled",
            "allowSharedKeyAccess": true, "minimumTlsVersion": "TLS1_2", "supportsHttpsTrafficOnly": true,
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
            "primaryEndpoints": {"blob": endpoint("blob"), "file": endpoint("file"), "queue": endpoint("queue"), "table": endpoint("table")},
            "primaryLocation": LOCATION, "statusOfPrimary": "available", "accessTier": "Hot",
            "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": true, "keyType": "Account"}}},
        },
    });
    put(store, id.clone(), STORAGE_ACCOUNTS, body);
    let keys_id = format!("{id}/sandboxKeys/default");
    let keys = json!({"id": keys_id, "properties": {"keys": [
        {"keyName": "key1", "value": new_storage_key(rng), "permissions": "FULL", "creationTime": at},
        {"keyName": "key2", "value": new_storage_key(rng), "permissions": "FULL", "creationTime": at},
    ]}});
    put(store, keys_id, STORAGE_KEYS, keys);
    let blob = format!("{id}/blobServices/default");
    put(
        store,
        blob.clone(),
        BLOB_SERVICES,
        json!({"id": blob, "name": "default", "type": BLOB_SERVICES, "sku": {"name": "Standard_LRS", "tier": "Standard"},
               "properties": {"deleteRetentionPolicy": {"enabled": false}, "containerDeleteRetentionPolicy": {"enabled": false},
                              "isVersioningEnabled": false, "cors": {"corsRules": []}}}),
    );
    let containers: &[(&str, &str)] =
        if public { &[("public-assets", "Blob"), ("backups", "None")] } else { &[("insights-logs", "None")] };
    for (c, access) in containers {
        let cid = format!("{blob}/containers/{c}");
        let etag = format!("\"0x8D{:X}\"", rng.random::<u64>() >> 8);
        put(
            store,
            cid.clone(),
            CONTAINERS,
            json!({"id": cid, "name": c, "type": CONTAINERS, "etag": etag,
                   "properties": {"publicAccess": access, "leaseStatus": "Unlocked", "leaseState": "Available",
                                  "hasImmutabilityPolicy": false, "hasLegalHold": false, "deleted": false,
                                  "lastModifiedTime": at}}),
        );
    }
}

/// A vault with RBAC authorisation and soft delete, holding secrets (one already deleted, so
/// it can be purged) and a customer-managed RSA key.
fn seed_vault(store: &mut ArmStore, rng: &mut StdRng, sub: &str, tenant_id: &str, name: &str, created: OffsetDateTime) {
    let id = format!("{}/providers/{VAULTS}/{name}", group_id(sub));
    let body = json!({
        "id": id, "name": name, "type": VAULTS, "location": LOCATION, "tags": {},
        "properties": {
            "tenantId": tenant_id, "sku": {"family": "A", "name": "standard"},
            "vaultUri": format!("https://{name}.vault.azure.net/"),
            "enableSoftDelete": true, "softDeleteRetentionInDays": 90, "enableRbacAuthorization": true,
            "enablePurgeProtection": null, "publicNetworkAccess": "Enabled", "provisioningState": "Succeeded",
        },
    });
    put(store, id.clone(), VAULTS, body);
    let at = created.unix_timestamp();
    for (secret, deleted) in [
        ("db-connection-string", false),
        ("storage-access-key", false),
        ("api-token", false),
        ("old-service-password", true),
    ] {
        let sid = format!("{id}/sandboxSecrets/{secret}");
        let version = guid(rng).replace('-', "");
        let value = format!("{:032x}", rng.random::<u128>());
        let deleted_at = deleted.then(|| at + 86_400 * 150);
        put(
            store,
            sid.clone(),
            VAULT_SECRETS,
            json!({"id": sid, "properties": {
                "versions": [{"version": version, "value": value, "enabled": true, "created": at, "updated": at, "contentType": null}],
                "deletedDate": deleted_at,
                "scheduledPurgeDate": deleted_at.map(|d| d + 90 * 86_400),
            }}),
        );
    }
    let kid = format!("{id}/sandboxKeys/cmk-storage");
    let version = guid(rng).replace('-', "");
    put(
        store,
        kid.clone(),
        VAULT_KEYS,
        json!({"id": kid, "properties": {
            "kty": "RSA", "keySize": 2048, "keyOps": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
            "versions": [{"version": version, "n": new_storage_key(rng), "enabled": true, "created": at, "updated": at}],
        }}),
    );
}

/// An Azure SQL logical server open to public networks with a database whose TDE and auditing
/// are off, so enabling them is a visible change.
fn seed_sql(store: &mut ArmStore, rng: &mut StdRng, sub: &str, names: &DataNames, created: OffsetDateTime) {
    let id = format!("{}/providers/{SQL_SERVERS}/{}", group_id(sub), names.sql_server);
    let body = json!({
        "id": id, "name": names.sql_server, "type": SQL_SERVERS, "location": LOCATION, "kind": "v12.0", "tags": {},
        "properties": {
            "administratorLogin": "sqladmin", "version": "12.0", "state": "Ready",
            "fullyQualifiedDomainName": format!("{}.database.windows.net", names.sql_server),
            "publicNetworkAccess": "Enabled", "minimalTlsVersion": "1.2", "restrictOutboundNetworkAccess": "Disabled",
            "provisioningState": "Succeeded",
        },
    });
    put(store, id.clone(), SQL_SERVERS, body);
    let pw = format!("{id}/sandboxAdminPassword/current");
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!("{:032x}", rng.random::<u128>())));
    put(
        store,
        pw.clone(),
        SQL_ADMIN_PASSWORD,
        json!({"id": pw, "properties": {"sha256": hash, "changed": fmt_utc(created)}}),
    );
    for (rule, start, end) in
        [("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0"), ("corp-office", "198.51.100.0", "198.51.100.255")]
    {
        let rid = format!("{id}/firewallRules/{rule}");
        put(
            store,
            rid.clone(),
            SQL_FIREWALL_RULES,
            json!({"id": rid, "name": rule, "type": SQL_FIREWALL_RULES,
                   "properties": {"startIpAddress": start, "endIpAddress": end}}),
        );
    }
    let db = format!("{id}/databases/{}", names.database);
    put(
        store,
        db.clone(),
        SQL_DATABASES,
        json!({"id": db, "name": names.database, "type": SQL_DATABASES, "location": LOCATION, "kind": "v12.0,user", "tags": {},
               "sku": {"name": "S0", "tier": "Standard"},
               "properties": {"status": "Online", "collation": "SQL_Latin1_General_CP1_CI_AS", "databaseId": guid(rng),
                              "creationDate": fmt_utc(created), "provisioningState": "Succeeded"}}),
    );
    let tde = format!("{db}/transparentDataEncryption/Current");
    put(
        store,
        tde.clone(),
        SQL_TDE,
        json!({"id": tde, "name": "Current", "type": SQL_TDE, "properties": {"state": "Disabled"}}),
    );
    let audit = format!("{db}/auditingSettings/Default");
    put(
        store,
        audit.clone(),
        SQL_DB_AUDITING,
        json!({"id": audit, "name": "Default", "type": SQL_DB_AUDITING,
               "properties": {"state": "Disabled", "retentionDays": 0, "auditActionsAndGroups": [],
                              "isAzureMonitorTargetEnabled": false, "storageAccountSubscriptionId": "00000000-0000-0000-0000-000000000000"}}),
    );
}
