//! Azure data: storage accounts (public access, firewall, keys, SAS, soft delete, containers,
//! Defender for Storage) and SQL servers (public access, firewall rules, TDE, auditing, the
//! administrator password), each effect read back from the sandbox's ARM store, each inverse
//! undoing it.

use super::{azure, resource, subscription};
use crate::common::*;
use serde_json::{Value, json};

const DATA_GROUP: &str = "rg-data";

/// The seeded names of a tenant's data resources (`world/azure_data.rs`): `contoso-1` →
/// `stcontoso1data`, `sql-contoso-1`.
fn names(index: usize) -> (String, String) {
    (format!("stcontoso{}data", index + 1), format!("sql-contoso-{}", index + 1))
}

fn account_id(sub: &str, account: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{DATA_GROUP}/providers/Microsoft.Storage/storageAccounts/{account}")
}

fn server_id(sub: &str, server: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{DATA_GROUP}/providers/Microsoft.Sql/servers/{server}")
}

async fn props(h: &Harness, t: &str, id: &str) -> Value {
    resource(h, t, id).await.unwrap_or_else(|| panic!("no resource {id}"))["properties"].clone()
}

/// The account's two key values, in order.
async fn keys(h: &Harness, t: &str, account: &str) -> Vec<String> {
    let p = props(h, t, &format!("{account}/sandboxKeys/default")).await;
    p["keys"].as_array().unwrap().iter().map(|k| k["value"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_public_access_and_firewall_are_switched_and_undone() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (account, _) = names(0);
    let id = account_id(&sub, &account);
    let target = json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP, "storageAccountName": account });
    assert_eq!(props(&h, &t, &id).await["allowBlobPublicAccess"], true, "seeded open");

    let (status, op) = azure(&h, &t, "DisableStoragePublicAccess", target.clone()).await;
    assert_eq!((status, op["status"].as_str()), (200, Some("Succeeded")), "{op}");
    let p = props(&h, &t, &id).await;
    assert_eq!(
        (p["allowBlobPublicAccess"].clone(), p["publicNetworkAccess"].clone()),
        (json!(false), json!("Disabled"))
    );
    let (_, op) = azure(&h, &t, "EnableStoragePublicAccess", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &id).await;
    assert_eq!((p["allowBlobPublicAccess"].clone(), p["publicNetworkAccess"].clone()), (json!(true), json!("Enabled")));

    let mut firewall = target.clone();
    merge(&mut firewall, json!({ "allowedIPs": "203.0.113.7, 198.51.100.0/24" }));
    let (_, op) = azure(&h, &t, "EnableStorageFirewall", firewall).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let acls = props(&h, &t, &id).await["networkAcls"].clone();
    assert_eq!(acls["defaultAction"], "Deny", "{acls}");
    let allowed: Vec<&str> = acls["ipRules"].as_array().unwrap().iter().map(|r| r["value"].as_str().unwrap()).collect();
    assert_eq!(allowed, ["203.0.113.7", "198.51.100.0/24"]);
    let (_, op) = azure(&h, &t, "DisableStorageFirewall", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &id).await["networkAcls"]["defaultAction"], "Allow");

    let mut bad = target.clone();
    merge(&mut bad, json!({ "allowedIPs": ["203.0.113.7", "not-an-address"] }));
    let (status, body) = azure(&h, &t, "EnableStorageFirewall", bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("allowedIPs"), "names the field: {body}");

    let (_, op) =
        azure(&h, &t, "GetStorageAccounts", json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["count"], 2, "{op}");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rotation_and_sas_revocation_replace_the_account_keys() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (account, _) = names(0);
    let id = account_id(&sub, &account);
    let target = json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP, "storageAccountName": account });
    let before = keys(&h, &t, &id).await;

    let mut rotate = target.clone();
    merge(&mut rotate, json!({ "keyName": "key2" }));
    let (_, op) = azure(&h, &t, "RotateStorageAccountKeys", rotate).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let after = keys(&h, &t, &id).await;
    assert_eq!(after[0], before[0], "key1 untouched");
    assert_ne!(after[1], before[1], "key2 replaced");
    assert!(!op.to_string().contains(&after[1]), "the stored answer holds no key value: {op}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=RotateStorageAccountKeys")).await;
    assert!(!audit.to_string().contains(&after[1]), "nor does the audit");

    let (_, op) = azure(&h, &t, "RevokeStorageSAS", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let revoked = keys(&h, &t, &id).await;
    assert!(revoked[0] != after[0] && revoked[1] != after[1], "both keys replaced");
    let p = props(&h, &t, &format!("{id}/sandboxKeys/default")).await;
    assert!(p["userDelegationKeysRevoked"].is_string(), "delegation keys revoked: {p}");

    let mut bad = target.clone();
    merge(&mut bad, json!({ "keyName": "key3" }));
    let (status, body) = azure(&h, &t, "RotateStorageAccountKeys", bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("keyName"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_delete_containers_and_defender_for_storage() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (account, _) = names(0);
    let id = account_id(&sub, &account);
    let target = json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP, "storageAccountName": account });
    let blob = format!("{id}/blobServices/default");

    let mut enable = target.clone();
    merge(&mut enable, json!({ "retentionDays": 30 }));
    let (_, op) = azure(&h, &t, "EnableStorageSoftDelete", enable).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &blob).await;
    assert_eq!(p["deleteRetentionPolicy"], json!({"enabled": true, "days": 30}), "{p}");
    assert_eq!(p["containerDeleteRetentionPolicy"]["enabled"], true);
    let (_, op) = azure(&h, &t, "DisableStorageSoftDelete", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &blob).await["deleteRetentionPolicy"]["enabled"], false);

    let container = format!("{blob}/containers/public-assets");
    assert_eq!(props(&h, &t, &container).await["publicAccess"], "Blob", "seeded public");
    let mut block = target.clone();
    merge(&mut block, json!({ "containerName": "public-assets" }));
    let (_, op) = azure(&h, &t, "BlockStorageContainer", block).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &container).await["publicAccess"], "None");

    let (_, op) = azure(&h, &t, "EnableStorageDefender", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &format!("{id}/providers/Microsoft.Security/defenderForStorageSettings/current")).await;
    assert_eq!(
        (p["isEnabled"].clone(), p["malwareScanning"]["onUpload"]["isEnabled"].clone()),
        (json!(true), json!(true))
    );

    let mut missing = target.clone();
    merge(&mut missing, json!({ "storageAccountName": "stnosuchaccount" }));
    let (status, body) = azure(&h, &t, "EnableStorageDefender", missing).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("ResourceNotFound")), "ARM's 404: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_public_access_firewall_tde_and_auditing() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (_, server) = names(0);
    let id = server_id(&sub, &server);
    let target = json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP, "serverName": server });

    let (_, op) = azure(&h, &t, "DisableSQLPublicAccess", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "followed to the end: {op}");
    let p = props(&h, &t, &id).await;
    assert_eq!(
        (p["publicNetworkAccess"].clone(), p["provisioningState"].clone()),
        (json!("Disabled"), json!("Succeeded"))
    );
    let (_, op) = azure(&h, &t, "EnableSQLPublicAccess", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &id).await["publicNetworkAccess"], "Enabled");

    // An allow rule for one address, then blocking that address removes it again.
    let mut allow = target.clone();
    merge(&mut allow, json!({ "ruleName": "riposte-e2e", "ipAddress": "203.0.113.50" }));
    let (_, op) = azure(&h, &t, "AllowSQLIP", allow.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let rule = props(&h, &t, &format!("{id}/firewallRules/riposte-e2e")).await;
    assert_eq!(
        (rule["startIpAddress"].clone(), rule["endIpAddress"].clone()),
        (json!("203.0.113.50"), json!("203.0.113.50"))
    );
    let mut block = target.clone();
    merge(&mut block, json!({ "ipAddress": "203.0.113.50" }));
    let (_, op) = azure(&h, &t, "BlockSQLIP", block).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(resource(&h, &t, &format!("{id}/firewallRules/riposte-e2e")).await.is_none(), "the admitting rule is gone");
    // A range holding the address goes too (the seed only removed exact matches).
    let mut in_range = target.clone();
    merge(&mut in_range, json!({ "ipAddress": "198.51.100.20" }));
    let (_, op) = azure(&h, &t, "BlockSQLIP", in_range).await;
    assert_eq!(op["result"]["removedRules"][0]["name"], "corp-office", "{op}");
    assert!(resource(&h, &t, &format!("{id}/firewallRules/corp-office")).await.is_none());
    assert!(resource(&h, &t, &format!("{id}/firewallRules/AllowAllWindowsAzureIps")).await.is_some(), "others stay");
    let (_, op) = azure(&h, &t, "AllowSQLIP", allow.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let (_, op) = azure(&h, &t, "RemoveSQLFirewallRule", allow).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(resource(&h, &t, &format!("{id}/firewallRules/riposte-e2e")).await.is_none());

    let mut db = target.clone();
    merge(&mut db, json!({ "databaseName": "appdb" }));
    let (_, op) = azure(&h, &t, "EnableSQLTDE", db.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(
        props(&h, &t, &format!("{id}/databases/appdb/transparentDataEncryption/current")).await["state"],
        "Enabled"
    );
    let mut audit = db.clone();
    merge(&mut audit, json!({ "storageAccountName": "stcontoso1logs" }));
    let (_, op) = azure(&h, &t, "EnableSQLAudit", audit).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let p = props(&h, &t, &format!("{id}/databases/appdb/auditingSettings/default")).await;
    assert_eq!(p["state"], "Enabled", "{p}");
    assert_eq!(p["storageEndpoint"], "https://stcontoso1logs.blob.core.windows.net/");
    let (_, op) = azure(&h, &t, "DisableSQLAudit", db).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(props(&h, &t, &format!("{id}/databases/appdb/auditingSettings/default")).await["state"], "Disabled");

    let mut bad = target.clone();
    merge(&mut bad, json!({ "ipAddress": "2001:db8::1" }));
    let (status, body) = azure(&h, &t, "BlockSQLIP", bad).await;
    assert_eq!(status, 400, "SQL firewall rules are IPv4: {body}");
    assert!(body.to_string().contains("ipAddress"), "{body}");
}

/// The generated password is shown once to the caller who asked, and is nowhere else: not in the
/// stored operation, not in the audit, not in the server's ARM body (the sandbox keeps its hash).
#[tokio::test(flavor = "multi_thread")]
async fn sql_password_rotation_reveals_a_generated_secret_once() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (_, server) = names(0);
    let id = server_id(&sub, &server);
    let before = props(&h, &t, &format!("{id}/sandboxAdminPassword/current")).await["sha256"].clone();
    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/Azure/RotateSQLPassword", h.gateway))
        .header("x-api-key", &h.admin_key)
        .header("prefer", "reveal-secrets")
        .json(&json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP, "serverName": server }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let op_id = body["operation_id"].as_str().unwrap_or_else(|| panic!("accepted: {body}")).to_string();
    let password = body
        .pointer("/data/administratorLoginPassword")
        .or_else(|| body.pointer("/data/accepted/administratorLoginPassword"));
    let password = password.and_then(Value::as_str).unwrap_or_else(|| panic!("revealed once: {body}")).to_string();
    assert_eq!(password.len(), 32, "{body}");
    let op = h.wait_operation(&op_id).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let hash = props(&h, &t, &format!("{id}/sandboxAdminPassword/current")).await["sha256"].clone();
    assert_ne!(hash, before, "the password changed");
    use sha2::Digest;
    assert_eq!(hash, json!(hex::encode(sha2::Sha256::digest(password.as_bytes()))), "to the revealed one");
    assert!(!op.to_string().contains(&password), "the stored operation holds no password: {op}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=RotateSQLPassword")).await;
    assert!(!audit.to_string().contains(&password), "the audit holds no password");
    assert!(props(&h, &t, &id).await.get("administratorLoginPassword").is_none(), "ARM never keeps it");
}

