//! The executor's write-ahead journal. A fault's first record (its intent, with the snapshot and the revert
//! deadline) is durable before the mutating call; each later transition is recorded too. Two stores:
//! [`file::FileJournal`] (one local file, locked by one process at a time) and [`nats::NatsJournal`] (a
//! replicated JetStream key-value bucket, shared by executor replicas; see docs/adr/0003 and 0005).
//!
//! The journal is also where exclusivity lives, so that it holds across everything sharing it: a claim takes
//! the fault's resource, and no second open fault can take the same resource until the first is closed; and
//! an abort's stop (no new injection, of one run or of every run until resumed) is kept here.

pub mod file;
pub mod nats;

use std::path::PathBuf;

use async_trait::async_trait;
use rdfi_proto::v1::{Hypothesis, ResourceRef};
use rdfi_provider::Attribution;
use rdfi_provider::settings::ProviderTarget;
use serde::{Deserialize, Serialize};

use crate::guard::Occupancy;
pub use rdfi_proto::v1::FaultState;

/// `FaultState` as its label in the journal's JSON (`"injected"`, `"revert_failed"`).
mod state_label {
    use super::FaultState;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(state: &FaultState, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(state.label())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<FaultState, D::Error> {
        let label = String::deserialize(deserializer)?;
        FaultState::from_label(&label)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown fault state {label:?}")))
    }
}

/// One record of the journal: the whole record of a fault as of one transition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalRecord {
    pub fault_instance_id: String,
    pub run_id: String,
    pub fault_id: String,
    pub resource: ResourceRef,
    #[serde(with = "state_label")]
    pub state: FaultState,
    /// The resource's state before the fault: what the revert takes the fault's change back to.
    pub snapshot: Option<serde_json::Value>,
    pub hypothesis: Option<Hypothesis>,
    pub injected_at_ms: Option<i64>,
    /// When the fault is reverted at the latest.
    pub revert_due_at_ms: i64,
    pub dry_run: bool,
    pub reason: Option<String>,
    pub recorded_at_ms: i64,
    /// How the cloud was reached (provider, region, endpoints; never credentials), so that a recovery reaches
    /// the resource the same way. Absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ProviderTarget>,
    /// Someone else changed the resource while the fault was active; the revert kept their change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changed_by_others: bool,
    /// How long the fault is held once injected: its deadline counts from the injection's answer. 0 in
    /// records written before it was kept (their deadline counts from the intent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hold_ms: u64,
    /// Why the fault was reverted before its deadline (an abort, an interruption, a failed journal write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_short: Option<String>,
    /// What the refusal of a prevented fault is attributed to: the control that refused and the refused action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Attribution>,
    /// The key of the canary object that proves the fault's exposure (`rdfi_provider::exposure`), journalled
    /// with the intent, before the canary is written; the revert removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_key: Option<String>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
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
    #[error(
        "the state directory {dir} is in use by another rdfi process{holder}: wait for it to finish, or give another --state-dir"
    )]
    InUse { dir: PathBuf, holder: String },
}

/// What a claim achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The record is written: this delivery on this executor owns the fault (and, for an open record, its
    /// resource).
    Taken,
    /// The fault already has a record: another delivery or another executor has it.
    AlreadyHandled,
    /// Another open fault holds the resource; nothing was written for this one.
    ResourceBusy { holder: String },
}

/// Runs where injections are stopped by an abort, until resumed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stops {
    /// Every run is stopped, with the abort's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<String>,
    /// Runs stopped one by one, with the abort's reason.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub runs: std::collections::BTreeMap<String, String>,
}

impl Stops {
    /// Why a fault of `run_id` may not be injected now, if it may not.
    pub fn stopping(&self, run_id: &str) -> Option<&str> {
        self.all
            .as_deref()
            .or_else(|| self.runs.get(run_id).map(String::as_str))
    }

    /// These stops with one more: of `run_id`, or of every run.
    pub fn with(mut self, run_id: Option<&str>, reason: &str) -> Stops {
        match run_id {
            Some(run_id) => {
                self.runs.insert(run_id.to_owned(), reason.to_owned());
            }
            None => self.all = Some(reason.to_owned()),
        }
        self
    }
}

