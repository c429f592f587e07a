//! Custom tags: Graph's incident PATCH replaces `customTags` whole, so adding or removing tags
//! reads the current list and writes the result back. Between the read and the PATCH another
//! writer's change to the tags can be lost: Graph offers no ETag on incidents to guard it.

use super::incident_path;
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{Params, ProcedureId};
use serde_json::json;
use upstream::{Api, ApiRequest, Budget, Method};

pub struct AddTags {
    id: String,
    tags: Vec<String>,
}

pub struct RemoveTags {
    id: String,
    tags: Vec<String>,
}

impl TryFrom<&Params> for AddTags {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(AddTags { id: args.text("incidentId")?, tags: args.strings("customTags")? })
    }
}

impl TryFrom<&Params> for RemoveTags {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RemoveTags { id: args.text("incidentId")?, tags: args.strings("customTags")? })
    }
}

impl Procedure for AddTags {
    const ID: ProcedureId = ProcedureId("incident.incidents.add_tags");
    const READS: &'static [Read] = &[required("incidentId"), required("customTags")];
    /// Read and rewrite: run again after a restart, the tags end the same.
    const RESUMABLE: bool = true;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        rewrite(ctx, &self.id, |current| {
            let mut tags = current.to_vec();
            for t in &self.tags {
                if !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                    tags.push(t.clone());
                }
            }
            tags
        })
        .await
    }
}

impl Procedure for RemoveTags {
    const ID: ProcedureId = ProcedureId("incident.incidents.remove_tags");
    const READS: &'static [Read] = &[required("incidentId"), required("customTags")];
    /// Read and rewrite: run again after a restart, the tags end the same.
    const RESUMABLE: bool = true;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        rewrite(ctx, &self.id, |current| {
            current.iter().filter(|x| !self.tags.iter().any(|t| t.eq_ignore_ascii_case(x))).cloned().collect()
        })
        .await
    }
}

/// Read the incident's tags, PATCH `change(tags)`; the answer is the updated incident.
async fn rewrite(
    ctx: &Ctx<'_>,
    id: &str,
    change: impl FnOnce(&[String]) -> Vec<String>,
) -> Result<Carried, EngineError> {
    let upstream = ctx.engine.upstream();
    let current =
        upstream.call(ctx.creds, ApiRequest::get(Api::Graph, incident_path(id)).with_group(Budget::Incidents)).await?;
    let tags: Vec<String> = current.body["customTags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let body = json!({ "customTags": change(&tags) });
    let resp = upstream
        .call(
            ctx.creds,
            ApiRequest::new(Api::Graph, Method::Patch, incident_path(id)).with_body(body).with_group(Budget::Incidents),
        )
        .await?;
    Ok(Carried {
        data: json!({ "previousTags": tags, "incident": resp.body }),
        request_ids: current.request_id.into_iter().chain(resp.request_id).collect(),
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    })
}
