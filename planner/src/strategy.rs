//! Which (fault, resource) pairs to test next, and why: the four strategies of a campaign. Pure: the same
//! candidates, beliefs, request and seed give the same picks (docs/risk.md, "Picking the next fault").
//!
//! Every strategy reads one belief per candidate: the chance that the controls miss this fault on this
//! resource, as a Beta distribution. Its prior is the fault kind's measured miss probability (the product of
//! one less each tested control's posterior mean efficacy, from knowledge's scorecards), worth as many
//! observations as those controls have (at most [`PRIOR_WEIGHT`]); this resource's own catches and misses of
//! this fault are added to it.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use rdfi_core::catalogue::FaultModel;
use rdfi_core::efficacy::{self, Posterior};
use rdfi_core::risk::{self, Criticality, Reach};
use rdfi_proto::v1::{ControlScorecard, PairTrial, PreviousTrial, ResourceRef, Verdict};

/// The most observations a fault kind's record weighs on a resource it was never tried on.
pub const PRIOR_WEIGHT: f64 = 8.0;

/// How a campaign picks its next faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Highest expected loss first, with a bonus for what is little known.
    RiskRanked,
    /// Uniform over the eligible pairs (Chaos Monkey).
    Random,
    /// Every fault once before any is repeated.
    Coverage,
    /// Thompson sampling over the miss beliefs.
    ExploreExploit,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::RiskRanked,
        Strategy::Random,
        Strategy::Coverage,
        Strategy::ExploreExploit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::RiskRanked => "risk-ranked",
            Strategy::Random => "random",
            Strategy::Coverage => "coverage",
            Strategy::ExploreExploit => "explore-exploit",
        }
    }

    pub fn parse(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What knowledge remembers of one (fault, resource) pair.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairRecord {
    pub caught: u32,
    pub missed: u32,
    pub last: Option<LastTrial>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LastTrial {
    pub run_id: String,
    pub verdict: Verdict,
    pub at: SystemTime,
    pub controls: Vec<String>,
}

impl LastTrial {
    /// As the planned fault carries it to the analyzer.
    pub fn previous(&self) -> PreviousTrial {
        PreviousTrial {
            run_id: self.run_id.clone(),
            verdict: self.verdict as i32,
            controls: self.controls.clone(),
        }
    }
}

/// One control's record against one fault kind.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlRecord {
    pub control: String,
    pub met: u32,
    pub failed: u32,
}

/// What the planner has learned: each fault kind's controls, each pair's trials.
#[derive(Clone, Debug, Default)]
pub struct Beliefs {
    /// By fault id.
    controls: HashMap<String, Vec<ControlRecord>>,
    /// By fault id, then resource id.
    pairs: HashMap<String, HashMap<String, PairRecord>>,
}

impl Beliefs {
    /// From knowledge's answers (ListControls, ListPairTrials).
    pub fn from_knowledge(scorecards: &[ControlScorecard], trials: &[PairTrial]) -> Beliefs {
        let mut beliefs = Beliefs::default();
        for card in scorecards {
            let efficacy = card.efficacy.unwrap_or_default();
            beliefs.control(&card.fault_id, &card.control, efficacy.met, efficacy.failed);
        }
        for trial in trials {
            let last = (!trial.last_run_id.is_empty()).then(|| LastTrial {
                run_id: trial.last_run_id.clone(),
                verdict: Verdict::try_from(trial.last_verdict).unwrap_or(Verdict::Unspecified),
                at: trial
                    .last_at
                    .and_then(|at| SystemTime::try_from(at).ok())
                    .unwrap_or(SystemTime::UNIX_EPOCH),
                controls: trial.last_controls.clone(),
            });
            beliefs.pair(
                &trial.fault_id,
                &trial.resource_id,
                PairRecord {
                    caught: trial.caught,
                    missed: trial.missed,
                    last,
                },
            );
        }
        beliefs
    }

    /// Adds to a control's record against a fault kind.
    pub fn control(&mut self, fault_id: &str, control: &str, met: u32, failed: u32) {
        let records = self.controls.entry(fault_id.to_owned()).or_default();
        match records.iter_mut().find(|r| r.control == control) {
            Some(record) => {
                record.met += met;
                record.failed += failed;
            }
            None => records.push(ControlRecord {
                control: control.to_owned(),
                met,
                failed,
            }),
        }
    }

    /// Sets what is known of a pair.
    pub fn pair(&mut self, fault_id: &str, resource_id: &str, record: PairRecord) {
        self.pairs
            .entry(fault_id.to_owned())
            .or_default()
            .insert(resource_id.to_owned(), record);
    }

    pub fn pair_record(&self, fault_id: &str, resource_id: &str) -> Option<&PairRecord> {
        self.pairs.get(fault_id)?.get(resource_id)
    }

    fn controls_of(&self, fault_id: &str) -> &[ControlRecord] {
        self.controls.get(fault_id).map_or(&[], Vec::as_slice)
    }

    /// How often a fault was judged, on any resource.
    fn trials_of(&self, fault_id: &str) -> u32 {
        self.pairs.get(fault_id).map_or(0, |pairs| {
            pairs.values().map(|pair| pair.caught + pair.missed).sum()
        })
    }
}

/// A pair the strategy may pick.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    pub fault: &'static FaultModel,
    pub resource: &'a ResourceRef,
}

