//! `campaign-bench [sandbox|moto] [SVG_DIR]`: how long a campaign takes against its attack rate and against
//! its number of faults (docs/benchmarks.md, "Campaign time"). All five services run in this process on the
//! in-process bus; each campaign is risk-ranked over the five public-storage faults on opted-in buckets, one
//! fault at a time (concurrency 1: each round waits for the previous one's verdict), a 1 ms exposure window and no
//! settle time, so a campaign's time is its pacing plus the engine's (and the cloud's) work per fault.
//!
//! Writes `campaign-time-vs-rate-TARGET.svg` and `campaign-time-vs-faults-TARGET.svg` into SVG_DIR (default
//! docs/) and prints the Markdown table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::bus::Bus;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::{CancellationToken, experiment};
use rdfi_executor::args::SafetyArgs;
use rdfi_proto::v1::{CampaignBudget, CampaignSpec};
use rdfi_provider::Provider;
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use rdfi_provider::settings::{Endpoints, ProviderTarget};
use rdfi_tests::MotoServer;
use rdfi_tests::chart::Series;

const BUCKETS: usize = 10;

fn experiment_yaml(provider: &str) -> String {
    rdfi_tests::bench_experiment(
        "campaign-bench",
        &format!("  provider: {provider}\n  region: us-east-1"),
        "  - glob: aws.s3.bucket-*",
    )
}

struct Target {
    provider: Arc<dyn Provider>,
    name: &'static str,
    endpoints: Option<ProviderTarget>,
    _moto: Option<MotoServer>,
}

async fn target(kind: &str) -> anyhow::Result<Target> {
    if kind == "moto" {
        let moto = MotoServer::start();
        let clients = rdfi_tests::aws::clients(&moto.endpoint).await;
        for index in 0..BUCKETS {
            clients
                .create_bucket(&format!("bench-{index:02}"), &[("rdfi-target", "true")])
                .await;
        }
        let target = ProviderTarget {
            provider: "aws".to_owned(),
            region: "us-east-1".to_owned(),
            endpoints: Endpoints {
                aws: Some(moto.endpoint.clone()),
                ..Default::default()
            },
        };
        return Ok(Target {
            provider: target.connect().await?,
            name: "moto",
            endpoints: Some(target),
            _moto: Some(moto),
        });
    }
    let mut account = SandboxAccount::new();
    for index in 0..BUCKETS {
        account = account.with_resource(
            "aws.s3.bucket",
            &format!("bench-{index:02}"),
            BTreeMap::from([("rdfi-target".to_owned(), "true".to_owned())]),
        );
    }
    Ok(Target {
        provider: Arc::new(SandboxProvider::new(Arc::new(account))),
        name: "sandbox",
        endpoints: None,
        _moto: None,
    })
}

/// One campaign of `faults` at `rate` per minute; its wall time.
async fn campaign(target: &Target, faults: u32, rate: f64) -> anyhow::Result<Duration> {
    let provider_name = if target.name == "moto" {
        "aws"
    } else {
        "sandbox"
    };
    let experiment = experiment::parse(&experiment_yaml(provider_name), "campaign-bench")?;
    let spec = CampaignSpec {
        name: "campaign-bench".to_owned(),
        strategy: "risk-ranked".to_owned(),
        seed: Some(1),
        budget: Some(CampaignBudget {
            faults,
            rate_per_minute: rate,
            concurrency: 1,
        }),
        experiment: Some(experiment),
        ..Default::default()
    };
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let state = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let engine = Engine::start(
        EngineConfig {
            safety: SafetyArgs::default(),
            poll_interval: Duration::from_millis(100),
            target: target.endpoints.clone(),
            ..EngineConfig::one_process(bus, target.provider.clone(), state.path().to_path_buf())
        },
        shutdown,
    )
    .await?;
    let campaigns = engine
        .campaigns()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no planner"))?;
    let started = Instant::now();
    let status = campaigns.submit(spec)?;
    let done = tokio::time::timeout(
        Duration::from_secs(600),
        campaigns.wait(&status.campaign_id),
    )
    .await??;
    let elapsed = started.elapsed();
    engine.stop().await?;
    anyhow::ensure!(
        done.faults_planned == faults,
        "planned {} of {faults} faults: {}",
        done.faults_planned,
        done.reason
    );
    Ok(elapsed)
}

/// Campaign time against `x_label`, with the ideal pacing (faults / rate) dashed beside it.
fn svg(title: &str, x_label: &str, points: &[(f64, f64, f64)]) -> String {
    rdfi_tests::chart::line_svg(
        title,
        x_label,
        "campaign time (s)",
        &[
            Series {
                label: "measured",
                color: "#1f6feb",
                dashed: false,
                points: points.iter().map(|p| (p.0, p.1)).collect(),
            },
            Series {
                label: "faults / rate",
                color: "#888",
                dashed: true,
                points: points.iter().map(|p| (p.0, p.2)).collect(),
            },
        ],
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "sandbox".to_owned());
    anyhow::ensure!(
        kind == "sandbox" || kind == "moto",
        "sandbox or moto, not {kind}"
    );
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| rdfi_tests::workspace_root().join("docs"));
    if kind == "moto" && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        // The SDK reads moto's test credentials from the environment, which a running process cannot safely
        // set for itself: run again with them.
        let status = std::process::Command::new(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .envs(MotoServer::client_env())
            .status()?;
        std::process::exit(status.code().unwrap_or(1));
    }
    let target = target(&kind).await?;
    println!("| target | faults | attack rate (per minute) | campaign time | faults / rate |");
    println!("|---|---|---|---|---|");
    let mut by_rate = Vec::new();
    for rate in [120.0, 240.0, 480.0, 960.0, 1920.0] {
        let faults = 40;
        let time = campaign(&target, faults, rate).await?.as_secs_f64();
        let ideal = f64::from(faults) * 60.0 / rate;
        println!(
            "| {} | {faults} | {rate} | {time:.2} s | {ideal:.2} s |",
            target.name
        );
        by_rate.push((rate, time, ideal));
    }
    let mut by_faults = Vec::new();
    for faults in [10, 20, 40, 80] {
        let rate = 960.0;
        let time = campaign(&target, faults, rate).await?.as_secs_f64();
        let ideal = f64::from(faults) * 60.0 / rate;
        println!(
            "| {} | {faults} | {rate} | {time:.2} s | {ideal:.2} s |",
            target.name
        );
        by_faults.push((f64::from(faults), time, ideal));
    }
    std::fs::write(
        dir.join(format!("campaign-time-vs-rate-{}.svg", target.name)),
        svg(
            &format!(
                "40 faults on {}: campaign time against attack rate",
                target.name
            ),
            "attack rate (faults per minute)",
            &by_rate,
        ),
    )?;
    std::fs::write(
        dir.join(format!("campaign-time-vs-faults-{}.svg", target.name)),
        svg(
            &format!(
                "960 faults a minute on {}: campaign time against faults",
                target.name
            ),
            "faults in the campaign",
            &by_faults,
        ),
    )?;
    Ok(())
}
