//! A live account of a run for people: one line per fault event as it happens and, on a terminal, a counter of
//! the faults planned, injected and judged, redrawn in place below them.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::Arc;

use futures::StreamExt;
use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::{CancellationToken, subjects};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{Event, Verdict};
use tokio::task::JoinHandle;

use crate::{human, out};

/// One line describing an event, or `None` for events people need not follow.
pub fn describe(event: &Event) -> Option<String> {
    let name = |resource: &Option<rdfi_proto::v1::ResourceRef>| {
        resource
            .as_ref()
            .map(|resource| resource.name.clone())
            .unwrap_or_default()
    };
    Some(match event.payload.as_ref()? {
        Payload::RunPlanned(planned) => format!("planned {} fault(s)", planned.planned_faults),
        Payload::FaultInjected(injected) => format!(
            "  injected   {} on {}{}",
            injected.fault_id,
            name(&injected.resource),
            if injected.dry_run { " (dry run)" } else { "" }
        ),
        Payload::FaultPrevented(prevented) if !prevented.control.is_empty() => format!(
            "  prevented  {} on {}: refused by {}",
            prevented.fault_id,
            name(&prevented.resource),
            prevented.control
        ),
        Payload::FaultPrevented(refused) => format!(
            "  refused    {} on {}: {}; no control named, so rdfi may lack {}",
            refused.fault_id,
            name(&refused.resource),
            refused.reason,
            if refused.denied_action.is_empty() {
                "a permission"
            } else {
                &refused.denied_action
            }
        ),
        Payload::FaultRejected(rejected) => format!(
            "  rejected   {} on {}: {}",
            rejected.fault_id,
            name(&rejected.resource),
            rejected.reason
        ),
        Payload::SignalReceived(signal) => {
            format!("  signal     from {} on {}", signal.source, signal.resource)
        }
        Payload::StateRestored(restored) if restored.partial => format!(
            "  partly     {} restored in part by another actor: {} of {} changes left",
            name(&restored.resource),
            restored.remaining,
            restored.injected
        ),
        Payload::StateRestored(restored) => format!(
            "  corrected  {} restored by another actor",
            name(&restored.resource)
        ),
        Payload::FaultReverted(reverted) => format!(
            "  reverted   {} on {}{}",
            reverted.fault_id,
            name(&reverted.resource),
            if reverted.verified { ", verified" } else { "" }
        ),
        Payload::FaultExposureProved(proved) => {
            let proof = proved.proof.clone().unwrap_or_default();
            format!(
                "  {:<10} {} on {}: anonymous {} of {}: {}",
                proof.outcome().label(),
                proved.fault_id,
                name(&proved.resource),
                proof.read,
                proof.canary_key,
                proof.answer
            )
        }
        Payload::FaultRevertFailed(failed) => format!(
            "  REVERT FAILED {} on {}: {}",
            failed.fault_id,
            name(&failed.resource),
            failed.reason
        ),
        Payload::VerdictReached(verdict) => format!(
            "  verdict    {} on {}: {}{}",
            verdict.fault_id,
            name(&verdict.resource),
            verdict.verdict().label(),
            match (verdict.time_to_detect_ms, verdict.time_to_correct_ms) {
                (Some(ms), _) if verdict.verdict() == Verdict::Detected =>
                    format!(" after {}", human::duration(ms)),
                (_, Some(ms)) if verdict.verdict() == Verdict::Corrected =>
                    format!(" after {}", human::duration(ms)),
                _ => String::new(),
            }
        ),
        _ => return None,
    })
}

/// How far a run has got, counted from its events: the counter a terminal shows below the narration. Each
/// fault is counted once per stage, however often its event is delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The run's planned faults, once `run.planned` says how many.
    announced: Option<u32>,
    planned: BTreeSet<String>,
    injected: BTreeSet<String>,
    refused: BTreeSet<String>,
    judged: BTreeSet<String>,
    missed: BTreeSet<String>,
}

impl Progress {
    /// Counts one event of the run; returns whether the counter changed.
    pub fn observe(&mut self, event: &Event) -> bool {
        let fault = event.fault_instance_id.clone();
        match &event.payload {
            Some(Payload::RunPlanned(planned)) => {
                let changed = self.announced != Some(planned.planned_faults);
                self.announced = Some(planned.planned_faults);
                changed
            }
            Some(Payload::FaultPlanned(_)) => self.planned.insert(fault),
            Some(Payload::FaultInjected(_)) => self.injected.insert(fault),
            Some(Payload::FaultPrevented(_) | Payload::FaultRejected(_)) => {
                self.refused.insert(fault)
            }
            Some(Payload::VerdictReached(verdict)) => {
                let judged = self.judged.insert(fault.clone());
                let missed = verdict.verdict() == Verdict::Missed && self.missed.insert(fault);
                judged || missed
            }
            _ => false,
        }
    }

