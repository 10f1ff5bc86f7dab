//! The store against a real SQLite file and a real PostgreSQL server: every test of what the store keeps and
//! answers runs on both (`sqlite::` and `postgres::`); the migrations of databases older rdfis made, on SQLite.
use std::str::FromStr as _;

use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;

use super::*;
use rdfi_core::events;
use rdfi_proto::v1::{
    AnalysisCompleted, ControlKind, Expectation, ExpectationOutcome, ExperimentSpec,
    ExposureOutcome, FaultExposureProved, FaultInjected, FaultPlanned, FaultReverted,
    FindingCreated, InventoryObserved, RunPlanned, RunStarted, SignalReceived, VerdictReached,
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

const ACTOR: &str = "rdfi-executor pod-1/7 as arn:aws:iam::123456789012:user/rdfi";

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
                campaign_id: String::new(),
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
                actor: ACTOR.into(),
                state_before_sha256: "aa".repeat(32),
                state_after_sha256: "bb".repeat(32),
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
                actor: ACTOR.into(),
                state_before_sha256: "bb".repeat(32),
                state_after_sha256: "aa".repeat(32),
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

async fn a_run_is_projected_once_however_often_its_events_arrive(backend: Backend) {
    let (_kept, store) = store_of(backend, &[]).await;
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
    let (findings, next) = store
        .list_findings(&FindingFilter::default(), 10, None)
        .await
        .unwrap();
    assert_eq!((findings.len(), next), (1, None));
    let (runs, next) = store.list_runs(10, None).await.unwrap();
    assert_eq!((runs.len(), next), (1, None));
    assert!(store.get_run("unknown").await.unwrap().is_none());
    // Another run's finding is not this run's.
    for mut event in lifecycle("r2", "f2") {
        if let Some(Payload::FindingCreated(finding)) = event.payload.as_mut() {
            finding.finding_id = "f2".into();
        }
        store.record(&event).await.unwrap();
    }
    let run = store.get_run("r1").await.unwrap().expect("the run");
    assert_eq!(run.findings.len(), 1);
    assert_eq!(run.findings[0].run_id, "r1");
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

/// A run of one fault on bucket `bucket` whose detector `prowler` met its expectation or missed it; a missed
/// one raises a finding of `severity`.
fn judged(
    run: &str,
    fault: &str,
    bucket: &str,
    met: bool,
    severity: &str,
    at_ms: i64,
) -> Vec<Event> {
    let resource = ResourceRef {
        id: format!("arn:aws:s3:::{bucket}"),
        name: bucket.to_owned(),
        tags: [("rdfi-criticality".to_owned(), "critical".to_owned())].into(),
        ..super::tests::bucket()
    };
    let result = ExpectationResult {
        expectation: Some(Expectation {
            kind: ControlKind::Detective as i32,
            within_ms: Some(500),
            sources: vec!["prowler".into()],
            ..Default::default()
        }),
        outcome: if met {
            ExpectationOutcome::Met
        } else {
            ExpectationOutcome::Failed
        } as i32,
        latency_ms: met.then_some(200),
        answered_by: if met {
            vec!["prowler".into()]
        } else {
            Vec::new()
        },
        reason: String::new(),
    };
    lifecycle(run, fault)
        .into_iter()
        .filter_map(|mut event| {
            event.time = Some(timestamp_from_millis(at_ms));
            match event.payload.as_mut()? {
                Payload::FaultPlanned(planned) => planned.resource = Some(resource.clone()),
                Payload::SignalReceived(_) if !met => return None,
                Payload::SignalReceived(signal) => signal.source = "prowler".into(),
                Payload::FaultExposureProved(proved) => {
                    proved.proof.as_mut()?.outcome = ExposureOutcome::Exposed as i32
                }
                Payload::VerdictReached(verdict) => {
                    verdict.verdict = if met {
                        Verdict::Detected
                    } else {
                        Verdict::Missed
                    } as i32;
                    verdict.expectations = vec![result.clone()];
                }
                Payload::FindingCreated(_) if met => return None,
                Payload::FindingCreated(finding) => {
                    finding.finding_id = format!("finding-{fault}");
                    finding.resource = Some(resource.clone());
                    finding.severity = severity.to_owned();
                }
                _ => {}
            }
            Some(event)
        })
        .collect()
}

/// Which database a store test runs on.
#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// What a store's database lives in, kept until the test ends.
#[derive(Default)]
struct Kept {
    _directory: Option<tempfile::TempDir>,
    _postgres: Option<rdfi_tests::postgres::Postgres>,
}

/// A new store on `backend` that recorded `runs`.
async fn store_of(backend: Backend, runs: &[Vec<Event>]) -> (Kept, Store) {
    let (kept, store) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("k.sqlite")).await.unwrap();
            (
                Kept {
                    _directory: Some(dir),
                    ..Kept::default()
                },
                store,
            )
        }
        Backend::Postgres => {
            let postgres = rdfi_tests::postgres::Postgres::start();
            let store = Store::connect(&Database::parse(&postgres.url))
                .await
                .unwrap();
            (
                Kept {
                    _postgres: Some(postgres),
                    ..Kept::default()
                },
                store,
            )
        }
    };
    for events in runs {
        for event in events {
            store.record(event).await.unwrap();
        }
    }
    (kept, store)
}

