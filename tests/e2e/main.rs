//! The end-to-end suite: gateway + sandbox over real sockets, effects asserted in the sandbox.
//!
//! One test binary (a module per product, as in `catalog/src/<product>/` and
//! `sandbox/src/<product>/`), because every e2e binary links the whole application: sixteen of
//! them spent most of a fresh `cargo test` linking the same code sixteen times.

mod aws;
mod azure;
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
mod platform;
/// Every catalog action of every implemented product, in every seed request shape.
mod seed_shapes;
