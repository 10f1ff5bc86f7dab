//! Building events. Event ids are deterministic (UUID v5 of what the event says), so a handler that runs twice
//! after a redelivery publishes the same ids again and JetStream's duplicate window drops the copies.

use std::time::SystemTime;

use rdfi_proto::v1::{Event, event::Payload};
use uuid::Uuid;

const NAMESPACE: Uuid = Uuid::from_u128(0x6f2b_6d1e_4c1a_4f7e_9a57_2d3c_5b8e_0a11);

/// A stable id derived from the parts that identify a thing.
pub fn stable_id(parts: &[&str]) -> String {
    Uuid::new_v5(&NAMESPACE, parts.join("\u{1f}").as_bytes()).to_string()
}

/// A fresh, time-ordered id (for runs and other things first named here).
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// The id of the fault instance that aims `fault_id` at `resource_id` in run `run_id`.
pub fn fault_instance_id(run_id: &str, fault_id: &str, resource_id: &str) -> String {
    stable_id(&[run_id, fault_id, resource_id])
}

/// An event about a run or one of its fault instances. `discriminator` distinguishes events of the same kind
/// about the same thing (a signal's source and time, say); it is empty for once-only events.
pub fn event(
    source: &str,
    run_id: &str,
    fault_instance_id: &str,
    discriminator: &str,
    payload: Payload,
) -> Event {
    let subject = crate::subjects::for_payload(&payload);
    Event {
        id: stable_id(&[subject, run_id, fault_instance_id, discriminator]),
        time: Some(rdfi_proto::timestamp(SystemTime::now())),
        source: source.to_owned(),
        run_id: run_id.to_owned(),
        fault_instance_id: fault_instance_id.to_owned(),
        payload: Some(payload),
    }
}

/// The subject of an event, or `None` when it has no payload.
pub fn subject_of(event: &Event) -> Option<&'static str> {
    event.payload.as_ref().map(crate::subjects::for_payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdfi_proto::v1::RunPlanned;

    #[test]
    fn same_facts_give_the_same_id() {
        let a = event(
            "planner",
            "r1",
            "",
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 2,
                notes: vec![],
            }),
        );
        let b = event(
            "planner",
            "r1",
            "",
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 2,
                notes: vec![],
            }),
        );
        let c = event(
            "planner",
            "r2",
            "",
            "",
            Payload::RunPlanned(RunPlanned {
                planned_faults: 2,
                notes: vec![],
            }),
        );
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
    }

    #[test]
    fn fault_instance_ids_separate_their_parts() {
        assert_ne!(
            fault_instance_id("r", "ab", "c"),
            fault_instance_id("r", "a", "bc")
        );
    }
}
