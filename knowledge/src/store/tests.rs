//! The store against a real SQLite file.
use super::*;
use rdfi_core::events;
use rdfi_proto::v1::{
    AnalysisCompleted, ExperimentSpec, FaultInjected, FaultPlanned, FaultReverted, FindingCreated,
    RunPlanned, RunStarted, SignalReceived, VerdictReached,
};

fn bucket() -> ResourceRef {
    ResourceRef {
        provider: "sandbox".into(),
        resource_type: "aws.s3.bucket".into(),
        id: "arn:aws:s3:::b".into(),
        name: "b".into(),
        ..Default::default()
    }
}

fn lifecycle(run: &str, fault: &str) -> Vec<Event> {
    let at = |ms| Some(timestamp_from_millis(ms));
    vec![
        events::event(
            "planner",
            run,
            "",
            "",
            Payload::RunStarted(RunStarted {
                experiment: Some(ExperimentSpec {
                    name: "e".into(),
                    provider: "sandbox".into(),
                    ..Default::default()
                }),
            }),
        ),
        events::event(
            "planner",
            run,
            fault,
            "",
            Payload::FaultPlanned(FaultPlanned {
                fault_id: "aws.s3.bucket-public-acl".into(),
                resource: Some(bucket()),
                ..Default::default()
            }),
        ),
        events::event(
            "planner",
            run,
            "",
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 1,
                notes: vec!["n".into()],
            }),
        ),
        events::event(
            "executor",
            run,
            fault,
            "",
            Payload::FaultInjected(FaultInjected {
                fault_id: "aws.s3.bucket-public-acl".into(),
                resource: Some(bucket()),
                injected_at: at(1_000),
                ..Default::default()
            }),
        ),
        events::event(
            "monitor",
            run,
            fault,
            "s",
            Payload::SignalReceived(SignalReceived {
                resource: "b".into(),
                source: "detector".into(),
                received_at: at(1_200),
                ..Default::default()
            }),
        ),
        events::event(
            "executor",
            run,
            fault,
            "",
            Payload::FaultReverted(FaultReverted {
                fault_id: "aws.s3.bucket-public-acl".into(),
                resource: Some(bucket()),
                reverted_at: at(2_000),
                verified: true,
                ..Default::default()
            }),
        ),
        events::event(
            "analyzer",
            run,
            fault,
            "",
            Payload::VerdictReached(VerdictReached {
                verdict: Verdict::Missed as i32,
                time_to_detect_ms: Some(200),
                ..Default::default()
            }),
        ),
        events::event(
            "analyzer",
            run,
            fault,
            "",
            Payload::FindingCreated(FindingCreated {
                finding_id: "f1".into(),
                fault_id: "aws.s3.bucket-public-acl".into(),
                resource: Some(bucket()),
                severity: "high".into(),
                ..Default::default()
            }),
        ),
        events::event(
            "analyzer",
            run,
            "",
            "",
            Payload::AnalysisCompleted(AnalysisCompleted {
                faults: 1,
                findings: 1,
                hypotheses_held: false,
                tested: 1,
                aborted: 0,
            }),
        ),
    ]
}

#[tokio::test]
async fn a_run_is_projected_once_however_often_its_events_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("k.sqlite")).await.unwrap();
    for event in lifecycle("r1", "f1") {
        assert!(store.record(&event).await.unwrap());
    }
    for event in lifecycle("r1", "f1") {
        assert!(
            !store.record(&event).await.unwrap(),
            "a redelivered event is not new"
        );
    }
    let run = store.get_run("r1").await.unwrap().expect("the run");
    let summary = run.run.unwrap();
    assert_eq!(summary.status(), RunStatus::Completed);
    assert_eq!(summary.planned_faults, Some(1));
    assert_eq!(summary.notes, ["n"]);
    assert!(!summary.hypotheses_held);
    assert_eq!(run.faults.len(), 1);
    let fault = &run.faults[0];
    assert_eq!(fault.state(), FaultState::Reverted);
    assert!(fault.revert_verified);
    assert_eq!(fault.verdict(), Verdict::Missed);
    assert_eq!(fault.time_to_detect_ms, Some(200));
    assert_eq!(fault.observations.len(), 1);
    assert_eq!(fault.resource.as_ref().unwrap().name, "b");
    assert_eq!(run.findings.len(), 1);
    assert_eq!(store.list_findings(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.list_runs(10).await.unwrap().len(), 1);
    assert!(store.get_run("unknown").await.unwrap().is_none());
}
