//! Real third-party security tools as the controls, against moto_server, with `rdfi run` in one process:
//! Cloud Custodian run on a schedule corrects a public bucket ACL, and Prowler's own OCSF output, posted to
//! the monitor's webhook as docs/signals.md shows, detects it. The tools come from their own venvs
//! (`scripts/test-deps.sh custodian prowler`).

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::types::BucketCannedAcl;
use rdfi_tests::aws::{Clients, clients};
use rdfi_tests::cluster::report_of;
use rdfi_tests::tools::{CustodianSchedule, Prowler};
use rdfi_tests::{MotoServer, free_port, rdfi_binary, wait_until};
use serde_json::Value;

const BUCKET_FAULT: &str = "aws.s3.bucket-public-acl";
const WEBSITE_ARN: &str = "arn:aws:s3:::public-website";

/// The Cloud Custodian policy of docs/signals.md: remove every ACL grant to everyone from any bucket.
const CUSTODIAN_POLICY: &str = "\
policies:
  - name: s3-remove-public-acl-grants
    resource: aws.s3
    filters:
      - type: global-grants
    actions:
      - type: delete-global-grants
";

/// The Prowler checks that see a public bucket ACL.
const PROWLER_CHECKS: &[&str] = &["s3_bucket_public_access"];

/// An experiment making the opted-in bucket public for `exposure`, with these `hypothesis` expectations.
fn experiment(hypothesis: &str, exposure: &str) -> String {
    format!(
        "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: real-controls
target:
  provider: aws
  region: {region}
  selector:
    tags: {{ rdfi-target: \"true\" }}
faults:
  - id: {BUCKET_FAULT}
    maxTargets: 1
hypothesis: {hypothesis}
safety:
  exposureWindow: {exposure}
",
        region = rdfi_tests::aws::REGION
    )
}

/// Runs `rdfi run` on `experiment` against moto, its webhook on `webhook_port`; the exit code and the report.
async fn rdfi_run(moto: &MotoServer, experiment: &str, webhook_port: u16) -> (i32, Value) {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("experiment.yaml");
    std::fs::write(&file, experiment).unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["run", &file.display().to_string(), "--format", "json"])
        .args(["--poll-interval", "200ms", "--aws-endpoint", &moto.endpoint])
        .args(["--webhook-listen", &format!("127.0.0.1:{webhook_port}")])
        .args(["--state-dir", &state.path().display().to_string()])
        .envs(moto.process_env())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    report_of(output)
}

fn only_fault(report: &Value) -> &Value {
    let faults = report["faults"].as_array().expect("faults[]");
    assert_eq!(faults.len(), 1, "one fault planned: {report:#}");
    &faults[0]
}

/// The fault's one expectation, of this kind.
fn only_expectation<'a>(fault: &'a Value, kind: &str) -> &'a Value {
    let expectations = fault["expectations"].as_array().expect("expectations[]");
    assert_eq!(
        expectations.len(),
        1,
        "only the stated expectation: {fault:#}"
    );
    assert_eq!(expectations[0]["kind"], kind, "{fault:#}");
    &expectations[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_custodian_on_a_schedule_corrects_a_public_bucket_acl() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("web-assets", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("web-assets").await;
    let custodian = CustodianSchedule::start(&moto, CUSTODIAN_POLICY, Duration::from_secs(3));

    let (code, report) = rdfi_run(
        &moto,
        &experiment("{ correct: { within: 30s } }", "30s"),
        free_port(),
    )
    .await;
    let (runs, matched) = (custodian.runs(), custodian.matched());

    assert_eq!(code, 0, "the hypothesis held: {report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "corrected", "{report:#}");
    let correct = only_expectation(fault, "correct");
    assert_eq!(correct["outcome"], "met", "{report:#}");
    let latency = correct["latencyMs"].as_u64().expect("a time to correct");
    assert_eq!(fault["timeToCorrectMs"], latency, "{report:#}");
    assert_eq!(report["findings"], Value::Array(Vec::new()), "{report:#}");
    assert!(runs > 1, "Custodian ran on schedule");
    assert_eq!(
        matched,
        ["web-assets"],
        "Custodian found the public bucket and removed its public grants"
    );
    assert_eq!(fault["revertVerified"], true, "{report:#}");
    assert_eq!(
        aws.acl_lines("web-assets").await,
        baseline,
        "after Custodian's correction and rdfi's revert, every other grant is still there"
    );
}

/// Posts a file to the webhook with the command docs/signals.md shows; the webhook's JSON answer.
async fn post_file(webhook_port: u16, file: &Path) -> Value {
    let output = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-H",
            "Content-Type: application/json",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("http://127.0.0.1:{webhook_port}/v1/signals"))
        .output()
        .await
        .expect("curl runs");
    let answer = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the webhook took the file: {answer} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&answer).expect("a JSON answer")
}

/// The resources (uids) of the failed findings among `findings`.
fn failed_resources(findings: &[Value]) -> Vec<String> {
    let mut resources: Vec<String> = findings
        .iter()
        .filter(|finding| finding["status_code"] == "FAIL")
        .flat_map(|finding| finding["resources"].as_array().cloned().unwrap_or_default())
        .filter_map(|resource| resource["uid"].as_str().map(str::to_owned))
        .collect();
    resources.sort();
    resources.dedup();
    resources
}

async fn make_public(aws: &Clients, bucket: &str) {
    aws.s3
        .put_bucket_acl()
        .bucket(bucket)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("PutBucketAcl public-read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prowler_scan_posted_to_the_webhook_detects_a_public_bucket_and_no_other_resource_counts()
 {
    let prowler = Prowler::installed();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("payments-exports", &[("rdfi-target", "true")])
        .await;
    // Public on purpose, and never a target: Prowler's finding about it names another resource.
    aws.create_bucket("public-website", &[]).await;
    make_public(&aws, "public-website").await;
    let baseline = aws.acl_lines("payments-exports").await;
    let webhook_port = free_port();
    let experiment = experiment("{ detect: { within: 4m, sources: [prowler] } }", "4m");
    let detector = async {
        assert!(
            wait_until(Duration::from_secs(60), || aws
                .bucket_is_public("payments-exports"))
            .await,
            "the fault was injected"
        );
        // Prowler stamps every finding with the second its scan started, rounded down, and the monitor takes
        // signals observed from 1 s before the injection: a scan started in the very moment the ACL turned
        // public could read as older than that. A scheduled scanner starts later than this anyway.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let scan = prowler.scan(&moto, PROWLER_CHECKS).await;
        assert_eq!(scan.code, Some(3), "failed findings: {}", scan.log);
        let findings = scan.findings();
        assert_eq!(
            failed_resources(&findings),
            ["arn:aws:s3:::payments-exports", WEBSITE_ARN],
            "{}",
            scan.log
        );
        let files = tempfile::tempdir().unwrap();

        // First only Prowler's findings about the other public bucket, as a detector filtering by account
        // or team would post them: they detect nothing.
        let elsewhere: Vec<&Value> = findings
            .iter()
            .filter(|finding| failed_resources(std::slice::from_ref(*finding)) == [WEBSITE_ARN])
            .collect();
        let file = files.path().join("elsewhere.ocsf.json");
        std::fs::write(&file, serde_json::to_vec(&elsewhere).unwrap()).unwrap();
        let answer = post_file(webhook_port, &file).await;
        assert_eq!(answer["signals"], 1, "{answer}");
        assert_eq!(
            answer["correlated"], 0,
            "a finding about another bucket detects nothing: {answer}"
        );

        // Then Prowler's file as it wrote it.
        let file = files.path().join("scan.ocsf.json");
        std::fs::write(&file, &scan.ocsf).unwrap();
        let answer = post_file(webhook_port, &file).await;
        assert_eq!(answer["signals"], 2, "{answer}");
        assert_eq!(answer["correlated"], 1, "{answer}");
    };
    let ((code, report), ()) = tokio::join!(rdfi_run(&moto, &experiment, webhook_port), detector);
    assert_eq!(code, 0, "the hypothesis held: {report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "detected", "{report:#}");
    let detect = only_expectation(fault, "detect");
    assert_eq!(detect["outcome"], "met", "{report:#}");
    assert_eq!(
        detect["answeredBy"],
        serde_json::json!(["Prowler"]),
        "{report:#}"
    );
    let latency = detect["latencyMs"].as_u64().expect("a time to detect");
    assert_eq!(fault["timeToDetectMs"], latency, "{report:#}");
    assert_eq!(fault["revertVerified"], true, "{report:#}");
    assert_eq!(aws.acl_lines("payments-exports").await, baseline);
}
