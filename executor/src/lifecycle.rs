//! A fault's lifecycle as one pure state machine: [`step`] takes the fault and what just happened and returns
//! the fault's next state with the effects to carry out, in order (journal writes, the provider's mutating
//! calls, timers, events). The executor's worker carries them out and feeds each answer back as the next
//! input; it decides nothing. So the safety invariants are properties of `step`, tested below over random
//! input sequences with crashes, duplicate deliveries, aborts and failing writes:
//!
//! - no mutation (injection) before a durable journal record holding the snapshot, and none once the run is
//!   stopped or the fault is aborted before the call;
//! - every injected fault has a timer, armed before anything else can fail (the journal write after the
//!   injection may; then the timer fires at once);
//! - a fault whose revert could not be verified stays open with a timer to retry it;
//! - whenever the cloud may carry the fault, the durable record is open, so a crash at any point leaves it to
//!   be recovered.

use std::time::Duration;

use rdfi_proto::v1::ExposureProof;
use rdfi_provider::Attribution;
use serde_json::Value;

use crate::journal::{Claim, FaultState, JournalRecord};

/// Where the worker is with a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Not yet admitted (planned), or just loaded from the journal.
    New,
    /// The intent (or the refusal) is being claimed in the journal.
    Claiming,
    /// The mutating call is under way.
    Injecting,
    /// Injected (or its revert failed): waiting for the timer.
    Holding,
    /// The revert and its verification are under way.
    Reverting,
    /// Nothing more to do here: closed, or another delivery has it.
    Done,
}

/// One fault as the executor holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub record: JournalRecord,
    pub stage: Stage,
    /// What the injection changes, for people.
    pub change: String,
    /// An abort came while the injection was under way: revert as soon as it answers.
    pub revert_at_once: bool,
    /// Failed reverts so far (the retry backs off).
    pub revert_failures: u32,
}

/// What the provider answered to the injection.
#[derive(Clone, Debug, PartialEq)]
pub enum Injection {
    Done,
    /// The cloud refused: a preventive control.
    Refused {
        reason: String,
        /// The control the refusal is attributed to, as far as the provider could tell.
        attribution: Attribution,
    },
    /// The resource is not in a state the fault can start from; nothing changed.
    Precondition {
        reason: String,
    },
    /// The call failed; `present` is what a read of the resource said afterwards.
    Failed {
        reason: String,
        present: bool,
    },
}

/// What the revert and its verification achieved.
#[derive(Clone, Debug, PartialEq)]
pub enum Revert {
    Verified {
        /// The fault was already gone when the revert started (someone else corrected it).
        already_restored: bool,
        /// Someone else changed the resource meanwhile; their change was kept.
        changed_by_others: bool,
        started_ms: i64,
    },
    Failed {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// The guard passed and the snapshot was read.
    Admitted {
        snapshot: Value,
        change: String,
    },
    /// A guard refused the fault (before anything was written).
    Refused {
        reason: String,
    },
    /// The journal's answer to the claim; `stopped` is the abort in force for the run, read after the claim.
    Claimed {
        claim: Claim,
        stopped: Option<String>,
    },
    /// The journal could not be written.
    JournalFailed {
        reason: String,
    },
    Injected(Injection),
    /// The revert timer fired (its deadline, an abort, or a retry).
    Deadline,
    /// An abort: revert now, or as soon as the injection under way answers.
    Abort,
    Reverted(Revert),
    /// The fault was found open in the journal when the executor started.
    Recovered,
    /// The anonymous read of the fault's canary answered.
    ExposureProved(ExposureProof),
}

/// What the worker publishes.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Injected,
    Prevented,
    Rejected,
    Reverted {
        already_restored: bool,
        changed_by_others: bool,
        started_ms: i64,
        /// Why it was reverted before its deadline, if it was.
        cut_short: Option<String>,
    },
    RevertFailed,
    Exposure(ExposureProof),
}

