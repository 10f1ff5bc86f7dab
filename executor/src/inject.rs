//! Taking a planned fault: the guard, the snapshot, the journal claim before the mutation, the injection
//! (retried when the cloud throttles) and the refusals.

use std::sync::Arc;
use std::time::Duration;

use rdfi_core::experiment;
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{FaultInjected, FaultPlanned, FaultPrevented, FaultRejected, ResourceRef};
use rdfi_provider::{ProviderError, with_retry};

use crate::failpoint::failpoint;
use crate::{Executor, ExecutorError, FaultState, JournalRecord, STALE_PLAN, guard, now_ms};

impl Executor {
    pub(crate) async fn on_planned(
        self: &Arc<Self>,
        run_id: &str,
        fault_instance_id: &str,
        planned_at_ms: i64,
        planned: FaultPlanned,
    ) -> Result<(), ExecutorError> {
        if self.journal.get(fault_instance_id).await?.is_some() {
            tracing::debug!("fault already handled; redelivery ignored");
            return Ok(());
        }
        let resource = planned.resource.clone().unwrap_or_default();
        let now = now_ms();
        let hold =
            experiment::hold_duration(planned.exposure_window_ms, planned.hypothesis.as_ref());
        let mut record = JournalRecord {
            fault_instance_id: fault_instance_id.to_owned(),
            run_id: run_id.to_owned(),
            fault_id: planned.fault_id.clone(),
            resource: resource.clone(),
            state: FaultState::Intended,
            snapshot: None,
            hypothesis: planned.hypothesis,
            injected_at_ms: None,
            revert_due_at_ms: now + hold.as_millis() as i64,
            dry_run: planned.dry_run,
            reason: None,
            recorded_at_ms: now,
        };
        if let Some(reason) = self
            .guard(run_id, &planned, &resource, now - planned_at_ms)
            .await
        {
            return self.reject(record, reason, true).await;
        }
        let faults = self.provider.faults();
        let snapshot = match with_retry(&self.retry, "snapshot", || {
            faults.snapshot(&planned.fault_id, &resource)
        })
        .await
        {
            Ok(snapshot) => snapshot,
            Err(error) => {
                return self
                    .reject(record, format!("snapshot failed: {error}"), true)
                    .await;
            }
        };
        let change = faults
            .describe(&planned.fault_id, &resource, &snapshot)
            .unwrap_or_else(|error| error.to_string());
        record.snapshot = Some(snapshot.clone());
        // Invariant: the intent, with the snapshot, is durable before the mutation; and only one delivery
        // (one replica) gets to make it.
        if !self.journal.claim(&record).await? {
            tracing::info!("another delivery or replica has this fault; skipped");
            return Ok(());
        }
        failpoint("after-intent");

        let outcome = if planned.dry_run {
            Ok(())
        } else {
            self.inject_with_retry(&planned.fault_id, &resource, &snapshot)
                .await
        };
        failpoint("after-inject-call");
        match outcome {
            Ok(()) => self.injected(record, change).await,
            Err(ProviderError::Refused { reason, .. }) => {
                record.state = FaultState::Prevented;
                record.reason = Some(reason.clone());
                record.recorded_at_ms = now_ms();
                self.journal.append(&record).await?;
                tracing::info!(%reason, "fault prevented by the cloud");
                self.publish(
                    &record,
                    Payload::FaultPrevented(FaultPrevented {
                        fault_id: record.fault_id.clone(),
                        resource: Some(record.resource.clone()),
                        reason,
                    }),
                )
                .await;
                Ok(())
            }
            Err(error @ ProviderError::Precondition { .. }) => {
                self.reject(record, error.to_string(), false).await
            }
            Err(error) => {
                // Whether the call took effect is unknown: read the resource to find out.
                match with_retry(&self.retry, "probe", || {
                    faults.is_present(&planned.fault_id, &resource)
                })
                .await
                {
                    Ok(false) => {
                        self.reject(record, format!("injection failed: {error}"), false)
                            .await
                    }
                    _ => {
                        tracing::warn!(%error, "the injection failed but the fault may be in place; treating it as injected");
                        self.injected(record, change).await
                    }
                }
            }
        }
    }

