//! The incident product's procedures (catalog keys `incident.<area>.<verb>`): what the Graph
//! security API cannot answer in one call.
//!
//! - `reads.rs`: an incident's alerts and comments, a timeline and statistics computed by
//!   Riposte from alerts, evidence and comments (each answer says it was computed, and from what);
//! - `tags.rs`: adding or removing custom tags (Graph's PATCH replaces the whole list);
//! - `bulk.rs`: one PATCH per incident or alert, resumable after a restart, a result per item.

use super::{Entry, entry};

pub(crate) mod bulk;
pub(crate) mod reads;
pub(crate) mod tags;

/// Every incident procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<reads::IncidentAlerts>(),
    entry::<reads::IncidentComments>(),
    entry::<reads::Timeline>(),
    entry::<reads::IncidentStatistics>(),
    entry::<reads::AlertStatistics>(),
    entry::<tags::AddTags>(),
    entry::<tags::RemoveTags>(),
    entry::<bulk::Bulk<bulk::UpdateIncidents>>(),
    entry::<bulk::Bulk<bulk::AssignIncidents>>(),
    entry::<bulk::Bulk<bulk::ResolveIncidents>>(),
    entry::<bulk::Bulk<bulk::ReopenIncidents>>(),
    entry::<bulk::Bulk<bulk::ClassifyIncidents>>(),
    entry::<bulk::Bulk<bulk::ResolveAlerts>>(),
    entry::<bulk::Bulk<bulk::ClassifyAlerts>>(),
    entry::<bulk::Bulk<bulk::AssignAlerts>>(),
];

/// Ids were validated (`ResourceId`); encode anyway so a path never changes shape.
pub(crate) fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/v1.0/security/incidents/{id}`.
pub(crate) fn incident_path(id: &str) -> String {
    format!("/v1.0/security/incidents/{}", encode(id))
}
