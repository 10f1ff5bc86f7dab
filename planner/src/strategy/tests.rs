use super::Strategy;
use super::*;
use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use rdfi_core::catalogue;

const FAULT: &str = "aws.s3.bucket-public-acl";

fn bucket(id: &str, criticality: &str, exposure: &str) -> ResourceRef {
    ResourceRef {
        provider: "sandbox".into(),
        resource_type: "aws.s3.bucket".into(),
        id: id.into(),
        name: id.into(),
        tags: [("rdfi-criticality".to_owned(), criticality.to_owned())].into(),
        exposure: exposure.into(),
        ..Default::default()
    }
}

fn bucket_faults() -> Vec<&'static FaultModel> {
    catalogue::all()
        .filter(|f| f.resource_type == "aws.s3.bucket")
        .collect()
}

fn candidates<'a>(
    faults: &[&'static FaultModel],
    resources: &'a [ResourceRef],
) -> Vec<Candidate<'a>> {
    faults
        .iter()
        .flat_map(|fault| {
            resources
                .iter()
                .map(move |resource| Candidate { fault, resource })
        })
        .collect()
}

fn request(strategy: Strategy, picks: usize, busy: &HashSet<String>) -> Request<'_> {
    Request {
        strategy,
        seed: 7,
        picks,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        cool_down: Duration::from_secs(3600),
        busy,
    }
}

fn trial(verdict: Verdict, caught: u32, missed: u32, at: SystemTime) -> PairRecord {
    PairRecord {
        caught,
        missed,
        last: Some(LastTrial {
            run_id: "r1".into(),
            verdict,
            at,
            controls: vec![],
        }),
    }
}

const PUBLIC_ACL: &str = "aws.s3.bucket-public-acl";

#[test]
fn a_missed_pair_ranks_above_a_caught_one_and_above_itself_untested() {
    let resources = [bucket("a", "medium", ""), bucket("b", "medium", "")];
    let fault = catalogue::find(PUBLIC_ACL).unwrap();
    let candidates = candidates(&[fault], &resources);
    let busy = HashSet::new();
    let request = request(Strategy::RiskRanked, 2, &busy);
    let before = pick(&candidates, &Beliefs::default(), &request);
    let long_ago = SystemTime::UNIX_EPOCH;
    let mut beliefs = Beliefs::default();
    beliefs.control(PUBLIC_ACL, "detector", 1, 1);
    beliefs.pair(PUBLIC_ACL, "a", trial(Verdict::Detected, 1, 0, long_ago));
    beliefs.pair(PUBLIC_ACL, "b", trial(Verdict::Missed, 0, 1, long_ago));
    let after = pick(&candidates, &beliefs, &request);
    assert_eq!(
        after.picks[0].candidate.resource.id, "b",
        "{:#?}",
        after.picks
    );
    let score_of = |picks: &Picks, id: &str| {
        picks
            .picks
            .iter()
            .find(|p| p.candidate.resource.id == id)
            .unwrap()
            .score
    };
    assert!(score_of(&after, "b") > score_of(&before, "b"));
    assert!(score_of(&after, "a") < score_of(&before, "a"));
    let inputs = &after.picks[0].inputs;
    assert_eq!((inputs.miss.caught_here, inputs.miss.missed_here), (0, 1));
    assert_eq!(inputs.miss.controls, vec![("detector".to_owned(), 0.5, 2)]);
    assert!(
        after.picks[0].reason.contains("1 missed"),
        "{}",
        after.picks[0].reason
    );
    assert_eq!(
        after.picks[0].previous.as_ref().unwrap().verdict,
        Verdict::Missed
    );
}

