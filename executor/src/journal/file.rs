//! The journal in one local file: one JSON record per line, appended and fsynced. The last record of each
//! fault is its state. For one process (`rdfi run`, `rdfi demo`, a single executor).
//!
//! One process at a time: opening the journal takes an exclusive lock on `executor.lock` in the state
//! directory (held until the journal is dropped or the process dies), so a second `rdfi run` or `rdfi recover`
//! on the same state directory refuses with a clear message instead of reverting the first one's live faults.
//! `rdfi status` reads without the lock ([`inspect`]). The directory is fsynced when files appear in it; a write
//! that fails half way is cut back to the last good record, so the file stays readable; the blocking writes
//! run off the async threads.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Claim, Journal, JournalError, JournalRecord, OpenIndex, Stops};
use crate::guard::Occupancy;

const JOURNAL_FILE: &str = "executor-journal.jsonl";
const LOCK_FILE: &str = "executor.lock";
const STOPS_FILE: &str = "executor-stops.json";

/// The journal file and the last record of every fault in it.
///
/// Group commit: a write appends its record under the journal's lock and leaves the lock before its fsync, so
/// that writes arriving meanwhile append theirs; the first to fsync makes every record appended so far durable,
/// and the others find theirs durable already. Each write still returns only once its record is on disk, and
/// since the file only grows, a record is never durable before one appended ahead of it.
pub struct FileJournal {
    inner: Arc<Mutex<Inner>>,
    durable: Arc<Mutex<Durable>>,
}

/// How far the file is known to be on disk.
struct Durable {
    /// The journal file, to fsync (a second handle on it; replaced with the file by compaction).
    file: File,
    /// The file's length up to which every byte is on disk.
    synced: u64,
    /// An fsync failed: what is on disk is unknown from then on, so every later write fails with this.
    failed: Option<String>,
}

struct Inner {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// The length of the file up to the last good record (appended; on disk up to [`Durable::synced`]).
    len: u64,
    latest: HashMap<String, JournalRecord>,
    /// The open records among `latest`.
    index: OpenIndex,
    stops: Stops,
    /// Holds the directory's exclusive lock while open.
    _lock: File,
}

/// What `rdfi status` sees in a state directory, without taking it.
pub struct Inspection {
    pub open: Vec<JournalRecord>,
    /// The process holding the journal (it reverts its faults at their deadlines), if one does.
    pub held_by: Option<String>,
    pub stops: Stops,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Makes a new or renamed file in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(io_error(dir))
}

/// Parses the journal's text; a torn last line (a write the crash interrupted) is reported as the length to cut
/// the file back to.
fn parse(
    path: &Path,
    text: &str,
) -> Result<(HashMap<String, JournalRecord>, Option<u64>), JournalError> {
    let mut latest = HashMap::new();
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
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => {
                let keep = text.rfind('\n').map_or(0, |position| position + 1);
                return Ok((latest, Some(keep as u64)));
            }
            Err(error) => {
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                    reason: error.to_string(),
                });
            }
        }
    }
    Ok((latest, None))
}

fn read_text(path: &Path) -> Result<String, JournalError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(error) => Err(io_error(path)(error)),
    }
}

fn read_stops(dir: &Path) -> Result<Stops, JournalError> {
    let path = dir.join(STOPS_FILE);
    let text = read_text(&path)?;
    if text.is_empty() {
        return Ok(Stops::default());
    }
    serde_json::from_str(&text).map_err(|error| JournalError::Corrupt {
        path,
        line: 1,
        reason: error.to_string(),
    })
}

/// Writes `bytes` to `dir/name` atomically and durably (a temporary file, fsync, rename, fsync the directory).
fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), JournalError> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp"));
    let io = io_error(&path);
    let mut file = open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .map_err(&io)?;
    file.write_all(bytes).map_err(&io)?;
    file.sync_all().map_err(&io)?;
    std::fs::rename(&temporary, &path).map_err(&io)?;
    sync_dir(dir)
}

