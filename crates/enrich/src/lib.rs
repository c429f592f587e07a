//! # enrich — the file-hash enrichment scanner (seed 003)
//!
//! Defender's Streaming API forwards Advanced Hunting rows to an Event Hub. The scanner reads
//! the AlertEvidence rows, takes the file hashes, asks threat-intelligence providers for a
//! verdict, and writes one concise comment per alert back to Defender through Graph, keeping a
//! lookup history. The story of one record:
//!
//! 1. **ingest** (`source`): a partitioned log (Event Hubs' Kafka endpoint through rskafka, or
//!    the in-process source under `riposte up`), read from the offset checkpointed in our database;
//! 2. **parse** (`envelope`): `records[]` → hashes per alert, or a dead letter with its reason;
//! 3. **record** (store): the alert's hashes, the dead letters and the next offset in one
//!    transaction, so an offset is committed only once its records are durably handled;
//! 4. **look up** (`lookup`, `providers`): history first (TTL by verdict), then one in-flight
//!    lookup per hash through the providers in order, each under its rate limit and daily quota;
//! 5. **write back** (`writeback`): one comment per alert covering all its hashes, with a stable
//!    marker read back before posting, and a ledger so a verdict is posted once per alert.

pub mod config;
pub mod envelope;
pub mod hash;
pub mod lookup;
pub mod metrics;

pub use envelope::{AlertHashes, DeadLetter, ParseOptions, ParsedMessage, parse_message};
pub use hash::{FileHash, HashKind};
pub mod providers;
pub mod respond;
pub mod scanner;
pub mod source;
pub mod verdict;
pub mod writeback;

pub use config::EnrichmentConfig;
pub use providers::{Provider, ProviderConfig, ProviderError, ProviderKind};
pub use scanner::{Scanner, ScannerStatus};
pub use verdict::{Detections, Status, Ttls, Verdict};
