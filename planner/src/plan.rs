//! Pure planning: from a run's experiment and its observed inventory to the events that plan its faults.

use std::collections::{HashMap, HashSet};

use rdfi_core::catalogue::FaultModel;
use rdfi_core::{catalogue, events};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    Event, ExperimentSpec, FaultPlanned, Hypothesis, InventoryObserved, PreviousTrial, ResourceRef,
    RunPlanned,
};

use crate::SOURCE;
use crate::strategy::{self, Beliefs, Candidate, LastTrial, Picks, Request};

/// The fault.planned events for each selected (fault, resource) pair, then the run.planned event. Each fault
/// gets up to `maxTargets` resources of its type, never a resource another fault of the run has: the faults
/// of a type take turns, every fault its first target before any its second, each taking the next free
/// resource in a stable order (by id); what could not be planned is noted.
pub fn plan(run_id: &str, inventory: &InventoryObserved) -> Vec<Event> {
    let experiment = inventory.experiment.clone().unwrap_or_default();
    let mut notes = Vec::new();
    if !inventory.error.is_empty() {
        notes.push(format!("discovery failed: {}", inventory.error));
    }
    let mut resources: Vec<&ResourceRef> = inventory.resources.iter().collect();
    resources.sort_by(|a, b| a.id.cmp(&b.id));
    resources.dedup_by(|a, b| a.id == b.id);
    let mut selected = Vec::new();
    for selection in &experiment.faults {
        match catalogue::find(&selection.fault_id) {
            Some(model) => selected.push((model, selection)),
            None => notes.push(format!(
                "{}: not in this planner's catalogue",
                selection.fault_id
            )),
        }
    }
    // Each selection's targets, taken in turns from the free resources of its type.
    let mut targets: Vec<Vec<&ResourceRef>> = vec![Vec::new(); selected.len()];
    let mut free: HashMap<&str, std::collections::VecDeque<&ResourceRef>> = HashMap::new();
    for resource in &resources {
        free.entry(resource.resource_type.as_str())
            .or_default()
            .push_back(resource);
    }
    let eligible: Vec<usize> = selected
        .iter()
        .map(|(model, _)| free.get(model.resource_type).map_or(0, |queue| queue.len()))
        .collect();
    let most = selected
        .iter()
        .map(|(_, selection)| selection.max_targets)
        .max()
        .unwrap_or(0);
    for turn in 0..most {
        for (index, (model, selection)) in selected.iter().enumerate() {
            if selection.max_targets > turn
                && let Some(resource) = free
                    .get_mut(model.resource_type)
                    .and_then(|queue| queue.pop_front())
            {
                targets[index].push(resource);
            }
        }
    }
    let mut planned = Vec::new();
    for (index, (model, selection)) in selected.iter().enumerate() {
        let wanted = selection.max_targets as usize;
        let got = targets[index].len();
        if got < wanted && inventory.error.is_empty() {
            let why = if eligible[index] > got {
                format!(
                    "{} opted-in {} matched the selector; the others carry another fault of this run",
                    eligible[index], model.resource_type
                )
            } else {
                format!(
                    "no more opted-in {} matched the selector",
                    model.resource_type
                )
            };
            notes.push(format!("{}: {got} of {wanted} targets; {why}", model.id));
        }
        for resource in &targets[index] {
            planned.push(planned_event(
                run_id,
                model,
                resource,
                &experiment,
                selection.hypothesis.clone(),
                Placement::default(),
            ));
        }
    }
    finish(run_id, planned, notes)
}

/// The (fault, resource) pairs an experiment's faults may be aimed at in an inventory: each listed fault on
/// each discovered resource of its type (a resource listed twice counts once).
pub fn candidates<'a>(
    experiment: &ExperimentSpec,
    resources: &'a [ResourceRef],
) -> (Vec<Candidate<'a>>, Vec<String>) {
    let mut notes = Vec::new();
    let mut by_type: HashMap<&str, Vec<&'a ResourceRef>> = HashMap::new();
    let mut seen = HashSet::new();
    for resource in resources {
        if seen.insert(resource.id.as_str()) {
            by_type
                .entry(resource.resource_type.as_str())
                .or_default()
                .push(resource);
        }
    }
    let mut candidates = Vec::new();
    let mut faults = HashSet::new();
    for selection in &experiment.faults {
        let Some(fault) = catalogue::find(&selection.fault_id) else {
            notes.push(format!(
                "{}: not in this planner's catalogue",
                selection.fault_id
            ));
            continue;
        };
        if !faults.insert(fault.id) {
            continue;
        }
        for &resource in by_type
            .get(fault.resource_type)
            .map_or(&[][..], Vec::as_slice)
        {
            candidates.push(Candidate { fault, resource });
        }
    }
    (candidates, notes)
}

