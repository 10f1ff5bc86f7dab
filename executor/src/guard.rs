//! The blast radius: which planned faults the executor refuses, and why. Pure; the executor reads the
//! resource's tags fresh and passes what it holds active.

use std::collections::HashMap;
use std::time::Duration;

use rdfi_core::targeting;
use rdfi_proto::v1::ResourceRef;

/// The limits every planned fault is checked against.
#[derive(Clone, Debug)]
pub struct BlastRadius {
    /// The tag (label) that opts a resource in.
    pub opt_in_tag: String,
    /// Resources never touched: patterns on the id (ARN) or the name, `*` matching any run of characters.
    pub protected: Vec<String>,
    /// Faults active at once, overall.
    pub max_active: usize,
    /// Faults active at once in one run (experiment or campaign).
    pub max_active_per_run: usize,
    /// The longest a fault may stay injected.
    pub max_exposure: Duration,
}

impl Default for BlastRadius {
    fn default() -> Self {
        BlastRadius {
            opt_in_tag: rdfi_core::DEFAULT_OPT_IN_TAG.to_owned(),
            protected: Vec::new(),
            max_active: 100,
            max_active_per_run: 25,
            max_exposure: Duration::from_secs(60 * 60),
        }
    }
}

/// The open faults a candidate would join, as the shared journal counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Occupancy {
    /// Open faults, overall.
    pub open: usize,
    /// Open faults of the candidate's run.
    pub open_in_run: usize,
    /// Whether an open fault holds the candidate's resource.
    pub resource_taken: bool,
}

impl Occupancy {
    /// These open faults and `more` besides.
    pub fn plus(self, more: Occupancy) -> Occupancy {
        Occupancy {
            open: self.open + more.open,
            open_in_run: self.open_in_run + more.open_in_run,
            resource_taken: self.resource_taken || more.resource_taken,
        }
    }

    /// These open faults without the counts of `fewer` (whose resources stay taken).
    pub fn less(self, fewer: Occupancy) -> Occupancy {
        Occupancy {
            open: self.open.saturating_sub(fewer.open),
            open_in_run: self.open_in_run.saturating_sub(fewer.open_in_run),
            resource_taken: self.resource_taken,
        }
    }
}

/// Planned faults an executor admitted and is still taking (snapshot, claim, injection). Faults are admitted
/// one after another and then taken several at once; each counts against the caps from its admission. The
/// journal's count leaves them out (whether their claim is written yet or not), so each is counted exactly
/// once: here.
#[derive(Debug, Default)]
pub struct InFlight {
    /// Fault instance id -> (run id, resource id).
    faults: HashMap<String, (String, String)>,
}

impl InFlight {
    /// The admitted faults a fault of `run_id` on `resource_id` would join.
    pub fn occupancy(&self, run_id: &str, resource_id: &str) -> Occupancy {
        let mut occupancy = Occupancy::default();
        for (run, resource) in self.faults.values() {
            occupancy.open += 1;
            occupancy.open_in_run += usize::from(run == run_id);
            occupancy.resource_taken |= resource == resource_id;
        }
        occupancy
    }

    /// The admitted faults' ids: what the journal's count leaves out.
    pub fn ids(&self) -> Vec<String> {
        self.faults.keys().cloned().collect()
    }

    /// A fault is admitted.
    pub fn admit(&mut self, fault_instance_id: &str, run_id: &str, resource_id: &str) {
        self.faults.insert(
            fault_instance_id.to_owned(),
            (run_id.to_owned(), resource_id.to_owned()),
        );
    }

    /// An admitted fault is taken (injected and held, or closed): the journal counts it from now on.
    pub fn release(&mut self, fault_instance_id: &str) {
        self.faults.remove(fault_instance_id);
    }
}

/// What the guard looks at for one planned fault.
pub struct Candidate<'a> {
    pub run_id: &'a str,
    pub resource: &'a ResourceRef,
    /// The resource's tags as read just now.
    pub tags: &'a HashMap<String, String>,
    pub exposure: Duration,
    /// The identities the executor acts as.
    pub own_identity: &'a [String],
}

/// `*` matches any run of characters; everything else matches itself.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .filter(|&skip| text.is_char_boundary(head.len() + skip))
                    .any(|skip| pattern_matches(tail, &text[head.len() + skip..]))
        }
    }
}

