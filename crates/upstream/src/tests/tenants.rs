//! Per-tenant clouds and credentials: a certificate tenant signs an assertion the token endpoint
//! can verify, a sovereign tenant asks for its own cloud's audience, and families a tenant has
//! not configured (or cannot authenticate to) are refused before anything is sent.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use url::Url;

use super::mock::{creds, spawn_mock};
use crate::{Api, ApiRequest, Certificate, Cloud, Clouds, Credential, TenantCredentials, UpstreamError};

#[tokio::test]
async fn certificate_tenant_sends_a_verifiable_client_assertion() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["riposte".into()]).unwrap().self_signed(&key).unwrap();
    let certificate = Certificate::from_pem(&cert.pem(), &SecretString::from(key.serialize_pem())).unwrap();
    let tenant =
        TenantCredentials::with_credential("tenant-c", "client-c", Credential::Certificate(certificate.clone()));

    upstream.call(&tenant, ApiRequest::get(Api::Graph, "/v1.0/users")).await.unwrap();

    let (path, kind, jwt) = mock.state.assertions.lock().first().cloned().expect("an assertion was sent");
    assert_eq!(kind, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let token_url = mock.url(&path);
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[token_url.as_str()]);
    v.set_issuer(&["client-c"]);
    v.sub = Some("client-c".into());
    let public = DecodingKey::from_rsa_pem(key.public_key_pem().as_bytes()).unwrap();
    jsonwebtoken::decode::<serde_json::Value>(&jwt, &public, &v)
        .expect("the assertion verifies with the certificate's key");
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.x5t_s256.as_deref(), Some(certificate.thumbprint_s256()));
}

#[tokio::test]
async fn sovereign_tenant_asks_for_its_clouds_audience() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    let url = |p: &str| Url::parse(&mock.url(p)).unwrap();
    let high = Clouds::of(Cloud::GccHigh).with_login(url("/login")).with_base(Api::Graph, url("/graph"));
    let tenant = creds().in_clouds(high);

    upstream.call(&tenant, ApiRequest::get(Api::Graph, "/v1.0/users")).await.unwrap();
    upstream.call(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users")).await.unwrap();

    let scopes = mock.state.scopes.lock().clone();
    assert_eq!(
        scopes,
        vec!["https://graph.microsoft.us/.default".to_string(), "https://graph.microsoft.com/.default".to_string()]
    );
    // The GCC High tenant's MDE and ARM hosts are Microsoft's, not the mock's.
    assert_eq!(
        upstream.clouds_of(&tenant).base(Api::Mde).and_then(Url::host_str),
        Some("api-gov.securitycenter.microsoft.us")
    );
}

#[tokio::test]
async fn unconfigured_or_unsigned_families_are_refused_before_sending() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    assert_eq!(upstream.configured_apis(&creds()), vec![Api::Mde, Api::Graph, Api::Arm, Api::ExchangeOnline]);

    let err = upstream.call(&creds(), ApiRequest::get(Api::CloudApps, "/api/v1/alerts/")).await.unwrap_err();
    assert!(matches!(&err, UpstreamError::Config(m) if m.contains("cloud_apps")), "{err}");

    let portal = Url::parse(&mock.url("/mcas")).unwrap();
    let with_portal = creds().in_clouds(
        Clouds::microsoft().with_login(Url::parse(&mock.url("/login")).unwrap()).with_base(Api::CloudApps, portal),
    );
    assert!(upstream.configured_apis(&with_portal).contains(&Api::CloudApps));
    upstream.check_token(&with_portal, Api::CloudApps).await.unwrap();
    assert_eq!(
        mock.state.scopes.lock().last().map(String::as_str),
        Some("05a65629-4c1b-48c1-a78b-804c4abdd4af/.default")
    );

    let ec2 = creds()
        .in_clouds(Clouds::microsoft().with_base(Api::Ec2, Url::parse("https://ec2.us-east-1.amazonaws.com").unwrap()));
    let err = upstream.call(&ec2, ApiRequest::get(Api::Ec2, "/")).await.unwrap_err();
    assert!(matches!(&err, UpstreamError::Config(m) if m.contains("SigV4")), "{err}");
    assert!(!upstream.configured_apis(&ec2).contains(&Api::Ec2), "a client secret does not serve AWS");
    assert_eq!(mock.state.api_hits(), 0);
}
