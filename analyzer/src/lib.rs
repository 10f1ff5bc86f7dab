//! The analyzer service (Analyze): verdicts and findings.
//!
//! Consumes (durable consumer `analyzer`) `rdfi.v1.run.planned`, `rdfi.v1.fault.*` and `rdfi.v1.observation.*`.
//! When a fault's story ends (prevented, rejected, reverted, revert failed) it publishes
//! `rdfi.v1.analysis.verdict` with the time to detect and to correct, `rdfi.v1.finding.created` for a fault no
//! control caught, and `rdfi.v1.analysis.completed` once every planned fault of a run has its verdict.
//!
//! The state of runs in flight is held in memory: an analyzer restarted in the middle of a run judges the
//! faults it saw only in part as `inconclusive`.

pub mod judge;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::{CancellationToken, catalogue, events, subjects, worker};
use rdfi_proto::unix_millis;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    AnalysisCompleted, Event, FindingCreated, Hypothesis, ResourceRef, Verdict, VerdictReached,
};

pub use judge::{Judgement, Observed, judge};

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
    injected_at_ms: Option<i64>,
    first_signal: Option<(i64, String)>,
    restored_at_ms: Option<i64>,
    judged: bool,
}

struct RunFacts {
    planned: Option<u32>,
    verdicts: u32,
    findings: u32,
    hypotheses_held: bool,
    completed: bool,
}

impl Default for RunFacts {
    fn default() -> Self {
        RunFacts {
            planned: None,
            verdicts: 0,
            findings: 0,
            hypotheses_held: true,
            completed: false,
        }
    }
}

#[derive(Default)]
struct State {
    faults: HashMap<String, FaultFacts>,
    runs: HashMap<String, RunFacts>,
}

/// Analyzes until `shutdown`.
pub async fn run(config: AnalyzerConfig, shutdown: CancellationToken) -> Result<(), AnalyzerError> {
    let state = Arc::new(Mutex::new(State::default()));
    let bus = config.bus.clone();
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
            let outgoing = {
                let mut state = state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state.apply(&event)
            };
            let bus = bus.clone();
            async move {
                for event in outgoing {
                    bus.publish(&event).await?;
                }
                Ok(())
            }
        },
    )
    .await?;
    Ok(())
}

impl State {
    /// Takes in one event; returns the events it leads to.
    fn apply(&mut self, event: &Event) -> Vec<Event> {
        let Some(payload) = &event.payload else {
            return Vec::new();
        };
        let fault_key = event.fault_instance_id.clone();
        let at = |timestamp: &Option<rdfi_proto::Timestamp>| timestamp.as_ref().map(unix_millis);
        match payload {
            Payload::RunPlanned(planned) => {
                let run = self.runs.entry(event.run_id.clone()).or_default();
                run.planned = Some(planned.planned_faults);
                return self.complete_if_done(&event.run_id);
            }
            Payload::FaultPlanned(planned) => {
                let fault = self.faults.entry(fault_key).or_default();
                fault.fault_id = planned.fault_id.clone();
                fault.resource = planned.resource.clone().unwrap_or_default();
                fault.hypothesis = planned.hypothesis.clone();
            }
            Payload::FaultInjected(injected) => {
                let fault = self.faults.entry(fault_key).or_default();
                fault.fault_id = injected.fault_id.clone();
                fault.resource = injected.resource.clone().unwrap_or_default();
                fault.hypothesis = injected.hypothesis.clone().or(fault.hypothesis.take());
                fault.injected_at_ms = at(&injected.injected_at);
            }
            Payload::SignalReceived(signal) => {
                let fault = self.faults.entry(fault_key).or_default();
                let received = at(&signal.received_at).unwrap_or_default();
                if fault
                    .first_signal
                    .as_ref()
                    .is_none_or(|(first, _)| received < *first)
                {
                    fault.first_signal = Some((received, signal.source.clone()));
                }
            }
            Payload::StateRestored(restored) => {
                let fault = self.faults.entry(fault_key).or_default();
                let observed = at(&restored.observed_at);
                fault.restored_at_ms = fault.restored_at_ms.min(observed).or(observed);
            }
            Payload::FaultPrevented(prevented) => {
                return self.conclude(event, Verdict::Prevented, None, &prevented.reason, true);
            }
            Payload::FaultRejected(rejected) => {
                return self.conclude(event, Verdict::Inconclusive, None, &rejected.reason, true);
            }
            Payload::FaultRevertFailed(failed) => {
                let reason = format!("revert failed: {}", failed.reason);
                return self.conclude(event, Verdict::Inconclusive, None, &reason, false);
            }
            Payload::FaultReverted(reverted) => {
                let Some((fault, injected_at_ms)) = self
                    .faults
                    .get(&fault_key)
                    .and_then(|fault| fault.injected_at_ms.map(|at| (fault, at)))
                else {
                    let reason = "the analyzer missed this fault's injection";
                    return self.conclude(
                        event,
                        Verdict::Inconclusive,
                        None,
                        reason,
                        reverted.verified,
                    );
                };
                let hypothesis = fault.hypothesis.clone().unwrap_or_default();
                let judgement = judge(&Observed {
                    injected_at_ms,
                    detect_within_ms: hypothesis.detect_within_ms,
                    correct_within_ms: hypothesis.correct_within_ms,
                    first_signal: fault.first_signal.clone(),
                    restored_at_ms: fault.restored_at_ms,
                    revert_started_at_ms: at(&reverted.revert_started_at).unwrap_or(i64::MAX),
                    already_restored: reverted.already_restored,
                    dry_run: reverted.dry_run,
                });
                let verdict = judgement.verdict;
                let reason = judgement.reason.clone();
                return self.conclude(event, verdict, Some(judgement), &reason, reverted.verified);
            }
            _ => {}
        }
        Vec::new()
    }

