//! The five services, each its own process (`rdfi-knowledge`, `rdfi-planner`, `rdfi-executor`,
//! `rdfi-monitor`, `rdfi-analyzer`), over one nats-server, against moto; and `rdfi` commands to drive them.

use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::{MotoServer, NatsServer, Process, free_port, rdfi_binary, wait_for_port};

/// Signals from this source are the cluster's stop condition.
pub const STOP_SOURCE: &str = "checkout-slo-alarm";

pub struct Cluster {
    pub executors: Vec<Process>,
    /// Knowledge, the planner, the monitor and the analyzer, by name.
    others: Vec<(String, Process)>,
    pub planner_url: String,
    pub knowledge_url: String,
    pub webhook_url: String,
    /// The first executor's gRPC URL.
    pub executor_url: String,
    pub nats_url: String,
    state: TempDir,
    env: Vec<(String, String)>,
    /// Every service's flags and values, then the `extra` flags.
    flags: Vec<(String, String)>,
    extra: Vec<String>,
}

impl Cluster {
    /// One process per service.
    pub fn start(nats: &NatsServer, moto: &MotoServer) -> Cluster {
        Cluster::with_executors(nats, moto, 1)
    }

    /// One process per service, and `executors` executor replicas sharing the plan stream and the journal.
    pub fn with_executors(nats: &NatsServer, moto: &MotoServer, executors: usize) -> Cluster {
        Cluster::with_options(nats, moto, executors, &[], &[], "http")
    }

    /// Like [`Cluster::with_executors`], with `extra` flags and `extra_env` variables for every service, and
    /// its gRPC URLs in `scheme` (`https` when `extra` turns TLS on).
    pub fn with_options(
        nats: &NatsServer,
        moto: &MotoServer,
        executors: usize,
        extra: &[String],
        extra_env: &[(&str, &str)],
        scheme: &str,
    ) -> Cluster {
        let state = tempfile::tempdir().expect("a state directory");
        let (knowledge_port, planner_port, webhook_port) = (free_port(), free_port(), free_port());
        let mut env = moto.process_env();
        for (key, value) in extra_env {
            env.retain(|(known, _)| known != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        let listen = |port: u16| format!("127.0.0.1:{port}");
        let flags: Vec<(String, String)> = [
            ("--nats", nats.url.clone()),
            ("--knowledge-listen", listen(knowledge_port)),
            (
                "--knowledge-url",
                format!("{scheme}://127.0.0.1:{knowledge_port}"),
            ),
            ("--planner-listen", listen(planner_port)),
            ("--webhook-listen", listen(webhook_port)),
            ("--state-dir", state.path().display().to_string()),
            ("--provider", "aws".to_owned()),
            ("--aws-endpoint", moto.endpoint.clone()),
            ("--poll-interval", "200ms".to_owned()),
            ("--stop-on-source", STOP_SOURCE.to_owned()),
        ]
        .into_iter()
        .map(|(flag, value)| (flag.to_owned(), value))
        .collect();
        let args = |executor_port: u16| {
            arguments(
                &flags,
                extra,
                &[("--executor-listen", listen(executor_port))],
            )
        };
        let service = |name: &str, port: u16| {
            Process::spawn(&rdfi_binary(&format!("rdfi-{name}")), &args(port), &env)
        };
        let executor_ports: Vec<u16> = (0..executors).map(|_| free_port()).collect();
        let others = ["knowledge", "planner", "monitor", "analyzer"]
            .iter()
            .map(|name| ((*name).to_owned(), service(name, free_port())))
            .collect();
        let executors = executor_ports
            .iter()
            .map(|port| service("executor", *port))
            .collect();
        for port in [knowledge_port, planner_port, webhook_port]
            .iter()
            .chain(&executor_ports)
        {
            assert!(
                wait_for_port(*port, Duration::from_secs(30)),
                "a service did not listen on {port}"
            );
        }
        Cluster {
            executors,
            others,
            planner_url: format!("{scheme}://127.0.0.1:{planner_port}"),
            knowledge_url: format!("{scheme}://127.0.0.1:{knowledge_port}"),
            webhook_url: format!("http://127.0.0.1:{webhook_port}"),
            executor_url: format!("{scheme}://127.0.0.1:{}", executor_ports[0]),
            nats_url: nats.url.clone(),
            state,
            env,
            flags,
            extra: extra.to_vec(),
        }
    }

    /// Starts another process of `service` (`planner`, `knowledge`...) with the cluster's flags, `overrides`
    /// replacing or adding some (its own ports, say).
    pub fn replica(&self, service: &str, overrides: &[(&str, String)]) -> Process {
        let mut overrides = overrides.to_vec();
        if !overrides
            .iter()
            .any(|(flag, _)| *flag == "--executor-listen")
        {
            overrides.push(("--executor-listen", format!("127.0.0.1:{}", free_port())));
        }
        Process::spawn(
            &rdfi_binary(&format!("rdfi-{service}")),
            &arguments(&self.flags, &self.extra, &overrides),
            &self.env,
        )
    }

    /// Takes the process of `service` out of the cluster: dropping it kills it (SIGKILL).
    pub fn take(&mut self, service: &str) -> Process {
        let at = self
            .others
            .iter()
            .position(|(name, _)| name == service)
            .unwrap_or_else(|| panic!("no {service} in the cluster"));
        self.others.remove(at).1
    }

    /// Everything every service has logged so far.
    pub fn logs(&self) -> String {
        self.executors
            .iter()
            .chain(self.others.iter().map(|(_, process)| process))
            .map(Process::log)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `rdfi submit` with the experiment; its exit code and JSON report.
    pub async fn submit(&self, experiment: &str) -> (i32, Value) {
        let file = self
            .state
            .path()
            .join(format!("experiment-{}.yaml", free_port()));
        std::fs::write(&file, experiment).expect("the experiment is written");
        let output = self
            .rdfi(&[
                "submit",
                &file.display().to_string(),
                "--format",
                "json",
                "--planner",
                &self.planner_url,
                "--knowledge",
                &self.knowledge_url,
            ])
            .await;
        report_of(output)
    }

    /// Runs an `rdfi` command with the cluster's environment.
    pub async fn rdfi(&self, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(rdfi_binary("rdfi"))
            .args(args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .output()
            .await
            .expect("rdfi runs")
    }
}

/// `flags` with `overrides` in place of the same flags (and added where `flags` lacks them), then `extra`.
fn arguments(
    flags: &[(String, String)],
    extra: &[String],
    overrides: &[(&str, String)],
) -> Vec<String> {
    let kept = flags
        .iter()
        .filter(|(flag, _)| !overrides.iter().any(|(other, _)| other == flag))
        .map(|(flag, value)| (flag.as_str(), value.clone()));
    kept.chain(overrides.iter().cloned())
        .flat_map(|(flag, value)| [flag.to_owned(), value])
        .chain(extra.iter().cloned())
        .collect()
}

/// The exit code and the JSON report a command printed.
pub fn report_of(output: std::process::Output) -> (i32, Value) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("no JSON report ({error}):\n{stdout}\n{stderr}"));
    (output.status.code().unwrap_or(-1), report)
}
