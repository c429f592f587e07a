//! A tenant's Defender for Endpoint and Defender XDR data, in one place per product.
//!
//! Each emulated product keeps its state in its own module under `world/` (this one, `graph.rs`,
//! `arm.rs`), so adding a product adds a state struct and a field on `Tenant`, not ten more
//! fields on one struct that every product shares.

use std::collections::BTreeMap;

use super::Machine;
use crate::mde::MachineAction;
use crate::mde::alerts::{Alert, Incident};
use crate::mde::indicators::Indicators;
use crate::mde::investigations::Investigation;
use crate::mde::library::LibraryFile;
use crate::mde::live_response::DeviceState;

pub struct MdeState {
    pub machines: Vec<Machine>,
    pub actions: Vec<MachineAction>,
    /// The live response library (`mde/library.rs`), seeded with helper scripts.
    pub library: Vec<LibraryFile>,
    /// Automated investigations (`mde/investigations.rs`).
    pub investigations: Vec<Investigation>,
    /// What live response changed on each machine, by machine id (`mde/live_response.rs`).
    pub devices: BTreeMap<String, DeviceState>,
    /// Defender alerts (MDE `/api/alerts`, Graph `alerts_v2`, hunting AlertInfo/AlertEvidence
    /// all read these); see `mde/alerts.rs`.
    pub alerts: Vec<Alert>,
    /// Defender XDR incidents grouping `alerts` by `incident_id`.
    pub incidents: Vec<Incident>,
    /// Custom indicators (`mde/indicators.rs`); empty at start.
    pub indicators: Indicators,
}
