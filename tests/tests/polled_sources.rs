//! Detection sources rdfi polls (`observe.sources`, `--source`), each against the real part: a Security Hub
//! finding filed in moto and read back with GetFindings, a Prowler-shaped OCSF result file appearing in a
//! folder, a message on a real nats-server subject. In each, a stand-in detector watches the bucket through
//! the AWS SDK and reports the way that kind of detector does; findings about another bucket, or from before
//! the injection, must not count.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_securityhub::types::{AwsSecurityFinding, Resource, Severity, SeverityLabel};
use rdfi_tests::aws::{Clients, clients, sdk_config};
use rdfi_tests::cluster::report_of;
use rdfi_tests::control::watch;
use rdfi_tests::{MotoServer, NatsServer, experiment_yaml, free_port, rdfi_binary};
use serde_json::{Value, json};

const FAULT: &str = "aws.s3.bucket-public-acl";
const BUCKET: &str = "exports";
const OTHER_BUCKET: &str = "archive";

/// The experiment for the fault on the bucket, with a detect expectation naming `source` and the extra YAML.
fn experiment(source: &str, extra: &str) -> String {
    experiment_yaml(FAULT, "6s", None, "6s").replace(
        "detect: { within: 6s }",
        &format!("detect: {{ within: 6s, sources: [{source}] }}\nobserve:\n  settle: 0s\n{extra}"),
    )
}

async fn estate() -> (MotoServer, Clients) {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket(BUCKET, &[("rdfi-target", "true")]).await;
    aws.create_bucket(OTHER_BUCKET, &[]).await;
    (moto, aws)
}

/// `rdfi run FILE --format json` against moto, with `extra` arguments; the exit code and the report.
async fn rdfi_run(moto: &MotoServer, dir: &Path, experiment: &str, extra: &[&str]) -> (i32, Value) {
    let file = dir.join("experiment.yaml");
    std::fs::write(&file, experiment).unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["run", &file.display().to_string(), "--format", "json"])
        .args(["--aws-endpoint", &moto.endpoint])
        .args(["--webhook-listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--state-dir", &dir.join("state").display().to_string()])
        .args(extra)
        .envs(moto.process_env())
        .output()
        .await
        .unwrap();
    report_of(output)
}

/// A detector that, once the bucket is public, runs `report`.
fn detector<F, Fut>(aws: &Clients, report: F) -> tokio::task::JoinHandle<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let watched = aws.clone();
    watch(
        Duration::from_millis(200),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public(BUCKET).await }
        },
        report,
    )
}

/// The one fault's verdict and its detect expectation.
fn detection(report: &Value) -> (&Value, &Value) {
    let faults = report["faults"].as_array().expect("faults[]");
    assert_eq!(faults.len(), 1, "one fault: {report:#}");
    let fault = &faults[0];
    let detect = fault["expectations"]
        .as_array()
        .expect("expectations[]")
        .iter()
        .find(|expectation| expectation["kind"] == "detect")
        .expect("a detect expectation");
    (&fault["verdict"], detect)
}

