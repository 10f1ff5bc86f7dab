//! Control scorecards, pure: which control each judged expectation put to the test and whether it answered in
//! time ([`trials`]), and from every trial the scorecards of each control per fault kind ([`scorecards`]):
//! the Beta posterior of its efficacy, its answer times, and their history run by run.
//!
//! Who is tested by an expectation:
//! - the sources it names, each on its own: met when that source answered within the deadline (a source that
//!   stayed silent fails even when another named source met an `any` expectation);
//! - when it names none, every source that answered (met when within the deadline), or, when none did, the
//!   stand-in `any detective control` (`any preventive control`, `any corrective control`), failed;
//! - a corrective answer is a restored resource, which names nobody: the sources named (else the stand-in)
//!   share the expectation's outcome; a refusal names its control (`prevented_by`).
//!
//! Inconclusive expectations test nobody.

use std::collections::BTreeMap;

use rdfi_core::catalogue;
use rdfi_core::efficacy::{Posterior, stand_in};
use rdfi_core::experiment::same_source;
use rdfi_core::risk::{self, Criticality, Exposure};
use rdfi_proto::unix_millis;
use rdfi_proto::v1::{
    ControlKind, ControlScorecard, Efficacy, ExpectationOutcome, ExposureOutcome, FaultRecord,
    Latency, PairTrial, ResourceRef, Risk, ScorecardPoint, Verdict,
};

/// One control put to the test by one fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trial {
    pub control: String,
    pub kind: ControlKind,
    /// It answered within the deadline.
    pub met: bool,
    /// When it answered at all: from the mutating call's return to its answer.
    pub latency_ms: Option<u64>,
}

