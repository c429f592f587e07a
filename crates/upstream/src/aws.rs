//! AWS: EC2 Query API calls, SigV4-signed, and STS `AssumeRole` when a tenant names a role.
//!
//! A call is the same story as a Microsoft one (`client.rs`), with a signature instead of a
//! token: resolve the endpoint → wait for the tenant's EC2 budget → get signing keys (the
//! configured ones, or an assumed role's session, cached until five minutes before it expires)
//! → sign (`aws-sigv4`, a fresh signature per attempt) → send a form POST
//! `Action=...&Version=2016-11-15&...` → on throttling (`RequestLimitExceeded`, 503) wait and try
//! again → read the XML answer into JSON (`aws/xml.rs`).
//!
//! AWS's errors become [`UpstreamError::Api`] carrying AWS's own code (`AuthFailure`,
//! `InvalidClientTokenId`, `UnauthorizedOperation`, `InvalidInstanceID.NotFound`, ...), so they
//! travel the engine's one mapping like Microsoft's: 401/403 a 502 naming the code (our
//! credential, not the caller's request), other 4xx the caller's answer. The Query API is
//! hand-written on purpose: the AWS SDK's EC2 crate costs minutes of compile and gigabytes of
//! memory (docs/reference/dependencies.md §1 "Cloud upstreams").
//!
//! Secrets: the keys live in `SecretString`s and go only into a signature; the session keys STS
//! hands out are kept the same way and never logged.

mod xml;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

pub use xml::items;

use crate::api::{Api, Budget, Method};
use crate::budget::{Bucket, buckets_for};
use crate::client::Upstream;
use crate::config::TenantCredentials;
use crate::credentials::{AssumeRole, AwsCredentials, Credential};
use crate::error::{UpstreamError, from_transport};
use crate::retry;

/// The EC2 Query API version every call names (the current one).
pub const EC2_VERSION: &str = "2016-11-15";
/// The STS Query API version.
const STS_VERSION: &str = "2011-06-15";
/// How long an assumed role's session is asked for (STS's default and the role default maximum).
const SESSION_SECONDS: u32 = 3600;
/// A session is renewed this long before it expires, so no call is signed with keys about to die.
const SESSION_MARGIN: Duration = Duration::from_secs(300);
/// AWS's throttling codes: the call was not carried out, waiting and repeating is safe.
const THROTTLING_CODES: &[&str] = &["RequestLimitExceeded", "Throttling", "ThrottlingException", "ServiceUnavailable"];
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// A successful EC2 (or STS) answer: the response element's content as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsResponse {
    /// The response element's name, e.g. `CreateNetworkAclEntryResponse`.
    pub element: String,
    /// Its content: lists as arrays, structures as objects, scalars as strings (`aws/xml.rs`).
    pub body: Value,
    /// AWS's request id (`requestId`), for support cases and CloudTrail.
    pub request_id: Option<String>,
    /// HTTP attempts this took (1 = no retry).
    pub attempts: u32,
}

/// The keys one signature is made with: the configured ones, or an assumed role's session.
#[derive(Clone)]
struct SigningKeys {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    /// When temporary keys expire; `None` for long-term keys.
    expires: Option<SystemTime>,
}

impl SigningKeys {
    fn configured(aws: &AwsCredentials) -> SigningKeys {
        SigningKeys {
            access_key_id: aws.access_key_id.clone(),
            secret_access_key: aws.secret_access_key.clone(),
            session_token: aws.session_token.clone(),
            expires: None,
        }
    }

    /// Still good for a while (long-term keys always are).
    fn fresh(&self) -> bool {
        self.expires.is_none_or(|at| at > SystemTime::now() + SESSION_MARGIN)
    }
}

/// Assumed-role sessions per (tenant, role ARN). The lock is held across the STS call, so
/// concurrent first calls of a tenant assume the role once (single flight).
#[derive(Default)]
pub(crate) struct Sessions {
    cache: tokio::sync::Mutex<HashMap<(String, String), SigningKeys>>,
}

