//! The executor's blast radius, on the in-process bus and the sandbox: planned faults it must refuse are
//! refused with a reason, as events, and the refused resources are never changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::{Bus, ConsumerConfig};
use rdfi_core::{CancellationToken, events, subjects};
use rdfi_executor::args::SafetyArgs;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{FaultPlanned, Hypothesis};
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_faults_are_events_with_reasons_and_change_nothing() {
    let opted_in = [("rdfi-target", "true")];
    let account = Arc::new(
        SandboxAccount::new()
            .with_resource("aws.s3.bucket", "prod-ledger", tags(&opted_in))
            .with_resource(
                "aws.s3.bucket",
                "tagged-protected",
                tags(&[("rdfi-target", "true"), ("rdfi-protected", "true")]),
            )
            .with_resource("aws.s3.bucket", "not-opted-in", tags(&[("team", "web")]))
            .with_resource("aws.s3.bucket", "ok-1", tags(&opted_in))
            .with_resource("aws.s3.bucket", "ok-2", tags(&opted_in))
            .with_resource("aws.s3.bucket", "over-cap", tags(&opted_in))
            .with_resource("aws.s3.bucket", "long-exposure", tags(&opted_in))
            .with_resource("aws.s3.bucket", "destructive", tags(&opted_in)),
    );
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let state = tempfile::tempdir().unwrap();
    let engine = Engine::start(
        EngineConfig {
            services: ["executor"].into_iter().collect(),
            safety: SafetyArgs {
                protected: vec!["arn:aws:s3:::prod-*".to_owned()],
                max_active_per_run: 2,
                max_exposure: Duration::from_secs(120),
                ..SafetyArgs::default()
            },
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
    let mut outcomes = bus
        .consume(ConsumerConfig::new(
            "test",
            &[subjects::FAULT_INJECTED, subjects::FAULT_REJECTED],
        ))
        .await
        .unwrap();
    let plan = [
        ("prod-ledger", 60),
        ("tagged-protected", 60),
        ("not-opted-in", 60),
        ("ok-1", 60),
        ("ok-2", 60),
        ("over-cap", 60),
        ("long-exposure", 600),
        ("destructive", 60),
    ];
    for (bucket, exposure_s) in plan {
        let resource = account.resource(bucket).unwrap().resource;
        // A fault that can lose data, planned by an experiment that does not allow it.
        let fault_id = if bucket == "destructive" {
            "aws.s3.bucket-lifecycle-expire-one-day"
        } else {
            "aws.s3.bucket-public-acl"
        };
        let fault_instance_id = events::fault_instance_id("run", fault_id, &resource.id);
        bus.publish(&events::event(
            "test",
            "run",
            &fault_instance_id,
            "",
            Payload::FaultPlanned(FaultPlanned {
                fault_id: fault_id.to_owned(),
                resource: Some(resource),
                hypothesis: Some(Hypothesis {
                    detect_within_ms: Some(1_000),
                    correct_within_ms: None,
                    ..Default::default()
                }),
                exposure_window_ms: exposure_s * 1_000,
                dry_run: false,
                allow_destructive: false,
                ..Default::default()
            }),
        ))
        .await
        .unwrap();
    }
    let mut outcome = HashMap::new();
    while outcome.len() < plan.len() {
        let delivery = tokio::time::timeout(Duration::from_secs(10), outcomes.next())
            .await
            .expect("an outcome per planned fault")
            .unwrap()
            .unwrap();
        let (resource, said) = match &delivery.event.payload {
            Some(Payload::FaultInjected(injected)) => (
                injected.resource.clone().unwrap().name,
                "injected".to_owned(),
            ),
            Some(Payload::FaultRejected(rejected)) => (
                rejected.resource.clone().unwrap().name,
                rejected.reason.clone(),
            ),
            other => panic!("unexpected {other:?}"),
        };
        outcome.insert(resource, said);
        delivery.ack().await.unwrap();
    }
    let said = |bucket: &str| outcome[bucket].clone();
    assert!(
        said("prod-ledger").contains("protected by the pattern"),
        "{outcome:?}"
    );
    assert!(
        said("tagged-protected").contains("rdfi-protected"),
        "{outcome:?}"
    );
    assert!(said("not-opted-in").contains("not opted in"), "{outcome:?}");
    assert_eq!(said("ok-1"), "injected");
    assert_eq!(said("ok-2"), "injected");
    assert!(
        said("over-cap").contains("--max-active-per-run"),
        "{outcome:?}"
    );
    assert!(
        said("long-exposure").contains("--max-exposure"),
        "{outcome:?}"
    );
    assert!(
        said("destructive").contains("allowDestructive"),
        "{outcome:?}"
    );
    assert!(!account.has_fault("aws.s3.bucket-lifecycle-expire-one-day", "destructive"));
    for bucket in [
        "prod-ledger",
        "tagged-protected",
        "not-opted-in",
        "over-cap",
        "long-exposure",
    ] {
        assert!(
            !account.has_fault("aws.s3.bucket-public-acl", bucket),
            "{bucket} was never changed"
        );
    }
    assert!(account.has_fault("aws.s3.bucket-public-acl", "ok-1"));
    engine.stop().await.unwrap();
    for bucket in ["ok-1", "ok-2"] {
        assert!(
            !account.has_fault("aws.s3.bucket-public-acl", bucket),
            "{bucket} reverted on stop"
        );
    }
}
