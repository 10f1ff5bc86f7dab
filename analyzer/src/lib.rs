//! The analyzer service (Analyze): verdicts and findings.
//!
//! Consumes (durable consumer `analyzer`) `rdfi.v1.run.planned`, `rdfi.v1.fault.*` and `rdfi.v1.observation.*`.
//! When a fault's story ends (prevented, rejected, revert failed) it judges it at once; a reverted fault is
//! judged once its hypothesis's settle time has passed, so that signals still in flight count. It publishes
//! `rdfi.v1.analysis.verdict` with each expectation's outcome (see [`judge`]), `rdfi.v1.finding.created` for
//! a fault no control caught, and `rdfi.v1.analysis.completed` once every planned fault of a run has its
//! verdict, with how many faults were really tested and how many were cut short.
//!
//! The state of runs in flight is held in memory: an analyzer restarted in the middle of a run judges the
//! faults it saw only in part as `inconclusive`.

pub mod judge;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::{CancellationToken, catalogue, events, subjects, worker};
use rdfi_proto::unix_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    AnalysisCompleted, Event, FindingCreated, Hypothesis, PreviousTrial, ResourceRef, Verdict,
    VerdictReached,
};
use tracing::Instrument as _;

pub use judge::{Ending, Judgement, Observed, PartialRestore, Signal, judge};

/// The component name in events.
pub const SOURCE: &str = "analyzer";
/// The durable consumer name.
pub const CONSUMER: &str = "analyzer";

#[derive(Debug, thiserror::Error)]
pub enum AnalyzerError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

pub struct AnalyzerConfig {
    pub bus: Arc<dyn Bus>,
}

#[derive(Default)]
struct FaultFacts {
    fault_id: String,
    resource: ResourceRef,
    hypothesis: Option<Hypothesis>,
    /// The pair's last verdict before this run, as the planner found it in knowledge.
    previous: Option<PreviousTrial>,
    injected_at_ms: Option<i64>,
    signals: Vec<Signal>,
    restored_at_ms: Option<i64>,
    partial_restores: Vec<PartialRestore>,
    /// How the story ended, and whether the revert was verified; the fault waits here for its settle time.
    ending: Option<(Ending, bool)>,
    judged: bool,
}

struct RunFacts {
    /// The faults of the run this analyzer keeps facts about, forgotten with the run once it completes.
    faults: Vec<String>,
    planned: Option<u32>,
    verdicts: u32,
    findings: u32,
    tested: u32,
    aborted: u32,
    hypotheses_held: bool,
    completed: bool,
}

impl Default for RunFacts {
    fn default() -> Self {
        RunFacts {
            faults: Vec::new(),
            planned: None,
            verdicts: 0,
            findings: 0,
            tested: 0,
            aborted: 0,
            hypotheses_held: true,
            completed: false,
        }
    }
}

#[derive(Default)]
struct State {
    faults: HashMap<String, FaultFacts>,
    runs: HashMap<String, RunFacts>,
    /// Runs whose analysis completed: their facts are forgotten, and events about them (redeliveries) change
    /// nothing. Oldest first, at most [`COMPLETED_KEPT`].
    completed: std::collections::VecDeque<String>,
    completed_set: std::collections::HashSet<String>,
}

/// How many completed runs the analyzer remembers, to ignore late deliveries about them.
const COMPLETED_KEPT: usize = 100_000;

/// What rebuilding the state from the bus's history leads to: the analysis the analyzer before this one owed
/// and never published, and the faults still waiting for their settle time.
#[derive(Debug, Default)]
struct Replayed {
    publish: Vec<Event>,
    settles: Vec<(String, String, Duration)>,
}

