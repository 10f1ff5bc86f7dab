//! Proving a fault's exposure as an outsider would (`rdfi_provider::exposure`): placing the canary whose key
//! the intent journalled, reading it anonymously, and removing it with the revert, verified gone.

use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::{ExposureOutcome, ExposureProof};
use rdfi_provider::exposure::{self, Canary, Judgement};
use rdfi_provider::{marking, with_retry};

use crate::{Executor, JournalRecord, now_ms};

impl Executor {
    /// Places the fault's canary and reads it anonymously. A refused or failed read is read again with
    /// backoff, within the retry policy and before the fault's deadline: a fresh grant can take a moment to
    /// take effect, and a single refusal must not pass for a control.
    pub(crate) async fn prove_exposure(&self, record: &JournalRecord) -> ExposureProof {
        let key = record.canary_key.clone().unwrap_or_default();
        let proof = |read: &str, judgement: Judgement| ExposureProof {
            outcome: judgement.outcome.into(),
            read: read.to_owned(),
            canary_key: key.clone(),
            read_at: Some(timestamp_from_millis(now_ms())),
            answer: judgement.answer,
        };
        let Some(read) = exposure::outsider_read(&record.fault_id) else {
            return proof(
                "",
                Judgement {
                    outcome: ExposureOutcome::Unproven,
                    answer: "the catalogue names no outsider's read for this fault".to_owned(),
                },
            );
        };
        let canary = Canary::with_key(key.clone());
        let resource = &record.resource;
        let placed = marking::for_fault(
            &record.fault_instance_id,
            with_retry(&self.retry, "place canary", || {
                self.provider.place_canary(resource, &canary)
            }),
        )
        .await;
        if let Err(error) = placed {
            return proof(
                read.label(),
                Judgement {
                    outcome: ExposureOutcome::Unproven,
                    answer: format!("the canary could not be placed: {error}"),
                },
            );
        }
        let mut attempt = 0;
        loop {
            let answer = self
                .provider
                .read_anonymously(resource, read, &canary.key)
                .await;
            let judgement = exposure::judge(read, &canary, &answer);
            let delay = self.retry.delay(attempt);
            if judgement.outcome == ExposureOutcome::Exposed
                || attempt + 1 >= self.retry.attempts
                || now_ms() + delay.as_millis() as i64 >= record.revert_due_at_ms
            {
                tracing::info!(outcome = ?judgement.outcome, answer = %judgement.answer, canary = %canary.key, "exposure proof");
                return proof(read.label(), judgement);
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Removes the fault's canary, if its intent named one and it is there, and verifies it is gone by listing
    /// the bucket; retried with backoff. A canary that was never placed (the injection never made, the
    /// placement refused) needs only the read. Nothing to do in a dry run, which places none.
    pub(crate) async fn remove_canary(&self, record: &JournalRecord) -> Result<(), String> {
        let Some(key) = record.canary_key.as_deref().filter(|_| !record.dry_run) else {
            return Ok(());
        };
        let resource = &record.resource;
        let mut problem = String::new();
        for attempt in 0..self.retry.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.retry.delay(attempt - 1)).await;
            }
            match self.provider.has_canary(resource, key).await {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(error) => {
                    problem = error.to_string();
                    continue;
                }
            }
            if let Err(error) = self.provider.remove_canary(resource, key).await {
                problem = error.to_string();
                continue;
            }
            match self.provider.has_canary(resource, key).await {
                Ok(false) => return Ok(()),
                Ok(true) => problem = "it is still there after its removal".to_owned(),
                Err(error) => problem = error.to_string(),
            }
        }
        Err(format!(
            "the exposure canary {key} was not removed after {} attempts: {problem}",
            self.retry.attempts
        ))
    }
}
