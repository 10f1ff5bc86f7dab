//! Taking a planned fault: the guard over the shared journal, the snapshot, and the injection (retried when the
//! cloud throttles; a failed call is resolved by reading the resource).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdfi_core::experiment;
use rdfi_proto::v1::{FaultPlanned, ResourceRef};
use rdfi_provider::{ProviderError, exposure, marking, with_retry};

use crate::drive::Tokens;
use crate::lifecycle::{Fault, Injection, Input};
use crate::{Executor, ExecutorError, FaultState, JournalRecord, STALE_PLAN, guard, now_ms};

/// A planned fault the guard admitted: counted against the caps as admitted ([`guard::InFlight`]) until
/// dropped, once its claim is written (the journal counts it from then on) or when it never will be.
pub(crate) struct Admission {
    in_flight: Arc<Mutex<guard::InFlight>>,
    fault_instance_id: String,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .release(&self.fault_instance_id);
    }
}

/// A planned fault in hand after [`Executor::admit_planned`]: what taking it needs.
pub(crate) struct Taken {
    record: JournalRecord,
    tokens: Tokens,
    planned: FaultPlanned,
    /// Admitted, or why not.
    admitted: Result<Admission, String>,
}

impl Executor {
    /// The first stage of a planned fault, in the order planned faults are delivered: takes it in hand (unless
    /// it is already handled) and guards it. `None` when there is nothing more to do for it.
    pub(crate) async fn admit_planned(
        self: &Arc<Self>,
        run_id: &str,
        fault_instance_id: &str,
        planned_at_ms: i64,
        planned: FaultPlanned,
    ) -> Result<Option<Taken>, ExecutorError> {
        if self.journal.get(fault_instance_id).await?.is_some() {
            tracing::debug!("fault already handled; redelivery ignored");
            return Ok(None);
        }
        let resource = planned.resource.clone().unwrap_or_default();
        let now = now_ms();
        let hold =
            experiment::hold_duration(planned.exposure_window_ms, planned.hypothesis.as_ref());
        let record = JournalRecord {
            fault_instance_id: fault_instance_id.to_owned(),
            run_id: run_id.to_owned(),
            fault_id: planned.fault_id.clone(),
            resource: resource.clone(),
            state: FaultState::Planned,
            snapshot: None,
            hypothesis: planned.hypothesis.clone(),
            injected_at_ms: None,
            revert_due_at_ms: now.saturating_add(hold.as_millis() as i64),
            hold_ms: hold.as_millis().try_into().unwrap_or(u64::MAX),
            cut_short: None,
            refusal: None,
            // The canary's key is in the intent, the first record written: no canary before its record.
            canary_key: (!planned.dry_run && exposure::outsider_read(&planned.fault_id).is_some())
                .then(|| exposure::Canary::for_fault(fault_instance_id).key),
            dry_run: planned.dry_run,
            reason: None,
            recorded_at_ms: now,
            target: self.target.clone(),
            changed_by_others: false,
        };
        let Some(tokens) = self.register(&record) else {
            tracing::debug!("fault already in hand; redelivery ignored");
            return Ok(None);
        };
        let admitted = match self
            .guard(run_id, &planned, &resource, now - planned_at_ms)
            .await
        {
            Some(reason) => Err(reason),
            None => {
                let mut in_flight = self
                    .in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                in_flight.admit(fault_instance_id, run_id, &resource.id);
                Ok(Admission {
                    in_flight: self.in_flight.clone(),
                    fault_instance_id: fault_instance_id.to_owned(),
                })
            }
        };
        Ok(Some(Taken {
            record,
            tokens,
            planned,
            admitted,
        }))
    }

    /// The second stage, several faults at once: the snapshot, then the lifecycle up to the injection's hold.
    pub(crate) async fn take_planned(self: Arc<Self>, taken: Taken) {
        let (first, admission) = match taken.admitted {
            Err(reason) => (Input::Refused { reason }, None),
            Ok(admission) => {
                let resource = &taken.record.resource;
                (
                    self.snapshot_input(&taken.planned, resource).await,
                    Some(admission),
                )
            }
        };
        self.drive_planned(Fault::planned(taken.record), taken.tokens, first, admission)
            .await;
    }