/// Where and how one signed request goes.
#[derive(Clone)]
struct Signed<'a> {
    /// The family whose metrics and budget it counts against.
    api: Api,
    url: &'a Url,
    /// The SigV4 service name: `ec2`, `sts`.
    service: &'static str,
    region: &'a str,
    body: String,
    buckets: Vec<Bucket>,
}

impl Upstream {
    /// One EC2 Query API action, e.g. `ec2(creds, "DescribeNetworkAcls", &[("Filter.1.Name",
    /// "association.subnet-id"), ("Filter.1.Value.1", "subnet-1")])`: signed with the tenant's
    /// keys (or its assumed role), under its EC2 budget, retried while AWS throttles.
    pub async fn ec2(
        &self,
        creds: &TenantCredentials,
        action: &str,
        params: &[(String, String)],
    ) -> Result<AwsResponse, UpstreamError> {
        let aws = aws_credentials(creds)?;
        let url = self.clouds_of(creds).endpoint(Api::Ec2)?.base.clone();
        let keys = self.signing_keys(creds, aws).await?;
        // A dry run sends EC2 writes in AWS's own validation mode where it is known to be
        // honoured, and writes the others down unsent (`dry_run.rs`).
        let dry_write = crate::dry_run::active() && !crate::dry_run::aws_reads(action);
        let mut body = query_body(action, EC2_VERSION, params);
        if let Some(recorder) = crate::dry_run::recorder().filter(|_| dry_write)
            && !crate::dry_run::EC2_VALIDATED.contains(&action)
        {
            recorder.push(crate::dry_run::RenderedRequest {
                api: Api::Ec2.label().to_string(),
                method: "POST".into(),
                url: url.to_string(),
                body: Some(crate::dry_run::form_json(&body)),
                write: true,
                sent: false,
                validation: None,
            });
            return Ok(dry_run_response(action));
        }
        if dry_write {
            body.push_str("&DryRun=true");
        }
        let request = Signed {
            api: Api::Ec2,
            url: &url,
            service: "ec2",
            region: &aws.region,
            body: body.clone(),
            buckets: buckets_for(Api::Ec2, Budget::Default, Method::Post, "/"),
        };
        let answer = self.ec2_signed(creds, &keys, aws, request).await;
        match crate::dry_run::recorder() {
            Some(recorder) => dry_run_answer(&recorder, action, &url, &body, dry_write, answer),
            None => answer,
        }
    }

    /// One signed EC2 request, with an assumed role's refused session renewed once.
    async fn ec2_signed(
        &self,
        creds: &TenantCredentials,
        keys: &SigningKeys,
        aws: &AwsCredentials,
        request: Signed<'_>,
    ) -> Result<AwsResponse, UpstreamError> {
        match self.send_signed(creds, keys, request.clone()).await {
            // An assumed role's session refused before it expired (revoked, the role's policy
            // changed): assume the role again, once, as a refused cached token is refreshed once.
            Err(UpstreamError::Api { status: 401 | 403, .. }) if keys.expires.is_some() => {
                self.forget_session(creds, aws).await;
                let fresh = self.signing_keys(creds, aws).await?;
                self.send_signed(creds, &fresh, request).await
            }
            other => other,
        }
    }

    /// Any other AWS Query API action (IAM `2010-05-08`, STS `2011-06-15`, ...) at `endpoint`,
    /// signed for `service` in the tenant's region with its keys (or its assumed role). No budget
    /// is drawn: only EC2's is declared. EC2 itself goes through [`Upstream::ec2`].
    pub async fn aws_query(
        &self,
        creds: &TenantCredentials,
        endpoint: &Url,
        service: &'static str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<AwsResponse, UpstreamError> {
        let aws = aws_credentials(creds)?;
        if let Some(recorder) = crate::dry_run::recorder().filter(|_| !crate::dry_run::aws_reads(action)) {
            // No validation mode outside EC2: a dry run writes the request down and sends nothing.
            let body = crate::dry_run::form_json(&query_body(action, version, params));
            recorder.push(crate::dry_run::RenderedRequest {
                api: service.to_string(),
                method: "POST".into(),
                url: endpoint.to_string(),
                body: Some(body),
                write: true,
                sent: false,
                validation: None,
            });
            return Ok(dry_run_response(action));
        }
        let keys = self.signing_keys(creds, aws).await?;
        let request = Signed {
            api: Api::Ec2,
            url: endpoint,
            service,
            region: &aws.region,
            body: query_body(action, version, params),
            buckets: Vec::new(),
        };
        self.send_signed(creds, &keys, request).await
    }

