//! Product-independent behaviour: bad input, persistence across restarts, throttling.

/// The audit head POSTed to a webhook (issue 15 §1).
mod anchor_webhook;
/// Approvals by policy (issue 15 §2).
mod approvals;
mod bad_input;
mod completion;
/// The permission doctor and dry runs (issue 15 §3).
mod doctor;
pub(crate) mod durability;
mod jobs;
/// Callers authenticated by Entra ID (issue 15 §4).
mod oidc;
mod persistence;
/// Regressions for the probe's defects (issue 15 §1).
mod probe;
/// Two replicas on one PostgreSQL database (issue 12 §4).
mod replicas;
/// The bulk job tests on PostgreSQL (issue 12 §4: both back ends pass the same suite).
mod replicas_jobs;
mod reverts;
/// schemathesis against the live gateway's OpenAPI document (issue 15 §1).
mod schemathesis;
mod throttling;
