//! Azure: Storage accounts, Key Vault (ARM and the `vault.azure.net` data plane), SQL servers.
//!
//! Storage (`Microsoft.Storage`, 2023-05-01): public access and the network firewall are account
//! properties changed with a PATCH (synchronous); account keys are regenerated one at a time
//! (`regenerateKey`), and a regenerated key voids every account and service SAS signed with it.
//! A user-delegation SAS is signed with an Entra-issued key instead, revoked for the whole
//! account by `revokeUserDelegationKeys`; "revoke SAS" therefore does both (a procedure).
//!
//! SQL (`Microsoft.Sql`, 2023-08-01): server updates are long-running (202 + monitors, followed
//! to the end); the server firewall holds *allow* rules only, so blocking an address means
//! removing the rules that admit it (`BlockSQLIP`), and a rule for an address is `AllowSQLIP`.
use super::{RESOURCE_GROUP, SUBSCRIPTION as SUBSCRIPTION_ID, arm_name};
use crate::*;

/// Storage's api-version (stable, 2023-05-01).
macro_rules! storage {
    ($tail:literal) => {
        concat!(
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Storage/storageAccounts/{storageAccountName}",
            $tail,
            "?api-version=2023-05-01"
        )
    };
}

macro_rules! sql {
    ($tail:literal) => {
        concat!(
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Sql/servers/{serverName}",
            $tail,
            "?api-version=2023-08-01"
        )
    };
}

const STORAGE_ACCOUNT: ParamSpec =
    arm_name("storageAccountName", &["accountName", "storageAccount"], "Storage account name, e.g. stcontosodata");
const CONTAINER: ParamSpec = arm_name("containerName", &["container"], "Blob container name");
const SERVER: ParamSpec = arm_name("serverName", &["sqlServerName", "server"], "Azure SQL logical server name");
const DATABASE: ParamSpec = arm_name("databaseName", &["database", "db"], "Database name");
const STORAGE_PARAMS: &[ParamSpec] = &[SUBSCRIPTION_ID, RESOURCE_GROUP, STORAGE_ACCOUNT];
const SERVER_PARAMS: &[ParamSpec] = &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER];
const DATABASE_PARAMS: &[ParamSpec] = &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER, DATABASE];

const PUBLIC_NETWORK_ACCESS: ParamSpec = ParamSpec {
    name: "publicNetworkAccess",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Disabled", "Enabled"] },
    required: false,
    default: Some("Disabled"),
    doc: "Disabled (default) also refuses every public-network client; Enabled keeps the network open and only stops anonymous blob reads",
};
const DEFAULT_ACTION: ParamSpec = ParamSpec {
    name: "defaultAction",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Deny", "Allow"] },
    required: false,
    default: Some("Deny"),
    doc: "What the firewall does with addresses no rule names (Deny)",
};
const ALLOWED_IPS: ParamSpec = ParamSpec {
    name: "allowedIPs",
    aliases: &["allowedIps", "ipRules", "allowList"],
    kind: ParamKind::IpPrefixes { max: 200 },
    required: false,
    default: None,
    doc: "IPv4 addresses or CIDR ranges still allowed (replaces the account's IP rules)",
};
const KEY_NAME: ParamSpec = ParamSpec {
    name: "keyName",
    aliases: &["key"],
    kind: ParamKind::Enum { values: &["key1", "key2"] },
    required: false,
    default: Some("key1"),
    doc: "Which account key to regenerate: key1 (default) or key2",
};
const RETENTION_DAYS: ParamSpec = ParamSpec {
    name: "retentionDays",
    aliases: &["days"],
    kind: ParamKind::Int { min: 1, max: 365 },
    required: false,
    default: Some("14"),
    doc: "Days deleted blobs and containers stay recoverable (1-365, default 14)",
};
const IP_ADDRESS: ParamSpec = ParamSpec {
    name: "ipAddress",
    aliases: &["ip"],
    kind: ParamKind::Ip,
    required: true,
    default: None,
    doc: "IPv4 address",
};
const RULE_NAME: ParamSpec = ParamSpec {
    name: "ruleName",
    aliases: &["firewallRuleName"],
    kind: ParamKind::ArmName,
    required: true,
    default: None,
    doc: "Firewall rule name",
};
const STORAGE_ENDPOINT_ACCOUNT: ParamSpec = ParamSpec {
    name: "storageAccountName",
    aliases: &["auditStorageAccount"],
    kind: ParamKind::ArmName,
    required: false,
    default: None,
    doc: "Storage account the audit logs go to; without it they go to Azure Monitor (the server's diagnostic settings)",
};
const NEW_PASSWORD: ParamSpec = ParamSpec {
    name: "newPassword",
    aliases: &["password"],
    kind: ParamKind::Secret { max: 128 },
    required: false,
    default: None,
    doc: "The new administrator password; when absent Riposte generates 32 random characters and shows them once (Prefer: reveal-secrets)",
};

