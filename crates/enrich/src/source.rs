//! Where records come from: a partitioned, offset-addressed log. The scanner keeps its own
//! offsets per partition in the database (checkpointed with the evidence they produced), so a
//! source only fetches from an offset; it never commits.
//!
//! - [`KafkaSource`]: Event Hubs' Kafka endpoint (or any Kafka-protocol broker) through rskafka:
//!   SASL PLAIN with the user name `$ConnectionString` and the connection string as password,
//!   or SASL OAUTHBEARER with a Microsoft Entra token for `https://{namespace}.servicebus.windows.net`
//!   (from the gateway's token cache), over TLS, as Event Hubs requires; or plain, for a local broker.
//! - [`SandboxSource`]: the sandbox's Streaming API log over HTTP (`riposte up`, tests): the
//!   same records in the same envelope, with no broker to install.
//! - [`MemorySource`]: an in-process log (unit tests, the throughput bench).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// One fetch: records with their offsets, and the partition's high watermark (next offset to be
/// written), from which lag is computed.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    pub records: Vec<(i64, Vec<u8>)>,
    pub high_watermark: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("kafka: {0}")]
    Kafka(String),
    #[error("sandbox stream: {0}")]
    Http(String),
    #[error("configuration: {0}")]
    Config(String),
}

pub trait StreamSource: Send + Sync {
    /// The checkpoint key: the topic / event hub name.
    fn name(&self) -> &str;
    fn partitions(&self) -> BoxFuture<'_, Result<Vec<i32>, SourceError>>;
    /// Up to about `max` records from `offset` on (fewer, or none, when the log ends there).
    fn fetch(&self, partition: i32, offset: i64, max: usize) -> BoxFuture<'_, Result<Fetched, SourceError>>;
}

// ---- Kafka ---------------------------------------------------------------------------------

/// `[enrichment.kafka]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `<namespace>.servicebus.windows.net:9093`, or `127.0.0.1:9092` for a local broker.
    pub bootstrap: Vec<String>,
    /// The event hub (topic) the Streaming API writes to.
    pub topic: String,
    /// An Event Hubs SAS connection string (Listen): sent as SASL PLAIN password with the user
    /// name `$ConnectionString`.
    #[serde(default)]
    pub connection_string: Option<SecretString>,
    /// SASL PLAIN user and password for other brokers.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
    /// TLS to the broker (Event Hubs: always). Defaults to on with a connection string or Entra.
    #[serde(default)]
    pub tls: Option<bool>,
    /// SASL OAUTHBEARER with a Microsoft Entra token instead of a connection string: the tenant
    /// (as in `[[tenants]]`) whose app registration holds "Azure Event Hubs Data Receiver" on
    /// the namespace. Its token comes from the gateway's token cache.
    #[serde(default)]
    pub entra_tenant: Option<String>,
    /// The token's audience; by default `https://{namespace}.servicebus.windows.net` from the
    /// first bootstrap host, as Event Hubs documents for Kafka clients.
    #[serde(default)]
    pub entra_audience: Option<String>,
}

/// The broker client (tests and the sandbox's producer name it through here).
pub use rskafka::client::Client as KafkaClient;

/// How the consumer signs in to the broker.
#[derive(Clone, Debug)]
pub enum KafkaAuth {
    None,
    /// SASL PLAIN (`$ConnectionString` and the connection string for Event Hubs).
    Plain {
        username: String,
        password: SecretString,
    },
    /// SASL OAUTHBEARER with an Entra token of `tenant` for `audience`.
    Entra {
        tenant: String,
        audience: String,
    },
}

impl KafkaConfig {
    /// The configured sign-in, checked: one of connection string, user + password, or Entra.
    pub fn auth(&self) -> Result<KafkaAuth, SourceError> {
        let entra = self.entra_tenant.as_deref().map(str::trim).filter(|t| !t.is_empty());
        match (&self.connection_string, &self.username, &self.password, entra) {
            (Some(_), _, _, Some(_)) | (_, Some(_), _, Some(_)) => Err(SourceError::Config(
                "kafka.entra_tenant (OAUTHBEARER) and kafka.connection_string / username (PLAIN) exclude each other"
                    .into(),
            )),
            (None, None, None, Some(tenant)) => {
                let audience = match &self.entra_audience {
                    Some(a) => a.trim_end_matches('/').to_string(),
                    None => {
                        let first = self
                            .bootstrap
                            .first()
                            .ok_or_else(|| SourceError::Config("kafka.bootstrap is empty".into()))?;
                        let host = first.rsplit_once(':').map_or(first.as_str(), |(h, _)| h);
                        format!("https://{host}")
                    }
                };
                if !audience.starts_with("https://") || audience.len() <= "https://".len() {
                    return Err(SourceError::Config(format!("kafka.entra_audience `{audience}`: an https URL")));
                }
                Ok(KafkaAuth::Entra { tenant: tenant.to_string(), audience })
            }
            (Some(cs), _, _, None) => {
                Ok(KafkaAuth::Plain { username: "$ConnectionString".to_string(), password: cs.clone() })
            }
            (None, Some(u), Some(p), None) => Ok(KafkaAuth::Plain { username: u.clone(), password: p.clone() }),
            (None, Some(_), None, None) | (None, None, Some(_), _) => {
                Err(SourceError::Config("kafka.username and kafka.password go together".into()))
            }
            (None, None, None, None) => Ok(KafkaAuth::None),
        }
    }
}