#[test]
fn a_stand_in_beside_a_named_control_does_not_lower_the_kind_miss() {
    // The sandbox after one run: the detector caught one bucket, nobody answered on the other.
    let mut beliefs = Beliefs::default();
    beliefs.control(FAULT, "s3-public-acl-detector", 1, 0);
    beliefs.control(FAULT, "any detective control", 0, 1);
    let missed = miss_belief(FAULT, "missed", &beliefs);
    assert!((missed.kind_miss - 1.0 / 3.0).abs() < 1e-9, "{missed:?}");
    // Missed twice here, caught twice on the watched bucket: above itself untested.
    let mut twice = Beliefs::default();
    twice.control(FAULT, "s3-public-acl-detector", 2, 0);
    twice.control(FAULT, "any detective control", 0, 2);
    twice.control(FAULT, "any corrective control", 0, 4);
    twice.pair(
        FAULT,
        "missed",
        trial(Verdict::Missed, 0, 2, SystemTime::UNIX_EPOCH),
    );
    let busy = HashSet::new();
    let score = |beliefs: &Beliefs| {
        let mut resource = bucket("missed", "", "");
        resource.tags.clear();
        let candidates = [Candidate {
            fault: catalogue::find(FAULT).unwrap(),
            resource: &resource,
        }];
        pick(
            &candidates,
            beliefs,
            &request(Strategy::RiskRanked, 1, &busy),
        )
        .picks[0]
            .score
    };
    assert!(
        score(&twice) > score(&Beliefs::default()),
        "{} <= {}",
        score(&twice),
        score(&Beliefs::default())
    );
    // Alone, the stand-in's misses are the kind's record.
    let mut alone = Beliefs::default();
    alone.control(FAULT, "any detective control", 0, 3);
    assert!((miss_belief(FAULT, "x", &alone).kind_miss - 0.8).abs() < 1e-9);
}

#[test]
fn a_miss_waits_for_its_cool_down_then_is_picked_again() {
    let resources = [bucket("a", "medium", "")];
    let fault = catalogue::find(PUBLIC_ACL).unwrap();
    let candidates = candidates(&[fault], &resources);
    let busy = HashSet::new();
    let mut request = request(Strategy::RiskRanked, 1, &busy);
    let missed_at = request.now - Duration::from_secs(60);
    let mut beliefs = Beliefs::default();
    beliefs.pair(PUBLIC_ACL, "a", trial(Verdict::Missed, 0, 1, missed_at));
    let waiting = pick(&candidates, &beliefs, &request);
    assert!(waiting.picks.is_empty());
    assert_eq!(waiting.cooling_down, 1);
    assert_eq!(waiting.next_eligible, Some(missed_at + request.cool_down));
    request.now = missed_at + request.cool_down + Duration::from_secs(1);
    assert_eq!(pick(&candidates, &beliefs, &request).picks.len(), 1);
}

#[test]
fn criticality_and_reach_weigh_in() {
    let resources = [
        bucket("low", "low", "internal"),
        bucket("critical-public", "critical", "public"),
        bucket("critical", "critical", ""),
    ];
    let fault = catalogue::find(PUBLIC_ACL).unwrap();
    let candidates = candidates(&[fault], &resources);
    let busy = HashSet::new();
    let picks = pick(
        &candidates,
        &Beliefs::default(),
        &request(Strategy::RiskRanked, 3, &busy),
    );
    let order: Vec<&str> = picks
        .picks
        .iter()
        .map(|p| p.candidate.resource.id.as_str())
        .collect();
    assert_eq!(order, ["critical-public", "critical", "low"]);
    // 100 × 7.5/10 × 1 × 1 × (0.5 + half the sd of Beta(1, 1)).
    let expected = 75.0 * (0.5 + 0.5 * (1.0f64 / 12.0).sqrt());
    assert!(
        (picks.picks[0].score - expected).abs() < 1e-9,
        "{}",
        picks.picks[0].score
    );
}

