//! The lifecycle of an operation, as a type.
//!
//! `Queued → Running → InProgress → Succeeded | PartiallySucceeded | Failed | Cancelled | Unknown`.
//! - `Queued`: accepted and durable; no upstream call made yet (safe to run after a restart).
//! - `Running`: a worker is carrying it out; upstream calls may have been made.
//! - `InProgress`: Microsoft accepted it and it is tracked upstream (machine action, live response).
//! - `AwaitingApproval`: the approval policy holds it (`crate::approvals`); nothing was sent
//!   upstream. Approved, it becomes `Queued`; refused, `Rejected`; undecided in time, `Expired`.
//! - `Unknown`: a restart interrupted a call whose effect could not be discovered; the audit says
//!   why and what to check. Never re-run silently.
//!
//! The enum is defined in `store` (so filters and rows are typed at the store boundary) and
//! re-exported here; the store keeps the name (`as_str`), the engine reasons with the enum.

pub use store::OpState;

/// The stored status names, for code that compares strings read from the store.
pub mod status {
    use super::OpState;
    pub const QUEUED: &str = OpState::Queued.as_str();
    pub const RUNNING: &str = OpState::Running.as_str();
    pub const IN_PROGRESS: &str = OpState::InProgress.as_str();
    pub const SUCCEEDED: &str = OpState::Succeeded.as_str();
    pub const PARTIALLY_SUCCEEDED: &str = OpState::PartiallySucceeded.as_str();
    pub const FAILED: &str = OpState::Failed.as_str();
    pub const CANCELLED: &str = OpState::Cancelled.as_str();
    pub const UNKNOWN: &str = OpState::Unknown.as_str();
    pub const AWAITING_APPROVAL: &str = OpState::AwaitingApproval.as_str();
    pub const REJECTED: &str = OpState::Rejected.as_str();
    pub const EXPIRED: &str = OpState::Expired.as_str();

    /// True for a stored status that ends waiting and tracking (unknown names count as terminal,
    /// so a corrupted row is never polled forever).
    pub fn is_terminal(s: &str) -> bool {
        OpState::parse(s).is_none_or(OpState::is_terminal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_four_states_are_open() {
        for s in OpState::ALL {
            assert_eq!(OpState::parse(s.as_str()), Some(s));
        }
        let open: Vec<_> = OpState::ALL.into_iter().filter(|s| !s.is_terminal()).collect();
        assert_eq!(open, [OpState::AwaitingApproval, OpState::Queued, OpState::Running, OpState::InProgress]);
        assert_eq!(OpState::parse("TimeOut"), Some(OpState::Failed));
        assert!(status::is_terminal("garbage"));
    }
}
