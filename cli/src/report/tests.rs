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
    Report::from_run(
        &GetRunResponse {
            run: Some(RunSummary {
                run_id: "r".into(),
                tested,
                aborted,
                hypotheses_held: held,
                ..Default::default()
            }),
            faults,
            findings: Vec::new(),
        },
        &[],
    )
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

mod formats {
    //! Each format rendered from one run with a detected and a missed fault, two findings, and scorecards.
    use rdfi_proto::timestamp_from_millis;
    use rdfi_proto::v1::{
        ControlKind, Efficacy, Expectation, ExpectationOutcome, Finding, Latency, Observation,
        ResourceRef, Risk, RunStatus, RunSummary, ScorecardPoint, Verdict,
    };

    use super::*;

    const EVIL: &str = "<script>alert('x')</script>|&\u{1}";
    const T0: i64 = 1_796_000_000_000;

    fn resource(name: &str) -> ResourceRef {
        ResourceRef {
            provider: "sandbox".into(),
            resource_type: "aws.s3.bucket".into(),
            id: format!("arn:aws:s3:::{name}"),
            name: name.into(),
            region: "us-east-1".into(),
            ..Default::default()
        }
    }

    fn detect(outcome: ExpectationOutcome, latency: Option<u64>, by: &[&str]) -> ExpectationResult {
        ExpectationResult {
            expectation: Some(Expectation {
                kind: ControlKind::Detective as i32,
                within_ms: Some(1_000),
                sources: vec!["s3-public-acl-detector".into()],
                mode: SourceMode::Any as i32,
            }),
            outcome: outcome as i32,
            latency_ms: latency,
            answered_by: by.iter().map(|name| (*name).to_owned()).collect(),
            reason: String::new(),
        }
    }

    fn finding(id: &str, name: &str, score: f64, instance: &str) -> Finding {
        Finding {
            finding_id: id.into(),
            run_id: "run-1".into(),
            fault_instance_id: instance.into(),
            fault_id: "aws.s3.bucket-public-acl".into(),
            resource: Some(resource(name)),
            title: format!("public ACL went uncaught on {name}"),
            severity: "high".into(),
            remediation: "Enable Block Public Access".into(),
            created_at: Some(timestamp_from_millis(T0 + 3_000)),
            risk: Some(Risk {
                score,
                cvss_base_score: 7.5,
                criticality: "high".into(),
                exposure: "exposed".into(),
                miss_probability: 0.5,
            }),
            controls: vec!["s3-public-acl-detector".into()],
            regression_of: String::new(),
        }
    }

    fn scorecard(control: &str, fault_id: &str, mean: f64) -> ControlScorecard {
        ControlScorecard {
            control: control.into(),
            kind: ControlKind::Detective as i32,
            fault_id: fault_id.into(),
            efficacy: Some(Efficacy {
                met: 1,
                failed: 1,
                mean,
                lower: mean / 2.0,
                upper: (mean * 1.5).min(1.0),
            }),
            latency: Some(Latency {
                answers: 1,
                mean_ms: Some(400),
                p90_ms: Some(400),
            }),
            history: Vec::new(),
        }
    }

    fn report() -> Report {
        let detected = FaultRecord {
            fault_instance_id: "fi-1".into(),
            fault_id: "aws.s3.bucket-public-acl".into(),
            resource: Some(resource("payments")),
            state: FaultState::Reverted as i32,
            injected_at: Some(timestamp_from_millis(T0)),
            reverted_at: Some(timestamp_from_millis(T0 + 2_000)),
            revert_verified: true,
            verdict: Verdict::Detected as i32,
            time_to_detect_ms: Some(400),
            detected_by: "s3-public-acl-detector".into(),
            observations: vec![Observation {
                event_id: "o1".into(),
                kind: "signal".into(),
                source: "s3-public-acl-detector".into(),
                title: EVIL.into(),
                severity: "high".into(),
                observed_at: Some(timestamp_from_millis(T0 + 400)),
            }],
            expectations: vec![detect(
                ExpectationOutcome::Met,
                Some(400),
                &["s3-public-acl-detector"],
            )],
            ..Default::default()
        };
        let missed = FaultRecord {
            fault_instance_id: "fi-2".into(),
            resource: Some(resource(EVIL)),
            verdict: Verdict::Missed as i32,
            time_to_detect_ms: None,
            detected_by: String::new(),
            observations: Vec::new(),
            expectations: vec![detect(ExpectationOutcome::Failed, None, &[])],
            ..detected.clone()
        };
        let mut cut = missed.clone();
        cut.fault_instance_id = "fi-3".into();
        cut.resource = Some(resource("scratch"));
        cut.verdict = Verdict::Inconclusive as i32;
        cut.expectations = vec![ExpectationResult {
            reason: "aborted".into(),
            ..detect(ExpectationOutcome::Inconclusive, None, &[])
        }];
        Report::from_run(
            &GetRunResponse {
                run: Some(RunSummary {
                    run_id: "run-1".into(),
                    experiment: "public-buckets".into(),
                    provider: "sandbox".into(),
                    status: RunStatus::Completed as i32,
                    started_at: Some(timestamp_from_millis(T0 - 500)),
                    completed_at: Some(timestamp_from_millis(T0 + 3_500)),
                    tested: 3,
                    ..Default::default()
                }),
                faults: vec![detected, missed, cut],
                findings: vec![
                    finding("low-risk", "scratch", 20.0, "fi-3"),
                    finding("high-risk", EVIL, 80.0, "fi-2"),
                ],
            },
            &[
                scorecard("s3-public-acl-detector", "aws.s3.bucket-public-acl", 0.6),
                scorecard("any detective control", "aws.s3.bucket-public-acl", 0.5),
                scorecard(
                    "s3-public-acl-detector",
                    "aws.iam.user-admin-policy-attached",
                    0.9,
                ),
                scorecard("guardduty", "aws.s3.bucket-public-acl", 0.9),
            ],
        )
    }

