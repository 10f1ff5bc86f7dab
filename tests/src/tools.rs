//! Real third-party security tools as the controls of end-to-end tests, each from its own venv
//! (`scripts/test-deps.sh custodian prowler`, installed on first use), pointed at moto through
//! `AWS_ENDPOINT_URL`:
//!
//! - [`CustodianSchedule`]: Cloud Custodian's `custodian run` started every few seconds, as cron starts it, a
//!   corrective control; stopped when dropped.
//! - [`Prowler::scan`]: one Prowler scan writing OCSF JSON, the file a detector posts to the monitor's webhook.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use tokio::task::JoinHandle;

use crate::{MotoServer, aws, installed, workspace_root};

/// A real tool's program, `scripts/test-deps.sh TOOL` having installed `.venv-tools/TOOL` (`RDFI_TOOLS_VENV`
/// moves `.venv-tools`).
pub fn tool_program(tool: &'static str) -> PathBuf {
    set_program(tool, tool)
}

/// `program` of the venv `scripts/test-deps.sh SET` installs (`.venv-tools/SET`).
pub fn set_program(set: &'static str, program: &str) -> PathBuf {
    installed(set, tools_dir().join(set))
        .join("bin")
        .join(program)
}

fn tools_dir() -> PathBuf {
    std::env::var_os("RDFI_TOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-tools"))
}

/// The Python of a tool set's venv (`scripts/test-deps.sh SET` installs `.venv-tools/SET`), for the test
/// scripts that use its packages.
pub fn tool_python(set: &'static str) -> PathBuf {
    set_program(set, "python")
}

/// The environment a Python AWS tool needs to work against `endpoint` (moto, or a proxy to it) only: test
/// credentials, the region, the endpoint, and no shared AWS configuration from the machine.
pub fn tool_env(endpoint: &str, home: &Path) -> Vec<(String, String)> {
    let mut env = MotoServer::client_env();
    env.extend(
        [
            ("AWS_DEFAULT_REGION", aws::REGION.to_owned()),
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
            (
                "AWS_CONFIG_FILE",
                home.join("aws-config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                home.join("aws-credentials").display().to_string(),
            ),
            ("HOME", home.display().to_string()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value)),
    );
    env
}

/// One `custodian run` of a [`CustodianSchedule`].
struct CustodianRun {
    /// Exit status and output.
    log: String,
    /// The names of the resources the policy matched (and so acted on), from the run's `resources.json`.
    matched: Vec<String>,
}

/// Cloud Custodian run as a scheduled job: `custodian run --cache-period 0 -s OUT policy.yml`, started
/// again `every` interval after the last run ended, until dropped (a run in progress is killed).
pub struct CustodianSchedule {
    task: JoinHandle<()>,
    runs: Arc<Mutex<Vec<CustodianRun>>>,
    _dir: TempDir,
}

impl CustodianSchedule {
    /// Schedules the policy file `policy` (Custodian's YAML, one policy) against `moto`.
    pub fn start(moto: &MotoServer, policy: &str, every: Duration) -> CustodianSchedule {
        let custodian = tool_program("custodian");
        let dir = tempfile::tempdir().expect("a directory for Custodian");
        let policy_file = dir.path().join("policy.yml");
        std::fs::write(&policy_file, policy).expect("the policy file is written");
        let env = tool_env(&moto.endpoint, dir.path());
        let runs = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&runs);
        let root = dir.path().to_path_buf();
        let task = tokio::spawn(async move {
            for run in 1.. {
                let output_dir = root.join(format!("run-{run}"));
                let output = tokio::process::Command::new(&custodian)
                    .args(["run", "--cache-period", "0", "-s"])
                    .arg(&output_dir)
                    .arg(&policy_file)
                    .envs(env.iter().map(|(key, value)| (key, value)))
                    .stdin(Stdio::null())
                    .kill_on_drop(true)
                    .output()
                    .await
                    .expect("custodian runs");
                let record = CustodianRun {
                    log: format!(
                        "run {run}: {}\n{}{}",
                        output.status,
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    ),
                    matched: matched_resources(&output_dir),
                };
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(record);
                tokio::time::sleep(every).await;
            }
        });
        CustodianSchedule {
            task,
            runs,
            _dir: dir,
        }
    }

    /// How many runs have ended.
    pub fn runs(&self) -> usize {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The resources any run matched (and acted on), by name, in the order seen.
    pub fn matched(&self) -> Vec<String> {
        let runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = Vec::new();
        for name in runs.iter().flat_map(|run| &run.matched) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// Every run's exit status and output.
    pub fn log(&self) -> String {
        let runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.iter().map(|run| run.log.as_str()).collect()
    }
}

impl Drop for CustodianSchedule {
    fn drop(&mut self) {
        self.task.abort();
        if std::thread::panicking() {
            eprintln!("----- custodian runs -----\n{}", self.log());
        }
    }
}

/// The `Name`s in each policy's `resources.json` under a `custodian run -s` output directory.
fn matched_resources(output_dir: &Path) -> Vec<String> {
    let Ok(policies) = std::fs::read_dir(output_dir) else {
        return Vec::new();
    };
    policies
        .flatten()
        .filter_map(|policy| std::fs::read(policy.path().join("resources.json")).ok())
        .filter_map(|json| serde_json::from_slice::<Vec<Value>>(&json).ok())
        .flatten()
        .filter_map(|resource| resource["Name"].as_str().map(str::to_owned))
        .collect()
}

/// What one Prowler scan left.
pub struct ProwlerScan {
    /// Prowler's exit code: 3 when failed findings exist, 0 when none.
    pub code: Option<i32>,
    /// The OCSF JSON file Prowler wrote, exactly as written.
    pub ocsf: Vec<u8>,
    /// Prowler's output, for failure messages.
    pub log: String,
}

impl ProwlerScan {
    /// The findings of the OCSF file.
    pub fn findings(&self) -> Vec<Value> {
        serde_json::from_slice(&self.ocsf).expect("Prowler's OCSF output is a JSON array")
    }
}

/// Prowler, installed: install it before a fault is injected, as the install takes minutes.
pub struct Prowler {
    program: PathBuf,
}

impl Prowler {
    pub fn installed() -> Prowler {
        Prowler {
            program: tool_program("prowler"),
        }
    }

    /// Runs `prowler aws --no-banner -f REGION -c CHECKS -M json-ocsf -o DIR -F scan` against `moto`, and
    /// reads the OCSF file it wrote, `DIR/scan.ocsf.json`.
    pub async fn scan(&self, moto: &MotoServer, checks: &[&str]) -> ProwlerScan {
        let dir = tempfile::tempdir().expect("a directory for Prowler");
        let output = tokio::process::Command::new(&self.program)
            .args(["aws", "--no-banner", "-f", aws::REGION, "-c"])
            .args(checks)
            .args(["-M", "json-ocsf", "-o"])
            .arg(dir.path())
            .args(["-F", "scan"])
            .envs(tool_env(&moto.endpoint, dir.path()))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("prowler runs");
        let log = format!(
            "{}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let file = dir.path().join("scan.ocsf.json");
        let ocsf = std::fs::read(&file)
            .unwrap_or_else(|error| panic!("Prowler wrote no {}: {error}\n{log}", file.display()));
        ProwlerScan {
            code: output.status.code(),
            ocsf,
            log,
        }
    }
}
