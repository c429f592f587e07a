//! An operation step and its audit record, committed together.
//!
//! The engine writes an operation row and its `attempt` record before the upstream call, and the
//! outcome with its `outcome` record after. Each pair is one transaction: the two can never
//! disagree after a crash, and each step costs one durable commit (one fsync) instead of two.

use sqlx::sqlite::SqlitePool;
use uuid::Uuid;

use super::audit::append_audit_in;
use super::begin_write;
use super::operations::{insert_operation_in, update_operation_in};
use crate::StoreError;
use crate::model::{AuditRecord, NewAuditEvent, NewOperation, Operation, OperationUpdate};

pub(crate) async fn begin_operation(
    pool: &SqlitePool,
    op: NewOperation,
    attempt: &NewAuditEvent,
) -> Result<(Operation, AuditRecord), StoreError> {
    let mut tx = begin_write(pool).await?;
    let op = insert_operation_in(&mut tx, op).await?;
    let record = append_audit_in(&mut tx, attempt).await?;
    tx.commit().await?;
    Ok((op, record))
}

pub(crate) async fn finish_step(
    pool: &SqlitePool,
    id: Uuid,
    update: OperationUpdate,
    outcome: &NewAuditEvent,
) -> Result<(Operation, AuditRecord), StoreError> {
    let mut tx = begin_write(pool).await?;
    let op = update_operation_in(&mut tx, id, update).await?;
    let record = append_audit_in(&mut tx, outcome).await?;
    tx.commit().await?;
    Ok((op, record))
}
