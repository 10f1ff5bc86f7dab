//! The store against a real SQLite file.
use super::*;
use rdfi_core::events;
use rdfi_proto::v1::{
    AnalysisCompleted, ControlKind, Expectation, ExpectationOutcome, ExperimentSpec,
    ExposureOutcome, FaultExposureProved, FaultInjected, FaultPlanned, FaultReverted,
    FindingCreated, RunPlanned, RunStarted, SignalReceived, VerdictReached,
};

fn exposure() -> ExposureProof {
    ExposureProof {
        outcome: ExposureOutcome::Neutralized as i32,
        read: "get-object".into(),
        canary_key: "rdfi-exposure/f1.txt".into(),
        read_at: Some(timestamp_from_millis(1_100)),
        answer: "HTTP 403 AccessDenied".into(),
    }
}

fn expectations() -> Vec<ExpectationResult> {
    vec![
        ExpectationResult {
            expectation: Some(Expectation {
                kind: ControlKind::Detective as i32,
                within_ms: Some(500),
                sources: vec!["prowler".into()],
                ..Default::default()
            }),
            outcome: ExpectationOutcome::Met as i32,
            latency_ms: Some(200),
            answered_by: vec!["prowler".into()],
            reason: String::new(),
        },
        ExpectationResult {
            expectation: Some(Expectation {
                kind: ControlKind::Corrective as i32,
                within_ms: Some(60_000),
                ..Default::default()
            }),
            outcome: ExpectationOutcome::Inconclusive as i32,
            reason: "aborted before its deadline".into(),
            ..Default::default()
        },
    ]
}

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
            Payload::FaultExposureProved(FaultExposureProved {
                fault_id: "aws.s3.bucket-public-acl".into(),
                resource: Some(bucket()),
                proof: Some(exposure()),
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
                cut_short: "aborted before its deadline".into(),
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
                expectations: expectations(),
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
                aborted: 1,
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
    assert_eq!((summary.tested, summary.aborted), (1, 1));
    assert_eq!(run.faults.len(), 1);
    let fault = &run.faults[0];
    assert_eq!(fault.state(), FaultState::Reverted);
    assert!(fault.revert_verified);
    assert_eq!(fault.verdict(), Verdict::Missed);
    assert_eq!(fault.time_to_detect_ms, Some(200));
    assert_eq!(fault.expectations, expectations());
    assert_eq!(fault.cut_short, "aborted before its deadline");
    assert_eq!(fault.exposure, Some(exposure()));
    assert_eq!(fault.observations.len(), 1);
    assert_eq!(fault.resource.as_ref().unwrap().name, "b");
    assert_eq!(run.findings.len(), 1);
    assert_eq!(store.list_findings(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.list_runs(10).await.unwrap().len(), 1);
    assert!(store.get_run("unknown").await.unwrap().is_none());
}

#[tokio::test]
async fn a_database_made_before_the_later_columns_gains_them_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let old = SqlitePool::connect_with(
            SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                .unwrap()
                .create_if_missing(true),
        )
        .await
        .unwrap();
        // The schema as the first release made it: no expectations, attribution, cut-short or counts.
        sqlx::raw_sql(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, provider TEXT NOT NULL,
               started_ms INTEGER NOT NULL, planned_faults INTEGER, completed_ms INTEGER,
               findings INTEGER NOT NULL DEFAULT 0, hypotheses_held INTEGER NOT NULL DEFAULT 1,
               notes TEXT NOT NULL DEFAULT '');
             CREATE TABLE faults (fault_instance_id TEXT PRIMARY KEY, run_id TEXT NOT NULL,
               fault_id TEXT NOT NULL, resource BLOB NOT NULL, state TEXT NOT NULL, injected_ms INTEGER,
               reverted_ms INTEGER, revert_verified INTEGER NOT NULL DEFAULT 0,
               verdict INTEGER NOT NULL DEFAULT 0, time_to_detect_ms INTEGER, time_to_correct_ms INTEGER,
               detected_by TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
               dry_run INTEGER NOT NULL DEFAULT 0, planned_ms INTEGER NOT NULL,
               change TEXT NOT NULL DEFAULT '');
             INSERT INTO runs (run_id, experiment, provider, started_ms) VALUES ('old', 'e', 'aws', 1);
             INSERT INTO faults (fault_instance_id, run_id, fault_id, resource, state, planned_ms)
               VALUES ('f0', 'old', 'aws.s3.bucket-public-acl', x'', 'reverted', 1);",
        )
        .execute(&old)
        .await
        .unwrap();
        old.close().await;
    }
    let store = Store::open(&path).await.unwrap();
    let old = store.get_run("old").await.unwrap().expect("the old run");
    assert_eq!(old.run.unwrap().tested, 0);
    assert!(old.faults[0].expectations.is_empty());
    assert_eq!(old.faults[0].exposure, None);
    for event in lifecycle("r1", "f1") {
        store.record(&event).await.unwrap();
    }
    let run = store.get_run("r1").await.unwrap().expect("the new run");
    assert_eq!(run.faults[0].expectations, expectations());
    drop(store);
    Store::open(&path)
        .await
        .expect("opening again adds nothing twice");
}