    /// The snapshot and what the injection will change: the lifecycle's first input for an admitted fault.
    async fn snapshot_input(&self, planned: &FaultPlanned, resource: &ResourceRef) -> Input {
        let faults = self.provider.faults();
        let snapshot = match with_retry(&self.retry, "snapshot", || {
            faults.snapshot(&planned.fault_id, resource)
        })
        .await
        {
            Ok(snapshot) => snapshot,
            Err(error) => {
                return Input::Refused {
                    reason: format!("snapshot failed: {error}"),
                };
            }
        };
        let change = faults
            .describe(&planned.fault_id, resource, &snapshot)
            .unwrap_or_else(|error| error.to_string());
        Input::Admitted { snapshot, change }
    }

    /// The mutating call (nothing in a dry run), as the lifecycle reads its answer.
    pub(crate) async fn inject(&self, record: &JournalRecord) -> Injection {
        let Some(snapshot) = &record.snapshot else {
            return Injection::Precondition {
                reason: "no snapshot".to_owned(),
            };
        };
        if record.dry_run {
            return Injection::Done;
        }
        let (fault_id, resource) = (&record.fault_id, &record.resource);
        // The mutating call carries the fault instance id, for detectors that read the audit trail.
        let injected = marking::for_fault(
            &record.fault_instance_id,
            self.inject_with_retry(fault_id, resource, snapshot),
        );
        match injected.await {
            Ok(()) => Injection::Done,
            Err(ProviderError::Refused {
                operation,
                reason,
                attribution,
                ..
            }) => Injection::Refused {
                reason,
                // What the answer did not say, the provider reads (the caller's policies, on AWS).
                attribution: self
                    .provider
                    .attribute_refusal(&operation, resource, *attribution)
                    .await,
            },
            Err(error @ ProviderError::Precondition { .. }) => Injection::Precondition {
                reason: error.to_string(),
            },
            Err(error) => {
                // Whether the call took effect is unknown: read the resource to find out. When it cannot be
                // read, assume the fault is there: the revert costs little, a fault left behind costs much.
                let present = with_retry(&self.retry, "probe", || {
                    self.provider.faults().is_present(fault_id, resource)
                })
                .await
                .unwrap_or(true);
                if present {
                    tracing::warn!(%error, "the injection failed but the fault is in place; treating it as injected");
                }
                Injection::Failed {
                    reason: error.to_string(),
                    present,
                }
            }
        }
    }

    /// Injects, retrying throttling and server errors; before a retry the resource is read, since the failed
    /// call may have taken effect, unless it was throttled (refused for its rate, without effect).
    async fn inject_with_retry(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &rdfi_provider::Snapshot,
    ) -> Result<(), ProviderError> {
        let faults = self.provider.faults();
        // Whether the last attempt may have taken effect: then the resource is read before the next one.
        let unsure = std::sync::atomic::AtomicBool::new(false);
        with_retry(&self.retry, "inject", || async {
            if unsure.load(std::sync::atomic::Ordering::SeqCst)
                && faults.is_present(fault_id, resource).await.unwrap_or(false)
            {
                return Ok(());
            }
            let outcome = faults.inject(fault_id, resource, snapshot).await;
            let throttled = outcome.as_ref().is_err_and(ProviderError::is_throttled);
            unsure.store(
                outcome.is_err() && !throttled,
                std::sync::atomic::Ordering::SeqCst,
            );
            outcome
        })
        .await
    }

    /// Why this planned fault may not be injected, read from the resource as it is now and from the journal
    /// every executor sharing it writes to.
    async fn guard(
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
        if rdfi_core::catalogue::find(&planned.fault_id).is_some_and(|model| model.destructive)
            && !planned.allow_destructive
        {
            return Some(format!(
                "{} can destroy data; the experiment must allow it (safety.allowDestructive: true)",
                planned.fault_id
            ));
        }
        let tags = match with_retry(&self.retry, "tags", || self.provider.tags(resource)).await {
            Ok(tags) => tags.into_iter().collect(),
            Err(error) => return Some(format!("cannot read the resource's tags: {error}")),
        };
        // The faults this executor admitted count here, and the journal leaves them out: each once.
        let (admitted, ids) = {
            let in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            (in_flight.occupancy(run_id, &resource.id), in_flight.ids())
        };
        let occupancy = match self.journal.occupancy(run_id, &resource.id, &ids).await {
            Ok(occupancy) => occupancy.plus(admitted),
            Err(error) => return Some(format!("cannot read the journal: {error}")),
        };
        self.limits.refusal(
            &guard::Candidate {
                run_id,
                resource,
                tags: &tags,
                exposure: Duration::from_millis(planned.exposure_window_ms),
                own_identity: &self.own_identity,
            },
            occupancy,
        )
    }
}
