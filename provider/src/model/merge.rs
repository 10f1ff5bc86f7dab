//! The generic three-way undo of a fault's own change, over the JSON form of a state.
//!
//! A fault turned `before` into `injected`; since then others may have changed the resource, which now reads
//! `current`. [`undo`] applies the change `injected` → `before` onto `current`, touching only what the fault
//! changed and only where `current` still holds what the fault left there:
//!
//! - objects, key by key: a key the fault added is removed if `current` still holds the fault's value there; a
//!   key the fault removed is restored if `current` lacks it; a key both hold is merged recursively; a key
//!   `current` lacks or holds otherwise is left as `current` has it;
//! - arrays, as multisets: the elements the fault added are taken out of `current` (down to the count `before`
//!   had), the elements the fault removed are appended (up to the count `before` had), `current`'s order kept;
//! - any other value the fault changed goes back only where `current` still holds the fault's value; whatever
//!   else `current` holds there wins.
//!
//! Applied twice it changes nothing more: removals stop at `before`'s count, restorations at `before`'s count,
//! and a value set back no longer equals the fault's.

use serde_json::{Map, Value};

/// `current` with the change `injected` → `before` applied where `current` still shows it (see the module).
pub fn undo(current: &Value, injected: &Value, before: &Value) -> Value {
    if injected == before {
        return current.clone();
    }
    if current == injected {
        return before.clone();
    }
    match (current, injected, before) {
        (Value::Object(current), Value::Object(injected), Value::Object(before)) => {
            Value::Object(undo_object(current, injected, before))
        }
        (Value::Array(current), Value::Array(injected), Value::Array(before)) => {
            Value::Array(undo_array(current, injected, before))
        }
        _ => current.clone(),
    }
}

/// How many changes turn `a` into `b`: keys added or removed, elements of lists taken as multisets added or
/// removed, other values replaced; nested objects counted key by key. Zero exactly when they are equal.
pub fn difference(a: &Value, b: &Value) -> usize {
    match (a, b) {
        _ if a == b => 0,
        (Value::Object(a), Value::Object(b)) => {
            let changed: usize = a
                .iter()
                .map(|(key, value)| b.get(key).map_or(1, |other| difference(value, other)))
                .sum();
            changed + b.keys().filter(|key| !a.contains_key(*key)).count()
        }
        (Value::Array(a), Value::Array(b)) => {
            let mut unmatched = b.clone();
            let mut removed = 0;
            for value in a {
                match unmatched.iter().position(|other| other == value) {
                    Some(position) => {
                        unmatched.swap_remove(position);
                    }
                    None => removed += 1,
                }
            }
            removed + unmatched.len()
        }
        _ => 1,
    }
}

fn undo_object(
    current: &Map<String, Value>,
    injected: &Map<String, Value>,
    before: &Map<String, Value>,
) -> Map<String, Value> {
    let mut result = current.clone();
    let keys = injected
        .keys()
        .chain(before.keys().filter(|key| !injected.contains_key(*key)));
    for key in keys {
        match (current.get(key), injected.get(key), before.get(key)) {
            // Added by the fault, still as the fault left it.
            (Some(now), Some(faulty), None) if now == faulty => {
                result.remove(key);
            }
            // Removed by the fault, still absent.
            (None, None, Some(previous)) => {
                result.insert(key.clone(), previous.clone());
            }
            (Some(now), Some(faulty), Some(previous)) => {
                result.insert(key.clone(), undo(now, faulty, previous));
            }
            // Changed since by someone else (or absent now): theirs stays.
            _ => {}
        }
    }
    result
}

fn count(values: &[Value], value: &Value) -> usize {
    values
        .iter()
        .filter(|candidate| *candidate == value)
        .count()
}