const VAULT: ParamSpec =
    arm_name("vaultName", &["keyVaultName", "vault"], "Key Vault name (the tenant's configured Key Vault host)");
const SECRET: ParamSpec = arm_name("secretName", &[], "Secret name");
const VAULT_KEY: ParamSpec = arm_name("keyName", &["key"], "Key name");
const SECRET_VERSION: ParamSpec = ParamSpec {
    name: "secretVersion",
    aliases: &["version"],
    kind: ParamKind::ResourceId,
    required: false,
    default: None,
    doc: "The version to change (default: the current one)",
};
/// The seed named the vault's subscription and group too; the data plane does not need them.
const OPTIONAL_SUBSCRIPTION: ParamSpec = ParamSpec { required: false, ..SUBSCRIPTION_ID };
const OPTIONAL_GROUP: ParamSpec = ParamSpec { required: false, ..RESOURCE_GROUP };
const SECRET_PARAMS: &[ParamSpec] = &[VAULT, SECRET, SECRET_VERSION, OPTIONAL_SUBSCRIPTION, OPTIONAL_GROUP];

const STORAGE_ACCOUNT_CALL: Call = Call::new(Api::Arm, Method::Patch, storage!(""));
const BLOB_SERVICE: Call = Call::new(Api::Arm, Method::Put, storage!("/blobServices/default"));
const SQL_SERVER_CALL: Call = Call::new(Api::Arm, Method::Patch, sql!(""));
const STORAGE_READ: Call = Call::new(Api::Arm, Method::Get, storage!(""));

/// A storage-account PATCH row (synchronous: the answer is the updated account).
const fn storage_patch(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    inverse: Option<&'static str>,
    body: &'static [(&'static str, BodyValue)],
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse,
        permission: "Azure RBAC: Storage Account Contributor (Microsoft.Storage/storageAccounts/write)",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(STORAGE_ACCOUNT_CALL.body(body)),
    }
}

/// A SQL server PATCH row: long-running, followed to its end.
const fn sql_patch(
    name: &'static str,
    summary: &'static str,
    inverse: Option<&'static str>,
    body: &'static [(&'static str, BodyValue)],
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases: &[],
        params: SERVER_PARAMS,
        risk: Risk::Contain,
        inverse,
        permission: "Azure RBAC: SQL Server Contributor (Microsoft.Sql/servers/write)",
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Call(SQL_SERVER_CALL.body(body)),
    }
}

/// A row whose answer is its outcome.
const fn row(
    name: &'static str,
    summary: &'static str,
    params: &'static [ParamSpec],
    risk: Risk,
    inverse: Option<&'static str>,
    permission: &'static str,
    plan: Plan,
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases: &[],
        params,
        risk,
        inverse,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan,
    }
}

const AUDIT_GROUPS: &str =
    r#"["SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP","FAILED_DATABASE_AUTHENTICATION_GROUP","BATCH_COMPLETED_GROUP"]"#;

