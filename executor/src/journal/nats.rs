//! The journal in a JetStream key-value bucket (`RDFI_JOURNAL`, file storage, replicated), shared by executor
//! replicas. Keys:
//!
//! - `fault.<fault instance id>`: the fault's latest record. Every replica sees every record, so a survivor
//!   reverts what a lost replica left open; every update names the revision it replaces, so two replicas never
//!   overwrite each other's transitions unseen.
//! - `lease.<uuid v5 of the resource id>`: the fault instance holding the resource, while its fault is open.
//! - `stop.all`, `stop.run.<uuid v5 of the run id>`: aborts in force.
//!
//! A claim first creates the fault's key in state `planned` (`create` fails when it exists: one delivery on
//! one replica wins), then creates the resource's lease, then records the intent. A lease whose holder's record
//! is closed or gone (compacted) is stale and taken over by revision. A closed record deletes its lease.

use std::collections::HashMap;
use std::sync::Mutex;

use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Claim, FaultState, Journal, JournalError, JournalRecord, Stops};

pub const BUCKET: &str = "RDFI_JOURNAL";
const FAULT_PREFIX: &str = "fault.";
const LEASE_PREFIX: &str = "lease.";
const STOP_ALL: &str = "stop.all";
const STOP_RUN_PREFIX: &str = "stop.run.";

pub struct NatsJournal {
    store: kv::Store,
    /// The revision of each fault key as this replica last wrote or read it.
    revisions: Mutex<HashMap<String, u64>>,
}

fn error(reason: impl std::fmt::Display) -> JournalError {
    JournalError::Nats {
        bucket: BUCKET.to_owned(),
        reason: reason.to_string(),
    }
}

fn encode<T: Serialize>(value: &T) -> Result<bytes::Bytes, JournalError> {
    serde_json::to_vec(value).map(Into::into).map_err(error)
}

fn fault_key(fault_instance_id: &str) -> String {
    format!("{FAULT_PREFIX}{fault_instance_id}")
}

/// Resource ids (ARNs) hold characters key-value keys may not: the key is a name-based UUID of the id.
fn lease_key(resource_id: &str) -> String {
    format!(
        "{LEASE_PREFIX}{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, resource_id.as_bytes())
    )
}

fn stop_key(run_id: &str) -> String {
    format!(
        "{STOP_RUN_PREFIX}{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, run_id.as_bytes())
    )
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopRecord {
    #[serde(default)]
    run_id: String,
    reason: String,
}

impl NatsJournal {
    /// Opens the bucket, creating it when it does not exist yet with `replicas` replicas (the NATS cluster's
    /// size; see [`rdfi_core::bus::nats::cluster_size`]).
    pub async fn open(context: &jetstream::Context, replicas: usize) -> Result<Self, JournalError> {
        let store = match context.get_key_value(BUCKET).await {
            Ok(store) => store,
            Err(_) => context
                .create_key_value(kv::Config {
                    bucket: BUCKET.to_owned(),
                    description: "rdfi executor journal: fault records, resource leases, stops"
                        .to_owned(),
                    history: 1,
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas.clamp(1, 5),
                    ..Default::default()
                })
                .await
                .map_err(error)?,
        };
        Ok(NatsJournal {
            store,
            revisions: Mutex::default(),
        })
    }

    fn remember(&self, key: &str, revision: u64) {
        self.revisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.to_owned(), revision);
    }

    fn forget(&self, key: &str) {
        self.revisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }

    fn known_revision(&self, key: &str) -> Option<u64> {
        self.revisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .copied()
    }

    async fn entry(&self, key: &str) -> Result<Option<kv::Entry>, JournalError> {
        Ok(self
            .store
            .entry(key)
            .await
            .map_err(error)?
            .filter(|entry| entry.operation == kv::Operation::Put))
    }

    async fn record_at(&self, key: &str) -> Result<Option<(JournalRecord, u64)>, JournalError> {
        match self.entry(key).await? {
            Some(entry) => {
                let record = serde_json::from_slice(&entry.value).map_err(error)?;
                Ok(Some((record, entry.revision)))
            }
            None => Ok(None),
        }
    }

    /// Writes `record` over the revision this replica knows (read fresh when it knows none).
    async fn update(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let key = fault_key(&record.fault_instance_id);
        let revision = match self.known_revision(&key) {
            Some(revision) => revision,
            None => match self.entry(&key).await? {
                Some(entry) => entry.revision,
                None => 0,
            },
        };
        let written = if revision == 0 {
            self.store
                .create(&key, encode(record)?)
                .await
                .map_err(error)
        } else {
            match self.store.update(&key, encode(record)?, revision).await {
                Ok(revision) => Ok(revision),
                Err(failure) if failure.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    self.forget(&key);
                    return Err(error(format!(
                        "the record of fault {} was changed by another executor since this one read it",
                        record.fault_instance_id
                    )));
                }
                Err(failure) => Err(error(failure)),
            }
        }?;
        self.remember(&key, written);
        if !record.state.is_open() {
            self.release(record).await?;
        }
        Ok(())
    }

    /// Deletes the resource's lease if `record`'s fault holds it.
    async fn release(&self, record: &JournalRecord) -> Result<(), JournalError> {
        let key = lease_key(&record.resource.id);
        if let Some(lease) = self.entry(&key).await?
            && lease.value == record.fault_instance_id.as_bytes()
        {
            match self
                .store
                .delete_expect_revision(&key, Some(lease.revision))
                .await
            {
                Ok(()) => {}
                // Taken over meanwhile (this record was stale): not ours to delete.
                Err(failure) if failure.kind() == kv::DeleteErrorKind::WrongLastRevision => {}
                Err(failure) => return Err(error(failure)),
            }
        }
        Ok(())
    }

    /// Takes the lease of `record`'s resource; the holder when another open fault has it.
    async fn lease(&self, record: &JournalRecord) -> Result<Option<String>, JournalError> {
        let key = lease_key(&record.resource.id);
        let value = bytes::Bytes::from(record.fault_instance_id.clone());
        loop {
            match self.store.create(&key, value.clone()).await {
                Ok(_) => return Ok(None),
                Err(failure) if failure.kind() == kv::CreateErrorKind::AlreadyExists => {}
                Err(failure) => return Err(error(failure)),
            }
            let Some(lease) = self.entry(&key).await? else {
                continue; // released meanwhile: try again
            };
            let holder = String::from_utf8_lossy(&lease.value).into_owned();
            if holder == record.fault_instance_id {
                return Ok(None);
            }
            let open = self
                .record_at(&fault_key(&holder))
                .await?
                .is_some_and(|(held, _)| held.state.is_open());
            if open {
                return Ok(Some(holder));
            }
            // Records are written before leases, so a holder whose record is closed or gone is stale.
            match self.store.update(&key, value.clone(), lease.revision).await {
                Ok(_) => return Ok(None),
                Err(failure) if failure.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(failure) => return Err(error(failure)),
            }
        }
    }

    async fn keys_with(&self, prefix: &str) -> Result<Vec<String>, JournalError> {
        let mut keys = self.store.keys().await.map_err(error)?;
        let mut found = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(error)?;
            if key.starts_with(prefix) {
                found.push(key);
            }
        }
        Ok(found)
    }

    async fn records(&self) -> Result<Vec<(JournalRecord, u64)>, JournalError> {
        let mut records = Vec::new();
        for key in self.keys_with(FAULT_PREFIX).await? {
            if let Some(record) = self.record_at(&key).await? {
                records.push(record);
            }
        }
        Ok(records)
    }
}

