//! The journal in one local file: one JSON record per line, appended and fsynced. The last record of each
//! fault is its state. For one process (`rdfi run`, `rdfi demo`) and single-replica executors.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Journal, JournalError, JournalRecord};

/// The journal file and the last record of every fault in it.
pub struct FileJournal {
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    latest: HashMap<String, JournalRecord>,
}

impl FileJournal {
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
        Ok(FileJournal {
            path,
            inner: Mutex::new(Inner { file, latest }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append_locked(&self, inner: &mut Inner, record: &JournalRecord) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(record).map_err(|error| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            reason: error.to_string(),
        })?;
        line.push(b'\n');
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
}

#[async_trait]
impl Journal for FileJournal {
    async fn claim(&self, record: &JournalRecord) -> Result<bool, JournalError> {
        let mut inner = self.lock();
        if inner.latest.contains_key(&record.fault_instance_id) {
            return Ok(false);
        }
        self.append_locked(&mut inner, record)?;
        Ok(true)
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let mut inner = self.lock();
        self.append_locked(&mut inner, record)
    }

    async fn get(&self, fault_instance_id: &str) -> Result<Option<JournalRecord>, JournalError> {
        Ok(self.lock().latest.get(fault_instance_id).cloned())
    }

    async fn open_faults(&self) -> Result<Vec<JournalRecord>, JournalError> {
        Ok(super::open_of(self.lock().latest.values()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::FaultState;
    use rdfi_proto::v1::ResourceRef;

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

    #[tokio::test]
    async fn replay_keeps_the_last_state_of_each_fault() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            assert!(
                journal
                    .claim(&record("a", FaultState::Intended))
                    .await
                    .unwrap()
            );
            assert!(
                journal
                    .claim(&record("b", FaultState::Intended))
                    .await
                    .unwrap()
            );
            assert!(
                !journal
                    .claim(&record("a", FaultState::Intended))
                    .await
                    .unwrap(),
                "claimed once"
            );
            journal
                .append(&record("a", FaultState::Injected))
                .await
                .unwrap();
            journal
                .append(&record("b", FaultState::Reverted))
                .await
                .unwrap();
        }
        let journal = FileJournal::open(dir.path()).unwrap();
        let open = journal.open_faults().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].fault_instance_id, "a");
        assert_eq!(open[0].state, FaultState::Injected);
        assert_eq!(
            journal.get("b").await.unwrap().unwrap().state,
            FaultState::Reverted
        );
    }

    #[tokio::test]
    async fn a_torn_last_line_is_ignored_but_corruption_elsewhere_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            journal
                .append(&record("a", FaultState::Intended))
                .await
                .unwrap();
        }
        let path = dir.path().join("executor-journal.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"faultInstanceId\": \"b\", \"sta");
        std::fs::write(&path, &text).unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            assert_eq!(journal.open_faults().await.unwrap().len(), 1);
            journal
                .append(&record("c", FaultState::Intended))
                .await
                .unwrap();
        }
        assert_eq!(
            FileJournal::open(dir.path())
                .unwrap()
                .open_faults()
                .await
                .unwrap()
                .len(),
            2
        );
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        assert!(matches!(
            FileJournal::open(dir.path()),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }
}
