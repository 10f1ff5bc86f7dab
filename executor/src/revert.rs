//! Giving a fault back: reverting now on abort, the surgical revert with its verification by re-reading, and
//! the fault's events.

use std::time::Duration;

use rdfi_core::{CancellationToken, events};
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    FaultExposureProved, FaultInjected, FaultPrevented, FaultRejected, FaultRevertFailed,
    FaultReverted,
};
use rdfi_provider::{StateHash, marking, state_hash};

use crate::audit::{Around, Seen, hex};
use crate::failpoint::fails;
use crate::lifecycle::{Fault, Notice, Revert};
use crate::{Executor, JournalRecord, PUBLISH_PATIENCE, SOURCE, now_ms};

impl Executor {
    /// Aborts the faults this executor works on (of one run, when given): reverts the injected ones now and
    /// those under way as soon as they answer; waits until each is closed or its revert failed. Returns how
    /// many it waited for.
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

    /// Takes the fault's own change back and verifies it by reading the resource again: the fault is gone and
    /// reverting again would change nothing. Other changes made meanwhile stay. Then removes the fault's
    /// exposure canary, whether or not that succeeded, and verifies it is gone: the revert is verified only
    /// when both are. Every call it makes carries the fault instance id (`rdfi_provider::marking`).
    pub(crate) async fn restore(&self, record: &JournalRecord) -> (Revert, Option<Around>) {
        marking::for_fault(&record.fault_instance_id, async {
            let (reverted, around) = self.restore_marked(record).await;
            let reverted = match (reverted, self.remove_canary(record).await) {
                (reverted, Ok(())) => reverted,
                (Revert::Failed { reason }, Err(canary)) => Revert::Failed {
                    reason: format!("{reason}; {canary}"),
                },
                (Revert::Verified { .. }, Err(canary)) => Revert::Failed { reason: canary },
            };
            (reverted, around)
        })
        .await
    }

