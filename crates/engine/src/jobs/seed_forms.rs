//! The seed's bulk forms become jobs: an MDE device action over a `deviceIds` list, and the
//! seed's `Bulk*` names (the Incident worker's triage, `BulkRemoveIndicators`).
//!
//! The seed ran these as one HTTP request looping over the list. A short list still does (up to
//! [`INLINE_TARGETS`]: one operation answered per target in the request, as the seed's clients
//! read it; a few calls never wait long for a budget), and so does a request whose caller asks
//! to wait for the answer (`wait` or `Prefer: wait=N`, N > 0: the surface decides, bounded by
//! that wait as any action). Otherwise it is a job: one durable item
//! per target, drained by the scheduler under the tenant's budgets (interactive actions first),
//! each item the same action over a one-element list, so its result, audit and undo are the
//! action's own, and the request is answered at once with the job's status link instead of
//! holding the connection for minutes of rate-limited calls (the seed's Functions host gave up
//! after 230 s). Only forms whose action makes one call per element anyway are split: a batch
//! endpoint (MDE's indicator import, 500 per call; its alerts batch update) stays one call.

use super::{JobSpec, JobTargets};
use crate::{ActionRequest, Engine, EngineError, reverts};
use catalog::{Product, Risk};
use serde_json::{Map, Value, json};

/// The longest list a seed request still runs inline, as one operation.
pub const INLINE_TARGETS: usize = 10;

/// The list parameter each product's per-element actions take, one target per element.
const TARGET_LISTS: &[(Product, &str)] = &[
    (Product::Mde, "deviceIds"),
    (Product::Mde, "indicatorIds"),
    (Product::Incident, "incidentIds"),
    (Product::Incident, "alertIds"),
];

impl Engine {
    /// A seed request in a bulk form over more than [`INLINE_TARGETS`] targets, as the job it
    /// becomes; `None` when it runs as one operation (a short list, a read, an action without a
    /// target list). Bad parameters are the action's own refusals, as the single action's.
    pub fn seed_bulk_form(&self, req: &ActionRequest) -> Result<Option<JobSpec>, EngineError> {
        let spec = self.resolve(req.product, &req.action)?;
        if spec.risk == Risk::Read || matches!(spec.plan, catalog::Plan::Unsupported { .. }) {
            return Ok(None);
        }
        let Some(&(_, list)) =
            TARGET_LISTS.iter().find(|(p, name)| *p == spec.product && spec.params.iter().any(|s| s.name == *name))
        else {
            return Ok(None);
        };
        let mut raw = req.params.clone();
        let revert_after = reverts::take_revert_after(&mut raw)?;
        let mut validated = spec.validate(&raw)?;
        let ids = match validated.remove(list) {
            Some(Value::Array(ids)) => ids,
            _ => return Ok(None),
        };
        if ids.len() <= INLINE_TARGETS {
            return Ok(None);
        }
        // The shared parameters in their checked form (canonical names, defaults filled in).
        let params: Map<String, Value> = validated.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let targets: Vec<Map<String, Value>> = ids
            .into_iter()
            .map(|id| {
                let mut t = Map::new();
                t.insert("tenant".into(), Value::String(req.tenant.clone()));
                t.insert(list.into(), json!([id]));
                t
            })
            .collect();
        Ok(Some(JobSpec {
            name: Some(format!("{} over {} {list} (seed bulk form)", spec.name, targets.len())),
            product: spec.product,
            action: spec.name.into(),
            params,
            targets: JobTargets::List(targets),
            revert_after,
            priority: 0,
        }))
    }
}
