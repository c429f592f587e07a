//! Defender for Endpoint's procedures, one file per catalog area (`catalog/src/mde/<area>.rs`):
//! device lookups, indicators, saved hunting queries, live response and its file library.
//!
//! [`REGISTRY`] is the product's table from catalog keys (`mde.<area>.<verb>`) to the typed
//! procedures; the whole-table tests in `procedures/tests.rs` hold it to the catalog.

pub(crate) mod devices;
pub(crate) mod hunting;
pub(crate) mod indicators;
pub(crate) mod live_response;

use super::{Entry, entry};
use live_response::{commands as lr, library_ops as library};

/// Every MDE procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<devices::FindByName>(),
    entry::<devices::FindByIp>(),
    entry::<indicators::Import>(),
    entry::<indicators::Remove>(),
    entry::<indicators::RemoveByValue>(),
    entry::<indicators::Update>(),
    entry::<hunting::SaveQuery>(),
    entry::<hunting::ListSavedQueries>(),
    entry::<hunting::GetSavedQuery>(),
    entry::<hunting::RunSavedQuery>(),
    entry::<hunting::DeleteSavedQuery>(),
    entry::<hunting::QueryHistory>(),
    entry::<lr::RunScript>(),
    entry::<lr::GetFile>(),
    entry::<lr::PutFile>(),
    entry::<lr::InvokeCommand>(),
    entry::<lr::GetProcesses>(),
    entry::<lr::KillProcess>(),
    entry::<lr::GetRegistryValue>(),
    entry::<lr::SetRegistryValue>(),
    entry::<lr::DeleteRegistryValue>(),
    entry::<lr::FindFiles>(),
    entry::<lr::GetFileInfo>(),
    entry::<live_response::GetResult>(),
    entry::<live_response::ListSessions>(),
    entry::<library::Upload>(),
    entry::<library::List>(),
    entry::<library::Get>(),
    entry::<library::Delete>(),
    entry::<library::Push>(),
];
