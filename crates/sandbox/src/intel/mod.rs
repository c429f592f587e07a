//! Threat intelligence and the Streaming API, as the enrichment scanner (`crates/enrich`) meets
//! them:
//!
//! - `providers.rs`: ReversingLabs Spectra Intelligence (TCA-0101 bulk), VirusTotal v3,
//!   MalwareBazaar and MISP at their documented paths under `/intel/{provider}` (the path after
//!   the prefix is the provider's own), each with its auth (401/403 on a wrong key), a daily
//!   quota and a per-minute rate that answer 429 as the provider does, and a deterministic
//!   verdict per hash (about a quarter malicious, a quarter unknown to all);
//! - `streaming.rs`: the Streaming API. Creating alerts with file evidence through
//!   `POST /_sandbox/streaming/alerts` adds them to the tenant's world (Graph sees them, comments
//!   land on them) and appends their AlertEvidence records, in Microsoft's `{"records":[...]}`
//!   envelope, to a partitioned log read over HTTP (`riposte up`: no broker to install).
//!
//! State lives here, not in `state.rs`: one [`Intel`] per router, handed to handlers as an
//! `Extension`.

mod providers;
mod streaming;
mod tables;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The provider emulation's and the stream's state.
#[derive(Default)]
pub struct Intel {
    pub providers: providers::Providers,
    pub stream: streaming::Stream,
}

pub fn routes() -> Router<AppState> {
    let intel = Arc::new(Intel::default());
    Router::new()
        .route("/intel/reversinglabs/api/databrowser/malware_presence/bulk_query/json", post(providers::rl_bulk))
        .route("/intel/reversinglabs/api/databrowser/malware_presence/query/{kind}/{hash}", get(providers::rl_single))
        .route("/intel/virustotal/api/v3/files/{hash}", get(providers::vt_file))
        .route("/intel/malwarebazaar/api/v1/", post(providers::mb_query))
        .route("/intel/misp/attributes/restSearch", post(providers::misp_search))
        .route("/_sandbox/intel", get(providers::describe))
        .route("/_sandbox/intel/{provider}", post(providers::configure))
        .route("/_sandbox/streaming/alerts", post(streaming::create_alerts))
        .route("/_sandbox/streaming/raw", post(streaming::append_raw))
        .route("/_sandbox/streaming/tables", post(tables::replay))
        .route("/_sandbox/streaming/{hub}", get(streaming::hub))
        .route("/_sandbox/streaming/{hub}/partitions/{partition}", get(streaming::fetch))
        .layer(axum::Extension(intel))
}
