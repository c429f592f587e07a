//! Watching live-response MachineActions to their end, one call per tenant per interval: a paged
//! `GET /api/machineactions` filtered on creation time answers for every session of the tenant,
//! so 25 concurrent sessions cost what one does against MDE's 100 calls/min.

use crate::Engine;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::oneshot;
use upstream::{Api, ApiRequest, Budget, Method};

struct Watch {
    created: String,
    done: oneshot::Sender<Value>,
}

#[derive(Default)]
pub struct Poller {
    /// tenant → action id → who waits for it.
    watched: Mutex<HashMap<String, HashMap<String, Watch>>>,
    /// Tenants with a polling loop running.
    running: Mutex<HashSet<String>>,
}

pub fn is_final(status: &str) -> bool {
    matches!(status, "Succeeded" | "Failed" | "TimeOut" | "Cancelled")
}

impl Poller {
    /// Wait until the action reaches a final state; returns the MachineAction as MDE last sent it.
    pub async fn wait_final(
        &self,
        engine: &Engine,
        tenant: &str,
        action_id: &str,
        created: &str,
        interval: Duration,
    ) -> Option<Value> {
        let (tx, rx) = oneshot::channel();
        self.watched
            .lock()
            .entry(tenant.to_string())
            .or_default()
            .insert(action_id.to_ascii_lowercase(), Watch { created: created.to_string(), done: tx });
        if self.running.lock().insert(tenant.to_string()) {
            let engine = engine.clone();
            let tenant = tenant.to_string();
            tokio::spawn(async move { poll_tenant(engine, tenant, interval).await });
        }
        rx.await.ok()
    }
}

async fn poll_tenant(engine: Engine, tenant: String, interval: Duration) {
    let poller = &engine.live_response().poller;
    loop {
        tokio::time::sleep(interval).await;
        let since = {
            let watched = poller.watched.lock();
            match watched.get(&tenant).filter(|w| !w.is_empty()) {
                Some(w) => w.values().map(|x| x.created.clone()).min(),
                None => {
                    poller.running.lock().remove(&tenant);
                    return;
                }
            }
        };
        match fetch(&engine, &tenant, since).await {
            Ok(actions) => deliver(poller, &tenant, actions),
            Err(e) => tracing::warn!(tenant = %tenant, error = %e, "live-response polling failed; will retry"),
        }
    }
}

async fn fetch(engine: &Engine, tenant: &str, since: Option<String>) -> Result<Vec<Value>, crate::EngineError> {
    let creds = engine.tenants().get(tenant)?;
    let mut req = ApiRequest::new(Api::Mde, Method::Get, "/api/machineactions").with_group(Budget::Default);
    if let Some(since) = since.filter(|s| !s.is_empty()) {
        req = req.with_query("$filter", format!("creationDateTimeUtc ge {since}"));
    }
    Ok(engine.upstream().get_paged(creds, req, 10_000).await?.items)
}

fn deliver(poller: &Poller, tenant: &str, actions: Vec<Value>) {
    let mut watched = poller.watched.lock();
    let Some(w) = watched.get_mut(tenant) else { return };
    for a in actions {
        let (Some(id), Some(status)) = (a["id"].as_str(), a["status"].as_str()) else { continue };
        if is_final(status)
            && let Some(watch) = w.remove(&id.to_ascii_lowercase())
        {
            let _ = watch.done.send(a);
        }
    }
}
