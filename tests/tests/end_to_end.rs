//! The whole loop against moto_server: the five services as separate processes over a real nats-server, and
//! `rdfi run` in one process on the in-process bus. Stand-in controls watch the resources through the AWS SDK
//! and answer as real detective and corrective controls do.

use std::time::Duration;

use rdfi_proto::v1::knowledge_service_client::KnowledgeServiceClient;
use rdfi_proto::v1::{GetRunRequest, ListFindingsRequest, Verdict};
use rdfi_tests::aws::{Clients, clients};
use rdfi_tests::cluster::{Cluster, report_of};
use rdfi_tests::control::{post_signal, watch};
use rdfi_tests::{MotoServer, NatsServer, experiment_yaml, free_port, rdfi_binary};
use serde_json::Value;

const BUCKET_FAULT: &str = "aws.s3.bucket-public-acl";
const ADMIN_FAULT: &str = "aws.iam.user-admin-policy-attached";

fn only_fault(report: &Value) -> &Value {
    let faults = report["faults"].as_array().expect("faults[]");
    assert_eq!(faults.len(), 1, "one fault planned: {report:#}");
    &faults[0]
}

async fn start_estate() -> (NatsServer, MotoServer, Clients) {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    (nats, moto, aws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bucket_is_detected_and_restored_grant_for_grant_by_five_processes_over_nats() {
    let (nats, moto, aws) = start_estate().await;
    aws.create_bucket("payments-exports", &[("rdfi-target", "true")])
        .await;
    aws.create_bucket("untagged-archive", &[("team", "payments")])
        .await;
    let baseline = aws.acl_lines("payments-exports").await;
    let untagged_baseline = aws.acl_lines("untagged-archive").await;
    assert!(baseline.len() >= 6, "a non-trivial ACL: {baseline:?}");
    let cluster = Cluster::start(&nats, &moto);

    let watched = aws.clone();
    let webhook = cluster.webhook_url.clone();
    let detector = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public("payments-exports").await }
        },
        move || async move {
            post_signal(
                &webhook,
                "arn:aws:s3:::payments-exports",
                "stand-in-detector",
            )
            .await
        },
    );
    // Asks for two targets: only the opted-in bucket may be one.
    let experiment =
        experiment_yaml(BUCKET_FAULT, "3s", None, "3s").replace("maxTargets: 1", "maxTargets: 2");
    let (code, report) = cluster.submit(&experiment).await;
    detector.abort();

    assert_eq!(code, 0, "every hypothesis held: {report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "detected", "{report:#}");
    assert_eq!(fault["resource"], "arn:aws:s3:::payments-exports");
    let ttd = fault["timeToDetectMs"].as_u64().expect("a time to detect");
    assert!(
        (250..10_000).contains(&ttd),
        "plausible time to detect: {ttd} ms"
    );
    assert!(fault["timeToCorrectMs"].is_null());
    let detect = &fault["expectations"][0];
    assert_eq!(detect["kind"], "detect", "{report:#}");
    assert_eq!(detect["outcome"], "met", "{report:#}");
    assert_eq!(detect["latencyMs"], ttd, "{report:#}");
    assert_eq!(detect["answeredBy"][0], "stand-in-detector", "{report:#}");
    assert_eq!(report["tested"], 1, "{report:#}");
    assert_eq!(fault["revertVerified"], true);
    assert_eq!(
        aws.acl_lines("payments-exports").await,
        baseline,
        "the ACL is back, grant for grant"
    );
    assert_eq!(
        aws.acl_lines("untagged-archive").await,
        untagged_baseline,
        "the untagged bucket is untouched"
    );
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("1 of 2"),
        "{report:#}"
    );

    let mut knowledge = KnowledgeServiceClient::connect(cluster.knowledge_url.clone())
        .await
        .unwrap();
    let run = knowledge
        .get_run(GetRunRequest {
            run_id: report["runId"].as_str().unwrap().to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let stored = &run.faults[0];
    assert_eq!(stored.verdict(), Verdict::Detected);
    assert_eq!(stored.state(), rdfi_proto::v1::FaultState::Reverted);
    assert!(
        stored
            .observations
            .iter()
            .any(|o| o.kind == "signal" && o.source == "stand-in-detector")
    );

    // The audit trail: the injection and the revert, by the executor as moto's identity, and the revert
    // leaves the state hashing as it did before the injection.
    let run_id = report["runId"].as_str().unwrap();
    let (code, trail) = report_of(
        cluster
            .rdfi(&[
                "audit",
                "--run",
                run_id,
                "--knowledge",
                &cluster.knowledge_url,
                "--format",
                "json",
            ])
            .await,
    );
    assert_eq!(code, 0, "{trail:#}");
    let entries = trail.as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["inject", "revert"], "{trail:#}");
    let (inject, revert) = (&entries[0], &entries[1]);
    for entry in entries {
        assert_eq!(entry["resource"], "arn:aws:s3:::payments-exports");
        let actor = entry["actor"].as_str().unwrap();
        assert!(
            actor.starts_with("rdfi-executor ") && actor.contains(" as arn:aws:"),
            "{actor}"
        );
        for hash in ["stateBeforeSha256", "stateAfterSha256"] {
            assert_eq!(entry[hash].as_str().unwrap().len(), 64, "{entry:#}");
        }
    }
    assert_ne!(inject["stateBeforeSha256"], inject["stateAfterSha256"]);
    assert_eq!(revert["stateBeforeSha256"], inject["stateAfterSha256"]);
    assert_eq!(
        revert["stateAfterSha256"], inject["stateBeforeSha256"],
        "restored exactly: {trail:#}"
    );
}

/// An Alertmanager webhook notification (version 4), as Alertmanager posts it to a receiver.
fn alertmanager(status: &str, bucket: &str) -> Value {
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"S3BucketPublic\"}",
        "status": status,
        "receiver": "security-pager",
        "groupLabels": {"alertname": "S3BucketPublic"},
        "commonLabels": {"alertname": "S3BucketPublic"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.internal:9093",
        "truncatedAlerts": 0,
        "alerts": [{
            "status": status,
            "labels": {
                "alertname": "S3BucketPublic",
                "severity": "critical",
                "arn": format!("arn:aws:s3:::{bucket}"),
            },
            "annotations": {"summary": format!("bucket {bucket} grants AllUsers READ")},
            "startsAt": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.internal:9090/graph",
            "fingerprint": "c6f6b1a1e6d3b2a0"
        }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alertmanager_notification_detects_the_fault_through_five_processes_over_nats() {
    let (nats, moto, aws) = start_estate().await;
    aws.create_bucket("payments-exports", &[("rdfi-target", "true")])
        .await;
    let cluster = Cluster::start(&nats, &moto);
    let watched = aws.clone();
    let webhook = cluster.webhook_url.clone();
    let detector = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public("payments-exports").await }
        },
        move || async move {
            let client = reqwest::Client::new();
            // A resolved alert on the bucket and a firing one on another are not detections of this fault.
            for (status, bucket) in [
                ("resolved", "payments-exports"),
                ("firing", "another-bucket"),
                ("firing", "payments-exports"),
            ] {
                let answer = client
                    .post(format!("{webhook}/v1/signals"))
                    .json(&alertmanager(status, bucket))
                    .send()
                    .await
                    .expect("the webhook answers");
                assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
            }
        },
    );
    let experiment = experiment_yaml(BUCKET_FAULT, "4s", None, "4s").replace(
        "detect: { within: 4s }",
        "detect: { within: 4s, sources: [security-pager] }",
    );
    let (code, report) = cluster.submit(&experiment).await;
    detector.abort();

    assert_eq!(code, 0, "{report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "detected", "{report:#}");
    let detect = &fault["expectations"][0];
    assert_eq!(detect["outcome"], "met", "{report:#}");
    assert_eq!(
        detect["answeredBy"],
        serde_json::json!(["security-pager"]),
        "{report:#}"
    );
    assert!(detect["latencyMs"].as_u64().is_some(), "{report:#}");
    assert_eq!(fault["revertVerified"], true, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undetected_public_bucket_is_missed_exits_1_and_leaves_a_queryable_finding() {
    let (nats, moto, aws) = start_estate().await;
    aws.create_bucket("ml-datasets", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("ml-datasets").await;
    let cluster = Cluster::start(&nats, &moto);

    let (code, report) = cluster
        .submit(&experiment_yaml(BUCKET_FAULT, "1s", None, "2s"))
        .await;

    assert_eq!(code, 1, "a hypothesis failed: {report:#}");
    assert_eq!(only_fault(&report)["verdict"], "missed");
    assert_eq!(
        report["findings"].as_array().map(Vec::len),
        Some(1),
        "{report:#}"
    );
    assert_eq!(aws.acl_lines("ml-datasets").await, baseline);
    let mut knowledge = KnowledgeServiceClient::connect(cluster.knowledge_url.clone())
        .await
        .unwrap();
    let findings = knowledge
        .list_findings(ListFindingsRequest {
            run_id: report["runId"].as_str().unwrap().to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].fault_id, BUCKET_FAULT);
    assert_eq!(findings[0].severity, "high");
    assert!(findings[0].remediation.contains("Block Public Access"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bucket_restored_by_a_corrective_control_is_corrected() {
    let (nats, moto, aws) = start_estate().await;
    aws.create_bucket("web-assets", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("web-assets").await;
    let cluster = Cluster::start(&nats, &moto);

    let watched = aws.clone();
    let corrector_clients = aws.clone();
    let corrector = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public("web-assets").await }
        },
        move || async move { corrector_clients.remove_public_grants("web-assets").await },
    );
    let (code, report) = cluster
        .submit(&experiment_yaml(BUCKET_FAULT, "2s", Some("3s"), "3s"))
        .await;
    corrector.abort();

    assert_eq!(code, 0, "{report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "corrected", "{report:#}");
    let ttc = fault["timeToCorrectMs"]
        .as_u64()
        .expect("a time to correct");
    assert!(
        (250..3_000).contains(&ttc),
        "plausible time to correct: {ttc} ms"
    );
    assert_eq!(fault["revertVerified"], true);
    assert_eq!(aws.acl_lines("web-assets").await, baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrective_control_that_removes_only_the_public_write_grant_is_a_partial_restore() {
    let (nats, moto, aws) = start_estate().await;
    aws.create_bucket("uploads", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("uploads").await;
    let cluster = Cluster::start(&nats, &moto);
    let watched = aws.clone();
    let corrector_clients = aws.clone();
    let corrector = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public("uploads").await }
        },
        move || async move {
            corrector_clients
                .remove_public_grant("uploads", "WRITE")
                .await
        },
    );
    let experiment = experiment_yaml(
        "aws.s3.bucket-public-read-write-acl",
        "3s",
        Some("3s"),
        "3s",
    )
    .replace("  detect: { within: 3s }\n", "");
    let (code, report) = cluster.submit(&experiment).await;
    corrector.abort();

    assert_eq!(code, 1, "the bucket stayed public: {report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "missed", "{report:#}");
    assert!(fault["timeToCorrectMs"].is_null(), "{report:#}");
    let correct = &fault["expectations"][0];
    assert_eq!(correct["kind"], "correct", "{report:#}");
    assert_eq!(correct["outcome"], "failed", "{report:#}");
    assert!(
        correct["reason"].as_str().is_some_and(
            |reason| reason.starts_with("only partly restored (1 of 2 changes left at")
        ),
        "{report:#}"
    );
    assert_eq!(fault["revertVerified"], true, "{report:#}");
    assert_eq!(aws.acl_lines("uploads").await, baseline);

    let mut knowledge = KnowledgeServiceClient::connect(cluster.knowledge_url.clone())
        .await
        .unwrap();
    let run = knowledge
        .get_run(GetRunRequest {
            run_id: report["runId"].as_str().unwrap().to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        run.faults[0]
            .observations
            .iter()
            .any(|o| o.kind == "partially_restored" && o.title.ends_with("1 of 2 changes left")),
        "{:?}",
        run.faults[0].observations
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_policy_on_a_user_is_detected_and_only_it_is_detached() {
    let (nats, moto, aws) = start_estate().await;
    let arn = aws
        .create_user("ci-deployer", &[("rdfi-target", "true")])
        .await;
    aws.create_user("break-glass", &[]).await;
    let baseline = aws.user_policies("ci-deployer").await;
    let untagged_baseline = aws.user_policies("break-glass").await;
    assert_eq!(
        baseline.len(),
        3,
        "two managed policies and an inline one: {baseline:?}"
    );
    let cluster = Cluster::start(&nats, &moto);

    let watched = aws.clone();
    let webhook = cluster.webhook_url.clone();
    let signal_arn = arn.clone();
    let detector = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.user_is_admin("ci-deployer").await }
        },
        move || async move { post_signal(&webhook, &signal_arn, "stand-in-iam-detector").await },
    );
    let (code, report) = cluster
        .submit(&experiment_yaml(ADMIN_FAULT, "3s", None, "3s"))
        .await;
    detector.abort();

    assert_eq!(code, 0, "{report:#}");
    let fault = only_fault(&report);
    assert_eq!(fault["verdict"], "detected", "{report:#}");
    assert_eq!(fault["resource"], arn);
    assert!(
        fault["timeToDetectMs"]
            .as_u64()
            .is_some_and(|ttd| (250..10_000).contains(&ttd))
    );
    assert_eq!(fault["revertVerified"], true);
    assert_eq!(
        aws.user_policies("ci-deployer").await,
        baseline,
        "only AdministratorAccess was detached"
    );
    assert_eq!(aws.user_policies("break-glass").await, untagged_baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdfi_run_runs_the_loop_in_one_process_on_the_in_process_bus() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("reports", &[("rdfi-target", "true")])
        .await;
    let arn = aws.create_user("analyst", &[("rdfi-target", "true")]).await;
    let bucket_baseline = aws.acl_lines("reports").await;
    let user_baseline = aws.user_policies("analyst").await;
    let state = tempfile::tempdir().unwrap();
    let webhook_port = free_port();
    let webhook = format!("http://127.0.0.1:{webhook_port}");

    // A detector for the bucket, a reconciler for the user.
    let watched = aws.clone();
    let detector = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.bucket_is_public("reports").await }
        },
        move || async move { post_signal(&webhook, "reports", "stand-in-detector").await },
    );
    let watched = aws.clone();
    let reconciler_clients = aws.clone();
    let reconciler = watch(
        Duration::from_millis(300),
        move || {
            let watched = watched.clone();
            async move { watched.user_is_admin("analyst").await }
        },
        move || async move { reconciler_clients.detach_admin("analyst").await },
    );
    let experiment = experiment_yaml(BUCKET_FAULT, "3s", Some("3s"), "3s").replace(
        "faults:\n",
        &format!("faults:\n  - id: {ADMIN_FAULT}\n    maxTargets: 1\n"),
    );
    let file = state.path().join("experiment.yaml");
    std::fs::write(&file, experiment).unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args([
            "run",
            &file.display().to_string(),
            "--format",
            "json",
            "--poll-interval",
            "200ms",
        ])
        .args([
            "--aws-endpoint",
            &moto.endpoint,
            "--webhook-listen",
            &format!("127.0.0.1:{webhook_port}"),
        ])
        .args(["--state-dir", &state.path().display().to_string()])
        .envs(moto.process_env())
        .output()
        .await
        .unwrap();
    detector.abort();
    reconciler.abort();
    let (code, report) = report_of(output);

    assert_eq!(code, 0, "{report:#}");
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{report:#}");
    let verdict_of = |fault_id: &str| {
        faults
            .iter()
            .find(|fault| fault["faultId"] == fault_id)
            .map(|fault| (fault["verdict"].clone(), fault["resource"].clone()))
            .unwrap()
    };
    assert_eq!(
        verdict_of(BUCKET_FAULT).0,
        "detected",
        "the detector named the bucket by name: {report:#}"
    );
    assert_eq!(
        verdict_of(ADMIN_FAULT),
        (Value::from("corrected"), Value::from(arn))
    );
    assert_eq!(aws.acl_lines("reports").await, bucket_baseline);
    assert_eq!(aws.user_policies("analyst").await, user_baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_experiment_file_exits_2_naming_the_line_and_calls_no_cloud() {
    // Stands where AWS would be, and counts who calls.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("broken.yaml");
    std::fs::write(
        &file,
        experiment_yaml(BUCKET_FAULT, "10s", None, "1m").replace("maxTargets: 1", "maxTarget: 1"),
    )
    .unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args([
            "run",
            &file.display().to_string(),
            "--aws-endpoint",
            &endpoint,
        ])
        .args(["--state-dir", &state.path().display().to_string()])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.yaml:12:"),
        "names the file and line: {stderr}"
    );
    assert!(stderr.contains("maxTarget"), "names the field: {stderr}");
    let called = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(called.is_err(), "no cloud call was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_matches_no_target_tests_nothing_and_exits_4() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    // A bucket, but not opted in: nothing may be a target.
    aws.create_bucket("untagged", &[("team", "payments")]).await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("experiment.yaml");
    std::fs::write(&file, experiment_yaml(BUCKET_FAULT, "1s", None, "2s")).unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["run", &file.display().to_string(), "--format", "json"])
        .args(["--aws-endpoint", &moto.endpoint])
        .args(["--webhook-listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--state-dir", &state.path().display().to_string()])
        .envs(moto.process_env())
        .output()
        .await
        .unwrap();
    let (code, report) = report_of(output);
    assert_eq!(code, 4, "nothing was tested: {report:#}");
    assert_eq!(report["tested"], 0, "{report:#}");
    assert!(
        report["nothingTested"]
            .as_str()
            .is_some_and(|why| why.contains("no resource matched")),
        "says why: {report:#}"
    );
    assert_eq!(
        report["hypothesesHeld"], true,
        "no hypothesis failed either"
    );
}
