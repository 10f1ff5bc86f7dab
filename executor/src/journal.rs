//! The executor's write-ahead journal: one JSON record per line, appended and fsynced before the executor acts
//! on it. A fault's intent (with the snapshot and the revert deadline) is durable before the mutating call; each
//! later transition is appended. On start the journal is replayed: the last record of each fault is its state.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// The journal file and the last record of every fault in it.
pub struct Journal {
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    latest: HashMap<String, JournalRecord>,
}

impl Journal {
    /// Opens the journal in `dir` (creating both if needed) and replays it.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let path = dir.join("executor-journal.jsonl");
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut latest = HashMap::new();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(io(error)),
        };
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<JournalRecord>(line) {
                Ok(record) => {
                    latest.insert(record.fault_instance_id.clone(), record);
                }
                // A torn last line is a write the crash interrupted: the action it announced never started.
                // Cut it off so that the next record starts on a line of its own.
                Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => {
                    tracing::warn!(path = %path.display(), "cutting off a torn last journal line");
                    let keep = text.rfind('\n').map_or(0, |position| position + 1);
                    OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|file| file.set_len(keep as u64))
                        .map_err(io)?;
                }
                Err(error) => {
                    return Err(JournalError::Corrupt {
                        path: path.clone(),
                        line: index + 1,
                        reason: error.to_string(),
                    });
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Journal {
            path,
            inner: Mutex::new(Inner { file, latest }),
        })
    }

    /// Appends a record and waits until it is on disk.
    pub fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(record).map_err(|error| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            reason: error.to_string(),
        })?;
        line.push(b'\n');
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        inner.file.write_all(&line).map_err(io)?;
        inner.file.sync_data().map_err(io)?;
        inner
            .latest
            .insert(record.fault_instance_id.clone(), record.clone());
        Ok(())
    }

    /// The last record of a fault.
    pub fn get(&self, fault_instance_id: &str) -> Option<JournalRecord> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .latest
            .get(fault_instance_id)
            .cloned()
    }

    /// Every fault a revert is still owed for.
    pub fn open_faults(&self) -> Vec<JournalRecord> {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut open: Vec<_> = inner
            .latest
            .values()
            .filter(|record| record.state.is_open())
            .cloned()
            .collect();
        open.sort_by_key(|record| record.revert_due_at_ms);
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, state: FaultState) -> JournalRecord {
        JournalRecord {
            fault_instance_id: id.to_owned(),
            run_id: "run".to_owned(),
            fault_id: "aws.s3.bucket-public-acl".to_owned(),
            resource: ResourceRef::default(),
            state,
            snapshot: Some(serde_json::json!({"grants": []})),
            hypothesis: None,
            injected_at_ms: None,
            revert_due_at_ms: 10,
            dry_run: false,
            reason: None,
            recorded_at_ms: 1,
        }
    }

    #[test]
    fn replay_keeps_the_last_state_of_each_fault() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = Journal::open(dir.path()).unwrap();
            journal.append(&record("a", FaultState::Intended)).unwrap();
            journal.append(&record("b", FaultState::Intended)).unwrap();
            journal.append(&record("a", FaultState::Injected)).unwrap();
            journal.append(&record("b", FaultState::Reverted)).unwrap();
        }
        let journal = Journal::open(dir.path()).unwrap();
        let open = journal.open_faults();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].fault_instance_id, "a");
        assert_eq!(open[0].state, FaultState::Injected);
        assert_eq!(journal.get("b").unwrap().state, FaultState::Reverted);
    }

    #[test]
    fn a_torn_last_line_is_ignored_but_corruption_elsewhere_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = Journal::open(dir.path()).unwrap();
            journal.append(&record("a", FaultState::Intended)).unwrap();
        }
        let path = dir.path().join("executor-journal.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"faultInstanceId\": \"b\", \"sta");
        std::fs::write(&path, &text).unwrap();
        {
            let journal = Journal::open(dir.path()).unwrap();
            assert_eq!(journal.open_faults().len(), 1);
            journal.append(&record("c", FaultState::Intended)).unwrap();
        }
        assert_eq!(Journal::open(dir.path()).unwrap().open_faults().len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        assert!(matches!(
            Journal::open(dir.path()),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }
}