/// Creates `dir` (0700) if it does not exist.
fn create_state_dir(dir: &Path) -> Result<(), JournalError> {
    rdfi_core::state::create_private_dir(dir).map_err(io_error(dir))
}

fn open_options() -> OpenOptions {
    rdfi_core::state::private_file_options()
}

/// Who holds the lock file, as it says (its process id), for messages.
fn holder_of_lock(lock: &mut File) -> String {
    let mut text = String::new();
    let _ = lock.rewind().and_then(|_| lock.read_to_string(&mut text));
    match text.trim() {
        "" => String::new(),
        pid => format!(" (process {pid})"),
    }
}

/// Reads a state directory's journal without taking it: for `rdfi status`, which may look while a run is on.
pub fn inspect(dir: &Path) -> Result<Inspection, JournalError> {
    let path = dir.join(JOURNAL_FILE);
    let (latest, _torn) = parse(&path, &read_text(&path)?)?;
    let lock_path = dir.join(LOCK_FILE);
    let held_by = match OpenOptions::new().read(true).write(true).open(&lock_path) {
        Ok(mut lock) => match lock.try_lock() {
            Ok(()) => None,
            Err(TryLockError::WouldBlock) => Some(holder_of_lock(&mut lock)),
            Err(TryLockError::Error(error)) => return Err(io_error(&lock_path)(error)),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error(&lock_path)(error)),
    };
    Ok(Inspection {
        open: super::open_of(latest.values()),
        held_by,
        stops: read_stops(dir)?,
    })
}

impl FileJournal {
    /// Takes the journal in `dir` (creating both if needed) and replays it. Refuses while another process holds
    /// it.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        create_state_dir(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let mut lock = open_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::InUse {
                    dir: dir.to_owned(),
                    holder: holder_of_lock(&mut lock),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io_error(&lock_path)(error)),
        }
        lock.set_len(0)
            .and_then(|_| lock.rewind())
            .and_then(|_| write!(lock, "{}", std::process::id()))
            .map_err(io_error(&lock_path))?;

        let path = dir.join(JOURNAL_FILE);
        let io_path = path.clone();
        let io = io_error(&io_path);
        let existed = path.exists();
        let (latest, torn) = parse(&path, &read_text(&path)?)?;
        let file = open_options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(&io)?;
        if let Some(keep) = torn {
            tracing::warn!(path = %path.display(), "cutting off a torn last journal line");
            file.set_len(keep).map_err(&io)?;
        }
        if !existed {
            sync_dir(dir)?;
        }
        let len = file.metadata().map_err(&io)?.len();
        let sync_file = file.try_clone().map_err(&io)?;
        Ok(FileJournal {
            durable: Arc::new(Mutex::new(Durable {
                file: sync_file,
                synced: len,
                failed: None,
            })),
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_owned(),
                path,
                file,
                len,
                index: OpenIndex::of(latest.values()),
                latest,
                stops: read_stops(dir)?,
                _lock: lock,
            })),
        })
    }

    /// The journal's state, for reads that neither block nor write.
    fn locked(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Runs `work` on the journal under its lock, on a blocking thread (the fsyncs stay off the async threads).
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Inner) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let inner = self.inner.clone();
        let blocking = tokio::task::spawn_blocking(move || work(&mut lock(&inner)));
        match blocking.await {
            Ok(outcome) => outcome,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }

    /// Runs `work` under the journal's lock, then, out of it, makes what it appended durable (see
    /// [`FileJournal`]): `work` answers the file's length after its record, or `None` when it wrote nothing.
    async fn with_durable<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Inner) -> Result<(T, Option<u64>), JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let inner = self.inner.clone();
        let durable = self.durable.clone();
        let blocking = tokio::task::spawn_blocking(move || {
            let (outcome, written_to, path) = {
                let mut inner = lock(&inner);
                if let Some(reason) = lock(&durable).failed.clone() {
                    return Err(io_error(&inner.path)(std::io::Error::other(reason)));
                }
                let (outcome, written_to) = work(&mut inner)?;
                (outcome, written_to, inner.path.clone())
            };
            if let Some(end) = written_to {
                sync_to(&durable, end).map_err(io_error(&path))?;
            }
            Ok(outcome)
        });
        match blocking.await {
            Ok(outcome) => outcome,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes the journal file durable up to `end` at least: nothing to do when an fsync since covered it.
fn sync_to(durable: &Mutex<Durable>, end: u64) -> std::io::Result<()> {
    let mut durable = lock(durable);
    if let Some(reason) = &durable.failed {
        return Err(std::io::Error::other(reason.clone()));
    }
    if durable.synced >= end {
        return Ok(());
    }
    // Whatever was appended up to now is covered by this fsync.
    let length = durable.file.metadata()?.len();
    if let Err(error) = durable.file.sync_data() {
        durable.failed = Some(format!("an fsync of the journal failed: {error}"));
        return Err(error);
    }
    durable.synced = length.max(end);
    Ok(())
}

impl Inner {
    /// Appends `record` (not yet fsynced: see [`FileJournal::with_durable`]); answers the file's length after it.
    fn append(&mut self, record: &JournalRecord) -> Result<u64, JournalError> {
        let mut line = serde_json::to_vec(record).map_err(|error| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            reason: error.to_string(),
        })?;
        line.push(b'\n');
        if let Err(error) = self.file.write_all(&line) {
            // Cut a half-written record off, so that the file stays readable and the next record starts clean.
            if let Err(truncate) = self.file.set_len(self.len) {
                tracing::error!(%truncate, path = %self.path.display(), "cannot cut a failed journal write back");
            }
            return Err(io_error(&self.path)(error));
        }
        self.len += line.len() as u64;
        let old = self
            .latest
            .insert(record.fault_instance_id.clone(), record.clone());
        self.index.replace(old.as_ref(), record);
        Ok(self.len)
    }

    fn save_stops(&mut self, stops: Stops) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec_pretty(&stops).map_err(|error| JournalError::Corrupt {
            path: self.dir.join(STOPS_FILE),
            line: 0,
            reason: error.to_string(),
        })?;
        replace_file(&self.dir, STOPS_FILE, &bytes)?;
        self.stops = stops;
        Ok(())
    }
}

