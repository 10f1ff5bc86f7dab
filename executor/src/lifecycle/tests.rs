//! Property tests of the lifecycle: a simulated journal and cloud carry out `step`'s effects, with every
//! answer (journal failures, busy resources, refusals, lost answers, failed reverts), aborts, stops, duplicate
//! deliveries and crashes drawn at random, and the safety invariants are checked after every effect.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::journal::test_record;

/// A simulated world: what the journal durably holds and what the cloud carries.
#[derive(Debug, Default)]
struct World {
    durable: Option<JournalRecord>,
    cloud_has_fault: bool,
    /// The fault's exposure canary is in the bucket.
    cloud_has_canary: bool,
    timer: Option<i64>,
    stop: Option<String>,
    finished: bool,
    now: i64,
    notices: Vec<Notice>,
    /// Injections made after a stop was in force at claim time, or after an abort reached the fault first.
    injections: u32,
}

/// Random answers, drawn from a script; once it runs out, everything succeeds (so liveness can be checked).
struct Script(VecDeque<u8>);

impl Script {
    fn pick(&mut self, choices: u8) -> u8 {
        self.0.pop_front().map_or(0, |byte| byte % choices)
    }
    fn exhausted(&self) -> bool {
        self.0.is_empty()
    }
}

fn check(world: &World, fault: &Fault) {
    if world.cloud_has_canary {
        let record = world
            .durable
            .as_ref()
            .expect("a canary the journal has no record of");
        assert!(
            record.state.is_open() && record.canary_key.is_some(),
            "the bucket holds a canary but its durable record is closed or does not name it: {record:?}"
        );
    }
    if world.cloud_has_fault {
        let record = world
            .durable
            .as_ref()
            .expect("the cloud carries a fault the journal has no record of");
        assert!(
            record.state.is_open(),
            "the cloud carries the fault but its durable record is closed: {record:?}"
        );
        assert!(
            world.timer.is_some() || matches!(fault.stage, Stage::Injecting | Stage::Reverting),
            "an injected fault without a timer: {fault:?}"
        );
    }
}

fn carry_out(
    world: &mut World,
    fault: &Fault,
    effect: Effect,
    script: &mut Script,
    inputs: &mut VecDeque<Input>,
) {
    assert!(!world.finished, "an effect after Finish: {effect:?}");
    match effect {
        Effect::Claim(record) => match script.pick(6) {
            1 => inputs.push_back(Input::JournalFailed {
                reason: "disk full".to_owned(),
            }),
            2 if record.state.is_open() => inputs.push_back(Input::Claimed {
                claim: Claim::ResourceBusy {
                    holder: "other".to_owned(),
                },
                stopped: world.stop.clone(),
            }),
            _ if world.durable.is_some() => inputs.push_back(Input::Claimed {
                claim: Claim::AlreadyHandled,
                stopped: world.stop.clone(),
            }),
            _ => {
                world.durable = Some(record);
                inputs.push_back(Input::Claimed {
                    claim: Claim::Taken,
                    stopped: world.stop.clone(),
                })
            }
        },
        Effect::Append(record) => {
            if script.pick(5) == 1 {
                inputs.push_back(Input::JournalFailed {
                    reason: "disk full".to_owned(),
                });
            } else {
                world.durable = Some(record);
            }
        }
        Effect::Inject => {
            let durable = world.durable.as_ref().expect("injection without a record");
            assert_eq!(
                durable.state,
                FaultState::Intended,
                "injection before its intent"
            );
            assert!(durable.snapshot.is_some(), "injection without a snapshot");
            assert_eq!(durable.fault_instance_id, fault.record.fault_instance_id);
            assert!(world.stop.is_none(), "injection while stopped");
            assert!(!fault.revert_at_once, "injection after an abort");
            world.injections += 1;
            let injection = match script.pick(5) {
                1 => Injection::Refused {
                    reason: "explicit deny".to_owned(),
                    attribution: Default::default(),
                },
                2 => Injection::Precondition {
                    reason: "already public".to_owned(),
                },
                3 => Injection::Failed {
                    reason: "timeout".to_owned(),
                    present: true,
                },
                4 => Injection::Failed {
                    reason: "timeout".to_owned(),
                    present: false,
                },
                _ => Injection::Done,
            };
            world.cloud_has_fault = matches!(
                injection,
                Injection::Done | Injection::Failed { present: true, .. }
            );
            inputs.push_back(Input::Injected(injection));
        }
        Effect::ProveExposure => {
            let durable = world
                .durable
                .as_ref()
                .expect("a canary placed without a record");
            assert!(
                durable.canary_key.is_some(),
                "a canary placed before its key was journalled"
            );
            assert!(world.cloud_has_fault, "a proof of a fault not injected");
            world.cloud_has_canary = true;
            inputs.push_back(Input::ExposureProved(ExposureProof {
                outcome: rdfi_proto::v1::ExposureOutcome::Exposed.into(),
                ..Default::default()
            }));
        }
        Effect::Revert => {
            let durable = world.durable.as_ref().expect("a revert without a record");
            assert!(durable.state.is_open());
            if script.pick(4) == 1 {
                inputs.push_back(Input::Reverted(Revert::Failed {
                    reason: "throttled".to_owned(),
                }));
            } else {
                // A verified revert has removed the canary too (`Executor::restore`).
                world.cloud_has_fault = false;
                world.cloud_has_canary = false;
                inputs.push_back(Input::Reverted(Revert::Verified {
                    already_restored: false,
                    changed_by_others: false,
                    started_ms: world.now,
                }));
            }
        }
        Effect::ArmTimer { at_ms } => {
            assert!(at_ms >= world.now || at_ms == fault.record.revert_due_at_ms);
            world.timer = Some(at_ms);
        }
        Effect::Publish(notice) => world.notices.push(notice),
        Effect::Finish => {
            world.finished = true;
            world.timer = None;
        }
    }
}

