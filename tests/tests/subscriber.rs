//! The example subscriber of docs/events.md (examples/subscriber/subscribe.py, Python with nats-py, decoding
//! the protobuf of proto/rdfi/v1/events.proto) prints the findings of a run over a real nats-server.

use std::process::Command;
use std::time::Duration;

use rdfi_tests::{
    NatsServer, Process, free_port, rdfi_binary, venv_program, wait_until, workspace_root,
};

#[tokio::test]
async fn the_python_subscriber_prints_each_finding_as_it_arrives() {
    let nats = NatsServer::start();
    let root = workspace_root();
    // Started first: it waits for the stream the first rdfi service creates.
    let mut subscriber = Process::spawn(
        &venv_program("python"),
        &[
            root.join("examples/subscriber/subscribe.py")
                .display()
                .to_string(),
            "--nats".to_owned(),
            nats.url.clone(),
            "--count".to_owned(),
            "1".to_owned(),
        ],
        &[],
    );
    assert!(
        wait_until(Duration::from_secs(60), || {
            let log = subscriber.log();
            async move { log.contains("waiting for the RDFI stream") }
        })
        .await,
        "the subscriber did not start: {}",
        subscriber.log()
    );
    // The demo's experiment on the sandbox: the unmonitored bucket is missed, a finding.
    let state = tempfile::tempdir().unwrap();
    let run = Command::new(rdfi_binary("rdfi"))
        .arg("run")
        .arg(root.join("cli/src/demo.yaml"))
        .args(["--nats", &nats.url, "--state-dir"])
        .arg(state.path())
        .args(["--webhook-listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .expect("rdfi run");
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        wait_until(Duration::from_secs(30), || {
            let done = !subscriber.is_running();
            async move { done }
        })
        .await,
        "the subscriber did not see the analysis completed: {}",
        subscriber.log()
    );
    let log = subscriber.log();
    assert!(!log.contains("Traceback"), "the subscriber failed: {log}");
    let findings: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("finding "))
        .collect();
    assert_eq!(findings.len(), 1, "{log}");
    assert!(
        findings[0].starts_with(
            "finding HIGH aws.s3.bucket-public-acl on arn:aws:s3:::ml-training-data: \
             S3 bucket ACL grants READ to everyone (AllUsers) went uncaught on ml-training-data"
        ),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|line| line.starts_with("analysis completed: run ")
                && line.ends_with("4 fault(s), 1 finding(s), 4 tested, hypotheses held: no")),
        "{log}"
    );
}