    /// The counter as one line, e.g. `faults: 4 planned, 3 injected, 1 refused, 2 of 4 judged, 1 missed`.
    pub fn line(&self) -> String {
        let planned = self.announced.map_or(self.planned.len(), |announced| {
            self.planned.len().max(announced as usize)
        });
        let mut line = format!(
            "faults: {planned} planned, {} injected",
            self.injected.len()
        );
        if !self.refused.is_empty() {
            line.push_str(&format!(", {} refused", self.refused.len()));
        }
        line.push_str(&format!(", {} of {planned} judged", self.judged.len()));
        if !self.missed.is_empty() {
            line.push_str(&format!(", {} missed", self.missed.len()));
        }
        line
    }
}

/// Erases the line the cursor is on, on a terminal: the counter, before a line is written above it.
const ERASE_LINE: &str = "\r\x1b[2K";

/// What the narrator writes for one event: its line, if people follow it; on a terminal (`progress` given)
/// the counter is redrawn in place below it, without a newline. Elsewhere nothing but the lines.
pub fn render(line: Option<&str>, progress: Option<&Progress>) -> String {
    let line = line.map_or(String::new(), |line| format!("{line}\n"));
    match progress {
        Some(progress) => format!("{ERASE_LINE}{line}{}", progress.line()),
        None => line,
    }
}

/// Where the narration goes.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }

    fn write(self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self {
            Stream::Stdout => out::stdout(format_args!("{text}")),
            Stream::Stderr => out::stderr(format_args!("{text}")),
        }
    }
}

/// Starts printing the events of `run_id` to `stream`, with the counter of [`Progress`] below them when it
/// is a terminal; returns once it is listening, so the run can be submitted after it without losing its
/// first events. Once `shutdown` is cancelled the task ends, the counter left as the last line.
pub async fn start(
    bus: Arc<dyn Bus>,
    run_id: String,
    stream: Stream,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, BusError> {
    let mut subscription = bus
        .consume(ConsumerConfig::ephemeral(
            &format!("narrator-{run_id}"),
            &[subjects::ALL],
        ))
        .await?;
    let mut progress = stream.is_terminal().then(Progress::default);
    Ok(tokio::spawn(async move {
        loop {
            let delivery = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = subscription.next() => match next {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(_)) => continue,
                    None => break,
                },
            };
            if delivery.event.run_id == run_id {
                let line = describe(&delivery.event).map(|line| {
                    let missed = matches!(
                        &delivery.event.payload,
                        Some(Payload::VerdictReached(verdict)) if verdict.verdict() == Verdict::Missed
                    );
                    if missed {
                        format!("{line}  <- finding")
                    } else {
                        line
                    }
                });
                let counted = progress
                    .as_mut()
                    .is_some_and(|progress| progress.observe(&delivery.event));
                if line.is_some() || counted {
                    stream.write(&render(line.as_deref(), progress.as_ref()));
                }
            }
            let _ = delivery.ack().await;
        }
        if progress.is_some() {
            stream.write("\n");
        }
    }))
}

#[cfg(test)]
mod tests {
    use rdfi_proto::v1::{
        ExposureOutcome, ExposureProof, FaultExposureProved, FaultInjected, FaultPlanned,
        FaultPrevented, ResourceRef, RunPlanned, VerdictReached,
    };

    use super::*;

    fn event(fault: &str, payload: Payload) -> Event {
        rdfi_core::events::event("test", "r", fault, "", payload)
    }

    fn verdict(fault: &str, verdict: Verdict) -> Event {
        event(
            fault,
            Payload::VerdictReached(VerdictReached {
                fault_id: "aws.s3.bucket-public-acl".into(),
                verdict: verdict as i32,
                time_to_detect_ms: Some(11_708),
                ..Default::default()
            }),
        )
    }