/// What to pick.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub strategy: Strategy,
    /// For random and explore-exploit.
    pub seed: u64,
    /// How many pairs to pick at most.
    pub picks: usize,
    pub now: SystemTime,
    /// A pair missed less than this long ago is not picked (its fix may not have landed yet).
    pub cool_down: Duration,
    /// Resources with a fault active now: never picked.
    pub busy: &'a HashSet<String>,
}

/// The chance that the controls miss a fault on a resource, as a Beta(a, b) belief, and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct MissBelief {
    /// The fault kind's controls: name, posterior mean efficacy, observations.
    pub controls: Vec<(String, f64, u32)>,
    /// The fault kind's miss probability: the product of one less each named control's mean (the stand-ins'
    /// when no named control was tested; 0.5 untested).
    pub kind_miss: f64,
    /// Observations the kind's record counts for here (at most PRIOR_WEIGHT).
    pub prior_weight: f64,
    pub caught_here: u32,
    pub missed_here: u32,
    pub a: f64,
    pub b: f64,
}

impl MissBelief {
    pub fn mean(&self) -> f64 {
        self.a / (self.a + self.b)
    }

    pub fn sd(&self) -> f64 {
        let n = self.a + self.b;
        (self.a * self.b / (n * n * (n + 1.0))).sqrt()
    }
}

/// The belief for one candidate, from what is known.
pub fn miss_belief(fault_id: &str, resource_id: &str, beliefs: &Beliefs) -> MissBelief {
    let kind = kind_belief(beliefs.controls_of(fault_id));
    let pair = beliefs.pair_record(fault_id, resource_id);
    let (caught, missed) = pair.map_or((0, 0), |p| (p.caught, p.missed));
    kind.here(caught, missed)
}

#[derive(Clone, Debug)]
struct KindBelief {
    controls: Vec<(String, f64, u32)>,
    miss: f64,
    weight: f64,
}

impl KindBelief {
    fn here(&self, caught: u32, missed: u32) -> MissBelief {
        MissBelief {
            controls: self.controls.clone(),
            kind_miss: self.miss,
            prior_weight: self.weight,
            caught_here: caught,
            missed_here: missed,
            a: 1.0 + f64::from(missed) + self.miss * self.weight,
            b: 1.0 + f64::from(caught) + (1.0 - self.miss) * self.weight,
        }
    }

    fn ab(&self, caught: u32, missed: u32) -> (f64, f64) {
        (
            1.0 + f64::from(missed) + self.miss * self.weight,
            1.0 + f64::from(caught) + (1.0 - self.miss) * self.weight,
        )
    }
}

fn kind_belief(records: &[ControlRecord]) -> KindBelief {
    let controls: Vec<(String, f64, u32)> = records
        .iter()
        .map(|r| {
            (
                r.control.clone(),
                Posterior::new(r.met, r.failed).mean(),
                r.met + r.failed,
            )
        })
        .collect();
    // A stand-in records only the trials nobody answered: beside a named control it is no second chance
    // of a catch, so it does not lower the miss probability; alone, it is all there is.
    let named: Vec<f64> = controls
        .iter()
        .filter(|c| !efficacy::is_stand_in(&c.0))
        .map(|c| c.1)
        .collect();
    let miss = match (controls.is_empty(), named.is_empty()) {
        (true, _) => 0.5,
        (false, false) => risk::miss_probability(named.iter().copied()),
        (false, true) => risk::miss_probability(controls.iter().map(|c| c.1)),
    };
    let weight = controls
        .iter()
        .filter(|c| named.is_empty() || !efficacy::is_stand_in(&c.0))
        .map(|c| f64::from(c.2))
        .fold(0.0, f64::max)
        .min(PRIOR_WEIGHT);
    KindBelief {
        controls,
        miss,
        weight,
    }
}

