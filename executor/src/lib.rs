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
mod inject;
pub mod journal;
mod revert;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::grpc::{GrpcServeError, GrpcServer};
use rdfi_core::{CancellationToken, events, subjects, worker};
use rdfi_proto::v1::event::Payload;
use rdfi_provider::Provider;
pub use rdfi_provider::RetryPolicy;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

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
}