/// The distinct values of a list, in their first order.
fn distinct(values: &[Value]) -> Vec<&Value> {
    let mut seen: Vec<&Value> = Vec::with_capacity(values.len());
    for value in values {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

fn undo_array(current: &[Value], injected: &[Value], before: &[Value]) -> Vec<Value> {
    let mut result = current.to_vec();
    for value in distinct(injected) {
        let (added, previous) = (count(injected, value), count(before, value));
        if added <= previous {
            continue;
        }
        let surplus = count(&result, value).saturating_sub(previous);
        for _ in 0..(added - previous).min(surplus) {
            // The fault's copies were the last ones it left.
            if let Some(position) = result.iter().rposition(|candidate| candidate == value) {
                result.remove(position);
            }
        }
    }
    for value in distinct(before) {
        let (previous, left) = (count(before, value), count(injected, value));
        if previous <= left {
            continue;
        }
        let missing = previous.saturating_sub(count(&result, value));
        for _ in 0..(previous - left).min(missing) {
            result.push(value.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::undo;

    #[test]
    fn an_untouched_state_comes_back_exactly() {
        let before = json!({"a": 1, "list": [1, 2], "nested": {"x": "y"}});
        let injected = json!({"a": 2, "list": [1, 2, 3], "nested": {"x": "z"}, "new": true});
        assert_eq!(undo(&injected, &injected, &before), before);
        assert_eq!(undo(&before, &injected, &before), before);
    }

    #[test]
    fn a_scalar_goes_back_only_where_the_fault_left_it() {
        let before = json!({"status": "Enabled", "other": 1});
        let injected = json!({"status": "Suspended", "other": 1});
        let someone_changed_other = json!({"status": "Suspended", "other": 2});
        assert_eq!(
            undo(&someone_changed_other, &injected, &before),
            json!({"status": "Enabled", "other": 2})
        );
        let someone_changed_status = json!({"status": "Disabled", "other": 1});
        assert_eq!(
            undo(&someone_changed_status, &injected, &before),
            someone_changed_status
        );
    }

    #[test]
    fn keys_the_fault_added_or_removed() {
        let before = json!({"kept": 1, "removed": {"flags": [true]}});
        let injected = json!({"kept": 1, "added": "x"});
        // Someone added a key of their own and changed the fault's added key elsewhere: both stay.
        let current = json!({"kept": 1, "added": "x", "theirs": 3});
        assert_eq!(
            undo(&current, &injected, &before),
            json!({"kept": 1, "removed": {"flags": [true]}, "theirs": 3})
        );
        let changed_added = json!({"kept": 1, "added": "changed by someone"});
        assert_eq!(
            undo(&changed_added, &injected, &before),
            json!({"kept": 1, "added": "changed by someone", "removed": {"flags": [true]}})
        );
        // Someone put the removed key back their way: theirs stays.
        let restored_by_someone = json!({"kept": 1, "added": "x", "removed": {"flags": [false]}});
        assert_eq!(
            undo(&restored_by_someone, &injected, &before),
            json!({"kept": 1, "removed": {"flags": [false]}})
        );
    }

    #[test]
    fn arrays_are_multisets_in_current_order() {
        let before = json!(["a", "b", "c"]);
        let injected = json!(["a", "c", "fault"]);
        let current = json!(["theirs", "c", "fault", "a"]);
        assert_eq!(
            undo(&current, &injected, &before),
            json!(["theirs", "c", "a", "b"])
        );
    }

    #[test]
    fn duplicates_stop_at_the_count_before_had() {
        let before = json!([1, 1]);
        let injected = json!([1, 1, 1]);
        assert_eq!(
            undo(&json!([1, 1, 1, 2]), &injected, &before),
            json!([1, 1, 2])
        );
        // Someone else already took one copy away: nothing more to remove.
        assert_eq!(
            undo(&json!([1, 1, 2]), &injected, &before),
            json!([1, 1, 2])
        );
        let removed = json!([1]);
        assert_eq!(undo(&json!([2]), &removed, &before), json!([2, 1]));
        assert_eq!(undo(&json!([1, 2]), &removed, &before), json!([1, 2, 1]));
    }

    #[test]
    fn undo_is_idempotent() {
        let before = json!({"list": [1, 2], "s": "a", "gone": 1});
        let injected = json!({"list": [2, 3], "s": "b", "new": 1});
        for current in [
            json!({"list": [2, 3, 4], "s": "b", "new": 1}),
            json!({"list": [3], "s": "c", "new": 2, "gone": 5}),
            json!({"s": "b"}),
            json!(null),
        ] {
            let once = undo(&current, &injected, &before);
            assert_eq!(undo(&once, &injected, &before), once, "{current}");
        }
    }

    #[test]
    fn nested_objects_in_arrays_change_as_whole_elements() {
        let before = json!({"rules": [{"id": "a", "days": 1}]});
        let injected = json!({"rules": [{"id": "a", "days": 1}, {"id": "fault", "days": 0}]});
        let current = json!({"rules": [{"id": "a", "days": 2}, {"id": "fault", "days": 0}]});
        assert_eq!(
            undo(&current, &injected, &before),
            json!({"rules": [{"id": "a", "days": 2}]}),
            "someone's edit of a rule the fault did not touch stays"
        );
    }
}

#[cfg(test)]
mod difference_tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::difference;

    #[test]
    fn changes_are_counted_key_by_key_and_element_by_element() {
        let grants = json!({"owner": "o", "grants": ["read:all", "write:all", "full:owner"]});
        assert_eq!(difference(&grants, &grants), 0);
        let one_removed = json!({"owner": "o", "grants": ["read:all", "full:owner"]});
        assert_eq!(difference(&grants, &one_removed), 1);
        let both_removed = json!({"owner": "o", "grants": ["full:owner"]});
        assert_eq!(difference(&grants, &both_removed), 2);
        assert_eq!(difference(&json!({"a": 1}), &json!({"b": 1})), 2);
        assert_eq!(
            difference(
                &json!({"a": {"x": 1, "y": 2}}),
                &json!({"a": {"x": 3, "y": 2}})
            ),
            1
        );
        assert_eq!(difference(&json!([1, 1, 2]), &json!([1, 2, 2])), 2);
        assert_eq!(difference(&json!("on"), &json!("off")), 1);
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0i64..4).prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[xyz]", inner, 0..3)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn difference_is_zero_only_when_equal_and_symmetric(a in value(), b in value()) {
            prop_assert_eq!(difference(&a, &b) == 0, a == b);
            prop_assert_eq!(difference(&a, &b), difference(&b, &a));
        }
    }
}
