//! Engine overhead per fault: a campaign of N faults on the sandbox provider (no cloud latency), all five
//! services in this process, on the in-process bus or over a real nats-server. Reports, per fault, the time
//! from `fault.planned` to `analysis.verdict` (which includes the 1 ms exposure window, the snapshot, the
//! journal fsyncs, the inject, the revert and its verification), its p50 and p99, the campaign's faults per
//! second, and the process's peak memory.
//!
//! In `burst` mode one campaign plans all N faults at once (latency includes queueing behind the others); in
//! `serial` mode N campaigns of one fault run one after another (latency is one fault's own overhead).
//!
//! The executor takes up to INJECT_CONCURRENCY planned faults at once (`--inject-concurrency`, default 16; 1
//! takes them one at a time, as before it could take several).
//!
//! cargo run --release -p rdfi-tests --bin loop-bench -- [FAULTS] [memory|nats] [burst|serial] [INJECT_CONCURRENCY]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::bus::{Bus, ConsumerConfig};
use rdfi_core::{CancellationToken, events, experiment, subjects};
use rdfi_executor::args::SafetyArgs;
use rdfi_proto::v1::event::Payload;
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use rdfi_tests::NatsServer;
use rdfi_tests::measure::percentile;

fn experiment_for(faults: usize) -> String {
    rdfi_tests::bench_experiment(
        "loop-bench",
        "  provider: sandbox",
        &format!("  - id: aws.s3.bucket-public-acl\n    maxTargets: {faults}"),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let faults: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1_000);
    let bus_kind = args.next().unwrap_or_else(|| "memory".to_owned());
    let mode = args.next().unwrap_or_else(|| "burst".to_owned());
    anyhow::ensure!(
        mode == "burst" || mode == "serial",
        "mode is burst or serial, not {mode}"
    );
    let inject_concurrency: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(16);
    let per_run = if mode == "serial" { 1 } else { faults };
    let nats = (bus_kind == "nats").then(NatsServer::start);
    let bus: Arc<dyn Bus> = match &nats {
        Some(server) => Arc::new(NatsBus::connect(&server.url).await?),
        None => Arc::new(MemoryBus::new()),
    };
    let mut account = SandboxAccount::new();
    for index in 0..faults {
        account = account.with_resource(
            "aws.s3.bucket",
            &format!("bench-{index:06}"),
            BTreeMap::from([("rdfi-target".to_owned(), "true".to_owned())]),
        );
    }
    let state = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let mut engine = Engine::start(
        EngineConfig {
            safety: SafetyArgs {
                max_active_faults: faults,
                max_active_per_run: faults,
                inject_concurrency,
                ..SafetyArgs::default()
            },
            ..EngineConfig::one_process(
                bus.clone(),
                Arc::new(SandboxProvider::new(Arc::new(account))),
                state.path().to_path_buf(),
            )
        },
        shutdown.clone(),
    )
    .await?;
    let mut watch = bus
        .consume(ConsumerConfig::ephemeral(
            "loop-bench",
            &[subjects::FAULT_PLANNED, subjects::ANALYSIS_VERDICT],
        ))
        .await?;
    let spec = experiment::parse(&experiment_for(per_run), "loop-bench")?;
    let started = Instant::now();
    let mut planned_at = HashMap::new();
    let mut latencies = Vec::with_capacity(faults);
    let mut verified = 0;
    for _ in 0..faults / per_run {
        let run_id = events::new_id();
        engine
            .planner()
            .submit_as(run_id.clone(), spec.clone())
            .await?;
        let target = latencies.len() + per_run;
        while latencies.len() < target {
            let delivery = tokio::time::timeout(Duration::from_secs(300), watch.next())
                .await?
                .ok_or_else(|| anyhow::anyhow!("watch ended"))??;
            let now = Instant::now();
            match &delivery.event.payload {
                Some(Payload::FaultPlanned(_)) => {
                    planned_at.insert(delivery.event.fault_instance_id.clone(), now);
                }
                Some(Payload::VerdictReached(_)) => {
                    if let Some(planned) = planned_at.get(&delivery.event.fault_instance_id) {
                        latencies.push(now - *planned);
                    }
                }
                _ => {}
            }
            delivery.ack().await?;
        }
        let run = engine
            .wait_for_run(&run_id, Duration::from_secs(300))
            .await?;
        verified += run
            .faults
            .iter()
            .filter(|fault| fault.revert_verified)
            .count();
    }
    let elapsed = started.elapsed();
    engine.stop().await?;
    latencies.sort();
    println!(
        "| {bus_kind} | {mode}{} | {faults} | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} | {} MiB |",
        if inject_concurrency == 16 {
            String::new()
        } else {
            format!(", {inject_concurrency} at once")
        },
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        faults as f64 / elapsed.as_secs_f64(),
        rdfi_tests::peak_memory_kib().unwrap_or(0) / 1024,
    );
    anyhow::ensure!(
        verified == faults,
        "only {verified} of {faults} faults were reverted and verified"
    );
    Ok(())
}