/// Where journal records are kept.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Writes a fault's first record unless the fault has one already, or (for an open record) another open
    /// fault holds its resource. Atomic across everything that shares the journal.
    async fn claim(&self, record: &JournalRecord) -> Result<Claim, JournalError>;

    /// Records a transition, durably, before returning. A closed record releases the fault's resource.
    async fn append(&self, record: &JournalRecord) -> Result<(), JournalError>;

    /// The last record of a fault.
    async fn get(&self, fault_instance_id: &str) -> Result<Option<JournalRecord>, JournalError>;

    /// Every fault a revert is still owed for, earliest deadline first.
    async fn open_faults(&self) -> Result<Vec<JournalRecord>, JournalError>;

    /// The open faults a fault of `run_id` on `resource_id` would join: what the caps count. The faults named
    /// in `left_out` are not counted (an executor counts those it admitted itself), though their resource is
    /// still taken.
    async fn occupancy(
        &self,
        run_id: &str,
        resource_id: &str,
        left_out: &[String],
    ) -> Result<Occupancy, JournalError> {
        let open = self.open_faults().await?;
        Ok(
            occupancy_of(open.iter(), run_id, resource_id).less(left_out_of(
                open.iter(),
                run_id,
                left_out,
            )),
        )
    }

    /// Drops closed records last written before `before_ms` (redeliveries older than that are refused as
    /// stale plans anyway). Returns how many were dropped.
    async fn compact(&self, before_ms: i64) -> Result<usize, JournalError>;

    /// The stops in force.
    async fn stops(&self) -> Result<Stops, JournalError>;

    /// Why faults of `run_id` may not be injected now (an abort of the run or of every run), if they may not.
    async fn stopped(&self, run_id: &str) -> Result<Option<String>, JournalError> {
        Ok(self.stops().await?.stopping(run_id).map(str::to_owned))
    }

    /// Stops new injections of `run_id`, or of every run when `None`, durably.
    async fn stop(&self, run_id: Option<&str>, reason: &str) -> Result<(), JournalError>;

    /// Lifts every stop.
    async fn resume(&self) -> Result<(), JournalError>;
}

/// Counts the open records among `records` as a fault of `run_id` on `resource_id` sees them.
fn occupancy_of<'a>(
    records: impl Iterator<Item = &'a JournalRecord>,
    run_id: &str,
    resource_id: &str,
) -> Occupancy {
    let mut occupancy = Occupancy::default();
    for record in records.filter(|record| record.state.is_open()) {
        occupancy.open += 1;
        occupancy.open_in_run += usize::from(record.run_id == run_id);
        occupancy.resource_taken |= record.resource.id == resource_id;
    }
    occupancy
}

/// The open records among `records` named in `left_out`, counted as [`occupancy_of`] counts (never their
/// resource: that stays taken).
fn left_out_of<'a>(
    records: impl Iterator<Item = &'a JournalRecord>,
    run_id: &str,
    left_out: &[String],
) -> Occupancy {
    let mut occupancy = Occupancy::default();
    for record in records
        .filter(|record| record.state.is_open() && left_out.contains(&record.fault_instance_id))
    {
        occupancy.open += 1;
        occupancy.open_in_run += usize::from(record.run_id == run_id);
    }
    occupancy
}

fn open_of<'a>(records: impl Iterator<Item = &'a JournalRecord>) -> Vec<JournalRecord> {
    let mut open: Vec<_> = records
        .filter(|record| record.state.is_open())
        .cloned()
        .collect();
    open.sort_by_key(|record| record.revert_due_at_ms);
    open
}

/// The open fault other than `record` that holds `record`'s resource, if any: what [`OpenIndex::holder`]
/// answers, by a scan.
#[cfg(test)]
fn holder_of<'a>(
    records: impl Iterator<Item = &'a JournalRecord>,
    record: &JournalRecord,
) -> Option<String> {
    records
        .filter(|other| {
            other.state.is_open()
                && other.resource.id == record.resource.id
                && other.fault_instance_id != record.fault_instance_id
        })
        .map(|other| other.fault_instance_id.clone())
        .next()
}

/// The open records of a journal, indexed by resource and by run, kept beside the last record of every fault:
/// what a claim and the caps ask of the journal, answered without a scan of every record it holds (closed ones
/// included, until compaction). Agrees with [`occupancy_of`], [`holder_of`] and [`open_of`] over the same
/// records (property-tested below).
#[derive(Debug, Default)]
pub(crate) struct OpenIndex {
    /// Open fault ids by resource id (one per resource once claims hold it; a set for journals written before).
    by_resource: std::collections::HashMap<String, std::collections::BTreeSet<String>>,
    /// How many open faults each run has.
    in_run: std::collections::HashMap<String, usize>,
    /// Every open fault's id.
    open: std::collections::HashSet<String>,
}