/// What a pick's score is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    pub cvss: f64,
    pub criticality: Criticality,
    pub reach: Reach,
    pub miss: MissBelief,
    /// risk-ranked: one standard deviation of the belief, added to its mean.
    pub bonus: f64,
    /// random: the uniform draw; explore-exploit: the miss probability drawn from the belief.
    pub draw: Option<f64>,
    /// coverage: how often this fault was judged before this plan (on any resource).
    pub tested_before: u32,
}

/// One picked pair, with its score and the inputs behind it.
#[derive(Clone, Debug)]
pub struct Pick<'a> {
    pub candidate: Candidate<'a>,
    pub score: f64,
    pub inputs: Inputs,
    /// What knowledge remembered of the pair.
    pub previous: Option<LastTrial>,
    /// The pick in one sentence.
    pub reason: String,
}

/// The picks of one plan, and what was left out.
#[derive(Clone, Debug, Default)]
pub struct Picks<'a> {
    pub picks: Vec<Pick<'a>>,
    /// Candidates left out because they were missed less than the cool-down ago.
    pub cooling_down: usize,
    /// Candidates left out because their resource has a fault active.
    pub busy: usize,
    /// The soonest a pair left out for its cool-down becomes eligible again.
    pub next_eligible: Option<SystemTime>,
    /// coverage: each ATT&CK technique of the candidates, and whether it has been tested (this plan included).
    pub techniques: Vec<(String, bool)>,
}

/// Picks up to `request.picks` pairs, never two on one resource, none on a busy resource or cooling down.
pub fn pick<'a>(candidates: &[Candidate<'a>], beliefs: &Beliefs, request: &Request) -> Picks<'a> {
    let mut kinds: HashMap<&'static str, (KindBelief, f64)> = HashMap::new();
    let mut result = Picks::default();
    let mut scored: Vec<(f64, usize)> = Vec::with_capacity(candidates.len());
    for (index, candidate) in candidates.iter().enumerate() {
        let fault = candidate.fault;
        let resource = candidate.resource;
        if request.busy.contains(&resource.id) {
            result.busy += 1;
            continue;
        }
        let pair = beliefs.pair_record(fault.id, &resource.id);
        if let Some(until) = pair.and_then(|p| cooling_until(p, request.cool_down))
            && until > request.now
        {
            result.cooling_down += 1;
            result.next_eligible = Some(result.next_eligible.map_or(until, |t| t.min(until)));
            continue;
        }
        let (kind, cvss) = kinds.entry(fault.id).or_insert_with(|| {
            (
                kind_belief(beliefs.controls_of(fault.id)),
                fault.cvss_base_score(),
            )
        });
        let (caught, missed) = pair.map_or((0, 0), |p| (p.caught, p.missed));
        let (a, b) = kind.ab(caught, missed);
        let weight = *cvss / 10.0 * weights(resource);
        let score = match request.strategy {
            Strategy::RiskRanked | Strategy::Coverage => weight * optimistic_miss(a, b),
            Strategy::Random => uniform(request.seed, fault.id, &resource.id),
            Strategy::ExploreExploit => {
                weight * SplitMix::new(request.seed, fault.id, &resource.id).beta(a, b)
            }
        };
        scored.push((score, index));
    }
    let order = |x: &(f64, usize), y: &(f64, usize)| {
        y.0.total_cmp(&x.0).then_with(|| {
            let (a, b) = (&candidates[x.1], &candidates[y.1]);
            (a.fault.id, &a.resource.id).cmp(&(b.fault.id, &b.resource.id))
        })
    };
    let chosen: Vec<(f64, usize)> = if request.strategy == Strategy::Coverage {
        coverage_order(candidates, &mut scored, beliefs, request.picks, order)
    } else {
        greedy(candidates, &mut scored, request.picks, order)
    };
    for (score, index) in chosen {
        result
            .picks
            .push(explain(candidates[index], score, beliefs, request));
    }
    if request.strategy == Strategy::Coverage {
        result.techniques = techniques(candidates, beliefs, &result.picks);
    }
    result
}

fn cooling_until(pair: &PairRecord, cool_down: Duration) -> Option<SystemTime> {
    let last = pair.last.as_ref()?;
    (last.verdict == Verdict::Missed).then(|| last.at + cool_down)
}

/// Criticality × reach of a resource.
fn weights(resource: &ResourceRef) -> f64 {
    Criticality::of(&resource.tags).weight() * Reach::of(&resource.exposure).weight()
}

/// The belief's mean plus half its standard deviation, at most 1: little-known pairs rank higher, though not
/// above a pair whose own misses are known (a whole deviation would rank a never-tried pair above one missed
/// twice).
fn optimistic_miss(a: f64, b: f64) -> f64 {
    let n = a + b;
    (a / n + UNCERTAINTY * (a * b / (n * n * (n + 1.0))).sqrt()).min(1.0)
}