/// Runs one fault through the lifecycle under `script`; returns the world at the end.
fn simulate(script: Vec<u8>) -> World {
    let mut script = Script(script.into());
    let mut world = World {
        now: 1_000,
        ..Default::default()
    };
    let mut record = test_record("f", "bucket", FaultState::Planned);
    record.revert_due_at_ms = 61_000;
    record.canary_key = (script.pick(2) == 0).then(|| "rdfi-exposure/f.txt".to_owned());
    let mut fault = Fault::planned(record.clone());
    let mut inputs = VecDeque::from([if script.pick(8) == 0 {
        Input::Refused {
            reason: "not opted in".to_owned(),
        }
    } else {
        Input::Admitted {
            snapshot: serde_json::json!({"grants": []}),
            change: "add READ for AllUsers".to_owned(),
        }
    }]);
    for _ in 0..200 {
        // Outside events, while the script lasts.
        if !script.exhausted() {
            match script.pick(12) {
                1 => inputs.push_front(Input::Abort),
                2 => {
                    world.stop = Some("operator".to_owned());
                    inputs.push_front(Input::Abort);
                }
                3 => {
                    // kill -9: only the journal and the cloud survive; a new executor recovers what is open.
                    inputs.clear();
                    world.timer = None;
                    match &world.durable {
                        Some(record) if record.state.is_open() => {
                            world.finished = false;
                            fault = Fault::recorded(record.clone());
                            inputs.push_back(Input::Recovered);
                        }
                        _ => {
                            assert!(!world.cloud_has_fault, "a crash left an unrecorded fault");
                            // Nothing is left for a new executor to do.
                            world.finished = true;
                            return world;
                        }
                    }
                }
                4 => {
                    // A duplicate delivery of the same plan, on another replica.
                    let mut twin = Fault::planned(record.clone());
                    let (next, effects) = step(
                        &twin,
                        Input::Admitted {
                            snapshot: serde_json::json!({"grants": ["twin"]}),
                            change: String::new(),
                        },
                        world.now,
                    );
                    twin = next;
                    for effect in effects {
                        if let Effect::Claim(_) = effect
                            && world.durable.is_some()
                        {
                            {
                                let (after, effects) = step(
                                    &twin,
                                    Input::Claimed {
                                        claim: Claim::AlreadyHandled,
                                        stopped: None,
                                    },
                                    world.now,
                                );
                                assert_eq!(after.stage, Stage::Done);
                                assert_eq!(effects, vec![Effect::Finish]);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let input = match inputs.pop_front() {
            Some(input) => input,
            None => match world.timer.take() {
                Some(at_ms) => {
                    world.now = world.now.max(at_ms);
                    Input::Deadline
                }
                None => break,
            },
        };
        world.now += 1;
        let (next, effects) = step(&fault, input, world.now);
        fault = next;
        if let Some(position) = effects.iter().position(
            |effect| matches!(effect, Effect::Append(r) if r.state == FaultState::Injected),
        ) {
            assert!(
                effects[..position]
                    .iter()
                    .any(|effect| matches!(effect, Effect::ArmTimer { .. })),
                "the timer is armed before the injection is journalled: {effects:?}"
            );
        }
        for effect in effects {
            carry_out(&mut world, &fault, effect, &mut script, &mut inputs);
            check(&world, &fault);
        }
    }
    world
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn the_lifecycle_keeps_the_safety_invariants(script in proptest::collection::vec(any::<u8>(), 0..60)) {
        let world = simulate(script);
        // Liveness: once the answers succeed, nothing is left in the cloud, and a record left open (its last
        // write failed) is closed by the next recovery (the sweeper or a restart).
        prop_assert!(!world.cloud_has_fault, "left in the cloud: {world:?}");
        prop_assert!(!world.cloud_has_canary, "a canary left in the bucket: {world:?}");
        prop_assert!(world.finished, "the fault never left the executor's hands: {world:?}");
        if let Some(record) = world.durable.clone().filter(|record| record.state.is_open()) {
            prop_assert!(recovery_closes(record), "left open for good: {world:?}");
        }
        prop_assert!(world.injections <= 1, "injected more than once: {world:?}");
    }
}

/// Whether recovering `record` (every answer a success) ends with its record closed.
fn recovery_closes(record: JournalRecord) -> bool {
    let fault = Fault::recorded(record);
    let (fault, effects) = step(&fault, Input::Recovered, 0);
    if !matches!(effects[..], [Effect::ArmTimer { .. }]) {
        return false;
    }
    let (fault, effects) = step(&fault, Input::Deadline, 1);
    if !effects.contains(&Effect::Revert) {
        return false;
    }
    let (_, effects) = step(
        &fault,
        Input::Reverted(Revert::Verified {
            already_restored: true,
            changed_by_others: false,
            started_ms: 1,
        }),
        2,
    );
    effects.iter().any(
        |effect| matches!(effect, Effect::Append(record) if record.state == FaultState::Reverted),
    )
}

#[test]
fn an_injection_is_journalled_then_timed_then_reverted() {
    let mut record = test_record("f", "bucket", FaultState::Planned);
    record.revert_due_at_ms = 5_000;
    let fault = Fault::planned(record);
    let (fault, effects) = step(
        &fault,
        Input::Admitted {
            snapshot: serde_json::json!({}),
            change: "c".to_owned(),
        },
        1,
    );
    assert!(matches!(&effects[..], [Effect::Claim(r)] if r.state == FaultState::Intended));
    let (fault, effects) = step(
        &fault,
        Input::Claimed {
            claim: Claim::Taken,
            stopped: None,
        },
        2,
    );
    assert_eq!(effects, vec![Effect::Inject]);
    let (fault, effects) = step(&fault, Input::Injected(Injection::Done), 3);
    assert_eq!(effects[0], Effect::ArmTimer { at_ms: 5_000 });
    assert!(
        matches!(&effects[1], Effect::Append(r) if r.state == FaultState::Injected && r.injected_at_ms == Some(3))
    );
    assert_eq!(effects[2], Effect::Publish(Notice::Injected));
    let (fault, effects) = step(
        &fault,
        Input::JournalFailed {
            reason: "disk".to_owned(),
        },
        4,
    );
    assert_eq!(
        effects,
        vec![Effect::ArmTimer { at_ms: 4 }],
        "reverted at once"
    );
    let (fault, effects) = step(&fault, Input::Deadline, 5);
    assert!(
        matches!(&effects[..], [Effect::Append(r), Effect::Revert] if r.state == FaultState::Reverting)
    );
    let (fault, effects) = step(
        &fault,
        Input::Reverted(Revert::Failed {
            reason: "r".to_owned(),
        }),
        6,
    );
    assert_eq!(
        effects[0],
        Effect::ArmTimer {
            at_ms: 6 + retry_after(0).as_millis() as i64
        }
    );
    assert_eq!(fault.record.state, FaultState::RevertFailed);
    let (fault, _) = step(&fault, Input::Deadline, 7);
    let (fault, effects) = step(
        &fault,
        Input::Reverted(Revert::Verified {
            already_restored: false,
            changed_by_others: true,
            started_ms: 7,
        }),
        8,
    );
    assert!(fault.record.changed_by_others);
    assert_eq!(fault.stage, Stage::Done);
    assert_eq!(effects.last(), Some(&Effect::Finish));
    assert!(
        step(&fault, Input::Deadline, 9).1.is_empty(),
        "closed stays closed"
    );
}

#[test]
fn an_abort_during_the_claim_or_a_stop_prevents_the_injection() {
    let fault = Fault::planned(test_record("f", "b", FaultState::Planned));
    let admitted = Input::Admitted {
        snapshot: serde_json::json!({}),
        change: String::new(),
    };
    let taken = |stopped: Option<&str>| Input::Claimed {
        claim: Claim::Taken,
        stopped: stopped.map(str::to_owned),
    };
    let (claiming, _) = step(&fault, admitted, 1);
    let (aborted, effects) = step(&claiming, Input::Abort, 2);
    assert!(effects.is_empty());
    let (closed, effects) = step(&aborted, taken(None), 3);
    assert_eq!(closed.record.state, FaultState::Rejected);
    assert!(!effects.contains(&Effect::Inject));
    let (closed, effects) = step(&claiming, taken(Some("operator")), 3);
    assert!(!effects.contains(&Effect::Inject));
    assert!(closed.record.reason.unwrap().contains("operator"));
    let (injecting, _) = step(&claiming, taken(None), 3);
    let (injecting, _) = step(&injecting, Input::Abort, 4);
    let (_, effects) = step(&injecting, Input::Injected(Injection::Done), 5);
    assert_eq!(
        effects[0],
        Effect::ArmTimer { at_ms: 5 },
        "reverted as soon as injected"
    );
}

#[test]
fn retries_back_off_to_a_ceiling() {
    assert_eq!(retry_after(0), Duration::from_secs(5));
    assert_eq!(retry_after(1), Duration::from_secs(10));
    assert_eq!(retry_after(30), Duration::from_secs(300));
}

fn admitted() -> Input {
    Input::Admitted {
        snapshot: serde_json::json!({}),
        change: String::new(),
    }
}

fn refused() -> Input {
    Input::Refused {
        reason: "not opted in".to_owned(),
    }
}

#[test]
fn a_planned_fault_starts_planned_and_each_transition_is_stamped() {
    let fault = Fault::planned(test_record("f", "b", FaultState::Injected));
    assert_eq!(fault.record.state, FaultState::Planned);
    assert_eq!(fault.stage, Stage::New);
    let (claiming, effects) = step(&fault, admitted(), 77);
    assert_eq!(claiming.record.recorded_at_ms, 77);
    assert!(matches!(&effects[..], [Effect::Claim(r)] if r.recorded_at_ms == 77));
}

#[test]
fn a_refusal_is_claimed_then_published() {
    let fault = Fault::planned(test_record("f", "b", FaultState::Planned));
    let (claiming, effects) = step(&fault, refused(), 1);
    assert!(
        matches!(&effects[..], [Effect::Claim(r)] if r.state == FaultState::Rejected && r.reason.as_deref() == Some("not opted in"))
    );
    let (done, effects) = step(
        &claiming,
        Input::Claimed {
            claim: Claim::Taken,
            stopped: None,
        },
        2,
    );
    assert_eq!(done.stage, Stage::Done);
    assert_eq!(
        effects,
        vec![Effect::Publish(Notice::Rejected), Effect::Finish]
    );
}

#[test]
fn a_recorded_fault_is_neither_admitted_nor_refused_again() {
    for state in [FaultState::Injected, FaultState::Reverted] {
        let fault = Fault::recorded(test_record("f", "b", state));
        assert!(step(&fault, admitted(), 1).1.is_empty(), "{state:?}");
        assert!(step(&fault, refused(), 1).1.is_empty(), "{state:?}");
    }
}

#[test]
fn recovery_arms_the_timer_of_open_faults_only() {
    let mut record = test_record("f", "b", FaultState::Injected);
    record.revert_due_at_ms = 9_000;
    let at = |fault: &Fault| step(fault, Input::Recovered, 100).1;
    assert_eq!(
        at(&Fault::recorded(record.clone())),
        vec![Effect::ArmTimer { at_ms: 9_000 }],
        "an injected fault keeps its deadline"
    );
    let failed = JournalRecord {
        state: FaultState::RevertFailed,
        ..record.clone()
    };
    assert_eq!(
        at(&Fault::recorded(failed)),
        vec![Effect::ArmTimer { at_ms: 100 }],
        "a failed revert is retried at once"
    );
    let (aborted, _) = step(&Fault::recorded(record.clone()), Input::Abort, 50);
    assert_eq!(
        at(&aborted),
        vec![Effect::ArmTimer { at_ms: 100 }],
        "an aborted fault is reverted at once"
    );
    for closed in [
        FaultState::Reverted,
        FaultState::Prevented,
        FaultState::Rejected,
    ] {
        let closed = JournalRecord {
            state: closed,
            ..record.clone()
        };
        assert!(at(&Fault::recorded(closed)).is_empty());
    }
}

#[test]
fn an_intent_that_cannot_be_journalled_is_never_injected() {
    let fault = Fault::planned(test_record("f", "b", FaultState::Planned));
    let (claiming, _) = step(&fault, admitted(), 1);
    let (done, effects) = step(
        &claiming,
        Input::JournalFailed {
            reason: "disk full".to_owned(),
        },
        2,
    );
    assert_eq!(done.stage, Stage::Done);
    assert_eq!(done.record.state, FaultState::Rejected);
    assert!(done.record.reason.unwrap().contains("disk full"));
    assert_eq!(
        effects,
        vec![Effect::Publish(Notice::Rejected), Effect::Finish]
    );
}

#[test]
fn a_failed_write_after_a_failed_revert_keeps_the_retry_delay() {
    let mut record = test_record("f", "b", FaultState::Injected);
    record.revert_due_at_ms = 10;
    let (holding, _) = step(&Fault::recorded(record), Input::Recovered, 1);
    let (reverting, _) = step(&holding, Input::Deadline, 2);
    let (failed, _) = step(
        &reverting,
        Input::Reverted(Revert::Failed {
            reason: "throttled".to_owned(),
        }),
        3,
    );
    assert_eq!(failed.record.state, FaultState::RevertFailed);
    let (_, effects) = step(
        &failed,
        Input::JournalFailed {
            reason: "disk full".to_owned(),
        },
        4,
    );
    assert!(effects.is_empty(), "no retry storm: {effects:?}");
}

/// Steps a planned fault through admission and its claim to the injection call.
fn claimed(record: JournalRecord) -> Fault {
    let (fault, _) = step(&Fault::planned(record), admitted(), 1);
    let (fault, effects) = step(
        &fault,
        Input::Claimed {
            claim: Claim::Taken,
            stopped: None,
        },
        2,
    );
    assert_eq!(effects, vec![Effect::Inject]);
    fault
}

#[test]
fn a_held_fault_is_due_its_hold_after_the_injection_answered_and_an_abort_says_it_was_cut_short() {
    let mut record = test_record("f", "bucket", FaultState::Planned);
    record.revert_due_at_ms = 1_000;
    record.hold_ms = 5_000;
    let fault = claimed(record);
    let (fault, effects) = step(&fault, Input::Injected(Injection::Done), 300);
    assert_eq!(effects[0], Effect::ArmTimer { at_ms: 5_300 });
    assert!(matches!(&effects[1], Effect::Append(r) if r.revert_due_at_ms == 5_300));
    assert_eq!(fault.record.cut_short, None);
    let (fault, effects) = step(&fault, Input::Abort, 400);
    assert!(
        matches!(&effects[..], [Effect::Append(r), Effect::Revert]
            if r.state == FaultState::Reverting && r.cut_short.as_deref() == Some(ABORTED)),
        "reverted at once, and journalled as cut short: {effects:?}"
    );
    let (fault, effects) = step(
        &fault,
        Input::Reverted(Revert::Verified {
            already_restored: false,
            changed_by_others: false,
            started_ms: 400,
        }),
        450,
    );
    assert!(effects.iter().any(|effect| matches!(
        effect,
        Effect::Publish(Notice::Reverted { cut_short: Some(reason), .. }) if reason == ABORTED
    )));
    assert_eq!(fault.stage, Stage::Done);
}

#[test]
fn a_fault_held_to_its_deadline_is_not_cut_short() {
    let mut record = test_record("f", "bucket", FaultState::Planned);
    record.hold_ms = 100;
    let fault = claimed(record);
    let (fault, _) = step(&fault, Input::Injected(Injection::Done), 10);
    let (fault, _) = step(&fault, Input::Deadline, 110);
    let (_, effects) = step(
        &fault,
        Input::Reverted(Revert::Verified {
            already_restored: false,
            changed_by_others: false,
            started_ms: 110,
        }),
        120,
    );
    assert!(effects.iter().any(|effect| matches!(
        effect,
        Effect::Publish(Notice::Reverted {
            cut_short: None,
            ..
        })
    )));
}

#[test]
fn a_refusal_journals_the_control_it_is_attributed_to() {
    let attribution = rdfi_provider::Attribution::to(
        rdfi_provider::NamedControl {
            name: "deny-public-acl".to_owned(),
            location: "user rdfi".to_owned(),
            control_type: rdfi_provider::ControlType::IdentityPolicy,
        },
        Some("s3:PutBucketAcl".to_owned()),
    );
    let fault = claimed(test_record("f", "bucket", FaultState::Planned));
    let (fault, effects) = step(
        &fault,
        Input::Injected(Injection::Refused {
            reason: "AccessDenied".to_owned(),
            attribution: attribution.clone(),
        }),
        3,
    );
    assert!(matches!(
        &effects[..],
        [Effect::Append(r), Effect::Publish(Notice::Prevented), Effect::Finish]
            if r.state == FaultState::Prevented && r.refusal.as_ref() == Some(&attribution)
    ));
    assert_eq!(fault.record.reason.as_deref(), Some("AccessDenied"));
}

#[test]
fn a_fault_with_a_canary_proves_its_exposure_after_the_injection_is_journalled_and_reports_it() {
    let mut record = test_record("f", "bucket", FaultState::Planned);
    record.canary_key = Some("rdfi-exposure/f.txt".to_owned());
    let fault = claimed(record.clone());
    let (fault, effects) = step(&fault, Input::Injected(Injection::Done), 3);
    assert!(
        matches!(&effects[..], [Effect::ArmTimer { .. }, Effect::Append(r), Effect::Publish(Notice::Injected), Effect::ProveExposure]
            if r.state == FaultState::Injected && r.canary_key == record.canary_key),
        "{effects:?}"
    );
    let proof = ExposureProof {
        outcome: rdfi_proto::v1::ExposureOutcome::Neutralized.into(),
        answer: "HTTP 403 AccessDenied".to_owned(),
        ..Default::default()
    };
    let (held, effects) = step(&fault, Input::ExposureProved(proof.clone()), 4);
    assert_eq!(effects, vec![Effect::Publish(Notice::Exposure(proof))]);
    assert_eq!(
        held, fault,
        "the proof changes nothing of the fault's state"
    );
    // An abort that reached the fault during its injection proves nothing: the revert comes first.
    let mut aborted = claimed(record.clone());
    aborted.revert_at_once = true;
    let (_, effects) = step(&aborted, Input::Injected(Injection::Done), 3);
    assert!(!effects.contains(&Effect::ProveExposure), "{effects:?}");
    // Without a canary key (a fault that exposes nothing, or a dry run) there is no proof.
    let (_, effects) = step(
        &claimed(test_record("f", "bucket", FaultState::Planned)),
        Input::Injected(Injection::Done),
        3,
    );
    assert!(!effects.contains(&Effect::ProveExposure), "{effects:?}");
}
