//! Replicas: who owns each unfinished operation, and who is alive (migration 0021).
//!
//! Every `Store` has a replica id (random, or the stable one the gateway keeps in its data
//! directory, so a restart reclaims its own work at once). Accepting an operation stamps the id
//! on it in the accepting transaction. A replica renews its heartbeat every few seconds
//! ([`Store::heartbeat`]); [`Store::claim_orphaned_operations`] hands a live replica the
//! unfinished operations of replicas that stopped beating, comparing and setting the owner in one
//! statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so exactly one replica reconciles each.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::model::Operation;
use crate::{Backend, Store, StoreError, postgres, sqlite};

impl Store {
    /// This store's replica id (stamped on the operations it accepts).
    pub fn replica_id(&self) -> &str {
        &self.replica
    }

    /// Sets the replica id: the gateway's stable one (`{data}/replica.id`), so after a restart
    /// its own unfinished operations are reclaimed without waiting for the old heartbeat to lapse.
    pub fn set_replica_id(&mut self, id: &str) {
        self.replica = Arc::from(id);
    }

    /// Records this replica alive until `until` (upsert).
    pub async fn heartbeat(&self, until: OffsetDateTime) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::replicas::heartbeat(p, &self.replica, until).await,
            Backend::Postgres(p) => postgres::replicas::heartbeat(p, &self.replica, until).await,
        }
    }

    /// Takes over operations in `statuses` that have no owner or whose owner's heartbeat ran out
    /// at `now` (and, with `include_own`, this replica's own: a restart's leftovers). Returns
    /// them oldest first, now owned by this replica. Two replicas calling at once split them:
    /// each operation goes to exactly one.
    pub async fn claim_orphaned_operations(
        &self,
        statuses: &[&str],
        include_own: bool,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Operation>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let mut ops = match &self.backend {
            Backend::Sqlite(p) => {
                sqlite::replicas::claim_orphaned(p, &self.replica, statuses, include_own, now, limit).await?
            }
            Backend::Postgres(p) => {
                postgres::replicas::claim_orphaned(p, &self.replica, statuses, include_own, now, limit).await?
            }
        };
        ops.sort_by_key(|o| (o.created_at, o.id));
        Ok(ops)
    }

    /// The replica that owns an operation (`None`: unowned, or no such operation).
    pub async fn operation_owner(&self, id: uuid::Uuid) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::replicas::owner(p, id).await,
            Backend::Postgres(p) => postgres::replicas::owner(p, id).await,
        }
    }
}
