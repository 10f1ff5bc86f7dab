//! The executor service (Execute): the only component that changes a cloud.
//!
//! Consumes `rdfi.v1.fault.planned` (durable consumer `executor`). For each planned fault: guard (opt-in tag,
//! protection, provider support), snapshot, a durable journal record with the snapshot and the revert deadline,
//! then the mutating call. Publishes `rdfi.v1.fault.injected`, `.prevented` (the cloud refused) or `.rejected`
//! (a guard or precondition refused; nothing changed). At the deadline, whatever else is down, it reverts from
//! the snapshot, re-reads the resource until it equals the snapshot (retrying with backoff and jitter) and
//! publishes `rdfi.v1.fault.reverted`, or `rdfi.v1.fault.revert_failed` keeping the fault open.
//!
//! On start it replays its journal and reverts every fault still open; on shutdown it reverts every active
//! fault before returning.

pub mod journal;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::{CancellationToken, events, experiment, subjects, targeting, worker};
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    FaultInjected, FaultPlanned, FaultPrevented, FaultRejected, FaultRevertFailed, FaultReverted,
    ResourceRef,
};
use rdfi_provider::{Provider, ProviderError};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use journal::{FaultState, Journal, JournalError, JournalRecord};

/// The component name in events.
pub const SOURCE: &str = "executor";
/// The durable consumer name: replicas share it, so each planned fault reaches one of them.
pub const CONSUMER: &str = "executor";

