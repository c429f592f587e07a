//! The `riposte` binary's library half: configuration and assembly of the running pieces.
//! The CLI (`main.rs`) only parses arguments and calls in here; it has no logic of its own.

pub mod app;
pub mod bench;
pub mod config;
pub mod enrich_cli;
pub mod hunt_cli;

/// Install the one rustls crypto provider (aws-lc-rs) for the whole process. Safe to call twice.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