impl BlastRadius {
    /// Why the candidate may not be injected, or `None` when it may.
    pub fn refusal(&self, candidate: &Candidate<'_>, occupancy: Occupancy) -> Option<String> {
        let resource = candidate.resource;
        if candidate
            .own_identity
            .iter()
            .any(|identity| identity == &resource.id)
        {
            return Some("the resource is the identity rdfi acts as".to_owned());
        }
        if let Some(pattern) = self.protected.iter().find(|pattern| {
            pattern_matches(pattern, &resource.id) || pattern_matches(pattern, &resource.name)
        }) {
            return Some(format!(
                "the resource is protected by the pattern {pattern:?}"
            ));
        }
        if let Some(reason) = targeting::refusal(candidate.tags, &self.opt_in_tag, &HashMap::new())
        {
            return Some(reason);
        }
        if candidate.exposure > self.max_exposure {
            return Some(format!(
                "its exposure window ({}) is longer than the executor allows (--max-exposure {})",
                humantime::format_duration(candidate.exposure),
                humantime::format_duration(self.max_exposure)
            ));
        }
        if occupancy.resource_taken {
            return Some("the resource already has an open fault".to_owned());
        }
        if occupancy.open >= self.max_active {
            return Some(format!(
                "{} faults are active, the most allowed at once (--max-active-faults)",
                occupancy.open
            ));
        }
        let in_run = occupancy.open_in_run;
        if in_run >= self.max_active_per_run {
            return Some(format!(
                "{in_run} faults of this run are active, the most allowed (--max-active-per-run)"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Faults admitted one after another, each judged on the journal's open faults (leaving out the admitted
        /// ones) plus the admitted ones, then claimed, taken, dropped and closed in any order: the faults never
        /// exceed a cap nor share a resource, and a fault is refused for a cap only when the cap is reached.
        #[test]
        fn admitted_faults_are_counted_once_against_the_caps(
            steps in proptest::collection::vec((0..5usize, 0..4usize, 0..2usize), 1..80),
        ) {
            let limits = BlastRadius { max_active: 5, max_active_per_run: 3, ..BlastRadius::default() };
            let mut in_flight = InFlight::default();
            // id -> (run, resource), as the journal holds open records and as the executor admitted them.
            let mut journal: Vec<(String, String, String)> = Vec::new();
            let mut admitted: Vec<String> = Vec::new();
            let tags = HashMap::from([("rdfi-target".to_owned(), "true".to_owned())]);
            for (index, (action, resource, run)) in steps.into_iter().enumerate() {
                let (run, resource) = (format!("run{run}"), format!("r{resource}"));
                let ids = in_flight.ids();
                fn claimed(journal: &[(String, String, String)], id: &str) -> bool {
                    journal.iter().any(|(other, _, _)| other == id)
                }
                match action {
                    0 => {
                        let counted: Vec<&(String, String, String)> =
                            journal.iter().filter(|(id, _, _)| !ids.contains(id)).collect();
                        let open = Occupancy {
                            open: counted.len(),
                            open_in_run: counted.iter().filter(|(_, r, _)| *r == run).count(),
                            resource_taken: journal.iter().any(|(_, _, id)| *id == resource),
                        };
                        let occupancy = open.plus(in_flight.occupancy(&run, &resource));
                        let candidate = ResourceRef { id: resource.clone(), ..Default::default() };
                        // Every fault, once: in the journal or admitted (or both, claimed and not yet taken).
                        let mut all: Vec<(String, String, String)> = journal.clone();
                        for id in &admitted {
                            if !claimed(&journal, id) {
                                let (r, res) = in_flight.faults[id].clone();
                                all.push((id.clone(), r, res));
                            }
                        }
                        prop_assert_eq!(occupancy.open, all.len());
                        prop_assert_eq!(occupancy.open_in_run, all.iter().filter(|(_, r, _)| *r == run).count());
                        prop_assert_eq!(occupancy.resource_taken, all.iter().any(|(_, _, id)| *id == resource));
                        if check(&limits, &candidate, &tags, occupancy).is_none() {
                            let id = format!("f{index}");
                            in_flight.admit(&id, &run, &resource);
                            admitted.push(id);
                        }
                    }
                    1 => {
                        // The oldest admitted fault not yet claimed writes its claim.
                        if let Some(id) = admitted.iter().find(|id| !claimed(&journal, id)).cloned() {
                            let (r, res) = in_flight.faults[&id].clone();
                            journal.push((id, r, res));
                        }
                    }
                    2 => {
                        // The oldest claimed admitted fault is taken: it leaves the admitted.
                        if let Some(at) = admitted.iter().position(|id| claimed(&journal, id)) {
                            in_flight.release(&admitted.remove(at));
                        }
                    }
                    3 => {
                        // An admitted fault whose claim never comes (a failed snapshot) is dropped.
                        if let Some(at) = admitted.iter().position(|id| !claimed(&journal, id)) {
                            in_flight.release(&admitted.remove(at));
                        }
                    }
                    _ => {
                        // A taken fault is closed.
                        if let Some(at) = journal.iter().position(|(id, _, _)| !admitted.contains(id)) {
                            journal.remove(at);
                        }
                    }
                }
                let mut all: Vec<(String, String)> =
                    journal.iter().map(|(_, r, res)| (r.clone(), res.clone())).collect();
                for id in admitted.iter().filter(|id| !claimed(&journal, id)) {
                    all.push(in_flight.faults[id].clone());
                }
                prop_assert!(all.len() <= limits.max_active);
                for run in ["run0", "run1"] {
                    prop_assert!(all.iter().filter(|(r, _)| r == run).count() <= limits.max_active_per_run);
                }
                let mut resources: Vec<&String> = all.iter().map(|(_, id)| id).collect();
                resources.sort();
                let before = resources.len();
                resources.dedup();
                prop_assert_eq!(before, resources.len(), "two faults on one resource");
            }
        }
    }

    fn bucket(name: &str) -> ResourceRef {
        ResourceRef {
            id: format!("arn:aws:s3:::{name}"),
            name: name.to_owned(),
            ..Default::default()
        }
    }

    fn opted_in() -> HashMap<String, String> {
        HashMap::from([("rdfi-target".to_owned(), "true".to_owned())])
    }

    fn check(
        limits: &BlastRadius,
        resource: &ResourceRef,
        tags: &HashMap<String, String>,
        occupancy: Occupancy,
    ) -> Option<String> {
        limits.refusal(
            &Candidate {
                run_id: "run",
                resource,
                tags,
                exposure: Duration::from_secs(60),
                own_identity: &["arn:aws:iam::1:user/rdfi".to_owned()],
            },
            occupancy,
        )
    }

    #[test]
    fn patterns_match_like_globs() {
        assert!(pattern_matches("prod-*", "prod-db"));
        assert!(pattern_matches("*-logs", "audit-logs"));
        assert!(pattern_matches(
            "arn:aws:s3:::*secret*",
            "arn:aws:s3:::my-secret-bucket"
        ));
        assert!(pattern_matches("exact", "exact"));
        assert!(!pattern_matches("prod-*", "staging-db"));
        assert!(!pattern_matches("*-logs", "audit-logs-2"));
    }

    #[test]
    fn an_opted_in_resource_within_limits_passes() {
        assert_eq!(
            check(
                &BlastRadius::default(),
                &bucket("b"),
                &opted_in(),
                Occupancy::default()
            ),
            None
        );
    }

    #[test]
    fn protection_identity_and_opt_in_are_refused() {
        let limits = BlastRadius {
            protected: vec!["prod-*".to_owned()],
            ..Default::default()
        };
        assert!(
            check(
                &limits,
                &bucket("prod-data"),
                &opted_in(),
                Occupancy::default()
            )
            .unwrap()
            .contains("protected")
        );
        assert!(
            check(&limits, &bucket("b"), &HashMap::new(), Occupancy::default())
                .unwrap()
                .contains("not opted in")
        );
        let myself = ResourceRef {
            id: "arn:aws:iam::1:user/rdfi".to_owned(),
            name: "rdfi".to_owned(),
            ..Default::default()
        };
        assert!(
            check(&limits, &myself, &opted_in(), Occupancy::default())
                .unwrap()
                .contains("identity")
        );
        let mut tagged = opted_in();
        tagged.insert("rdfi-protected".to_owned(), "true".to_owned());
        assert!(
            check(&limits, &bucket("b"), &tagged, Occupancy::default())
                .unwrap()
                .contains("protected")
        );
    }

    #[test]
    fn caps_hold() {
        let limits = BlastRadius {
            max_active: 2,
            max_active_per_run: 1,
            max_exposure: Duration::from_secs(30),
            ..Default::default()
        };
        let other_run = Occupancy {
            open: 1,
            open_in_run: 0,
            resource_taken: false,
        };
        let same_run = Occupancy {
            open: 1,
            open_in_run: 1,
            resource_taken: false,
        };
        let full = Occupancy {
            open: 2,
            open_in_run: 0,
            resource_taken: false,
        };
        let same_resource = Occupancy {
            open: 1,
            open_in_run: 0,
            resource_taken: true,
        };
        let relaxed = BlastRadius {
            max_exposure: Duration::from_secs(120),
            ..limits.clone()
        };
        assert!(
            check(&limits, &bucket("b"), &opted_in(), Occupancy::default())
                .unwrap()
                .contains("exposure")
        );
        assert_eq!(check(&relaxed, &bucket("b"), &opted_in(), other_run), None);
        let exactly_the_most = BlastRadius {
            max_exposure: Duration::from_secs(60),
            ..relaxed.clone()
        };
        assert_eq!(
            check(&exactly_the_most, &bucket("b"), &opted_in(), other_run),
            None,
            "an exposure of exactly --max-exposure is allowed"
        );
        assert!(
            check(&relaxed, &bucket("b"), &opted_in(), same_run)
                .unwrap()
                .contains("this run")
        );
        assert!(
            check(&relaxed, &bucket("b"), &opted_in(), full)
                .unwrap()
                .contains("most allowed at once")
        );
        assert!(
            check(&relaxed, &bucket("b"), &opted_in(), same_resource)
                .unwrap()
                .contains("already")
        );
    }
}