    /// For `/readyz`: the tenant's signing keys can be had (an assumed role's session is
    /// obtained, which proves the keys and the trust policy; long-term keys are only present).
    pub(crate) async fn check_aws(&self, creds: &TenantCredentials) -> Result<(), UpstreamError> {
        let aws = aws_credentials(creds)?;
        self.clouds_of(creds).endpoint(Api::Ec2)?;
        self.signing_keys(creds, aws).await.map(drop)
    }

    /// The configured keys, or the assumed role's cached (or renewed) session.
    async fn signing_keys(
        &self,
        creds: &TenantCredentials,
        aws: &AwsCredentials,
    ) -> Result<SigningKeys, UpstreamError> {
        let configured = SigningKeys::configured(aws);
        let Some(role) = &aws.assume_role else { return Ok(configured) };
        let mut cache = self.inner.aws.cache.lock().await;
        let key = (creds.tenant_id.clone(), role.role_arn.clone());
        if let Some(keys) = cache.get(&key).filter(|k| k.fresh()) {
            return Ok(keys.clone());
        }
        let session = self.assume_role(creds, aws, role, &configured).await?;
        cache.insert(key, session.clone());
        Ok(session)
    }

    /// Drops the tenant's cached session, so the next call assumes the role again.
    async fn forget_session(&self, creds: &TenantCredentials, aws: &AwsCredentials) {
        if let Some(role) = &aws.assume_role {
            self.inner.aws.cache.lock().await.remove(&(creds.tenant_id.clone(), role.role_arn.clone()));
        }
    }

    /// STS `AssumeRole`, signed with the configured keys.
    async fn assume_role(
        &self,
        creds: &TenantCredentials,
        aws: &AwsCredentials,
        role: &AssumeRole,
        keys: &SigningKeys,
    ) -> Result<SigningKeys, UpstreamError> {
        let url = match &role.sts_endpoint {
            Some(url) => url.clone(),
            None => sts_endpoint(&aws.region)?,
        };
        let mut params = vec![
            ("RoleArn".to_owned(), role.role_arn.clone()),
            ("RoleSessionName".to_owned(), role.session_name.clone()),
            ("DurationSeconds".to_owned(), SESSION_SECONDS.to_string()),
        ];
        params.extend(role.external_id.iter().map(|id| ("ExternalId".to_owned(), id.clone())));
        let request = Signed {
            api: Api::Ec2,
            url: &url,
            service: "sts",
            region: &aws.region,
            body: query_body("AssumeRole", STS_VERSION, &params),
            // STS has its own quota; the EC2 budget is not drawn for it.
            buckets: Vec::new(),
        };
        let answer = self.send_signed(creds, keys, request).await?;
        session_keys(&answer)
    }

