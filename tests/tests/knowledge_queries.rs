//! What knowledge tells across runs, as a user reads it: a detector named in the expectation catches a public
//! bucket on moto in one run and misses it in the next; `rdfi controls`, `rdfi findings`, `rdfi runs` and
//! `rdfi asset` read the state directory `rdfi run` wrote, and a knowledge service over gRPC answers the same.

use std::path::Path;
use std::time::Duration;

use rdfi_tests::aws::clients;
use rdfi_tests::cluster::report_of;
use rdfi_tests::control::{post_signal, watch};
use rdfi_tests::{
    MotoServer, NatsServer, Process, experiment_yaml, free_port, rdfi_binary, wait_for_port,
};
use serde_json::Value;

const BUCKET_FAULT: &str = "aws.s3.bucket-public-acl";
const DETECTOR: &str = "ledger-detector";

async fn run(moto: &MotoServer, state: &Path, file: &Path, webhook_port: u16) -> (i32, Value) {
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["run", &file.display().to_string(), "--format", "json"])
        .args(["--poll-interval", "200ms", "--aws-endpoint", &moto.endpoint])
        .args(["--webhook-listen", &format!("127.0.0.1:{webhook_port}")])
        .args(["--state-dir", &state.display().to_string()])
        .envs(moto.process_env())
        .output()
        .await
        .unwrap();
    report_of(output)
}

async fn rdfi(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(args)
        .output()
        .await
        .unwrap()
}

async fn rdfi_json(args: &[&str]) -> Value {
    let output = rdfi(&[args, &["--format", "json"]].concat()).await;
    assert!(
        output.status.success(),
        "rdfi {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detector_that_catches_one_run_and_misses_the_next_scores_between() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket(
        "ledger",
        &[("rdfi-target", "true"), ("rdfi-criticality", "critical")],
    )
    .await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("experiment.yaml");
    let experiment = experiment_yaml(BUCKET_FAULT, "2s", None, "2s").replace(
        "detect: { within: 2s }",
        &format!("detect: {{ within: 2s, sources: [{DETECTOR}] }}"),
    );
    assert!(experiment.contains(DETECTOR), "{experiment}");
    std::fs::write(&file, experiment).unwrap();

    // Run 1: the detector watches the bucket and signals.
    let webhook_port = free_port();
    let webhook = format!("http://127.0.0.1:{webhook_port}");
    let watched = aws.clone();
    let detector = watch(
        Duration::from_millis(200),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public("ledger").await }
        },
        move || async move { post_signal(&webhook, "ledger", DETECTOR).await },
    );
    let (code, first) = run(&moto, state.path(), &file, webhook_port).await;
    detector.abort();
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(first["faults"][0]["verdict"], "detected", "{first:#}");
    // Run 2: the detector is down.
    let (code, second) = run(&moto, state.path(), &file, free_port()).await;
    assert_eq!(code, 1, "{second:#}");
    assert_eq!(second["faults"][0]["verdict"], "missed", "{second:#}");

    let dir = state.path().display().to_string();
    let controls = rdfi_json(&["controls", "--state-dir", &dir]).await;
    let card = controls
        .as_array()
        .unwrap()
        .iter()
        .find(|card| card["control"] == DETECTOR)
        .unwrap_or_else(|| panic!("{controls:#}"));
    assert_eq!(card["kind"], "detect");
    assert_eq!(card["faultId"], BUCKET_FAULT);
    assert_eq!(
        (
            card["efficacy"]["met"].as_u64(),
            card["efficacy"]["failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let (mean, lower, upper) = (
        card["efficacy"]["mean"].as_f64().unwrap(),
        card["efficacy"]["lower"].as_f64().unwrap(),
        card["efficacy"]["upper"].as_f64().unwrap(),
    );
    assert!(
        lower < mean && mean < upper && (mean - 0.5).abs() < 1e-9,
        "{card:#}"
    );
    let history = card["history"].as_array().unwrap();
    let runs: Vec<&Value> = history.iter().map(|point| &point["runId"]).collect();
    assert_eq!(runs, [&first["runId"], &second["runId"]], "{card:#}");
    assert!(
        history[0]["efficacy"]["mean"].as_f64() > history[1]["efficacy"]["mean"].as_f64(),
        "the miss lowered the estimate: {card:#}"
    );
    assert!(card["latency"]["meanMs"].as_u64().is_some(), "{card:#}");

    let findings = rdfi_json(&["findings", "--state-dir", &dir, "--control", DETECTOR]).await;
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["runId"], second["runId"]);
    assert_eq!(findings[0]["controls"], serde_json::json!([DETECTOR]));
    assert_eq!(findings[0]["risk"]["criticality"], "critical");
    assert!(
        findings[0]["risk"]["score"].as_f64().unwrap() > 0.0,
        "{findings:#?}"
    );
    assert!(!findings[0]["remediation"].as_str().unwrap().is_empty());
    let none = rdfi_json(&["findings", "--state-dir", &dir, "--severity", "low"]).await;
    assert_eq!(none, serde_json::json!([]));

    let runs = rdfi_json(&["runs", "--state-dir", &dir]).await;
    assert_eq!(runs.as_array().unwrap().len(), 2);
    let asset = rdfi_json(&["asset", "ledger", "--state-dir", &dir]).await;
    let verdicts: Vec<&Value> = asset["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["verdict"])
        .collect();
    assert_eq!(verdicts, ["detected", "missed"], "{asset:#}");

    // A knowledge service over the same database answers the same over gRPC.
    let nats = NatsServer::start();
    let port = free_port();
    let _knowledge = Process::spawn(
        &rdfi_binary("rdfi"),
        &[
            "serve".to_owned(),
            "--services".to_owned(),
            "knowledge".to_owned(),
            "--nats".to_owned(),
            nats.url.clone(),
            "--state-dir".to_owned(),
            dir.clone(),
            "--knowledge-listen".to_owned(),
            format!("127.0.0.1:{port}"),
        ],
        &[],
    );
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "knowledge serves gRPC"
    );
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(
        rdfi_json(&["controls", "--knowledge", &url]).await,
        controls
    );
    let remote = rdfi_json(&["findings", "--knowledge", &url, "--control", DETECTOR]).await;
    assert_eq!(remote.as_array().unwrap(), findings);
}

#[tokio::test]
async fn reading_a_state_directory_without_knowledge_is_a_usage_error_that_creates_nothing() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().display().to_string();
    let output = rdfi(&["controls", "--state-dir", &dir]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no knowledge database at"), "{stderr}");
    assert!(
        std::fs::read_dir(state.path()).unwrap().next().is_none(),
        "nothing created"
    );
    let output = rdfi(&["findings", "--since", "yesterday", "--state-dir", &dir]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--since"));
}

/// The journal and the knowledge database hold resource names, prior states and findings: `rdfi run` creates
/// its state directory 0700 and every file in it 0600.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_directory_and_its_files_are_private_to_their_user() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("ledger", &[("rdfi-target", "true")])
        .await;
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("experiment.yaml");
    std::fs::write(&file, experiment_yaml(BUCKET_FAULT, "1s", None, "1s")).unwrap();
    let state = root.path().join("state/rdfi");
    let (code, report) = run(&moto, &state, &file, free_port()).await;
    assert_eq!(code, 1, "a finding: {report:#}");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&root.path().join("state")), 0o700);
    let files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(
        files.iter().any(|path| path.ends_with("knowledge.sqlite")),
        "{files:?}"
    );
    assert!(files.len() >= 3, "the journal too: {files:?}");
    for path in files {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
