//! Replicas over one NATS: one planner active at a time (its lease in JetStream KV) with a standby that takes
//! over when the active one is killed; knowledge on PostgreSQL, where every replica answers queries, one
//! records, and what was stored survives the replica that stored it.

use std::time::Duration;

use rdfi_tests::aws::clients;
use rdfi_tests::cluster::{Cluster, report_of};
use rdfi_tests::postgres::Postgres;
use rdfi_tests::{
    MotoServer, NatsServer, Process, experiment_yaml, free_port, ready, wait_for_port, wait_until,
};
use serde_json::Value;

const BUCKET_FAULT: &str = "aws.s3.bucket-public-acl";

/// `rdfi runs` against one knowledge replica: the run ids it lists.
async fn runs_listed(cluster: &Cluster, knowledge: &str) -> Vec<String> {
    let output = cluster
        .rdfi(&["runs", "--knowledge", knowledge, "--format", "json"])
        .await;
    let (code, listed) = report_of(output);
    assert_eq!(code, 0, "{listed:#}");
    listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|run| run["runId"].as_str().map(str::to_owned))
        .collect()
}

/// `rdfi submit` to the planner at `planner`; its exit code and report.
async fn submit_to(cluster: &Cluster, planner: &str, knowledge: &str) -> (i32, Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), experiment_yaml(BUCKET_FAULT, "1s", None, "1s")).unwrap();
    let output = cluster
        .rdfi(&[
            "submit",
            &file.path().display().to_string(),
            "--format",
            "json",
            "--planner",
            planner,
            "--knowledge",
            knowledge,
        ])
        .await;
    report_of(output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_planner_takes_over_when_the_active_one_is_killed() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    clients(&moto.endpoint)
        .await
        .create_bucket("failover-data", &[("rdfi-target", "true")])
        .await;
    let lease = ["--lease-ttl".to_owned(), "2s".to_owned()];
    let mut cluster = Cluster::with_options(&nats, &moto, 1, &lease, &[], "http");
    let (standby_port, standby_health) = (free_port(), free_port());
    let standby = cluster.replica(
        "planner",
        &[
            ("--planner-listen", format!("127.0.0.1:{standby_port}")),
            ("--health-listen", format!("127.0.0.1:{standby_health}")),
        ],
    );
    assert!(wait_for_port(standby_health, Duration::from_secs(30)));
    assert!(
        wait_until(Duration::from_secs(10), || async {
            standby.log().contains("standing by")
        })
        .await,
        "{}",
        standby.log()
    );
    // Not ready, and not serving submissions, while the other planner holds the lease.
    assert_eq!(ready(standby_health).await, Some(false));
    assert!(!wait_for_port(standby_port, Duration::from_millis(500)));

    drop(cluster.take("planner"));
    assert!(
        wait_until(Duration::from_secs(10), || async {
            ready(standby_health).await == Some(true)
        })
        .await,
        "the standby took the lease within its 2 s: {}",
        standby.log()
    );
    let (code, report) = submit_to(
        &cluster,
        &format!("http://127.0.0.1:{standby_port}"),
        &cluster.knowledge_url,
    )
    .await;
    assert_eq!(
        code, 1,
        "the new planner ran it (missed: no detector): {report:#}"
    );
    assert_eq!(report["faults"][0]["revertVerified"], true, "{report:#}");
    assert!(
        standby.log().contains("lease acquired"),
        "{}",
        standby.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowledge_replicas_on_postgresql_share_what_one_recorded_and_outlive_it() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    clients(&moto.endpoint)
        .await
        .create_bucket("shared-data", &[("rdfi-target", "true")])
        .await;
    let postgres = Postgres::start();
    let flags = [
        "--database".to_owned(),
        postgres.url.clone(),
        "--lease-ttl".to_owned(),
        "2s".to_owned(),
    ];
    let mut cluster = Cluster::with_options(&nats, &moto, 1, &flags, &[], "http");
    let second_port = free_port();
    let second = cluster.replica(
        "knowledge",
        &[("--knowledge-listen", format!("127.0.0.1:{second_port}"))],
    );
    assert!(wait_for_port(second_port, Duration::from_secs(30)));
    let second_url = format!("http://127.0.0.1:{second_port}");

    let (code, first) = submit_to(&cluster, &cluster.planner_url, &cluster.knowledge_url).await;
    assert_eq!(code, 1, "{first:#}");
    let first_run = first["runId"].as_str().unwrap().to_owned();
    // Both replicas answer from the one database.
    for knowledge in [&cluster.knowledge_url, &second_url] {
        assert_eq!(
            runs_listed(&cluster, knowledge).await,
            std::slice::from_ref(&first_run)
        );
    }

    // The first replica (which recorded, holding the lease) dies; the second records the next run.
    let first_replica: Process = cluster.take("knowledge");
    assert!(
        first_replica.log().contains("lease acquired"),
        "{}",
        first_replica.log()
    );
    drop(first_replica);
    let (code, next) = submit_to(&cluster, &cluster.planner_url, &second_url).await;
    assert_eq!(code, 1, "{next:#}");
    let next_run = next["runId"].as_str().unwrap().to_owned();
    let listed = runs_listed(&cluster, &second_url).await;
    assert!(
        listed.contains(&first_run) && listed.contains(&next_run),
        "{listed:?}"
    );
    assert!(second.log().contains("lease acquired"), "{}", second.log());

    // A knowledge service started again on the first one's port reports both runs, from PostgreSQL.
    let knowledge_port = cluster.knowledge_url.rsplit(':').next().unwrap().to_owned();
    let _restarted = cluster.replica(
        "knowledge",
        &[("--knowledge-listen", format!("127.0.0.1:{knowledge_port}"))],
    );
    assert!(wait_for_port(
        knowledge_port.parse().unwrap(),
        Duration::from_secs(30)
    ));
    let report = cluster
        .rdfi(&[
            "report",
            &first_run,
            "--knowledge",
            &cluster.knowledge_url,
            "--format",
            "json",
        ])
        .await;
    let (_, report) = report_of(report);
    assert_eq!(report["runId"], first_run.as_str(), "{report:#}");
    assert_eq!(report["faults"][0]["verdict"], "missed", "{report:#}");
}

/// A monitor killed while a fault is active: the monitor started after it learns the fault from the stream,
/// correlates a detector's signal that only it receives, and resumes polling, so that a corrective control's
/// fix is still seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_started_after_one_was_killed_mid_fault_sees_the_signal_and_the_correction() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("handover-data", &[("rdfi-target", "true")])
        .await;
    let mut cluster = Cluster::start(&nats, &moto);
    let first_monitor = cluster.take("monitor");
    let second_webhook = free_port();
    let handover = async {
        assert!(
            wait_until(Duration::from_secs(20), || aws
                .bucket_is_public("handover-data"))
            .await,
            "the fault was injected"
        );
        drop(first_monitor);
        let second = cluster.replica(
            "monitor",
            &[("--webhook-listen", format!("127.0.0.1:{second_webhook}"))],
        );
        assert!(wait_for_port(second_webhook, Duration::from_secs(30)));
        rdfi_tests::control::post_signal(
            &format!("http://127.0.0.1:{second_webhook}"),
            "arn:aws:s3:::handover-data",
            "stand-in-detector",
        )
        .await;
        aws.remove_public_grants("handover-data").await;
        second
    };
    let experiment = experiment_yaml(BUCKET_FAULT, "10s", Some("10s"), "10s");
    let ((code, report), second) = tokio::join!(cluster.submit(&experiment), handover);
    assert_eq!(code, 0, "{report:#}\n{}", second.log());
    let fault = &report["faults"][0];
    assert_eq!(fault["verdict"], "corrected", "{report:#}");
    let answered: Vec<&str> = fault["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|expectation| expectation["answeredBy"][0].as_str())
        .collect();
    assert!(answered.contains(&"stand-in-detector"), "{report:#}");
    assert!(
        second
            .log()
            .contains("resuming the polling of active faults"),
        "{}",
        second.log()
    );
}