    /// The retry loop of a signed request: budget, sign, send, judge.
    async fn send_signed(
        &self,
        creds: &TenantCredentials,
        keys: &SigningKeys,
        req: Signed<'_>,
    ) -> Result<AwsResponse, UpstreamError> {
        let policy = &self.inner.retry;
        let mut attempts = 0;
        loop {
            attempts += 1;
            if let Err(needed) = self.inner.limiters.acquire(&creds.tenant_id, &req.buckets).await {
                return Err(UpstreamError::Throttled {
                    retry_after: Some(needed),
                    request_id: None,
                    attempts: attempts - 1,
                });
            }
            let request = self.sign(&req, keys)?;
            let sent = Instant::now();
            let response = request.send().await;
            self.inner.metrics.observe_latency(req.api, sent.elapsed());
            let response = match response {
                Ok(r) => r,
                Err(err) => {
                    self.inner.metrics.record_call(req.api, None);
                    self.inner.activity.record(&creds.tenant_id, req.api, None, false);
                    if attempts < policy.max_attempts && retry::may_retry_transport(&reqwest::Method::POST, &err) {
                        tokio::time::sleep(retry::delay(policy, attempts, None)).await;
                        self.inner.metrics.record_retry(req.api);
                        continue;
                    }
                    return Err(from_transport(&err));
                }
            };
            let status = response.status().as_u16();
            self.inner.metrics.record_call(req.api, Some(status));
            let text = response.text().await.map_err(|e| from_transport(&e))?;
            tracing::debug!(api = req.api.label(), service = req.service, status, attempts, "aws call");
            if status < 400 {
                self.inner.activity.record(&creds.tenant_id, req.api, Some(status), false);
                return answer(&text, attempts);
            }
            let error = xml::error(status, &text);
            let UpstreamError::Api { code, request_id, .. } = &error else { return Err(error) };
            let throttled = THROTTLING_CODES.contains(&code.as_str()) || status == 503;
            self.inner.activity.record(&creds.tenant_id, req.api, Some(status), throttled);
            if !throttled {
                return Err(error);
            }
            self.inner.metrics.record_throttled(req.api);
            if attempts >= policy.max_throttled_attempts {
                return Err(UpstreamError::Throttled { retry_after: None, request_id: request_id.clone(), attempts });
            }
            tokio::time::sleep(retry::delay(policy, attempts, None)).await;
            self.inner.metrics.record_retry(req.api);
        }
    }

