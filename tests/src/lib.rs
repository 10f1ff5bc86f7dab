//! The test harness: real servers on 127.0.0.1 at ports chosen at run time, stopped when dropped.
//!
//! - [`NatsServer`]: nats-server with JetStream, in a temporary store directory.
//! - [`MotoServer`]: moto_server with AWS managed policies loaded.
//! - [`gcs::GcsEmulator`]: gcp-storage-emulator, in memory.
//! - [`gcplocal::GcpLocal`]: gcplocal (Resource Manager, IAM, Compute Engine), in memory.
//! - [`postgres::Postgres`]: a PostgreSQL database of the test's own, on a server of its own.
//! - [`Process`]: an rdfi binary as a child process, killed on drop, its log kept and printed when a test fails.
//! - [`control`]: stand-in detective and corrective controls that watch a resource through the AWS SDK.
//! - [`tools`]: real ones, Cloud Custodian on a schedule and Prowler scans, from their own venvs.
//!
//! nats-server and moto_server come from the project's venv (`scripts/test-deps.sh`), installed on first use.

pub mod aws;
pub mod chart;
pub mod cluster;
pub mod conformance;
pub mod control;
pub mod gcplocal;
pub mod gcs;
pub mod measure;
pub mod postgres;
pub mod proxy;
pub mod sandbox;
pub mod tls;
pub mod tools;

use std::collections::BTreeSet;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// A program from the project's test venv, installed by `scripts/test-deps.sh` the first time it is needed.
pub fn venv_program(name: &str) -> PathBuf {
    let venv = std::env::var_os("RDFI_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"));
    installed("servers", venv).join("bin").join(name)
}

/// `venv`, once `scripts/test-deps.sh SET` has installed it in this test process.
pub(crate) fn installed(set: &'static str, venv: PathBuf) -> PathBuf {
    static INSTALLED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    // Held while installing: a second test waits for the first install instead of running the script again.
    let mut sets = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if !sets.contains(set) {
        let status = Command::new(workspace_root().join("scripts/test-deps.sh"))
            .arg(set)
            .status()
            .expect("scripts/test-deps.sh runs");
        assert!(
            status.success(),
            "scripts/test-deps.sh {set} failed: {status}"
        );
        sets.insert(set);
    }
    venv
}

/// An rdfi binary of this workspace (`rdfi`, `rdfi-executor`, ...), built by `cargo build --workspace --bins`.
/// Refuses a binary older than the newest source file: a test must not pass against yesterday's code.
pub fn rdfi_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    fresh_binary(target.join("debug").join(name))
}

/// An rdfi binary built beside the running one (a load binary in target/release runs the release `rdfi`),
/// refused when older than the newest source, as [`rdfi_binary`] does.
pub fn sibling_binary(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("the running binary's path");
    fresh_binary(me.with_file_name(name))
}

fn fresh_binary(path: PathBuf) -> PathBuf {
    let built = std::fs::metadata(&path).and_then(|metadata| metadata.modified()).unwrap_or_else(|_| {
        panic!(
            "{} is missing: build the binaries first (scripts/test.sh does: cargo build --workspace --bins)",
            path.display()
        )
    });
    if let Some(source) = newest_source().filter(|(modified, _)| *modified > built) {
        panic!(
            "{} is older than {}: rebuild the binaries (cargo build --workspace --bins)",
            path.display(),
            source.1.display()
        );
    }
    path
}

/// The most recently modified source the binaries are compiled from (Rust, proto, embedded YAML). Manifests
/// are left out: a metadata edit changes no binary, so cargo does not relink it.
fn newest_source() -> Option<(std::time::SystemTime, PathBuf)> {
    static NEWEST: OnceLock<Option<(std::time::SystemTime, PathBuf)>> = OnceLock::new();
    NEWEST
        .get_or_init(|| {
            let root = workspace_root();
            let mut newest = None;
            let mut pending: Vec<PathBuf> = [
                "core",
                "proto",
                "provider",
                "planner",
                "executor",
                "monitor",
                "analyzer",
                "knowledge",
                "cli",
            ]
            .iter()
            .map(|crate_dir| root.join(crate_dir))
            .collect();
            while let Some(dir) = pending.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        pending.push(path);
                        continue;
                    }
                    // Test modules (`tests.rs`, a crate's `tests/`) are not in the binaries: cargo does not
                    // relink a binary when only they change.
                    let test_only = path.file_name().is_some_and(|name| name == "tests.rs")
                        || path.strip_prefix(&root).is_ok_and(|inside| {
                            inside.components().any(|part| part.as_os_str() == "tests")
                        });
                    let source = !test_only
                        && path
                            .extension()
                            .is_some_and(|ext| ext == "rs" || ext == "proto" || ext == "yaml");
                    let modified = entry.metadata().and_then(|metadata| metadata.modified());
                    if let (true, Ok(modified)) = (source, modified)
                        && newest.as_ref().is_none_or(|(time, _)| modified > *time)
                    {
                        newest = Some((modified, path));
                    }
                }
            }
            newest
        })
        .clone()
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Waits until something accepts connections on the port.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub async fn wait_until<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child process killed when dropped; its output goes to a log file printed if the test panics.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Process {
    pub fn spawn(program: &Path, args: &[String], envs: &[(String, String)]) -> Process {
        Process::spawn_in(program, args, envs, Path::new("."))
    }

    /// Like [`Process::spawn`], in the working directory `cwd`.
    pub fn spawn_in(
        program: &Path,
        args: &[String],
        envs: &[(String, String)],
        cwd: &Path,
    ) -> Process {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let name = program
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = dir.path().join(format!("{name}.log"));
        let output = File::create(&log).expect("a log file");
        let child = Command::new(program)
            .current_dir(cwd)
            .args(args)
            .envs(envs.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("a log handle"))
            .stderr(output)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        Process {
            name,
            child,
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("----- {} log -----\n{}", self.name, self.log());
        }
    }
}