/// Fetches a bearer token for OAUTHBEARER (the gateway's token cache behind it); asked at
/// every connection's SASL handshake, so a reconnect after expiry gets a fresh one.
pub type TokenSource = Arc<dyn Fn() -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

pub struct KafkaSource {
    topic: String,
    client: rskafka::client::Client,
    partitions: tokio::sync::Mutex<std::collections::HashMap<i32, Arc<rskafka::client::partition::PartitionClient>>>,
}

/// Event Hubs drops connections idle for 240 s and wants requests to wait at most a minute
/// (enrichment.md §3.4): fetches wait at most this long for data, so the connection is never idle.
const FETCH_MAX_WAIT_MS: i32 = 500;
const FETCH_MAX_BYTES: i32 = 4 * 1024 * 1024;

impl KafkaSource {
    pub async fn connect(cfg: &KafkaConfig, token: Option<TokenSource>) -> Result<KafkaSource, SourceError> {
        let client = kafka_client(cfg, token).await?;
        Ok(KafkaSource { topic: cfg.topic.clone(), client, partitions: Default::default() })
    }

    async fn partition(&self, p: i32) -> Result<Arc<rskafka::client::partition::PartitionClient>, SourceError> {
        let mut map = self.partitions.lock().await;
        if let Some(c) = map.get(&p) {
            return Ok(c.clone());
        }
        let c = Arc::new(
            self.client
                .partition_client(self.topic.clone(), p, rskafka::client::partition::UnknownTopicHandling::Retry)
                .await
                .map_err(kafka)?,
        );
        map.insert(p, c.clone());
        Ok(c)
    }
}

/// A client with SASL PLAIN (`$ConnectionString` for Event Hubs) or OAUTHBEARER (`token`
/// answers the handshake) and TLS as configured.
pub async fn kafka_client(
    cfg: &KafkaConfig,
    token: Option<TokenSource>,
) -> Result<rskafka::client::Client, SourceError> {
    if cfg.bootstrap.is_empty() {
        return Err(SourceError::Config("kafka.bootstrap is empty".into()));
    }
    let mut b = rskafka::client::ClientBuilder::new(cfg.bootstrap.clone()).client_id("riposte-enrich");
    let auth = cfg.auth()?;
    if let Some(sasl) = sasl_config(&auth, token)? {
        b = b.sasl_config(sasl);
    }
    if cfg.tls.unwrap_or(!matches!(auth, KafkaAuth::None)) {
        use rustls_platform_verifier::ConfigVerifierExt;
        let tls =
            rustls::ClientConfig::with_platform_verifier().map_err(|e| SourceError::Config(format!("tls: {e}")))?;
        b = b.tls_config(Arc::new(tls));
    }
    b.build().await.map_err(kafka)
}

/// The SASL mechanism for `auth`; Entra needs the token source.
pub fn sasl_config(
    auth: &KafkaAuth,
    token: Option<TokenSource>,
) -> Result<Option<rskafka::client::SaslConfig>, SourceError> {
    use rskafka::client::{Credentials, OauthBearerCredentials, SaslConfig};
    Ok(match auth {
        KafkaAuth::None => None,
        KafkaAuth::Plain { username, password } => {
            Some(SaslConfig::Plain(Credentials::new(username.clone(), password.expose_secret().to_string())))
        }
        KafkaAuth::Entra { tenant, .. } => {
            let token = token.ok_or_else(|| {
                SourceError::Config(format!("kafka.entra_tenant {tenant}: no token source (is the tenant configured?)"))
            })?;
            let callback: rskafka::client::OauthCallback = Arc::new(move || {
                let token = token.clone();
                Box::pin(async move { token().await.map_err(|e| e.into()) })
            });
            Some(SaslConfig::Oauthbearer(OauthBearerCredentials { callback, authz_id: None, bearer_kvs: Vec::new() }))
        }
    })
}

