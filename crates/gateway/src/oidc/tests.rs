//! Claim validation, role mapping, the key-refresh throttle and signatures (RS256 as Entra
//! signs, ES256 as the sandbox does). The PEM files beside this are test-only keys.

use super::*;
use axum::http::HeaderValue;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

const TENANT: &str = "7c1b2d3e-0000-4000-8000-000000000001";
const RSA_PEM: &str = include_str!("test_rsa_key.pem");
const EC_PEM: &str = include_str!("test_ec_key.pem");

fn config() -> EntraConfig {
    let grant = |role: &str, tenants: &[&str]| RoleGrant {
        role: role.into(),
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
    };
    EntraConfig {
        tenant: TENANT.into(),
        issuer: None,
        audience: "api://riposte".into(),
        client_id: Some("11111111-2222-3333-4444-555555555555".into()),
        roles: BTreeMap::from([
            ("Riposte.Reader".to_string(), grant("reader", &["*"])),
            ("Riposte.Responder".to_string(), grant("responder", &["t1", "t2"])),
            ("Riposte.Responder.T3".to_string(), grant("responder", &["t3"])),
            ("Riposte.Admin".to_string(), grant("admin", &["*"])),
        ]),
        leeway_seconds: None,
        refetch_min_seconds: None,
        refresh_seconds: None,
    }
}

const NOW: i64 = 1_800_000_000;

fn claims() -> TokenClaims {
    TokenClaims {
        iss: Some(format!("https://login.microsoftonline.com/{TENANT}/v2.0")),
        aud: Some(json!("api://riposte")),
        exp: Some(NOW + 3600),
        nbf: Some(NOW - 10),
        tid: Some(TENANT.into()),
        roles: vec!["Riposte.Responder".into()],
        preferred_username: Some("alice@contoso.com".into()),
        upn: Some("alice.upn@contoso.com".into()),
        oid: Some("00000000-0000-0000-0000-00000000a11c".into()),
    }
}

#[test]
fn a_good_token_passes() {
    assert_eq!(validate_claims(&config(), &claims(), NOW), Ok(()));
}

#[test]
fn issuer_must_match_the_tenants_v2_issuer() {
    let mut c = claims();
    c.iss = Some(format!("https://sts.windows.net/{TENANT}/"));
    assert!(matches!(validate_claims(&config(), &c, NOW), Err(TokenRejection::WrongIssuer { .. })));
    c.iss = None;
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::MissingClaim("iss")));
}

#[test]
fn audience_is_the_app_id_uri_or_the_client_id() {
    let mut c = claims();
    c.aud = Some(json!("11111111-2222-3333-4444-555555555555"));
    assert_eq!(validate_claims(&config(), &c, NOW), Ok(()));
    c.aud = Some(json!(["https://graph.microsoft.com", "api://riposte/"]));
    assert_eq!(validate_claims(&config(), &c, NOW), Ok(()));
    c.aud = Some(json!("https://graph.microsoft.com"));
    let err = validate_claims(&config(), &c, NOW).unwrap_err();
    assert_eq!(
        err,
        TokenRejection::WrongAudience { got: "https://graph.microsoft.com".into(), want: "api://riposte".into() }
    );
    c.aud = None;
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::MissingClaim("aud")));
}

#[test]
fn lifetimes_allow_only_the_leeway() {
    let mut c = claims();
    c.exp = Some(NOW - 30);
    assert_eq!(validate_claims(&config(), &c, NOW), Ok(()), "inside the 60 s leeway");
    c.exp = Some(NOW - 61);
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::Expired(NOW - 61)));
    c.exp = None;
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::MissingClaim("exp")));
    let mut c = claims();
    c.nbf = Some(NOW + 61);
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::NotYetValid(NOW + 61)));
    c.nbf = Some(NOW + 59);
    assert_eq!(validate_claims(&config(), &c, NOW), Ok(()));
    let cfg = EntraConfig { leeway_seconds: Some(0), ..config() };
    let mut c = claims();
    c.exp = Some(NOW - 1);
    assert_eq!(validate_claims(&cfg, &c, NOW), Err(TokenRejection::Expired(NOW - 1)));
}

#[test]
fn tenant_must_be_the_configured_one() {
    let mut c = claims();
    c.tid = Some("another-tenant".into());
    assert!(matches!(validate_claims(&config(), &c, NOW), Err(TokenRejection::WrongTenant { .. })));
    c.tid = None;
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::MissingClaim("tid")));
}

