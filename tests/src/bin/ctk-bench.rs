//! `ctk-bench [ROUNDS]`: rdfi side by side with Chaos Toolkit (chaostoolkit-aws) for the same 20 changes on the
//! same kind of fresh moto_server: versioning suspended on 10 S3 buckets and AdministratorAccess attached to 10
//! IAM roles, each put back. Runs alternate, rdfi then Chaos Toolkit, ROUNDS times (default 3: A B A B A B),
//! each against a moto of its own prepared the same way.
//!
//! - rdfi: `rdfi run tests/bench/rdfi-20-changes.yaml` (the two faults, a 1 ms exposure window): each change
//!   is snapshotted, journalled, injected, reverted and its revert verified by a read.
//! - Chaos Toolkit: `chaos run tests/bench/chaostoolkit-20-changes.json`: 20 actions, then their 20 rollbacks.
//!
//! Every call goes through a recording proxy to moto ([`rdfi_tests::proxy`]): the calls each tool made, and
//! how long moto took to answer them (the sum, and the time moto was busy with at least one). Wall time and
//! peak memory are the tool's process's own (GNU time's reading of `wait4`). After each run an independent read of all 20
//! resources must equal the read before it: both tools must leave everything as it was.
//!
//! Needs `scripts/test-deps.sh servers chaostoolkit`, and the release `rdfi` beside this binary:
//! `cargo build --release --workspace --bins` (or `scripts/bench.sh`, which runs this among the others).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rdfi_proto::v1::ResourceRef;
use rdfi_tests::aws::{Clients, clients};
use rdfi_tests::conformance::{AwsCase, aws_cases};
use rdfi_tests::measure::{self, Measured};
use rdfi_tests::proxy::{Behaviour, Call, Proxy};
use rdfi_tests::{MotoServer, sibling_binary, tools, workspace_root};
use serde_json::Value;

const PER_FAULT: usize = 10;
const FAULTS: [(&str, &str); 2] = [
    ("aws.s3.bucket-versioning-suspended", "bench-bucket"),
    ("aws.iam.role-admin-policy-attached", "bench-role"),
];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tool {
    Rdfi,
    ChaosToolkit,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Rdfi => "rdfi",
            Tool::ChaosToolkit => "Chaos Toolkit",
        }
    }
}

/// One run of one tool.
struct Sample {
    tool: Tool,
    measured: Measured,
    calls: Vec<Call>,
    /// Sum of moto's answer times.
    service: Duration,
    /// The time moto was answering at least one call.
    busy: Duration,
}

/// The 20 resources on a fresh moto, prepared as the conformance suite prepares them, with their state.
struct Estate {
    moto: MotoServer,
    aws: Clients,
    resources: Vec<(Box<dyn AwsCase>, ResourceRef, Value)>,
}

async fn estate() -> anyhow::Result<Estate> {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let mut resources = Vec::new();
    for (fault, prefix) in FAULTS {
        for index in 0..PER_FAULT {
            let case = aws_cases()
                .into_iter()
                .find(|case| case.fault_id() == fault)
                .ok_or_else(|| anyhow::anyhow!("no conformance case for {fault}"))?;
            let resource = case.prepare(&aws, &format!("{prefix}-{index:02}")).await;
            let state = case.read(&aws, &resource).await;
            resources.push((case, resource, state));
        }
    }
    Ok(Estate {
        moto,
        aws,
        resources,
    })
}

impl Estate {
    /// Fails unless every resource reads as it did before the run.
    async fn check_restored(&self, tool: Tool) -> anyhow::Result<()> {
        for (case, resource, before) in &self.resources {
            let after = case.read(&self.aws, resource).await;
            anyhow::ensure!(
                &after == before,
                "{} left {} ({}) changed:\nbefore {before}\nafter  {after}",
                tool.name(),
                resource.id,
                case.fault_id()
            );
        }
        Ok(())
    }
}