fn kafka(e: impl std::fmt::Display) -> SourceError {
    SourceError::Kafka(e.to_string())
}

impl StreamSource for KafkaSource {
    fn name(&self) -> &str {
        &self.topic
    }

    fn partitions(&self) -> BoxFuture<'_, Result<Vec<i32>, SourceError>> {
        Box::pin(async move {
            let topics = self.client.list_topics().await.map_err(kafka)?;
            let t = topics
                .into_iter()
                .find(|t| t.name == self.topic)
                .ok_or_else(|| SourceError::Kafka(format!("topic {} not found", self.topic)))?;
            let mut p = t.partitions.into_iter().collect::<Vec<_>>();
            p.sort();
            Ok(p)
        })
    }

    fn fetch(&self, partition: i32, offset: i64, max: usize) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        Box::pin(async move {
            let client = self.partition(partition).await?;
            let start = if offset == 0 {
                client.get_offset(rskafka::client::partition::OffsetAt::Earliest).await.map_err(kafka)?.max(0)
            } else {
                offset
            };
            let (records, high_watermark) =
                client.fetch_records(start, 1..FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS).await.map_err(kafka)?;
            let records = records
                .into_iter()
                .filter(|r| r.offset >= start)
                .take(max)
                .map(|r| (r.offset, r.record.value.unwrap_or_default()))
                .collect();
            Ok(Fetched { records, high_watermark })
        })
    }
}

/// Produces Event Hubs messages (one envelope each) to a partition: the sandbox's Streaming API
/// and the Kafka tests use it.
pub async fn kafka_produce(
    client: &rskafka::client::Client,
    topic: &str,
    partition: i32,
    messages: Vec<Vec<u8>>,
) -> Result<Vec<i64>, SourceError> {
    let pc = client
        .partition_client(topic.to_string(), partition, rskafka::client::partition::UnknownTopicHandling::Retry)
        .await
        .map_err(kafka)?;
    let records = messages
        .into_iter()
        .map(|m| rskafka::record::Record {
            key: None,
            value: Some(m),
            headers: Default::default(),
            timestamp: chrono::Utc::now(),
        })
        .collect();
    pc.produce(records, rskafka::client::partition::Compression::NoCompression).await.map_err(kafka)
}

// ---- the sandbox's log over HTTP ------------------------------------------------------------

/// The event hub the Streaming API writes AlertEvidence to (and the sandbox's log of it).
pub const SANDBOX_HUB: &str = "insights-logs-advancedhunting-alertevidence";

/// Reads `GET {sandbox}/_sandbox/streaming/{hub}/partitions/{p}?offset=&max=`.
pub struct SandboxSource {
    http: reqwest::Client,
    base: String,
    hub: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SandboxPage {
    records: Vec<SandboxRecord>,
    high_watermark: i64,
}

#[derive(Deserialize)]
struct SandboxRecord {
    offset: i64,
    /// The Event Hubs message body, as text.
    body: String,
}

#[derive(Deserialize)]
struct SandboxHub {
    partitions: Vec<i32>,
}

impl SandboxSource {
    pub fn new(http: reqwest::Client, base: &str, hub: &str) -> SandboxSource {
        SandboxSource { http, base: base.trim_end_matches('/').to_string(), hub: hub.to_string() }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: String) -> Result<T, SourceError> {
        let resp = self.http.get(url).send().await.map_err(|e| SourceError::Http(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(SourceError::Http(format!("HTTP {}", resp.status().as_u16())));
        }
        resp.json().await.map_err(|e| SourceError::Http(e.to_string()))
    }
}

impl StreamSource for SandboxSource {
    fn name(&self) -> &str {
        &self.hub
    }

    fn partitions(&self) -> BoxFuture<'_, Result<Vec<i32>, SourceError>> {
        Box::pin(async move {
            let hub: SandboxHub = self.get(format!("{}/_sandbox/streaming/{}", self.base, self.hub)).await?;
            Ok(hub.partitions)
        })
    }

    fn fetch(&self, partition: i32, offset: i64, max: usize) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        Box::pin(async move {
            let url = format!(
                "{}/_sandbox/streaming/{}/partitions/{partition}?offset={offset}&max={max}",
                self.base, self.hub
            );
            let page: SandboxPage = self.get(url).await?;
            Ok(Fetched {
                records: page.records.into_iter().map(|r| (r.offset, r.body.into_bytes())).collect(),
                high_watermark: page.high_watermark,
            })
        })
    }
}