/// Why a fault reverted on an abort (gRPC, `safety.abort`, a stop condition, SIGINT or SIGTERM) was cut short.
pub const ABORTED: &str = "aborted before its deadline";
/// Why a fault whose injection the journal could not record was cut short.
pub const UNJOURNALLED: &str = "reverted at once: the journal could not record the injection";
/// Why a fault recovered by `rdfi recover` before its deadline was cut short.
pub const RECOVERED_EARLY: &str = "recovered and reverted before its deadline";

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Write the fault's first record; answers [`Input::Claimed`] (or [`Input::JournalFailed`]).
    Claim(JournalRecord),
    /// Write a transition; a failure answers [`Input::JournalFailed`].
    Append(JournalRecord),
    /// Make the mutating call (nothing in a dry run); answers [`Input::Injected`].
    Inject,
    /// Place the fault's canary and read it anonymously; answers [`Input::ExposureProved`].
    ProveExposure,
    /// Revert and verify, removing the fault's canary; answers [`Input::Reverted`].
    Revert,
    /// Fire [`Input::Deadline`] at this time (replacing any timer armed before).
    ArmTimer {
        at_ms: i64,
    },
    Publish(Notice),
    /// The fault leaves the executor's hands.
    Finish,
}

/// How long after a failed revert the next attempt starts.
pub fn retry_after(failures: u32) -> Duration {
    Duration::from_secs(5)
        .saturating_mul(1 << failures.min(6))
        .min(Duration::from_secs(300))
}

impl Fault {
    /// A planned fault, not yet admitted.
    pub fn planned(record: JournalRecord) -> Fault {
        Fault {
            record: JournalRecord {
                state: FaultState::Planned,
                ..record
            },
            stage: Stage::New,
            change: String::new(),
            revert_at_once: false,
            revert_failures: 0,
        }
    }

    /// A fault as the journal holds it.
    pub fn recorded(record: JournalRecord) -> Fault {
        Fault {
            record,
            stage: Stage::New,
            change: String::new(),
            revert_at_once: false,
            revert_failures: 0,
        }
    }

    fn with_state(&self, state: FaultState, reason: Option<String>, now_ms: i64) -> JournalRecord {
        JournalRecord {
            state,
            reason,
            recorded_at_ms: now_ms,
            ..self.record.clone()
        }
    }
}