impl OpenIndex {
    /// The index of `records`, the last record of each fault.
    pub(crate) fn of<'a>(records: impl Iterator<Item = &'a JournalRecord>) -> OpenIndex {
        let mut index = OpenIndex::default();
        for record in records {
            index.replace(None, record);
        }
        index
    }

    /// A fault's last record goes from `old` (none when new) to `new`.
    pub(crate) fn replace(&mut self, old: Option<&JournalRecord>, new: &JournalRecord) {
        if let Some(old) = old.filter(|old| old.state.is_open()) {
            self.open.remove(&old.fault_instance_id);
            if let Some(holders) = self.by_resource.get_mut(&old.resource.id) {
                holders.remove(&old.fault_instance_id);
                if holders.is_empty() {
                    self.by_resource.remove(&old.resource.id);
                }
            }
            if let Some(count) = self.in_run.get_mut(&old.run_id) {
                *count -= 1;
                if *count == 0 {
                    self.in_run.remove(&old.run_id);
                }
            }
        }
        if new.state.is_open() {
            self.open.insert(new.fault_instance_id.clone());
            self.by_resource
                .entry(new.resource.id.clone())
                .or_default()
                .insert(new.fault_instance_id.clone());
            *self.in_run.entry(new.run_id.clone()).or_default() += 1;
        }
    }

    pub(crate) fn occupancy(&self, run_id: &str, resource_id: &str) -> Occupancy {
        Occupancy {
            open: self.open.len(),
            open_in_run: self.in_run.get(run_id).copied().unwrap_or(0),
            resource_taken: self.by_resource.contains_key(resource_id),
        }
    }

    /// The open fault other than `record` that holds `record`'s resource, if any.
    pub(crate) fn holder(&self, record: &JournalRecord) -> Option<String> {
        self.by_resource
            .get(&record.resource.id)?
            .iter()
            .find(|holder| **holder != record.fault_instance_id)
            .cloned()
    }

    /// The ids of the open faults.
    pub(crate) fn open_ids(&self) -> impl Iterator<Item = &String> {
        self.open.iter()
    }
}

#[cfg(test)]
pub(crate) fn test_record(id: &str, resource: &str, state: FaultState) -> JournalRecord {
    JournalRecord {
        fault_instance_id: id.to_owned(),
        run_id: "run".to_owned(),
        fault_id: "aws.s3.bucket-public-acl".to_owned(),
        resource: ResourceRef {
            id: resource.to_owned(),
            ..Default::default()
        },
        state,
        snapshot: Some(serde_json::json!({"grants": []})),
        hypothesis: None,
        injected_at_ms: None,
        revert_due_at_ms: 10,
        dry_run: false,
        reason: None,
        recorded_at_ms: 1,
        target: None,
        changed_by_others: false,
        hold_ms: 0,
        cut_short: None,
        refusal: None,
        canary_key: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATES: [FaultState; 8] = FaultState::ALL;

    proptest! {
        /// Whatever transitions a journal sees, in whatever order, the index answers what a scan of the last
        /// records answers.
        #[test]
        fn the_open_index_agrees_with_a_scan(
            writes in proptest::collection::vec((0..6usize, 0..3usize, 0..2usize, 0..STATES.len()), 0..60),
            asked_run in 0..2usize,
            asked_resource in 0..3usize,
        ) {
            let mut latest: std::collections::HashMap<String, JournalRecord> = Default::default();
            let mut index = OpenIndex::default();
            for (fault, resource, run, state) in writes {
                let mut record = test_record(&format!("f{fault}"), &format!("r{resource}"), STATES[state]);
                record.run_id = format!("run{run}");
                let old = latest.insert(record.fault_instance_id.clone(), record.clone());
                index.replace(old.as_ref(), &record);
                let run_id = format!("run{asked_run}");
                let resource_id = format!("r{asked_resource}");
                prop_assert_eq!(
                    index.occupancy(&run_id, &resource_id),
                    occupancy_of(latest.values(), &run_id, &resource_id)
                );
                let holder = index.holder(&record);
                let scanned = holder_of(latest.values(), &record);
                prop_assert_eq!(holder.is_some(), scanned.is_some());
                let mut ids: Vec<&String> = index.open_ids().collect();
                ids.sort();
                let mut open: Vec<&String> = latest.values().filter(|r| r.state.is_open()).map(|r| &r.fault_instance_id).collect();
                open.sort();
                prop_assert_eq!(ids, open);
                prop_assert_eq!(
                    OpenIndex::of(latest.values()).occupancy(&run_id, &resource_id),
                    index.occupancy(&run_id, &resource_id)
                );
            }
        }
    }

    #[test]
    fn occupancy_counts_open_records_only() {
        let mut other_run = test_record("c", "y", FaultState::Injected);
        other_run.run_id = "other".to_owned();
        let records = [
            test_record("a", "x", FaultState::Injected),
            test_record("b", "y", FaultState::Reverted),
            other_run,
            test_record("d", "z", FaultState::RevertFailed),
        ];
        assert_eq!(
            occupancy_of(records.iter(), "run", "y"),
            Occupancy {
                open: 3,
                open_in_run: 2,
                resource_taken: true,
            }
        );
        assert!(!occupancy_of(records.iter(), "run", "w").resource_taken);
    }
}