async fn a_control_that_caught_one_fault_and_missed_the_next_scores_between(backend: Backend) {
    let (_kept, store) = store_of(
        backend,
        &[
            judged("r1", "f1", "b", true, "high", 10_000),
            judged("r2", "f2", "b", false, "high", 20_000),
        ],
    )
    .await;
    let cards = store.list_controls(None, None).await.unwrap();
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0];
    assert_eq!(
        (card.control.as_str(), card.kind()),
        ("prowler", ControlKind::Detective)
    );
    let efficacy = card.efficacy.unwrap();
    assert_eq!((efficacy.met, efficacy.failed, efficacy.mean), (1, 1, 0.5));
    let history: Vec<(&str, u32, u32)> = card
        .history
        .iter()
        .map(|point| (point.run_id.as_str(), point.met, point.failed))
        .collect();
    assert_eq!(history, [("r1", 1, 0), ("r2", 0, 1)]);
    assert_eq!(card.latency.unwrap().mean_ms, Some(200));
    assert_eq!(
        store
            .list_controls(Some(" PROWLER "), None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .list_controls(Some("guardduty"), None)
            .await
            .unwrap()
            .is_empty()
    );
    // The finding of the miss: CVSS of a public ACL, a critical bucket proven exposed, prowler at 1/2.
    let (findings, _) = store
        .list_findings(&FindingFilter::default(), 10, None)
        .await
        .unwrap();
    let risk = findings[0].risk.clone().expect("scored");
    let expected = rdfi_core::risk::score(&rdfi_core::risk::Inputs {
        cvss_base_score: rdfi_core::catalogue::find("aws.s3.bucket-public-acl")
            .unwrap()
            .cvss_base_score(),
        criticality: rdfi_core::risk::Criticality::Critical,
        exposure: rdfi_core::risk::Exposure::Exposed,
        miss_probability: 0.5,
    });
    assert_eq!(
        (
            risk.score,
            risk.criticality.as_str(),
            risk.exposure.as_str()
        ),
        (expected, "critical", "exposed")
    );
    assert_eq!(findings[0].controls, ["prowler"]);
}