/// A campaign's round: the strategy's picks among the candidates, as fault.planned events (each carrying the
/// pick's reason and what knowledge remembered of the pair), then run.planned with notes on what was left out.
pub fn round<'a>(
    run_id: &str,
    inventory: &'a InventoryObserved,
    campaign_id: &str,
    beliefs: &Beliefs,
    request: &Request,
    mut notes: Vec<String>,
) -> (Vec<Event>, Picks<'a>) {
    let experiment = inventory.experiment.clone().unwrap_or_default();
    if !inventory.error.is_empty() {
        notes.push(format!("discovery failed: {}", inventory.error));
    }
    let (candidates, unknown) = candidates(&experiment, &inventory.resources);
    notes.extend(unknown);
    let picks = strategy::pick(&candidates, beliefs, request);
    if picks.cooling_down > 0 {
        notes.push(cooling_down_note(picks.cooling_down));
    }
    if picks.busy > 0 {
        notes.push(format!(
            "{} on resources with an active fault left out",
            rdfi_core::human::count(picks.busy, "candidate")
        ));
    }
    if !picks.techniques.is_empty() {
        let covered = picks.techniques.iter().filter(|t| t.1).count();
        notes.push(format!(
            "ATT&CK techniques tested: {covered} of {}",
            picks.techniques.len()
        ));
    }
    let planned = picks
        .picks
        .iter()
        .map(|pick| {
            let hypothesis = experiment
                .faults
                .iter()
                .find(|s| s.fault_id == pick.candidate.fault.id)
                .and_then(|s| s.hypothesis.clone());
            planned_event(
                run_id,
                pick.candidate.fault,
                pick.candidate.resource,
                &experiment,
                hypothesis,
                Placement {
                    previous: pick.previous.as_ref().map(LastTrial::previous),
                    campaign_id: campaign_id.to_owned(),
                    pick_reason: format!("{}: {}", request.strategy.name(), pick.reason),
                },
            )
        })
        .collect();
    (finish(run_id, planned, notes), picks)
}

/// Where a planned fault came from, beyond its experiment.
#[derive(Default)]
pub struct Placement {
    pub previous: Option<PreviousTrial>,
    pub campaign_id: String,
    pub pick_reason: String,
}

/// One fault.planned event.
pub fn planned_event(
    run_id: &str,
    model: &FaultModel,
    resource: &ResourceRef,
    experiment: &ExperimentSpec,
    hypothesis: Option<Hypothesis>,
    placement: Placement,
) -> Event {
    let fault_instance_id = events::fault_instance_id(run_id, model.id, &resource.id);
    events::event(
        SOURCE,
        run_id,
        &fault_instance_id,
        "",
        Payload::FaultPlanned(FaultPlanned {
            fault_id: model.id.to_owned(),
            resource: Some(resource.clone()),
            hypothesis: hypothesis.or_else(|| experiment.hypothesis.clone()),
            exposure_window_ms: experiment.exposure_window_ms,
            dry_run: experiment.dry_run,
            allow_destructive: experiment.allow_destructive,
            previous: placement.previous,
            campaign_id: placement.campaign_id,
            pick_reason: placement.pick_reason,
        }),
    )
}

