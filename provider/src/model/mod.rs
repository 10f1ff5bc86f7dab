//! What faults mean, whatever the provider: the security-relevant state each fault changes and the pure
//! operations on it (is the misconfiguration there, inject it, revert it, remediate it). Real providers read
//! and write this state through their APIs; the sandbox keeps it in memory and implements every fault from
//! these semantics alone. Snapshots are these states as JSON, kept in a canonical order so that two reads of
//! the same state compare equal.
//!
//! One module per cloud service; each lists its faults once with [`register_faults!`].

pub mod account;
pub mod cloudtrail;
pub mod cloudwatch;
pub mod config;
pub mod ec2;
pub mod ec2_flow_logs;
pub mod ecr;
pub mod gcp_compute;
pub mod gcp_iam;
pub mod gcs;
pub mod guardduty;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod merge;
#[cfg(test)]
mod properties;
pub mod rds;
pub mod resource_policy;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;
pub mod switch;
pub mod watch;

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A state a fault changes: serializable (snapshots are its JSON), comparable, and kept in a canonical form so
/// that two reads of the same configuration compare equal.
pub trait FaultState: Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync {
    /// This state in canonical form: lists the cloud does not order sorted (and deduplicated where the cloud
    /// keeps a set). States whose serde form is already canonical (sets, maps, scalars) keep the default.
    fn canonical(self) -> Self {
        self
    }
}

/// How many rounds the generic revert takes at most to settle (undo, then remediate what is left of the fault,
/// until nothing changes); two suffice for every state rdfi knows.
const REVERT_ROUNDS: usize = 4;

/// What one fault means for the state it changes, the same for every provider that implements it.
pub trait FaultSemantics: Send + Sync + 'static {
    /// The catalogue id.
    const ID: &'static str;
    /// The misconfiguration, in a few words, as "the misconfiguration is already there: {PRESENT}".
    const PRESENT: &'static str;
    /// The name of the state this fault changes; faults that change the same state share it
    /// (`s3.bucket-acl`). The sandbox keeps one value per resource and aspect.
    const ASPECT: &'static str;
    type State: FaultState;

    /// Whether the misconfiguration is in this state.
    fn is_present(state: &Self::State) -> bool;

    /// Why the fault must not be injected into `before` (besides the misconfiguration being there already):
    /// `None` when it may. The executor's injection refuses it as a precondition, changing nothing.
    fn precondition(before: &Self::State) -> Option<String> {
        let _ = before;
        None
    }

    /// The state with the fault injected into `before` (whose misconfiguration is absent).
    fn inject(before: &Self::State) -> Self::State;

    /// The state a revert writes, from the state now and the snapshot: the fault's own change undone, every
    /// other change made since kept (a person's emergency fix survives).
    ///
    /// The default is the generic three-way undo over the JSON form ([`merge::undo`] of `inject(before)` →
    /// `before` onto `current`), then, if the misconfiguration is still there (someone widened the fault's
    /// change, or changed it so that it no longer reads as the fault's), [`FaultSemantics::remediate`] of that,
    /// repeated until it settles. Faults whose states need more than a structural undo (a member inside a
    /// binding, a key the cloud names) override it; an override must leave the misconfiguration absent and be
    /// idempotent, as the property tests check for every fault.
    fn revert(current: &Self::State, before: &Self::State) -> Self::State {
        let (Ok(injected), Ok(previous)) = (
            serde_json::to_value(Self::inject(before)),
            serde_json::to_value(before),
        ) else {
            return remediated::<Self>(current.clone());
        };
        let mut state = current.clone();
        for _ in 0..REVERT_ROUNDS {
            let Ok(now) = serde_json::to_value(&state) else {
                break;
            };
            let next =
                serde_json::from_value::<Self::State>(merge::undo(&now, &injected, &previous))
                    .map(FaultState::canonical)
                    .unwrap_or_else(|_| state.clone());
            let next = remediated::<Self>(next);
            if next == state {
                break;
            }
            state = next;
        }
        state
    }

    /// Whether the fault's revert is complete in `current`: the misconfiguration is gone and reverting again
    /// would change nothing.
    fn is_reverted(current: &Self::State, before: &Self::State) -> bool {
        !Self::is_present(current) && Self::revert(current, before) == *current
    }

    /// The state a corrective control leaves: the misconfiguration removed, nothing else changed.
    fn remediate(current: &Self::State) -> Self::State;

    /// How much of the misconfiguration `state` holds: 0 when none, else the changes its remediation would
    /// make ([`merge::difference`], at least 1). A corrective control that removes part of it (one of two
    /// public grants) lowers it without reaching 0: a partial restore.
    fn misconfiguration(state: &Self::State) -> usize {
        if !Self::is_present(state) {
            return 0;
        }
        match (
            serde_json::to_value(state),
            serde_json::to_value(Self::remediate(state).canonical()),
        ) {
            (Ok(now), Ok(remediated)) => merge::difference(&now, &remediated).max(1),
            _ => 1,
        }
    }

    /// What injecting the fault into this state changes, for people (dry runs show it).
    fn describe(before: &Self::State) -> String;

    /// A secure, non-trivial state (several grants, statements, rules): the sandbox's starting point and the
    /// conformance suite's.
    fn example() -> Self::State;
}

