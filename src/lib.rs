//! The `riposte` binary's library half: configuration and assembly of the running pieces.
//! The CLI (`main.rs`) only parses arguments and calls in here; it has no logic of its own.

pub mod admin_key;
pub mod app;
pub mod approvals_cli;
pub mod archive_cli;
pub mod archive_consumer;
pub mod audit_anchor;
pub mod bench;
pub mod bulk_bench;
pub mod config;
pub mod data_lock;
pub mod doctor_cli;
pub mod enrich_cli;
pub mod hunt_cli;
pub mod jobs_cli;
pub mod sandbox_clock;
pub mod server;
pub mod store_config;

/// Install the one rustls crypto provider (aws-lc-rs) for the whole process. Safe to call twice.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