    /// Publishes a fault's verdict (once), its finding when missed, and the run's completion when it was the
    /// last one.
    fn conclude(
        &mut self,
        event: &Event,
        verdict: Verdict,
        judgement: Option<Judgement>,
        reason: &str,
        revert_verified: bool,
    ) -> Vec<Event> {
        let fault = self
            .faults
            .entry(event.fault_instance_id.clone())
            .or_default();
        if fault.judged {
            return Vec::new();
        }
        fault.judged = true;
        let (fault_id, resource) = match &event.payload {
            Some(Payload::FaultPrevented(p)) => (p.fault_id.clone(), p.resource.clone()),
            Some(Payload::FaultRejected(p)) => (p.fault_id.clone(), p.resource.clone()),
            Some(Payload::FaultReverted(p)) => (p.fault_id.clone(), p.resource.clone()),
            Some(Payload::FaultRevertFailed(p)) => (p.fault_id.clone(), p.resource.clone()),
            _ => (fault.fault_id.clone(), Some(fault.resource.clone())),
        };
        let judgement = judgement.unwrap_or(Judgement {
            verdict,
            time_to_detect_ms: None,
            time_to_correct_ms: None,
            detected_by: String::new(),
            reason: reason.to_owned(),
        });
        tracing::info!(verdict = verdict.label(), %reason, "verdict reached");
        let mut outgoing = vec![events::event(
            SOURCE,
            &event.run_id,
            &event.fault_instance_id,
            "",
            Payload::VerdictReached(VerdictReached {
                fault_id: fault_id.clone(),
                resource: resource.clone(),
                verdict: verdict as i32,
                time_to_detect_ms: judgement.time_to_detect_ms,
                time_to_correct_ms: judgement.time_to_correct_ms,
                detected_by: judgement.detected_by,
                reason: reason.to_owned(),
                revert_verified,
                ..Default::default()
            }),
        )];
        let run = self.runs.entry(event.run_id.clone()).or_default();
        run.verdicts += 1;
        if verdict == Verdict::Missed {
            run.findings += 1;
            run.hypotheses_held = false;
            outgoing.push(finding(event, &fault_id, resource, reason));
        }
        outgoing.extend(self.complete_if_done(&event.run_id));
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
            "analysis completed"
        );
        vec![events::event(
            SOURCE,
            run_id,
            "",
            "",
            Payload::AnalysisCompleted(AnalysisCompleted {
                faults: run.verdicts,
                findings: run.findings,
                hypotheses_held: run.hypotheses_held,
                ..Default::default()
            }),
        )]
    }
}

fn finding(event: &Event, fault_id: &str, resource: Option<ResourceRef>, reason: &str) -> Event {
    let model = catalogue::find(fault_id);
    let resource_name = resource
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let title = format!(
        "{} went uncaught on {resource_name}",
        model.map_or(fault_id, |model| model.title)
    );
    events::event(
        SOURCE,
        &event.run_id,
        &event.fault_instance_id,
        "",
        Payload::FindingCreated(FindingCreated {
            finding_id: events::stable_id(&["finding", &event.fault_instance_id]),
            fault_id: fault_id.to_owned(),
            resource,
            title: format!("{title}: {reason}"),
            severity: model
                .map_or("medium", |model| model.severity().label())
                .to_owned(),
            remediation: model.map_or("", |model| model.remediation).to_owned(),
        }),
    )
}
