//! Property tests of every fault's revert, over the JSON forms of its states (so the same code checks all of
//! them, custom reverts included):
//!
//! (a) reverting an untouched injection gives the snapshot back, from the example and from other secure
//!     states;
//! (b) a change someone else made meanwhile that does not touch the fault's own change survives the revert,
//!     which then reads as complete (`is_reverted`);
//! (c) whatever happened meanwhile, the revert leaves no misconfiguration and reverting again changes nothing.
//!
//! The changes "someone else made" are derived from each fault's states generically: another fault on the
//! same state (aspect) injected on top; an element added to a list the fault does not own (a copy of one of
//! the snapshot's elements with a string changed); an entry added to a map; a string the fault left alone
//! changed. For (c) also changes to the fault's own part: its value edited, its element copied and edited.

use proptest::prelude::*;
use serde_json::Value;

use super::{DynFault, all};

/// A place in a JSON state, by object keys only (list positions mean nothing across two states).
type Path = Vec<String>;

fn at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |node, key| node.as_object()?.get(key))
}

fn at_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(value, |node, key| node.as_object_mut()?.get_mut(key))
}

/// Every node reachable by object keys, with its path.
fn nodes(value: &Value) -> Vec<(Path, &Value)> {
    let mut found = vec![(Vec::new(), value)];
    let mut index = 0;
    while index < found.len() {
        let (path, node) = found[index].clone();
        if let Value::Object(entries) = node {
            for (key, child) in entries {
                let mut child_path = path.clone();
                child_path.push(key.clone());
                found.push((child_path, child));
            }
        }
        index += 1;
    }
    found
}