/// How many standard deviations of the belief risk-ranked adds to its mean.
pub const UNCERTAINTY: f64 = 0.5;

/// Entries taken best first, sorting only as far as is taken: a window of the best is partitioned out
/// (linear) and sorted, and the window doubles each time it is used up.
struct BestFirst<'a, F> {
    entries: &'a mut [(f64, usize)],
    order: &'a F,
    /// `entries[..sorted]` are the best, in order; `next` is the first not taken.
    sorted: usize,
    next: usize,
    window: usize,
}

impl<'a, F: Fn(&(f64, usize), &(f64, usize)) -> std::cmp::Ordering> BestFirst<'a, F> {
    fn new(entries: &'a mut [(f64, usize)], order: &'a F, window: usize) -> Self {
        BestFirst {
            entries,
            order,
            sorted: 0,
            next: 0,
            window: window.max(16),
        }
    }

    fn peek(&mut self) -> Option<(f64, usize)> {
        if self.next == self.sorted && self.sorted < self.entries.len() {
            let rest = &mut self.entries[self.sorted..];
            let end = self.window.min(rest.len());
            if end < rest.len() {
                rest.select_nth_unstable_by(end - 1, self.order);
            }
            rest[..end].sort_unstable_by(self.order);
            self.sorted += end;
            self.window *= 2;
        }
        self.entries.get(self.next).copied()
    }

    fn take(&mut self) -> Option<(f64, usize)> {
        let entry = self.peek()?;
        self.next += 1;
        Some(entry)
    }
}

/// The highest scores first, at most one per resource.
fn greedy(
    candidates: &[Candidate],
    scored: &mut [(f64, usize)],
    picks: usize,
    order: impl Fn(&(f64, usize), &(f64, usize)) -> std::cmp::Ordering,
) -> Vec<(f64, usize)> {
    let mut chosen = Vec::new();
    let mut used: HashSet<&str> = HashSet::new();
    let mut best = BestFirst::new(scored, &order, picks * 4);
    while chosen.len() < picks {
        let Some((score, index)) = best.take() else {
            break;
        };
        if used.insert(candidates[index].resource.id.as_str()) {
            chosen.push((score, index));
        }
    }
    chosen
}

/// The least judged fault first (its best-scored free resource), every fault once before any twice.
fn coverage_order(
    candidates: &[Candidate],
    scored: &mut [(f64, usize)],
    beliefs: &Beliefs,
    picks: usize,
    order: impl Fn(&(f64, usize), &(f64, usize)) -> std::cmp::Ordering,
) -> Vec<(f64, usize)> {
    // Each fault's candidates, side by side (linear), each taken best first as far as needed.
    scored.sort_unstable_by_key(|entry| candidates[entry.1].fault.id);
    let mut by_fault: Vec<(&'static str, BestFirst<'_, _>)> = Vec::new();
    let mut rest: &mut [(f64, usize)] = scored;
    while let Some(first) = rest.first() {
        let fault = candidates[first.1].fault.id;
        let len = rest
            .iter()
            .position(|entry| candidates[entry.1].fault.id != fault)
            .unwrap_or(rest.len());
        let (these, after) = rest.split_at_mut(len);
        by_fault.push((fault, BestFirst::new(these, &order, 16)));
        rest = after;
    }
    // The heap gives the least tested fault, then the best score, then the fault's id.
    #[derive(PartialEq)]
    struct Next {
        tested: u32,
        score: f64,
        fault: &'static str,
        slot: usize,
    }
    impl Eq for Next {}
    impl Ord for Next {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            other
                .tested
                .cmp(&self.tested)
                .then(self.score.total_cmp(&other.score))
                .then(other.fault.cmp(self.fault))
        }
    }
    impl PartialOrd for Next {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    let mut heap = BinaryHeap::new();
    for (slot, (fault, best)) in by_fault.iter_mut().enumerate() {
        if let Some((score, _)) = best.peek() {
            heap.push(Next {
                tested: beliefs.trials_of(fault),
                score,
                fault,
                slot,
            });
        }
    }
    let mut used: HashSet<&str> = HashSet::new();
    let mut chosen = Vec::new();
    while chosen.len() < picks {
        let Some(next) = heap.pop() else { break };
        let best = &mut by_fault[next.slot].1;
        while let Some(entry) = best.take() {
            if used.insert(candidates[entry.1].resource.id.as_str()) {
                chosen.push(entry);
                break;
            }
        }
        if let Some((score, _)) = best.peek() {
            heap.push(Next {
                tested: next.tested + 1,
                score,
                fault: next.fault,
                slot: next.slot,
            });
        }
    }
    chosen
}

