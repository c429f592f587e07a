//! Where records come from: a partitioned, offset-addressed log. The scanner keeps its own
//! offsets per partition in the database (checkpointed with the evidence they produced), so a
//! source only fetches from an offset; it never commits.
//!
//! - [`KafkaSource`]: Event Hubs' Kafka endpoint (or any Kafka-protocol broker) through rskafka:
//!   SASL PLAIN with the user name `$ConnectionString` and the connection string as password,
//!   over TLS, as Event Hubs requires; or plain, for a local broker.
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
    /// TLS to the broker (Event Hubs: always). Defaults to on when a connection string is set.
    #[serde(default)]
    pub tls: Option<bool>,
}

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
    pub async fn connect(cfg: &KafkaConfig) -> Result<KafkaSource, SourceError> {
        let client = kafka_client(cfg).await?;
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

/// A client with SASL PLAIN (`$ConnectionString` for Event Hubs) and TLS as configured.
pub async fn kafka_client(cfg: &KafkaConfig) -> Result<rskafka::client::Client, SourceError> {
    if cfg.bootstrap.is_empty() {
        return Err(SourceError::Config("kafka.bootstrap is empty".into()));
    }
    let mut b = rskafka::client::ClientBuilder::new(cfg.bootstrap.clone()).client_id("riposte-enrich");
    let sasl = match (&cfg.connection_string, &cfg.username, &cfg.password) {
        (Some(cs), _, _) => Some(("$ConnectionString".to_string(), cs.expose_secret().to_string())),
        (None, Some(u), Some(p)) => Some((u.clone(), p.expose_secret().to_string())),
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(SourceError::Config("kafka.username and kafka.password go together".into()));
        }
        (None, None, None) => None,
    };
    if let Some((user, pass)) = sasl {
        b = b.sasl_config(rskafka::client::SaslConfig::Plain(rskafka::client::Credentials::new(user, pass)));
    }
    if cfg.tls.unwrap_or(cfg.connection_string.is_some()) {
        use rustls_platform_verifier::ConfigVerifierExt;
        let tls =
            rustls::ClientConfig::with_platform_verifier().map_err(|e| SourceError::Config(format!("tls: {e}")))?;
        b = b.tls_config(Arc::new(tls));
    }
    b.build().await.map_err(kafka)
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