    /// A signed reqwest request: SigV4 over the method, URL, `host`, `content-type` and body.
    fn sign(&self, req: &Signed<'_>, keys: &SigningKeys) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let host = match (req.url.host_str(), req.url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => {
                return Err(UpstreamError::Config(format!("{} endpoint {} has no host", req.service, req.url)));
            }
        };
        let identity = Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose_secret().to_owned(),
            keys.session_token.as_ref().map(|t| t.expose_secret().to_owned()),
            keys.expires,
            "riposte",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(req.region)
            .name(req.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| UpstreamError::Config(format!("SigV4 parameters: {e}")))?
            .into();
        let headers = [("content-type", FORM), ("host", host.as_str())];
        let signable = SignableRequest::new(
            "POST",
            req.url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(req.body.as_bytes()),
        )
        .map_err(|e| UpstreamError::Config(format!("SigV4 request: {e}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|e| UpstreamError::Config(format!("SigV4 signing: {e}")))?.into_parts();
        let mut builder = self
            .inner
            .http
            .post(req.url.clone())
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .header(reqwest::header::ACCEPT, "text/xml");
        for (name, value) in instructions.headers() {
            builder = builder.header(name, value);
        }
        Ok(builder.body(req.body.clone()))
    }
}

/// The tenant's AWS keys, or a configuration error saying it has none.
fn aws_credentials(creds: &TenantCredentials) -> Result<&AwsCredentials, UpstreamError> {
    match &creds.credential {
        Credential::Aws(aws) => Ok(aws),
        other => Err(UpstreamError::Config(format!(
            "tenant {} has a {} credential, not AWS keys: EC2 calls need an `aws` credential",
            creds.tenant_id,
            other.kind()
        ))),
    }
}

/// `Action=...&Version=...&k=v...`, form-encoded.
/// What an EC2 call answers in a dry run, and how it is listed: a write's `DryRunOperation`
/// ("would have succeeded") or refusal is the validation, and the caller's story goes on with a
/// synthetic answer; a read is answered as AWS answered it.
fn dry_run_answer(
    recorder: &crate::dry_run::Recorder,
    action: &str,
    url: &Url,
    body: &str,
    write: bool,
    answer: Result<AwsResponse, UpstreamError>,
) -> Result<AwsResponse, UpstreamError> {
    let validation = match (&answer, write) {
        (Err(UpstreamError::Api { code, message, .. }), true) => {
            Some(serde_json::json!({ "ok": code == "DryRunOperation", "code": code, "message": message }))
        }
        (Ok(_), true) => {
            Some(serde_json::json!({ "ok": true, "code": "Accepted", "message": "answered without DryRunOperation" }))
        }
        _ => None,
    };
    recorder.push(crate::dry_run::RenderedRequest {
        api: Api::Ec2.label().to_string(),
        method: "POST".into(),
        url: url.to_string(),
        body: Some(crate::dry_run::form_json(body)),
        write,
        sent: true,
        validation,
    });
    match answer {
        Err(UpstreamError::Api { .. }) if write => Ok(dry_run_response(action)),
        other => other,
    }
}

/// The synthetic answer to an AWS write in a dry run.
fn dry_run_response(action: &str) -> AwsResponse {
    AwsResponse {
        element: format!("{action}Response"),
        body: serde_json::json!({ "dryRun": true }),
        request_id: None,
        attempts: 0,
    }
}

fn query_body(action: &str, version: &str, params: &[(String, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", action).append_pair("Version", version);
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.finish()
}

/// STS's regional endpoint; China regions live under `amazonaws.com.cn`.
fn sts_endpoint(region: &str) -> Result<Url, UpstreamError> {
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    Url::parse(&format!("https://sts.{region}.{suffix}"))
        .map_err(|e| UpstreamError::Config(format!("aws.region {region:?} gives no STS endpoint: {e}")))
}

/// A 2xx answer read into JSON.
fn answer(text: &str, attempts: u32) -> Result<AwsResponse, UpstreamError> {
    let (element, body) = xml::to_json(text).map_err(|why| UpstreamError::Api {
        status: 200,
        code: "UnexpectedResponse".into(),
        message: format!("AWS answered with unreadable XML: {why}"),
        request_id: None,
    })?;
    let request_id = ["requestId", "RequestId"]
        .iter()
        .find_map(|k| body.get(*k).or_else(|| body.get("ResponseMetadata").and_then(|m| m.get(*k))))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(AwsResponse { element, body, request_id, attempts })
}

/// The session keys of an `AssumeRole` answer.
fn session_keys(answer: &AwsResponse) -> Result<SigningKeys, UpstreamError> {
    let c = &answer.body["AssumeRoleResult"]["Credentials"];
    let field = |k: &str| c.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let missing = |what: &str| UpstreamError::Api {
        status: 200,
        code: "UnexpectedResponse".into(),
        message: format!("STS AssumeRole answered without {what}"),
        request_id: answer.request_id.clone(),
    };
    let expires = field("Expiration")
        .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .map(SystemTime::from)
        .ok_or_else(|| missing("a readable Expiration"))?;
    Ok(SigningKeys {
        access_key_id: field("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?.to_owned(),
        secret_access_key: SecretString::from(field("SecretAccessKey").ok_or_else(|| missing("SecretAccessKey"))?),
        session_token: Some(SecretString::from(field("SessionToken").ok_or_else(|| missing("SessionToken"))?)),
        expires: Some(expires),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bodies_are_form_encoded_with_the_version() {
        let body = query_body("CreateNetworkAclEntry", EC2_VERSION, &[("CidrBlock".into(), "198.51.100.7/32".into())]);
        assert_eq!(body, "Action=CreateNetworkAclEntry&Version=2016-11-15&CidrBlock=198.51.100.7%2F32");
        assert_eq!(sts_endpoint("cn-north-1").unwrap().as_str(), "https://sts.cn-north-1.amazonaws.com.cn/");
    }

    #[test]
    fn assume_role_answers_give_session_keys() {
        let text = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>session-secret</SecretAccessKey>
<SessionToken>token-1</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
</AssumeRoleResult><ResponseMetadata><RequestId>r-9</RequestId></ResponseMetadata></AssumeRoleResponse>"#;
        let answer = answer(text, 1).unwrap();
        assert_eq!(answer.request_id.as_deref(), Some("r-9"));
        let keys = session_keys(&answer).unwrap();
        assert_eq!(keys.access_key_id, "ASIAEXAMPLE");
        assert_eq!(keys.session_token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(), Some("token-1"));
        assert!(keys.fresh());
        let expired = SigningKeys { expires: Some(SystemTime::now() + Duration::from_secs(60)), ..keys };
        assert!(!expired.fresh(), "renewed within the margin");
    }
}
