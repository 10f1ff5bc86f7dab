//! The worker that carries out the lifecycle's effects ([`crate::lifecycle::step`]) for one fault, in order,
//! feeding each answer back as the next input. It decides nothing: which call to make, what to journal and
//! when to revert all come from `step`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rdfi_core::CancellationToken;
use tracing::Instrument;

use crate::audit::Seen;
use crate::failpoint::{failpoint, fails};
use crate::inject::Admission;
use crate::journal::FaultState;
use crate::lifecycle::{Effect, Fault, Input, Notice, Stage, step};
use crate::{Active, Executor, JournalRecord, now_ms};

/// The handles of a fault's work: its abort and its end.
pub(crate) struct Tokens {
    pub revert_now: CancellationToken,
    pub finished: CancellationToken,
}

/// Where one fault's worker is.
pub(crate) struct Driving {
    pub fault: Fault,
    tokens: Tokens,
    /// When the armed timer fires.
    timer_at_ms: Option<i64>,
    abort_delivered: bool,
    /// What was read around the changes, for the audit trail.
    seen: Seen,
    /// A planned fault's place under the caps until its claim is written.
    admission: Option<Admission>,
}

impl Executor {
    /// Registers a fault this executor works on; `None` when it already does (a concurrent redelivery).
    pub(crate) fn register(&self, record: &JournalRecord) -> Option<Tokens> {
        let mut active = self.active();
        if active.contains_key(&record.fault_instance_id) {
            return None;
        }
        let tokens = Tokens {
            revert_now: CancellationToken::new(),
            finished: CancellationToken::new(),
        };
        active.insert(
            record.fault_instance_id.clone(),
            Active {
                run_id: record.run_id.clone(),
                revert_now: tokens.revert_now.clone(),
                finished: tokens.finished.clone(),
            },
        );
        Some(tokens)
    }

    /// Takes an open fault of the journal in hand: its revert at its deadline, or at once when `now`. `false`
    /// when this executor already holds it.
    pub(crate) fn spawn_recovered(
        self: &Arc<Self>,
        record: JournalRecord,
        now: bool,
        span: tracing::Span,
    ) -> bool {
        let Some(tokens) = self.register(&record) else {
            return false;
        };
        if now {
            tokens.revert_now.cancel();
        }
        let driving = Driving {
            fault: Fault::recorded(record),
            tokens,
            timer_at_ms: None,
            abort_delivered: false,
            seen: Seen::default(),
            admission: None,
        };
        let executor = self.clone();
        self.tasks
            .spawn(async move { executor.drive(driving, Input::Recovered).await }.instrument(span));
        true
    }

    /// Starts driving a planned fault with its first input; returns once the fault is closed or held (its
    /// revert then waits in a task of its own), so the planned event can be acknowledged.
    pub(crate) async fn drive_planned(
        self: &Arc<Self>,
        fault: Fault,
        tokens: Tokens,
        input: Input,
        admission: Option<Admission>,
    ) {
        let mut driving = Driving {
            fault,
            tokens,
            timer_at_ms: None,
            abort_delivered: false,
            seen: Seen::default(),
            admission,
        };
        self.run_inputs(&mut driving, VecDeque::from([input])).await;
        // Closed already (refused, prevented, taken elsewhere): `hold` releases it at once.
        let executor = self.clone();
        self.tasks.spawn(
            async move { executor.hold(driving).await }.instrument(tracing::Span::current()),
        );
    }

    async fn drive(self: Arc<Self>, mut driving: Driving, input: Input) {
        self.run_inputs(&mut driving, VecDeque::from([input])).await;
        self.hold(driving).await;
    }

