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
    others: Vec<Process>,
    pub planner_url: String,
    pub knowledge_url: String,
    pub webhook_url: String,
    /// The first executor's gRPC URL.
    pub executor_url: String,
    pub nats_url: String,
    state: TempDir,
    env: Vec<(String, String)>,
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
        let args = |executor_port: u16| -> Vec<String> {
            let listen = |port: u16| format!("127.0.0.1:{port}");
            [
                ("--nats", nats.url.clone()),
                ("--knowledge-listen", listen(knowledge_port)),
                (
                    "--knowledge-url",
                    format!("{scheme}://127.0.0.1:{knowledge_port}"),
                ),
                ("--planner-listen", listen(planner_port)),
                ("--webhook-listen", listen(webhook_port)),
                ("--executor-listen", listen(executor_port)),
                ("--state-dir", state.path().display().to_string()),
                ("--provider", "aws".to_owned()),
                ("--aws-endpoint", moto.endpoint.clone()),
                ("--poll-interval", "200ms".to_owned()),
                ("--stop-on-source", STOP_SOURCE.to_owned()),
            ]
            .into_iter()
            .flat_map(|(flag, value)| [flag.to_owned(), value])
            .chain(extra.iter().cloned())
            .collect()
        };
        let service = |name: &str, port: u16| {
            Process::spawn(&rdfi_binary(&format!("rdfi-{name}")), &args(port), &env)
        };
        let executor_ports: Vec<u16> = (0..executors).map(|_| free_port()).collect();
        let others = ["knowledge", "planner", "monitor", "analyzer"]
            .iter()
            .map(|name| service(name, free_port()))
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
        }
    }

    /// Everything every service has logged so far.
    pub fn logs(&self) -> String {
        self.executors
            .iter()
            .chain(&self.others)
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

/// The exit code and the JSON report a command printed.
pub fn report_of(output: std::process::Output) -> (i32, Value) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("no JSON report ({error}):\n{stdout}\n{stderr}"));
    (output.status.code().unwrap_or(-1), report)
}
