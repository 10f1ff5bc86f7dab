//! The executor service (Execute): the only component that changes a cloud.
//!
//! Consumes `rdfi.v1.fault.planned` (durable consumer `executor`, shared by replicas) and `rdfi.v1.safety.abort`
//! (an ephemeral consumer per replica, so every replica hears it). For each planned fault: guard (blast radius,
//! a fresh read of the tags), snapshot, a durable journal record with the snapshot and the revert deadline,
//! then the mutating call, retried with backoff when the cloud throttles. Publishes `rdfi.v1.fault.injected`,
//! `.prevented` (the cloud refused) or `.rejected` (a guard or precondition refused; nothing changed). At the
//! deadline, whatever else is down, it reverts from the snapshot, re-reads the resource until it equals the
//! snapshot (retrying with backoff and jitter) and publishes `rdfi.v1.fault.reverted`, or
//! `rdfi.v1.fault.revert_failed`, keeping the fault open and retrying it.
//!
//! On start it replays its journal and schedules the revert of every open fault; a sweeper reverts open faults
//! whose deadline passed long ago (another replica's, with the shared journal). Abort (gRPC
//! `rdfi.v1.ExecutorService/Abort`, a `safety.abort` event, SIGINT or SIGTERM) reverts and verifies every
//! active fault before returning.

pub mod args;
mod failpoint;
mod grpc;
pub mod guard;
pub mod journal;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::grpc::{GrpcServeError, GrpcServer};
use rdfi_core::{CancellationToken, events, experiment, subjects, worker};
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    FaultInjected, FaultPlanned, FaultPrevented, FaultRejected, FaultRevertFailed, FaultReverted,
    ResourceRef,
};
pub use rdfi_provider::RetryPolicy;
use rdfi_provider::{Provider, ProviderError, with_retry};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use failpoint::failpoint;
pub use guard::BlastRadius;
pub use journal::{FaultState, Journal, JournalError, JournalRecord};

/// The component name in events.
pub const SOURCE: &str = "executor";
/// The durable consumer name: replicas share it, so each planned fault reaches one of them.
pub const CONSUMER: &str = "executor";
/// A planned fault older than this is refused: the estate it was planned against may have changed, and a new
/// executor replaying an old stream must not inject history.
pub const STALE_PLAN: Duration = Duration::from_secs(300);
/// How long past its deadline an open fault nobody here holds waits before the sweeper reverts it.
const SWEEP_GRACE: Duration = Duration::from_secs(30);
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// How long a fault event is retried while the bus is down.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Grpc(#[from] GrpcServeError),
}

pub struct ExecutorConfig {
    pub bus: Arc<dyn Bus>,
    pub provider: Arc<dyn Provider>,
    pub journal: Arc<dyn Journal>,
    pub limits: BlastRadius,
    pub retry: RetryPolicy,
    /// Reverts running at once (abort of many faults).
    pub revert_concurrency: usize,
    /// Where to serve `rdfi.v1.ExecutorService`; not served when `None`.
    pub grpc_listen: Option<SocketAddr>,
}

struct Active {
    run_id: String,
    resource_id: String,
    /// Cancelled to revert now instead of at the deadline.
    revert_now: CancellationToken,
    /// Cancelled once the revert has finished (verified or failed).
    finished: CancellationToken,
}

struct Executor {
    bus: Arc<dyn Bus>,
    provider: Arc<dyn Provider>,
    journal: Arc<dyn Journal>,
    limits: BlastRadius,
    retry: RetryPolicy,
    own_identity: Vec<String>,
    reverts: Semaphore,
    active: Mutex<HashMap<String, Active>>,
    tasks: TaskTracker,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

/// What an abort or a recovery achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevertOutcome {
    pub reverted: u32,
    pub still_open: u32,
}

/// Runs until `shutdown`, then reverts every active fault and returns.
pub async fn run(config: ExecutorConfig, shutdown: CancellationToken) -> Result<(), ExecutorError> {
    let grpc_listen = config.grpc_listen;
    let executor = Executor::start(config).await?;
    executor.recover_open(false).await?;
    let grpc = GrpcServer::spawn(
        grpc_listen,
        grpc::SERVICE_NAME,
        grpc::routes(ExecutorHandle(executor.clone())),
        shutdown.clone(),
    );
    let aborts = tokio::spawn(executor.clone().listen_for_aborts(shutdown.clone()));
    let sweeper = tokio::spawn(executor.clone().sweep(shutdown.clone()));
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
    shutdown.cancel();
    let _ = tokio::join!(aborts, sweeper);
    executor.revert_all_now(None).await;
    executor.tasks.close();
    executor.tasks.wait().await;
    grpc.stop(&shutdown).await?;
    Ok(consumed?)
}

/// Reverts every open fault of the journal now, whatever its deadline, and reports what is left open. Used
/// by `rdfi recover`; publishes the outcome of each fault on `bus`.
pub async fn recover(config: ExecutorConfig) -> Result<RevertOutcome, ExecutorError> {
    let executor = Executor::start(config).await?;
    let scheduled = executor.recover_open(true).await? as u32;
    executor.tasks.close();
    executor.tasks.wait().await;
    let still_open = executor.journal.open_faults().await?.len() as u32;
    Ok(RevertOutcome {
        reverted: scheduled.saturating_sub(still_open),
        still_open,
    })
}

