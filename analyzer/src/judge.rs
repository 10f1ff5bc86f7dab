//! Pure verdicts: from what was observed about one fault to the outcome of each of its expectations (met,
//! late, failed, inconclusive) and the fault's verdict.
//!
//! - Prevented only when the cloud refused the change and rdfi named the control that did; a refusal it
//!   could not attribute (often its own missing permission) is inconclusive and names the refused action.
//! - A detective expectation is answered by the first signal from one of its sources (any source when it
//!   names none); in mode `all`, by the last of its sources to answer.
//! - A corrective expectation is answered when someone else restored the resource before rdfi's revert.
//! - An answer within the deadline is met, after it late (a slow control is not a missing one), none failed;
//!   none from a fault cut short before the deadline is inconclusive, never failed.
//! - The verdict: corrected when a corrective expectation is met, else detected when a detective one is, else
//!   inconclusive when one could not be judged or the fault was cut short (an aborted fault is never missed),
//!   else missed.

use rdfi_core::experiment::{expectations_of, same_source};
use rdfi_core::human::duration;
use rdfi_proto::v1::{
    ControlKind, Expectation, ExpectationOutcome, ExpectationResult, Hypothesis, SourceMode,
    Verdict,
};

/// One detection signal correlated with the fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    pub at_ms: i64,
    pub source: String,
}

/// How the fault's story ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The cloud refused the change. `control` names the preventive control when rdfi could attribute the
    /// refusal; `denied_action` is the refused action when known.
    Refused {
        control: Option<String>,
        denied_action: String,
        reason: String,
    },
    /// rdfi did not make the change (the resource was busy, out of scope, or the injection failed before it).
    Rejected { reason: String },
    /// The fault was injected and its revert failed: it may still be in place.
    RevertFailed { reason: String },
    /// The fault was injected (in a dry run: would have been) and reverted.
    Reverted {
        revert_started_at_ms: i64,
        already_restored: bool,
        /// Why the fault was reverted before its deadline, if it was.
        cut_short: Option<String>,
        dry_run: bool,
    },
}

/// What is known about one fault once its story has ended (and its settle time has passed).
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub hypothesis: Hypothesis,
    /// When the mutating call returned; `None` when the analyzer never saw the injection.
    pub injected_at_ms: Option<i64>,
    pub signals: Vec<Signal>,
    /// When the monitor saw the misconfiguration gone (before or after rdfi's revert).
    pub restored_at_ms: Option<i64>,
    /// Each time the monitor saw part of the misconfiguration removed by someone else (each leaving less).
    pub partial_restores: Vec<PartialRestore>,
    pub ending: Ending,
}

/// Someone removed part of the misconfiguration: `remaining` of the `injected` changes were left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialRestore {
    pub at_ms: i64,
    pub remaining: u32,
    pub injected: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub expectations: Vec<ExpectationResult>,
    /// From the injection to the answer of the detective expectation that answered first.
    pub time_to_detect_ms: Option<u64>,
    pub time_to_correct_ms: Option<u64>,
    pub detected_by: String,
    pub prevented_by: String,
    pub reason: String,
    /// The fault really tested a control: it was injected (not in a dry run) or refused by a named control.
    pub tested: bool,
    /// It was cut short by an abort or an interruption.
    pub aborted: bool,
}

fn result(
    expectation: &Expectation,
    outcome: ExpectationOutcome,
    latency_ms: Option<u64>,
    answered_by: Vec<String>,
    reason: String,
) -> ExpectationResult {
    ExpectationResult {
        expectation: Some(expectation.clone()),
        outcome: outcome as i32,
        latency_ms,
        answered_by,
        reason,
    }
}

fn every(
    expectations: &[Expectation],
    outcome: ExpectationOutcome,
    reason: &str,
) -> Vec<ExpectationResult> {
    expectations
        .iter()
        .map(|expectation| result(expectation, outcome, None, Vec::new(), reason.to_owned()))
        .collect()
}