/// The planned events followed by run.planned with their count and the notes.
pub fn finish(run_id: &str, mut planned: Vec<Event>, notes: Vec<String>) -> Vec<Event> {
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

/// The note of a plan that left out pairs missed within their cool-down.
pub fn cooling_down_note(pairs: usize) -> String {
    format!(
        "{} missed within the cool-down left out (tried again once it has passed)",
        rdfi_core::human::count(pairs, "candidate")
    )
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

    fn experiment(faults: &[(&str, u32)], resources: Vec<ResourceRef>) -> InventoryObserved {
        InventoryObserved {
            experiment: Some(ExperimentSpec {
                faults: faults
                    .iter()
                    .map(|(fault_id, max_targets)| FaultSelection {
                        fault_id: (*fault_id).into(),
                        max_targets: *max_targets,
                        hypothesis: None,
                    })
                    .collect(),
                exposure_window_ms: 1_000,
                ..Default::default()
            }),
            resources,
            error: String::new(),
        }
    }

    fn notes(events: &[Event]) -> Vec<String> {
        match &events.last().unwrap().payload {
            Some(Payload::RunPlanned(run)) => run.notes.clone(),
            other => panic!("last event is {other:?}"),
        }
    }

    #[test]
    fn faults_are_spread_one_per_resource_and_the_rest_noted() {
        let buckets = ["a", "b", "c"]
            .map(|id| resource("aws.s3.bucket", id))
            .to_vec();
        let faults: Vec<(&str, u32)> = rdfi_core::catalogue::all()
            .filter(|f| f.resource_type == "aws.s3.bucket")
            .take(5)
            .map(|f| (f.id, 1))
            .collect();
        let events = plan("run", &experiment(&faults, buckets));
        let mut targets = planned_resources(&events);
        assert_eq!(targets.len(), 3);
        targets.sort();
        assert_eq!(targets, ["a", "b", "c"]);
        let notes = notes(&events);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("the others carry another fault of this run"),
            "{notes:?}"
        );
    }

    #[test]
    fn every_fault_gets_its_first_target_before_any_its_second() {
        let buckets = ["a", "b", "c", "d"]
            .map(|id| resource("aws.s3.bucket", id))
            .to_vec();
        let first = "aws.s3.bucket-public-acl";
        let second = "aws.s3.bucket-policy-public";
        let events = plan("run", &experiment(&[(first, 3), (second, 2)], buckets));
        // Turns: first a, second b, first c, second d; the first's third finds none free.
        let planned: Vec<(String, String)> = events
            .iter()
            .filter_map(|event| match &event.payload {
                Some(Payload::FaultPlanned(p)) => {
                    Some((p.fault_id.clone(), p.resource.clone().unwrap().id))
                }
                _ => None,
            })
            .collect();
        let pairs: Vec<(&str, &str)> = planned
            .iter()
            .map(|(f, r)| (f.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [(first, "a"), (first, "c"), (second, "b"), (second, "d")]
        );
        assert!(notes(&events)[0].starts_with(&format!("{first}: 2 of 3 targets")));
    }

    proptest::proptest! {
        #[test]
        fn never_two_faults_on_one_resource(buckets in 0usize..6, users in 0usize..4, wanted in proptest::collection::vec(1u32..4, 1..6)) {
            let mut resources: Vec<ResourceRef> = (0..buckets).map(|i| resource("aws.s3.bucket", &format!("b{i}"))).collect();
            resources.extend((0..users).map(|i| resource("aws.iam.user", &format!("u{i}"))));
            let bucket_faults: Vec<&str> = rdfi_core::catalogue::all().filter(|f| f.resource_type == "aws.s3.bucket").map(|f| f.id).collect();
            let faults: Vec<(&str, u32)> = wanted.iter().enumerate().map(|(i, n)| (bucket_faults[i % bucket_faults.len()], *n)).collect();
            let events = plan("run", &experiment(&faults, resources));
            let targets = planned_resources(&events);
            let distinct: std::collections::HashSet<_> = targets.iter().collect();
            proptest::prop_assert_eq!(distinct.len(), targets.len());
            // Every bucket fault may take any bucket: as many are planned as buckets and slots allow.
            let slots: u32 = faults.iter().map(|f| f.1).sum();
            proptest::prop_assert_eq!(targets.len(), buckets.min(slots as usize));
        }
    }

    #[test]
    fn a_round_carries_each_picks_reason_and_what_knowledge_remembered() {
        use crate::strategy::{LastTrial, PairRecord, Strategy};
        use rdfi_proto::v1::Verdict;
        use std::collections::HashSet;
        use std::time::{Duration, SystemTime};
        let inventory = experiment(
            &[("aws.s3.bucket-public-acl", 1)],
            vec![
                resource("aws.s3.bucket", "a"),
                resource("aws.s3.bucket", "b"),
            ],
        );
        let mut beliefs = Beliefs::default();
        beliefs.pair(
            "aws.s3.bucket-public-acl",
            "b",
            PairRecord {
                caught: 1,
                missed: 0,
                last: Some(LastTrial {
                    run_id: "r0".into(),
                    verdict: Verdict::Detected,
                    at: SystemTime::UNIX_EPOCH,
                    controls: vec!["prowler".into()],
                }),
            },
        );
        let busy = HashSet::new();
        let request = Request {
            strategy: Strategy::Coverage,
            seed: 1,
            picks: 2,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(10),
            cool_down: Duration::from_secs(1),
            busy: &busy,
        };
        let (events, picks) = round(
            "run",
            &inventory,
            "c1",
            &beliefs,
            &request,
            vec!["n".into()],
        );
        assert_eq!(picks.picks.len(), 2);
        let planned: Vec<&FaultPlanned> = events
            .iter()
            .filter_map(|event| match &event.payload {
                Some(Payload::FaultPlanned(p)) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(planned.len(), 2);
        assert!(
            planned
                .iter()
                .all(|p| p.campaign_id == "c1" && p.pick_reason.starts_with("coverage: "))
        );
        let on_b = planned
            .iter()
            .find(|p| p.resource.as_ref().unwrap().id == "b")
            .unwrap();
        let previous = on_b.previous.as_ref().expect("b was tried before");
        assert_eq!(
            (
                previous.run_id.as_str(),
                previous.verdict(),
                previous.controls.as_slice()
            ),
            ("r0", Verdict::Detected, &["prowler".to_owned()][..])
        );
        let on_a = planned
            .iter()
            .find(|p| p.resource.as_ref().unwrap().id == "a")
            .unwrap();
        assert!(on_a.previous.is_none());
        let notes = notes(&events);
        assert_eq!(notes[0], "n");
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("ATT&CK techniques tested: 1 of 1")),
            "{notes:?}"
        );
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