/// `state` without the fault's misconfiguration: itself if it has none, its remediation otherwise.
fn remediated<F: FaultSemantics + ?Sized>(state: F::State) -> F::State {
    if F::is_present(&state) {
        F::remediate(&state).canonical()
    } else {
        state
    }
}

/// A fault's semantics over JSON states, for code that picks faults by id at run time (the sandbox's
/// controls, the conformance suite).
pub trait DynFault: Send + Sync {
    fn id(&self) -> &'static str;
    fn aspect(&self) -> &'static str;
    fn is_present(&self, state: &Value) -> Result<bool, String>;
    fn precondition(&self, before: &Value) -> Result<Option<String>, String>;
    fn inject(&self, state: &Value) -> Result<Value, String>;
    fn revert(&self, current: &Value, before: &Value) -> Result<Value, String>;
    fn is_reverted(&self, current: &Value, before: &Value) -> Result<bool, String>;
    fn remediate(&self, state: &Value) -> Result<Value, String>;
    fn misconfiguration(&self, state: &Value) -> Result<usize, String>;
    /// A JSON state as the typed state reads it, in canonical form (fields it does not hold dropped).
    fn canonical(&self, state: &Value) -> Result<Value, String>;
    fn example(&self) -> Value;
}

/// The [`DynFault`] of a [`FaultSemantics`].
pub struct Dyn<F>(pub PhantomData<F>);

