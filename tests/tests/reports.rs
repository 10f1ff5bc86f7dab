//! Every report format of a real run, read by a real consumer of that format: `rdfi run` on the sandbox
//! provider writes a state directory, then `rdfi report RUN_ID --state-dir DIR --format X`, as a user types
//! it; SARIF is checked against the official 2.1.0 schema, OCSF against the Detection Finding class model,
//! the Navigator layer by MITRE's layer model, JUnit by a JUnit parser (`tests/reports/validate.py`, in the
//! venv of `scripts/test-deps.sh reports`), and the HTML page is rendered in headless Chromium. The same
//! for `rdfi submit --report` to five processes over NATS against moto, and `rdfi report --knowledge URL`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rdfi_tests::aws::clients;
use rdfi_tests::cluster::Cluster;
use rdfi_tests::tools::tool_python;
use rdfi_tests::{MotoServer, NatsServer, experiment_yaml, free_port, rdfi_binary, workspace_root};
use serde_json::Value;

/// The demo's experiment on the sandbox account: a public ACL on two buckets (one watched by a detector),
/// the admin policy on two users (a reconciler removes it): findings, detections and corrections.
const EXPERIMENT: &str = "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: reports-public-buckets-and-admin-users
target:
  provider: sandbox
  selector:
    tags: {}
faults:
  - id: aws.s3.bucket-public-acl
    maxTargets: 2
  - id: aws.iam.user-admin-policy-attached
    maxTargets: 2
hypothesis:
  detect: { within: 1s, sources: [s3-public-acl-detector] }
  correct: { within: 1500ms }
safety:
  exposureWindow: 2s
";

const FORMATS: [&str; 7] = [
    "json",
    "markdown",
    "html",
    "sarif",
    "junit",
    "ocsf",
    "navigator",
];

fn rdfi(args: &[&str]) -> Output {
    Command::new(rdfi_binary("rdfi"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("rdfi runs")
}

/// `rdfi run FILE --state-dir DIR` on the sandbox; returns the run's report as JSON.
fn run(experiment: &Path, state: &Path, extra: &[&str]) -> Value {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        "run",
        experiment.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--webhook-listen",
        &listen,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = rdfi(&args);
    // 1: a hypothesis failed (the unwatched bucket is a finding), which is what this run is for.
    assert_eq!(
        output.status.code(),
        Some(1),
        "rdfi run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the report as JSON")
}

/// `rdfi report RUN_ID --state-dir DIR --format FORMAT`, written to `DIR/report.FORMAT`.
fn report(run_id: &str, state: &Path, format: &str) -> PathBuf {
    let output = rdfi(&[
        "report",
        run_id,
        "--state-dir",
        state.to_str().unwrap(),
        "--format",
        format,
    ]);
    assert!(
        output.status.success(),
        "rdfi report --format {format}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = state.join(format!("report.{format}"));
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

/// What `validate.py KIND FILE` read, failing the test with the validator's complaints.
fn validate(kind: &str, file: &Path) -> Value {
    let output = Command::new(tool_python("reports"))
        .arg(workspace_root().join("tests/reports/validate.py"))
        .arg(kind)
        .arg(file)
        .output()
        .expect("the validator runs");
    assert!(
        output.status.success(),
        "{kind} is not valid: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    serde_json::from_slice(&output.stdout).expect("the validator's summary")
}

fn sandbox_runs() -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let experiment = dir.path().join("experiment.yaml");
    std::fs::write(&experiment, EXPERIMENT).unwrap();
    let state = dir.path().join("state");
    let first = run(&experiment, &state, &[]);
    // A second run, so the scorecards the first run's report shows are measured over two runs.
    run(&experiment, &state, &[]);
    (dir, state, first)
}

#[test]
fn every_report_format_of_a_real_run_is_read_by_a_real_consumer() {
    let (_dir, state, first) = sandbox_runs();
    let run_id = first["runId"].as_str().unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(report(run_id, &state, "json")).unwrap()).unwrap();
    assert_eq!(json["runId"], run_id);
    assert_eq!(
        json["faults"], first["faults"],
        "the same faults as the run printed"
    );
    let findings: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["findingId"].as_str().unwrap())
        .collect();
    assert_eq!(findings.len(), 1, "the unwatched bucket: {json}");
    assert!(json["findings"][0]["risk"]["score"].as_f64().unwrap() > 0.0);
    let detector = json["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|control| {
            control["control"] == "s3-public-acl-detector"
                && control["faultId"] == "aws.s3.bucket-public-acl"
        })
        .expect("the detector's scorecard");
    assert_eq!(detector["history"].as_array().unwrap().len(), 2, "two runs");
    // Each run: the watched bucket detected, the other missed.
    assert_eq!(
        (
            &detector["efficacy"]["met"],
            &detector["efficacy"]["failed"]
        ),
        (&serde_json::json!(2), &serde_json::json!(2))
    );

    let sarif = validate("sarif", &report(run_id, &state, "sarif"));
    assert_eq!(sarif["results"], findings.len());
    assert_eq!(
        sarif["rules"],
        serde_json::json!(["aws.s3.bucket-public-acl"])
    );

    let ocsf = validate("ocsf", &report(run_id, &state, "ocsf"));
    assert_eq!(ocsf["uids"], serde_json::json!(findings));

    let layer = validate("navigator", &report(run_id, &state, "navigator"));
    for technique in ["T1530", "T1098"] {
        let score = layer["techniques"][technique]
            .as_f64()
            .unwrap_or_else(|| panic!("{technique} scored: {layer}"));
        assert!((0.0..=100.0).contains(&score), "{technique}: {score}");
    }

    let junit = validate("junit", &report(run_id, &state, "junit"));
    let expectations: Vec<&Value> = json["faults"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|fault| fault["expectations"].as_array().unwrap())
        .collect();
    let count = |outcomes: &[&str]| {
        expectations
            .iter()
            .filter(|expectation| outcomes.contains(&expectation["outcome"].as_str().unwrap()))
            .count()
    };
    assert_eq!(junit["suites"], 1);
    assert_eq!(junit["tests"], expectations.len());
    assert_eq!(junit["failures"], count(&["failed", "late"]));
    assert_eq!(junit["skipped"], count(&["inconclusive"]));
    let cases = junit["cases"].as_array().unwrap();
    assert!(
        cases
            .iter()
            .any(|case| case["classname"] == "aws.s3.bucket-public-acl"
                && case["name"] == "detect on payments-exports"
                && case["outcome"] == "passed"),
        "{junit}"
    );

    let markdown = std::fs::read_to_string(report(run_id, &state, "markdown")).unwrap();
    assert!(
        markdown.contains("### Findings, riskiest first"),
        "{markdown}"
    );
    assert!(markdown.contains("fix: "), "{markdown}");
}

#[test]
fn the_html_report_renders_in_headless_chromium_as_a_page_with_charts() {
    let (dir, state, first) = sandbox_runs();
    let html = report(first["runId"].as_str().unwrap(), &state, "html");
    // Installed by `scripts/test-deps.sh reports` (Debian's chromium).
    tool_python("reports");
    let screenshot = dir.path().join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success() && screenshot.exists(),
        "chromium: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let picture = validate("png", &screenshot);
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1200), Some(1600))
    );
    // A blank or unstyled page has a handful of colours and little drawn: this one has colour-coded
    // verdicts, charts and anti-aliased text over a third of it.
    assert!(picture["colours"].as_u64().unwrap() > 200, "{picture}");
    assert!(picture["drawn"].as_f64().unwrap() > 0.2, "{picture}");
}

