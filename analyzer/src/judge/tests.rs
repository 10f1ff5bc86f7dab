use proptest::prelude::*;

use super::*;

fn expect(kind: ControlKind, within_ms: Option<u64>) -> Expectation {
    Expectation {
        kind: kind as i32,
        within_ms,
        ..Default::default()
    }
}

fn detect_from(sources: &[&str], mode: SourceMode, within_ms: u64) -> Expectation {
    Expectation {
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        mode: mode as i32,
        ..expect(ControlKind::Detective, Some(within_ms))
    }
}

fn hypothesis(expectations: Vec<Expectation>) -> Hypothesis {
    Hypothesis {
        expectations,
        ..Default::default()
    }
}

fn reverted(at_ms: i64) -> Ending {
    Ending::Reverted {
        revert_started_at_ms: at_ms,
        already_restored: false,
        cut_short: None,
        dry_run: false,
    }
}

/// Injected at 1 000, reverted at 4 000; expects prevention, detection within 500 ms and correction within
/// 2 000 ms.
fn base() -> Observed {
    Observed {
        hypothesis: hypothesis(vec![
            expect(ControlKind::Preventive, None),
            expect(ControlKind::Detective, Some(500)),
            expect(ControlKind::Corrective, Some(2_000)),
        ]),
        injected_at_ms: Some(1_000),
        signals: Vec::new(),
        restored_at_ms: None,
        partial_restores: Vec::new(),
        ending: reverted(4_000),
    }
}

fn signal(at_ms: i64, source: &str) -> Signal {
    Signal {
        at_ms,
        source: source.to_owned(),
    }
}

fn outcomes(judgement: &Judgement) -> Vec<ExpectationOutcome> {
    judgement
        .expectations
        .iter()
        .map(ExpectationResult::outcome)
        .collect()
}

use ExpectationOutcome::{Failed, Inconclusive, Late, Met};