/// The controls a judged fault put to the test, and how each did.
pub fn trials(fault: &FaultRecord) -> Vec<Trial> {
    let injected_ms = fault.injected_at.as_ref().map(unix_millis);
    // When each source first signalled, from the mutating call's return.
    let first_signal = |source: &str| -> Option<u64> {
        let injected_ms = injected_ms?;
        fault
            .observations
            .iter()
            .filter(|observation| {
                observation.kind == "signal" && same_source(&observation.source, source)
            })
            .filter_map(|observation| observation.observed_at.as_ref().map(unix_millis))
            .min()
            .map(|at| u64::try_from(at - injected_ms).unwrap_or(0))
    };
    let mut trials = Vec::new();
    for result in &fault.expectations {
        let outcome = result.outcome();
        if !matches!(
            outcome,
            ExpectationOutcome::Met | ExpectationOutcome::Late | ExpectationOutcome::Failed
        ) {
            continue;
        }
        let expectation = result.expectation.clone().unwrap_or_default();
        let kind = expectation.kind();
        let within = |latency: Option<u64>| match (latency, expectation.within_ms) {
            (Some(latency), Some(within)) => latency <= within,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let shared = |control: String| Trial {
            control,
            kind,
            met: outcome == ExpectationOutcome::Met,
            latency_ms: result.latency_ms,
        };
        match kind {
            ControlKind::Detective => {
                let answered = |source: &str| {
                    result
                        .answered_by
                        .iter()
                        .any(|answered| same_source(answered, source))
                };
                let tested: Vec<&String> = if expectation.sources.is_empty() {
                    result.answered_by.iter().collect()
                } else {
                    expectation.sources.iter().collect()
                };
                if tested.is_empty() {
                    trials.push(Trial {
                        control: stand_in(kind),
                        kind,
                        met: false,
                        latency_ms: None,
                    });
                }
                for source in tested {
                    let latency = answered(source)
                        .then(|| first_signal(source).or(result.latency_ms))
                        .flatten();
                    trials.push(Trial {
                        control: source.clone(),
                        kind,
                        met: within(latency),
                        latency_ms: latency,
                    });
                }
            }
            ControlKind::Preventive => {
                if expectation.sources.is_empty() {
                    let control = Some(fault.prevented_by.clone())
                        .filter(|by| !by.is_empty() && outcome == ExpectationOutcome::Met)
                        .unwrap_or_else(|| stand_in(kind));
                    trials.push(shared(control));
                } else {
                    for source in &expectation.sources {
                        let refused_by_it = outcome == ExpectationOutcome::Met
                            && fault
                                .prevented_by
                                .to_lowercase()
                                .contains(&source.trim().to_lowercase());
                        trials.push(Trial {
                            met: refused_by_it,
                            ..shared(source.clone())
                        });
                    }
                }
            }
            ControlKind::Corrective | ControlKind::Unspecified => {
                if expectation.sources.is_empty() {
                    trials.push(shared(stand_in(kind)));
                } else {
                    trials.extend(expectation.sources.iter().cloned().map(shared));
                }
            }
        }
    }
    // A control tested twice by one fault (two expectations naming it) counts once: met if either met.
    let mut unique: Vec<Trial> = Vec::new();
    for trial in trials {
        match unique
            .iter_mut()
            .find(|seen| seen.kind == trial.kind && same_source(&seen.control, &trial.control))
        {
            Some(seen) => {
                seen.met |= trial.met;
                seen.latency_ms = match (seen.latency_ms, trial.latency_ms) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => unique.push(trial),
        }
    }
    unique
}

/// A finding's risk (docs/risk.md), from its fault and the controls it tested with their efficacy now; and
/// the controls that missed it.
pub fn risk_of(fault: &FaultRecord, controls: &[(Trial, Posterior)]) -> (Risk, Vec<String>) {
    let tags = fault.resource.as_ref().map(|resource| &resource.tags);
    let criticality = tags.map_or(Criticality::Medium, Criticality::of);
    let exposure = match fault.exposure.as_ref().map(|proof| proof.outcome()) {
        Some(ExposureOutcome::Exposed) => Exposure::Exposed,
        Some(ExposureOutcome::Neutralized) => Exposure::Neutralized,
        _ => Exposure::Unproven,
    };
    let inputs = risk::Inputs {
        cvss_base_score: catalogue::find(&fault.fault_id)
            .map_or(0.0, |model| model.cvss_base_score()),
        criticality,
        exposure,
        miss_probability: risk::miss_probability(
            controls.iter().map(|(_, posterior)| posterior.mean()),
        ),
    };
    let missed_by = controls
        .iter()
        .filter(|(trial, _)| !trial.met)
        .map(|(trial, _)| trial.control.clone())
        .collect();
    (
        Risk {
            score: risk::score(&inputs),
            cvss_base_score: inputs.cvss_base_score,
            criticality: criticality.label().to_owned(),
            exposure: exposure.label().to_owned(),
            miss_probability: inputs.miss_probability,
        },
        missed_by,
    )
}

/// A stored trial, with the run and fault kind it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedTrial {
    pub run_id: String,
    pub fault_id: String,
    /// When the fault was judged (milliseconds since the Unix epoch): orders the runs.
    pub at_ms: i64,
    pub trial: Trial,
}

pub fn efficacy(posterior: Posterior) -> Efficacy {
    let (lower, upper) = posterior.interval90();
    Efficacy {
        met: posterior.met,
        failed: posterior.failed,
        mean: posterior.mean(),
        lower,
        upper,
    }
}

/// The mean and the 90th percentile (nearest rank) of some latencies.
fn latency(mut latencies: Vec<u64>) -> Latency {
    latencies.sort_unstable();
    let answers = latencies.len();
    let mean_ms = (answers > 0).then(|| {
        let total: u128 = latencies.iter().map(|&ms| u128::from(ms)).sum();
        (total / answers as u128) as u64
    });
    // Nearest rank: the smallest value with at least 90% of the values at or below it.
    let p90_ms = (answers > 0).then(|| latencies[(answers * 9).div_ceil(10) - 1]);
    Latency {
        answers: answers as u32,
        mean_ms,
        p90_ms,
    }
}

/// Every scorecard the trials make, the least effective first (then by control and fault).
pub fn scorecards(recorded: &[RecordedTrial]) -> Vec<ControlScorecard> {
    // Grouped by control (case-insensitively, keeping the first spelling seen), kind and fault.
    let mut groups: BTreeMap<(String, i32, String), Vec<&RecordedTrial>> = BTreeMap::new();
    let mut spelling: BTreeMap<String, String> = BTreeMap::new();
    let mut ordered: Vec<&RecordedTrial> = recorded.iter().collect();
    ordered.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.run_id.cmp(&b.run_id)));
    for trial in ordered {
        let key = trial.trial.control.trim().to_lowercase();
        spelling
            .entry(key.clone())
            .or_insert_with(|| trial.trial.control.trim().to_owned());
        groups
            .entry((key, trial.trial.kind as i32, trial.fault_id.clone()))
            .or_default()
            .push(trial);
    }
    let mut cards: Vec<ControlScorecard> = groups
        .into_iter()
        .map(|((key, kind, fault_id), trials)| {
            let mut history: Vec<ScorecardPoint> = Vec::new();
            let (mut met, mut failed) = (0u32, 0u32);
            // Runs in the order they were first judged; trials is sorted by time.
            let mut runs: Vec<&str> = Vec::new();
            for trial in &trials {
                if !runs.contains(&trial.run_id.as_str()) {
                    runs.push(&trial.run_id);
                }
            }
            for run in runs {
                let of_run: Vec<&&RecordedTrial> =
                    trials.iter().filter(|trial| trial.run_id == run).collect();
                let run_met = of_run.iter().filter(|trial| trial.trial.met).count() as u32;
                let run_failed = of_run.len() as u32 - run_met;
                met += run_met;
                failed += run_failed;
                let latencies: Vec<u64> = of_run
                    .iter()
                    .filter_map(|trial| trial.trial.latency_ms)
                    .collect();
                history.push(ScorecardPoint {
                    run_id: run.to_owned(),
                    at: of_run
                        .iter()
                        .map(|trial| trial.at_ms)
                        .max()
                        .map(rdfi_proto::timestamp_from_millis),
                    met: run_met,
                    failed: run_failed,
                    mean_latency_ms: latency(latencies).mean_ms,
                    efficacy: Some(efficacy(Posterior::new(met, failed))),
                });
            }
            ControlScorecard {
                control: spelling[&key].clone(),
                kind,
                fault_id,
                efficacy: Some(efficacy(Posterior::new(met, failed))),
                latency: Some(latency(
                    trials
                        .iter()
                        .filter_map(|trial| trial.trial.latency_ms)
                        .collect(),
                )),
                history,
            }
        })
        .collect();
    let mean = |card: &ControlScorecard| card.efficacy.as_ref().map_or(0.0, |e| e.mean);
    cards.sort_by(|a, b| {
        mean(a)
            .total_cmp(&mean(b))
            .then_with(|| a.control.cmp(&b.control))
            .then_with(|| a.fault_id.cmp(&b.fault_id))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    cards
}

#[cfg(test)]
mod tests;

/// One judged fault, as pair trials are made of.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgedFault {
    pub run_id: String,
    pub fault_id: String,
    pub resource: ResourceRef,
    pub verdict: Verdict,
    /// When it was judged (milliseconds since the Unix epoch).
    pub at_ms: i64,
    /// The controls that answered in time.
    pub answered: Vec<String>,
}

