use super::*;
use proptest::prelude::*;
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::{Expectation, ExpectationResult, Observation, SourceMode};

const INJECTED_MS: i64 = 1_000_000;

fn expectation(
    kind: ControlKind,
    within_ms: u64,
    sources: &[&str],
    outcome: ExpectationOutcome,
    latency_ms: Option<u64>,
    answered_by: &[&str],
) -> ExpectationResult {
    ExpectationResult {
        expectation: Some(Expectation {
            kind: kind as i32,
            within_ms: Some(within_ms),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            mode: SourceMode::Any as i32,
        }),
        outcome: outcome as i32,
        latency_ms,
        answered_by: answered_by.iter().map(|s| s.to_string()).collect(),
        reason: String::new(),
    }
}

fn signal(source: &str, after_ms: i64) -> Observation {
    Observation {
        kind: "signal".to_owned(),
        source: source.to_owned(),
        observed_at: Some(timestamp_from_millis(INJECTED_MS + after_ms)),
        ..Default::default()
    }
}

fn fault(expectations: Vec<ExpectationResult>, observations: Vec<Observation>) -> FaultRecord {
    FaultRecord {
        injected_at: Some(timestamp_from_millis(INJECTED_MS)),
        expectations,
        observations,
        ..Default::default()
    }
}

fn trial(control: &str, kind: ControlKind, met: bool, latency_ms: Option<u64>) -> Trial {
    Trial {
        control: control.to_owned(),
        kind,
        met,
        latency_ms,
    }
}

#[test]
fn each_named_source_is_tested_on_its_own_with_its_own_latency() {
    // `any` of two detectors, met by prowler after 400 ms; guardduty signalled only after the deadline.
    let record = fault(
        vec![expectation(
            ControlKind::Detective,
            1_000,
            &["prowler", "guardduty"],
            ExpectationOutcome::Met,
            Some(400),
            &["Prowler", "guardduty"],
        )],
        vec![
            signal("guardduty", 2_500),
            signal("prowler", 400),
            signal("prowler", 900),
        ],
    );
    assert_eq!(
        trials(&record),
        vec![
            trial("prowler", ControlKind::Detective, true, Some(400)),
            trial("guardduty", ControlKind::Detective, false, Some(2_500)),
        ]
    );
}

#[test]
fn a_silent_named_source_fails_even_when_another_met_the_expectation() {
    let record = fault(
        vec![expectation(
            ControlKind::Detective,
            1_000,
            &["prowler", "custodian"],
            ExpectationOutcome::Met,
            Some(300),
            &["prowler"],
        )],
        vec![signal("prowler", 300)],
    );
    assert_eq!(
        trials(&record),
        vec![
            trial("prowler", ControlKind::Detective, true, Some(300)),
            trial("custodian", ControlKind::Detective, false, None),
        ]
    );
}

#[test]
fn an_expectation_naming_nobody_tests_whoever_answered_or_the_stand_in() {
    let answered = fault(
        vec![expectation(
            ControlKind::Detective,
            1_000,
            &[],
            ExpectationOutcome::Met,
            Some(200),
            &["s3-public-acl-detector"],
        )],
        vec![signal("s3-public-acl-detector", 200)],
    );
    assert_eq!(
        trials(&answered),
        vec![trial(
            "s3-public-acl-detector",
            ControlKind::Detective,
            true,
            Some(200)
        )]
    );
    let silent = fault(
        vec![expectation(
            ControlKind::Detective,
            1_000,
            &[],
            ExpectationOutcome::Failed,
            None,
            &[],
        )],
        Vec::new(),
    );
    assert_eq!(
        trials(&silent),
        vec![trial(
            "any detective control",
            ControlKind::Detective,
            false,
            None
        )]
    );
}

#[test]
fn a_late_answer_is_a_failure_that_keeps_its_latency() {
    let record = fault(
        vec![expectation(
            ControlKind::Detective,
            1_000,
            &["prowler"],
            ExpectationOutcome::Late,
            Some(4_000),
            &["prowler"],
        )],
        vec![signal("prowler", 4_000)],
    );
    assert_eq!(
        trials(&record),
        vec![trial("prowler", ControlKind::Detective, false, Some(4_000))]
    );
}

#[test]
fn corrections_and_refusals_and_inconclusive_expectations() {
    let record = FaultRecord {
        prevented_by: "S3 Block Public Access (account)".to_owned(),
        ..fault(
            vec![
                expectation(
                    ControlKind::Corrective,
                    5_000,
                    &[],
                    ExpectationOutcome::Met,
                    Some(700),
                    &[],
                ),
                expectation(
                    ControlKind::Corrective,
                    5_000,
                    &["reconciler"],
                    ExpectationOutcome::Met,
                    Some(700),
                    &[],
                ),
                expectation(
                    ControlKind::Preventive,
                    0,
                    &["block public access", "scp"],
                    ExpectationOutcome::Met,
                    None,
                    &[],
                ),
                expectation(
                    ControlKind::Detective,
                    1_000,
                    &["prowler"],
                    ExpectationOutcome::Inconclusive,
                    None,
                    &[],
                ),
            ],
            Vec::new(),
        )
    };
    assert_eq!(
        trials(&record),
        vec![
            trial(
                "any corrective control",
                ControlKind::Corrective,
                true,
                Some(700)
            ),
            trial("reconciler", ControlKind::Corrective, true, Some(700)),
            trial("block public access", ControlKind::Preventive, true, None),
            trial("scp", ControlKind::Preventive, false, None),
        ]
    );
    let refused_anonymously = FaultRecord {
        prevented_by: "SCP deny-public (organization)".to_owned(),
        ..fault(
            vec![expectation(
                ControlKind::Preventive,
                0,
                &[],
                ExpectationOutcome::Met,
                None,
                &[],
            )],
            Vec::new(),
        )
    };
    assert_eq!(
        trials(&refused_anonymously),
        vec![trial(
            "SCP deny-public (organization)",
            ControlKind::Preventive,
            true,
            None
        )]
    );
}