fn techniques(candidates: &[Candidate], beliefs: &Beliefs, picks: &[Pick]) -> Vec<(String, bool)> {
    // Once per fault, not per candidate: a million candidates share a few dozen faults.
    let mut tested_fault: HashMap<&str, bool> = HashMap::new();
    let mut covered: HashMap<&str, bool> = HashMap::new();
    for candidate in candidates {
        let fault = candidate.fault.id;
        let tested = *tested_fault.entry(fault).or_insert_with(|| {
            beliefs.trials_of(fault) > 0 || picks.iter().any(|p| p.candidate.fault.id == fault)
        });
        *covered.entry(candidate.fault.attack_technique).or_default() |= tested;
    }
    let mut techniques: Vec<(String, bool)> = covered
        .into_iter()
        .map(|(technique, tested)| (technique.to_owned(), tested))
        .collect();
    techniques.sort();
    techniques
}

fn explain<'a>(
    candidate: Candidate<'a>,
    score: f64,
    beliefs: &Beliefs,
    request: &Request,
) -> Pick<'a> {
    let fault = candidate.fault;
    let resource = candidate.resource;
    let miss = miss_belief(fault.id, &resource.id, beliefs);
    let criticality = Criticality::of(&resource.tags);
    let reach = Reach::of(&resource.exposure);
    let cvss = fault.cvss_base_score();
    let bonus = optimistic_miss(miss.a, miss.b) - miss.mean();
    let weight = cvss / 10.0 * criticality.weight() * reach.weight();
    let (draw, score) = match request.strategy {
        Strategy::Random => (Some(score), score),
        Strategy::ExploreExploit => (Some(score / weight.max(f64::MIN_POSITIVE)), 100.0 * score),
        Strategy::RiskRanked | Strategy::Coverage => (None, 100.0 * score),
    };
    let inputs = Inputs {
        cvss,
        criticality,
        reach,
        miss,
        bonus,
        draw,
        tested_before: beliefs.trials_of(fault.id),
    };
    let previous = beliefs
        .pair_record(fault.id, &resource.id)
        .and_then(|p| p.last.clone());
    let reason = reason(request.strategy, score, &inputs);
    Pick {
        candidate,
        score,
        inputs,
        previous,
        reason,
    }
}

fn reason(strategy: Strategy, score: f64, inputs: &Inputs) -> String {
    let miss = &inputs.miss;
    let reach = match inputs.reach {
        Reach::Unknown => "unknown reach",
        other => other.label(),
    };
    let factors = format!(
        "CVSS {:.1}, {} {:.2}, {} {:.2}",
        inputs.cvss,
        inputs.criticality.label(),
        inputs.criticality.weight(),
        reach,
        inputs.reach.weight()
    );
    let here = format!(
        "here {} caught, {} missed; the fault kind's controls miss {:.0}%",
        miss.caught_here,
        miss.missed_here,
        miss.kind_miss * 100.0
    );
    match strategy {
        Strategy::RiskRanked => format!(
            "expected loss {score:.1}: {factors}, miss {:.2} + {:.2} for uncertainty ({here})",
            miss.mean(),
            inputs.bonus
        ),
        Strategy::Coverage => format!(
            "fault judged {} times before; expected loss {score:.1} ({factors}; {here})",
            inputs.tested_before
        ),
        Strategy::Random => format!("uniform draw {score:.3}"),
        Strategy::ExploreExploit => format!(
            "sampled miss {:.2} from Beta({:.1}, {:.1}): {score:.1} with {factors} ({here})",
            inputs.draw.unwrap_or_default(),
            miss.a,
            miss.b
        ),
    }
}

/// A uniform draw in [0, 1) fixed by the seed and the pair, whatever order the candidates come in.
fn uniform(seed: u64, fault: &str, resource: &str) -> f64 {
    SplitMix::new(seed, fault, resource).next_f64()
}

/// SplitMix64 seeded from the seed and the pair (FNV-1a): a small, stable stream per candidate.
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: u64, fault: &str, resource: &str) -> SplitMix {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for byte in fault.bytes().chain([0]).chain(resource.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        SplitMix(hash)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        // Box-Muller; 1 - u is in (0, 1].
        let u = 1.0 - self.next_f64();
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted by u^(1/shape)).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = 1.0 - self.next_f64();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = 1.0 - self.next_f64();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        x / (x + y)
    }
}

#[cfg(test)]
mod tests;
