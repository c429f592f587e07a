//! Named multi-step procedures: what an action does when one templated [`catalog::Call`] is not
//! enough (live-response command sequences, saved hunting queries, ...).
//!
//! Each [`Procedure`] variant has one submodule here that tells its story with the same tools the
//! plain plans use: `upstream` for every cloud call, the store for anything Riposte keeps. The
//! engine records the attempt before [`run`] and the outcome after it, exactly as for a `Call`.

mod hunting;
mod indicators;
pub(crate) mod live_response;
pub(crate) mod resolve;

pub use hunting::{builtins, HistoryFilter, SavedQueryView};

use crate::plan::Carried;
use crate::{Engine, EngineError, Principal};
use catalog::{ActionSpec, Params, Procedure};
use upstream::TenantCredentials;
use uuid::Uuid;

/// What a procedure may use: the engine (store, upstream, tenants), the caller's tenant and its
/// credentials, the action's declaration, and the operation already recorded for this run.
pub struct Ctx<'a> {
    pub engine: &'a Engine,
    pub tenant: &'a str,
    /// Who asked (authors of saved queries, the scope of the query history).
    pub principal: &'a Principal,
    pub creds: &'a TenantCredentials,
    pub spec: &'static ActionSpec,
    pub operation: Uuid,
}

/// Run one procedure to its outcome.
pub async fn run(ctx: &Ctx<'_>, procedure: Procedure, params: &Params) -> Result<Carried, EngineError> {
    match procedure {
        Procedure::SaveQuery
        | Procedure::ListSavedQueries
        | Procedure::GetSavedQuery
        | Procedure::RunSavedQuery
        | Procedure::DeleteSavedQuery
        | Procedure::GetQueryHistory => hunting::run(ctx, procedure, params).await,
        Procedure::FindDevices => resolve::find(ctx, params).await,
        Procedure::ImportIndicators => indicators::import(ctx, params).await,
        Procedure::RemoveIndicators => indicators::remove(ctx, params).await,
        Procedure::RemoveIndicatorsByValue => indicators::remove_by_value(ctx, params).await,
        Procedure::UpdateIndicator => indicators::update(ctx, params).await,
        Procedure::RunScript
        | Procedure::GetFile
        | Procedure::PutFile
        | Procedure::InvokeCommand
        | Procedure::GetProcesses
        | Procedure::KillProcess
        | Procedure::GetRegistryValue
        | Procedure::SetRegistryValue
        | Procedure::DeleteRegistryValue
        | Procedure::FindFiles
        | Procedure::GetFileInfo
        | Procedure::GetLiveResponseResult
        | Procedure::ListLiveResponseSessions
        | Procedure::UploadToLibrary
        | Procedure::ListLibraryFiles
        | Procedure::GetLibraryFile
        | Procedure::DeleteLibraryFile
        | Procedure::PushToMdeLibrary => live_response::run(ctx, procedure, params).await,
    }
}