#[async_trait]
impl Journal for FileJournal {
    async fn claim(&self, record: &JournalRecord) -> Result<Claim, JournalError> {
        let record = record.clone();
        self.with_durable(move |inner| {
            if inner.latest.contains_key(&record.fault_instance_id) {
                return Ok((Claim::AlreadyHandled, None));
            }
            if record.state.is_open()
                && let Some(holder) = inner.index.holder(&record)
            {
                return Ok((Claim::ResourceBusy { holder }, None));
            }
            let end = inner.append(&record)?;
            Ok((Claim::Taken, Some(end)))
        })
        .await
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let record = record.clone();
        self.with_durable(move |inner| Ok(((), Some(inner.append(&record)?))))
            .await
    }

    async fn get(&self, fault_instance_id: &str) -> Result<Option<JournalRecord>, JournalError> {
        let inner = self.locked();
        Ok(inner.latest.get(fault_instance_id).cloned())
    }

    async fn open_faults(&self) -> Result<Vec<JournalRecord>, JournalError> {
        let inner = self.locked();
        Ok(super::open_of(
            inner.index.open_ids().filter_map(|id| inner.latest.get(id)),
        ))
    }

    async fn occupancy(
        &self,
        run_id: &str,
        resource_id: &str,
        left_out: &[String],
    ) -> Result<Occupancy, JournalError> {
        let inner = self.locked();
        let named = left_out.iter().filter_map(|id| inner.latest.get(id));
        Ok(inner
            .index
            .occupancy(run_id, resource_id)
            .less(super::left_out_of(named, run_id, left_out)))
    }

