//! Does the work spread? A burst of N faults over a real nats-server, against a sandbox that answers the way a
//! cloud API does: every call after `LATENCY_MS`, and each caller (each executor, each monitor) at most `RATE`
//! calls a second, waiting for its turn as an SDK's client-side rate limiter makes it. The planner, analyzer
//! and knowledge run in one process; each executor and each monitor is an engine of its own with its own
//! rate, the executors sharing the journal in NATS. Prints one Markdown row: the wall time from submission to
//! the run's completion, faults a second, and how the injections split between the executors; fails unless
//! every planned fault was injected exactly once and reverted and verified.
//!
//! cargo run --release -p rdfi-tests --bin scale-bench -- [FAULTS] [EXECUTORS] [MONITORS] [LATENCY_MS] [RATE]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::CancellationToken;
use rdfi_core::bus::Bus;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::experiment;
use rdfi_executor::Journal;
use rdfi_executor::args::SafetyArgs;
use rdfi_executor::journal::nats::NatsJournal;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::exposure::{AnonymousAnswer, Canary, OutsiderRead};
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use rdfi_provider::{DetectionSignal, FaultOperations, Provider, Result, RevertCheck, Snapshot};
use rdfi_tests::NatsServer;

/// One caller's view of a rate-limited cloud API over the shared sandbox account.
struct Limited {
    inner: SandboxProvider,
    latency: Duration,
    interval: Duration,
    next_slot: tokio::sync::Mutex<tokio::time::Instant>,
    calls: AtomicU64,
    injections: AtomicU64,
}

impl Limited {
    fn new(account: Arc<SandboxAccount>, latency: Duration, rate: u32) -> Self {
        Limited {
            inner: SandboxProvider::new(account),
            latency,
            interval: Duration::from_secs(1) / rate.max(1),
            next_slot: tokio::sync::Mutex::new(tokio::time::Instant::now()),
            calls: AtomicU64::new(0),
            injections: AtomicU64::new(0),
        }
    }