/// nats-server with JetStream on a free port, its store in a temporary directory.
pub struct NatsServer {
    pub url: String,
    pub port: u16,
    process: Option<Process>,
    store: TempDir,
    extra: Vec<String>,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(&[])
    }

    /// With more nats-server flags (TLS, users).
    pub fn start_with(extra: &[String]) -> NatsServer {
        let store = tempfile::tempdir().expect("a store directory");
        let port = free_port();
        let mut server = NatsServer {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            process: None,
            store,
            extra: extra.to_vec(),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let mut args = vec![
            "-a".to_owned(),
            "127.0.0.1".to_owned(),
            "-p".to_owned(),
            self.port.to_string(),
            "-js".to_owned(),
            "-sd".to_owned(),
            self.store.path().display().to_string(),
        ];
        args.extend(self.extra.iter().cloned());
        self.process = Some(Process::spawn(&venv_program("nats-server"), &args, &[]));
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "nats-server did not listen on {}",
            self.port
        );
    }

    /// Stops the server; [`NatsServer::start_again`] brings it back on the same port with the same store.
    pub fn stop(&mut self) {
        self.process = None;
    }

    pub fn start_again(&mut self) {
        self.launch();
    }
}

/// The AWS secret access key every rdfi process under test is given (moto takes any): distinctive, so that a
/// test can search logs and reports for it.
pub const PLANTED_AWS_SECRET: &str = "rdfiPlantedSecretKey/mustNeverBeLogged0000";

/// moto_server on a free port, with AWS managed policies loaded.
pub struct MotoServer {
    pub endpoint: String,
    _process: Process,
}

impl MotoServer {
    pub fn start() -> MotoServer {
        MotoServer::start_with(&[])
    }

    /// With IAM policies enforced after the first `calls` requests (moto's INITIAL_NO_AUTH_ACTION_COUNT):
    /// set-up first, then real AccessDenied answers.
    pub fn start_enforcing_iam_after(calls: u32) -> MotoServer {
        MotoServer::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", &calls.to_string())])
    }

    fn start_with(extra_env: &[(&str, &str)]) -> MotoServer {
        let port = free_port();
        let mut env = vec![(
            "MOTO_IAM_LOAD_MANAGED_POLICIES".to_owned(),
            "true".to_owned(),
        )];
        env.extend(
            extra_env
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        let process = Process::spawn(
            &venv_program("moto_server"),
            &[
                "-H".to_owned(),
                "127.0.0.1".to_owned(),
                "-p".to_owned(),
                port.to_string(),
            ],
            &env,
        );
        assert!(
            wait_for_port(port, Duration::from_secs(60)),
            "moto_server did not listen on {port}"
        );
        MotoServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        }
    }

    /// The environment an rdfi process needs to reach this moto: test credentials and the region. The
    /// endpoint is passed as a flag.
    pub fn process_env(&self) -> Vec<(String, String)> {
        Self::client_env()
    }

    /// [`MotoServer::process_env`], for a process that starts moto itself once its environment is set.
    pub fn client_env() -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", PLANTED_AWS_SECRET),
            ("AWS_REGION", aws::REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("RUST_LOG", "info"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }
}

/// An experiment file for one fault.
/// An experiment for the load binaries, on `target` (its YAML lines, indented) with `faults` (its list's YAML):
/// no wait for controls (detect within 1 ms, settle at once) and a 1 ms exposure window, so that what they
/// measure is the engine and the cloud's calls.
pub fn bench_experiment(name: &str, target: &str, faults: &str) -> String {
    format!(
        "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: {name}
target:
{target}
faults:
{faults}
hypothesis:
  detect: {{ within: 1ms }}
observe:
  settle: 0s
safety:
  exposureWindow: 1ms
"
    )
}

pub fn experiment_yaml(
    fault_id: &str,
    detect: &str,
    correct: Option<&str>,
    exposure: &str,
) -> String {
    let correct = correct
        .map(|within| format!("  correct: {{ within: {within} }}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: test-{fault_id}
target:
  provider: aws
  region: {region}
  selector:
    tags: {{ rdfi-target: \"true\" }}
faults:
  - id: {fault_id}
    maxTargets: 1
hypothesis:
  detect: {{ within: {detect} }}
{correct}safety:
  exposureWindow: {exposure}
",
        region = aws::REGION
    )
}

/// What the health port (`--health-listen`) at `port` says of readiness (`None` while it does not answer).
pub async fn ready(port: u16) -> Option<bool> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .ok()?
        .connect()
        .await
        .ok()?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "ready".to_owned(),
        })
        .await
        .ok()?;
    Some(answer.into_inner().status() == ServingStatus::Serving)
}

/// The process's peak resident memory (VmHWM), in KiB, for the load binaries.
pub fn peak_memory_kib() -> Option<u64> {
    measure::status_kib(std::process::id(), "VmHWM")
}