/// A handle on a running executor, for abort and inspection.
#[derive(Clone)]
pub struct ExecutorHandle(Arc<Executor>);

impl ExecutorHandle {
    /// Reverts every active fault (of one run, when given) and waits until each is verified or failed.
    pub async fn abort(
        &self,
        run_id: Option<&str>,
        reason: &str,
    ) -> Result<RevertOutcome, ExecutorError> {
        tracing::warn!(run_id = run_id.unwrap_or("all"), %reason, "abort: reverting active faults");
        let reverted = self.0.revert_all_now(run_id).await;
        let still_open = self
            .0
            .journal
            .open_faults()
            .await?
            .iter()
            .filter(|record| run_id.is_none_or(|run_id| record.run_id == run_id))
            .count() as u32;
        Ok(RevertOutcome {
            reverted: reverted.saturating_sub(still_open),
            still_open,
        })
    }

    /// The faults the journal holds open.
    pub async fn open_faults(&self) -> Result<Vec<JournalRecord>, ExecutorError> {
        Ok(self.0.journal.open_faults().await?)
    }
}

impl Executor {
    async fn start(config: ExecutorConfig) -> Result<Arc<Executor>, ExecutorError> {
        let own_identity = match config.provider.caller_identity().await {
            Ok(identity) => identity,
            Err(error) => {
                tracing::warn!(%error, "cannot tell which identity rdfi acts as; it is protected only by its tags");
                Vec::new()
            }
        };
        Ok(Arc::new(Executor {
            bus: config.bus,
            provider: config.provider,
            journal: config.journal,
            limits: config.limits,
            retry: config.retry,
            own_identity,
            reverts: Semaphore::new(config.revert_concurrency.max(1)),
            active: Mutex::default(),
            tasks: TaskTracker::new(),
        }))
    }

    fn active(&self) -> MutexGuard<'_, HashMap<String, Active>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Schedules the revert of every open fault not held here: at its deadline, or `now`.
    async fn recover_open(self: &Arc<Self>, now: bool) -> Result<usize, ExecutorError> {
        let open = self.journal.open_faults().await?;
        let mut scheduled = 0;
        for record in open {
            if self.active().contains_key(&record.fault_instance_id) {
                continue;
            }
            let span = tracing::info_span!(
                "recover",
                run_id = %record.run_id,
                fault_instance_id = %record.fault_instance_id,
                fault_id = %record.fault_id,
            );
            span.in_scope(|| tracing::warn!(state = ?record.state, "open fault in the journal; scheduling its revert"));
            let revert_now = self.schedule_revert(record, span);
            if now {
                revert_now.cancel();
            }
            scheduled += 1;
        }
        Ok(scheduled)
    }

    /// Reverts open faults nobody here holds once their deadline is long past: the faults of a replica that
    /// is gone, and those whose revert failed before.
    async fn sweep(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
            }
            let overdue_before = now_ms() - SWEEP_GRACE.as_millis() as i64;
            match self.journal.open_faults().await {
                Ok(open) => {
                    for record in open
                        .into_iter()
                        .filter(|record| record.revert_due_at_ms < overdue_before)
                    {
                        if self.active().contains_key(&record.fault_instance_id) {
                            continue;
                        }
                        let span = tracing::warn_span!("sweep", fault_instance_id = %record.fault_instance_id);
                        self.schedule_revert(record, span).cancel();
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "cannot read the journal to sweep overdue faults")
                }
            }
        }
    }

    /// Every replica hears `safety.abort` through its own ephemeral consumer.
    async fn listen_for_aborts(self: Arc<Self>, shutdown: CancellationToken) {
        let name = format!("executor-abort-{}", events::new_id());
        let result = worker::consume(
            self.bus.clone(),
            ConsumerConfig::ephemeral(&name, &[subjects::SAFETY_ABORT]),
            shutdown,
            |event| {
                let executor = self.clone();
                async move {
                    if let Some(Payload::SafetyAbort(abort)) = event.payload {
                        let run_id =
                            Some(abort.run_id.as_str()).filter(|run_id| !run_id.is_empty());
                        ExecutorHandle(executor)
                            .abort(run_id, &abort.reason)
                            .await?;
                    }
                    Ok(())
                }
            },
        )
        .await;
        if let Err(error) = result {
            tracing::error!(%error, "cannot listen for safety.abort");
        }
    }

    async fn on_planned(
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
    async fn inject_with_retry(
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
    async fn reject(
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

    async fn injected(
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

    /// Reverts the fault at its deadline, or as soon as the returned token is cancelled.
    fn schedule_revert(
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
    async fn revert_all_now(&self, run_id: Option<&str>) -> u32 {
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

    async fn revert(&self, mut record: JournalRecord) {
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
    async fn restore(&self, record: &JournalRecord) -> Result<bool, String> {
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
