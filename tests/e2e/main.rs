//! The end-to-end suite: gateway + sandbox over real sockets, effects asserted in the sandbox.
//!
//! One test binary (a module per product, as in `catalog/src/<product>/` and
//! `sandbox/src/<product>/`), because every e2e binary links the whole application: sixteen of
//! them spent most of a fresh `cargo test` linking the same code sixteen times.

// Counts live heap bytes, as the riposte binary does, so hunting's memory bound is active here.
#[global_allocator]
static ALLOC: hunt::limits::CountingAlloc = hunt::limits::CountingAlloc;

mod archive;
mod aws;
mod azure;
/// The console in Chromium (Playwright for Python).
mod browser;
mod common;
mod enrichment;
mod entra;
mod hunting;
mod incident;
mod intune;
mod mcas;
mod mdc;
mod mde;
mod mdi;
mod mdo;
/// Seed 002's MDR API (`/api/v1/mdr/*`).
mod mdr;
mod platform;
/// Every catalog action of every implemented product, in every seed request shape.
mod seed_shapes;
