//! The abort path never waits behind other work: in one process, with every thread of the runtime the other
//! services run on stuck, an abort over gRPC still reverts and verifies the active faults.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::bus::Bus;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::{CancellationToken, events};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::executor_service_client::ExecutorServiceClient;
use rdfi_proto::v1::{AbortRequest, FaultPlanned, Hypothesis};
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use rdfi_tests::{free_port, wait_until};

const FAULT: &str = "aws.s3.bucket-public-acl";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_reverts_while_every_other_thread_is_stuck() {
    let opted_in = BTreeMap::from([("rdfi-target".to_owned(), "true".to_owned())]);
    let account = Arc::new(SandboxAccount::new().with_resource("aws.s3.bucket", "held", opted_in));
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let state = tempfile::tempdir().unwrap();
    let port = free_port();
    let engine = Engine::start(
        EngineConfig {
            services: ["executor"].into_iter().collect(),
            executor_listen: Some(rdfi_core::grpc::Listen::plain(
                format!("127.0.0.1:{port}").parse().unwrap(),
            )),
            ..EngineConfig::one_process(
                bus.clone(),
                Arc::new(SandboxProvider::new(account.clone())),
                state.path().to_path_buf(),
            )
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let resource = account.resource("held").unwrap().resource;
    bus.publish(&events::event(
        "test",
        "run",
        &events::fault_instance_id("run", FAULT, &resource.id),
        "",
        Payload::FaultPlanned(FaultPlanned {
            fault_id: FAULT.to_owned(),
            resource: Some(resource),
            hypothesis: Some(Hypothesis {
                detect_within_ms: Some(600_000),
                correct_within_ms: None,
                ..Default::default()
            }),
            exposure_window_ms: 600_000,
            dry_run: false,
            allow_destructive: false,
            ..Default::default()
        }),
    ))
    .await
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let account = account.clone();
            async move { account.has_fault(FAULT, "held") }
        })
        .await,
        "injected"
    );

    // Every worker thread of this runtime (where the other services of the process run) is stuck.
    let stuck_done = Arc::new(AtomicBool::new(false));
    for _ in 0..2 {
        let done = stuck_done.clone();
        tokio::spawn(async move {
            std::thread::sleep(Duration::from_secs(10));
            done.store(true, Ordering::SeqCst);
        });
    }
    // The operator aborts from outside.
    let url = format!("http://127.0.0.1:{port}");
    let aborted = std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let mut client = ExecutorServiceClient::connect(url).await.unwrap();
                client
                    .abort(AbortRequest {
                        run_id: String::new(),
                        reason: "operator".to_owned(),
                    })
                    .await
                    .unwrap()
                    .into_inner()
            })
    })
    .join()
    .unwrap();
    assert!(
        !stuck_done.load(Ordering::SeqCst),
        "the abort answered while the other threads were still stuck"
    );
    assert_eq!(aborted.reverted, 1);
    assert_eq!(aborted.still_open, 0);
    assert!(!account.has_fault(FAULT, "held"), "reverted and verified");
    engine.stop().await.unwrap();
}