fn kind_of(expectation: &Expectation) -> ControlKind {
    ControlKind::try_from(expectation.kind).unwrap_or(ControlKind::Unspecified)
}

fn judgement(verdict: Verdict, expectations: Vec<ExpectationResult>, reason: String) -> Judgement {
    Judgement {
        verdict,
        expectations,
        time_to_detect_ms: None,
        time_to_correct_ms: None,
        detected_by: String::new(),
        prevented_by: String::new(),
        reason,
        tested: false,
        aborted: false,
    }
}

/// The verdict for one fault.
pub fn judge(observed: &Observed) -> Judgement {
    let expectations = expectations_of(&observed.hypothesis);
    match &observed.ending {
        Ending::Refused {
            control: Some(control),
            ..
        } => refused_by(&expectations, control),
        Ending::Refused {
            control: None,
            denied_action,
            reason,
        } => {
            let action = if denied_action.is_empty() {
                "the refused action".to_owned()
            } else {
                denied_action.clone()
            };
            let reason = format!(
                "the cloud refused the change but rdfi could not name the control that did ({reason}); if \
                 rdfi's own identity lacks permission for {action}, grant it and run again"
            );
            judgement(
                Verdict::Inconclusive,
                every(&expectations, ExpectationOutcome::Inconclusive, &reason),
                reason,
            )
        }
        Ending::Rejected { reason } => judgement(
            Verdict::Inconclusive,
            every(
                &expectations,
                ExpectationOutcome::Inconclusive,
                &format!("nothing was injected: {reason}"),
            ),
            reason.clone(),
        ),
        Ending::RevertFailed { reason } => {
            let reason = format!("revert failed: {reason}");
            Judgement {
                tested: true,
                ..judgement(
                    Verdict::Inconclusive,
                    every(&expectations, ExpectationOutcome::Inconclusive, &reason),
                    reason,
                )
            }
        }
        Ending::Reverted { dry_run: true, .. } => {
            let reason = "dry run: nothing was injected".to_owned();
            judgement(
                Verdict::Inconclusive,
                every(&expectations, ExpectationOutcome::Inconclusive, &reason),
                reason,
            )
        }
        Ending::Reverted {
            revert_started_at_ms,
            already_restored,
            cut_short,
            dry_run: false,
        } => match observed.injected_at_ms {
            None => {
                let reason = "the analyzer missed this fault's injection".to_owned();
                Judgement {
                    tested: true,
                    aborted: cut_short.is_some(),
                    ..judgement(
                        Verdict::Inconclusive,
                        every(&expectations, ExpectationOutcome::Inconclusive, &reason),
                        reason,
                    )
                }
            }
            Some(injected_at_ms) => injected(
                observed,
                &expectations,
                &Window {
                    injected_at_ms,
                    revert_started_at_ms: *revert_started_at_ms,
                    already_restored: *already_restored,
                    cut_short: cut_short.as_deref(),
                },
            ),
        },
    }
}

fn refused_by(expectations: &[Expectation], control: &str) -> Judgement {
    let nothing = "the change was prevented: there was nothing to detect or correct";
    let results = expectations
        .iter()
        .map(|expectation| match kind_of(expectation) {
            ControlKind::Preventive => result(
                expectation,
                ExpectationOutcome::Met,
                None,
                vec![control.to_owned()],
                String::new(),
            ),
            _ => result(
                expectation,
                ExpectationOutcome::Inconclusive,
                None,
                Vec::new(),
                nothing.to_owned(),
            ),
        })
        .collect();
    Judgement {
        prevented_by: control.to_owned(),
        tested: true,
        ..judgement(Verdict::Prevented, results, format!("refused by {control}"))
    }
}

/// The injected fault's window: from the mutating call's return to the start of rdfi's revert.
struct Window<'a> {
    injected_at_ms: i64,
    revert_started_at_ms: i64,
    already_restored: bool,
    cut_short: Option<&'a str>,
}

