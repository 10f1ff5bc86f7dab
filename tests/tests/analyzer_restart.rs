//! An analyzer killed mid-run loses no verdict: `rdfi-analyzer` consumes a run's events over a real
//! nats-server and is killed (SIGKILL) while the fault waits for its settle time; the analyzer started after
//! it rebuilds the run from the stream and reaches the verdict, with the signal that arrived before the kill,
//! once, and completes the run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdfi_core::bus::Bus;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::{events, subjects};
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    ControlKind, Event, Expectation, FaultInjected, FaultReverted, Hypothesis, RunPlanned,
    SignalReceived, Verdict,
};
use rdfi_tests::{NatsServer, Process, rdfi_binary, wait_until};

const RUN: &str = "restart-run";
const FAULT: &str = "restart-fault";

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn event(source: &str, payload: Payload) -> Event {
    let fault = match payload {
        Payload::RunPlanned(_) => "",
        _ => FAULT,
    };
    events::event(source, RUN, fault, "", payload)
}

fn analyzer(nats: &NatsServer) -> Process {
    Process::spawn(
        &rdfi_binary("rdfi-analyzer"),
        &["--nats".to_owned(), nats.url.clone()],
        &[("RUST_LOG".to_owned(), "info".to_owned())],
    )
}

/// The analysis the bus holds: each verdict and completion of the run.
async fn analysis(bus: &NatsBus) -> (Vec<Event>, Vec<Event>) {
    let history = bus
        .history(&[subjects::ANALYSIS_VERDICT, subjects::ANALYSIS_COMPLETED])
        .await
        .unwrap();
    history
        .into_iter()
        .filter(|event| event.run_id == RUN)
        .partition(|event| matches!(event.payload, Some(Payload::VerdictReached(_))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_analyzer_loses_no_verdict() {
    let nats = NatsServer::start();
    let bus = NatsBus::connect(&nats.url).await.unwrap();
    let first = analyzer(&nats);
    // The analyzer's durable consumer exists once it has started.
    assert!(
        wait_until(Duration::from_secs(30), || async {
            bus.consumer_lag()
                .await
                .unwrap()
                .iter()
                .any(|lag| lag.consumer == "analyzer")
        })
        .await,
        "the analyzer started: {}",
        first.log()
    );
    let injected_ms = now_ms();
    let settle = Duration::from_secs(4);
    for payload in [
        Payload::RunPlanned(RunPlanned {
            planned_faults: 1,
            ..Default::default()
        }),
        Payload::FaultInjected(FaultInjected {
            fault_id: "aws.s3.bucket-public-acl".into(),
            injected_at: Some(timestamp_from_millis(injected_ms)),
            hypothesis: Some(Hypothesis {
                expectations: vec![Expectation {
                    kind: ControlKind::Detective as i32,
                    within_ms: Some(2_000),
                    ..Default::default()
                }],
                settle_ms: u64::try_from(settle.as_millis()).unwrap(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        Payload::SignalReceived(SignalReceived {
            source: "ledger-detector".into(),
            received_at: Some(timestamp_from_millis(injected_ms + 300)),
            ..Default::default()
        }),
        Payload::FaultReverted(FaultReverted {
            fault_id: "aws.s3.bucket-public-acl".into(),
            revert_started_at: Some(timestamp_from_millis(injected_ms + 1_000)),
            reverted_at: Some(timestamp_from_millis(injected_ms + 1_100)),
            verified: true,
            ..Default::default()
        }),
    ] {
        let source = match payload {
            Payload::SignalReceived(_) => "monitor",
            Payload::RunPlanned(_) => "planner",
            _ => "executor",
        };
        bus.publish(&event(source, payload)).await.unwrap();
    }
    // It has taken and acknowledged every event, and now waits for the settle time.
    assert!(
        wait_until(Duration::from_secs(10), || async {
            bus.consumer_lag()
                .await
                .unwrap()
                .iter()
                .any(|lag| lag.consumer == "analyzer" && lag.pending == 0 && lag.ack_pending == 0)
        })
        .await,
        "{}",
        first.log()
    );
    drop(first);
    assert!(
        analysis(&bus).await.0.is_empty(),
        "no verdict before the settle time ended"
    );

    let second = analyzer(&nats);
    assert!(
        wait_until(Duration::from_secs(20), || async {
            !analysis(&bus).await.1.is_empty()
        })
        .await,
        "the run completed after the restart: {}",
        second.log()
    );
    // Not sooner than the settle time allowed, and no second verdict later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (verdicts, completions) = analysis(&bus).await;
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(completions.len(), 1, "{completions:?}");
    let Some(Payload::VerdictReached(verdict)) = &verdicts[0].payload else {
        unreachable!()
    };
    assert_eq!(
        verdict.verdict(),
        Verdict::Detected,
        "the signal from before the kill counts: {verdict:?}"
    );
    assert_eq!(verdict.time_to_detect_ms, Some(300));
    assert!(
        second.log().contains("analysis state rebuilt from the bus"),
        "{}",
        second.log()
    );
}