    /// Waits for this caller's next slot, then for the API's answer.
    async fn call(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
        tokio::time::sleep(self.latency).await;
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl FaultOperations for Limited {
    fn supports(&self, fault_id: &str) -> bool {
        self.inner.faults().supports(fault_id)
    }
    async fn snapshot(&self, fault_id: &str, resource: &ResourceRef) -> Result<Snapshot> {
        self.call().await;
        self.inner.faults().snapshot(fault_id, resource).await
    }
    async fn inject(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()> {
        self.call().await;
        self.injections.fetch_add(1, Ordering::Relaxed);
        self.inner
            .faults()
            .inject(fault_id, resource, snapshot)
            .await
    }
    async fn revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()> {
        self.call().await;
        self.inner
            .faults()
            .revert(fault_id, resource, snapshot)
            .await
    }
    async fn check_revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<RevertCheck> {
        self.call().await;
        self.inner
            .faults()
            .check_revert(fault_id, resource, snapshot)
            .await
    }
    async fn is_present(&self, fault_id: &str, resource: &ResourceRef) -> Result<bool> {
        self.call().await;
        self.inner.faults().is_present(fault_id, resource).await
    }
    async fn misconfiguration(&self, fault_id: &str, resource: &ResourceRef) -> Result<usize> {
        self.call().await;
        self.inner
            .faults()
            .misconfiguration(fault_id, resource)
            .await
    }
    fn describe(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<String> {
        self.inner.faults().describe(fault_id, resource, snapshot)
    }
}

#[async_trait]
impl Provider for Limited {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn faults(&self) -> &dyn FaultOperations {
        self
    }
    async fn discover(&self, resource_type: &str) -> Result<Vec<ResourceRef>> {
        self.call().await;
        self.inner.discover(resource_type).await
    }
    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>> {
        self.call().await;
        self.inner.tags(resource).await
    }
    async fn caller_identity(&self) -> Result<Vec<String>> {
        self.inner.caller_identity().await
    }
    async fn place_canary(&self, resource: &ResourceRef, canary: &Canary) -> Result<()> {
        self.call().await;
        self.inner.place_canary(resource, canary).await
    }
    async fn read_anonymously(
        &self,
        resource: &ResourceRef,
        read: OutsiderRead,
        canary_key: &str,
    ) -> AnonymousAnswer {
        self.call().await;
        self.inner
            .read_anonymously(resource, read, canary_key)
            .await
    }
    async fn remove_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<()> {
        self.call().await;
        self.inner.remove_canary(resource, canary_key).await
    }
    async fn has_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<bool> {
        self.call().await;
        self.inner.has_canary(resource, canary_key).await
    }
    async fn security_findings(
        &self,
        resources: &[String],
        since: &str,
    ) -> Result<Vec<serde_json::Value>> {
        self.inner.security_findings(resources, since).await
    }
    fn detection_signals(&self) -> Option<tokio::sync::broadcast::Receiver<DetectionSignal>> {
        self.inner.detection_signals()
    }
}

fn experiment_for(faults: usize) -> String {
    rdfi_tests::bench_experiment(
        "scale-bench",
        "  provider: sandbox",
        &format!("  - id: aws.s3.bucket-versioning-suspended\n    maxTargets: {faults}"),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: u64| -> anyhow::Result<u64> {
        Ok(args
            .next()
            .map(|n| n.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let faults = usize::try_from(next(300)?)?;
    let executors = usize::try_from(next(1)?)?;
    let monitors = usize::try_from(next(1)?)?;
    let latency = Duration::from_millis(next(20)?);
    let rate = u32::try_from(next(100)?)?;
    anyhow::ensure!(
        executors >= 1 && monitors >= 1,
        "at least one executor and one monitor"
    );

    let nats = NatsServer::start();
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect(&nats.url).await?);
    let mut account = SandboxAccount::new();
    for index in 0..faults {
        account = account.with_resource(
            "aws.s3.bucket",
            &format!("scale-{index:06}"),
            BTreeMap::from([("rdfi-target".to_owned(), "true".to_owned())]),
        );
    }
    let account = Arc::new(account);
    let state = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let safety = SafetyArgs {
        max_active_faults: faults,
        max_active_per_run: faults,
        ..SafetyArgs::default()
    };
    let config = |services: &[&'static str], provider: Arc<dyn Provider>| EngineConfig {
        services: services.iter().copied().collect(),
        safety: safety.clone(),
        poll_interval: Duration::from_secs(1),
        ..EngineConfig::one_process(bus.clone(), provider, state.path().to_path_buf())
    };
    let unlimited: Arc<dyn Provider> = Arc::new(SandboxProvider::new(account.clone()));
    let mut engines = vec![
        Engine::start(
            config(&["analyzer", "knowledge", "planner"], unlimited),
            shutdown.clone(),
        )
        .await?,
    ];
    let context = NatsBus::connect(&nats.url).await?;
    let journal: Arc<dyn Journal> = Arc::new(NatsJournal::open(context.jetstream(), 1).await?);
    let mut callers = Vec::new();
    for service in
        std::iter::repeat_n("executor", executors).chain(std::iter::repeat_n("monitor", monitors))
    {
        let caller = Arc::new(Limited::new(account.clone(), latency, rate));
        callers.push((service, caller.clone()));
        let mut engine_config = config(&[service], caller);
        engine_config.journal = Some(journal.clone());
        engines.push(Engine::start(engine_config, shutdown.clone()).await?);
    }

    let spec = experiment::parse(&experiment_for(faults), "scale-bench")?;
    let run_id = rdfi_core::events::new_id();
    let started = Instant::now();
    engines[0].planner().submit_as(run_id.clone(), spec).await?;
    let run = engines[0]
        .wait_for_run(&run_id, Duration::from_secs(1800))
        .await?;
    let elapsed = started.elapsed();
    let verified = run
        .faults
        .iter()
        .filter(|fault| fault.revert_verified)
        .count();
    let injections: Vec<u64> = callers
        .iter()
        .filter(|(service, _)| *service == "executor")
        .map(|(_, caller)| caller.injections.load(Ordering::Relaxed))
        .collect();
    let calls: Vec<u64> = callers
        .iter()
        .map(|(_, caller)| caller.calls.load(Ordering::Relaxed))
        .collect();
    shutdown.cancel();
    for engine in engines {
        engine.stop().await?;
    }
    let joined = |values: &[u64]| {
        values
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" + ")
    };
    println!(
        "| {executors} | {monitors} | {faults} | {} ms, {rate}/s | {:.1} s | {:.1} | {} | {} |",
        latency.as_millis(),
        elapsed.as_secs_f64(),
        faults as f64 / elapsed.as_secs_f64(),
        joined(&injections),
        joined(&calls),
    );
    anyhow::ensure!(
        injections.iter().sum::<u64>() == faults as u64,
        "{} injection calls for {faults} planned faults",
        injections.iter().sum::<u64>()
    );
    anyhow::ensure!(
        run.faults.len() == faults && verified == faults,
        "{verified} of {} faults reverted and verified, {faults} planned",
        run.faults.len()
    );
    Ok(())
}