// ---- in memory --------------------------------------------------------------------------------

/// An in-process log: `push` appends a message to a partition.
#[derive(Clone, Default)]
pub struct MemorySource {
    name: String,
    partitions: Arc<Mutex<Vec<Vec<Vec<u8>>>>>,
}

impl MemorySource {
    pub fn new(name: &str, partitions: usize) -> MemorySource {
        MemorySource { name: name.to_string(), partitions: Arc::new(Mutex::new(vec![Vec::new(); partitions.max(1)])) }
    }

    pub fn push(&self, partition: usize, message: Vec<u8>) -> i64 {
        let mut p = self.partitions.lock();
        let n = p.len();
        let log = &mut p[partition % n];
        log.push(message);
        log.len() as i64 - 1
    }
}

impl StreamSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn partitions(&self) -> BoxFuture<'_, Result<Vec<i32>, SourceError>> {
        let n = self.partitions.lock().len();
        Box::pin(async move { Ok((0..n as i32).collect()) })
    }

    fn fetch(&self, partition: i32, offset: i64, max: usize) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        let p = self.partitions.lock();
        let log: &[Vec<u8>] = p.get(partition as usize).map_or(&[], Vec::as_slice);
        let start = (offset.max(0) as usize).min(log.len());
        let records = log[start..].iter().take(max).enumerate().map(|(i, m)| ((start + i) as i64, m.clone())).collect();
        let fetched = Fetched { records, high_watermark: log.len() as i64 };
        drop(p);
        Box::pin(async move { Ok(fetched) })
    }
}

/// How long an idle ingest loop waits before fetching again.
pub const IDLE_POLL: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: serde_json::Value) -> KafkaConfig {
        serde_json::from_value(v).expect("a kafka config")
    }

    #[test]
    fn event_hubs_sign_in_choices() {
        let base = serde_json::json!({"bootstrap": ["contoso-ns.servicebus.windows.net:9093"], "topic": "t"});
        let mut cs = base.clone();
        cs["connection_string"] =
            "Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=l;SharedAccessKey=k".into();
        match cfg(cs).auth().expect("plain") {
            KafkaAuth::Plain { username, password } => {
                assert_eq!(username, "$ConnectionString");
                assert!(password.expose_secret().starts_with("Endpoint=sb://"));
            }
            other => panic!("{other:?}"),
        }
        let mut entra = base.clone();
        entra["entra_tenant"] = "11111111-2222-3333-4444-555555555555".into();
        match cfg(entra.clone()).auth().expect("entra") {
            KafkaAuth::Entra { tenant, audience } => {
                assert_eq!(tenant, "11111111-2222-3333-4444-555555555555");
                assert_eq!(audience, "https://contoso-ns.servicebus.windows.net");
            }
            other => panic!("{other:?}"),
        }
        let mut both = entra.clone();
        both["connection_string"] = "Endpoint=sb://x".into();
        assert!(cfg(both).auth().unwrap_err().to_string().contains("exclude each other"));
        let mut bad = entra;
        bad["entra_audience"] = "contoso-ns".into();
        assert!(cfg(bad).auth().unwrap_err().to_string().contains("entra_audience"));
        assert!(matches!(cfg(base).auth(), Ok(KafkaAuth::None)));
    }

    #[tokio::test]
    async fn oauthbearer_asks_the_token_source_at_each_handshake() {
        let auth = KafkaAuth::Entra { tenant: "t".into(), audience: "https://ns.servicebus.windows.net".into() };
        assert!(sasl_config(&auth, None).unwrap_err().to_string().contains("no token source"));
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let token: TokenSource = {
            let asked = asked.clone();
            Arc::new(move || {
                let n = asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Box::pin(async move { Ok(format!("eyJ.token-{n}")) })
            })
        };
        let Some(rskafka::client::SaslConfig::Oauthbearer(c)) = sasl_config(&auth, Some(token)).expect("sasl") else {
            panic!("OAUTHBEARER expected");
        };
        assert_eq!((c.callback)().await.expect("token"), "eyJ.token-0");
        assert_eq!((c.callback)().await.expect("token"), "eyJ.token-1");
        let failing: TokenSource =
            Arc::new(|| Box::pin(async { Err("AADSTS7000215: invalid client secret".to_string()) }));
        let Some(rskafka::client::SaslConfig::Oauthbearer(c)) = sasl_config(&auth, Some(failing)).expect("sasl") else {
            panic!("OAUTHBEARER expected");
        };
        assert!((c.callback)().await.unwrap_err().to_string().contains("AADSTS7000215"));
    }
}