#[test]
fn a_control_named_twice_by_one_fault_counts_once() {
    let record = fault(
        vec![
            expectation(
                ControlKind::Detective,
                500,
                &["prowler"],
                ExpectationOutcome::Late,
                Some(800),
                &["prowler"],
            ),
            expectation(
                ControlKind::Detective,
                1_000,
                &["PROWLER"],
                ExpectationOutcome::Met,
                Some(800),
                &["prowler"],
            ),
        ],
        vec![signal("prowler", 800)],
    );
    assert_eq!(
        trials(&record),
        vec![trial("prowler", ControlKind::Detective, true, Some(800))]
    );
}

fn recorded(
    run: &str,
    at_ms: i64,
    control: &str,
    met: bool,
    latency_ms: Option<u64>,
) -> RecordedTrial {
    RecordedTrial {
        run_id: run.to_owned(),
        fault_id: "aws.s3.bucket-public-acl".to_owned(),
        at_ms,
        trial: trial(control, ControlKind::Detective, met, latency_ms),
    }
}

#[test]
fn a_scorecard_counts_every_run_and_draws_its_history() {
    let cards = scorecards(&[
        recorded("run-2", 2_000, "prowler", false, None),
        recorded("run-1", 1_000, "prowler", true, Some(300)),
        recorded("run-1", 1_100, "Prowler", true, Some(100)),
        recorded("run-1", 1_000, "guardduty", true, Some(900)),
    ]);
    assert_eq!(cards.len(), 2);
    // The least effective first: prowler, 2 of 3 (mean 3/5), before guardduty, 1 of 1 (mean 2/3).
    let prowler = &cards[0];
    assert_eq!(prowler.control, "prowler");
    let efficacy = prowler.efficacy.unwrap();
    assert_eq!((efficacy.met, efficacy.failed), (2, 1));
    assert!((efficacy.mean - 0.6).abs() < 1e-12);
    assert!(efficacy.lower < 0.6 && 0.6 < efficacy.upper);
    let latency = prowler.latency.unwrap();
    assert_eq!(
        (latency.answers, latency.mean_ms, latency.p90_ms),
        (2, Some(200), Some(300))
    );
    let history: Vec<(&str, u32, u32, Option<u64>)> = prowler
        .history
        .iter()
        .map(|point| {
            (
                point.run_id.as_str(),
                point.met,
                point.failed,
                point.mean_latency_ms,
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![("run-1", 2, 0, Some(200)), ("run-2", 0, 1, None)]
    );
    assert!(
        prowler.history[0].efficacy.unwrap().mean > prowler.history[1].efficacy.unwrap().mean,
        "the miss of run-2 lowers the estimate"
    );
    assert_eq!(cards[1].control, "guardduty");
}

#[test]
fn the_90th_percentile_is_the_nearest_rank() {
    let latencies: Vec<u64> = (1..=20).map(|n| n * 100).collect();
    let latency = latency(latencies);
    assert_eq!(latency.p90_ms, Some(1_800));
    assert_eq!(latency.mean_ms, Some(1_050));
    assert_eq!(super::latency(vec![42]).p90_ms, Some(42));
    assert_eq!(
        super::latency(Vec::new()),
        Latency {
            answers: 0,
            mean_ms: None,
            p90_ms: None
        }
    );
}

proptest! {
    #[test]
    fn scorecards_account_for_every_trial(
        trials in prop::collection::vec(
            (0usize..4, 0usize..3, any::<bool>(), prop::option::of(0u64..10_000), 0i64..100),
            0..60,
        )
    ) {
        let controls = ["prowler", "guardduty", "custodian"];
        let recorded: Vec<RecordedTrial> = trials
            .iter()
            .map(|&(run, control, met, latency, at)| {
                recorded(&format!("run-{run}"), at + run as i64 * 100, controls[control], met, latency)
            })
            .collect();
        let cards = scorecards(&recorded);
        let counted: u32 = cards.iter().map(|card| {
            let efficacy = card.efficacy.unwrap();
            efficacy.met + efficacy.failed
        }).sum();
        prop_assert_eq!(counted as usize, recorded.len());
        for card in &cards {
            let efficacy = card.efficacy.unwrap();
            let last = card.history.last().unwrap().efficacy.unwrap();
            prop_assert_eq!((last.met, last.failed), (efficacy.met, efficacy.failed));
            let met: u32 = card.history.iter().map(|point| point.met).sum();
            prop_assert_eq!(met, efficacy.met);
            prop_assert!(efficacy.lower <= efficacy.mean && efficacy.mean <= efficacy.upper);
            let answers = recorded
                .iter()
                .filter(|trial| trial.trial.control == card.control && trial.trial.latency_ms.is_some())
                .count();
            prop_assert_eq!(card.latency.unwrap().answers as usize, answers);
        }
        for pair in cards.windows(2) {
            prop_assert!(pair[0].efficacy.unwrap().mean <= pair[1].efficacy.unwrap().mean);
        }
    }
}