    /// Injects, retrying throttling and server errors; before each retry the resource is read, since the
    /// failed call may have taken effect.
    pub(crate) async fn inject_with_retry(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &rdfi_provider::Snapshot,
    ) -> Result<(), ProviderError> {
        let faults = self.provider.faults();
        let tried = std::sync::atomic::AtomicBool::new(false);
        with_retry(&self.retry, "inject", || async {
            let retry = tried.swap(true, std::sync::atomic::Ordering::SeqCst);
            if retry && faults.is_present(fault_id, resource).await.unwrap_or(false) {
                return Ok(());
            }
            faults.inject(fault_id, resource, snapshot).await
        })
        .await
    }

    /// Why this planned fault may not be injected, read from the resource as it is now.
    pub(crate) async fn guard(
        &self,
        run_id: &str,
        planned: &FaultPlanned,
        resource: &ResourceRef,
        age_ms: i64,
    ) -> Option<String> {
        if age_ms > STALE_PLAN.as_millis() as i64 {
            return Some(format!(
                "planned {} s ago, more than the {} s a plan stays valid",
                age_ms / 1000,
                STALE_PLAN.as_secs()
            ));
        }
        if resource.provider != self.provider.name() {
            return Some(format!(
                "the resource belongs to provider {:?}, this executor drives {:?}",
                resource.provider,
                self.provider.name()
            ));
        }
        if !self.provider.faults().supports(&planned.fault_id) {
            return Some(format!(
                "provider {} does not implement {}",
                self.provider.name(),
                planned.fault_id
            ));
        }
        let tags = match with_retry(&self.retry, "tags", || self.provider.tags(resource)).await {
            Ok(tags) => tags.into_iter().collect(),
            Err(error) => return Some(format!("cannot read the resource's tags: {error}")),
        };
        let active = self.active();
        let held: Vec<guard::Held<'_>> = active
            .values()
            .map(|fault| guard::Held {
                run_id: &fault.run_id,
                resource_id: &fault.resource_id,
            })
            .collect();
        self.limits.refusal(
            &guard::Candidate {
                run_id,
                resource,
                tags: &tags,
                exposure: Duration::from_millis(planned.exposure_window_ms),
                own_identity: &self.own_identity,
            },
            &held,
        )
    }

    /// Records and publishes a refusal. `first` when no record of the fault exists yet.
    pub(crate) async fn reject(
        &self,
        mut record: JournalRecord,
        reason: String,
        first: bool,
    ) -> Result<(), ExecutorError> {
        record.state = FaultState::Rejected;
        record.reason = Some(reason.clone());
        record.recorded_at_ms = now_ms();
        if first {
            if !self.journal.claim(&record).await? {
                return Ok(());
            }
        } else {
            self.journal.append(&record).await?;
        }
        tracing::info!(%reason, "fault rejected; nothing was changed");
        self.publish(
            &record,
            Payload::FaultRejected(FaultRejected {
                fault_id: record.fault_id.clone(),
                resource: Some(record.resource.clone()),
                reason,
            }),
        )
        .await;
        Ok(())
    }

    pub(crate) async fn injected(
        self: &Arc<Self>,
        mut record: JournalRecord,
        change: String,
    ) -> Result<(), ExecutorError> {
        let now = now_ms();
        record.state = FaultState::Injected;
        record.injected_at_ms = Some(now);
        record.recorded_at_ms = now;
        self.journal.append(&record).await?;
        failpoint("after-injected");
        tracing::info!(resource = %record.resource.id, dry_run = record.dry_run, %change, "fault injected");
        self.publish(
            &record,
            Payload::FaultInjected(FaultInjected {
                fault_id: record.fault_id.clone(),
                resource: Some(record.resource.clone()),
                injected_at: Some(timestamp_from_millis(now)),
                revert_due_at: Some(timestamp_from_millis(record.revert_due_at_ms)),
                hypothesis: record.hypothesis,
                dry_run: record.dry_run,
                change,
            }),
        )
        .await;
        self.schedule_revert(record, tracing::Span::current());
        Ok(())
    }
}