/// The fault after `input`, and what to do about it, in order.
pub fn step(fault: &Fault, input: Input, now_ms: i64) -> (Fault, Vec<Effect>) {
    let mut next = fault.clone();
    let effects = match (fault.stage, input) {
        (Stage::New, Input::Refused { reason }) if fault.record.state == FaultState::Planned => {
            next.record = fault.with_state(FaultState::Rejected, Some(reason), now_ms);
            next.stage = Stage::Claiming;
            vec![Effect::Claim(next.record.clone())]
        }
        (Stage::New, Input::Admitted { snapshot, change })
            if fault.record.state == FaultState::Planned =>
        {
            next.record = fault.with_state(FaultState::Intended, None, now_ms);
            next.record.snapshot = Some(snapshot);
            next.change = change;
            next.stage = Stage::Claiming;
            vec![Effect::Claim(next.record.clone())]
        }
        (Stage::New, Input::Recovered) if fault.record.state.is_open() => {
            next.stage = Stage::Holding;
            let at_ms = if fault.record.state == FaultState::RevertFailed || fault.revert_at_once {
                now_ms
            } else {
                fault.record.revert_due_at_ms
            };
            if at_ms < fault.record.revert_due_at_ms && next.record.cut_short.is_none() {
                next.record.cut_short = Some(RECOVERED_EARLY.to_owned());
            }
            vec![Effect::ArmTimer { at_ms }]
        }
        (Stage::Claiming, Input::Claimed { claim, stopped }) => match claim {
            Claim::AlreadyHandled => {
                next.stage = Stage::Done;
                vec![Effect::Finish]
            }
            Claim::Taken if fault.record.state == FaultState::Rejected => {
                next.stage = Stage::Done;
                vec![Effect::Publish(Notice::Rejected), Effect::Finish]
            }
            Claim::Taken => match stopped {
                None if !fault.revert_at_once => {
                    next.stage = Stage::Injecting;
                    vec![Effect::Inject]
                }
                stopped => {
                    let reason = stopped.unwrap_or_else(|| "aborted".to_owned());
                    reject(&mut next, format!("stopped by an abort: {reason}"), now_ms)
                }
            },
            Claim::ResourceBusy { holder } => reject(
                &mut next,
                format!("the resource already has an open fault ({holder})"),
                now_ms,
            ),
        },
        (Stage::Claiming, Input::JournalFailed { reason }) => {
            next.record = fault.with_state(
                FaultState::Rejected,
                Some(format!("cannot journal the intent: {reason}")),
                now_ms,
            );
            next.stage = Stage::Done;
            vec![Effect::Publish(Notice::Rejected), Effect::Finish]
        }
        (Stage::New | Stage::Claiming | Stage::Injecting, Input::Abort) => {
            next.revert_at_once = true;
            Vec::new()
        }
        (Stage::Injecting, Input::Injected(injection)) => match injection {
            Injection::Done | Injection::Failed { present: true, .. } => {
                next.record = fault.with_state(FaultState::Injected, None, now_ms);
                next.record.injected_at_ms = Some(now_ms);
                // The deadline counts from the injection's answer: the controls get the whole hold.
                if fault.record.hold_ms > 0 {
                    next.record.revert_due_at_ms = now_ms
                        .saturating_add(i64::try_from(fault.record.hold_ms).unwrap_or(i64::MAX));
                }
                next.stage = Stage::Holding;
                let at_ms = if fault.revert_at_once {
                    next.record.cut_short = Some(ABORTED.to_owned());
                    now_ms
                } else {
                    next.record.revert_due_at_ms
                };
                let mut effects = vec![
                    Effect::ArmTimer { at_ms },
                    Effect::Append(next.record.clone()),
                    Effect::Publish(Notice::Injected),
                ];
                // The canary's key was journalled with the intent; an aborted fault proves nothing.
                if fault.record.canary_key.is_some() && !fault.revert_at_once {
                    effects.push(Effect::ProveExposure);
                }
                effects
            }
            Injection::Refused {
                reason,
                attribution,
            } => {
                next.record = fault.with_state(FaultState::Prevented, Some(reason), now_ms);
                next.record.refusal = Some(attribution);
                next.stage = Stage::Done;
                vec![
                    Effect::Append(next.record.clone()),
                    Effect::Publish(Notice::Prevented),
                    Effect::Finish,
                ]
            }
            Injection::Precondition { reason } => reject(&mut next, reason, now_ms),
            Injection::Failed { reason, .. } => {
                reject(&mut next, format!("injection failed: {reason}"), now_ms)
            }
        },
        // The record of the injection did not reach the journal: revert at once rather than hold a fault the
        // journal may not know of.
        (Stage::Holding, Input::JournalFailed { .. })
            if fault.record.state == FaultState::Injected =>
        {
            next.record.cut_short = Some(UNJOURNALLED.to_owned());
            vec![Effect::ArmTimer { at_ms: now_ms }]
        }
        (Stage::Holding, input @ (Input::Deadline | Input::Abort)) => {
            next.record =
                fault.with_state(FaultState::Reverting, fault.record.reason.clone(), now_ms);
            if input == Input::Abort && next.record.cut_short.is_none() {
                next.record.cut_short = Some(ABORTED.to_owned());
            }
            next.stage = Stage::Reverting;
            vec![Effect::Append(next.record.clone()), Effect::Revert]
        }
        (Stage::Reverting, Input::Reverted(revert)) => match revert {
            Revert::Verified {
                already_restored,
                changed_by_others,
                started_ms,
            } => {
                next.record = fault.with_state(FaultState::Reverted, None, now_ms);
                next.record.changed_by_others = changed_by_others;
                next.stage = Stage::Done;
                vec![
                    Effect::Append(next.record.clone()),
                    Effect::Publish(Notice::Reverted {
                        already_restored,
                        changed_by_others,
                        started_ms,
                        cut_short: fault.record.cut_short.clone(),
                    }),
                    Effect::Finish,
                ]
            }
            Revert::Failed { reason } => {
                next.record = fault.with_state(FaultState::RevertFailed, Some(reason), now_ms);
                next.revert_failures = fault.revert_failures.saturating_add(1);
                next.stage = Stage::Holding;
                let retry = retry_after(fault.revert_failures).as_millis() as i64;
                vec![
                    Effect::ArmTimer {
                        at_ms: now_ms.saturating_add(retry),
                    },
                    Effect::Append(next.record.clone()),
                    Effect::Publish(Notice::RevertFailed),
                ]
            }
        },
        // The proof is reported whenever it answers; the fault's state does not depend on it.
        (_, Input::ExposureProved(proof)) => vec![Effect::Publish(Notice::Exposure(proof))],
        // Anything else (a late timer, a duplicate answer, an abort of a closed fault) changes nothing.
        _ => Vec::new(),
    };
    (next, effects)
}

/// Closes a fault that was claimed but not injected: nothing changed in the cloud.
fn reject(next: &mut Fault, reason: String, now_ms: i64) -> Vec<Effect> {
    next.record = next.with_state(FaultState::Rejected, Some(reason), now_ms);
    next.stage = Stage::Done;
    vec![
        Effect::Append(next.record.clone()),
        Effect::Publish(Notice::Rejected),
        Effect::Finish,
    ]
}

#[cfg(test)]
mod tests;
