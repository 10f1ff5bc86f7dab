//! The executor service (Execute): the only component that changes a cloud.
//!
//! Consumes `rdfi.v1.fault.planned` (durable consumer `executor`, shared by replicas) and `rdfi.v1.safety.abort`
//! (an ephemeral consumer per replica, so every replica hears it). Each fault goes through one pure state
//! machine ([`lifecycle::step`]): guard (blast radius, a fresh read of the tags, the caps over the shared
//! journal), snapshot, a durable journal claim of the fault and its resource, the mutating call, a timer, the
//! surgical revert at the deadline and its verification. This crate's worker only carries out the machine's
//! effects. Publishes `rdfi.v1.fault.injected`, `.prevented` (the cloud refused), `.rejected` (a guard,
//! precondition, busy resource or stop refused; nothing changed), `.exposure` (for a fault that makes data
//! public: the anonymous read of a canary object it placed, journalled first and removed with the revert),
//! `.reverted` or `.revert_failed` (kept open and retried).
//!
//! On start it replays its journal and schedules the revert of every open fault; a sweeper reverts open faults
//! whose deadline passed long ago (another replica's, with the shared journal). Abort (gRPC
//! `rdfi.v1.ExecutorService/Abort`, a `safety.abort` event, a stop condition) records a stop in the journal (no
//! new injection of that run, or of any run until `Resume`), then reverts and verifies every active fault,
//! including those claimed but not yet injected, before returning; SIGINT and SIGTERM revert everything too.

pub mod args;
mod audit;
mod drive;
mod exposure;
mod failpoint;
mod grpc;
pub mod guard;
mod inject;
pub mod journal;
pub mod lifecycle;
mod revert;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::grpc::{GrpcServeError, GrpcServer};
use rdfi_core::{CancellationToken, events, subjects, worker};
use rdfi_proto::now_millis as now_ms;
use rdfi_proto::v1::event::Payload;
pub use rdfi_provider::RetryPolicy;
use rdfi_provider::{Provider, with_retry};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

pub use guard::BlastRadius;
pub use journal::{FaultState, Journal, JournalError, JournalRecord, Stops};
use rdfi_provider::settings::ProviderTarget;

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
    #[error(
        "cannot tell which identity rdfi acts as ({0}); the executor refuses to start, since it could not keep itself out of its own faults"
    )]
    UnknownIdentity(String),
}

pub struct ExecutorConfig {
    pub bus: Arc<dyn Bus>,
    pub provider: Arc<dyn Provider>,
    pub journal: Arc<dyn Journal>,
    pub limits: BlastRadius,
    pub retry: RetryPolicy,
    /// Reverts running at once (abort of many faults).
    pub revert_concurrency: usize,
    /// Planned faults taken at once (snapshot, claim, injection), admitted one after another.
    pub inject_concurrency: usize,
    /// Where to serve `rdfi.v1.ExecutorService`; not served when `None`.
    pub grpc: Option<rdfi_core::grpc::Listen>,
    /// How the provider reaches the cloud, recorded with every fault for recovery; `None` records nothing.
    pub target: Option<ProviderTarget>,
}

/// A fault this executor is working on, from its admission to its close.
struct Active {
    run_id: String,
    /// Cancelled to abort: revert now, or as soon as an injection under way answers; never inject.
    revert_now: CancellationToken,
    /// Cancelled once the fault is closed here, or its revert failed after an abort.
    finished: CancellationToken,
}

struct Executor {
    bus: Arc<dyn Bus>,
    provider: Arc<dyn Provider>,
    journal: Arc<dyn Journal>,
    limits: BlastRadius,
    retry: RetryPolicy,
    own_identity: Vec<String>,
    /// Who makes the changes, in the audit trail.
    actor: String,
    target: Option<ProviderTarget>,
    reverts: Semaphore,
    /// Planned faults admitted by the guard whose claim is not written yet: the caps count them too.
    in_flight: Arc<Mutex<guard::InFlight>>,
    active: Mutex<HashMap<String, Active>>,
    tasks: TaskTracker,
    /// Cancelled when the executor stops: a fault whose revert then fails is left open in the journal for
    /// the next start (or `rdfi recover`) instead of being retried here.
    stopping: CancellationToken,
}

/// What an abort or a recovery achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevertOutcome {
    pub reverted: u32,
    pub still_open: u32,
}

impl std::fmt::Display for RevertOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reverted and verified {} fault(s); {} still open",
            self.reverted, self.still_open
        )
    }
}

/// Runs until `shutdown`, then reverts every active fault and returns what it reverted.
pub async fn run(
    config: ExecutorConfig,
    shutdown: CancellationToken,
) -> Result<RevertOutcome, ExecutorError> {
    let grpc_listen = config.grpc.clone();
    let inject_concurrency = config.inject_concurrency;
    let executor = Executor::start(config).await?;
    executor.recover_open(false, &|_| true).await?;
    let grpc = GrpcServer::spawn(
        grpc_listen,
        grpc::SERVICE_NAME,
        grpc::routes(ExecutorHandle(executor.clone())),
        shutdown.clone(),
    );
    let aborts = tokio::spawn(executor.clone().listen_for_aborts(shutdown.clone()));
    let sweeper = tokio::spawn(executor.clone().sweep(shutdown.clone()));
    let consumed = worker::consume_staged(
        executor.bus.clone(),
        ConsumerConfig::new(CONSUMER, &[subjects::FAULT_PLANNED]),
        shutdown.clone(),
        inject_concurrency,
        |event| {
            let executor = executor.clone();
            async move {
                let taken = match event.payload {
                    Some(Payload::FaultPlanned(planned)) => {
                        let planned_at_ms = event
                            .time
                            .as_ref()
                            .map(rdfi_proto::unix_millis)
                            .unwrap_or_default();
                        executor
                            .admit_planned(
                                &event.run_id,
                                &event.fault_instance_id,
                                planned_at_ms,
                                planned,
                            )
                            .await?
                    }
                    _ => None,
                };
                Ok(async move {
                    if let Some(taken) = taken {
                        executor.take_planned(taken).await;
                    }
                    Ok(())
                })
            }
        },
    )
    .await;
    shutdown.cancel();
    let _ = tokio::join!(aborts, sweeper);
    let outcome = executor.shut_down().await?;
    if outcome.reverted > 0 || outcome.still_open > 0 {
        tracing::warn!(%outcome, "executor stopped");
    }
    grpc.stop(&shutdown).await?;
    consumed?;
    Ok(outcome)
}