pub static ACTIONS: &[ActionSpec] = &[
    // --- Storage ---
    storage_patch(
        "DisableStoragePublicAccess",
        "Stop anonymous blob access on a storage account and, by default, refuse public networks",
        &["BlockStoragePublicAccess"],
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, STORAGE_ACCOUNT, PUBLIC_NETWORK_ACCESS],
        Some("EnableStoragePublicAccess"),
        &[
            ("properties/allowBlobPublicAccess", BodyValue::Literal("false")),
            ("properties/publicNetworkAccess", BodyValue::Param("publicNetworkAccess")),
        ],
    ),
    storage_patch(
        "EnableStoragePublicAccess",
        "Allow public networks and anonymous blob access on a storage account again",
        &[],
        STORAGE_PARAMS,
        Some("DisableStoragePublicAccess"),
        &[
            ("properties/allowBlobPublicAccess", BodyValue::Literal("true")),
            ("properties/publicNetworkAccess", BodyValue::Literal("\"Enabled\"")),
        ],
    ),
    storage_patch(
        "EnableStorageFirewall",
        "Deny every network to a storage account but the listed addresses (and trusted Azure services)",
        &[],
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, STORAGE_ACCOUNT, ALLOWED_IPS, DEFAULT_ACTION],
        Some("DisableStorageFirewall"),
        &[
            ("properties/networkAcls/defaultAction", BodyValue::Param("defaultAction")),
            ("properties/networkAcls/bypass", BodyValue::Literal("\"AzureServices\"")),
            (
                "properties/networkAcls/ipRules",
                BodyValue::Objects(&[("value", BodyValue::Param("allowedIPs")), ("action", BodyValue::Literal("\"Allow\""))]),
            ),
        ],
    ),
    storage_patch(
        "DisableStorageFirewall",
        "Let every network reach a storage account again (firewall default action Allow)",
        &[],
        STORAGE_PARAMS,
        Some("EnableStorageFirewall"),
        &[("properties/networkAcls/defaultAction", BodyValue::Literal("\"Allow\""))],
    ),
    ActionSpec {
        product: Product::Azure,
        name: "RotateStorageAccountKeys",
        summary: "Regenerate one storage account key; the old value and every SAS signed with it stop working",
        aliases: &["RegenerateStorageKey", "RotateStorageKey"],
        params: &[SUBSCRIPTION_ID, RESOURCE_GROUP, STORAGE_ACCOUNT, KEY_NAME],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Azure RBAC: Storage Account Key Operator Service Role (Microsoft.Storage/storageAccounts/regeneratekey/action)",
        completion: Completion::Immediate,
        sensitive_results: &["/keys/*/value"],
        plan: Plan::Call(
            Call::new(Api::Arm, Method::Post, storage!("/regenerateKey"))
                .body(&[("keyName", BodyValue::Param("keyName"))]),
        ),
    },
    row(
        "RevokeStorageSAS",
        "Void every SAS of a storage account: revoke its user-delegation keys and regenerate both account keys (Azure has no per-token revocation)",
        STORAGE_PARAMS,
        Risk::Remediate,
        None,
        "Azure RBAC: Storage Account Contributor (revokeUserDelegationKeys, regeneratekey)",
        Plan::Procedure(ProcedureId("azure.storage.revoke_sas")),
    ),
    row(
        "BlockStorageContainer",
        "Stop anonymous access to one blob container (public access None)",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, STORAGE_ACCOUNT, CONTAINER],
        Risk::Contain,
        None,
        "Azure RBAC: Storage Account Contributor (Microsoft.Storage/storageAccounts/blobServices/containers/write)",
        Plan::Call(
            Call::new(Api::Arm, Method::Patch, storage!("/blobServices/default/containers/{containerName}"))
                .body(&[("properties/publicAccess", BodyValue::Literal("\"None\""))]),
        ),
    ),
    row(
        "EnableStorageDefender",
        "Turn on Defender for Storage for one account, with malware scanning on upload and sensitive data discovery",
        STORAGE_PARAMS,
        Risk::Contain,
        None,
        "Azure RBAC: Security Admin (Microsoft.Security/defenderForStorageSettings/write)",
        Plan::Call(
            Call::new(
                Api::Arm,
                Method::Put,
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Storage/storageAccounts/{storageAccountName}/providers/Microsoft.Security/defenderForStorageSettings/current?api-version=2022-12-01-preview",
            )
            .body(&[(
                "properties",
                BodyValue::Literal(
                    r#"{"isEnabled":true,"overrideSubscriptionLevelSettings":true,"malwareScanning":{"onUpload":{"isEnabled":true,"capGBPerMonth":5000}},"sensitiveDataDiscovery":{"isEnabled":true}}"#,
                ),
            )]),
        ),
    ),
    row(
        "EnableStorageSoftDelete",
        "Keep deleted blobs and containers of a storage account recoverable for a number of days",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, STORAGE_ACCOUNT, RETENTION_DAYS],
        Risk::Contain,
        Some("DisableStorageSoftDelete"),
        "Azure RBAC: Storage Account Contributor (Microsoft.Storage/storageAccounts/blobServices/write)",
        Plan::Call(BLOB_SERVICE.body(&[
            ("properties/deleteRetentionPolicy/enabled", BodyValue::Literal("true")),
            ("properties/deleteRetentionPolicy/days", BodyValue::Param("retentionDays")),
            ("properties/containerDeleteRetentionPolicy/enabled", BodyValue::Literal("true")),
            ("properties/containerDeleteRetentionPolicy/days", BodyValue::Param("retentionDays")),
        ])),
    ),
    // What the seed's name says, and destructive: deleted blobs and containers are then gone for
    // good. A responder wants `EnableStorageSoftDelete`.
    row(
        "DisableStorageSoftDelete",
        "Turn off blob and container soft delete (deleted data becomes unrecoverable)",
        STORAGE_PARAMS,
        Risk::Destructive,
        Some("EnableStorageSoftDelete"),
        "Azure RBAC: Storage Account Contributor (Microsoft.Storage/storageAccounts/blobServices/write)",
        Plan::Call(BLOB_SERVICE.body(&[
            ("properties/deleteRetentionPolicy/enabled", BodyValue::Literal("false")),
            ("properties/containerDeleteRetentionPolicy/enabled", BodyValue::Literal("false")),
        ])),
    ),
    ActionSpec::read(
        Product::Azure,
        "GetStorageAccounts",
        "List the storage accounts of a resource group",
        &["ListStorageAccounts"],
        &[SUBSCRIPTION_ID, RESOURCE_GROUP],
        "Azure RBAC: Reader",
        Call::new(
            Api::Arm,
            Method::Get,
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01",
        )
        .paged(),
    ),
    // --- Key Vault (the data plane, `vault.azure.net`) ---
    row(
        "DisableKeyVaultSecret",
        "Disable a Key Vault secret version (reads of it fail until it is enabled again)",
        SECRET_PARAMS,
        Risk::Contain,
        Some("EnableKeyVaultSecret"),
        "Key Vault RBAC: Key Vault Secrets Officer (secrets/update)",
        Plan::Procedure(ProcedureId("azure.keyvault.disable_secret")),
    ),
    row(
        "EnableKeyVaultSecret",
        "Enable a disabled Key Vault secret version again",
        SECRET_PARAMS,
        Risk::Contain,
        Some("DisableKeyVaultSecret"),
        "Key Vault RBAC: Key Vault Secrets Officer (secrets/update)",
        Plan::Procedure(ProcedureId("azure.keyvault.enable_secret")),
    ),
    row(
        "RotateKeyVaultKey",
        "Rotate a Key Vault key: a new version with new key material becomes current",
        &[VAULT, VAULT_KEY, OPTIONAL_SUBSCRIPTION, OPTIONAL_GROUP],
        Risk::Remediate,
        None,
        "Key Vault RBAC: Key Vault Crypto Officer (keys/rotate)",
        Plan::Procedure(ProcedureId("azure.keyvault.rotate_key")),
    ),
    row(
        "PurgeDeletedSecret",
        "Permanently erase a soft-deleted Key Vault secret (it can no longer be recovered)",
        &[VAULT, SECRET],
        Risk::Destructive,
        None,
        "Key Vault RBAC: Key Vault Secrets Officer (deletedsecrets/purge)",
        Plan::Procedure(ProcedureId("azure.keyvault.purge_secret")),
    ),
    ActionSpec::read(
        Product::Azure,
        "GetKeyVaults",
        "List the key vaults of a resource group",
        &["ListKeyVaults"],
        &[SUBSCRIPTION_ID, RESOURCE_GROUP],
        "Azure RBAC: Reader",
        Call::new(
            Api::Arm,
            Method::Get,
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01",
        )
        .paged(),
    ),
    // --- SQL ---
    sql_patch(
        "DisableSQLPublicAccess",
        "Refuse public-network connections to an Azure SQL server (private endpoints only)",
        Some("EnableSQLPublicAccess"),
        &[("properties/publicNetworkAccess", BodyValue::Literal("\"Disabled\""))],
    ),
    sql_patch(
        "EnableSQLPublicAccess",
        "Accept public-network connections to an Azure SQL server again (its firewall rules apply)",
        Some("DisableSQLPublicAccess"),
        &[("properties/publicNetworkAccess", BodyValue::Literal("\"Enabled\""))],
    ),
    row(
        "BlockSQLIP",
        "Remove every server firewall rule that admits an address (SQL firewall rules only allow; there is no deny rule)",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER, IP_ADDRESS],
        Risk::Contain,
        None,
        "Azure RBAC: SQL Server Contributor (Microsoft.Sql/servers/firewallRules/delete)",
        Plan::Procedure(ProcedureId("azure.sql.block_ip")),
    ),
    row(
        "AllowSQLIP",
        "Add a server firewall rule admitting one address",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER, RULE_NAME, IP_ADDRESS],
        Risk::Contain,
        Some("RemoveSQLFirewallRule"),
        "Azure RBAC: SQL Server Contributor (Microsoft.Sql/servers/firewallRules/write)",
        Plan::Call(Call::new(Api::Arm, Method::Put, sql!("/firewallRules/{ruleName}")).body(&[
            ("properties/startIpAddress", BodyValue::Param("ipAddress")),
            ("properties/endIpAddress", BodyValue::Param("ipAddress")),
        ])),
    ),
    row(
        "RemoveSQLFirewallRule",
        "Delete a server firewall rule",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER, RULE_NAME],
        Risk::Contain,
        Some("AllowSQLIP"),
        "Azure RBAC: SQL Server Contributor (Microsoft.Sql/servers/firewallRules/delete)",
        Plan::Call(Call::new(Api::Arm, Method::Delete, sql!("/firewallRules/{ruleName}"))),
    ),
    ActionSpec {
        product: Product::Azure,
        name: "RotateSQLPassword",
        summary: "Set a new administrator password on an Azure SQL server (generated unless given; shown once)",
        aliases: &["ResetSQLPassword"],
        params: &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER, NEW_PASSWORD],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Azure RBAC: SQL Server Contributor (Microsoft.Sql/servers/write)",
        // The procedure follows ARM's operation itself, so the one-time reveal is its answer.
        completion: Completion::Immediate,
        sensitive_results: &["/administratorLoginPassword"],
        plan: Plan::Procedure(ProcedureId("azure.sql.rotate_password")),
    },
    row(
        "EnableSQLAudit",
        "Turn on database auditing (authentications and batches), to a storage account or Azure Monitor",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, SERVER, DATABASE, STORAGE_ENDPOINT_ACCOUNT],
        Risk::Contain,
        Some("DisableSQLAudit"),
        "Azure RBAC: SQL Security Manager (Microsoft.Sql/servers/databases/auditingSettings/write)",
        Plan::Call(Call::new(Api::Arm, Method::Put, sql!("/databases/{databaseName}/auditingSettings/default")).body(&[
            ("properties/state", BodyValue::Literal("\"Enabled\"")),
            ("properties/retentionDays", BodyValue::Literal("90")),
            ("properties/auditActionsAndGroups", BodyValue::Literal(AUDIT_GROUPS)),
            ("properties/storageEndpoint", BodyValue::Format("https://{storageAccountName}.blob.core.windows.net/")),
            ("properties/isAzureMonitorTargetEnabled", BodyValue::Literal("true")),
        ])),
    ),
    row(
        "DisableSQLAudit",
        "Turn off database auditing",
        DATABASE_PARAMS,
        Risk::Contain,
        Some("EnableSQLAudit"),
        "Azure RBAC: SQL Security Manager (Microsoft.Sql/servers/databases/auditingSettings/write)",
        Plan::Call(
            Call::new(Api::Arm, Method::Put, sql!("/databases/{databaseName}/auditingSettings/default"))
                .body(&[("properties/state", BodyValue::Literal("\"Disabled\""))]),
        ),
    ),
    row(
        "EnableSQLTDE",
        "Turn on transparent data encryption for a database",
        DATABASE_PARAMS,
        Risk::Contain,
        None,
        "Azure RBAC: SQL DB Contributor (Microsoft.Sql/servers/databases/transparentDataEncryption/write)",
        Plan::Call(
            Call::new(Api::Arm, Method::Put, sql!("/databases/{databaseName}/transparentDataEncryption/current"))
                .body(&[("properties/state", BodyValue::Literal("\"Enabled\""))]),
        ),
    ),
];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[
    verify::Check {
        product: Product::Azure,
        action: "DisableStoragePublicAccess",
        read: STORAGE_READ,
        query: &[],
        expect: &[("/properties/allowBlobPublicAccess", "false")],
    },
    verify::Check {
        product: Product::Azure,
        action: "EnableStorageFirewall",
        read: STORAGE_READ,
        query: &[],
        expect: &[("/properties/networkAcls/bypass", "\"AzureServices\"")],
    },
];