#[async_trait]
impl Journal for NatsJournal {
    async fn claim(&self, record: &JournalRecord) -> Result<Claim, JournalError> {
        let key = fault_key(&record.fault_instance_id);
        let placeholder = JournalRecord {
            state: FaultState::Planned,
            ..record.clone()
        };
        let revision = match self.store.create(&key, encode(&placeholder)?).await {
            Ok(revision) => revision,
            Err(failure) if failure.kind() == kv::CreateErrorKind::AlreadyExists => {
                return Ok(Claim::AlreadyHandled);
            }
            Err(failure) => return Err(error(failure)),
        };
        self.remember(&key, revision);
        if record.state.is_open()
            && let Some(holder) = self.lease(record).await?
        {
            let refused = JournalRecord {
                state: FaultState::Rejected,
                reason: Some(format!("the resource already has an open fault ({holder})")),
                ..record.clone()
            };
            self.update(&refused).await?;
            return Ok(Claim::ResourceBusy { holder });
        }
        self.update(record).await?;
        Ok(Claim::Taken)
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        self.update(record).await
    }

    async fn get(&self, fault_instance_id: &str) -> Result<Option<JournalRecord>, JournalError> {
        let key = fault_key(fault_instance_id);
        Ok(self.record_at(&key).await?.map(|(record, revision)| {
            self.remember(&key, revision);
            record
        }))
    }

    async fn open_faults(&self) -> Result<Vec<JournalRecord>, JournalError> {
        let records = self.records().await?;
        Ok(super::open_of(records.iter().map(|(record, _)| record)))
    }

    async fn compact(&self, before_ms: i64) -> Result<usize, JournalError> {
        let mut dropped = 0;
        for (record, revision) in self.records().await? {
            if record.state.is_open()
                || record.state == FaultState::Planned
                || record.recorded_at_ms >= before_ms
            {
                continue;
            }
            let key = fault_key(&record.fault_instance_id);
            match self.store.purge_expect_revision(&key, Some(revision)).await {
                Ok(()) => {
                    self.forget(&key);
                    dropped += 1;
                }
                Err(failure) if failure.kind() == kv::PurgeErrorKind::WrongLastRevision => {}
                Err(failure) => return Err(error(failure)),
            }
        }
        Ok(dropped)
    }

    async fn stops(&self) -> Result<Stops, JournalError> {
        let mut stops = Stops::default();
        for key in self.keys_with("stop.").await? {
            let Some(entry) = self.entry(&key).await? else {
                continue;
            };
            let stop: StopRecord = serde_json::from_slice(&entry.value).map_err(error)?;
            if key == STOP_ALL {
                stops.all = Some(stop.reason);
            } else {
                stops.runs.insert(stop.run_id, stop.reason);
            }
        }
        Ok(stops)
    }

    async fn stopped(&self, run_id: &str) -> Result<Option<String>, JournalError> {
        for key in [STOP_ALL.to_owned(), stop_key(run_id)] {
            if let Some(entry) = self.entry(&key).await? {
                let stop: StopRecord = serde_json::from_slice(&entry.value).map_err(error)?;
                return Ok(Some(stop.reason));
            }
        }
        Ok(None)
    }

    async fn stop(&self, run_id: Option<&str>, reason: &str) -> Result<(), JournalError> {
        let key = run_id.map_or_else(|| STOP_ALL.to_owned(), stop_key);
        let stop = StopRecord {
            run_id: run_id.unwrap_or_default().to_owned(),
            reason: reason.to_owned(),
        };
        self.store.put(&key, encode(&stop)?).await.map_err(error)?;
        Ok(())
    }

    async fn resume(&self) -> Result<(), JournalError> {
        for key in self.keys_with("stop.").await? {
            self.store.purge(&key).await.map_err(error)?;
        }
        Ok(())
    }
}
