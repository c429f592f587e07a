//! Key Vault data-plane procedures (catalog `azure/data.rs`): disable or enable a secret
//! version, rotate a key, purge a soft-deleted secret (api-version 7.5).
//!
//! Each vault is its own host at Microsoft (`https://{vault}.vault.azure.net`); Riposte calls the
//! tenant's configured Key Vault endpoint (`hosts.key_vault`). A request naming another vault
//! is refused before anything is sent, so an action never lands on the wrong vault: the
//! configured vault is the first label of a `*.vault.azure.net` (or sovereign) host, or the last
//! path segment of any other base (a proxy, the sandbox's `/keyvault/{vault}`).

use super::arm::{carried, invalid};
use crate::EngineError;
use crate::plan::{Carried, encode_segment};
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, ApiResponse, Method};

const VERSION: &str = "7.5";
const VAULT_SUFFIXES: &[&str] = &[".vault.azure.net", ".vault.usgovcloudapi.net", ".vault.azure.cn"];

/// The vault a configured Key Vault base reaches.
fn configured_vault(base: &url::Url) -> Option<String> {
    let host = base.host_str()?.to_ascii_lowercase();
    if let Some(suffix) = VAULT_SUFFIXES.iter().find(|s| host.ends_with(*s)) {
        return Some(host.trim_end_matches(suffix).to_string());
    }
    base.path_segments()?.rfind(|s| !s.is_empty()).map(str::to_ascii_lowercase)
}

/// Refuses a vault other than the tenant's configured one (a 400 naming `vaultName`).
fn check_vault(ctx: &Ctx<'_>, vault: &str) -> Result<(), EngineError> {
    let base = ctx.engine.upstream().clouds_of(ctx.creds).base(Api::KeyVault).cloned();
    let Some(base) = base else {
        return Err(invalid(
            "vaultName",
            "this tenant has no Key Vault endpoint configured",
            "set the tenant's hosts.key_vault to https://{vault}.vault.azure.net",
        ));
    };
    match configured_vault(&base) {
        Some(v) if v.eq_ignore_ascii_case(vault) => Ok(()),
        other => Err(invalid(
            "vaultName",
            format!(
                "'{vault}' is not this tenant's configured Key Vault ({})",
                other.unwrap_or_else(|| base.to_string())
            ),
            "name the configured vault, or configure the tenant's hosts.key_vault for this one",
        )),
    }
}

async fn call(ctx: &Ctx<'_>, method: Method, path: String, body: Option<Value>) -> Result<ApiResponse, EngineError> {
    let mut req = ApiRequest::new(Api::KeyVault, method, path).with_query("api-version", VERSION);
    req.body = body;
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?)
}

/// A secret version's `enabled` attribute (`DisableKeyVaultSecret` / `EnableKeyVaultSecret`).
pub struct SetSecretEnabled<const ENABLED: bool> {
    vault: String,
    secret: String,
    version: Option<String>,
}

const SECRET_READS: &[Read] = &[
    required("vaultName"),
    required("secretName"),
    optional("secretVersion"),
    optional("subscriptionId"),
    optional("resourceGroup"),
];

impl<const ENABLED: bool> TryFrom<&Params> for SetSecretEnabled<ENABLED> {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(SetSecretEnabled {
            vault: args.text("vaultName")?,
            secret: args.text("secretName")?,
            version: args.opt_text("secretVersion")?,
        })
    }
}

impl<const ENABLED: bool> Procedure for SetSecretEnabled<ENABLED> {
    const ID: ProcedureId = if ENABLED {
        ProcedureId("azure.keyvault.enable_secret")
    } else {
        ProcedureId("azure.keyvault.disable_secret")
    };
    const READS: &'static [Read] = SECRET_READS;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        check_vault(ctx, &self.vault)?;
        // An empty version names the current one.
        let version = self.version.as_deref().map(encode_segment).unwrap_or_default();
        let path = format!("/secrets/{}/{version}", encode_segment(&self.secret));
        let resp = call(ctx, Method::Patch, path, Some(json!({"attributes": {"enabled": ENABLED}}))).await?;
        Ok(carried(resp.body.clone(), &[&resp]))
    }
}

/// `RotateKeyVaultKey`: the vault's own rotation (`POST /keys/{name}/rotate`), which keeps the
/// key's type and operations (the seed re-created the key by hand).
pub struct RotateKey {
    vault: String,
    key: String,
}

impl TryFrom<&Params> for RotateKey {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RotateKey { vault: args.text("vaultName")?, key: args.text("keyName")? })
    }
}

impl Procedure for RotateKey {
    const ID: ProcedureId = ProcedureId("azure.keyvault.rotate_key");
    const READS: &'static [Read] =
        &[required("vaultName"), required("keyName"), optional("subscriptionId"), optional("resourceGroup")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        check_vault(ctx, &self.vault)?;
        let resp =
            call(ctx, Method::Post, format!("/keys/{}/rotate", encode_segment(&self.key)), Some(json!({}))).await?;
        let data = json!({"keyName": self.key, "kid": resp.body.pointer("/key/kid"), "attributes": resp.body.get("attributes")});
        Ok(carried(data, &[&resp]))
    }
}

/// `PurgeDeletedSecret`: permanent deletion of a soft-deleted secret (204).
pub struct PurgeSecret {
    vault: String,
    secret: String,
}

impl TryFrom<&Params> for PurgeSecret {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(PurgeSecret { vault: args.text("vaultName")?, secret: args.text("secretName")? })
    }
}

impl Procedure for PurgeSecret {
    const ID: ProcedureId = ProcedureId("azure.keyvault.purge_secret");
    const READS: &'static [Read] = &[required("vaultName"), required("secretName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        check_vault(ctx, &self.vault)?;
        let resp = call(ctx, Method::Delete, format!("/deletedsecrets/{}", encode_segment(&self.secret)), None).await?;
        Ok(carried(json!({"secretName": self.secret, "purged": true}), &[&resp]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_vault_comes_from_the_host_or_the_path() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(configured_vault(&u("https://kv-prod.vault.azure.net")).as_deref(), Some("kv-prod"));
        assert_eq!(configured_vault(&u("https://KV-Gov.vault.usgovcloudapi.net/")).as_deref(), Some("kv-gov"));
        assert_eq!(configured_vault(&u("http://127.0.0.1:9/keyvault/kv-contoso-1")).as_deref(), Some("kv-contoso-1"));
    }
}