#[test]
fn identity_prefers_preferred_username_then_upn_then_oid() {
    let mut c = claims();
    assert_eq!(c.identity().as_deref(), Some("alice@contoso.com"));
    c.preferred_username = Some("  ".into());
    assert_eq!(c.identity().as_deref(), Some("alice.upn@contoso.com"));
    c.upn = None;
    assert_eq!(c.identity().as_deref(), Some("00000000-0000-0000-0000-00000000a11c"));
    c.oid = None;
    assert_eq!(c.identity(), None);
    assert_eq!(validate_claims(&config(), &c, NOW), Err(TokenRejection::MissingClaim("oid")));
}

#[test]
fn roles_map_to_the_highest_role_and_its_tenants() {
    let cfg = config();
    let p = principal_for(&cfg, "alice".into(), &["Riposte.Responder".into()]).unwrap();
    assert_eq!((p.role, p.tenants.clone()), (Role::Responder, vec!["t1".to_string(), "t2".to_string()]));
    // A reader grant on every tenant does not widen a responder grant's tenants.
    let p = principal_for(
        &cfg,
        "alice".into(),
        &["Riposte.Reader".into(), "Riposte.Responder".into(), "Riposte.Responder.T3".into()],
    )
    .unwrap();
    assert_eq!((p.role, p.tenants), (Role::Responder, vec!["t1".to_string(), "t2".into(), "t3".into()]));
    let p = principal_for(&cfg, "bob".into(), &["Riposte.Admin".into(), "Unmapped".into()]).unwrap();
    assert_eq!((p.role, p.tenants.is_empty(), p.name.as_str()), (Role::Admin, true, "bob"));
    assert!(principal_for(&cfg, "eve".into(), &["Unmapped".into()]).is_none());
    assert!(principal_for(&cfg, "eve".into(), &[]).is_none());
}

#[test]
fn unknown_kids_refetch_at_most_once_per_interval() {
    let t0 = Instant::now();
    let (min, refresh) = (Duration::from_secs(60), Duration::from_secs(3600));
    let at = |secs: u64| t0 + Duration::from_secs(secs);
    assert_eq!(refresh_decision(None, false, t0, min, refresh), Refresh::Fetch, "never fetched");
    assert_eq!(refresh_decision(Some(t0), true, at(10), min, refresh), Refresh::Use);
    assert_eq!(refresh_decision(Some(t0), false, at(10), min, refresh), Refresh::Refuse, "too soon");
    assert_eq!(refresh_decision(Some(t0), false, at(60), min, refresh), Refresh::Fetch);
    assert_eq!(refresh_decision(Some(t0), true, at(3600), min, refresh), Refresh::Fetch, "periodic refresh");
}

fn key_set(jwks: Value) -> HashMap<String, Arc<VerifyKey>> {
    parse_key_set(&json!({ "keys": jwks }))
}

fn jwk(pem: &str, alg: Algorithm, kid: &str) -> (EncodingKey, Value) {
    let enc = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
    };
    let mut jwk = serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, alg).unwrap()).unwrap();
    jwk["kid"] = kid.into();
    jwk["use"] = "sig".into();
    (enc, jwk)
}

fn sign(enc: &EncodingKey, alg: Algorithm, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, enc).unwrap()
}

fn wire_claims() -> Value {
    json!({
        "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "aud": "api://riposte", "exp": NOW + 3600, "nbf": NOW - 10, "tid": TENANT,
        "roles": ["Riposte.Responder"], "preferred_username": "alice@contoso.com", "oid": "a11c"
    })
}