/// A Key Vault secret version (enabled, value) as the sandbox's vault holds it.
async fn secret_versions(h: &Harness, t: &str, vault: &str, secret: &str) -> Vec<Value> {
    let id = format!("{vault}/sandboxSecrets/{secret}");
    props(h, t, &id).await["versions"].as_array().unwrap().clone()
}

/// The Key Vault data plane on its own audience: a secret disabled and enabled again, a key
/// rotated to new material, a soft-deleted secret purged; the wrong vault and a missing role are
/// refused.
#[tokio::test(flavor = "multi_thread")]
async fn key_vault_secrets_keys_and_purge() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let vault =
        format!("/subscriptions/{sub}/resourceGroups/{DATA_GROUP}/providers/Microsoft.KeyVault/vaults/kv-contoso-1");
    let secret = json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP, "vaultName": "kv-contoso-1", "secretName": "db-connection-string" });

    let (_, op) = azure(&h, &t, "DisableKeyVaultSecret", secret.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["attributes"]["enabled"], false, "{op}");
    assert!(op["result"].get("value").is_none(), "the answer carries no secret value: {op}");
    assert_eq!(secret_versions(&h, &t, &vault, "db-connection-string").await[0]["enabled"], false);
    let (_, op) = azure(&h, &t, "EnableKeyVaultSecret", secret.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(
        secret_versions(&h, &t, &vault, "db-connection-string").await[0]["enabled"],
        true,
        "the inverse undid it"
    );

    let key_id = format!("{vault}/sandboxKeys/cmk-storage");
    let before = props(&h, &t, &key_id).await["versions"].as_array().unwrap().clone();
    let (_, op) =
        azure(&h, &t, "RotateKeyVaultKey", json!({ "vaultName": "kv-contoso-1", "keyName": "cmk-storage" })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let after = props(&h, &t, &key_id).await["versions"].as_array().unwrap().clone();
    assert_eq!(after.len(), before.len() + 1, "a new version");
    assert_ne!(after.last().unwrap()["n"], before.last().unwrap()["n"], "with new key material");
    assert!(
        op["result"]["kid"].as_str().unwrap().ends_with(after.last().unwrap()["version"].as_str().unwrap()),
        "{op}"
    );

    let deleted = format!("{vault}/sandboxSecrets/old-service-password");
    assert!(resource(&h, &t, &deleted).await.is_some());
    let (_, op) = azure(
        &h,
        &t,
        "PurgeDeletedSecret",
        json!({ "vaultName": "kv-contoso-1", "secretName": "old-service-password" }),
    )
    .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(resource(&h, &t, &deleted).await.is_none(), "purged for good");
    let (status, body) =
        azure(&h, &t, "PurgeDeletedSecret", json!({ "vaultName": "kv-contoso-1", "secretName": "api-token" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound")),
        "a live secret is not purgeable: {body}"
    );

    let mut other = secret.clone();
    merge(&mut other, json!({ "vaultName": "kv-someone-else" }));
    let (status, body) = azure(&h, &t, "DisableKeyVaultSecret", other).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("vaultName"), "{body}");

    let (_, op) = azure(&h, &t, "GetKeyVaults", json!({ "subscriptionId": sub, "resourceGroup": DATA_GROUP })).await;
    assert_eq!(op["result"]["value"][0]["properties"]["vaultUri"], "https://kv-contoso-1.vault.azure.net/", "{op}");

    // Without Key Vault Administrator the vault answers its own 403.
    let creds = h.engine.tenants().get(&t).expect("a configured tenant");
    let path = format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/5a5e0000-0000-4000-8000-000000000005"
    );
    let req = upstream::ApiRequest::new(upstream::Api::Arm, upstream::Method::Delete, path)
        .with_query("api-version", "2022-04-01");
    h.engine.upstream().call(creds, req).await.expect("the role assignment is removed");
    let (_, body) = azure(&h, &t, "DisableKeyVaultSecret", secret).await;
    assert_eq!(
        (body["error"]["code"].as_str(), body["error"]["upstreamStatus"].as_u64()),
        (Some("Forbidden"), Some(403)),
        "{body}"
    );
    assert_eq!(secret_versions(&h, &t, &vault, "db-connection-string").await[0]["enabled"], true, "unchanged");
}
