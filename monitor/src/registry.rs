//! Which faults are active, as every monitor replica knows it: each replica hears every fault's injection and
//! revert (an ephemeral consumer of its own, after replaying the stream at start), so that a signal reaching
//! any replica is correlated to every active fault; the polling of each faulted resource is shared work (the
//! durable consumer `monitor`). Pure: the worker keeps one [`Registry`] and carries out what it answers.

use std::collections::{HashMap, VecDeque};

use rdfi_proto::v1::{FaultInjected, ResourceRef};

/// How long after its revert deadline a fault nobody heard reverted is forgotten (its poller stopped): the
/// executor reverts at the deadline, or retries, or says the revert failed.
pub const GRACE_MS: i64 = 5 * 60 * 1000;
/// How many reverted faults are remembered, so that an injection heard late (the replay racing the live
/// consumer) does not bring one back.
pub const CLOSED_KEPT: usize = 100_000;

/// An active fault, and this replica's poller of it (`P`), if it polls it.
#[derive(Clone, Debug, PartialEq)]
pub struct Active<P> {
    pub run_id: String,
    pub resource: ResourceRef,
    /// The injection as the executor told it (its resource in `resource`).
    pub injected: FaultInjected,
    pub injected_at_ms: i64,
    /// Its revert deadline.
    pub revert_due_ms: i64,
    pub poller: Option<P>,
}

/// The active faults; `P` is a poller's handle (its stop token).
#[derive(Debug)]
pub struct Registry<P> {
    active: HashMap<String, Active<P>>,
    closed: VecDeque<String>,
    closed_ids: std::collections::HashSet<String>,
}

impl<P> Default for Registry<P> {
    fn default() -> Self {
        Registry {
            active: HashMap::new(),
            closed: VecDeque::new(),
            closed_ids: std::collections::HashSet::new(),
        }
    }
}

impl<P> Registry<P> {
    /// An injection heard: tracked unless known already or reverted. Returns whether it is new here.
    pub fn injected(&mut self, id: &str, fault: Active<P>) -> bool {
        if self.closed_ids.contains(id) || self.active.contains_key(id) {
            return false;
        }
        self.active.insert(id.to_owned(), fault);
        true
    }

    /// Whether this replica should start polling `id`: it is active and nobody here polls it yet. When so,
    /// `poller` is kept as its handle and the fault is returned; otherwise the poller is handed back.
    pub fn start_polling(&mut self, id: &str, poller: P) -> Result<&Active<P>, P> {
        match self.active.get_mut(id) {
            Some(fault) if fault.poller.is_none() => {
                fault.poller = Some(poller);
                Ok(fault)
            }
            _ => Err(poller),
        }
    }

    /// A revert (or a failed revert) heard: the fault is forgotten and never tracked again; its poller here,
    /// if any, is to be stopped.
    pub fn closed(&mut self, id: &str) -> Option<P> {
        if self.closed_ids.insert(id.to_owned()) {
            self.closed.push_back(id.to_owned());
            while self.closed.len() > CLOSED_KEPT {
                if let Some(oldest) = self.closed.pop_front() {
                    self.closed_ids.remove(&oldest);
                }
            }
        }
        self.active.remove(id).and_then(|fault| fault.poller)
    }

    /// Forgets the faults whose revert deadline passed more than [`GRACE_MS`] before `now_ms` without a revert
    /// heard; returns their pollers, to be stopped.
    pub fn expire(&mut self, now_ms: i64) -> Vec<P> {
        let expired: Vec<String> = self
            .active
            .iter()
            .filter(|(_, fault)| fault.revert_due_ms.saturating_add(GRACE_MS) < now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        expired
            .iter()
            .filter_map(|id| self.active.remove(id).and_then(|fault| fault.poller))
            .collect()
    }

    /// Forgets every fault; returns the pollers, to be stopped.
    pub fn drain(&mut self) -> Vec<P> {
        self.active
            .drain()
            .filter_map(|(_, fault)| fault.poller)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Active<P>)> {
        self.active.iter()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.active.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fault(due_ms: i64) -> Active<u32> {
        Active {
            run_id: "r".into(),
            resource: ResourceRef::default(),
            injected: FaultInjected::default(),
            injected_at_ms: 0,
            revert_due_ms: due_ms,
            poller: None,
        }
    }

    #[test]
    fn one_poller_per_fault_and_a_revert_stops_it_for_good() {
        let mut registry = Registry::default();
        assert!(registry.injected("f", fault(1_000)));
        assert!(!registry.injected("f", fault(1_000)), "heard twice");
        assert_eq!(
            registry
                .start_polling("f", 1)
                .map(|fault| fault.revert_due_ms),
            Ok(1_000)
        );
        assert_eq!(registry.start_polling("f", 2), Err(2), "polled already");
        assert_eq!(registry.start_polling("g", 3), Err(3), "not active");
        assert_eq!(registry.closed("f"), Some(1));
        assert!(
            !registry.injected("f", fault(1_000)),
            "a late injection stays closed"
        );
        assert!(!registry.contains("f"));
    }

    #[test]
    fn a_fault_never_heard_reverted_is_forgotten_after_its_deadline_and_the_grace() {
        let mut registry = Registry::default();
        registry.injected("f", fault(1_000));
        registry.injected("g", fault(10_000_000));
        assert!(registry.start_polling("f", 7).is_ok());
        assert!(registry.expire(1_000 + GRACE_MS).is_empty());
        assert_eq!(registry.expire(1_001 + GRACE_MS), [7]);
        assert!(!registry.contains("f") && registry.contains("g"));
    }

    proptest! {
        /// However the live consumer and the replay interleave the injections and reverts of some faults, a
        /// fault is active exactly when it was injected and not reverted, at most one poller runs for it,
        /// and every poller started is handed back once it is reverted.
        #[test]
        fn the_registry_follows_any_interleaving(
            steps in proptest::collection::vec((0u8..4, 0u8..3), 0..60),
        ) {
            let mut registry = Registry::default();
            let mut reverted = std::collections::HashSet::new();
            let mut injected = std::collections::HashSet::new();
            let mut running = std::collections::HashSet::new();
            let mut next_poller = 0u32;
            for (fault_number, action) in steps {
                let id = format!("f{fault_number}");
                match action {
                    0 => {
                        registry.injected(&id, fault(i64::MAX / 2));
                        injected.insert(id.clone());
                    }
                    1 => {
                        next_poller += 1;
                        if registry.start_polling(&id, next_poller).is_ok() {
                            prop_assert!(running.insert(id.clone()), "a second poller for {}", id);
                        }
                    }
                    _ => {
                        let stopped = registry.closed(&id);
                        prop_assert_eq!(stopped.is_some(), running.remove(&id));
                        reverted.insert(id.clone());
                    }
                }
                for number in 0..4 {
                    let id = format!("f{number}");
                    prop_assert_eq!(
                        registry.contains(&id),
                        injected.contains(&id) && !reverted.contains(&id)
                    );
                }
            }
        }
    }
}
