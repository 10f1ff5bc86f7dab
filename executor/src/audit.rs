//! The audit trail of the executor's own changes: who made each, and hashes of the resource's state as read
//! around it ([`rdfi_provider::state_hash`]). Published with the fault's events; knowledge keeps and answers it.

use rdfi_provider::StateHash;

/// What the executor read of a resource around its changes to it, for the fault's events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// Read right after the injection; `None` when that read failed (or nothing was injected).
    pub injected: Option<StateHash>,
    /// Read by the revert before it wrote (or found nothing to undo), and by its verification.
    pub revert: Option<Around>,
}

/// The states read on either side of one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Around {
    pub before: StateHash,
    pub after: StateHash,
}

/// A state hash as events carry it: lowercase hex; empty when unknown.
pub(crate) fn hex(hash: Option<StateHash>) -> String {
    hash.map(hex::encode).unwrap_or_default()
}

/// Who the executor is in the audit trail: this process, and the cloud identity it calls as.
pub(crate) fn actor(own_identity: &[String]) -> String {
    let instance = rdfi_core::lease::this_instance();
    match own_identity.first() {
        Some(identity) => format!("rdfi-executor {instance} as {identity}"),
        None => format!("rdfi-executor {instance}"),
    }
}
