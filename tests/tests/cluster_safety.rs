//! Safety in cluster mode: a restarting nats-server, executor replicas sharing the plan stream, and abort
//! through gRPC and through the safety.abort event.

use std::time::Duration;

use rdfi_tests::aws::{Clients, clients};
use rdfi_tests::cluster::{Cluster, STOP_SOURCE};
use rdfi_tests::control::post_signal;
use rdfi_tests::{MotoServer, NatsServer, experiment_yaml, wait_until};

const BUCKET_FAULT: &str = "aws.s3.bucket-public-acl";

/// How many of the buckets are public now.
async fn public_count(aws: &Clients, names: &[String]) -> usize {
    let mut public = 0;
    for name in names {
        if aws.bucket_is_public(name).await {
            public += 1;
        }
    }
    public
}

fn campaign(max_targets: u32, exposure: &str) -> String {
    experiment_yaml(BUCKET_FAULT, exposure, None, exposure)
        .replace("maxTargets: 1", &format!("maxTargets: {max_targets}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_in_the_middle_loses_no_event() {
    let mut nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    for name in ["restart-a", "restart-b"] {
        aws.create_bucket(name, &[("rdfi-target", "true")]).await;
    }
    let baseline = (
        aws.acl_lines("restart-a").await,
        aws.acl_lines("restart-b").await,
    );
    let cluster = Cluster::start(&nats, &moto);
    let submitted = {
        let experiment = campaign(2, "4s");
        let cluster = &cluster;
        async move { cluster.submit(&experiment).await }
    };
    let restart = async {
        let injected = wait_until(Duration::from_secs(30), || {
            let aws = aws.clone();
            async move {
                aws.bucket_is_public("restart-a").await && aws.bucket_is_public("restart-b").await
            }
        })
        .await;
        assert!(injected, "both faults were injected");
        nats.stop();
        tokio::time::sleep(Duration::from_secs(6)).await; // the deadline passes while NATS is down
        nats.start_again();
    };
    let ((code, report), ()) = tokio::join!(submitted, restart);

    assert_eq!(code, 1, "no detector, so missed: {report:#}");
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{report:#}");
    for fault in faults {
        assert_eq!(fault["verdict"], "missed", "{fault:#}");
        assert_eq!(fault["state"], "reverted", "{fault:#}");
        assert_eq!(fault["revertVerified"], true, "{fault:#}");
    }
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (
            aws.acl_lines("restart-a").await,
            aws.acl_lines("restart-b").await
        ),
        baseline
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_on_one_plan_stream_inject_each_fault_once() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let names: Vec<String> = (0..6).map(|index| format!("replica-{index}")).collect();
    for name in &names {
        aws.create_bucket(name, &[("rdfi-target", "true")]).await;
    }
    let mut cluster = Cluster::with_executors(&nats, &moto, 2);
    let (code, report) = cluster.submit(&campaign(6, "2s")).await;

    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        report["faults"].as_array().map(Vec::len),
        Some(6),
        "{report:#}"
    );
    let injections: Vec<usize> = cluster
        .executors
        .iter_mut()
        .map(|executor| executor.log().matches("fault injected").count())
        .collect();
    assert_eq!(
        injections.iter().sum::<usize>(),
        6,
        "each fault injected exactly once: {injections:?}"
    );
    for name in &names {
        assert!(!aws.bucket_is_public(name).await, "{name} reverted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdfi_abort_over_grpc_reverts_at_once() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("abort-grpc", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("abort-grpc").await;
    let cluster = Cluster::start(&nats, &moto);
    let experiment = campaign(1, "10m");
    let submitted = cluster.submit(&experiment);
    let abort = async {
        let injected = wait_until(Duration::from_secs(30), || {
            let aws = aws.clone();
            async move { aws.bucket_is_public("abort-grpc").await }
        })
        .await;
        assert!(injected);
        let output = cluster
            .rdfi(&["abort", "--executor", &cluster.executor_url])
            .await;
        let said = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{said}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(said.contains("reverted and verified 1 fault"), "{said}");
        // The abort answers once the revert is verified.
        assert_eq!(aws.acl_lines("abort-grpc").await, baseline);
    };
    let ((code, report), ()) = tokio::join!(submitted, abort);
    assert_eq!(code, 3, "an abort exits 3: {report:#}");
    let fault = &report["faults"][0];
    assert_eq!(fault["revertVerified"], true);
    assert_eq!(fault["verdict"], "inconclusive", "never missed: {report:#}");
    assert_eq!(
        fault["cutShort"], "aborted before its deadline",
        "{report:#}"
    );
    assert_eq!(report["aborted"], 1, "{report:#}");
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safety_abort_event_reaches_every_executor() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let names: Vec<String> = (0..4).map(|index| format!("abort-event-{index}")).collect();
    for name in &names {
        aws.create_bucket(name, &[("rdfi-target", "true")]).await;
    }
    let cluster = Cluster::with_executors(&nats, &moto, 2);
    let experiment = campaign(4, "10m");
    let submitted = cluster.submit(&experiment);
    let abort = async {
        let injected = wait_until(Duration::from_secs(30), || {
            let (aws, names) = (aws.clone(), names.clone());
            async move { public_count(&aws, &names).await == names.len() }
        })
        .await;
        assert!(injected, "all four injected");
        let output = cluster
            .rdfi(&["abort", "--nats", &cluster.nats_url, "--reason", "test"])
            .await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ((code, report), ()) = tokio::join!(submitted, abort);
    assert_eq!(code, 3, "an abort exits 3: {report:#}");
    assert_eq!(report["aborted"], 4, "{report:#}");
    for name in &names {
        assert!(!aws.bucket_is_public(name).await, "{name} reverted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_condition_signal_makes_the_monitor_abort_everything() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    for name in ["stop-a", "stop-b"] {
        aws.create_bucket(name, &[("rdfi-target", "true")]).await;
    }
    let cluster = Cluster::start(&nats, &moto);
    let experiment = campaign(2, "10m");
    let submitted = cluster.submit(&experiment);
    let alarm = async {
        let injected =
            wait_until(Duration::from_secs(30), || {
                let aws = aws.clone();
                async move {
                    aws.bucket_is_public("stop-a").await && aws.bucket_is_public("stop-b").await
                }
            })
            .await;
        assert!(injected);
        // An SLO alarm about something else entirely: the stop condition holds.
        post_signal(&cluster.webhook_url, "checkout-service", STOP_SOURCE).await;
    };
    let ((code, report), ()) = tokio::join!(submitted, alarm);
    assert_eq!(
        code, 3,
        "a stop condition aborts, and an abort exits 3: {report:#}"
    );
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["verdict"], "inconclusive", "{report:#}");
        assert!(
            fault["expectations"]
                .as_array()
                .unwrap()
                .iter()
                .all(|expectation| expectation["answeredBy"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|source| source != STOP_SOURCE)),
            "a stop-condition source is never a detection: {report:#}"
        );
    }
    for name in ["stop-a", "stop-b"] {
        assert!(!aws.bucket_is_public(name).await, "{name} reverted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_abort_over_nats_returns_nothing_turns_public() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let names: Vec<String> = (0..40)
        .map(|index| format!("stop-all-{index:02}"))
        .collect();
    for name in &names {
        aws.create_bucket(name, &[("rdfi-target", "true")]).await;
    }
    let cluster = Cluster::with_executors(&nats, &moto, 2);
    let experiment = campaign(40, "10m");
    let submitted = cluster.submit(&experiment);
    let abort = async {
        // Abort while the 40 planned faults are being injected.
        let started = wait_until(Duration::from_secs(30), || {
            let (aws, names) = (aws.clone(), names.clone());
            async move { public_count(&aws, &names).await > 0 }
        })
        .await;
        assert!(started, "injections started");
        let output = cluster
            .rdfi(&["abort", "--nats", &cluster.nats_url, "--reason", "test"])
            .await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // Sampled from outside for a while after the abort returned: no bucket is public.
        for _ in 0..5 {
            assert_eq!(
                public_count(&aws, &names).await,
                0,
                "a bucket is public after the abort returned"
            );
        }
    };
    let ((_code, report), ()) = tokio::join!(submitted, abort);
    let injected = report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|fault| fault["state"] == "reverted")
        .count();
    assert!(
        injected < 40,
        "the abort stopped the injections: {report:#}"
    );
    // The stop lasts: a new run injects nothing until `rdfi resume`.
    let (_, stopped_run) = cluster.submit(&campaign(2, "2s")).await;
    for fault in stopped_run["faults"].as_array().unwrap() {
        assert_eq!(fault["state"], "rejected", "{fault:#}");
        assert!(
            fault["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("stopped by an abort"),
            "{fault:#}"
        );
    }
    let resumed = cluster.rdfi(&["resume", "--nats", &cluster.nats_url]).await;
    assert_eq!(resumed.status.code(), Some(0));
    let (_, resumed_run) = cluster.submit(&campaign(1, "2s")).await;
    assert_eq!(
        resumed_run["faults"][0]["state"], "reverted",
        "{resumed_run:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_never_hold_two_faults_on_one_resource() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("one-resource", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("one-resource").await;
    let cluster = Cluster::with_executors(&nats, &moto, 2);
    // Two runs at once, each with a fault on the same bucket's ACL, taken by two executors. (Within one run the
    // planner never puts two faults on one resource; across runs only the executors' leases keep them apart.)
    let first = experiment_yaml(BUCKET_FAULT, "3s", None, "3s");
    let second = first.replace(BUCKET_FAULT, "aws.s3.bucket-public-read-write-acl");
    let ((_, one), (_, other)) = tokio::join!(cluster.submit(&first), cluster.submit(&second));
    let faults: Vec<serde_json::Value> = [&one, &other]
        .iter()
        .flat_map(|report| report["faults"].as_array().unwrap().clone())
        .collect();
    let report = serde_json::json!([one, other]);
    assert_eq!(faults.len(), 2, "{report:#}");
    let states: Vec<&str> = faults
        .iter()
        .map(|fault| fault["state"].as_str().unwrap_or_default())
        .collect();
    assert!(
        states.contains(&"reverted") && states.contains(&"rejected"),
        "one injected, the other refused: {report:#}"
    );
    let refused = faults
        .iter()
        .find(|fault| fault["state"] == "rejected")
        .unwrap();
    assert!(
        refused["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("already has an open fault"),
        "{refused:#}"
    );
    assert_eq!(aws.acl_lines("one-resource").await, baseline);
}