#[test]
fn a_signal_in_time_is_detected_and_prevention_failed() {
    let judgement = judge(&Observed {
        signals: vec![signal(1_300, "guard")],
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Detected);
    assert_eq!(outcomes(&judgement), [Failed, Met, Failed]);
    assert_eq!(judgement.time_to_detect_ms, Some(300));
    assert_eq!(judgement.detected_by, "guard");
    assert_eq!(judgement.expectations[1].latency_ms, Some(300));
    assert_eq!(judgement.expectations[1].answered_by, ["guard"]);
    assert!(judgement.tested);
    assert!(!judgement.aborted);
}

#[test]
fn a_late_signal_is_late_not_missing_and_the_fault_is_missed() {
    let judgement = judge(&Observed {
        signals: vec![signal(1_600, "guard")],
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Missed);
    assert_eq!(outcomes(&judgement), [Failed, Late, Failed]);
    assert_eq!(judgement.time_to_detect_ms, Some(600));
    assert!(
        judgement
            .reason
            .contains("detect: answered after 600 ms, expected within 500 ms"),
        "{}",
        judgement.reason
    );
}

#[test]
fn a_correction_before_the_revert_wins_over_detection() {
    let judgement = judge(&Observed {
        signals: vec![signal(1_100, "guard")],
        restored_at_ms: Some(2_500),
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Corrected);
    assert_eq!(outcomes(&judgement), [Failed, Met, Met]);
    assert_eq!(judgement.time_to_correct_ms, Some(1_500));
}

#[test]
fn a_partial_restore_is_no_correction_and_says_so() {
    let partial = PartialRestore {
        at_ms: 2_200,
        remaining: 1,
        injected: 2,
    };
    // One seen only after rdfi's revert began (less left, by rdfi's own revert) is not counted.
    let during_revert = PartialRestore {
        at_ms: 4_100,
        remaining: 0,
        ..partial
    };
    let judgement = judge(&Observed {
        partial_restores: vec![partial, during_revert],
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Missed);
    assert_eq!(outcomes(&judgement), [Failed, Failed, Failed]);
    assert_eq!(
        judgement.expectations[2].reason,
        "only partly restored (1 of 2 changes left at 1.2 s), not fully within 2 s"
    );
    let late = judge(&Observed {
        partial_restores: vec![during_revert],
        ..base()
    });
    assert_eq!(
        late.expectations[2].reason,
        "not restored by anyone else within 2 s"
    );
}

#[test]
fn rdfis_own_revert_is_not_a_correction() {
    let judgement = judge(&Observed {
        restored_at_ms: Some(4_100),
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Missed);
    assert_eq!(judgement.time_to_correct_ms, None);
    assert_eq!(outcomes(&judgement), [Failed, Failed, Failed]);
}

#[test]
fn a_correction_only_the_executor_saw_is_bounded_by_the_revert_start() {
    let judgement = judge(&Observed {
        ending: Ending::Reverted {
            revert_started_at_ms: 4_000,
            already_restored: true,
            cut_short: None,
            dry_run: false,
        },
        ..base()
    });
    assert_eq!(judgement.time_to_correct_ms, Some(3_000));
    assert_eq!(outcomes(&judgement)[2], Late, "3000 ms is past 2000 ms");
    assert_eq!(judgement.verdict, Verdict::Missed);
}

#[test]
fn only_the_named_sources_answer_a_detective_expectation() {
    let observed = Observed {
        hypothesis: hypothesis(vec![detect_from(&["prowler"], SourceMode::Any, 500)]),
        signals: vec![signal(1_100, "someone-else"), signal(1_200, "Prowler")],
        ..base()
    };
    let judgement = judge(&observed);
    assert_eq!(judgement.verdict, Verdict::Detected);
    assert_eq!(judgement.time_to_detect_ms, Some(200));
    assert_eq!(judgement.detected_by, "Prowler");

    let unexpected = judge(&Observed {
        signals: vec![signal(1_100, "someone-else")],
        ..observed
    });
    assert_eq!(unexpected.verdict, Verdict::Missed);
    assert_eq!(
        unexpected.expectations[0].reason,
        "no signal from prowler within 500 ms"
    );
}

#[test]
fn mode_all_waits_for_every_source_and_takes_the_last() {
    let observed = Observed {
        hypothesis: hypothesis(vec![detect_from(
            &["prowler", "guardduty"],
            SourceMode::All,
            500,
        )]),
        signals: vec![
            signal(1_100, "guardduty"),
            signal(1_150, "guardduty"),
            signal(1_400, "prowler"),
        ],
        ..base()
    };
    let judgement = judge(&observed);
    assert_eq!(judgement.verdict, Verdict::Detected);
    assert_eq!(judgement.expectations[0].latency_ms, Some(400));
    assert_eq!(
        judgement.expectations[0].answered_by,
        ["guardduty", "prowler"]
    );

    let one_silent = judge(&Observed {
        signals: vec![signal(1_100, "guardduty")],
        ..observed
    });
    assert_eq!(outcomes(&one_silent), [Failed]);
    assert_eq!(one_silent.expectations[0].answered_by, ["guardduty"]);
    assert!(
        one_silent.expectations[0]
            .reason
            .contains("no signal from prowler")
    );
}

#[test]
fn an_attributed_refusal_is_prevented_and_names_the_control() {
    let judgement = judge(&Observed {
        injected_at_ms: None,
        ending: Ending::Refused {
            control: Some("explicit Deny in policy deny-acl (inline policy of user rdfi)".into()),
            denied_action: "s3:PutBucketAcl".into(),
            reason: "AccessDenied".into(),
        },
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Prevented);
    assert_eq!(outcomes(&judgement), [Met, Inconclusive, Inconclusive]);
    assert_eq!(
        judgement.prevented_by,
        "explicit Deny in policy deny-acl (inline policy of user rdfi)"
    );
    assert_eq!(
        judgement.expectations[0].answered_by,
        std::slice::from_ref(&judgement.prevented_by)
    );
    assert!(judgement.tested);
}

#[test]
fn an_unattributed_refusal_is_inconclusive_and_names_the_action() {
    let judgement = judge(&Observed {
        injected_at_ms: None,
        ending: Ending::Refused {
            control: None,
            denied_action: "s3:PutBucketAcl".into(),
            reason: "Access Denied".into(),
        },
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Inconclusive);
    assert_eq!(outcomes(&judgement), [Inconclusive; 3]);
    assert!(
        judgement.reason.contains("s3:PutBucketAcl"),
        "{}",
        judgement.reason
    );
    assert!(!judgement.tested);
}

#[test]
fn an_abort_before_the_deadline_is_inconclusive_never_missed() {
    let judgement = judge(&Observed {
        ending: Ending::Reverted {
            revert_started_at_ms: 1_200,
            already_restored: false,
            cut_short: Some("aborted before its deadline".into()),
            dry_run: false,
        },
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Inconclusive);
    assert_eq!(outcomes(&judgement), [Failed, Inconclusive, Inconclusive]);
    assert_eq!(
        judgement.reason,
        "aborted before its deadline: held 200 ms of the 500 ms the control had"
    );
    assert!(judgement.aborted);
    assert!(judgement.tested);
}

#[test]
fn an_abort_after_the_deadline_still_judges_that_expectation() {
    let judgement = judge(&Observed {
        ending: Ending::Reverted {
            revert_started_at_ms: 1_700,
            already_restored: false,
            cut_short: Some("aborted before its deadline".into()),
            dry_run: false,
        },
        ..base()
    });
    assert_eq!(outcomes(&judgement), [Failed, Failed, Inconclusive]);
    assert_eq!(judgement.verdict, Verdict::Inconclusive);
}

#[test]
fn dry_runs_rejections_and_failed_reverts_are_inconclusive() {
    let dry = judge(&Observed {
        ending: Ending::Reverted {
            revert_started_at_ms: 4_000,
            already_restored: false,
            cut_short: None,
            dry_run: true,
        },
        signals: vec![signal(1_100, "guard")],
        ..base()
    });
    assert_eq!(dry.verdict, Verdict::Inconclusive);
    assert_eq!(dry.reason, "dry run: nothing was injected");
    assert!(!dry.tested);
    let rejected = judge(&Observed {
        ending: Ending::Rejected {
            reason: "the resource already has an open fault".into(),
        },
        ..base()
    });
    assert_eq!(rejected.verdict, Verdict::Inconclusive);
    assert!(!rejected.tested);
    let failed = judge(&Observed {
        ending: Ending::RevertFailed {
            reason: "throttled".into(),
        },
        ..base()
    });
    assert_eq!(failed.verdict, Verdict::Inconclusive);
    assert_eq!(failed.reason, "revert failed: throttled");
    assert!(failed.tested, "it was injected");
}

#[test]
fn an_unseen_injection_is_inconclusive_but_was_tested() {
    let judgement = judge(&Observed {
        injected_at_ms: None,
        ..base()
    });
    assert_eq!(judgement.verdict, Verdict::Inconclusive);
    assert_eq!(
        judgement.reason,
        "the analyzer missed this fault's injection"
    );
    assert!(judgement.tested, "the executor did inject it");
    assert!(!judgement.aborted);
    let cut = judge(&Observed {
        injected_at_ms: None,
        ending: Ending::Reverted {
            revert_started_at_ms: 1_200,
            already_restored: false,
            cut_short: Some("aborted before its deadline".into()),
            dry_run: false,
        },
        ..base()
    });
    assert!(cut.aborted && cut.tested);
}

#[test]
fn a_fault_cut_short_exactly_at_its_deadline_had_its_whole_time() {
    let judgement = judge(&Observed {
        ending: Ending::Reverted {
            revert_started_at_ms: 1_500,
            already_restored: false,
            cut_short: Some("aborted before its deadline".into()),
            dry_run: false,
        },
        ..base()
    });
    assert_eq!(outcomes(&judgement)[1], Failed, "held 500 of 500 ms");
}

#[test]
fn mode_any_with_named_sources_needs_only_one_of_them() {
    let judgement = judge(&Observed {
        hypothesis: hypothesis(vec![detect_from(
            &["prowler", "guardduty"],
            SourceMode::Any,
            500,
        )]),
        signals: vec![signal(1_200, "guardduty")],
        ..base()
    });
    assert_eq!(outcomes(&judgement), [Met]);
    assert_eq!(judgement.expectations[0].answered_by, ["guardduty"]);
    let all_of_none = judge(&Observed {
        hypothesis: hypothesis(vec![detect_from(&[], SourceMode::All, 500)]),
        signals: vec![signal(1_200, "anyone")],
        ..base()
    });
    assert_eq!(
        outcomes(&all_of_none),
        [Met],
        "all of no named source is any source"
    );
    assert_eq!(all_of_none.expectations[0].latency_ms, Some(200));
}

#[test]
fn hypotheses_with_deadlines_only_expect_detection_and_correction() {
    let judgement = judge(&Observed {
        hypothesis: Hypothesis {
            detect_within_ms: Some(500),
            ..Default::default()
        },
        signals: vec![signal(3_000, "guard")],
        ..base()
    });
    assert_eq!(outcomes(&judgement), [Late, Failed]);
    // Without a deadline, the revert is the deadline.
    let judgement = judge(&Observed {
        hypothesis: Hypothesis::default(),
        signals: vec![signal(3_000, "guard")],
        ..base()
    });
    assert_eq!(outcomes(&judgement), [Met, Failed]);
    assert_eq!(judgement.verdict, Verdict::Detected);
    assert_eq!(
        judgement.expectations[1].reason,
        "not restored by anyone else within 3 s"
    );
}

fn arb_expectation() -> impl Strategy<Value = Expectation> {
    let sources = prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3);
    (
        0..4i32,
        prop::option::of(0..5_000u64),
        sources,
        prop::bool::ANY,
    )
        .prop_map(|(kind, within_ms, sources, all)| Expectation {
            kind,
            within_ms,
            sources: sources.into_iter().map(str::to_owned).collect(),
            mode: if all {
                SourceMode::All
            } else {
                SourceMode::Any
            } as i32,
        })
}

fn arb_ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        (prop::option::of("[a-z]{1,8}"), "[a-z:]{0,8}").prop_map(|(control, action)| {
            Ending::Refused {
                control,
                denied_action: action,
                reason: "denied".into(),
            }
        }),
        Just(Ending::Rejected {
            reason: "busy".into()
        }),
        Just(Ending::RevertFailed {
            reason: "throttled".into()
        }),
        (
            1_000..8_000i64,
            prop::bool::ANY,
            prop::option::of(Just("aborted".to_owned())),
            prop::bool::ANY
        )
            .prop_map(
                |(at, already_restored, cut_short, dry_run)| Ending::Reverted {
                    revert_started_at_ms: at,
                    already_restored,
                    cut_short,
                    dry_run,
                }
            ),
    ]
}

fn arb_observed() -> impl Strategy<Value = Observed> {
    (
        prop::collection::vec(arb_expectation(), 0..4),
        prop::option::of(Just(1_000i64)),
        prop::collection::vec(
            (0..9_000i64, prop::sample::select(vec!["a", "b", "c", "d"])),
            0..5,
        ),
        prop::option::of(0..9_000i64),
        arb_ending(),
    )
        .prop_map(
            |(expectations, injected_at_ms, signals, restored_at_ms, ending)| Observed {
                hypothesis: hypothesis(expectations),
                injected_at_ms,
                signals: signals
                    .into_iter()
                    .map(|(at_ms, source)| signal(at_ms, source))
                    .collect(),
                restored_at_ms,
                partial_restores: Vec::new(),
                ending,
            },
        )
}

fn rank(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Missed => 0,
        Verdict::Inconclusive => 1,
        Verdict::Detected => 2,
        Verdict::Corrected => 3,
        Verdict::Prevented | Verdict::Unspecified => 4,
    }
}

proptest! {
    #[test]
    fn prevented_exactly_when_a_named_control_refused(observed in arb_observed()) {
        let judgement = judge(&observed);
        let named = matches!(observed.ending, Ending::Refused { control: Some(_), .. });
        prop_assert_eq!(judgement.verdict == Verdict::Prevented, named);
        prop_assert_eq!(!judgement.prevented_by.is_empty(), named);
    }

    #[test]
    fn every_expectation_ends_once_in_its_order(observed in arb_observed()) {
        let judgement = judge(&observed);
        let stated: Vec<Expectation> = expectations_of(&observed.hypothesis);
        let judged: Vec<Expectation> =
            judgement.expectations.iter().filter_map(|r| r.expectation.clone()).collect();
        prop_assert_eq!(judged, stated);
        prop_assert!(judgement.expectations.iter().all(|r| r.outcome() != ExpectationOutcome::Unspecified));
    }

    #[test]
    fn met_is_within_the_deadline_and_late_beyond_it(observed in arb_observed()) {
        let judgement = judge(&observed);
        for r in &judgement.expectations {
            let within = r.expectation.as_ref().and_then(|e| e.within_ms);
            match (r.outcome(), r.latency_ms, within) {
                (ExpectationOutcome::Met, Some(latency), Some(within)) => prop_assert!(latency <= within),
                (ExpectationOutcome::Late, Some(latency), Some(within)) => prop_assert!(latency > within),
                (ExpectationOutcome::Late, None, _) => prop_assert!(false, "late without a latency"),
                _ => {}
            }
        }
    }

    #[test]
    fn nothing_injected_is_never_missed_nor_tested(observed in arb_observed()) {
        let judgement = judge(&observed);
        let dry_or_untouched = matches!(
            observed.ending,
            Ending::Rejected { .. } | Ending::Refused { control: None, .. } | Ending::Reverted { dry_run: true, .. }
        );
        if dry_or_untouched {
            prop_assert_eq!(judgement.verdict, Verdict::Inconclusive);
            prop_assert!(!judgement.tested);
        }
    }

    #[test]
    fn a_fault_cut_short_is_never_missed(mut observed in arb_observed()) {
        if let Ending::Reverted { cut_short, .. } = &mut observed.ending {
            *cut_short = Some("aborted".into());
        }
        let judgement = judge(&observed);
        prop_assert_ne!(judgement.verdict, Verdict::Missed);
    }

    #[test]
    fn one_more_signal_never_makes_a_verdict_worse(
        observed in arb_observed(),
        at_ms in 0..9_000i64,
        source in prop::sample::select(vec!["a", "b", "c", "d"]),
    ) {
        let before = judge(&observed);
        let mut more = observed.clone();
        more.signals.push(signal(at_ms, source));
        let after = judge(&more);
        prop_assert!(rank(after.verdict) >= rank(before.verdict), "{:?} then {:?}", before.verdict, after.verdict);
    }
}
