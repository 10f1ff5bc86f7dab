//! `/metrics` as Prometheus scrapes it: `rdfi serve` with every service over nats-server against moto runs a
//! submitted experiment, and the metrics count what happened: the fault injected and reverted, the verdict, the
//! inject and revert latencies, the events each consumer handled, the consumers' lag and the journal's open
//! faults, all in Prometheus' text format.

use std::time::Duration;

use rdfi_tests::aws::clients;
use rdfi_tests::cluster::report_of;
use rdfi_tests::{
    MotoServer, NatsServer, Process, experiment_yaml, free_port, rdfi_binary, wait_for_port,
};

/// The value of the sample `name` (with its labels as written), if the text has it.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_shows_in_the_metrics() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    clients(&moto.endpoint)
        .await
        .create_bucket("metered-exports", &[("rdfi-target", "true")])
        .await;
    let state = tempfile::tempdir().unwrap();
    let (metrics_port, planner_port, knowledge_port) = (free_port(), free_port(), free_port());
    let listen = |port: u16| format!("127.0.0.1:{port}");
    let args: Vec<String> = [
        "serve",
        "--services",
        "knowledge,planner,executor,monitor,analyzer",
        "--nats",
        &nats.url,
        "--aws-endpoint",
        &moto.endpoint,
        "--state-dir",
        &state.path().display().to_string(),
        "--metrics-listen",
        &listen(metrics_port),
        "--planner-listen",
        &listen(planner_port),
        "--knowledge-listen",
        &listen(knowledge_port),
        "--knowledge-url",
        &format!("http://127.0.0.1:{knowledge_port}"),
        "--executor-listen",
        &listen(free_port()),
        "--webhook-listen",
        &listen(free_port()),
        "--poll-interval",
        "200ms",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let _rdfi = Process::spawn(&rdfi_binary("rdfi"), &args, &moto.process_env());
    for port in [metrics_port, planner_port, knowledge_port] {
        assert!(wait_for_port(port, Duration::from_secs(30)), "{port}");
    }
    let scrape = || async move {
        let response = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .await
            .unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert!(before.ends_with("# EOF\n"), "{before}");
    assert_eq!(
        sample(&before, "rdfi_journal_open_faults"),
        Some(0.0),
        "{before}"
    );

    let file = state.path().join("experiment.yaml");
    std::fs::write(
        &file,
        experiment_yaml("aws.s3.bucket-public-acl", "1s", None, "1s"),
    )
    .unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["submit", &file.display().to_string(), "--format", "json"])
        .args(["--planner", &format!("http://127.0.0.1:{planner_port}")])
        .args(["--knowledge", &format!("http://127.0.0.1:{knowledge_port}")])
        .output()
        .await
        .unwrap();
    let (code, report) = report_of(output);
    assert_eq!(code, 1, "a finding: {report:#}");

    let after = scrape().await;
    for (name, value) in [
        ("rdfi_faults_total{state=\"injected\"}", 1.0),
        ("rdfi_faults_total{state=\"reverted\"}", 1.0),
        ("rdfi_verdicts_total{verdict=\"missed\"}", 1.0),
        ("rdfi_inject_duration_seconds_count", 1.0),
        ("rdfi_revert_duration_seconds_count", 1.0),
        (
            "rdfi_events_published_total{subject=\"rdfi.v1.finding.created\"}",
            1.0,
        ),
        (
            "rdfi_events_handled_total{consumer=\"executor\",subject=\"rdfi.v1.fault.planned\",outcome=\"ok\"}",
            1.0,
        ),
        ("rdfi_journal_open_faults", 0.0),
        ("rdfi_consumer_ack_pending{consumer=\"executor\"}", 0.0),
    ] {
        assert_eq!(sample(&after, name), Some(value), "{name} in\n{after}");
    }
    // Nothing was detected: no time to detect was observed, though the histogram is there.
    assert_eq!(
        sample(&after, "rdfi_time_to_detect_seconds_count"),
        Some(0.0),
        "{after}"
    );
    for consumer in ["planner", "executor", "monitor", "analyzer", "knowledge"] {
        assert!(
            sample(
                &after,
                &format!("rdfi_consumer_pending{{consumer=\"{consumer}\"}}")
            )
            .is_some(),
            "{consumer} in\n{after}"
        );
    }
    let revert_seconds = sample(&after, "rdfi_revert_duration_seconds_sum").unwrap();
    assert!(revert_seconds > 0.0 && revert_seconds < 60.0, "{after}");
}