    async fn compact(&self, before_ms: i64) -> Result<usize, JournalError> {
        let durable = self.durable.clone();
        self.with(move |inner| {
            let dropped: Vec<String> = inner
                .latest
                .values()
                .filter(|record| !record.state.is_open() && record.recorded_at_ms < before_ms)
                .map(|record| record.fault_instance_id.clone())
                .collect();
            if dropped.is_empty() {
                return Ok(0);
            }
            let mut kept: Vec<&JournalRecord> = inner
                .latest
                .values()
                .filter(|record| !dropped.contains(&record.fault_instance_id))
                .collect();
            kept.sort_by_key(|record| record.recorded_at_ms);
            let mut text = Vec::new();
            for record in kept {
                serde_json::to_writer(&mut text, record).map_err(|error| {
                    JournalError::Corrupt {
                        path: inner.path.clone(),
                        line: 0,
                        reason: error.to_string(),
                    }
                })?;
                text.push(b'\n');
            }
            replace_file(&inner.dir, JOURNAL_FILE, &text)?;
            let io = io_error(&inner.path);
            inner.file = open_options().append(true).open(&inner.path).map_err(&io)?;
            inner.len = text.len() as u64;
            // The new file is on disk whole (`replace_file` fsynced it).
            let mut durable = lock(&durable);
            durable.file = inner.file.try_clone().map_err(&io)?;
            durable.synced = inner.len;
            for id in &dropped {
                inner.latest.remove(id);
            }
            Ok(dropped.len())
        })
        .await
    }

    async fn stops(&self) -> Result<Stops, JournalError> {
        let inner = self.locked();
        Ok(inner.stops.clone())
    }

    async fn stop(&self, run_id: Option<&str>, reason: &str) -> Result<(), JournalError> {
        let (run_id, reason) = (run_id.map(str::to_owned), reason.to_owned());
        self.with(move |inner| {
            let stops = inner.stops.clone().with(run_id.as_deref(), &reason);
            inner.save_stops(stops)
        })
        .await
    }

    async fn resume(&self) -> Result<(), JournalError> {
        self.with(|inner| inner.save_stops(Stops::default())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{FaultState, test_record as record};

    #[tokio::test]
    async fn replay_keeps_the_last_state_of_each_fault() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            let claim = |id, resource| {
                let journal = &journal;
                async move {
                    journal
                        .claim(&record(id, resource, FaultState::Intended))
                        .await
                        .unwrap()
                }
            };
            assert_eq!(claim("a", "x").await, Claim::Taken);
            assert_eq!(claim("b", "y").await, Claim::Taken);
            assert_eq!(claim("a", "x").await, Claim::AlreadyHandled);
            journal
                .append(&record("a", "x", FaultState::Injected))
                .await
                .unwrap();
            journal
                .append(&record("b", "y", FaultState::Reverted))
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

    /// Writes that overlap share fsyncs (group commit); each still lands, whole, and replays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_land_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = Arc::new(FileJournal::open(dir.path()).unwrap());
            let mut writes = tokio::task::JoinSet::new();
            for index in 0..64 {
                let journal = journal.clone();
                writes.spawn(async move {
                    let id = format!("f{index}");
                    let resource = format!("r{index}");
                    assert_eq!(
                        journal
                            .claim(&record(&id, &resource, FaultState::Intended))
                            .await
                            .unwrap(),
                        Claim::Taken
                    );
                    journal
                        .append(&record(&id, &resource, FaultState::Injected))
                        .await
                        .unwrap();
                    if index % 2 == 0 {
                        journal
                            .append(&record(&id, &resource, FaultState::Reverted))
                            .await
                            .unwrap();
                    }
                });
            }
            while let Some(done) = writes.join_next().await {
                done.unwrap();
            }
            assert_eq!(journal.open_faults().await.unwrap().len(), 32);
        }
        let journal = FileJournal::open(dir.path()).unwrap();
        let open = journal.open_faults().await.unwrap();
        assert_eq!(open.len(), 32);
        assert!(
            open.iter()
                .all(|record| record.state == FaultState::Injected)
        );
        assert_eq!(
            journal.occupancy("run", "r1", &[]).await.unwrap(),
            Occupancy {
                open: 32,
                open_in_run: 32,
                resource_taken: true,
            }
        );
        assert!(
            !journal
                .occupancy("run", "r0", &[])
                .await
                .unwrap()
                .resource_taken
        );
    }