/// What one event leads to: events to publish now, and a fault to judge once its settle time has passed.
#[derive(Default)]
struct Applied {
    events: Vec<Event>,
    settle: Option<(String, String, Duration)>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Analyzes until `shutdown`.
pub async fn run(config: AnalyzerConfig, shutdown: CancellationToken) -> Result<(), AnalyzerError> {
    let state = Arc::new(Mutex::new(State::default()));
    // Held from a change of the state to the publication of what it led to, so that events go out in the
    // order they were decided: a fault's finding before the run's completion that counts it, whichever of
    // the settle timers and the consumer decides them.
    let order = Arc::new(tokio::sync::Mutex::new(()));
    let bus = config.bus.clone();
    let settling = shutdown.clone();
    // A restarted analyzer finds the runs in flight in the bus's history, with their facts, its own
    // verdicts and the settle times still running.
    let history = bus
        .history(&[
            subjects::RUN_PLANNED,
            subjects::FAULTS,
            subjects::OBSERVATIONS,
            subjects::ANALYSIS_VERDICT,
            subjects::FINDING_CREATED,
            subjects::ANALYSIS_COMPLETED,
        ])
        .await?;
    let replayed = lock(&state).replay(&history, rdfi_proto::now_millis());
    if !history.is_empty() {
        tracing::info!(
            events = history.len(),
            owed = replayed.publish.len(),
            settling = replayed.settles.len(),
            "analysis state rebuilt from the bus"
        );
    }
    for event in replayed.publish {
        bus.publish(&event).await?;
    }
    for (run_id, fault_key, delay) in replayed.settles {
        tokio::spawn(settle(
            Ordered {
                state: state.clone(),
                order: order.clone(),
            },
            bus.clone(),
            settling.clone(),
            run_id,
            fault_key,
            delay,
        ));
    }
    worker::consume(
        config.bus,
        ConsumerConfig::new(
            CONSUMER,
            &[
                subjects::RUN_PLANNED,
                subjects::FAULTS,
                subjects::OBSERVATIONS,
            ],
        ),
        shutdown,
        |event| {
            let ordered = Ordered {
                state: state.clone(),
                order: order.clone(),
            };
            let (bus, settling) = (bus.clone(), settling.clone());
            async move {
                let _in_order = ordered.order.lock().await;
                let applied = lock(&ordered.state).apply(&event);
                if let Some((run_id, fault_key, delay)) = applied.settle {
                    // Spawned from within the event's span, as its child: the verdict, the finding and the
                    // run's completion published later belong to the fault's trace.
                    let span =
                        tracing::info_span!("settle", %run_id, fault_instance_id = %fault_key);
                    tokio::spawn(
                        settle(
                            ordered.clone(),
                            bus.clone(),
                            settling,
                            run_id,
                            fault_key,
                            delay,
                        )
                        .instrument(span),
                    );
                }
                for event in applied.events {
                    bus.publish(&event).await?;
                }
                Ok(())
            }
        },
    )
    .await?;
    Ok(())
}

/// The analysis state, and the lock that keeps what it decides published in order.
#[derive(Clone)]
struct Ordered {
    state: Arc<Mutex<State>>,
    order: Arc<tokio::sync::Mutex<()>>,
}

/// Judges a reverted fault once its settle time has passed (at once on shutdown) and publishes what follows.
async fn settle(
    ordered: Ordered,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
    run_id: String,
    fault_key: String,
    delay: Duration,
) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = shutdown.cancelled() => {}
    }
    let _in_order = ordered.order.lock().await;
    let outgoing = lock(&ordered.state).conclude(&run_id, &fault_key);
    for event in outgoing {
        let mut attempt = 0;
        while let Err(error) = bus.publish(&event).await {
            attempt += 1;
            if attempt == 5 || shutdown.is_cancelled() {
                tracing::error!(%error, "cannot publish the analysis of a settled fault");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

impl State {
    /// Takes in one event; returns the events it leads to.
    fn apply(&mut self, event: &Event) -> Applied {
        let Some(payload) = &event.payload else {
            return Applied::default();
        };
        if self.completed_set.contains(&event.run_id) {
            return Applied::default();
        }
        let fault_key = event.fault_instance_id.clone();
        if !fault_key.is_empty() && !self.faults.contains_key(&fault_key) {
            self.runs
                .entry(event.run_id.clone())
                .or_default()
                .faults
                .push(fault_key.clone());
        }
        let at = |timestamp: &Option<rdfi_proto::Timestamp>| timestamp.as_ref().map(unix_millis);
        let (ending, fault_id, resource, verified) = match payload {
            Payload::RunPlanned(planned) => {
                let run = self.runs.entry(event.run_id.clone()).or_default();
                run.planned = Some(planned.planned_faults);
                return Applied {
                    events: self.complete_if_done(&event.run_id),
                    settle: None,
                };
            }
            Payload::FaultPlanned(planned) => {
                let fault = self.faults.entry(fault_key).or_default();
                fault.fault_id = planned.fault_id.clone();
                fault.resource = planned.resource.clone().unwrap_or_default();
                fault.hypothesis = planned.hypothesis.clone();
                fault.previous = planned.previous.clone();
                return Applied::default();
            }
            Payload::FaultInjected(injected) => {
                let fault = self.faults.entry(fault_key).or_default();
                fault.fault_id = injected.fault_id.clone();
                fault.resource = injected.resource.clone().unwrap_or_default();
                fault.hypothesis = injected.hypothesis.clone().or(fault.hypothesis.take());
                fault.injected_at_ms = at(&injected.injected_at);
                return Applied::default();
            }
            Payload::SignalReceived(signal) => {
                let fault = self.faults.entry(fault_key).or_default();
                let received = Signal {
                    at_ms: at(&signal.observed_at)
                        .or(at(&signal.received_at))
                        .unwrap_or_default(),
                    source: signal.source.clone(),
                };
                // A redelivery is the same signal, not a second one.
                if !fault.signals.contains(&received) {
                    fault.signals.push(received);
                }
                return Applied::default();
            }
            Payload::StateRestored(restored) => {
                let fault = self.faults.entry(fault_key).or_default();
                let observed = at(&restored.observed_at);
                if restored.partial {
                    // Few: each leaves less than the one before (and redeliveries are the same one).
                    if let Some(at_ms) = observed {
                        let partial = PartialRestore {
                            at_ms,
                            remaining: restored.remaining,
                            injected: restored.injected,
                        };
                        if !fault.partial_restores.contains(&partial) {
                            fault.partial_restores.push(partial);
                        }
                    }
                } else {
                    fault.restored_at_ms = fault.restored_at_ms.min(observed).or(observed);
                }
                return Applied::default();
            }
            Payload::FaultPrevented(prevented) => (
                Ending::Refused {
                    control: non_empty(&prevented.control),
                    denied_action: prevented.denied_action.clone(),
                    reason: prevented.reason.clone(),
                },
                &prevented.fault_id,
                &prevented.resource,
                true,
            ),
            Payload::FaultRejected(rejected) => (
                Ending::Rejected {
                    reason: rejected.reason.clone(),
                },
                &rejected.fault_id,
                &rejected.resource,
                true,
            ),
            Payload::FaultRevertFailed(failed) => (
                Ending::RevertFailed {
                    reason: failed.reason.clone(),
                },
                &failed.fault_id,
                &failed.resource,
                false,
            ),
            Payload::FaultReverted(reverted) => (
                Ending::Reverted {
                    revert_started_at_ms: at(&reverted.revert_started_at).unwrap_or(i64::MAX),
                    already_restored: reverted.already_restored,
                    cut_short: non_empty(&reverted.cut_short),
                    dry_run: reverted.dry_run,
                },
                &reverted.fault_id,
                &reverted.resource,
                reverted.verified,
            ),
            _ => return Applied::default(),
        };
        let fault = self.faults.entry(fault_key.clone()).or_default();
        if fault.judged || fault.ending.is_some() {
            return Applied::default();
        }
        if fault.fault_id.is_empty() {
            fault.fault_id = fault_id.clone();
        }
        if let Some(resource) = resource {
            fault.resource = resource.clone();
        }
        let settle_ms = match &ending {
            Ending::Reverted { dry_run: false, .. } => fault
                .hypothesis
                .as_ref()
                .map_or(0, |hypothesis| hypothesis.settle_ms),
            _ => 0,
        };
        fault.ending = Some((ending, verified));
        if settle_ms == 0 {
            return Applied {
                events: self.conclude(&event.run_id, &fault_key),
                settle: None,
            };
        }
        Applied {
            events: Vec::new(),
            settle: Some((
                event.run_id.clone(),
                fault_key,
                Duration::from_millis(settle_ms),
            )),
        }
    }

    /// Judges an ended fault (once) and returns its verdict, its finding when missed, and the run's completion
    /// when it was the last one.
    fn conclude(&mut self, run_id: &str, fault_key: &str) -> Vec<Event> {
        let Some(fault) = self.faults.get_mut(fault_key) else {
            return Vec::new();
        };
        let Some((ending, revert_verified)) = fault.ending.take() else {
            return Vec::new();
        };
        if fault.judged {
            return Vec::new();
        }
        fault.judged = true;
        let judgement = judge(&Observed {
            hypothesis: fault.hypothesis.clone().unwrap_or_default(),
            injected_at_ms: fault.injected_at_ms,
            signals: std::mem::take(&mut fault.signals),
            restored_at_ms: fault.restored_at_ms,
            partial_restores: std::mem::take(&mut fault.partial_restores),
            ending,
        });
        let (fault_id, resource) = (fault.fault_id.clone(), fault.resource.clone());
        let previous = fault.previous.take();
        let verdict = judgement.verdict;
        tracing::info!(verdict = verdict.label(), reason = %judgement.reason, "verdict reached");
        let mut outgoing = Vec::new();
        let run = self.runs.entry(run_id.to_owned()).or_default();
        run.verdicts += 1;
        run.tested += u32::from(judgement.tested);
        run.aborted += u32::from(judgement.aborted);
        if verdict == Verdict::Missed {
            run.findings += 1;
            run.hypotheses_held = false;
            outgoing.push(finding(
                run_id,
                fault_key,
                &fault_id,
                &resource,
                &judgement.reason,
                regression(previous.as_ref()),
            ));
        }
        outgoing.insert(
            0,
            events::event(
                SOURCE,
                run_id,
                fault_key,
                "",
                Payload::VerdictReached(VerdictReached {
                    fault_id,
                    resource: Some(resource),
                    verdict: verdict as i32,
                    time_to_detect_ms: judgement.time_to_detect_ms,
                    time_to_correct_ms: judgement.time_to_correct_ms,
                    detected_by: judgement.detected_by,
                    reason: judgement.reason,
                    revert_verified,
                    expectations: judgement.expectations,
                    prevented_by: judgement.prevented_by,
                }),
            ),
        );
        outgoing.extend(self.complete_if_done(run_id));
        outgoing
    }

    fn complete_if_done(&mut self, run_id: &str) -> Vec<Event> {
        let Some(run) = self.runs.get_mut(run_id) else {
            return Vec::new();
        };
        if run.completed || run.planned != Some(run.verdicts) {
            return Vec::new();
        }
        run.completed = true;
        tracing::info!(
            run_id,
            faults = run.verdicts,
            findings = run.findings,
            tested = run.tested,
            aborted = run.aborted,
            "analysis completed"
        );
        let completion = events::event(
            SOURCE,
            run_id,
            "",
            "",
            Payload::AnalysisCompleted(AnalysisCompleted {
                faults: run.verdicts,
                findings: run.findings,
                hypotheses_held: run.hypotheses_held,
                tested: run.tested,
                aborted: run.aborted,
            }),
        );
        self.forget(run_id);
        vec![completion]
    }

    /// Forgets a completed run's facts, remembering only that it completed.
    fn forget(&mut self, run_id: &str) {
        if let Some(run) = self.runs.remove(run_id) {
            for fault in run.faults {
                self.faults.remove(&fault);
            }
        }
        if self.completed_set.insert(run_id.to_owned()) {
            self.completed.push_back(run_id.to_owned());
            while self.completed.len() > COMPLETED_KEPT {
                if let Some(oldest) = self.completed.pop_front() {
                    self.completed_set.remove(&oldest);
                }
            }
        }
    }

    /// Rebuilds the state from `history` (what the bus holds of the analyzer's subjects and its own
    /// analysis, oldest first), as the analyzer before this one left it. Its own verdicts there are the ones
    /// it reached: each judges its fault again with the facts it had then, for the run's counts, and nothing
    /// is published twice. What it owed (a verdict it never published) is returned to publish now, and each
    /// fault still settling with what remains of its settle time at `now_ms`.
    fn replay(&mut self, history: &[Event], now_ms: i64) -> Replayed {
        let mut owed: Vec<Event> = Vec::new();
        let mut published = std::collections::HashSet::new();
        let mut settling: Vec<(String, String, i64)> = Vec::new();
        for event in history {
            let own = event.source == SOURCE;
            match &event.payload {
                Some(Payload::VerdictReached(_)) if own => {
                    published.insert(event.id.clone());
                    // The verdict was reached: judge again for the run's counts. What it led to is in history
                    // unless the analyzer stopped first (the run's completion, say): owed unless found there.
                    settling.retain(|(_, fault, _)| *fault != event.fault_instance_id);
                    owed.extend(self.conclude(&event.run_id, &event.fault_instance_id));
                    if let Some(fault) = self.faults.get_mut(&event.fault_instance_id) {
                        fault.judged = true;
                    }
                }
                Some(Payload::FindingCreated(_)) if own => {
                    published.insert(event.id.clone());
                }
                Some(Payload::AnalysisCompleted(_)) if own => {
                    published.insert(event.id.clone());
                    settling.retain(|(run, _, _)| *run != event.run_id);
                    self.forget(&event.run_id);
                }
                _ => {
                    let applied = self.apply(event);
                    owed.extend(applied.events);
                    if let Some((run, fault, delay)) = applied.settle {
                        let sent_ms = event.time.as_ref().map(unix_millis).unwrap_or(now_ms);
                        let due_ms = sent_ms
                            .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                        settling.push((run, fault, due_ms));
                    }
                }
            }
        }
        owed.retain(|event| !published.contains(&event.id));
        Replayed {
            publish: owed,
            settles: settling
                .into_iter()
                .map(|(run, fault, due_ms)| {
                    let remaining = u64::try_from(due_ms.saturating_sub(now_ms)).unwrap_or(0);
                    (run, fault, Duration::from_millis(remaining))
                })
                .collect(),
        }
    }
}

fn finding(
    run_id: &str,
    fault_instance_id: &str,
    fault_id: &str,
    resource: &ResourceRef,
    reason: &str,
    regression_of: Option<String>,
) -> Event {
    let model = catalogue::find(fault_id);
    let title = format!(
        "{} went uncaught on {}",
        model.map_or(fault_id, |model| model.title),
        resource.name
    );
    events::event(
        SOURCE,
        run_id,
        fault_instance_id,
        "",
        Payload::FindingCreated(FindingCreated {
            finding_id: events::stable_id(&["finding", fault_instance_id]),
            fault_id: fault_id.to_owned(),
            resource: Some(resource.clone()),
            title: format!("{title}: {reason}"),
            severity: model
                .map_or("medium", |model| model.severity().label())
                .to_owned(),
            remediation: model.map_or("", |model| model.remediation).to_owned(),
            regression: regression_of.is_some(),
            regression_of: regression_of.unwrap_or_default(),
        }),
    )
}

/// A miss is a regression when the same fault on the same resource was caught the last time it was tried:
/// who caught it then, and in which run.
fn regression(previous: Option<&PreviousTrial>) -> Option<String> {
    let previous = previous?;
    let verdict = Verdict::try_from(previous.verdict).ok()?;
    if !matches!(
        verdict,
        Verdict::Detected | Verdict::Prevented | Verdict::Corrected
    ) {
        return None;
    }
    let how = verdict.label();
    Some(if previous.controls.is_empty() {
        format!("{how} in run {}", previous.run_id)
    } else {
        format!(
            "{how} by {} in run {}",
            previous.controls.join(", "),
            previous.run_id
        )
    })
}

#[cfg(test)]
mod tests {
    use rdfi_proto::timestamp_from_millis;
    use rdfi_proto::v1::{
        ControlKind, Expectation, FaultInjected, FaultPlanned, FaultPrevented, FaultReverted,
        RunPlanned, SignalReceived,
    };

    use super::*;

    fn event(fault: &str, payload: Payload) -> Event {
        events::event("test", "run", fault, "", payload)
    }

    fn injected(fault: &str, settle_ms: u64) -> Event {
        event(
            fault,
            Payload::FaultInjected(FaultInjected {
                fault_id: "aws.s3.bucket-public-acl".into(),
                injected_at: Some(timestamp_from_millis(1_000)),
                hypothesis: Some(Hypothesis {
                    expectations: vec![Expectation {
                        kind: ControlKind::Detective as i32,
                        within_ms: Some(500),
                        ..Default::default()
                    }],
                    settle_ms,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        )
    }

    fn reverted(fault: &str, cut_short: &str) -> Event {
        event(
            fault,
            Payload::FaultReverted(FaultReverted {
                revert_started_at: Some(timestamp_from_millis(1_600)),
                verified: true,
                cut_short: cut_short.into(),
                ..Default::default()
            }),
        )
    }

    fn signal(fault: &str, at_ms: i64) -> Event {
        event(
            fault,
            Payload::SignalReceived(SignalReceived {
                source: "prowler".into(),
                received_at: Some(timestamp_from_millis(at_ms)),
                ..Default::default()
            }),
        )
    }

    fn verdict(events: &[Event]) -> Option<&VerdictReached> {
        events.iter().find_map(|event| match &event.payload {
            Some(Payload::VerdictReached(verdict)) => Some(verdict),
            _ => None,
        })
    }

    fn completed(events: &[Event]) -> Option<&AnalysisCompleted> {
        events.iter().find_map(|event| match &event.payload {
            Some(Payload::AnalysisCompleted(completed)) => Some(completed),
            _ => None,
        })
    }

    #[test]
    fn a_signal_in_flight_during_the_settle_time_counts() {
        let mut state = State::default();
        state.apply(&injected("f1", 1_000));
        let applied = state.apply(&reverted("f1", ""));
        assert!(applied.events.is_empty(), "judged before settling");
        let (run_id, fault, delay) = applied.settle.expect("a settle time");
        assert_eq!(
            (run_id.as_str(), fault.as_str(), delay),
            ("run", "f1", Duration::from_secs(1))
        );
        state.apply(&signal("f1", 1_300));
        let events = state.conclude("run", "f1");
        let verdict = verdict(&events).expect("a verdict");
        assert_eq!(verdict.verdict(), Verdict::Detected);
        assert_eq!(verdict.expectations.len(), 1);
        assert_eq!(verdict.expectations[0].latency_ms, Some(300));
        assert!(state.conclude("run", "f1").is_empty(), "judged once");
        assert!(
            state.apply(&reverted("f1", "")).events.is_empty(),
            "a redelivery is ignored"
        );
    }

    #[test]
    fn without_a_settle_time_the_fault_is_judged_at_once_and_misses_make_findings() {
        let mut state = State::default();
        state.apply(&event(
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 1,
                ..Default::default()
            }),
        ));
        state.apply(&injected("f1", 0));
        let events = state.apply(&reverted("f1", "")).events;
        assert_eq!(
            verdict(&events).map(VerdictReached::verdict),
            Some(Verdict::Missed)
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e.payload, Some(Payload::FindingCreated(_))))
        );
        let completed = completed(&events).expect("the run completed");
        assert_eq!(
            (completed.tested, completed.aborted, completed.findings),
            (1, 0, 1)
        );
        assert!(!completed.hypotheses_held);
    }

    fn finding_of(events: &[Event]) -> Option<&FindingCreated> {
        events.iter().find_map(|event| match &event.payload {
            Some(Payload::FindingCreated(finding)) => Some(finding),
            _ => None,
        })
    }

    fn planned_after(fault: &str, verdict: Verdict, controls: &[&str]) -> Event {
        event(
            fault,
            Payload::FaultPlanned(FaultPlanned {
                fault_id: "aws.s3.bucket-public-acl".into(),
                previous: Some(PreviousTrial {
                    run_id: "r0".into(),
                    verdict: verdict as i32,
                    controls: controls.iter().map(|c| c.to_string()).collect(),
                }),
                ..Default::default()
            }),
        )
    }

    #[test]
    fn a_miss_after_a_catch_is_a_regression_and_a_miss_after_a_miss_is_not() {
        for (previous, controls, expected) in [
            (
                Verdict::Detected,
                vec!["prowler"],
                Some("detected by prowler in run r0"),
            ),
            (Verdict::Corrected, vec![], Some("corrected in run r0")),
            (
                Verdict::Prevented,
                vec!["scp", "bpa"],
                Some("prevented by scp, bpa in run r0"),
            ),
            (Verdict::Missed, vec![], None),
            (Verdict::Inconclusive, vec![], None),
        ] {
            let mut state = State::default();
            state.apply(&planned_after("f1", previous, &controls));
            state.apply(&injected("f1", 0));
            let events = state.apply(&reverted("f1", "")).events;
            let finding = finding_of(&events).expect("a miss makes a finding");
            assert_eq!(finding.regression, expected.is_some(), "after {previous:?}");
            assert_eq!(finding.regression_of, expected.unwrap_or_default());
        }
        // No previous trial: no regression.
        let mut state = State::default();
        state.apply(&injected("f1", 0));
        let events = state.apply(&reverted("f1", "")).events;
        assert!(!finding_of(&events).unwrap().regression);
    }

    #[test]
    fn the_run_counts_what_was_tested_and_what_was_cut_short() {
        let mut state = State::default();
        state.apply(&event(
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 3,
                ..Default::default()
            }),
        ));
        state.apply(&injected("aborted", 0));
        let mut events = state
            .apply(&reverted("aborted", "aborted before its deadline"))
            .events;
        assert_eq!(
            verdict(&events).map(VerdictReached::verdict),
            Some(Verdict::Inconclusive)
        );
        let refused = |fault: &str, control: &str| {
            event(
                fault,
                Payload::FaultPrevented(FaultPrevented {
                    reason: "AccessDenied".into(),
                    control: control.into(),
                    denied_action: "s3:PutBucketAcl".into(),
                    ..Default::default()
                }),
            )
        };
        let named = state
            .apply(&refused("named", "explicit Deny in policy p"))
            .events;
        let prevented = verdict(&named).expect("a verdict");
        assert_eq!(prevented.verdict(), Verdict::Prevented);
        assert_eq!(prevented.prevented_by, "explicit Deny in policy p");
        events = state.apply(&refused("unnamed", "")).events;
        assert_eq!(
            verdict(&events).map(VerdictReached::verdict),
            Some(Verdict::Inconclusive)
        );
        let completed = completed(&events).expect("the run completed");
        assert_eq!(
            (completed.faults, completed.tested, completed.aborted),
            (3, 2, 1)
        );
        assert!(completed.hypotheses_held);
    }

    fn run_planned(count: u32) -> Event {
        event(
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: count,
                ..Default::default()
            }),
        )
    }

    /// An event as the bus holds it, sent at `at_ms`.
    fn sent_at(mut event: Event, at_ms: i64) -> Event {
        event.time = Some(timestamp_from_millis(at_ms));
        event
    }

    /// What an analyzer that took in `inputs` published.
    fn outputs_of(inputs: &[Event]) -> Vec<Event> {
        let mut state = State::default();
        inputs
            .iter()
            .flat_map(|input| state.apply(input).events)
            .collect()
    }

    fn own(events: &[Event]) -> Vec<Event> {
        events
            .iter()
            .map(|event| Event {
                source: SOURCE.to_owned(),
                ..event.clone()
            })
            .collect()
    }

    #[test]
    fn a_restarted_analyzer_resumes_a_settle_time_with_the_facts_from_before() {
        let history = [
            run_planned(1),
            injected("f1", 1_000),
            signal("f1", 1_300),
            sent_at(reverted("f1", ""), 50_000),
        ];
        let mut state = State::default();
        let replayed = state.replay(&history, 50_400);
        assert!(replayed.publish.is_empty(), "{:?}", replayed.publish);
        assert_eq!(
            replayed.settles,
            [(
                "run".to_owned(),
                "f1".to_owned(),
                Duration::from_millis(600)
            )]
        );
        let events = state.conclude("run", "f1");
        let verdict = verdict(&events).expect("a verdict");
        assert_eq!(
            verdict.verdict(),
            Verdict::Detected,
            "the signal from before the restart counts"
        );
        assert!(completed(&events).is_some(), "{events:?}");
        // Past its settle time, the fault is judged at once after the restart.
        let replayed = State::default().replay(&history, 60_000);
        assert_eq!(replayed.settles[0].2, Duration::ZERO);
    }

    #[test]
    fn what_the_analyzer_before_published_is_not_published_again_and_what_it_owed_is() {
        let inputs = [run_planned(1), injected("f1", 0), reverted("f1", "")];
        let outputs = outputs_of(&inputs);
        let outputs = own(&outputs);
        assert_eq!(
            outputs.len(),
            3,
            "verdict, finding, completion: {outputs:?}"
        );
        // It stopped after publishing the verdict: the finding and the completion are owed.
        let mut history = inputs.to_vec();
        history.push(outputs[0].clone());
        let replayed = State::default().replay(&history, 0);
        let owed: Vec<&str> = replayed
            .publish
            .iter()
            .map(|event| event.id.as_str())
            .collect();
        assert_eq!(owed, [outputs[1].id.as_str(), outputs[2].id.as_str()]);
        assert!(replayed.settles.is_empty());
        // It published everything: nothing is owed, and the run is complete and forgotten.
        let mut history = inputs.to_vec();
        history.extend(outputs.iter().cloned());
        let mut state = State::default();
        let replayed = state.replay(&history, 0);
        assert!(replayed.publish.is_empty(), "{:?}", replayed.publish);
        assert!(state.faults.is_empty() && state.runs.is_empty());
        assert!(
            state.apply(&reverted("f1", "")).events.is_empty(),
            "a redelivery changes nothing"
        );
    }

    #[test]
    fn a_verdict_reached_during_the_settle_time_is_not_reached_again() {
        let inputs = [run_planned(1), injected("f1", 1_000), reverted("f1", "")];
        let mut before = State::default();
        for input in &inputs {
            before.apply(input);
        }
        let verdict_and_rest = own(&before.conclude("run", "f1"));
        let mut history = inputs.to_vec();
        history.push(verdict_and_rest[0].clone());
        let mut state = State::default();
        let replayed = state.replay(&history, 0);
        assert!(
            replayed.settles.is_empty(),
            "no second settle: {:?}",
            replayed.settles
        );
        let owed: Vec<&str> = replayed
            .publish
            .iter()
            .map(|event| event.id.as_str())
            .collect();
        let expected: Vec<&str> = verdict_and_rest[1..]
            .iter()
            .map(|event| event.id.as_str())
            .collect();
        assert_eq!(owed, expected);
    }

    #[test]
    fn a_completed_run_is_forgotten_and_redeliveries_of_it_change_nothing() {
        let mut state = State::default();
        state.apply(&run_planned(2));
        state.apply(&injected("f1", 0));
        state.apply(&injected("f2", 0));
        state.apply(&signal("f1", 1_100));
        state.apply(&signal("f1", 1_100));
        assert_eq!(
            state.faults["f1"].signals.len(),
            1,
            "a redelivered signal is one signal"
        );
        state.apply(&reverted("f1", ""));
        assert_eq!(state.faults.len(), 2, "kept until the run completes");
        let events = state.apply(&reverted("f2", "")).events;
        assert!(completed(&events).is_some());
        assert!(
            state.faults.is_empty() && state.runs.is_empty(),
            "forgotten"
        );
        assert!(state.apply(&signal("f2", 1_500)).events.is_empty());
        assert!(
            state.faults.is_empty(),
            "a late signal of a completed run is not kept"
        );
    }

    #[test]
    fn analysis_events_from_another_source_are_not_taken_for_the_analyzers_own() {
        let inputs = [run_planned(1), injected("f1", 0), reverted("f1", "")];
        let outputs = outputs_of(&inputs);
        assert_eq!(outputs.len(), 3, "{outputs:?}");
        // Someone else published on the analyzer's subjects (same ids: ids name what an event is about).
        let impostor: Vec<Event> = outputs
            .iter()
            .map(|event| Event {
                source: "impostor".to_owned(),
                ..event.clone()
            })
            .collect();
        let mut history = inputs.to_vec();
        history.extend(impostor);
        let replayed = State::default().replay(&history, 0);
        let owed: Vec<&str> = replayed
            .publish
            .iter()
            .map(|event| event.id.as_str())
            .collect();
        let ours: Vec<&str> = outputs.iter().map(|event| event.id.as_str()).collect();
        assert_eq!(owed, ours);
    }

    #[test]
    fn a_completed_run_in_history_leaves_another_runs_settle_time_running() {
        let other = |mut event: Event| {
            event.run_id = "other".to_owned();
            event
        };
        let done_inputs = [
            other(run_planned(1)),
            other(injected("g1", 0)),
            other(reverted("g1", "")),
        ];
        let done_outputs = outputs_of(&done_inputs);
        let mut history = vec![
            run_planned(1),
            injected("f1", 1_000),
            sent_at(reverted("f1", ""), 10_000),
        ];
        history.extend(done_inputs);
        history.extend(own(&done_outputs));
        let replayed = State::default().replay(&history, 10_000);
        assert_eq!(
            replayed.settles,
            [("run".to_owned(), "f1".to_owned(), Duration::from_secs(1))]
        );
        assert!(replayed.publish.is_empty(), "{:?}", replayed.publish);
    }

    #[test]
    fn the_analyzer_remembers_the_latest_completed_runs_up_to_its_limit() {
        let mut state = State::default();
        for run in 0..COMPLETED_KEPT {
            state.forget(&run.to_string());
        }
        assert_eq!(state.completed.len(), COMPLETED_KEPT);
        assert!(
            state.completed_set.contains("0"),
            "exactly the limit: all kept"
        );
        state.forget("one more");
        assert_eq!(state.completed.len(), COMPLETED_KEPT);
        assert_eq!(state.completed_set.len(), COMPLETED_KEPT);
        assert!(
            !state.completed_set.contains("0"),
            "the oldest is forgotten"
        );
        assert!(state.completed_set.contains("1") && state.completed_set.contains("one more"));
        state.forget("one more");
        assert_eq!(
            state.completed.len(),
            COMPLETED_KEPT,
            "forgetting twice is once"
        );
    }
}
