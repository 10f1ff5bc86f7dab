//! The journal in a JetStream key-value bucket (`RDFI_JOURNAL`, file storage, replicated as the stream
//! is): one key per fault instance, its value the fault's latest record. Every executor replica sees every
//! record, so a survivor reverts what a lost replica left open, and `create` (which fails when the key
//! exists) makes each planned fault injectable by exactly one replica.

use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use futures::StreamExt;

use super::{Journal, JournalError, JournalRecord};

pub const BUCKET: &str = "RDFI_JOURNAL";

pub struct NatsJournal {
    store: kv::Store,
}

fn error(reason: impl std::fmt::Display) -> JournalError {
    JournalError::Nats {
        bucket: BUCKET.to_owned(),
        reason: reason.to_string(),
    }
}

fn encode(record: &JournalRecord) -> Result<bytes::Bytes, JournalError> {
    serde_json::to_vec(record).map(Into::into).map_err(error)
}

impl NatsJournal {
    /// Opens the bucket, creating it when it does not exist yet.
    pub async fn open(context: &jetstream::Context, replicas: usize) -> Result<Self, JournalError> {
        let store = match context.get_key_value(BUCKET).await {
            Ok(store) => store,
            Err(_) => context
                .create_key_value(kv::Config {
                    bucket: BUCKET.to_owned(),
                    description: "rdfi executor journal: one record per fault instance".to_owned(),
                    history: 1,
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await
                .map_err(error)?,
        };
        Ok(NatsJournal { store })
    }
}

#[async_trait]
impl Journal for NatsJournal {
    async fn claim(&self, record: &JournalRecord) -> Result<bool, JournalError> {
        match self
            .store
            .create(&record.fault_instance_id, encode(record)?)
            .await
        {
            Ok(_) => Ok(true),
            Err(failure) if failure.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(failure) => Err(error(failure)),
        }
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), JournalError> {
        self.store
            .put(&record.fault_instance_id, encode(record)?)
            .await
            .map(|_| ())
            .map_err(error)
    }

    async fn get(&self, fault_instance_id: &str) -> Result<Option<JournalRecord>, JournalError> {
        match self.store.get(fault_instance_id).await.map_err(error)? {
            Some(value) => serde_json::from_slice(&value).map(Some).map_err(error),
            None => Ok(None),
        }
    }

    async fn open_faults(&self) -> Result<Vec<JournalRecord>, JournalError> {
        let mut keys = match self.store.keys().await {
            Ok(keys) => keys,
            Err(failure) => return Err(error(failure)),
        };
        let mut records = Vec::new();
        while let Some(key) = keys.next().await {
            if let Some(record) = self.get(&key.map_err(error)?).await? {
                records.push(record);
            }
        }
        Ok(super::open_of(records.iter()))
    }
}