    #[tokio::test]
    async fn one_open_fault_per_resource() {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(dir.path()).unwrap();
        let claim = |id: &'static str, state| {
            let journal = &journal;
            async move { journal.claim(&record(id, "bucket", state)).await }
        };
        assert_eq!(
            claim("a", FaultState::Intended).await.unwrap(),
            Claim::Taken
        );
        assert_eq!(
            claim("b", FaultState::Intended).await.unwrap(),
            Claim::ResourceBusy {
                holder: "a".to_owned()
            }
        );
        assert_eq!(journal.get("b").await.unwrap(), None, "nothing written");
        assert_eq!(
            claim("c", FaultState::Rejected).await.unwrap(),
            Claim::Taken,
            "a closed record takes no resource"
        );
        journal
            .append(&record("a", "bucket", FaultState::Reverted))
            .await
            .unwrap();
        assert_eq!(
            claim("b", FaultState::Intended).await.unwrap(),
            Claim::Taken
        );
    }

    #[tokio::test]
    async fn a_second_process_is_refused_while_status_can_look() {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(dir.path()).unwrap();
        journal
            .claim(&record("a", "x", FaultState::Intended))
            .await
            .unwrap();
        let refused = FileJournal::open(dir.path()).err().expect("refused");
        assert!(matches!(refused, JournalError::InUse { .. }), "{refused}");
        assert!(
            refused
                .to_string()
                .contains(&format!("process {}", std::process::id())),
            "{refused}"
        );
        let seen = inspect(dir.path()).unwrap();
        assert_eq!(seen.open.len(), 1);
        assert!(seen.held_by.is_some());
        drop(journal);
        assert!(inspect(dir.path()).unwrap().held_by.is_none());
        FileJournal::open(dir.path()).expect("free again");
    }

    #[tokio::test]
    async fn stops_last_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            journal.stop(Some("r1"), "stop condition").await.unwrap();
            assert_eq!(
                journal.stops().await.unwrap().stopping("r1"),
                Some("stop condition")
            );
            assert_eq!(journal.stops().await.unwrap().stopping("r2"), None);
            journal.stop(None, "operator").await.unwrap();
        }
        let journal = FileJournal::open(dir.path()).unwrap();
        assert_eq!(
            journal.stops().await.unwrap().stopping("r2"),
            Some("operator")
        );
        journal.resume().await.unwrap();
        assert_eq!(journal.stops().await.unwrap(), Stops::default());
    }

    #[tokio::test]
    async fn compaction_drops_old_closed_records_only() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            let mut old = record("old", "x", FaultState::Reverted);
            old.recorded_at_ms = 5;
            let mut recent = record("recent", "y", FaultState::Reverted);
            recent.recorded_at_ms = 50;
            let open = record("open", "z", FaultState::Injected);
            for record in [&old, &recent, &open] {
                journal.append(record).await.unwrap();
            }
            assert_eq!(journal.compact(10).await.unwrap(), 1);
            assert_eq!(journal.get("old").await.unwrap(), None);
            journal
                .append(&record("after", "w", FaultState::Intended))
                .await
                .unwrap();
        }
        let journal = FileJournal::open(dir.path()).unwrap();
        assert!(journal.get("recent").await.unwrap().is_some());
        assert!(journal.get("old").await.unwrap().is_none());
        assert_eq!(journal.open_faults().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_torn_last_line_is_ignored_but_corruption_elsewhere_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            journal
                .append(&record("a", "x", FaultState::Intended))
                .await
                .unwrap();
        }
        let path = dir.path().join(JOURNAL_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"faultInstanceId\": \"b\", \"sta");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(inspect(dir.path()).unwrap().open.len(), 1);
        {
            let journal = FileJournal::open(dir.path()).unwrap();
            assert_eq!(journal.open_faults().await.unwrap().len(), 1);
            journal
                .append(&record("c", "y", FaultState::Intended))
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

    #[tokio::test]
    async fn a_complete_line_that_does_not_parse_is_corruption_even_last() {
        let dir = tempfile::tempdir().unwrap();
        drop(FileJournal::open(dir.path()).unwrap());
        std::fs::write(dir.path().join(JOURNAL_FILE), "not a record\n").unwrap();
        assert!(matches!(
            FileJournal::open(dir.path()),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }

    #[tokio::test]
    async fn an_unreadable_journal_or_lock_is_an_error_not_an_empty_journal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(JOURNAL_FILE)).unwrap();
        assert!(matches!(
            FileJournal::open(dir.path()),
            Err(JournalError::Io { .. })
        ));
        assert!(matches!(inspect(dir.path()), Err(JournalError::Io { .. })));
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join(LOCK_FILE)).unwrap();
        assert!(matches!(
            inspect(other.path()),
            Err(JournalError::Io { .. })
        ));
    }

    #[tokio::test]
    async fn a_state_dir_never_used_inspects_as_empty_and_free() {
        let dir = tempfile::tempdir().unwrap();
        let seen = inspect(&dir.path().join("never-used")).unwrap();
        assert!(seen.open.is_empty());
        assert!(seen.held_by.is_none());
        assert_eq!(seen.stops, Stops::default());
    }

    #[tokio::test]
    async fn the_last_good_length_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(dir.path()).unwrap();
        let tracked = || {
            journal
                .inner
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .len
        };
        let on_disk = || {
            std::fs::metadata(dir.path().join(JOURNAL_FILE))
                .unwrap()
                .len()
        };
        for (id, state) in [
            ("a", FaultState::Intended),
            ("a", FaultState::Reverted),
            ("b", FaultState::Intended),
        ] {
            journal.append(&record(id, "x", state)).await.unwrap();
            assert_eq!(tracked(), on_disk());
        }
        journal.compact(i64::MAX).await.unwrap();
        assert_eq!(tracked(), on_disk());
    }

    #[tokio::test]
    async fn occupancy_counts_the_open_faults() {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(dir.path()).unwrap();
        journal
            .append(&record("a", "x", FaultState::Injected))
            .await
            .unwrap();
        journal
            .append(&record("b", "y", FaultState::Reverted))
            .await
            .unwrap();
        let seen = journal.occupancy("run", "x", &[]).await.unwrap();
        assert_eq!(
            (seen.open, seen.open_in_run, seen.resource_taken),
            (1, 1, true)
        );
        assert!(
            !journal
                .occupancy("run", "y", &[])
                .await
                .unwrap()
                .resource_taken
        );
        // An open fault the caller counts itself is left out of the counts; a closed one changes nothing.
        let left_out = ["a".to_owned(), "b".to_owned()];
        let seen = journal.occupancy("run", "x", &left_out).await.unwrap();
        assert_eq!(
            (seen.open, seen.open_in_run, seen.resource_taken),
            (0, 0, true)
        );
    }

    #[tokio::test]
    async fn compaction_keeps_a_record_written_at_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(dir.path()).unwrap();
        let mut at_cut = record("a", "x", FaultState::Reverted);
        at_cut.recorded_at_ms = 10;
        journal.append(&at_cut).await.unwrap();
        assert_eq!(journal.compact(10).await.unwrap(), 0);
        assert_eq!(journal.compact(11).await.unwrap(), 1);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn state_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("state");
        let journal = FileJournal::open(&dir).unwrap();
        journal
            .append(&record("a", "x", FaultState::Intended))
            .await
            .unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(JOURNAL_FILE)), 0o600);
    }
}