/// A planned fault older than this is refused: the estate it was planned against may have changed, and a new
/// executor replaying an old stream must not inject history.
pub const STALE_PLAN: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// How hard a revert is tried before it is reported as failed.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with full jitter in its upper half.
    fn delay(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        exponential.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

pub struct ExecutorConfig {
    pub bus: Arc<dyn Bus>,
    pub provider: Arc<dyn Provider>,
    /// Where the journal lives.
    pub state_dir: PathBuf,
    /// The tag (label) that opts a resource in.
    pub opt_in_tag: String,
    pub revert_retry: RetryPolicy,
}

struct Executor {
    bus: Arc<dyn Bus>,
    provider: Arc<dyn Provider>,
    journal: Journal,
    opt_in_tag: String,
    revert_retry: RetryPolicy,
    /// Active faults, each with the trigger that reverts it before its deadline.
    active: Mutex<HashMap<String, CancellationToken>>,
    tasks: TaskTracker,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

/// Runs until `shutdown`, then reverts every active fault and returns.
pub async fn run(config: ExecutorConfig, shutdown: CancellationToken) -> Result<(), ExecutorError> {
    let executor = Arc::new(Executor {
        journal: Journal::open(&config.state_dir)?,
        bus: config.bus,
        provider: config.provider,
        opt_in_tag: config.opt_in_tag,
        revert_retry: config.revert_retry,
        active: Mutex::default(),
        tasks: TaskTracker::new(),
    });
    for record in executor.journal.open_faults() {
        let span = tracing::info_span!(
            "recover",
            run_id = %record.run_id,
            fault_instance_id = %record.fault_instance_id,
            fault_id = %record.fault_id,
        );
        span.in_scope(|| tracing::warn!(state = ?record.state, "open fault found in the journal; its revert is scheduled"));
        executor.schedule_revert(record, span);
    }
    let consumed = worker::consume(
        executor.bus.clone(),
        ConsumerConfig::new(CONSUMER, &[subjects::FAULT_PLANNED]),
        shutdown.clone(),
        |event| {
            let executor = executor.clone();
            async move {
                if let Some(Payload::FaultPlanned(planned)) = event.payload {
                    let planned_at_ms = event
                        .time
                        .as_ref()
                        .map(rdfi_proto::unix_millis)
                        .unwrap_or_default();
                    executor
                        .on_planned(
                            &event.run_id,
                            &event.fault_instance_id,
                            planned_at_ms,
                            planned,
                        )
                        .await?;
                }
                Ok(())
            }
        },
    )
    .await;
    executor.revert_all_now().await;
    Ok(consumed?)
}

impl Executor {
    async fn on_planned(
        self: &Arc<Self>,
        run_id: &str,
        fault_instance_id: &str,
        planned_at_ms: i64,
        planned: FaultPlanned,
    ) -> Result<(), ExecutorError> {
        if self.journal.get(fault_instance_id).is_some() {
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
        if now - planned_at_ms > STALE_PLAN.as_millis() as i64 {
            let reason = format!(
                "planned {} s ago, more than the {} s a plan stays valid",
                (now - planned_at_ms) / 1000,
                STALE_PLAN.as_secs()
            );
            return self.reject(record, reason).await;
        }
        if let Some(reason) = self.guard(&planned.fault_id, &resource).await {
            return self.reject(record, reason).await;
        }
        let snapshot = match self
            .provider
            .faults()
            .snapshot(&planned.fault_id, &resource)
            .await
        {
            Ok(snapshot) => snapshot,
            Err(error) => {
                return self
                    .reject(record, format!("snapshot failed: {error}"))
                    .await;
            }
        };
        record.snapshot = Some(snapshot.clone());
        // Invariant: the intent, with the snapshot, is durable before the mutation.
        self.journal.append(&record)?;

        let outcome = if planned.dry_run {
            Ok(())
        } else {
            self.provider
                .faults()
                .inject(&planned.fault_id, &resource, &snapshot)
                .await
        };
        match outcome {
            Ok(()) => self.injected(record).await,
            Err(ProviderError::Refused { reason, .. }) => {
                record.state = FaultState::Prevented;
                record.reason = Some(reason.clone());
                record.recorded_at_ms = now_ms();
                self.journal.append(&record)?;
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
                self.reject(record, error.to_string()).await
            }
            Err(error) => {
                // Whether the call took effect is unknown: read the resource to find out.
                match self
                    .provider
                    .faults()
                    .is_present(&planned.fault_id, &resource)
                    .await
                {
                    Ok(false) => {
                        self.reject(record, format!("injection failed: {error}"))
                            .await
                    }
                    _ => {
                        tracing::warn!(%error, "injection call failed but the fault may be in place; treating it as injected");
                        self.injected(record).await
                    }
                }
            }
        }
    }

    /// Why this fault may not touch this resource, read from the resource as it is now.
    async fn guard(&self, fault_id: &str, resource: &ResourceRef) -> Option<String> {
        if resource.provider != self.provider.name() {
            return Some(format!(
                "the resource belongs to provider {:?}, this executor drives {:?}",
                resource.provider,
                self.provider.name()
            ));
        }
        if !self.provider.faults().supports(fault_id) {
            return Some(format!(
                "provider {} does not implement {fault_id}",
                self.provider.name()
            ));
        }
        match self.provider.tags(resource).await {
            Ok(tags) => targeting::refusal(
                &tags.into_iter().collect(),
                &self.opt_in_tag,
                &Default::default(),
            ),
            Err(error) => Some(format!("cannot read the resource's tags: {error}")),
        }
    }

    async fn reject(&self, mut record: JournalRecord, reason: String) -> Result<(), ExecutorError> {
        record.state = FaultState::Rejected;
        record.reason = Some(reason.clone());
        record.recorded_at_ms = now_ms();
        self.journal.append(&record)?;
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

    async fn injected(self: &Arc<Self>, mut record: JournalRecord) -> Result<(), ExecutorError> {
        let now = now_ms();
        record.state = FaultState::Injected;
        record.injected_at_ms = Some(now);
        record.recorded_at_ms = now;
        self.journal.append(&record)?;
        tracing::info!(resource = %record.resource.id, dry_run = record.dry_run, "fault injected");
        self.publish(
            &record,
            Payload::FaultInjected(FaultInjected {
                fault_id: record.fault_id.clone(),
                resource: Some(record.resource.clone()),
                injected_at: Some(timestamp_from_millis(now)),
                revert_due_at: Some(timestamp_from_millis(record.revert_due_at_ms)),
                hypothesis: record.hypothesis,
                dry_run: record.dry_run,
            }),
        )
        .await;
        self.schedule_revert(record, tracing::Span::current());
        Ok(())
    }

    /// Reverts the fault at its deadline, or earlier when triggered (abort, shutdown).
    fn schedule_revert(self: &Arc<Self>, record: JournalRecord, span: tracing::Span) {
        let trigger = CancellationToken::new();
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(record.fault_instance_id.clone(), trigger.clone());
        let executor = self.clone();
        self.tasks.spawn(
            async move {
                let wait = Duration::from_millis((record.revert_due_at_ms - now_ms()).max(0) as u64);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = trigger.cancelled() => tracing::info!("revert triggered before the deadline"),
                }
                let fault_instance_id = record.fault_instance_id.clone();
                executor.revert(record).await;
                executor
                    .active
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(&fault_instance_id);
            }
            .instrument(span),
        );
    }

    /// Reverts every active fault now and waits until each is reverted and verified (or reported failed).
    async fn revert_all_now(&self) {
        let triggers: Vec<_> = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect();
        if !triggers.is_empty() {
            tracing::info!(
                active = triggers.len(),
                "reverting every active fault before exit"
            );
        }
        for trigger in triggers {
            trigger.cancel();
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn revert(&self, mut record: JournalRecord) {
        let started = now_ms();
        record.state = FaultState::Reverting;
        record.recorded_at_ms = started;
        if let Err(error) = self.journal.append(&record) {
            tracing::error!(%error, "cannot journal the revert; reverting anyway");
        }
        let outcome = self.restore(&record).await;
        let finished = now_ms();
        record.recorded_at_ms = finished;
        match outcome {
            Ok(already_restored) => {
                record.state = FaultState::Reverted;
                if let Err(error) = self.journal.append(&record) {
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
                if let Err(error) = self.journal.append(&record) {
                    tracing::error!(%error, "cannot journal the failed revert");
                }
                tracing::error!(%reason, resource = %record.resource.id, "REVERT FAILED: the fault stays open");
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
    async fn restore(&self, record: &JournalRecord) -> Result<bool, String> {
        let Some(saved) = &record.snapshot else {
            // Rejected before the snapshot: nothing was changed.
            return Ok(true);
        };
        if record.dry_run {
            return Ok(false);
        }
        let faults = self.provider.faults();
        let (fault_id, resource) = (&record.fault_id, &record.resource);
        let mut already_restored = None;
        let mut last_problem = String::new();
        for attempt in 0..self.revert_retry.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.revert_retry.delay(attempt - 1)).await;
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
            self.revert_retry.attempts
        ))
    }

    /// Publishes a fault's event. The fault's safety never depends on the bus: a failure is logged.
    async fn publish(&self, record: &JournalRecord, payload: Payload) {
        let event = events::event(
            SOURCE,
            &record.run_id,
            &record.fault_instance_id,
            "",
            payload,
        );
        for attempt in 0..5u32 {
            match self.bus.publish(&event).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, attempt, "publishing a fault event failed");
                    tokio::time::sleep(Duration::from_millis(200) * (attempt + 1)).await;
                }
            }
        }
        tracing::error!(event_id = %event.id, "fault event not published; the journal still holds it");
    }
}