impl Window<'_> {
    fn since_injection(&self, at_ms: i64) -> u64 {
        u64::try_from(at_ms.saturating_sub(self.injected_at_ms)).unwrap_or(0)
    }

    fn held_ms(&self) -> u64 {
        self.since_injection(self.revert_started_at_ms)
    }

    /// The deadline of an expectation: its own, else the revert.
    fn deadline(&self, expectation: &Expectation) -> u64 {
        expectation.within_ms.unwrap_or_else(|| self.held_ms())
    }

    /// An expectation answered `latency` after the injection, or not at all.
    fn outcome(
        &self,
        expectation: &Expectation,
        latency_ms: Option<u64>,
        answered_by: Vec<String>,
        unanswered: String,
    ) -> ExpectationResult {
        let deadline = self.deadline(expectation);
        match latency_ms {
            Some(latency) if latency <= deadline => result(
                expectation,
                ExpectationOutcome::Met,
                Some(latency),
                answered_by,
                String::new(),
            ),
            Some(latency) => result(
                expectation,
                ExpectationOutcome::Late,
                Some(latency),
                answered_by,
                format!(
                    "answered after {}, expected within {}",
                    duration(latency),
                    duration(deadline)
                ),
            ),
            None => match self.cut_short {
                Some(why) if self.held_ms() < deadline => result(
                    expectation,
                    ExpectationOutcome::Inconclusive,
                    None,
                    answered_by,
                    format!(
                        "{why}: held {} of the {} the control had",
                        duration(self.held_ms()),
                        duration(deadline)
                    ),
                ),
                _ => result(
                    expectation,
                    ExpectationOutcome::Failed,
                    None,
                    answered_by,
                    format!("{unanswered} within {}", duration(deadline)),
                ),
            },
        }
    }
}

/// The first signal of each source, in the order they answered.
fn first_signals(signals: &[Signal]) -> Vec<&Signal> {
    let mut sorted: Vec<&Signal> = signals.iter().collect();
    sorted.sort_by_key(|signal| signal.at_ms);
    let mut firsts: Vec<&Signal> = Vec::new();
    for signal in sorted {
        if !firsts
            .iter()
            .any(|first| same_source(&first.source, &signal.source))
        {
            firsts.push(signal);
        }
    }
    firsts
}

fn detection(
    window: &Window<'_>,
    expectation: &Expectation,
    firsts: &[&Signal],
) -> ExpectationResult {
    let expected = |signal: &&&Signal| {
        expectation.sources.is_empty()
            || expectation
                .sources
                .iter()
                .any(|source| same_source(source, &signal.source))
    };
    let answered: Vec<&Signal> = firsts.iter().filter(expected).copied().collect();
    let answered_by: Vec<String> = answered
        .iter()
        .map(|signal| signal.source.clone())
        .collect();
    let all = SourceMode::try_from(expectation.mode) == Ok(SourceMode::All)
        && !expectation.sources.is_empty();
    if all {
        let silent: Vec<&str> = expectation
            .sources
            .iter()
            .filter(|source| !answered.iter().any(|s| same_source(&s.source, source)))
            .map(String::as_str)
            .collect();
        let latency = silent
            .is_empty()
            .then(|| {
                answered
                    .iter()
                    .map(|s| window.since_injection(s.at_ms))
                    .max()
            })
            .flatten();
        let unanswered = format!("no signal from {}", silent.join(", "));
        return window.outcome(expectation, latency, answered_by, unanswered);
    }
    let latency = answered
        .first()
        .map(|signal| window.since_injection(signal.at_ms));
    let unanswered = if expectation.sources.is_empty() {
        "no detection signal".to_owned()
    } else {
        format!("no signal from {}", expectation.sources.join(" or "))
    };
    window.outcome(expectation, latency, answered_by, unanswered)
}