#[test]
fn rdfi_run_writes_one_file_per_format_and_an_unknown_format_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let experiment = dir.path().join("experiment.yaml");
    std::fs::write(&experiment, EXPERIMENT).unwrap();
    let out = dir.path().join("out");
    let formats = FORMATS.join(",");
    let state = dir.path().join("state");
    let printed = run(
        &experiment,
        &state,
        &["--report", &formats, "--output-dir", out.to_str().unwrap()],
    );
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "report.html",
            "report.json",
            "report.junit.xml",
            "report.md",
            "report.navigator.json",
            "report.ocsf.json",
            "report.sarif",
        ]
    );
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        written, printed,
        "the file holds the report the run printed"
    );
    let sarif = validate("sarif", &out.join("report.sarif"));
    assert_eq!(
        sarif["results"],
        printed["findings"].as_array().unwrap().len()
    );
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.sarif")).unwrap()).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        experiment.to_str().unwrap(),
        "rdfi run knows the experiment file"
    );

    let unknown = rdfi(&[
        "report",
        "some-run",
        "--state-dir",
        state.to_str().unwrap(),
        "--format",
        "pdf",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("--format") && message.contains("sarif"),
        "{message}"
    );
    let unknown = rdfi(&[
        "run",
        experiment.to_str().unwrap(),
        "--report",
        "html,pdf",
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("--report") && message.contains("navigator"),
        "{message}"
    );
    let missing = rdfi(&[
        "report",
        "no-such-run",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no run no-such-run"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdfi_submit_writes_the_reports_of_a_cluster_run_on_moto_and_rdfi_report_reads_them_over_grpc()
 {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("unwatched-exports", &[("rdfi-target", "true")])
        .await;
    let cluster = Cluster::start(&nats, &moto);
    let dir = tempfile::tempdir().unwrap();
    let experiment = dir.path().join("experiment.yaml");
    // No detector watches the bucket: the fault is missed, a finding.
    std::fs::write(
        &experiment,
        experiment_yaml("aws.s3.bucket-public-acl", "1s", None, "2s"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = cluster
        .rdfi(&[
            "submit",
            experiment.to_str().unwrap(),
            "--format",
            "json",
            "--planner",
            &cluster.planner_url,
            "--knowledge",
            &cluster.knowledge_url,
            "--report",
            "sarif,junit,ocsf,navigator",
            "--output-dir",
            out.to_str().unwrap(),
        ])
        .await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "a finding: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed["findings"].as_array().unwrap().len(),
        1,
        "{printed}"
    );
    assert_eq!(validate("sarif", &out.join("report.sarif"))["results"], 1);
    assert_eq!(
        validate("ocsf", &out.join("report.ocsf.json"))["findings"],
        1
    );
    let junit = validate("junit", &out.join("report.junit.xml"));
    assert_eq!(
        (&junit["tests"], &junit["failures"]),
        (&1.into(), &1.into()),
        "{junit}"
    );
    let layer = validate("navigator", &out.join("report.navigator.json"));
    // The one control expected has failed once: its efficacy, and so the technique's score, is low.
    let score = layer["techniques"]["T1530"].as_f64().expect("T1530 scored");
    assert!(score < 50.0, "{layer}");

    let run_id = printed["runId"].as_str().unwrap();
    let remote = rdfi(&[
        "report",
        run_id,
        "--knowledge",
        &cluster.knowledge_url,
        "--format",
        "json",
    ]);
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    let remote: Value = serde_json::from_slice(&remote.stdout).unwrap();
    assert_eq!(remote["findings"], printed["findings"]);
    assert_eq!(remote["controls"], printed["controls"]);
}