/// Each (fault, resource) pair's catches and misses and its last trial, ordered by fault then resource.
/// Only catches (prevented, detected, corrected) and misses count: an inconclusive fault tested nobody. The
/// last trial is the latest judged; of two judged at once, the one later in `judged`.
pub fn pair_trials(judged: &[JudgedFault]) -> Vec<PairTrial> {
    let mut pairs: BTreeMap<(&str, &str), (PairTrial, i64)> = BTreeMap::new();
    for fault in judged {
        let caught = match fault.verdict {
            Verdict::Prevented | Verdict::Detected | Verdict::Corrected => true,
            Verdict::Missed => false,
            Verdict::Unspecified | Verdict::Inconclusive => continue,
        };
        let (pair, last_ms) = pairs
            .entry((fault.fault_id.as_str(), fault.resource.id.as_str()))
            .or_insert_with(|| {
                (
                    PairTrial {
                        fault_id: fault.fault_id.clone(),
                        resource_id: fault.resource.id.clone(),
                        resource_type: fault.resource.resource_type.clone(),
                        ..PairTrial::default()
                    },
                    i64::MIN,
                )
            });
        if caught {
            pair.caught += 1;
        } else {
            pair.missed += 1;
        }
        if fault.at_ms >= *last_ms {
            *last_ms = fault.at_ms;
            pair.last_run_id = fault.run_id.clone();
            pair.last_verdict = fault.verdict as i32;
            pair.last_at = Some(rdfi_proto::timestamp_from_millis(fault.at_ms));
            pair.last_controls = if caught {
                fault.answered.clone()
            } else {
                Vec::new()
            };
        }
    }
    pairs.into_values().map(|(pair, _)| pair).collect()
}