    #[test]
    fn findings_are_ranked_by_risk_and_only_the_expected_controls_are_scored() {
        let report = report();
        let ids: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.finding_id.as_str())
            .collect();
        assert_eq!(ids, ["high-risk", "low-risk"]);
        let controls: Vec<(&str, &str)> = report
            .controls
            .iter()
            .map(|c| (c.control.as_str(), c.fault_id.as_str()))
            .collect();
        assert_eq!(
            controls,
            [("s3-public-acl-detector", "aws.s3.bucket-public-acl")],
            "other faults' and unnamed controls' scorecards are left out"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["findings"][0]["risk"]["score"], 80.0);
        assert_eq!(json["findings"][0]["controls"][0], "s3-public-acl-detector");
        assert_eq!(json["controls"][0]["efficacy"]["mean"], 0.6);
        let timeline = &json["faults"][0]["timeline"];
        assert_eq!(timeline["injectedAtMs"], T0);
        assert_eq!(timeline["observations"][0]["kind"], "signal");
        assert_eq!(timeline["observations"][0]["observedAtMs"], T0 + 400);
        assert_eq!(timeline["revertedAtMs"], T0 + 2_000);
    }

    #[test]
    fn html_draws_each_controls_trend_once_it_has_two_runs() {
        let mut report = report();
        let point = |run: &str, mean: f64| ScorecardPoint {
            run_id: run.into(),
            efficacy: Some(Efficacy {
                mean,
                ..Efficacy::default()
            }),
            ..ScorecardPoint::default()
        };
        let mut card = scorecard("prowler", "aws.s3.bucket-public-acl", 0.5);
        report.controls = vec![ControlReport::of(&card)];
        assert!(
            !ReportFormat::Html
                .render(&report)
                .contains("class=\"trend\"")
        );
        card.history = vec![point("r1", 2.0 / 3.0), point("r2", 0.5)];
        report.controls = vec![ControlReport::of(&card)];
        let html = ReportFormat::Html.render(&report);
        assert_eq!(html.matches("class=\"trend\"").count(), 1);
        assert!(
            html.contains("efficacy after each of 2 runs: 67%, 50%"),
            "{html}"
        );
    }

    #[test]
    fn html_escapes_outside_text_and_loads_nothing() {
        let html = ReportFormat::Html.render(&report());
        assert!(!html.contains("<script"), "an outside name became markup");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;|&amp;"));
        assert!(!html.contains('\u{1}'));
        for external in ["src=", "href=", "url(", "@import", "http://", "https://"] {
            let allowed = html.matches("http://www.w3.org/2000/svg").count();
            let found = html.matches(external).count();
            if external == "http://" {
                assert_eq!(found, allowed, "{external}");
            } else {
                assert_eq!(found, 0, "{external}");
            }
        }
        assert_eq!(
            html.matches("<svg").count(),
            2,
            "a timeline and a scorecard chart"
        );
        let high = html.find("Enable Block Public Access").unwrap();
        assert!(
            html[..high].contains(">80<"),
            "the riskiest finding comes first"
        );
    }

    #[test]
    fn junit_has_a_case_per_expectation_with_failures_and_skips() {
        let xml = ReportFormat::Junit.render(&report());
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        assert!(xml.contains(
            "<testcase classname=\"aws.s3.bucket-public-acl\" name=\"detect on payments\" time=\"0.400\">"
        ));
        assert!(xml.contains("<failure message=\"detect failed\" type=\"failed\">"));
        assert!(xml.contains("<skipped message=\"aborted\"/>"));
        assert!(!xml.contains("<script"));
        assert!(xml.contains("timestamp=\"2026-"), "{xml}");
    }

    #[test]
    fn sarif_has_a_rule_per_fault_and_a_result_per_finding_at_the_experiment_file() {
        let sarif = sarif::render(&report().with_experiment_file("experiments/public.yaml"));
        assert_eq!(sarif["version"], "2.1.0");
        let run = &sarif["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["id"], "aws.s3.bucket-public-acl");
        assert_eq!(rules[0]["properties"]["attackTechnique"], "T1530");
        let severity: f64 = rules[0]["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&severity) && severity > 0.0);
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["rank"], 80.0);
        assert_eq!(results[0]["ruleIndex"], 0);
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "experiments/public.yaml"
        );
        assert_eq!(
            results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "arn:aws:s3:::scratch"
        );
        let unnamed = sarif::render(&report());
        assert_eq!(
            unnamed["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"],
            "public-buckets.yaml"
        );
    }

    #[test]
    fn ocsf_findings_are_detection_findings() {
        let events = ocsf::render(&report());
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 2);
        let event = &events[0];
        assert_eq!(event["class_uid"], 2004);
        assert_eq!(event["category_uid"], 2);
        assert_eq!(event["type_uid"], 200401);
        assert_eq!(event["severity_id"], 4);
        assert_eq!(event["risk_score"], 80);
        assert_eq!(event["finding_info"]["uid"], "high-risk");
        assert_eq!(
            event["finding_info"]["attacks"][0]["technique"]["uid"],
            "T1530"
        );
        assert_eq!(event["resources"][0]["type"], "aws.s3.bucket");
        assert_eq!(event["remediation"]["desc"], "Enable Block Public Access");
        assert_eq!(event["time"], T0 + 3_000);
    }

    #[test]
    fn the_navigator_layer_scores_a_technique_by_its_controls_efficacy() {
        let mut report = report();
        let layer = navigator::render(&report);
        assert_eq!(layer["versions"]["layer"], "4.5");
        assert_eq!(layer["domain"], "enterprise-attack");
        let technique = &layer["techniques"][0];
        assert_eq!(technique["techniqueID"], "T1530");
        assert_eq!(technique["score"], 60.0);
        // A second control expected for the same fault: caught when either answers.
        report.controls.push(ControlReport::of(&scorecard(
            "guardduty",
            "aws.s3.bucket-public-acl",
            0.5,
        )));
        assert_eq!(navigator::render(&report)["techniques"][0]["score"], 80.0);
        report.controls.clear();
        let unscored = navigator::render(&report);
        assert!(unscored["techniques"][0].get("score").is_none());
        assert!(
            unscored["techniques"][0]["comment"]
                .as_str()
                .unwrap()
                .contains("no control scorecard yet")
        );
    }

    #[test]
    fn markdown_ranks_findings_and_keeps_outside_text_out_of_the_table_syntax() {
        let markdown = ReportFormat::Markdown.render(&report());
        let high = markdown.find("1. **[HIGH]").unwrap();
        assert!(markdown[high..].contains("risk 80.0/100"));
        assert!(markdown.contains("2. **[HIGH] public ACL went uncaught on scratch**"));
        // Outside a code span (where Markdown shows it literally), no outside text is markup.
        let prose: String = markdown.split('`').step_by(2).collect();
        assert!(!prose.contains("<script"), "{markdown}");
        assert!(markdown.contains("&lt;script&gt;"));
        assert!(
            markdown.contains("\\|&"),
            "a | in a name would split a table cell"
        );
        assert!(markdown.contains("| s3-public-acl-detector | detect |"));
    }

    #[test]
    fn every_catalogue_technique_has_a_name() {
        for model in rdfi_core::catalogue::all() {
            assert!(
                technique_name(model.attack_technique).is_some(),
                "{} maps to {} which has no name",
                model.id,
                model.attack_technique
            );
        }
    }

    #[test]
    fn each_format_has_its_own_file() {
        let names: std::collections::BTreeSet<&str> = [
            ReportFormat::Json,
            ReportFormat::Markdown,
            ReportFormat::Html,
            ReportFormat::Sarif,
            ReportFormat::Junit,
            ReportFormat::Ocsf,
            ReportFormat::Navigator,
        ]
        .map(ReportFormat::file_name)
        .into();
        assert_eq!(names.len(), 7);
    }
}