fn bench_file(name: &str) -> std::path::PathBuf {
    workspace_root().join("tests/bench").join(name)
}

fn command(tool: Tool, endpoint: &str, dir: &Path) -> Command {
    match tool {
        Tool::Rdfi => {
            let mut command = measure::timed(&sibling_binary("rdfi"), dir);
            command
                .arg("run")
                .arg(bench_file("rdfi-20-changes.yaml"))
                .args(["--aws-endpoint", endpoint, "--format", "json"])
                .arg("--state-dir")
                .arg(dir.join("state"))
                .envs(MotoServer::client_env())
                .env("RUST_LOG", "warn")
                .env("HOME", dir);
            command
        }
        Tool::ChaosToolkit => {
            let mut command = measure::timed(&tools::set_program("chaostoolkit", "chaos"), dir);
            command
                .args(["--no-version-check", "--no-log-file", "--settings"])
                .arg(dir.join("settings.yaml"))
                .args(["run", "--rollback-strategy", "always", "--journal-path"])
                .arg(dir.join("journal.json"))
                .arg(bench_file("chaostoolkit-20-changes.json"))
                .envs(tools::tool_env(endpoint, dir))
                .current_dir(dir);
            command
        }
    }
}

/// Fails unless the tool says it made and undid every change.
fn check_report(tool: Tool, dir: &Path, stdout: &str) -> anyhow::Result<()> {
    match tool {
        Tool::Rdfi => {
            let report: Value = serde_json::from_str(stdout).map_err(|error| {
                anyhow::anyhow!("rdfi printed no JSON report ({error}): {stdout}")
            })?;
            let faults = report["faults"].as_array().cloned().unwrap_or_default();
            let verified = faults
                .iter()
                .filter(|fault| fault["revertVerified"] == true && fault["injected"] != false)
                .count();
            anyhow::ensure!(
                verified == FAULTS.len() * PER_FAULT,
                "rdfi verified {verified} of {} reverts: {report:#}",
                FAULTS.len() * PER_FAULT
            );
        }
        Tool::ChaosToolkit => {
            let journal: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("journal.json"))?)?;
            let succeeded = |key: &str| {
                journal[key]
                    .as_array()
                    .map(|runs| {
                        runs.iter()
                            .filter(|run| run["status"] == "succeeded")
                            .count()
                    })
                    .unwrap_or(0)
            };
            anyhow::ensure!(
                journal["status"] == "completed"
                    && succeeded("run") == FAULTS.len() * PER_FAULT
                    && succeeded("rollbacks") == FAULTS.len() * PER_FAULT,
                "Chaos Toolkit did not complete its 20 actions and 20 rollbacks: status {}, {} actions, {} rollbacks",
                journal["status"],
                succeeded("run"),
                succeeded("rollbacks")
            );
        }
    }
    Ok(())
}

/// The calls that make the 20 changes and undo them must all be there, for either tool.
fn check_calls(tool: Tool, calls: &[Call]) -> anyhow::Result<()> {
    let count = |operation: &str| {
        calls
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    };
    for (operation, expected) in [
        ("s3:PUT ?versioning", 2 * PER_FAULT),
        ("iam:AttachRolePolicy", PER_FAULT),
        ("iam:DetachRolePolicy", PER_FAULT),
    ] {
        anyhow::ensure!(
            count(operation) >= expected,
            "{} made {} {operation} calls, fewer than the {expected} the changes take",
            tool.name(),
            count(operation)
        );
    }
    Ok(())
}