async fn findings_are_filtered_and_paged_riskiest_first(backend: Backend) {
    let (_kept, store) = store_of(
        backend,
        &[
            judged("r1", "f1", "alpha", false, "high", 10_000),
            judged("r1", "f2", "beta", false, "critical", 11_000),
            judged("r2", "f3", "alpha", false, "high", 12_000),
            judged("r2", "f4", "gamma", true, "high", 13_000),
        ],
    )
    .await;
    let all = FindingFilter::default();
    let (first, next) = store.list_findings(&all, 2, None).await.unwrap();
    assert_eq!(first.len(), 2);
    let token = next.expect("a second page").token();
    let after = FindingCursor::from_token(&token).unwrap();
    let (second, last) = store.list_findings(&all, 2, Some(&after)).await.unwrap();
    assert_eq!((second.len(), last), (1, None));
    let ids: Vec<&str> = first
        .iter()
        .chain(&second)
        .map(|f| f.finding_id.as_str())
        .collect();
    assert_eq!(ids.len(), 3);
    let scores: Vec<f64> = first
        .iter()
        .chain(&second)
        .map(|f| f.risk.as_ref().unwrap().score)
        .collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );
    let count = |filter: FindingFilter| {
        let store = store.clone();
        async move {
            store
                .list_findings(&filter, 100, None)
                .await
                .unwrap()
                .0
                .len()
        }
    };
    assert_eq!(
        count(FindingFilter {
            severity: Some("CRITICAL".into()),
            ..all.clone()
        })
        .await,
        1
    );
    assert_eq!(
        count(FindingFilter {
            resource: Some("alpha".into()),
            ..all.clone()
        })
        .await,
        2
    );
    assert_eq!(
        count(FindingFilter {
            resource: Some("arn:aws:s3:::beta".into()),
            ..all.clone()
        })
        .await,
        1
    );
    assert_eq!(
        count(FindingFilter {
            run_id: Some("r2".into()),
            ..all.clone()
        })
        .await,
        1
    );
    assert_eq!(
        count(FindingFilter {
            control: Some("Prowler".into()),
            ..all.clone()
        })
        .await,
        3
    );
    assert_eq!(
        count(FindingFilter {
            control: Some("prow".into()),
            ..all.clone()
        })
        .await,
        0
    );
    assert_eq!(
        count(FindingFilter {
            provider: Some("sandbox".into()),
            ..all.clone()
        })
        .await,
        3
    );
    assert_eq!(
        count(FindingFilter {
            provider: Some("gcp".into()),
            ..all.clone()
        })
        .await,
        0
    );
    assert_eq!(
        count(FindingFilter {
            fault_id: Some("aws.s3.bucket-public-acl".into()),
            ..all.clone()
        })
        .await,
        3
    );
    assert_eq!(
        count(FindingFilter {
            since_ms: Some(11_000),
            until_ms: Some(12_000),
            ..all.clone()
        })
        .await,
        1
    );
    assert!(matches!(
        FindingCursor::from_token("zz"),
        Err(StoreError::PageToken(_))
    ));
    assert!(matches!(
        RunCursor::from_token(&token),
        Err(StoreError::PageToken(_))
    ));
    let (runs, next) = store.list_runs(1, None).await.unwrap();
    assert_eq!(runs[0].run_id, "r2");
    let after = RunCursor::from_token(&next.unwrap().token()).unwrap();
    let (runs, next) = store.list_runs(1, Some(&after)).await.unwrap();
    assert_eq!((runs[0].run_id.as_str(), next), ("r1", None));
}

async fn an_asset_history_holds_every_fault_on_it_across_runs(backend: Backend) {
    let (_kept, store) = store_of(
        backend,
        &[
            judged("r1", "f1", "alpha", true, "high", 10_000),
            judged("r2", "f2", "beta", false, "high", 11_000),
            judged("r3", "f3", "alpha", false, "high", 12_000),
        ],
    )
    .await;
    let history = store.asset_history("alpha").await.unwrap().expect("alpha");
    let runs: Vec<&str> = history
        .faults
        .iter()
        .map(|fault| fault.run_id.as_str())
        .collect();
    assert_eq!(runs, ["r1", "r3"]);
    assert_eq!(
        history.faults[0].fault.as_ref().unwrap().observations.len(),
        1
    );
    assert_eq!(history.findings.len(), 1);
    assert_eq!(history.resource.unwrap().id, "arn:aws:s3:::alpha");
    assert!(
        store
            .asset_history("arn:aws:s3:::beta")
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.asset_history("delta").await.unwrap().is_none());
}