#[test]
fn the_uniform_draws_and_beta_samples_are_sane() {
    let mut rng = SplitMix::new(1, "f", "r");
    let n = 20_000;
    let mean: f64 = (0..n).map(|_| rng.next_f64()).sum::<f64>() / n as f64;
    assert!((mean - 0.5).abs() < 0.01, "{mean}");
    for (a, b) in [(1.0, 1.0), (2.0, 8.0), (0.5, 0.5), (30.0, 3.0)] {
        let samples: Vec<f64> = (0..n).map(|_| rng.beta(a, b)).collect();
        assert!(samples.iter().all(|x| (0.0..=1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / n as f64;
        assert!(
            (mean - a / (a + b)).abs() < 0.01,
            "Beta({a}, {b}) mean {mean}"
        );
    }
}

/// Resources, pair records (pair index, caught, missed, whether the last was a miss), busy resources, picks.
type Estate = (
    Vec<ResourceRef>,
    Vec<(usize, u32, u32, bool)>,
    Vec<usize>,
    usize,
);

fn estate() -> impl proptest::strategy::Strategy<Value = Estate> {
    let resources = prop::collection::vec(
        (
            prop::sample::select(vec!["low", "medium", "high", "critical"]),
            prop::sample::select(vec!["", "public", "internal", "cross-account"]),
        ),
        1..12,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (c, e))| bucket(&format!("b{i:02}"), c, e))
            .collect::<Vec<_>>()
    });
    (
        resources,
        prop::collection::vec((0usize..50, 0u32..5, 0u32..5, any::<bool>()), 0..20),
        prop::collection::vec(0usize..12, 0..3),
        1usize..10,
    )
}