/// Reverts every open fault of the journal that `only` selects (all when `None`) now, whatever its deadline,
/// one attempt each (with its verification retries), and reports what is left open. Used by `rdfi recover`;
/// publishes the outcome of each fault on `bus`.
pub async fn recover(
    config: ExecutorConfig,
    only: Option<&(dyn Fn(&JournalRecord) -> bool + Sync)>,
) -> Result<RevertOutcome, ExecutorError> {
    let executor = Executor::start(config).await?;
    executor.stopping.cancel();
    let selected = |record: &JournalRecord| only.is_none_or(|only| only(record));
    let scheduled = executor.recover_open(true, &selected).await? as u32;
    executor.tasks.close();
    executor.tasks.wait().await;
    let still_open = executor
        .journal
        .open_faults()
        .await?
        .iter()
        .filter(|record| selected(record))
        .count() as u32;
    Ok(RevertOutcome {
        reverted: scheduled.saturating_sub(still_open),
        still_open,
    })
}

/// A handle on a running executor, for abort and inspection.
#[derive(Clone)]
pub struct ExecutorHandle(Arc<Executor>);

impl ExecutorHandle {
    /// Stops new injections of one run (or of every run, until [`ExecutorHandle::resume`]) in the journal,
    /// so that every executor sharing it holds them back, then reverts every active fault of that scope here
    /// (including those claimed but not yet injected) and waits until each is verified or failed.
    pub async fn abort(
        &self,
        run_id: Option<&str>,
        reason: &str,
    ) -> Result<RevertOutcome, ExecutorError> {
        tracing::warn!(run_id = run_id.unwrap_or("all"), %reason, "abort: stopping injections and reverting active faults");
        let stopped = self.0.journal.stop(run_id, reason).await;
        // Revert even when the stop could not be recorded; then report the failure.
        let reverted = self.0.revert_all_now(run_id).await;
        stopped?;
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

    /// Lifts every stop: injections go on again.
    pub async fn resume(&self) -> Result<(), ExecutorError> {
        tracing::warn!("injections resumed");
        Ok(self.0.journal.resume().await?)
    }

    /// The faults the journal holds open.
    pub async fn open_faults(&self) -> Result<Vec<JournalRecord>, ExecutorError> {
        Ok(self.0.journal.open_faults().await?)
    }
}

impl Executor {
    async fn start(config: ExecutorConfig) -> Result<Arc<Executor>, ExecutorError> {
        let own_identity = with_retry(&config.retry, "caller identity", || {
            config.provider.caller_identity()
        })
        .await
        .map_err(|error| ExecutorError::UnknownIdentity(error.to_string()))?;
        Ok(Arc::new(Executor {
            bus: config.bus,
            provider: config.provider,
            journal: config.journal,
            limits: config.limits,
            retry: config.retry,
            actor: audit::actor(&own_identity),
            own_identity,
            target: config.target,
            reverts: Semaphore::new(config.revert_concurrency.max(1)),
            in_flight: Arc::default(),
            active: Mutex::default(),
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
        }))
    }

    /// Reverts every active fault, once each, and waits for every fault task to end.
    async fn shut_down(&self) -> Result<RevertOutcome, ExecutorError> {
        self.stopping.cancel();
        let reverted = self.revert_all_now(None).await;
        self.tasks.close();
        self.tasks.wait().await;
        let still_open = self.journal.open_faults().await?.len() as u32;
        Ok(RevertOutcome {
            reverted: reverted.saturating_sub(still_open),
            still_open,
        })
    }

    pub(crate) fn active(&self) -> MutexGuard<'_, HashMap<String, Active>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drives every open fault of the journal that `selected` picks and nobody here holds: its revert at its
    /// deadline, or `now`.
    async fn recover_open(
        self: &Arc<Self>,
        now: bool,
        selected: &(dyn Fn(&JournalRecord) -> bool + Sync),
    ) -> Result<usize, ExecutorError> {
        let open = self.journal.open_faults().await?;
        let mut scheduled = 0;
        for record in open.into_iter().filter(|record| selected(record)) {
            let span = tracing::info_span!(
                "recover",
                run_id = %record.run_id,
                fault_instance_id = %record.fault_instance_id,
                fault_id = %record.fault_id,
            );
            span.in_scope(|| {
                tracing::warn!(
                    state = record.state.label(),
                    "open fault in the journal; scheduling its revert"
                )
            });
            if self.spawn_recovered(record, now, span) {
                scheduled += 1;
            }
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
                        let span = tracing::warn_span!("sweep", fault_instance_id = %record.fault_instance_id);
                        self.spawn_recovered(record, true, span);
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "cannot read the journal to sweep overdue faults")
                }
            }
            let forgotten_before = now_ms() - (STALE_PLAN + SWEEP_GRACE).as_millis() as i64;
            if let Err(error) = self.journal.compact(forgotten_before).await {
                tracing::warn!(%error, "cannot compact the journal");
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
}
