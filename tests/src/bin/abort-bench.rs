//! Abort with many active faults: injects N `aws.s3.bucket-public-acl` faults (exposure 10 minutes), then
//! stops the engine (what SIGTERM or `rdfi abort` does) and measures the time until every fault is reverted
//! and verified, with the executor's revert concurrency set to C.
//!
//! cargo run --release -p rdfi-tests --bin abort-bench -- N sandbox|moto C

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::{Bus, ConsumerConfig};
use rdfi_core::{CancellationToken, events, experiment, subjects};
use rdfi_executor::args::SafetyArgs;
use rdfi_provider::Provider;
use rdfi_provider::aws::AwsProvider;
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use rdfi_tests::MotoServer;
use rdfi_tests::aws::{clients, sdk_config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let faults: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let provider_kind = args.next().unwrap_or_else(|| "sandbox".to_owned());
    let concurrency: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(16);
    let names: Vec<String> = (0..faults)
        .map(|index| format!("abort-{index:06}"))
        .collect();
    let opted_in = BTreeMap::from([("rdfi-target".to_owned(), "true".to_owned())]);

    let mut moto = None;
    let mut sandbox = None;
    let provider: Arc<dyn Provider> = match provider_kind.as_str() {
        "sandbox" => {
            let mut account = SandboxAccount::new();
            for name in &names {
                account = account.with_resource("aws.s3.bucket", name, opted_in.clone());
            }
            let account = Arc::new(account);
            sandbox = Some(account.clone());
            Arc::new(SandboxProvider::new(account))
        }
        "moto" => {
            let server = MotoServer::start();
            let aws = clients(&server.endpoint).await;
            for name in &names {
                aws.create_bucket(name, &[("rdfi-target", "true")]).await;
            }
            let provider = AwsProvider::from_sdk_config(&sdk_config(&server.endpoint).await);
            moto = Some((server, aws));
            Arc::new(provider)
        }
        other => anyhow::bail!("provider is sandbox or moto, not {other}"),
    };
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let state = tempfile::tempdir()?;
    let engine = Engine::start(
        EngineConfig {
            safety: SafetyArgs {
                max_active_faults: faults,
                max_active_per_run: faults,
                revert_concurrency: concurrency,
                ..SafetyArgs::default()
            },
            poll_interval: Duration::from_secs(3600),
            ..EngineConfig::one_process(bus.clone(), provider, state.path().to_path_buf())
        },
        CancellationToken::new(),
    )
    .await?;
    let mut watch = bus
        .consume(ConsumerConfig::ephemeral(
            "abort-bench",
            &[subjects::FAULT_INJECTED],
        ))
        .await?;
    let spec = experiment::parse(
        &format!(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {{ name: abort-bench }}\ntarget: {{ provider: {} }}\n\
             faults: [{{ id: aws.s3.bucket-public-acl, maxTargets: {faults} }}]\n\
             hypothesis: {{ detect: {{ within: 10m }} }}\nsafety: {{ exposureWindow: 10m }}\n",
            if provider_kind == "moto" {
                "aws"
            } else {
                "sandbox"
            }
        ),
        "abort-bench",
    )?;
    engine.planner().submit_as(events::new_id(), spec).await?;
    let injecting = Instant::now();
    for _ in 0..faults {
        let delivery = tokio::time::timeout(Duration::from_secs(600), watch.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("watch ended"))??;
        delivery.ack().await?;
    }
    let injected_in = injecting.elapsed();
    let aborting = Instant::now();
    engine.stop().await?;
    let aborted_in = aborting.elapsed();
    if let Some(account) = &sandbox {
        for name in &names {
            anyhow::ensure!(
                !account.has_fault("aws.s3.bucket-public-acl", name),
                "{name} is still public"
            );
        }
    }
    if let Some((_server, aws)) = &moto {
        for name in &names {
            anyhow::ensure!(!aws.bucket_is_public(name).await, "{name} is still public");
        }
    }
    println!(
        "| {provider_kind} | {faults} | {concurrency} | {:.2} s | {:.2} s | {:.2} ms |",
        injected_in.as_secs_f64(),
        aborted_in.as_secs_f64(),
        aborted_in.as_secs_f64() * 1e3 / faults as f64,
    );
    Ok(())
}