async fn a_regression_is_stored_with_who_caught_it_before(backend: Backend) {
    let mut missed = judged("r2", "f2", "alpha", false, "high", 11_000);
    for event in &mut missed {
        if let Some(Payload::FindingCreated(finding)) = event.payload.as_mut() {
            finding.regression = true;
            finding.regression_of = "detected by prowler in run r1".into();
        }
    }
    let (_kept, store) = store_of(
        backend,
        &[judged("r1", "f1", "alpha", true, "high", 10_000), missed],
    )
    .await;
    let (findings, _) = store
        .list_findings(&FindingFilter::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].regression_of, "detected by prowler in run r1");
}

async fn pair_trials_count_each_fault_on_each_resource_and_keep_the_last(backend: Backend) {
    let (_kept, store) = store_of(
        backend,
        &[
            judged("r1", "f1", "alpha", true, "high", 10_000),
            judged("r2", "f2", "beta", false, "high", 11_000),
            judged("r3", "f3", "alpha", false, "high", 12_000),
            judged("r4", "f4", "beta", true, "high", 13_000),
        ],
    )
    .await;
    let trials = store.pair_trials().await.unwrap();
    let seen: Vec<String> = trials
        .iter()
        .map(|trial| {
            format!(
                "{} caught {} missed {}, last {} {:?} at {} by {:?}",
                trial.resource_id,
                trial.caught,
                trial.missed,
                trial.last_run_id,
                trial.last_verdict(),
                unix_millis(trial.last_at.as_ref().unwrap()),
                trial.last_controls
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "arn:aws:s3:::alpha caught 1 missed 1, last r3 Missed at 12000 by []",
            "arn:aws:s3:::beta caught 1 missed 1, last r4 Detected at 13000 by [\"prowler\"]",
        ]
    );
    assert!(
        trials
            .iter()
            .all(|trial| trial.fault_id == "aws.s3.bucket-public-acl")
    );
}

#[tokio::test]
async fn a_database_made_before_the_scorecards_gains_them_from_its_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");
    let store = Store::open(&path).await.unwrap();
    for events in [
        judged("r1", "f1", "b", true, "high", 10_000),
        judged("r2", "f2", "b", false, "high", 11_000),
    ] {
        for event in events {
            store.record(&event).await.unwrap();
        }
    }
    let scored = store
        .list_findings(&FindingFilter::default(), 10, None)
        .await
        .unwrap()
        .0;
    // As an older rdfi left it: no trials table, no risk, no resource columns filled.
    sqlx::raw_sql(
        "DROP TABLE control_trials; UPDATE findings SET risk = x'', risk_score = 0, controls = '', resource_id = '';
         UPDATE faults SET resource_id = '', resource_name = '';",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    drop(store);
    let store = Store::open(&path).await.unwrap();
    assert_eq!(
        store.list_controls(None, None).await.unwrap()[0]
            .efficacy
            .unwrap()
            .failed,
        1
    );
    assert_eq!(
        store
            .list_findings(&FindingFilter::default(), 10, None)
            .await
            .unwrap()
            .0,
        scored
    );
    assert_eq!(
        store
            .asset_history("b")
            .await
            .unwrap()
            .unwrap()
            .faults
            .len(),
        2
    );
}

fn observed_at(ms: i64, resources: Vec<ResourceRef>, types: &[&str], discriminator: &str) -> Event {
    let mut event = events::event(
        "monitor",
        "",
        "",
        discriminator,
        Payload::AssetsObserved(rdfi_proto::v1::AssetsObserved {
            provider: "sandbox".into(),
            resources,
            resource_types: types.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }),
    );
    event.time = Some(timestamp_from_millis(ms));
    event
}

fn tagged(name: &str, tags: &[(&str, &str)], exposure: &str) -> ResourceRef {
    ResourceRef {
        id: format!("arn:aws:s3:::{name}"),
        name: name.into(),
        exposure: exposure.into(),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..bucket()
    }
}

async fn assets_keep_criticality_data_class_and_the_last_reach_read_and_what_is_gone(
    backend: Backend,
) {
    let (_kept, store) = store_of(backend, &[]).await;
    let exports = |exposure: &str| {
        tagged(
            "exports",
            &[("rdfi-criticality", "High"), ("rdfi-data-class", " pii ")],
            exposure,
        )
    };
    let types = ["aws.s3.bucket"];
    store
        .record(&observed_at(
            1_000,
            vec![exports("internal"), tagged("logs", &[], "")],
            &types,
            "1",
        ))
        .await
        .unwrap();
    // A run's discovery later: the bucket was busy, its reach unread; tags changed.
    let mut inventory = events::event(
        "monitor",
        "run-1",
        "",
        "",
        Payload::InventoryObserved(InventoryObserved {
            resources: vec![exports("")],
            ..Default::default()
        }),
    );
    inventory.time = Some(timestamp_from_millis(2_000));
    store.record(&inventory).await.unwrap();
    // An older refresh arriving late changes nothing but the first sighting.
    store
        .record(&observed_at(500, vec![exports("public")], &types, "0"))
        .await
        .unwrap();
    // A full refresh that no longer sees the logs bucket, and sees a new one.
    store
        .record(&observed_at(
            3_000,
            vec![exports("cross-account"), tagged("new", &[], "internal")],
            &types,
            "3",
        ))
        .await
        .unwrap();
    let assets = store.list_assets(None, None).await.unwrap();
    let names: Vec<&str> = assets
        .iter()
        .map(|asset| asset.resource.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["exports", "logs", "new"]);
    let exports = &assets[0];
    assert_eq!(exports.criticality, "high");
    assert_eq!(exports.data_class, "pii");
    assert_eq!(exports.resource.as_ref().unwrap().exposure, "cross-account");
    assert_eq!(exports.first_seen.as_ref().map(unix_millis), Some(500));
    assert_eq!(exports.last_seen.as_ref().map(unix_millis), Some(3_000));
    assert_eq!(exports.gone_since, None);
    let logs = &assets[1];
    assert_eq!(logs.criticality, "medium");
    assert_eq!(logs.data_class, "");
    assert_eq!(logs.gone_since.as_ref().map(unix_millis), Some(3_000));
    assert_eq!(logs.resource.as_ref().unwrap().exposure, "");
    // Seen again: no longer gone.
    store
        .record(&observed_at(
            4_000,
            vec![tagged("logs", &[], "public")],
            &[],
            "4",
        ))
        .await
        .unwrap();
    let logs = store
        .list_assets(Some("sandbox"), Some("aws.s3.bucket"))
        .await
        .unwrap();
    let logs = logs
        .iter()
        .find(|a| a.resource.as_ref().unwrap().name == "logs")
        .unwrap();
    assert_eq!(logs.gone_since, None);
    assert_eq!(logs.resource.as_ref().unwrap().exposure, "public");
    // A refresh of other types marks nothing of this type gone; filters narrow.
    store
        .record(&observed_at(5_000, vec![], &["aws.iam.user"], "5"))
        .await
        .unwrap();
    let buckets = store
        .list_assets(None, Some("aws.s3.bucket"))
        .await
        .unwrap();
    assert!(buckets.iter().all(|asset| asset.gone_since.is_none()));
    assert!(
        store
            .list_assets(Some("aws"), None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_exposure_read_before_stays_when_a_newer_event_could_not_read_it(backend: Backend) {
    let (_kept, store) = store_of(backend, &[]).await;
    let types = ["aws.s3.bucket"];
    store
        .record(&observed_at(
            1_000,
            vec![tagged("a", &[], "public")],
            &types,
            "1",
        ))
        .await
        .unwrap();
    store
        .record(&observed_at(2_000, vec![tagged("a", &[], "")], &types, "2"))
        .await
        .unwrap();
    let assets = store.list_assets(None, None).await.unwrap();
    assert_eq!(assets[0].resource.as_ref().unwrap().exposure, "public");
    assert_eq!(assets[0].last_seen.as_ref().map(unix_millis), Some(2_000));
}

async fn the_audit_trail_keeps_each_change_with_who_made_it_and_the_state_hashes(backend: Backend) {
    let mut dry = lifecycle("r2", "f2");
    for event in &mut dry {
        match event.payload.as_mut() {
            Some(Payload::FaultInjected(injected)) => injected.dry_run = true,
            Some(Payload::FaultReverted(reverted)) => reverted.dry_run = true,
            _ => {}
        }
    }
    let first = lifecycle("r1", "f1");
    let (_kept, store) = store_of(backend, &[first.clone(), first, dry]).await;
    let trail = store.audit(None, None, 100).await.unwrap();
    let actions: Vec<(&str, &str, &str, &str)> = trail
        .iter()
        .map(|entry| {
            (
                entry.action.as_str(),
                entry.run_id.as_str(),
                entry.state_before_sha256.get(..2).unwrap_or_default(),
                entry.state_after_sha256.get(..2).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [("inject", "r1", "aa", "bb"), ("revert", "r1", "bb", "aa")],
        "a dry run changed nothing, and a redelivery is kept once"
    );
    assert!(trail.iter().all(|entry| entry.actor == ACTOR));
    assert_eq!(trail[0].resource.as_ref().unwrap().name, "b");
    assert_eq!(trail[1].at.as_ref().map(unix_millis), Some(2_000));
    assert_eq!(
        store.audit(Some("r1"), Some("b"), 100).await.unwrap(),
        trail
    );
    assert_eq!(
        store
            .audit(None, Some("arn:aws:s3:::b"), 100)
            .await
            .unwrap(),
        trail
    );
    assert!(store.audit(Some("r2"), None, 100).await.unwrap().is_empty());
    assert!(
        store
            .audit(None, Some("another-bucket"), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.audit(None, None, 1).await.unwrap(), trail[..1]);
}

/// Each test of what the store keeps and answers, on each database.
macro_rules! on_each_database {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::Postgres).await;
            })*
        }
    };
}

on_each_database!(
    a_run_is_projected_once_however_often_its_events_arrive,
    a_control_that_caught_one_fault_and_missed_the_next_scores_between,
    findings_are_filtered_and_paged_riskiest_first,
    an_asset_history_holds_every_fault_on_it_across_runs,
    a_regression_is_stored_with_who_caught_it_before,
    pair_trials_count_each_fault_on_each_resource_and_keep_the_last,
    assets_keep_criticality_data_class_and_the_last_reach_read_and_what_is_gone,
    the_exposure_read_before_stays_when_a_newer_event_could_not_read_it,
    the_audit_trail_keeps_each_change_with_who_made_it_and_the_state_hashes,
);

#[tokio::test]
async fn a_sqlite_file_whose_path_has_spaces_hashes_and_percents_opens_where_it_was_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my state #1 100%?").join("k.sqlite");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = Store::connect(&Database::parse(path.to_str().unwrap()))
        .await
        .unwrap();
    for event in lifecycle("r1", "f1") {
        store.record(&event).await.unwrap();
    }
    drop(store);
    assert!(path.is_file(), "the database is at {}", path.display());
    let reopened = Store::open(&path).await.unwrap();
    assert!(reopened.get_run("r1").await.unwrap().is_some());
}

#[test]
fn a_postgres_url_is_postgresql_and_shown_without_its_password() {
    let database = Database::parse("postgres://rdfi:s3cret@db:5432/rdfi?sslmode=require");
    assert!(matches!(database, Database::Postgres(_)));
    assert!(!database.to_string().contains("s3cret"), "{database}");
    assert!(matches!(
        Database::parse("postgresql://db/rdfi"),
        Database::Postgres(_)
    ));
    assert_eq!(
        Database::parse("state/knowledge.sqlite"),
        Database::Sqlite(PathBuf::from("state/knowledge.sqlite"))
    );
}

#[test]
fn a_control_filter_matches_whole_lines_and_escapes_like_wildcards() {
    assert_eq!(line_pattern(" prowler "), "%\nprowler\n%");
    assert_eq!(line_pattern("a_b%c\\d"), "%\na\\_b\\%c\\\\d\n%");
}
