//! The session gate: MDE runs one live-response session per machine and 25 per tenant, and
//! answers a second one with 400 `ActiveRequestAlreadyExists` (or 429). Commands queue here
//! instead: a slot is one machine lock plus one of the tenant's permits, held from the POST
//! until the session ends.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Documented: 25 concurrent live-response sessions per tenant.
pub const SESSIONS_PER_TENANT: usize = 25;

/// One lock per (tenant, machine).
type MachineLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

#[derive(Default)]
pub struct Gate {
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    machines: Mutex<MachineLocks>,
}

/// A held session slot; dropping it lets the next queued command on that machine/tenant go.
pub struct Slot {
    _machine: OwnedMutexGuard<()>,
    _tenant: OwnedSemaphorePermit,
}

impl Gate {
    /// Wait (first come, first served) for the machine, then for one of the tenant's sessions.
    /// The machine comes first so a command queued behind a busy machine holds no tenant permit.
    pub async fn acquire(&self, tenant: &str, machine: &str) -> Slot {
        let lock = self.machines.lock().entry((tenant.to_string(), machine.to_ascii_lowercase())).or_default().clone();
        let machine = lock.lock_owned().await;
        let permits = self
            .tenants
            .lock()
            .entry(tenant.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(SESSIONS_PER_TENANT)))
            .clone();
        // The semaphore is never closed, so acquiring cannot fail; a closed one would mean no
        // limit rather than a stuck queue.
        let tenant = match permits.acquire_owned().await {
            Ok(p) => p,
            Err(_) => Arc::new(Semaphore::new(1)).try_acquire_owned().expect("fresh semaphore has a permit"),
        };
        Slot { _machine: machine, _tenant: tenant }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_session_per_machine_and_25_per_tenant() {
        let gate = Gate::default();
        let a = gate.acquire("t", "m1").await;
        // The same machine waits; another machine does not.
        assert!(tokio::time::timeout(Duration::from_millis(50), gate.acquire("t", "M1")).await.is_err());
        let _b = gate.acquire("t", "m2").await;
        drop(a);
        let _a2 = tokio::time::timeout(Duration::from_secs(1), gate.acquire("t", "m1")).await.unwrap();

        let mut slots = Vec::new();
        for i in 0..SESSIONS_PER_TENANT - 2 {
            slots.push(gate.acquire("t", &format!("x{i}")).await);
        }
        assert!(tokio::time::timeout(Duration::from_millis(50), gate.acquire("t", "y")).await.is_err());
        // Another tenant has its own 25.
        let _other = tokio::time::timeout(Duration::from_secs(1), gate.acquire("u", "y")).await.unwrap();
        slots.pop();
        let _y = tokio::time::timeout(Duration::from_secs(1), gate.acquire("t", "y")).await.unwrap();
    }
}
