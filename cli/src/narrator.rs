//! A live account of a run for people: one line per fault event as it happens.

use std::io::Write;
use std::sync::Arc;

use futures::StreamExt;
use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::{CancellationToken, subjects};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{Event, Verdict};
use tokio::task::JoinHandle;

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
            "  verdict    {} on {}: {}",
            verdict.fault_id,
            name(&verdict.resource),
            verdict.verdict().label()
        ),
        _ => return None,
    })
}

/// Starts printing the events of `run_id` to stdout (`to_stdout`) or stderr; returns once it is listening, so
/// the run can be submitted after it without losing its first events.
pub async fn start(
    bus: Arc<dyn Bus>,
    run_id: String,
    to_stdout: bool,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, BusError> {
    let mut subscription = bus
        .consume(ConsumerConfig::ephemeral(
            &format!("narrator-{run_id}"),
            &[subjects::ALL],
        ))
        .await?;
    Ok(tokio::spawn(async move {
        loop {
            let delivery = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = subscription.next() => match next {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(_)) => continue,
                    None => return,
                },
            };
            if delivery.event.run_id == run_id
                && let Some(line) = describe(&delivery.event)
            {
                let missed = matches!(
                    &delivery.event.payload,
                    Some(Payload::VerdictReached(verdict)) if verdict.verdict() == Verdict::Missed
                );
                let line = if missed {
                    format!("{line}  <- finding")
                } else {
                    line
                };
                if to_stdout {
                    let _ = writeln!(std::io::stdout(), "{line}");
                } else {
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
            let _ = delivery.ack().await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use rdfi_proto::v1::{ExposureOutcome, ExposureProof, FaultExposureProved, ResourceRef};

    use super::*;

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