fn assert_detected_by(report: &Value, source: &str) {
    let (verdict, detect) = detection(report);
    assert_eq!(verdict, "detected", "{report:#}");
    assert_eq!(detect["outcome"], "met", "{report:#}");
    assert!(
        detect["answeredBy"]
            .as_array()
            .is_some_and(|by| by.iter().any(|name| name
                .as_str()
                .is_some_and(|name| name.eq_ignore_ascii_case(source)))),
        "answered by {source}: {report:#}"
    );
    assert!(detect["latencyMs"].as_u64().is_some(), "{report:#}");
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

fn finding(id: &str, bucket: &str, observed: SystemTime) -> AwsSecurityFinding {
    let at = rfc3339(observed);
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        .product_name("s3-guard")
        .generator_id("s3-guard/public-acl")
        .aws_account_id("123456789012")
        .created_at(&at)
        .updated_at(&at)
        .last_observed_at(&at)
        .title("S3 bucket grants AllUsers READ")
        .description("The bucket ACL grants read access to everyone.")
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .resources(
            Resource::builder()
                .r#type("AwsS3Bucket")
                .id(format!("arn:aws:s3:::{bucket}"))
                .build(),
        )
        .build()
}

/// Security Hub enabled in moto, holding the findings that must not count: about the bucket an hour before
/// the fault, and about another bucket.
async fn security_hub_with_findings_that_must_not_count(
    moto: &MotoServer,
) -> aws_sdk_securityhub::Client {
    let hub = aws_sdk_securityhub::Client::new(&sdk_config(&moto.endpoint).await);
    hub.enable_security_hub().send().await.unwrap();
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    hub.batch_import_findings()
        .findings(finding("stale", BUCKET, an_hour_ago))
        .findings(finding("other", OTHER_BUCKET, SystemTime::now()))
        .send()
        .await
        .unwrap();
    hub
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_hub_finding_is_polled_and_detects_the_fault() {
    let (moto, aws) = estate().await;
    let hub = security_hub_with_findings_that_must_not_count(&moto).await;
    let filer = hub.clone();
    let detector = detector(&aws, move || async move {
        let filed = filer
            .batch_import_findings()
            .findings(finding("fresh", BUCKET, SystemTime::now()))
            .send()
            .await
            .unwrap();
        assert_eq!(filed.failed_count(), Some(0));
    });
    let dir = tempfile::tempdir().unwrap();
    let experiment = experiment(
        "s3-guard",
        "  sources:\n    - { type: aws-securityhub, interval: 300ms }\n",
    );
    let (code, report) = rdfi_run(&moto, dir.path(), &experiment, &[]).await;
    detector.abort();
    assert_eq!(code, 0, "{report:#}");
    assert_detected_by(&report, "s3-guard");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_fresh_finding_the_polled_security_hub_misses_the_fault() {
    let (moto, aws) = estate().await;
    security_hub_with_findings_that_must_not_count(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let experiment = experiment(
        "s3-guard",
        "  sources:\n    - { type: aws-securityhub, interval: 300ms }\n",
    );
    let (code, report) = rdfi_run(&moto, dir.path(), &experiment, &[]).await;
    assert_eq!(code, 1, "{report:#}");
    let (verdict, detect) = detection(&report);
    assert_eq!(verdict, "missed", "{report:#}");
    assert_eq!(detect["outcome"], "failed", "{report:#}");
    drop(aws);
}

/// A Prowler-shaped OCSF Detection Finding (its `-M json-ocsf` output is an array of these).
fn ocsf_finding(bucket: &str, observed: SystemTime) -> Value {
    json!({
        "class_uid": 2004,
        "category_uid": 2,
        "type_uid": 200401,
        "activity_id": 1,
        "severity_id": 4,
        "severity": "High",
        "status_code": "FAIL",
        "status": "New",
        "time": observed.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
        "message": format!("S3 Bucket {bucket} has public ACL grants."),
        "finding_info": {
            "uid": format!("prowler-aws-s3_bucket_public_access-123456789012-us-east-1-{bucket}"),
            "title": "Ensure there are no S3 buckets open to Everyone or Any AWS user."
        },
        "metadata": {"product": {"name": "Prowler", "vendor_name": "Prowler"}, "version": "1.4.0"},
        "resources": [{
            "uid": format!("arn:aws:s3:::{bucket}"),
            "name": bucket,
            "type": "AwsS3Bucket",
            "region": "us-east-1"
        }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_file_appearing_in_a_folder_given_by_source_detects_the_fault() {
    let (moto, aws) = estate().await;
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("prowler-output");
    std::fs::create_dir(&results).unwrap();
    // Already there before the fault: last week's scan of the same bucket, and another bucket's finding.
    std::fs::write(
        results.join("last-week.ocsf.json"),
        json!([ocsf_finding(
            BUCKET,
            SystemTime::now() - Duration::from_secs(7 * 86_400)
        )])
        .to_string(),
    )
    .unwrap();
    let folder = results.clone();
    let detector = detector(&aws, move || async move {
        let scan = json!([
            ocsf_finding(OTHER_BUCKET, SystemTime::now()),
            ocsf_finding(BUCKET, SystemTime::now()),
        ]);
        // Written as scanners do: to a temporary name, then renamed into place.
        let partial = folder.join("scan.ocsf.json.tmp");
        std::fs::write(&partial, scan.to_string()).unwrap();
        std::fs::rename(&partial, folder.join("scan.ocsf.json")).unwrap();
    });
    let source = format!(
        "{{type: folder, path: {}, interval: 200ms}}",
        results.display()
    );
    let (code, report) = rdfi_run(
        &moto,
        dir.path(),
        &experiment("prowler", ""),
        &["--source", &source],
    )
    .await;
    detector.abort();
    assert_eq!(code, 0, "{report:#}");
    assert_detected_by(&report, "prowler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_on_a_nats_subject_read_through_a_field_mapping_detects_the_fault() {
    let (moto, aws) = estate().await;
    let nats = NatsServer::start();
    let client = async_nats::connect(&nats.url).await.unwrap();
    let publisher = client.clone();
    let detector = detector(&aws, move || async move {
        for bucket in [OTHER_BUCKET, BUCKET] {
            let alert = json!({"alert": {
                "arn": format!("arn:aws:s3:::{bucket}"),
                "name": "bucket readable by everyone",
                "level": "CRITICAL",
            }});
            publisher
                .publish("alerts.cloud", alert.to_string().into())
                .await
                .unwrap();
        }
        publisher.flush().await.unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let experiment = experiment(
        "cloud-alerts",
        &format!(
            "  sources:\n    - type: nats\n      name: cloud-alerts\n      url: {}\n      subject: alerts.cloud\n      fields: {{ resource: /alert/arn, title: /alert/name, severity: /alert/level }}\n",
            nats.url
        ),
    );
    let (code, report) = rdfi_run(&moto, dir.path(), &experiment, &[]).await;
    detector.abort();
    assert_eq!(code, 0, "{report:#}");
    assert_detected_by(&report, "cloud-alerts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_source_exits_2_naming_it_and_changes_nothing() {
    let (moto, aws) = estate().await;
    let baseline = aws.acl_lines(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    for (extra, expected) in [
        (
            vec!["--source", "{type: splunk}"],
            "--source #1:1:8: source.type: unknown source type \"splunk\"",
        ),
        (
            vec!["--source", "{type: folder}"],
            "source.path: a folder source needs path",
        ),
        (
            vec![
                "--source",
                "{type: nats, subject: alerts, fields: {resource: /arn}}",
            ],
            "needs url (nats://HOST:PORT), or rdfi run over NATS",
        ),
    ] {
        let file = dir.path().join("experiment.yaml");
        std::fs::write(&file, experiment("anyone", "")).unwrap();
        let output = tokio::process::Command::new(rdfi_binary("rdfi"))
            .args(["run", &file.display().to_string()])
            .args(["--aws-endpoint", &moto.endpoint])
            .args([
                "--state-dir",
                &dir.path().join("state").display().to_string(),
            ])
            .args(&extra)
            .envs(moto.process_env())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
    assert_eq!(aws.acl_lines(BUCKET).await, baseline);
}
