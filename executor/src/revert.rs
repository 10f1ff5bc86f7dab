//! Giving a fault back: the deadline timer, reverting now on abort, the revert itself with its verification by
//! re-reading, and the fault's events.

use std::sync::Arc;
use std::time::Duration;

use rdfi_core::{CancellationToken, events};
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{FaultRevertFailed, FaultReverted};
use tracing::Instrument;

use crate::failpoint::failpoint;
use crate::{Active, Executor, FaultState, JournalRecord, PUBLISH_PATIENCE, SOURCE, now_ms};

impl Executor {
    /// Reverts the fault at its deadline, or as soon as the returned token is cancelled.
    pub(crate) fn schedule_revert(
        self: &Arc<Self>,
        record: JournalRecord,
        span: tracing::Span,
    ) -> CancellationToken {
        let revert_now = CancellationToken::new();
        let finished = CancellationToken::new();
        self.active().insert(
            record.fault_instance_id.clone(),
            Active {
                run_id: record.run_id.clone(),
                resource_id: record.resource.id.clone(),
                revert_now: revert_now.clone(),
                finished: finished.clone(),
            },
        );
        let executor = self.clone();
        let trigger = revert_now.clone();
        self.tasks.spawn(
            async move {
                let wait =
                    Duration::from_millis((record.revert_due_at_ms - now_ms()).max(0) as u64);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = trigger.cancelled() => tracing::info!("reverting before the deadline"),
                }
                let fault_instance_id = record.fault_instance_id.clone();
                match executor.reverts.acquire().await {
                    Ok(_permit) => executor.revert(record).await,
                    Err(_) => executor.revert(record).await,
                }
                executor.active().remove(&fault_instance_id);
                finished.cancel();
            }
            .instrument(span),
        );
        revert_now
    }

    /// Reverts the active faults (of one run, when given) now; waits until each is done. Returns how many.
    pub(crate) async fn revert_all_now(&self, run_id: Option<&str>) -> u32 {
        let finished: Vec<CancellationToken> = self
            .active()
            .values()
            .filter(|fault| run_id.is_none_or(|run_id| fault.run_id == run_id))
            .map(|fault| {
                fault.revert_now.cancel();
                fault.finished.clone()
            })
            .collect();
        if !finished.is_empty() {
            tracing::info!(active = finished.len(), "reverting active faults now");
        }
        for done in &finished {
            done.cancelled().await;
        }
        finished.len() as u32
    }

    pub(crate) async fn revert(&self, mut record: JournalRecord) {
        let started = now_ms();
        record.state = FaultState::Reverting;
        record.recorded_at_ms = started;
        if let Err(error) = self.journal.append(&record).await {
            tracing::error!(%error, "cannot journal the revert; reverting anyway");
        }
        failpoint("before-revert");
        let outcome = self.restore(&record).await;
        failpoint("after-revert");
        let finished = now_ms();
        record.recorded_at_ms = finished;
        match outcome {
            Ok(already_restored) => {
                record.state = FaultState::Reverted;
                record.reason = None;
                if let Err(error) = self.journal.append(&record).await {
                    tracing::error!(%error, "cannot journal the verified revert");
                }
                tracing::info!(already_restored, "fault reverted and verified");
                self.publish(
                    &record,
                    Payload::FaultReverted(FaultReverted {
                        fault_id: record.fault_id.clone(),
                        resource: Some(record.resource.clone()),
                        revert_started_at: Some(timestamp_from_millis(started)),
                        reverted_at: Some(timestamp_from_millis(finished)),
                        verified: true,
                        already_restored,
                        dry_run: record.dry_run,
                    }),
                )
                .await;
            }
            Err(reason) => {
                record.state = FaultState::RevertFailed;
                record.reason = Some(reason.clone());
                if let Err(error) = self.journal.append(&record).await {
                    tracing::error!(%error, "cannot journal the failed revert");
                }
                tracing::error!(%reason, resource = %record.resource.id, "ALARM: revert failed; the fault stays open and will be retried");
                self.publish(
                    &record,
                    Payload::FaultRevertFailed(FaultRevertFailed {
                        fault_id: record.fault_id.clone(),
                        resource: Some(record.resource.clone()),
                        reason,
                    }),
                )
                .await;
            }
        }
    }

    /// Brings the resource back to its snapshot and verifies it by reading it again. Returns whether it already
    /// was back (someone else corrected it), or why it could not be restored.
    pub(crate) async fn restore(&self, record: &JournalRecord) -> Result<bool, String> {
        let Some(saved) = &record.snapshot else {
            // Refused before the snapshot: nothing was changed.
            return Ok(true);
        };
        if record.dry_run {
            return Ok(false);
        }
        let faults = self.provider.faults();
        let (fault_id, resource) = (&record.fault_id, &record.resource);
        let mut already_restored = None;
        let mut last_problem = String::new();
        for attempt in 0..self.retry.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.retry.delay(attempt - 1)).await;
                tracing::warn!(attempt, problem = %last_problem, "retrying the revert");
            }
            match faults.snapshot(fault_id, resource).await {
                Ok(current) if current == *saved => return Ok(already_restored.unwrap_or(true)),
                Ok(_) => {}
                Err(error) => {
                    last_problem = error.to_string();
                    continue;
                }
            }
            already_restored.get_or_insert(false);
            if let Err(error) = faults.revert(fault_id, resource, saved).await {
                last_problem = error.to_string();
                continue;
            }
            match faults.snapshot(fault_id, resource).await {
                Ok(current) if current == *saved => return Ok(false),
                Ok(current) => {
                    last_problem = format!(
                        "after the revert the resource reads {current}, not its snapshot {saved}"
                    )
                }
                Err(error) => last_problem = error.to_string(),
            }
        }
        Err(format!(
            "not restored after {} attempts: {last_problem}",
            self.retry.attempts
        ))
    }

    /// Publishes a fault's event, retrying for a while when the bus is down (a restarting NATS). The fault's
    /// safety never depends on the bus: the revert has already happened, and a failure is logged.
    pub(crate) async fn publish(&self, record: &JournalRecord, payload: Payload) {
        let event = events::event(
            SOURCE,
            &record.run_id,
            &record.fault_instance_id,
            "",
            payload,
        );
        let deadline = tokio::time::Instant::now() + PUBLISH_PATIENCE;
        let mut attempt = 0;
        loop {
            match self.bus.publish(&event).await {
                Ok(()) => return,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(%error, attempt, "publishing a fault event failed; retrying");
                    tokio::time::sleep(self.retry.delay(attempt).min(Duration::from_secs(5))).await;
                    attempt += 1;
                }
                Err(error) => {
                    tracing::error!(%error, event_id = %event.id, "fault event not published; the journal still holds the fault's state");
                    return;
                }
            }
        }
    }
}