fn typed<T: FaultState>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone())
        .map(FaultState::canonical)
        .map_err(|error| error.to_string())
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

    fn precondition(&self, before: &Value) -> Result<Option<String>, String> {
        Ok(F::precondition(&typed(before)?))
    }

    fn inject(&self, state: &Value) -> Result<Value, String> {
        json(&F::inject(&typed(state)?))
    }

    fn revert(&self, current: &Value, before: &Value) -> Result<Value, String> {
        json(&F::revert(&typed(current)?, &typed(before)?))
    }

    fn is_reverted(&self, current: &Value, before: &Value) -> Result<bool, String> {
        Ok(F::is_reverted(&typed(current)?, &typed(before)?))
    }

    fn canonical(&self, state: &Value) -> Result<Value, String> {
        json(&typed::<F::State>(state)?)
    }

    fn remediate(&self, state: &Value) -> Result<Value, String> {
        json(&F::remediate(&typed(state)?))
    }

    fn misconfiguration(&self, state: &Value) -> Result<usize, String> {
        Ok(F::misconfiguration(&typed(state)?))
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
        account::FAULTS,
        gcs::FAULTS,
        gcp_iam::FAULTS,
        gcp_compute::FAULTS,
        sqs::FAULTS,
        sns::FAULTS,
        secretsmanager::FAULTS,
        ecr::FAULTS,
        cloudwatch::FAULTS,
        logs::FAULTS,
        guardduty::FAULTS,
        config::FAULTS,
        lambda::FAULTS,
        rds::FAULTS,
        ec2_flow_logs::FAULTS,
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
        account::sandbox_drivers(),
        gcs::sandbox_drivers(),
        gcp_iam::sandbox_drivers(),
        gcp_compute::sandbox_drivers(),
        sqs::sandbox_drivers(),
        sns::sandbox_drivers(),
        secretsmanager::sandbox_drivers(),
        ecr::sandbox_drivers(),
        cloudwatch::sandbox_drivers(),
        logs::sandbox_drivers(),
        guardduty::sandbox_drivers(),
        config::sandbox_drivers(),
        lambda::sandbox_drivers(),
        rds::sandbox_drivers(),
        ec2_flow_logs::sandbox_drivers(),
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
            assert_eq!(
                fault.misconfiguration(&before).unwrap(),
                0,
                "{}",
                fault.id()
            );
            assert!(
                fault.misconfiguration(&faulty).unwrap() >= 1,
                "{}",
                fault.id()
            );
            assert_eq!(
                fault
                    .misconfiguration(&fault.remediate(&faulty).unwrap())
                    .unwrap(),
                0,
                "{}",
                fault.id()
            );
        }
    }

    /// Removing the public WRITE grant of a public-read-write ACL and leaving READ is a partial restore.
    #[test]
    fn half_a_remediation_leaves_part_of_the_misconfiguration() {
        use s3::{BucketAcl, BucketPublicReadWriteAcl};
        let injected = BucketPublicReadWriteAcl::inject(&BucketAcl::example());
        let whole = BucketPublicReadWriteAcl::misconfiguration(&injected);
        assert!(whole >= 2, "{whole}");
        let mut partly = injected.clone();
        let public_write = partly
            .grants
            .iter()
            .position(|grant| {
                grant.permission == "WRITE"
                    && grant.grantee.uri.as_deref() == Some(s3::ALL_USERS_URI)
            })
            .expect("the public WRITE grant");
        partly.grants.remove(public_write);
        let left = BucketPublicReadWriteAcl::misconfiguration(&partly);
        assert!((1..whole).contains(&left), "{left} of {whole}");
    }

    /// A person's emergency fix made while the fault was on survives its revert.
    #[test]
    fn the_generic_revert_keeps_changes_made_meanwhile() {
        use s3::{BucketAcl, BucketPublicAcl, BucketVersioningSuspended, Grant};
        let before = BucketAcl::example();
        let mut current = BucketPublicAcl::inject(&before);
        current
            .grants
            .push(Grant::canonical_user("partner-2", "READ"));
        let current = current.canonical();
        let reverted = BucketPublicAcl::revert(&current, &before);
        assert!(!BucketPublicAcl::is_present(&reverted));
        assert!(
            reverted
                .grants
                .contains(&Grant::canonical_user("partner-2", "READ"))
        );
        assert_eq!(reverted.grants.len(), before.grants.len() + 1);
        assert!(BucketPublicAcl::is_reverted(&reverted, &before));

        let before = BucketVersioningSuspended::example();
        let mut current = BucketVersioningSuspended::inject(&before);
        current.mfa_delete = Some("Enabled".to_owned());
        let reverted = BucketVersioningSuspended::revert(&current, &before);
        assert_eq!(reverted.status.as_deref(), Some("Enabled"));
        assert_eq!(reverted.mfa_delete.as_deref(), Some("Enabled"));
    }

    /// When someone changed what the fault wrote so that a plain undo cannot apply, the misconfiguration is
    /// still removed (remediated), and the result is stable.
    #[test]
    fn a_revert_that_cannot_undo_remediates_and_settles() {
        use s3::{BucketPolicy, BucketTlsOnlyStatementRemoved};
        let before = BucketTlsOnlyStatementRemoved::example();
        // Someone deleted the whole policy while the TLS statement was gone.
        let deleted = BucketPolicy {
            document: None,
            ..BucketTlsOnlyStatementRemoved::inject(&before)
        };
        let reverted = BucketTlsOnlyStatementRemoved::revert(&deleted, &before);
        assert!(!BucketTlsOnlyStatementRemoved::is_present(&reverted));
        assert!(BucketTlsOnlyStatementRemoved::is_reverted(
            &reverted, &before
        ));
        assert_eq!(
            BucketTlsOnlyStatementRemoved::revert(&reverted, &before),
            reverted
        );
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