async fn sample(tool: Tool) -> anyhow::Result<Sample> {
    let estate = estate().await?;
    let proxy = Proxy::start(&estate.moto.endpoint, Behaviour::Forward).await;
    let dir = tempfile::tempdir()?;
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    let mut command = command(tool, &proxy.url, dir.path());
    command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    let scratch = dir.path().to_path_buf();
    let measured =
        tokio::task::spawn_blocking(move || measure::run(&mut command, &scratch)).await??;
    let stdout = std::fs::read_to_string(&stdout_path)?;
    let stderr = std::fs::read_to_string(&stderr_path)?;
    // rdfi exits 1 here: no control is deployed, so every detection hypothesis fails as it should.
    let expected_code = if tool == Tool::Rdfi { 1 } else { 0 };
    anyhow::ensure!(
        measured.status.code() == Some(expected_code),
        "{} exited with {} (expected {expected_code}):\n{stdout}\n{stderr}",
        tool.name(),
        measured.status
    );
    check_report(tool, dir.path(), &stdout)?;
    let calls = proxy.calls();
    check_calls(tool, &calls)?;
    estate.check_restored(tool).await?;
    Ok(Sample {
        tool,
        measured,
        service: calls.iter().map(|call| call.upstream).sum(),
        busy: measure::covered(
            calls
                .iter()
                .map(|call| (call.sent, call.sent + call.upstream)),
        ),
        calls,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    measure::percentile(&values, 0.5)
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|rounds| rounds.parse())
        .transpose()?
        .unwrap_or(3);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for tool in [Tool::Rdfi, Tool::ChaosToolkit] {
            samples.push(sample(tool).await?);
        }
    }
    println!(
        "| run | tool | wall time | peak memory | API calls | moto's answers (sum) | moto busy | wall / moto busy |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (index, sample) in samples.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} |",
            index + 1,
            sample.tool.name(),
            ms(sample.measured.wall),
            mib(sample.measured.peak_kib),
            sample.calls.len(),
            ms(sample.service),
            ms(sample.busy),
            sample.measured.wall.as_secs_f64() / sample.busy.as_secs_f64()
        );
    }
    let of = |tool: Tool, value: fn(&Sample) -> f64| {
        median(
            samples
                .iter()
                .filter(|sample| sample.tool == tool)
                .map(value)
                .collect(),
        )
    };
    let wall = |sample: &Sample| sample.measured.wall.as_secs_f64();
    let peak = |sample: &Sample| sample.measured.peak_kib as f64;
    let busy_of = |sample: &Sample| sample.busy.as_secs_f64();
    println!();
    println!("| median of {rounds} runs | rdfi | Chaos Toolkit | rdfi / Chaos Toolkit |");
    println!("|---|---|---|---|");
    println!(
        "| wall time | {:.0} ms | {:.0} ms | {:.2} |",
        of(Tool::Rdfi, wall) * 1e3,
        of(Tool::ChaosToolkit, wall) * 1e3,
        of(Tool::Rdfi, wall) / of(Tool::ChaosToolkit, wall)
    );
    println!(
        "| peak memory | {:.0} MiB | {:.0} MiB | {:.2} |",
        of(Tool::Rdfi, peak) / 1024.0,
        of(Tool::ChaosToolkit, peak) / 1024.0,
        of(Tool::Rdfi, peak) / of(Tool::ChaosToolkit, peak)
    );
    println!(
        "| wall time / moto busy | {:.2} | {:.2} | |",
        of(Tool::Rdfi, wall) / of(Tool::Rdfi, busy_of),
        of(Tool::ChaosToolkit, wall) / of(Tool::ChaosToolkit, busy_of),
    );
    println!();
    println!("| API call (last run of each) | rdfi | Chaos Toolkit |");
    println!("|---|---|---|");
    let mut counts: BTreeMap<&str, [usize; 2]> = BTreeMap::new();
    for tool in [Tool::Rdfi, Tool::ChaosToolkit] {
        let last = samples
            .iter()
            .rev()
            .find(|sample| sample.tool == tool)
            .expect("a run of each tool");
        for call in &last.calls {
            counts.entry(&call.operation).or_default()[tool as usize] += 1;
        }
    }
    for (operation, [rdfi, ctk]) in &counts {
        println!("| `{operation}` | {rdfi} | {ctk} |");
    }
    Ok(())
}
