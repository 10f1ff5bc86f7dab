//! What faults mean, whatever the provider: the security-relevant state each fault changes and the pure
//! operations on it (is the misconfiguration there, inject it, revert it, remediate it). Real providers read
//! and write this state through their APIs; the sandbox keeps it in memory and implements every fault from
//! these semantics alone. Snapshots are these states as JSON, kept in a canonical order so that two reads of
//! the same state compare equal.
//!
//! One module per cloud service; each lists its faults once with [`register_faults!`].

pub mod cloudtrail;
pub mod ec2;
pub mod gcs;
pub mod iam;
pub mod kms;
pub mod s3;

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What one fault means for the state it changes, the same for every provider that implements it.
pub trait FaultSemantics: Send + Sync + 'static {
    /// The catalogue id.
    const ID: &'static str;
    /// The misconfiguration, in a few words, as "the misconfiguration is already there: {PRESENT}".
    const PRESENT: &'static str;
    /// The name of the state this fault changes; faults that change the same state share it
    /// (`s3.bucket-acl`). The sandbox keeps one value per resource and aspect.
    const ASPECT: &'static str;
    type State: Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync;

    /// Whether the misconfiguration is in this state.
    fn is_present(state: &Self::State) -> bool;

    /// The state with the fault injected into `before` (whose misconfiguration is absent).
    fn inject(before: &Self::State) -> Self::State;

    /// The state a revert writes, from the state now and the snapshot: the snapshot itself, unless the fault's
    /// revert touches only what the fault changed (then other changes made meanwhile stay).
    fn revert(current: &Self::State, before: &Self::State) -> Self::State {
        let _ = current;
        before.clone()
    }

    /// The state a corrective control leaves: the misconfiguration removed, nothing else changed.
    fn remediate(current: &Self::State) -> Self::State;

    /// What injecting the fault into this state changes, for people (dry runs show it).
    fn describe(before: &Self::State) -> String;

    /// A secure, non-trivial state (several grants, statements, rules): the sandbox's starting point and the
    /// conformance suite's.
    fn example() -> Self::State;
}

/// A fault's semantics over JSON states, for code that picks faults by id at run time (the sandbox's
/// controls, the conformance suite).
pub trait DynFault: Send + Sync {
    fn id(&self) -> &'static str;
    fn aspect(&self) -> &'static str;
    fn is_present(&self, state: &Value) -> Result<bool, String>;
    fn inject(&self, state: &Value) -> Result<Value, String>;
    fn revert(&self, current: &Value, before: &Value) -> Result<Value, String>;
    fn remediate(&self, state: &Value) -> Result<Value, String>;
    fn example(&self) -> Value;
}

/// The [`DynFault`] of a [`FaultSemantics`].
pub struct Dyn<F>(pub PhantomData<F>);

fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|error| error.to_string())
}

fn json<T: Serialize>(state: &T) -> Result<Value, String> {
    serde_json::to_value(state).map_err(|error| error.to_string())
}

impl<F: FaultSemantics> DynFault for Dyn<F> {
    fn id(&self) -> &'static str {
        F::ID
    }

    fn aspect(&self) -> &'static str {
        F::ASPECT
    }

    fn is_present(&self, state: &Value) -> Result<bool, String> {
        Ok(F::is_present(&typed(state)?))
    }

    fn inject(&self, state: &Value) -> Result<Value, String> {
        json(&F::inject(&typed(state)?))
    }

    fn revert(&self, current: &Value, before: &Value) -> Result<Value, String> {
        json(&F::revert(&typed(current)?, &typed(before)?))
    }

    fn remediate(&self, state: &Value) -> Result<Value, String> {
        json(&F::remediate(&typed(state)?))
    }

    fn example(&self) -> Value {
        json(&F::example()).unwrap_or(Value::Null)
    }
}

/// Lists a service's faults once: their [`DynFault`]s (`FAULTS`) and their sandbox drivers.
macro_rules! register_faults {
    ($($fault:ty),* $(,)?) => {
        /// This service's faults.
        pub static FAULTS: &[&dyn $crate::model::DynFault] =
            &[$(&$crate::model::Dyn::<$fault>(std::marker::PhantomData)),*];

        pub(crate) fn sandbox_drivers()
            -> Vec<Box<dyn $crate::FaultDriver<std::sync::Arc<$crate::sandbox::SandboxAccount>>>> {
            vec![$(Box::new($crate::sandbox::SandboxDriver::<$fault>::new())),*]
        }
    };
}
pub(crate) use register_faults;

/// Every fault of every service.
pub fn all() -> impl Iterator<Item = &'static dyn DynFault> {
    [
        s3::FAULTS,
        iam::FAULTS,
        ec2::FAULTS,
        cloudtrail::FAULTS,
        kms::FAULTS,
        gcs::FAULTS,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The fault with this id.
pub fn find(id: &str) -> Option<&'static dyn DynFault> {
    all().find(|fault| fault.id() == id)
}

/// The sandbox drivers of every fault.
pub(crate) fn sandbox_drivers()
-> Vec<Box<dyn crate::FaultDriver<std::sync::Arc<crate::sandbox::SandboxAccount>>>> {
    [
        s3::sandbox_drivers(),
        iam::sandbox_drivers(),
        ec2::sandbox_drivers(),
        cloudtrail::sandbox_drivers(),
        kms::sandbox_drivers(),
        gcs::sandbox_drivers(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fault, from its example state: inject makes it present, revert and remediate take it away, and
    /// revert from an unchanged state restores the example exactly.
    #[test]
    fn every_fault_round_trips_from_its_example() {
        for fault in all() {
            let before = fault.example();
            assert!(
                !fault.is_present(&before).unwrap(),
                "{}: the example is secure",
                fault.id()
            );
            let faulty = fault.inject(&before).unwrap();
            assert!(
                fault.is_present(&faulty).unwrap(),
                "{}: injected",
                fault.id()
            );
            assert_ne!(faulty, before, "{}", fault.id());
            let reverted = fault.revert(&faulty, &before).unwrap();
            assert_eq!(
                reverted,
                before,
                "{}: revert restores the example",
                fault.id()
            );
            assert!(
                !fault
                    .is_present(&fault.remediate(&faulty).unwrap())
                    .unwrap(),
                "{}: remediated",
                fault.id()
            );
        }
    }

    #[test]
    fn ids_are_unique_and_in_the_catalogue() {
        let mut ids: Vec<_> = all().map(|fault| fault.id()).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "unique ids");
        for id in ids {
            assert!(
                rdfi_core::catalogue::find(id).is_some(),
                "{id} is in the catalogue"
            );
        }
        for model in rdfi_core::catalogue::all() {
            assert!(find(model.id).is_some(), "{} has semantics", model.id);
        }
    }
}