    /// The revert with what it read before writing and what its verification read (when it was verified).
    async fn restore_marked(&self, record: &JournalRecord) -> (Revert, Option<Around>) {
        let started_ms = now_ms();
        let Some(saved) = &record.snapshot else {
            // Refused before the snapshot: nothing was changed.
            let nothing = Revert::Verified {
                already_restored: true,
                changed_by_others: false,
                started_ms,
            };
            return (nothing, None);
        };
        if record.dry_run {
            let dry = Revert::Verified {
                already_restored: false,
                changed_by_others: false,
                started_ms,
            };
            return (dry, None);
        }
        let faults = self.provider.faults();
        let (fault_id, resource) = (&record.fault_id, &record.resource);
        let mut already_restored = None;
        // The state the first successful read found, before this revert wrote anything.
        let mut before = None;
        let mut last_problem = String::new();
        for attempt in 0..self.retry.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.retry.delay(attempt - 1)).await;
                tracing::warn!(attempt, problem = %last_problem, "retrying the revert");
            }
            match faults.check_revert(fault_id, resource, saved).await {
                Ok(check) if check.reverted => {
                    let verified = Revert::Verified {
                        already_restored: already_restored.unwrap_or(true),
                        changed_by_others: check.changed_by_others,
                        started_ms,
                    };
                    let around = Around {
                        before: *before.get_or_insert(check.observed),
                        after: check.observed,
                    };
                    return (verified, Some(around));
                }
                Ok(check) => {
                    before.get_or_insert(check.observed);
                }
                Err(error) => {
                    last_problem = error.to_string();
                    continue;
                }
            }
            already_restored.get_or_insert(false);
            if fails("revert-call") {
                last_problem = "the revert call failed (failpoint revert-call)".to_owned();
                continue;
            }
            if let Err(error) = faults.revert(fault_id, resource, saved).await {
                last_problem = error.to_string();
                continue;
            }
            match faults.check_revert(fault_id, resource, saved).await {
                Ok(check) if check.reverted => {
                    let verified = Revert::Verified {
                        already_restored: false,
                        changed_by_others: check.changed_by_others,
                        started_ms,
                    };
                    let around = before.map(|before| Around {
                        before,
                        after: check.observed,
                    });
                    return (verified, around);
                }
                Ok(_) => {
                    last_problem =
                        "after the revert the fault is still there, or reverting again would change more"
                            .to_owned()
                }
                Err(error) => last_problem = error.to_string(),
            }
        }
        let failed = Revert::Failed {
            reason: format!(
                "not reverted after {} attempts: {last_problem}",
                self.retry.attempts
            ),
        };
        (failed, None)
    }

    /// The state of the fault's resource as read now (the audit trail's hash); `None` when it cannot be read.
    pub(crate) async fn read_state(&self, record: &JournalRecord) -> Option<StateHash> {
        let read = marking::for_fault(
            &record.fault_instance_id,
            self.provider
                .faults()
                .snapshot(&record.fault_id, &record.resource),
        );
        match read.await {
            Ok(state) => Some(state_hash(&state)),
            Err(error) => {
                tracing::warn!(%error, "cannot read the state after the injection for the audit trail");
                None
            }
        }
    }

    /// Publishes what the lifecycle says happened to the fault.
    pub(crate) async fn publish_notice(&self, fault: &Fault, seen: Seen, notice: Notice) {
        let record = &fault.record;
        // Who changed what, when something was changed.
        let actor = if record.dry_run {
            String::new()
        } else {
            self.actor.clone()
        };
        let reason = record.reason.clone().unwrap_or_default();
        let (fault_id, resource) = (record.fault_id.clone(), Some(record.resource.clone()));
        let payload = match notice {
            Notice::Injected => {
                tracing::info!(resource = %record.resource.id, dry_run = record.dry_run, change = %fault.change, "fault injected");
                Payload::FaultInjected(FaultInjected {
                    fault_id,
                    resource,
                    injected_at: record.injected_at_ms.map(timestamp_from_millis),
                    revert_due_at: Some(timestamp_from_millis(record.revert_due_at_ms)),
                    hypothesis: record.hypothesis.clone(),
                    dry_run: record.dry_run,
                    change: fault.change.clone(),
                    actor,
                    state_before_sha256: hex(record
                        .snapshot
                        .as_ref()
                        .filter(|_| !record.dry_run)
                        .map(state_hash)),
                    state_after_sha256: hex(seen.injected),
                })
            }
            Notice::Prevented => {
                tracing::info!(%reason, "fault prevented by the cloud");
                let refusal = record.refusal.clone().unwrap_or_default();
                let (control, control_type) =
                    refusal.control.map_or_else(Default::default, |control| {
                        (control.describe(), control.control_type.label().to_owned())
                    });
                Payload::FaultPrevented(FaultPrevented {
                    fault_id,
                    resource,
                    reason,
                    control,
                    control_type,
                    denied_action: refusal.denied_action.unwrap_or_default(),
                })
            }
            Notice::Rejected => {
                tracing::info!(%reason, "fault rejected; nothing was changed");
                Payload::FaultRejected(FaultRejected {
                    fault_id,
                    resource,
                    reason,
                })
            }
            Notice::Reverted {
                already_restored,
                changed_by_others,
                started_ms,
                cut_short,
            } => {
                tracing::info!(
                    already_restored,
                    changed_by_others,
                    "fault reverted and verified"
                );
                Payload::FaultReverted(FaultReverted {
                    fault_id,
                    resource,
                    revert_started_at: Some(timestamp_from_millis(started_ms)),
                    reverted_at: Some(timestamp_from_millis(record.recorded_at_ms)),
                    verified: true,
                    already_restored,
                    dry_run: record.dry_run,
                    changed_by_others,
                    cut_short: cut_short.unwrap_or_default(),
                    // Nothing to audit when the revert did not read the resource (nothing was injected).
                    actor: seen.revert.map(|_| actor).unwrap_or_default(),
                    state_before_sha256: hex(seen.revert.map(|around| around.before)),
                    state_after_sha256: hex(seen.revert.map(|around| around.after)),
                })
            }
            Notice::Exposure(proof) => Payload::FaultExposureProved(FaultExposureProved {
                fault_id,
                resource,
                proof: Some(proof),
            }),
            Notice::RevertFailed => {
                tracing::error!(%reason, resource = %record.resource.id, "ALARM: revert failed; the fault stays open and will be retried");
                Payload::FaultRevertFailed(FaultRevertFailed {
                    fault_id,
                    resource,
                    reason,
                })
            }
        };
        self.publish(record, payload).await;
    }

    /// Publishes a fault's event, retrying for a while when the bus is down (a restarting NATS). The fault's
    /// safety never depends on the bus: the journal holds its state, and a failure is logged.
    async fn publish(&self, record: &JournalRecord, payload: Payload) {
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
