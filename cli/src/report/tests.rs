//! The report's verdict on a run: its exit code and why nothing was tested.
use rdfi_proto::v1::{
    ControlKind, Expectation, ExpectationOutcome, FaultRecord, ResourceRef, RunSummary,
};

use super::*;

fn fault(state: FaultState, dry_run: bool) -> FaultRecord {
    FaultRecord {
        fault_instance_id: "f1".into(),
        fault_id: "aws.s3.bucket-public-acl".into(),
        resource: Some(ResourceRef {
            id: "arn:aws:s3:::b".into(),
            name: "b".into(),
            ..Default::default()
        }),
        state: state as i32,
        dry_run,
        ..Default::default()
    }
}

fn run(tested: u32, aborted: u32, held: bool, faults: Vec<FaultRecord>) -> Report {
    Report::from_run(&GetRunResponse {
        run: Some(RunSummary {
            run_id: "r".into(),
            tested,
            aborted,
            hypotheses_held: held,
            ..Default::default()
        }),
        faults,
        findings: Vec::new(),
    })
}

#[test]
fn the_exit_code_puts_an_open_fault_and_an_abort_first_then_nothing_tested_then_misses() {
    for revert_failed in [false, true] {
        for aborted in [0, 1] {
            for tested in [0, 2] {
                for held in [false, true] {
                    let expected = if revert_failed || aborted > 0 {
                        3
                    } else if tested == 0 {
                        4
                    } else if held {
                        0
                    } else {
                        1
                    };
                    assert_eq!(
                        exit_code(revert_failed, aborted, tested, held),
                        expected,
                        "revert failed {revert_failed}, aborted {aborted}, tested {tested}, held {held}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_dry_run_says_that_nothing_was_tested_and_exits_4() {
    let report = run(0, 0, true, vec![fault(FaultState::Reverted, true)]);
    assert_eq!(report.exit_code(), 4);
    let why = report.nothing_tested.as_deref().expect("nothing tested");
    assert!(why.contains("dry run"), "{why}");
    let table = report.to_table();
    assert!(
        table.contains("Nothing was tested: it was a dry run"),
        "{table}"
    );
    assert!(!table.contains("No findings"), "{table}");
}

#[test]
fn a_run_without_targets_or_with_every_fault_rejected_says_why() {
    let empty = run(0, 0, true, Vec::new());
    assert_eq!(empty.exit_code(), 4);
    assert!(
        empty
            .nothing_tested
            .unwrap()
            .contains("no resource matched")
    );
    let mut rejected = fault(FaultState::Rejected, false);
    rejected.reason = "the resource is busy".into();
    let report = run(0, 0, true, vec![rejected]);
    let why = report.nothing_tested.unwrap();
    assert!(why.contains("every fault was rejected"), "{why}");
    assert!(why.contains("the resource is busy"), "{why}");
}

#[test]
fn an_unattributed_refusal_names_the_action_rdfi_may_lack() {
    let mut refused = fault(FaultState::Prevented, false);
    refused.denied_action = "s3:PutBucketAcl".into();
    let report = run(0, 0, true, vec![refused]);
    assert_eq!(report.exit_code(), 4);
    let why = report.nothing_tested.unwrap();
    assert!(why.contains("rdfi may lack s3:PutBucketAcl"), "{why}");
}

#[test]
fn an_aborted_run_exits_3_and_does_not_claim_every_fault_held() {
    let mut cut = fault(FaultState::Reverted, false);
    cut.cut_short = "aborted before its deadline".into();
    let report = run(1, 1, true, vec![cut]);
    assert_eq!(report.exit_code(), 3);
    assert_eq!(
        report.faults[0].cut_short.as_deref(),
        Some("aborted before its deadline")
    );
    let table = report.to_table();
    assert!(table.contains("cut short"), "{table}");
}

#[test]
fn expectations_are_reported_per_fault_with_their_outcome_and_latency() {
    let mut detected = fault(FaultState::Reverted, false);
    detected.prevented_by = String::new();
    detected.expectations = vec![ExpectationResult {
        expectation: Some(Expectation {
            kind: ControlKind::Detective as i32,
            within_ms: Some(30_000),
            sources: vec!["prowler".into(), "guardduty".into()],
            mode: SourceMode::Any as i32,
        }),
        outcome: ExpectationOutcome::Late as i32,
        latency_ms: Some(45_000),
        answered_by: vec!["prowler".into()],
        reason: String::new(),
    }];
    let report = run(1, 0, true, vec![detected]);
    assert_eq!(report.exit_code(), 0);
    let json = serde_json::to_value(&report).unwrap();
    let expectation = &json["faults"][0]["expectations"][0];
    assert_eq!(expectation["kind"], "detect");
    assert_eq!(expectation["outcome"], "late");
    assert_eq!(expectation["withinMs"], 30_000);
    assert_eq!(expectation["latencyMs"], 45_000);
    assert_eq!(expectation["mode"], "any");
    assert_eq!(expectation["sources"][1], "guardduty");
    assert_eq!(expectation["answeredBy"][0], "prowler");
    assert_eq!(json["tested"], 1);
    assert!(json["nothingTested"].is_null());
    let table = report.to_table();
    assert!(
        table.contains("detect late after 45 s by prowler"),
        "{table}"
    );
}

#[test]
fn the_exposure_proof_is_reported_per_fault_in_json_and_in_the_table() {
    let mut exposed = fault(FaultState::Reverted, false);
    exposed.exposure = Some(rdfi_proto::v1::ExposureProof {
        outcome: rdfi_proto::v1::ExposureOutcome::Neutralized as i32,
        read: "get-object".into(),
        canary_key: "rdfi-exposure/f1.txt".into(),
        read_at: Some(rdfi_proto::timestamp_from_millis(1_234)),
        answer: "HTTP 403 AccessDenied".into(),
    });
    let report = run(
        1,
        0,
        true,
        vec![exposed, fault(FaultState::Reverted, false)],
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["faults"][0]["exposure"],
        serde_json::json!({
            "outcome": "neutralized",
            "read": "get-object",
            "canaryKey": "rdfi-exposure/f1.txt",
            "answer": "HTTP 403 AccessDenied",
            "readAtMs": 1_234,
        })
    );
    assert!(json["faults"][1]["exposure"].is_null());
    assert!(
        report.to_table().contains(
            "aws.s3.bucket-public-acl on b: neutralized (anonymous get-object of canary \
             rdfi-exposure/f1.txt: HTTP 403 AccessDenied)"
        ),
        "{}",
        report.to_table()
    );
}

#[test]
fn the_table_shows_times_a_person_reads_and_json_keeps_milliseconds() {
    let mut detected = fault(FaultState::Reverted, false);
    detected.time_to_detect_ms = Some(11_708);
    detected.time_to_correct_ms = Some(401);
    let report = run(1, 0, true, vec![detected]);
    let table = report.to_table();
    let row = table
        .lines()
        .find(|line| line.starts_with("aws.s3.bucket-public-acl"))
        .expect("the fault's row");
    assert!(row.contains("11.7 s"), "{table}");
    assert!(row.contains("401 ms"), "{table}");
    assert!(!table.contains("11708"), "{table}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["faults"][0]["timeToDetectMs"], 11_708);
    assert_eq!(json["faults"][0]["timeToCorrectMs"], 401);
}