    /// The events of a run of three faults: one prevented, one detected, one missed, `run.planned` last.
    fn run_of_three() -> Vec<Event> {
        let mut events: Vec<Event> = ["f1", "f2", "f3"]
            .into_iter()
            .map(|fault| event(fault, Payload::FaultPlanned(FaultPlanned::default())))
            .collect();
        events.push(event(
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 3,
                notes: Vec::new(),
            }),
        ));
        events.push(event(
            "f1",
            Payload::FaultPrevented(FaultPrevented::default()),
        ));
        events.push(event(
            "f2",
            Payload::FaultInjected(FaultInjected::default()),
        ));
        events.push(event(
            "f3",
            Payload::FaultInjected(FaultInjected::default()),
        ));
        events.push(verdict("f1", Verdict::Prevented));
        events.push(verdict("f2", Verdict::Detected));
        events.push(verdict("f3", Verdict::Missed));
        events
    }

    #[test]
    fn the_counter_follows_a_run_from_its_events() {
        let mut progress = Progress::default();
        let mut lines = Vec::new();
        for event in run_of_three() {
            if progress.observe(&event) {
                lines.push(progress.line());
            }
        }
        assert_eq!(
            lines,
            [
                "faults: 1 planned, 0 injected, 0 of 1 judged",
                "faults: 2 planned, 0 injected, 0 of 2 judged",
                "faults: 3 planned, 0 injected, 0 of 3 judged",
                "faults: 3 planned, 0 injected, 0 of 3 judged",
                "faults: 3 planned, 0 injected, 1 refused, 0 of 3 judged",
                "faults: 3 planned, 1 injected, 1 refused, 0 of 3 judged",
                "faults: 3 planned, 2 injected, 1 refused, 0 of 3 judged",
                "faults: 3 planned, 2 injected, 1 refused, 1 of 3 judged",
                "faults: 3 planned, 2 injected, 1 refused, 2 of 3 judged",
                "faults: 3 planned, 2 injected, 1 refused, 3 of 3 judged, 1 missed",
            ]
        );
    }

    #[test]
    fn the_announced_count_shows_before_the_planned_faults_arrive_and_redeliveries_count_once() {
        let mut progress = Progress::default();
        assert!(progress.observe(&event(
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 4,
                notes: Vec::new(),
            }),
        )));
        assert_eq!(
            progress.line(),
            "faults: 4 planned, 0 injected, 0 of 4 judged"
        );
        let injected = event("f1", Payload::FaultInjected(FaultInjected::default()));
        assert!(progress.observe(&injected));
        assert!(!progress.observe(&injected));
        let missed = verdict("f1", Verdict::Missed);
        assert!(progress.observe(&missed));
        assert!(!progress.observe(&missed));
        assert_eq!(
            progress.line(),
            "faults: 4 planned, 1 injected, 1 of 4 judged, 1 missed"
        );
        // Events people need not follow leave it as it is.
        assert!(!progress.observe(&event(
            "f1",
            Payload::FaultExposureProved(FaultExposureProved::default())
        )));
    }

    #[test]
    fn on_a_terminal_the_counter_is_redrawn_below_each_line() {
        let mut progress = Progress::default();
        progress.observe(&event("f1", Payload::FaultPlanned(FaultPlanned::default())));
        assert_eq!(
            render(Some("  injected   x on y"), Some(&progress)),
            "\r\x1b[2K  injected   x on y\nfaults: 1 planned, 0 injected, 0 of 1 judged"
        );
        assert_eq!(
            render(None, Some(&progress)),
            "\r\x1b[2Kfaults: 1 planned, 0 injected, 0 of 1 judged"
        );
    }

    #[test]
    fn elsewhere_the_narration_is_lines_without_control_characters() {
        let written: String = run_of_three()
            .iter()
            .map(|event| render(describe(event).as_deref(), None))
            .collect();
        assert_eq!(written.lines().count(), 7, "{written}");
        assert!(
            written
                .chars()
                .all(|character| character == '\n' || !character.is_control()),
            "{written:?}"
        );
        assert_eq!(render(None, None), "");
    }

    #[test]
    fn a_verdict_says_its_time_as_a_person_reads_it() {
        let line = describe(&verdict("f2", Verdict::Detected)).unwrap();
        assert!(line.ends_with(": detected after 11.7 s"), "{line}");
        let line = describe(&verdict("f3", Verdict::Missed)).unwrap();
        assert!(line.ends_with(": missed"), "{line}");
    }

    #[test]
    fn an_exposure_proof_says_what_the_anonymous_read_got() {
        let event = rdfi_core::events::event(
            "executor",
            "r",
            "f",
            "",
            Payload::FaultExposureProved(FaultExposureProved {
                fault_id: "aws.s3.bucket-policy-public".into(),
                resource: Some(ResourceRef {
                    name: "exports".into(),
                    ..Default::default()
                }),
                proof: Some(ExposureProof {
                    outcome: ExposureOutcome::Exposed as i32,
                    read: "get-object".into(),
                    canary_key: "rdfi-exposure/f.txt".into(),
                    answer: "HTTP 200 with the canary's content".into(),
                    ..Default::default()
                }),
            }),
        );
        assert_eq!(
            describe(&event).as_deref(),
            Some(
                "  exposed    aws.s3.bucket-policy-public on exports: anonymous get-object of \
                 rdfi-exposure/f.txt: HTTP 200 with the canary's content"
            )
        );
    }
}
