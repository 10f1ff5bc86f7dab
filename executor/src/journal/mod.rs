//! The executor's write-ahead journal. A fault's first record (its intent, with the snapshot and the revert
//! deadline) is durable before the mutating call; each later transition is recorded too. Two stores:
//! [`file::FileJournal`] (one local file, for one process) and [`nats::NatsJournal`] (a replicated JetStream
//! key-value bucket, shared by executor replicas; see docs/adr/0003).

pub mod file;
pub mod nats;

use std::path::PathBuf;

use async_trait::async_trait;
use rdfi_proto::v1::{Hypothesis, ResourceRef};
use serde::{Deserialize, Serialize};

/// Where a fault is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultState {
    /// Snapshot taken, mutation about to be made (or made, if the process died before the next record).
    Intended,
    Injected,
    Reverting,
    Reverted,
    /// Verification kept failing; the fault stays open.
    RevertFailed,
    /// The cloud refused the change.
    Prevented,
    /// A guard or precondition refused the fault; nothing was changed.
    Rejected,
}

impl FaultState {
    /// The state's name, as in the journal and in `fault.*` subjects: `injected`, `revert_failed`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            FaultState::Intended => "intended",
            FaultState::Injected => "injected",
            FaultState::Reverting => "reverting",
            FaultState::Reverted => "reverted",
            FaultState::RevertFailed => "revert_failed",
            FaultState::Prevented => "prevented",
            FaultState::Rejected => "rejected",
        }
    }

    /// Whether the resource may still carry the fault, so a revert is owed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            FaultState::Intended
                | FaultState::Injected
                | FaultState::Reverting
                | FaultState::RevertFailed
        )
    }
}

/// One line of the journal: the whole record of a fault as of one transition.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalRecord {
    pub fault_instance_id: String,
    pub run_id: String,
    pub fault_id: String,
    pub resource: ResourceRef,
    pub state: FaultState,
    /// The resource's state before the fault: what the revert restores and the verification compares with.
    pub snapshot: Option<serde_json::Value>,
    pub hypothesis: Option<Hypothesis>,
    pub injected_at_ms: Option<i64>,
    /// When the fault is reverted at the latest.
    pub revert_due_at_ms: i64,
    pub dry_run: bool,
    pub reason: Option<String>,
    pub recorded_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal in NATS key-value bucket {bucket}: {reason}")]
    Nats { bucket: String, reason: String },
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path} line {line}: {reason}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// Where journal records are kept.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Writes a fault's first record unless the fault has one already; `false` means another delivery or
    /// another executor has it.
    async fn claim(&self, record: &JournalRecord) -> Result<bool, JournalError>;

    /// Records a transition, durably, before returning.
    async fn append(&self, record: &JournalRecord) -> Result<(), JournalError>;

    /// The last record of a fault.
    async fn get(&self, fault_instance_id: &str) -> Result<Option<JournalRecord>, JournalError>;

    /// Every fault a revert is still owed for, earliest deadline first.
    async fn open_faults(&self) -> Result<Vec<JournalRecord>, JournalError>;
}

fn open_of<'a>(records: impl Iterator<Item = &'a JournalRecord>) -> Vec<JournalRecord> {
    let mut open: Vec<_> = records
        .filter(|record| record.state.is_open())
        .cloned()
        .collect();
    open.sort_by_key(|record| record.revert_due_at_ms);
    open
}
