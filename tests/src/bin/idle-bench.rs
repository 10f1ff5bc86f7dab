//! `idle-bench [IDLE_SECONDS]`: each service's own cost when nothing happens. The five service binaries
//! (`rdfi-knowledge`, `rdfi-planner`, `rdfi-executor`, `rdfi-monitor`, `rdfi-analyzer`, release builds beside
//! this one) start one after another into one cluster over a real nats-server, against moto; for each, the time
//! from spawning it to its health port reporting ready, and, once all five have idled IDLE_SECONDS (default 5),
//! its resident memory then and its peak.
//!
//! `cargo build --release -p rdfi-cli -p rdfi-tests --bins && target/release/idle-bench`

use std::time::{Duration, Instant};

use rdfi_tests::measure::status_kib;
use rdfi_tests::{MotoServer, NatsServer, Process, free_port, ready, sibling_binary};

const SERVICES: [&str; 5] = ["knowledge", "planner", "executor", "monitor", "analyzer"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let idle: u64 = std::env::args()
        .nth(1)
        .map(|seconds| seconds.parse())
        .transpose()?
        .unwrap_or(5);
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let state = tempfile::tempdir()?;
    let knowledge_port = free_port();
    let listen = |port: u16| format!("127.0.0.1:{port}");
    let shared = [
        ("--nats", nats.url.clone()),
        ("--knowledge-listen", listen(knowledge_port)),
        (
            "--knowledge-url",
            format!("http://{}", listen(knowledge_port)),
        ),
        ("--planner-listen", listen(free_port())),
        ("--webhook-listen", listen(free_port())),
        ("--executor-listen", listen(free_port())),
        ("--state-dir", state.path().display().to_string()),
        ("--provider", "aws".to_owned()),
        ("--aws-endpoint", moto.endpoint.clone()),
    ];
    let mut env = moto.process_env();
    env.retain(|(key, _)| key != "RUST_LOG");
    env.push(("RUST_LOG".to_owned(), "warn".to_owned()));
    let mut running: Vec<(&str, Process, Duration)> = Vec::new();
    for service in SERVICES {
        let health = free_port();
        let args: Vec<String> = shared
            .iter()
            .cloned()
            .chain([("--health-listen", listen(health))])
            .flat_map(|(flag, value)| [flag.to_owned(), value])
            .collect();
        let started = Instant::now();
        let mut process = Process::spawn(&sibling_binary(&format!("rdfi-{service}")), &args, &env);
        loop {
            if ready(health).await == Some(true) {
                break;
            }
            anyhow::ensure!(
                process.is_running() && started.elapsed() < Duration::from_secs(60),
                "rdfi-{service} did not become ready:\n{}",
                process.log()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        running.push((service, process, started.elapsed()));
    }
    tokio::time::sleep(Duration::from_secs(idle)).await;
    println!(
        "| service | start to ready | resident memory after {idle} s idle | peak resident memory |"
    );
    println!("|---|---|---|---|");
    for (service, process, to_ready) in &running {
        let kib = |field| status_kib(process.pid(), field).unwrap_or(0) as f64 / 1024.0;
        println!(
            "| {service} | {:.0} ms | {:.1} MiB | {:.1} MiB |",
            to_ready.as_secs_f64() * 1e3,
            kib("VmRSS"),
            kib("VmHWM")
        );
    }
    Ok(())
}
