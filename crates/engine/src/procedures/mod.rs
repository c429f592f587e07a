//! Multi-step procedures: what an action does when one templated [`catalog::Call`] is not enough
//! (live-response command sequences, saved hunting queries, batch indicator imports, ...).
//!
//! A catalog row names its procedure by a stable key ([`ProcedureId`], `"mde.hunting.save_query"`);
//! each product keeps a registry from keys to implementations in its own folder
//! (`procedures/<product>/mod.rs`, beside `catalog/src/<product>/` and `sandbox/src/<product>/`),
//! so adding a product adds a folder and one line to [`REGISTRIES`], never a variant to a
//! central enum.
//!
//! Each procedure is told the mini-redis way, one type per command: a struct of typed parameters
//! parsed from the validated [`Params`] (`TryFrom<&Params>`, through [`Args`], which refuses to
//! read a name the struct does not list in [`Procedure::READS`]), then [`Procedure::apply`]. The
//! whole-table tests below hold every `READS` list to the parameters its catalog rows declare.
//! The engine records the attempt before [`run`] and the outcome after it, exactly as for a `Call`.

mod args;
pub(crate) mod aws;
pub(crate) mod azure;
pub(crate) mod entra;
pub(crate) mod incident;
pub(crate) mod intune;
pub(crate) mod mcas;
pub(crate) mod mdc;
pub(crate) mod mde;
pub(crate) mod mdi;
pub(crate) mod mdo;

pub use args::{Args, Read, optional, required};
pub use mde::hunting::{HistoryFilter, SavedQueryView, builtins};
pub(crate) use mde::{devices as resolve, live_response};

use crate::plan::Carried;
use crate::{Engine, EngineError, Principal};
use catalog::{ActionSpec, Params, ProcedureId};
use futures::future::BoxFuture;
use std::future::Future;
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

/// One procedure: its typed parameters (parsed from the validated ones), and what it does.
pub trait Procedure: Sized + Send + for<'p> TryFrom<&'p Params, Error = EngineError> {
    /// The key catalog rows name it by.
    const ID: ProcedureId;
    /// Every parameter the `TryFrom` reads; [`Args`] refuses any other, and a whole-table test
    /// checks each is declared by every row naming [`Self::ID`].
    const READS: &'static [Read];
    /// Whether a run a restart interrupted may run again: the procedure keeps its own progress in
    /// the operation and never repeats a step that landed (Incident's bulk forms), or repeating
    /// it changes nothing more (incident tags). Others end `Unknown` at reconciliation.
    const RESUMABLE: bool = false;
    /// Carry the procedure out.
    fn apply(self, ctx: &Ctx<'_>) -> impl Future<Output = Result<Carried, EngineError>> + Send;
}

/// A procedure with its type erased, as the registries hold it.
pub struct Entry {
    pub id: ProcedureId,
    #[cfg_attr(not(test), allow(dead_code))]
    pub reads: &'static [Read],
    /// [`Procedure::RESUMABLE`].
    pub resumable: bool,
    run: for<'a> fn(&'a Ctx<'a>, &'a Params) -> BoxFuture<'a, Result<Carried, EngineError>>,
    /// Only the parsing half (for the whole-table tests: parsing does no I/O).
    #[cfg_attr(not(test), allow(dead_code))]
    parse: fn(&Params) -> Result<(), EngineError>,
}

/// The registry row of procedure `P`.
pub const fn entry<P: Procedure + 'static>() -> Entry {
    Entry { id: P::ID, reads: P::READS, resumable: P::RESUMABLE, run: parse_then_apply::<P>, parse: parse_only::<P> }
}

fn parse_then_apply<'a, P: Procedure + 'static>(
    ctx: &'a Ctx<'a>,
    params: &'a Params,
) -> BoxFuture<'a, Result<Carried, EngineError>> {
    Box::pin(async move { P::try_from(params)?.apply(ctx).await })
}

fn parse_only<P: Procedure>(params: &Params) -> Result<(), EngineError> {
    P::try_from(params).map(drop)
}

/// Every product's registry, by the product folder its keys start with.
pub const REGISTRIES: &[(&str, &[Entry])] = &[
    ("mde", mde::REGISTRY),
    ("mdo", mdo::REGISTRY),
    ("mdc", mdc::REGISTRY),
    ("mdi", mdi::REGISTRY),
    ("entra", entra::REGISTRY),
    ("intune", intune::REGISTRY),
    ("azure", azure::REGISTRY),
    ("mcas", mcas::REGISTRY),
    ("incident", incident::REGISTRY),
    ("aws", aws::REGISTRY),
];

/// The implementation of a key, if any product registers it.
pub fn find(id: ProcedureId) -> Option<&'static Entry> {
    REGISTRIES.iter().flat_map(|(_, entries)| entries.iter()).find(|e| e.id == id)
}

/// Run one procedure to its outcome: parse its parameters, then apply it.
pub async fn run(ctx: &Ctx<'_>, id: ProcedureId, params: &Params) -> Result<Carried, EngineError> {
    let entry = find(id)
        .ok_or_else(|| EngineError::Internal(format!("{}: no procedure is registered as {id}", ctx.spec.name)))?;
    (entry.run)(ctx, params).await
}

/// The answer of a procedure that made no upstream call worth recording.
pub(crate) fn answer(data: serde_json::Value) -> Carried {
    Carried { data, request_ids: vec![], machine_action_ids: vec![], failed_targets: 0, follow: None }
}

#[cfg(test)]
mod tests;
