//! Users named by UPN, object id or mail address, resolved to their object id; and the
//! password reset.
//!
//! [`user_params`] runs before every Entra ID action (as MDE's device resolution does): each
//! user parameter is looked up in Graph (`GET /users/{id}` for an object id, else
//! `$filter=userPrincipalName eq '..' or mail eq '..'`) and replaced by the one object id it
//! names. No match is a 400 saying none matched; several (a mail address that is also another
//! user's UPN) is a 400 listing the candidates. Never an action on a guess, and every later
//! call (Identity Protection's `userIds`, PIM's `principalId`, CA's `includeUsers`) gets the
//! object id Graph requires there.

use super::steps::{self, Steps, quoted};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ActionSpec, ParamError, ParamKind, Params, ProcedureId, Product};
use rand::Rng;
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, TenantCredentials, Upstream};

/// Candidates an ambiguity error lists.
const LISTED: usize = 10;
const SELECT: &str = "id,userPrincipalName,mail,displayName,accountEnabled";

/// Replace every Entra ID user parameter of `spec` with the object id it names.
pub async fn user_params(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &ActionSpec,
    mut params: Params,
) -> Result<Params, EngineError> {
    if spec.product != Product::EntraId {
        return Ok(params);
    }
    for p in spec.params.iter().filter(|p| p.kind == ParamKind::UserRef) {
        let Some(Value::String(given)) = params.get(p.name).cloned() else { continue };
        let user = resolve(upstream, creds, p.name, &given).await?;
        if let Some(id) = user["id"].as_str() {
            params.insert(p.name, Value::String(id.to_ascii_lowercase()));
        }
    }
    Ok(params)
}

/// The one user `given` names, or a 400 naming `field`.
pub async fn resolve(
    upstream: &Upstream,
    creds: &TenantCredentials,
    field: &str,
    given: &str,
) -> Result<Value, EngineError> {
    let given = given.trim();
    let candidates = if uuid::Uuid::parse_str(given).is_ok() {
        let req = ApiRequest::get(Api::Graph, format!("/v1.0/users/{given}")).with_query("$select", SELECT);
        match upstream.call(creds, req).await {
            Ok(resp) => vec![resp.body],
            Err(upstream::UpstreamError::Api { status: 404, .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        }
    } else {
        let q = quoted(given);
        let req = ApiRequest::get(Api::Graph, "/v1.0/users")
            .with_query("$filter", format!("userPrincipalName eq {q} or mail eq {q}"))
            .with_query("$select", SELECT);
        upstream.get_paged(creds, req, 100).await?.items
    };
    pick(field, given, candidates)
}

fn pick(field: &str, given: &str, mut users: Vec<Value>) -> Result<Value, EngineError> {
    match users.len() {
        1 => Ok(users.remove(0)),
        0 => Err(EngineError::InvalidParam(ParamError {
            field: field.to_string(),
            message: format!("no user matched '{given}' (by object id, UPN or mail address)"),
            hint: "check the spelling, or send the user's object id".into(),
        })),
        n => {
            let mut listed: Vec<String> = users
                .iter()
                .take(LISTED)
                .map(|u| {
                    format!(
                        "{} ({}, mail {})",
                        u["id"].as_str().unwrap_or("?"),
                        u["userPrincipalName"].as_str().unwrap_or("?"),
                        u["mail"].as_str().unwrap_or("none")
                    )
                })
                .collect();
            if n > LISTED {
                listed.push(format!("and {} more", n - LISTED));
            }
            Err(EngineError::InvalidParam(ParamError {
                field: field.to_string(),
                message: format!("'{given}' matches {n} users: {}", listed.join("; ")),
                hint: "send the object id of the one you mean".into(),
            }))
        }
    }
}

/// Each of `given` resolved (for lists such as a policy's excluded users), duplicates dropped.
pub async fn resolve_all(ctx: &Ctx<'_>, field: &str, given: &[String]) -> Result<Vec<String>, EngineError> {
    let mut ids: Vec<String> = Vec::new();
    for g in given {
        let u = resolve(ctx.engine.upstream(), ctx.creds, field, g).await?;
        let id = u["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `ResetPassword`: `PATCH /users/{id}` with `passwordProfile` (the caller's password, or a
/// generated one) and `forceChangePasswordNextSignIn`. A generated password is the answer's
/// `newPassword`, which the catalog declares sensitive: redacted before the operation, audit or
/// log sees it, shown once to a caller who sent `Prefer: reveal-secrets`.
pub struct ResetPassword {
    user: String,
    password: Option<String>,
    force_change: bool,
}

impl TryFrom<&Params> for ResetPassword {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(ResetPassword {
            user: args.text("userId")?,
            password: args.opt_text("newPassword")?,
            force_change: args.bool("changeAtNextSignIn")?,
        })
    }
}

impl Procedure for ResetPassword {
    const ID: ProcedureId = ProcedureId("entra.users.reset_password");
    const READS: &'static [Read] = &[required("userId"), optional("newPassword"), required("changeAtNextSignIn")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let generated = self.password.is_none();
        let password = self.password.unwrap_or_else(generate_password);
        let body =
            json!({"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": self.force_change}});
        let resp = steps::graph(ctx, steps::patch(format!("/v1.0/users/{}", self.user), body)).await?;
        let mut data = json!({
            "userId": self.user,
            "passwordChanged": true,
            "generated": generated,
            "forceChangePasswordNextSignIn": self.force_change,
        });
        if generated {
            data["newPassword"] = password.into();
        }
        let mut steps = Steps::default();
        steps.request_ids.extend(resp.request_id);
        Ok(Carried {
            data,
            request_ids: steps.request_ids,
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// 16 characters with upper and lower case, digits and symbols (Entra's rule asks three of four).
fn generate_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!@#$%^&*-_=+?";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| set[rng.random_range(0..set.len())] as char;
    let mut chars: Vec<char> = vec![pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    while chars.len() < 16 {
        chars.push(pick(&all));
    }
    // Shuffle so the classes are not always in the same places.
    for i in (1..chars.len()).rev() {
        let j = rand::rng().random_range(0..=i);
        chars.swap(i, j);
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_or_several_users_is_a_400_naming_the_field() {
        let err = pick("userId", "ghost@contoso.com", vec![]).unwrap_err();
        let EngineError::InvalidParam(p) = err else { panic!("{err:?}") };
        assert_eq!(p.field, "userId");
        assert!(p.message.contains("no user matched 'ghost@contoso.com'"), "{}", p.message);
        let two = vec![
            json!({"id": "a", "userPrincipalName": "alice@contoso.com", "mail": "boss@contoso.com"}),
            json!({"id": "b", "userPrincipalName": "boss@contoso.com", "mail": "boss@contoso.com"}),
        ];
        let EngineError::InvalidParam(p) = pick("userId", "boss@contoso.com", two).unwrap_err() else { panic!() };
        assert!(p.message.contains("matches 2 users") && p.message.contains("a (alice@contoso.com"), "{}", p.message);
        assert_eq!(pick("userId", "x", vec![json!({"id": "c"})]).unwrap()["id"], "c");
    }

    #[test]
    fn generated_passwords_have_every_class() {
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.chars().count(), 16);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()) && p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| !c.is_alphanumeric()));
        }
    }
}