fn injected(observed: &Observed, expectations: &[Expectation], window: &Window<'_>) -> Judgement {
    let firsts = first_signals(&observed.signals);
    // A correction counts only if it came before rdfi's own revert; when only the executor noticed it, the
    // revert's start bounds its time.
    let corrected_at = observed
        .restored_at_ms
        .filter(|at| *at <= window.revert_started_at_ms)
        .or(window
            .already_restored
            .then_some(window.revert_started_at_ms));
    let results: Vec<ExpectationResult> = expectations
        .iter()
        .map(|expectation| match kind_of(expectation) {
            ControlKind::Preventive => result(
                expectation,
                ExpectationOutcome::Failed,
                None,
                Vec::new(),
                "the cloud accepted the change".to_owned(),
            ),
            ControlKind::Detective => detection(window, expectation, &firsts),
            ControlKind::Corrective => window.outcome(
                expectation,
                corrected_at.map(|at| window.since_injection(at)),
                Vec::new(),
                match observed
                    .partial_restores
                    .iter()
                    .filter(|partial| partial.at_ms <= window.revert_started_at_ms)
                    .min_by_key(|partial| partial.remaining)
                {
                    Some(partial) => format!(
                        "only partly restored ({} of {} changes left at {}), not fully",
                        partial.remaining,
                        partial.injected,
                        duration(window.since_injection(partial.at_ms))
                    ),
                    None => "not restored by anyone else".to_owned(),
                },
            ),
            ControlKind::Unspecified => result(
                expectation,
                ExpectationOutcome::Inconclusive,
                None,
                Vec::new(),
                "the expectation names no kind of control".to_owned(),
            ),
        })
        .collect();
    let answered = |kind: ControlKind, outcomes: &[ExpectationOutcome]| {
        results
            .iter()
            .filter(|r| {
                r.expectation.as_ref().map(kind_of) == Some(kind) && outcomes.contains(&r.outcome())
            })
            .min_by_key(|r| r.latency_ms)
    };
    let answer = [ExpectationOutcome::Met, ExpectationOutcome::Late];
    let detected = answered(ControlKind::Detective, &answer);
    let corrected = answered(ControlKind::Corrective, &answer);
    let met = |kind| answered(kind, &[ExpectationOutcome::Met]).is_some();
    let inconclusive = results
        .iter()
        .find(|r| r.outcome() == ExpectationOutcome::Inconclusive);
    let (verdict, reason) = if met(ControlKind::Corrective) {
        (Verdict::Corrected, String::new())
    } else if met(ControlKind::Detective) {
        (Verdict::Detected, String::new())
    } else if let Some(inconclusive) = inconclusive {
        (Verdict::Inconclusive, inconclusive.reason.clone())
    } else if let Some(why) = window.cut_short {
        // The controls had less time than the hypothesis gave them: never a miss.
        (
            Verdict::Inconclusive,
            format!("{why}: {}", missed_reason(&results)),
        )
    } else {
        (Verdict::Missed, missed_reason(&results))
    };
    Judgement {
        time_to_detect_ms: detected.and_then(|r| r.latency_ms),
        time_to_correct_ms: corrected.and_then(|r| r.latency_ms),
        detected_by: detected
            .and_then(|r| r.answered_by.first().cloned())
            .unwrap_or_default(),
        tested: true,
        aborted: window.cut_short.is_some(),
        ..judgement(verdict, results, reason)
    }
}

fn missed_reason(results: &[ExpectationResult]) -> String {
    let reasons: Vec<String> = results
        .iter()
        .filter(|r| !r.reason.is_empty())
        .map(|r| {
            let kind = r
                .expectation
                .as_ref()
                .map(kind_of)
                .unwrap_or(ControlKind::Unspecified);
            format!("{}: {}", kind.label(), r.reason)
        })
        .collect();
    if reasons.is_empty() {
        "no expected control answered".to_owned()
    } else {
        reasons.join("; ")
    }
}

#[cfg(test)]
mod tests;