/// Every variant of `value` with one of its strings (at any depth, lists included) changed by `suffix`.
fn string_variants(value: &Value, suffix: &str) -> Vec<Value> {
    match value {
        Value::String(text) => vec![Value::String(format!("{text}-{suffix}"))],
        Value::Array(items) => (0..items.len())
            .flat_map(|position| {
                string_variants(&items[position], suffix)
                    .into_iter()
                    .map(move |variant| (position, variant))
            })
            .map(|(position, variant)| {
                let mut items = items.clone();
                items[position] = variant;
                Value::Array(items)
            })
            .collect(),
        Value::Object(entries) => entries
            .iter()
            .flat_map(|(key, child)| {
                string_variants(child, suffix)
                    .into_iter()
                    .map(move |variant| (key.clone(), variant))
            })
            .map(|(key, variant)| {
                let mut entries = entries.clone();
                entries.insert(key, variant);
                Value::Object(entries)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A change someone else makes to a state.
#[derive(Clone, Debug)]
enum Change {
    /// Another fault on the same state, injected on top.
    Fault(&'static str),
    /// An element appended to the list at a path.
    Append(Path, Value),
    /// The value at a path replaced.
    Set(Path, Value),
    /// An entry added to the object at a path.
    Insert(Path, String, Value),
}

impl Change {
    fn apply(&self, state: &Value) -> Option<Value> {
        let mut changed = state.clone();
        match self {
            Change::Fault(id) => return super::find(id)?.inject(state).ok(),
            Change::Append(path, element) => at_mut(&mut changed, path)?
                .as_array_mut()?
                .push(element.clone()),
            Change::Set(path, value) => *at_mut(&mut changed, path)? = value.clone(),
            Change::Insert(path, key, value) => {
                at_mut(&mut changed, path)?
                    .as_object_mut()?
                    .insert(key.clone(), value.clone());
            }
        }
        Some(changed)
    }
}

/// The changes to `injected` that leave the fault's own change alone (`own` false), or that touch it (`own`
/// true): the same lists, strings and maps as in `before`, or the ones the fault wrote.
fn changes(
    fault: &dyn DynFault,
    before: &Value,
    injected: &Value,
    suffix: &str,
    own: bool,
) -> Vec<Change> {
    let mut found = Vec::new();
    if !own {
        for other in all().filter(|other| other.aspect() == fault.aspect()) {
            if other.id() != fault.id() {
                found.push(Change::Fault(other.id()));
            }
        }
    }
    for (path, node) in nodes(injected) {
        let previous = at(before, &path);
        match (node, previous) {
            (Value::Array(items), Some(Value::Array(previous_items))) => {
                let sources: Vec<&Value> = if own {
                    items
                        .iter()
                        .filter(|item| !previous_items.contains(item))
                        .collect()
                } else {
                    previous_items.iter().collect()
                };
                for source in sources {
                    for variant in string_variants(source, suffix) {
                        found.push(Change::Append(path.clone(), variant));
                    }
                }
            }
            (Value::Object(_), Some(Value::Object(previous_entries))) if !own => {
                if let Some((_, value)) = previous_entries.iter().next() {
                    found.push(Change::Insert(
                        path.clone(),
                        format!("{suffix}-added"),
                        value.clone(),
                    ));
                }
            }
            (Value::String(text), previous) if (previous == Some(node)) != own => {
                found.push(Change::Set(
                    path.clone(),
                    Value::String(format!("{text}-{suffix}")),
                ));
            }
            (Value::Bool(flag), previous) if (previous == Some(node)) != own => {
                found.push(Change::Set(path.clone(), Value::Bool(!flag)));
            }
            (Value::Number(number), previous) if (previous == Some(node)) != own => {
                if let Some(number) = number.as_i64() {
                    found.push(Change::Set(path.clone(), Value::from(number + 1)));
                }
            }
            _ => {}
        }
    }
    found
}

/// A concurrent change that does not touch the fault's: applied to the snapshot and to the injected state,
/// both still typed states, and a real change that is not itself the misconfiguration.
struct Concurrent {
    change: Change,
    /// The snapshot with the change, canonical: what the revert must give.
    expected: Value,
    /// The injected state with the change: the state the revert starts from.
    current: Value,
}

fn concurrent_changes(fault: &dyn DynFault, before: &Value, suffix: &str) -> Vec<Concurrent> {
    let injected = fault.inject(before).expect("inject");
    let canonical_before = fault.canonical(before).expect("canonical");
    changes(fault, before, &injected, suffix, false)
        .into_iter()
        .filter_map(|change| {
            let changed_before = fault.canonical(&change.apply(before)?).ok()?;
            let current = fault.canonical(&change.apply(&injected)?).ok()?;
            let real =
                changed_before != canonical_before && current != fault.canonical(&injected).ok()?;
            let secure = !fault.is_present(&changed_before).ok()?;
            // Another fault must change something the snapshot lacks, and nothing the fault changes.
            let disjoint = match &change {
                Change::Fault(other) => !super::find(other)?.is_present(before).ok()?,
                _ => true,
            };
            (real && secure && disjoint).then_some(Concurrent {
                change,
                expected: changed_before,
                current,
            })
        })
        .collect()
}

fn pick<T>(items: &[T], choice: u64) -> Option<&T> {
    (!items.is_empty()).then(|| &items[(choice % items.len() as u64) as usize])
}

/// (a) for the example and for another secure state derived from it.
fn check_untouched_injection(fault: &dyn DynFault, choice: u64, suffix: &str) {
    let example = fault.example();
    let mut starts = vec![example.clone()];
    let others = concurrent_changes(fault, &example, suffix);
    if let Some(other) = pick(&others, choice)
        && fault.precondition(&other.expected).unwrap().is_none()
    {
        starts.push(other.expected.clone());
    }
    for before in starts {
        let injected = fault.inject(&before).unwrap();
        assert!(fault.is_present(&injected).unwrap(), "{}", fault.id());
        assert_eq!(
            fault.revert(&injected, &before).unwrap(),
            before,
            "{}: revert(inject(b), b) == b",
            fault.id()
        );
        assert!(
            fault.is_reverted(&before, &before).unwrap(),
            "{}",
            fault.id()
        );
        assert!(
            !fault.is_reverted(&injected, &before).unwrap(),
            "{}",
            fault.id()
        );
    }
}

/// (b) for one concurrent change of the fault's example.
fn check_concurrent_change(fault: &dyn DynFault, choice: u64, suffix: &str) {
    let before = fault.example();
    let changes = concurrent_changes(fault, &before, suffix);
    let Some(concurrent) = pick(&changes, choice) else {
        return;
    };
    let reverted = fault.revert(&concurrent.current, &before).unwrap();
    assert_eq!(
        reverted,
        concurrent.expected,
        "{}: the change {:?} survives the revert",
        fault.id(),
        concurrent.change
    );
    assert!(
        fault.is_reverted(&reverted, &before).unwrap(),
        "{}: after {:?} the revert reads as complete",
        fault.id(),
        concurrent.change
    );
    if let Change::Fault(other) = &concurrent.change {
        let other = super::find(other).unwrap();
        assert_eq!(
            other.is_present(&reverted).unwrap(),
            other.is_present(&concurrent.current).unwrap(),
            "{}: the other fault {} stays as it was",
            fault.id(),
            other.id()
        );
    }
}

/// (c) from the injected state changed in any of the ways above, the fault's own part included.
fn check_settles(fault: &dyn DynFault, choice: u64, suffix: &str) {
    let before = fault.example();
    let injected = fault.inject(&before).unwrap();
    let mut currents = vec![injected.clone(), before.clone()];
    currents.push(fault.remediate(&injected).unwrap());
    for own in [false, true] {
        let changes = changes(fault, &before, &injected, suffix, own);
        if let Some(current) = pick(&changes, choice)
            .and_then(|change| change.apply(&injected))
            .and_then(|current| fault.canonical(&current).ok())
        {
            currents.push(current);
        }
    }
    for current in currents {
        let reverted = fault.revert(&current, &before).unwrap();
        assert!(
            !fault.is_present(&reverted).unwrap(),
            "{}: no misconfiguration left after reverting {current}",
            fault.id()
        );
        assert_eq!(
            fault.revert(&reverted, &before).unwrap(),
            reverted,
            "{}: reverting again changes nothing (from {current})",
            fault.id()
        );
        assert!(
            fault.is_reverted(&reverted, &before).unwrap(),
            "{}",
            fault.id()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reverting_an_untouched_injection_restores_the_snapshot(
        choice in any::<u64>(),
        suffix in "[a-z0-9]{1,8}",
    ) {
        for fault in all() {
            check_untouched_injection(fault, choice, &suffix);
        }
    }

    #[test]
    fn changes_made_meanwhile_survive_the_revert(
        choice in any::<u64>(),
        suffix in "[a-z0-9]{1,8}",
    ) {
        for fault in all() {
            check_concurrent_change(fault, choice, &suffix);
        }
    }

    #[test]
    fn the_revert_removes_the_fault_and_is_idempotent(
        choice in any::<u64>(),
        suffix in "[a-z0-9]{1,8}",
    ) {
        for fault in all() {
            check_settles(fault, choice, &suffix);
        }
    }
}

/// Every derived change of every fault, not a sample: the properties hold for all of them, and most faults
/// get some (not those whose injection replaces the whole state, e.g. a switch turned off, a configuration
/// deleted: nothing of it is left for someone else to change independently).
#[test]
fn every_derived_change_keeps_the_properties() {
    for fault in all() {
        let count = concurrent_changes(fault, &fault.example(), "x").len();
        for choice in 0..count.max(1) as u64 {
            check_untouched_injection(fault, choice, "x");
            check_concurrent_change(fault, choice, "x");
            check_settles(fault, choice, "x");
        }
    }
    let without: Vec<&str> = all()
        .filter(|fault| concurrent_changes(*fault, &fault.example(), "x").is_empty())
        .map(|fault| fault.id())
        .collect();
    assert!(
        without.len() * 3 < all().count(),
        "most faults have concurrent changes to test; without: {without:?}"
    );
}