#[test]
fn rs256_and_es256_signatures_verify_and_tampering_does_not() {
    let (rsa, rsa_jwk) = jwk(RSA_PEM, Algorithm::RS256, "rsa-1");
    let (ec, ec_jwk) = jwk(EC_PEM, Algorithm::ES256, "ec-1");
    let keys = key_set(json!([rsa_jwk, ec_jwk, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]));
    assert_eq!(keys.len(), 2, "only RSA and P-256 keys are kept");
    let token = sign(&rsa, Algorithm::RS256, "rsa-1", &wire_claims());
    let got = verify_signature(&token, &keys["rsa-1"]).unwrap();
    assert_eq!(got.identity().as_deref(), Some("alice@contoso.com"));
    assert_eq!(validate_claims(&config(), &got, NOW), Ok(()));
    let token = sign(&ec, Algorithm::ES256, "ec-1", &wire_claims());
    assert!(verify_signature(&token, &keys["ec-1"]).is_ok());

    // Claims changed after signing: the signature no longer matches.
    let token = sign(&rsa, Algorithm::RS256, "rsa-1", &wire_claims());
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut forged = wire_claims();
    forged["roles"] = json!(["Riposte.Admin"]);
    parts[1] = base64_url(&serde_json::to_vec(&forged).unwrap());
    let err = verify_signature(&parts.join("."), &keys["rsa-1"]).unwrap_err();
    assert_eq!(err.message, TokenRejection::BadSignature.to_string());
    assert_eq!(err.status, StatusCode::UNAUTHORIZED);
    // Signed by a key of another kind than the one named: refused, never verified with it.
    let token = sign(&ec, Algorithm::ES256, "rsa-1", &wire_claims());
    assert!(verify_signature(&token, &keys["rsa-1"]).is_err());
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn refusals_challenge_without_echoing_the_token() {
    let (rsa, _) = jwk(RSA_PEM, Algorithm::RS256, "rsa-1");
    let token = sign(&rsa, Algorithm::RS256, "rsa-1", &wire_claims());
    let err = challenge(TokenRejection::Expired(NOW));
    let resp = axum::response::IntoResponse::into_response(err);
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let www = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(www.starts_with("Bearer error=\"invalid_token\", error_description=\"the token expired"), "{www}");
    assert!(!www.contains(&token[..20]));
}

#[test]
fn only_jwts_in_the_authorization_header_are_entra_tokens() {
    let (rsa, _) = jwk(RSA_PEM, Algorithm::RS256, "rsa-1");
    let token = sign(&rsa, Algorithm::RS256, "rsa-1", &wire_claims());
    let mut h = HeaderMap::new();
    h.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    assert_eq!(bearer_jwt(&h), Some(token.as_str()));
    h.insert("authorization", HeaderValue::from_static("Bearer rk_0123456789abcdef0123456789abcdef01234567"));
    assert_eq!(bearer_jwt(&h), None, "API keys as bearer stay API keys");
    h.insert("authorization", HeaderValue::from_static("Basic eyJh.eyJh.c2ln"));
    assert_eq!(bearer_jwt(&h), None);
}

#[test]
fn configuration_mistakes_name_the_setting() {
    assert_eq!(config().check(), Ok(()));
    assert_eq!(config().issuer(), format!("https://login.microsoftonline.com/{TENANT}/v2.0"));
    let mut bad = config();
    bad.roles.get_mut("Riposte.Reader").unwrap().role = "superuser".into();
    assert!(bad.check().unwrap_err().contains("\"Riposte.Reader\": role \"superuser\""));
    let mut bad = config();
    bad.roles.get_mut("Riposte.Admin").unwrap().tenants.clear();
    assert!(bad.check().unwrap_err().contains("tenants is empty"));
    let bad = EntraConfig { audience: " ".into(), ..config() };
    assert!(bad.check().unwrap_err().contains("audience"));
}

#[test]
fn environment_builds_or_overrides_the_section() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    };
    assert!(EntraConfig::from_env_over(None, env(&[])).unwrap().is_none());
    let from_env = EntraConfig::from_env_over(
        None,
        env(&[
            ("RIPOSTE_ENTRA_TENANT", TENANT),
            ("RIPOSTE_ENTRA_AUDIENCE", "api://riposte"),
            ("RIPOSTE_ENTRA_ROLES", r#"{"Riposte.Responder": {"role": "responder", "tenants": ["*"]}}"#),
        ]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(from_env.roles["Riposte.Responder"].role, "responder");
    let over =
        EntraConfig::from_env_over(Some(config()), env(&[("RIPOSTE_ENTRA_ISSUER", "https://login.example/x/v2.0")]))
            .unwrap()
            .unwrap();
    assert_eq!((over.issuer(), over.roles.len()), ("https://login.example/x/v2.0".to_string(), 4));
    let missing = EntraConfig::from_env_over(None, env(&[("RIPOSTE_ENTRA_TENANT", TENANT)])).unwrap_err();
    assert!(missing.contains("RIPOSTE_ENTRA_AUDIENCE"));
}
