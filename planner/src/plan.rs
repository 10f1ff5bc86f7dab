//! Pure planning: from a run's experiment and its observed inventory to the events that plan its faults.

use rdfi_core::{catalogue, events};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{Event, FaultPlanned, InventoryObserved, ResourceRef, RunPlanned};

use crate::SOURCE;

/// The fault.planned events for each selected (fault, resource) pair, then the run.planned event. Targets are
/// taken in a stable order (by resource id), at most `maxTargets` per fault.
pub fn plan(run_id: &str, inventory: &InventoryObserved) -> Vec<Event> {
    let experiment = inventory.experiment.clone().unwrap_or_default();
    let mut planned = Vec::new();
    let mut notes = Vec::new();
    if !inventory.error.is_empty() {
        notes.push(format!("discovery failed: {}", inventory.error));
    }
    for selection in &experiment.faults {
        let Some(model) = catalogue::find(&selection.fault_id) else {
            notes.push(format!(
                "{}: not in this planner's catalogue",
                selection.fault_id
            ));
            continue;
        };
        let mut candidates: Vec<&ResourceRef> = inventory
            .resources
            .iter()
            .filter(|resource| resource.resource_type == model.resource_type)
            .collect();
        candidates.sort_by(|a, b| a.id.cmp(&b.id));
        candidates.dedup_by(|a, b| a.id == b.id);
        let wanted = selection.max_targets as usize;
        if candidates.len() < wanted && inventory.error.is_empty() {
            notes.push(format!(
                "{}: {} of {wanted} targets; no more opted-in {} matched the selector",
                model.id,
                candidates.len(),
                model.resource_type
            ));
        }
        for resource in candidates.into_iter().take(wanted) {
            let fault_instance_id = events::fault_instance_id(run_id, model.id, &resource.id);
            planned.push(events::event(
                SOURCE,
                run_id,
                &fault_instance_id,
                "",
                Payload::FaultPlanned(FaultPlanned {
                    fault_id: model.id.to_owned(),
                    resource: Some(resource.clone()),
                    hypothesis: selection
                        .hypothesis
                        .clone()
                        .or_else(|| experiment.hypothesis.clone()),
                    exposure_window_ms: experiment.exposure_window_ms,
                    dry_run: experiment.dry_run,
                    allow_destructive: experiment.allow_destructive,
                }),
            ));
        }
    }
    let count = planned.len() as u32;
    planned.push(events::event(
        SOURCE,
        run_id,
        "",
        "",
        Payload::RunPlanned(RunPlanned {
            planned_faults: count,
            notes,
        }),
    ));
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdfi_proto::v1::{ExperimentSpec, FaultSelection};

    fn resource(resource_type: &str, id: &str) -> ResourceRef {
        ResourceRef {
            provider: "sandbox".into(),
            resource_type: resource_type.into(),
            id: id.into(),
            name: id.into(),
            ..Default::default()
        }
    }

    fn inventory(max_targets: u32, resources: Vec<ResourceRef>) -> InventoryObserved {
        InventoryObserved {
            experiment: Some(ExperimentSpec {
                faults: vec![FaultSelection {
                    fault_id: "aws.s3.bucket-public-acl".into(),
                    max_targets,
                    hypothesis: None,
                }],
                exposure_window_ms: 1_000,
                ..Default::default()
            }),
            resources,
            error: String::new(),
        }
    }

    fn planned_resources(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|event| match &event.payload {
                Some(Payload::FaultPlanned(planned)) => {
                    planned.resource.as_ref().map(|r| r.id.clone())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn takes_at_most_max_targets_of_the_right_type_in_stable_order() {
        let events = plan(
            "run",
            &inventory(
                2,
                vec![
                    resource("aws.s3.bucket", "c"),
                    resource("aws.iam.user", "u"),
                    resource("aws.s3.bucket", "a"),
                    resource("aws.s3.bucket", "b"),
                ],
            ),
        );
        assert_eq!(planned_resources(&events), ["a", "b"]);
        match &events.last().unwrap().payload {
            Some(Payload::RunPlanned(run)) => {
                assert_eq!(run.planned_faults, 2);
                assert!(run.notes.is_empty());
            }
            other => panic!("last event is {other:?}"),
        }
    }

    #[test]
    fn planning_twice_gives_the_same_events() {
        let inventory = inventory(1, vec![resource("aws.s3.bucket", "a")]);
        let first: Vec<_> = plan("run", &inventory).into_iter().map(|e| e.id).collect();
        let second: Vec<_> = plan("run", &inventory).into_iter().map(|e| e.id).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn too_few_targets_is_noted() {
        let events = plan("run", &inventory(3, vec![resource("aws.s3.bucket", "a")]));
        match &events.last().unwrap().payload {
            Some(Payload::RunPlanned(run)) => {
                assert_eq!(run.planned_faults, 1);
                assert!(run.notes[0].contains("1 of 3"), "{:?}", run.notes);
            }
            other => panic!("last event is {other:?}"),
        }
    }
}