fn beliefs_of(
    faults: &[&'static FaultModel],
    resources: &[ResourceRef],
    trials: &[(usize, u32, u32, bool)],
) -> Beliefs {
    let mut beliefs = Beliefs::default();
    for &(i, caught, missed, last_missed) in trials {
        let fault = faults[i % faults.len()];
        let resource = &resources[i % resources.len()];
        beliefs.control(fault.id, "detector", caught, missed);
        let verdict = if last_missed {
            Verdict::Missed
        } else {
            Verdict::Detected
        };
        beliefs.pair(
            fault.id,
            &resource.id,
            trial(verdict, caught, missed, SystemTime::UNIX_EPOCH),
        );
    }
    beliefs
}

fn check_spread(
    picks: &Picks,
    busy: &HashSet<String>,
    wanted: usize,
    distinct_free: usize,
) -> Result<(), TestCaseError> {
    let mut seen = HashSet::new();
    for p in &picks.picks {
        prop_assert!(
            seen.insert(p.candidate.resource.id.clone()),
            "two faults on {}",
            p.candidate.resource.id
        );
        prop_assert!(!busy.contains(&p.candidate.resource.id));
    }
    prop_assert_eq!(picks.picks.len(), wanted.min(distinct_free));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn risk_ranked_is_sorted_by_score_and_spread((resources, trials, busy, wanted) in estate()) {
        let faults = bucket_faults();
        let beliefs = beliefs_of(&faults, &resources, &trials);
        let busy: HashSet<String> = busy.iter().filter_map(|i| resources.get(*i)).map(|r| r.id.clone()).collect();
        let candidates = candidates(&faults, &resources);
        let picks = pick(&candidates, &beliefs, &request(Strategy::RiskRanked, wanted, &busy));
        prop_assert!(picks.picks.windows(2).all(|w| w[0].score >= w[1].score));
        check_spread(&picks, &busy, wanted, resources.len() - busy.len())?;
        // Nothing left out scores more than the last pick on a resource still free.
        if let Some(last) = picks.picks.last() {
            let used: HashSet<&str> = picks.picks.iter().map(|p| p.candidate.resource.id.as_str()).collect();
            for c in &candidates {
                if used.contains(c.resource.id.as_str()) || busy.contains(&c.resource.id) { continue; }
                let belief = miss_belief(c.fault.id, &c.resource.id, &beliefs);
                let score = 100.0 * c.fault.cvss_base_score() / 10.0 * weights(c.resource) * optimistic_miss(belief.a, belief.b);
                prop_assert!(score <= last.score + 1e-9);
            }
        }
    }

    #[test]
    fn random_is_repeatable_under_a_seed_whatever_the_order((resources, trials, busy, wanted) in estate(), seed in any::<u64>()) {
        let faults = bucket_faults();
        let beliefs = beliefs_of(&faults, &resources, &trials);
        let busy: HashSet<String> = busy.iter().filter_map(|i| resources.get(*i)).map(|r| r.id.clone()).collect();
        let mut candidates = candidates(&faults, &resources);
        let mut req = request(Strategy::Random, wanted, &busy);
        req.seed = seed;
        let ids = |p: &Picks| p.picks.iter().map(|p| (p.candidate.fault.id, p.candidate.resource.id.clone())).collect::<Vec<_>>();
        let first = pick(&candidates, &beliefs, &req);
        candidates.reverse();
        let again = pick(&candidates, &beliefs, &req);
        prop_assert_eq!(ids(&first), ids(&again));
        check_spread(&first, &busy, wanted, resources.len() - busy.len())?;
    }

    #[test]
    fn explore_exploit_is_repeatable_under_a_seed((resources, trials, busy, wanted) in estate(), seed in any::<u64>()) {
        let faults = bucket_faults();
        let beliefs = beliefs_of(&faults, &resources, &trials);
        let busy: HashSet<String> = busy.iter().filter_map(|i| resources.get(*i)).map(|r| r.id.clone()).collect();
        let candidates = candidates(&faults, &resources);
        let mut req = request(Strategy::ExploreExploit, wanted, &busy);
        req.seed = seed;
        let ids = |p: &Picks| p.picks.iter().map(|p| (p.candidate.fault.id, p.candidate.resource.id.clone())).collect::<Vec<_>>();
        prop_assert_eq!(ids(&pick(&candidates, &beliefs, &req)), ids(&pick(&candidates, &beliefs, &req)));
        check_spread(&pick(&candidates, &beliefs, &req), &busy, wanted, resources.len() - busy.len())?;
    }

    #[test]
    fn coverage_never_repeats_a_fault_before_every_fault_is_judged(resources in 1usize..6, per_plan in 1usize..4, plans in 1usize..12) {
        let faults = bucket_faults();
        let resources: Vec<ResourceRef> = (0..resources).map(|i| bucket(&format!("b{i}"), "medium", "")).collect();
        let candidates = candidates(&faults, &resources);
        let busy = HashSet::new();
        let mut beliefs = Beliefs::default();
        let mut judged: HashMap<&str, u32> = HashMap::new();
        for _ in 0..plans {
            let picks = pick(&candidates, &beliefs, &request(Strategy::Coverage, per_plan, &busy));
            check_spread(&picks, &busy, per_plan, resources.len())?;
            for p in &picks.picks {
                let fault = p.candidate.fault.id;
                let least = faults.iter().map(|f| judged.get(f.id).copied().unwrap_or(0)).min().unwrap();
                prop_assert_eq!(judged.get(fault).copied().unwrap_or(0), least, "{} repeated before all were judged", fault);
                *judged.entry(fault).or_default() += 1;
                let record = beliefs.pair_record(fault, &p.candidate.resource.id).cloned().unwrap_or_default();
                beliefs.pair(fault, &p.candidate.resource.id, PairRecord { caught: record.caught + 1, ..record });
            }
            // Every technique of the candidates is reported, covered exactly when one of its faults was judged
            // or is picked now.
            let reported: Vec<&str> = picks.techniques.iter().map(|t| t.0.as_str()).collect();
            let mut all: Vec<&str> = faults.iter().map(|f| f.attack_technique).collect();
            all.sort_unstable();
            all.dedup();
            prop_assert_eq!(reported, all);
            let covered: std::collections::BTreeSet<&str> = picks.techniques.iter().filter(|t| t.1).map(|t| t.0.as_str()).collect();
            let judged_techniques: std::collections::BTreeSet<&str> = faults.iter().filter(|f| judged.contains_key(f.id)).map(|f| f.attack_technique).collect();
            prop_assert_eq!(covered, judged_techniques);
        }
    }
}

#[test]
fn thompson_sampling_converges_on_the_failing_control() {
    // A simulated estate: four public-storage faults on their own buckets; every control catches its fault
    // nine times in ten, except the one on the last fault, which catches it one time in ten.
    let faults: Vec<&'static FaultModel> = bucket_faults().into_iter().take(4).collect();
    let resources: Vec<ResourceRef> = (0..4)
        .map(|i| bucket(&format!("b{i}"), "medium", ""))
        .collect();
    let candidates: Vec<Candidate> = faults
        .iter()
        .zip(&resources)
        .map(|(fault, resource)| Candidate { fault, resource })
        .collect();
    let failing = faults[3].id;
    let efficacy = |fault: &str| if fault == failing { 0.1 } else { 0.9 };
    let busy = HashSet::new();
    let mut beliefs = Beliefs::default();
    let mut outcomes = SplitMix::new(99, "outcomes", "");
    let mut late_picks = HashMap::<&str, u32>::new();
    for round in 0..300u64 {
        let mut req = request(Strategy::ExploreExploit, 1, &busy);
        req.seed = round;
        let picks = pick(&candidates, &beliefs, &req);
        let chosen = picks.picks[0].candidate;
        let caught = outcomes.next_f64() < efficacy(chosen.fault.id);
        beliefs.control(
            chosen.fault.id,
            "detector",
            u32::from(caught),
            u32::from(!caught),
        );
        let record = beliefs
            .pair_record(chosen.fault.id, &chosen.resource.id)
            .cloned()
            .unwrap_or_default();
        beliefs.pair(
            chosen.fault.id,
            &chosen.resource.id,
            PairRecord {
                caught: record.caught + u32::from(caught),
                missed: record.missed + u32::from(!caught),
                last: None,
            },
        );
        if round >= 200 {
            *late_picks.entry(chosen.fault.id).or_default() += 1;
        }
    }
    let on_failing = late_picks.get(failing).copied().unwrap_or(0);
    assert!(
        on_failing >= 80,
        "the failing control's fault got {on_failing} of the last 100 picks: {late_picks:?}"
    );
}

#[test]
fn the_worked_examples_of_docs_risk_md() {
    let busy = HashSet::new();
    let score = |fault: &str, resource: &ResourceRef, beliefs: &Beliefs| {
        let fault = catalogue::find(fault).unwrap();
        let candidates = [Candidate { fault, resource }];
        let picks = pick(
            &candidates,
            beliefs,
            &request(Strategy::RiskRanked, 1, &busy),
        );
        // To the hundredth, as the docs write them.
        (picks.picks[0].score * 100.0).round() / 100.0
    };
    // 1. Nothing known, a critical public bucket.
    assert_eq!(
        score(
            PUBLIC_ACL,
            &bucket("c", "critical", "public"),
            &Beliefs::default()
        ),
        48.33
    );
    // 2. One catch on a, one miss on b, by the same detector.
    let mut untagged = bucket("a", "", "");
    untagged.tags.clear();
    let before = score(PUBLIC_ACL, &untagged, &Beliefs::default());
    assert_eq!(before, 14.5);
    let mut beliefs = Beliefs::default();
    beliefs.control(PUBLIC_ACL, "detector", 1, 1);
    beliefs.pair(
        PUBLIC_ACL,
        "a",
        trial(Verdict::Detected, 1, 0, SystemTime::UNIX_EPOCH),
    );
    beliefs.pair(
        PUBLIC_ACL,
        "b",
        trial(Verdict::Missed, 0, 1, SystemTime::UNIX_EPOCH),
    );
    let b = ResourceRef {
        id: "b".into(),
        ..untagged.clone()
    };
    assert_eq!(score(PUBLIC_ACL, &b, &beliefs), 15.75);
    assert_eq!(score(PUBLIC_ACL, &untagged, &beliefs), 11.25);
    // 3. A detector that caught 40 of 40, on a user it never saw.
    let admin = "aws.iam.user-admin-policy-attached";
    let mut beliefs = Beliefs::default();
    beliefs.control(admin, "detector", 40, 0);
    let user = ResourceRef {
        resource_type: "aws.iam.user".into(),
        id: "u".into(),
        exposure: "internal".into(),
        ..Default::default()
    };
    assert_eq!(score(admin, &user, &beliefs), 3.32);
}
