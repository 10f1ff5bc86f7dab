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
}

/// Planned faults an executor admitted whose claim is not written yet. Faults are admitted one after another
/// and then taken several at once; each counts against the caps from its admission, here until its claim is in
/// the journal and there after, so that faults taken at once never exceed a cap. Read before the journal's
/// occupancy (a fault released from here is already in the journal), a fault is counted at least once.
#[derive(Debug, Default)]
pub struct InFlight {
    open: usize,
    in_run: HashMap<String, usize>,
    resources: HashMap<String, usize>,
}

impl InFlight {
    /// The admitted faults a fault of `run_id` on `resource_id` would join.
    pub fn occupancy(&self, run_id: &str, resource_id: &str) -> Occupancy {
        Occupancy {
            open: self.open,
            open_in_run: self.in_run.get(run_id).copied().unwrap_or(0),
            resource_taken: self.resources.contains_key(resource_id),
        }
    }

    /// A fault of `run_id` on `resource_id` is admitted.
    pub fn admit(&mut self, run_id: &str, resource_id: &str) {
        self.open += 1;
        *self.in_run.entry(run_id.to_owned()).or_default() += 1;
        *self.resources.entry(resource_id.to_owned()).or_default() += 1;
    }

    /// An admitted fault of `run_id` on `resource_id` is claimed in the journal, or will never be.
    pub fn release(&mut self, run_id: &str, resource_id: &str) {
        fn decrement(counts: &mut HashMap<String, usize>, key: &str) {
            if let Some(count) = counts.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(key);
                }
            }
        }
        self.open = self.open.saturating_sub(1);
        decrement(&mut self.in_run, run_id);
        decrement(&mut self.resources, resource_id);
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
        /// Faults admitted one after another, each against the journal's open faults plus the admitted ones,
        /// then claimed or dropped in any order: the open and admitted faults together never exceed a cap,
        /// nor two share a resource.
        #[test]
        fn admitted_faults_never_exceed_the_caps(
            steps in proptest::collection::vec((0..3usize, 0..4usize, 0..2usize), 1..80),
        ) {
            let limits = BlastRadius { max_active: 5, max_active_per_run: 3, ..BlastRadius::default() };
            let mut in_flight = InFlight::default();
            // The journal: open faults as (run, resource).
            let mut journal: Vec<(String, String)> = Vec::new();
            let mut admitted: Vec<(String, String)> = Vec::new();
            let tags = HashMap::from([("rdfi-target".to_owned(), "true".to_owned())]);
            for (action, resource, run) in steps {
                let (run, resource) = (format!("run{run}"), format!("r{resource}"));
                match action {
                    0 => {
                        let reserved = in_flight.occupancy(&run, &resource);
                        let open = Occupancy {
                            open: journal.len(),
                            open_in_run: journal.iter().filter(|(r, _)| *r == run).count(),
                            resource_taken: journal.iter().any(|(_, id)| *id == resource),
                        };
                        let candidate = ResourceRef { id: resource.clone(), ..Default::default() };
                        let refused = check(&limits, &candidate, &tags, open.plus(reserved));
                        if refused.is_none() {
                            in_flight.admit(&run, &resource);
                            admitted.push((run, resource));
                        }
                    }
                    1 if !admitted.is_empty() => {
                        // The oldest admitted fault is claimed: the journal holds it, then it leaves in_flight.
                        let fault = admitted.remove(0);
                        journal.push(fault.clone());
                        in_flight.release(&fault.0, &fault.1);
                    }
                    2 if !admitted.is_empty() => {
                        let fault = admitted.pop().unwrap();
                        in_flight.release(&fault.0, &fault.1);
                    }
                    _ if !journal.is_empty() => {
                        journal.remove(0);
                    }
                    _ => {}
                }
                let all: Vec<&(String, String)> = journal.iter().chain(&admitted).collect();
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
            for (run, resource) in admitted {
                in_flight.release(&run, &resource);
            }
            prop_assert_eq!(in_flight.occupancy("run0", "r0"), Occupancy::default());
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