    /// Waits for the timer (or an abort), then goes on, until the fault is done.
    async fn hold(&self, mut driving: Driving) {
        while driving.fault.stage != Stage::Done {
            let Some(at_ms) = driving.timer_at_ms.take() else {
                break;
            };
            if driving.fault.revert_failures > 0 && self.stopping.is_cancelled() {
                // Stopping: leave it open in the journal for the next start or `rdfi recover`.
                break;
            }
            let wait = Duration::from_millis(at_ms.saturating_sub(now_ms()).max(0) as u64);
            let abort = driving.tokens.revert_now.clone();
            let listen_for_abort = !driving.abort_delivered;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = abort.cancelled(), if listen_for_abort => {
                    tracing::info!("reverting before the deadline");
                }
            }
            let input = if abort.is_cancelled() {
                driving.abort_delivered = true;
                Input::Abort
            } else {
                Input::Deadline
            };
            self.run_inputs(&mut driving, VecDeque::from([input])).await;
        }
        self.active()
            .remove(&driving.fault.record.fault_instance_id);
        driving.tokens.finished.cancel();
    }

    /// Steps the fault through `inputs` and whatever answers its effects bring, until none is left.
    async fn run_inputs(&self, driving: &mut Driving, mut inputs: VecDeque<Input>) {
        while let Some(input) = inputs.pop_front() {
            if driving.tokens.revert_now.is_cancelled()
                && !driving.abort_delivered
                && matches!(
                    driving.fault.stage,
                    Stage::New | Stage::Claiming | Stage::Injecting
                )
            {
                // An abort reached this fault before its injection: the machine must know first.
                driving.abort_delivered = true;
                inputs.push_front(input);
                inputs.push_front(Input::Abort);
                continue;
            }
            let (next, effects) = step(&driving.fault, input, now_ms());
            driving.fault = next;
            for effect in effects {
                if let Some(answer) = self.carry_out(driving, effect).await {
                    inputs.push_back(answer);
                }
            }
        }
    }

    /// Carries out one effect; returns the answer to feed back, if it has one.
    async fn carry_out(&self, driving: &mut Driving, effect: Effect) -> Option<Input> {
        let record = &driving.fault.record;
        match effect {
            Effect::Claim(record) => {
                let claimed = self.journal.claim(&record).await;
                // Claimed (the journal counts it now) or not (it never will be): either way, out of the admitted.
                driving.admission = None;
                match claimed {
                    Ok(claim) => {
                        failpoint("after-intent");
                        let stopped = match self.journal.stopped(&record.run_id).await {
                            Ok(stopped) => stopped,
                            Err(error) => Some(format!("cannot read the stops: {error}")),
                        };
                        Some(Input::Claimed { claim, stopped })
                    }
                    Err(error) => Some(Input::JournalFailed {
                        reason: error.to_string(),
                    }),
                }
            }
            Effect::Append(record) => {
                let written =
                    if record.state == FaultState::Injected && fails("journal-after-inject") {
                        Err("failpoint journal-after-inject".to_owned())
                    } else {
                        self.journal
                            .append(&record)
                            .await
                            .map_err(|error| error.to_string())
                    };
                if record.state == FaultState::Injected {
                    failpoint("after-injected");
                }
                match written {
                    Ok(()) => None,
                    Err(reason) => {
                        tracing::error!(%reason, state = record.state.label(), "cannot journal the fault's transition");
                        Some(Input::JournalFailed { reason })
                    }
                }
            }
            Effect::Inject => {
                let started = std::time::Instant::now();
                let injection = self.inject(record).await;
                rdfi_core::metrics::record_inject(started.elapsed());
                failpoint("after-inject-call");
                Some(Input::Injected(injection))
            }
            Effect::ProveExposure => {
                // An abort does not wait for the proof: the revert removes the canary, placed or not.
                let abort = driving.tokens.revert_now.clone();
                let proof = tokio::select! {
                    proof = self.prove_exposure(record) => proof,
                    _ = abort.cancelled() => rdfi_proto::v1::ExposureProof {
                        outcome: rdfi_proto::v1::ExposureOutcome::Unproven.into(),
                        canary_key: record.canary_key.clone().unwrap_or_default(),
                        answer: "aborted before the anonymous read answered".to_owned(),
                        ..Default::default()
                    },
                };
                failpoint("after-exposure-proof");
                Some(Input::ExposureProved(proof))
            }
            Effect::Revert => {
                failpoint("before-revert");
                let (revert, around) = match self.reverts.acquire().await {
                    Ok(_permit) => self.restore(record).await,
                    Err(_) => self.restore(record).await,
                };
                driving.seen.revert = around;
                failpoint("after-revert");
                if matches!(revert, crate::lifecycle::Revert::Failed { .. })
                    && driving.abort_delivered
                {
                    // The abort waits for this attempt, not for the retries.
                    driving.tokens.finished.cancel();
                }
                Some(Input::Reverted(revert))
            }
            Effect::ArmTimer { at_ms } => {
                driving.timer_at_ms = Some(at_ms);
                None
            }
            Effect::Publish(notice) => {
                // The audit trail's read of the state after the injection: once journalled, before telling.
                if notice == Notice::Injected && !record.dry_run {
                    driving.seen.injected = self.read_state(record).await;
                }
                self.publish_notice(&driving.fault, driving.seen, notice)
                    .await;
                None
            }
            Effect::Finish => None,
        }
    }
}
