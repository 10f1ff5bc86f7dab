//! The run report, built from what knowledge recorded: a table for people, JSON for pipelines.

use rdfi_proto::unix_millis;
use rdfi_proto::v1::{
    ExpectationResult, ExposureProof, FaultState, GetRunResponse, SourceMode, Verdict,
};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub run_id: String,
    pub experiment: String,
    pub provider: String,
    pub hypotheses_held: bool,
    /// Faults really tested: injected (not in a dry run) or refused by a control rdfi named.
    pub tested: u32,
    /// Faults cut short by an abort or an interruption.
    pub aborted: u32,
    /// Why the run tested nothing, when it did not: it then passes no gate (exit code 4).
    pub nothing_tested: Option<String>,
    pub duration_ms: Option<i64>,
    pub faults: Vec<FaultReport>,
    pub findings: Vec<FindingReport>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultReport {
    pub fault_instance_id: String,
    pub fault_id: String,
    /// The resource's id (its ARN on AWS).
    pub resource: String,
    pub resource_name: String,
    pub verdict: String,
    pub time_to_detect_ms: Option<u64>,
    pub time_to_correct_ms: Option<u64>,
    pub detected_by: Option<String>,
    /// The preventive control that refused the change, named with where it is attached.
    pub prevented_by: Option<String>,
    /// Each control the hypothesis expected to answer, and how it did.
    pub expectations: Vec<ExpectationReport>,
    /// Why the fault was reverted before its deadline (an abort, an interruption).
    pub cut_short: Option<String>,
    /// The action the cloud refused, when the fault was refused.
    pub denied_action: Option<String>,
    /// The resource is as it was before the fault, checked by reading it back (true when nothing was changed).
    pub revert_verified: bool,
    /// The fault's lifecycle state: `reverted`, `revert_failed`, `prevented`, `rejected`, ...
    pub state: String,
    /// Someone else changed the resource while the fault was active; the revert kept their change.
    pub changed_by_others: bool,
    pub dry_run: bool,
    /// What the injection changed, or in a dry run would have changed.
    pub change: Option<String>,
    pub reason: Option<String>,
    /// For a fault that makes data public: what an outsider's anonymous read of rdfi's canary got.
    pub exposure: Option<ExposureReport>,
}

/// The proof of a fault's exposure: a canary object placed after the injection, read anonymously.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposureReport {
    /// `exposed` (the anonymous read got the canary), `neutralized` (the cloud accepted the grant but refused
    /// the read), `unproven` (the read failed otherwise).
    pub outcome: String,
    /// `get-object` or `list-objects`.
    pub read: String,
    /// The canary object's key in the faulted bucket (removed with the revert).
    pub canary_key: String,
    /// What the anonymous request got.
    pub answer: String,
    /// When it was read (milliseconds since the Unix epoch).
    pub read_at_ms: Option<i64>,
}

impl ExposureReport {
    fn from_proof(proof: &ExposureProof) -> Self {
        ExposureReport {
            outcome: proof.outcome().label().to_owned(),
            read: proof.read.clone(),
            canary_key: proof.canary_key.clone(),
            answer: proof.answer.clone(),
            read_at_ms: proof.read_at.as_ref().map(unix_millis),
        }
    }
}

/// One expectation of a fault's hypothesis, as it ended.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectationReport {
    /// `prevent`, `detect` or `correct`.
    pub kind: String,
    /// The deadline, from the moment the mutating call returned.
    pub within_ms: Option<u64>,
    /// The sources expected to answer, by name; empty: any.
    pub sources: Vec<String>,
    /// `any` or `all` of the sources.
    pub mode: String,
    /// `met`, `late`, `failed` or `inconclusive`.
    pub outcome: String,
    pub latency_ms: Option<u64>,
    pub answered_by: Vec<String>,
    pub reason: Option<String>,
}

impl ExpectationReport {
    fn from_result(result: &ExpectationResult) -> Self {
        let expectation = result.expectation.clone().unwrap_or_default();
        ExpectationReport {
            kind: expectation.kind().label().to_owned(),
            within_ms: expectation.within_ms,
            mode: match expectation.mode() {
                SourceMode::Any => "any",
                SourceMode::All => "all",
            }
            .to_owned(),
            sources: expectation.sources,
            outcome: result.outcome().label().to_owned(),
            latency_ms: result.latency_ms,
            answered_by: result.answered_by.clone(),
            reason: non_empty(&result.reason),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingReport {
    pub finding_id: String,
    pub fault_id: String,
    pub resource: String,
    pub title: String,
    pub severity: String,
    pub remediation: String,
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl Report {
    pub fn from_run(run: &GetRunResponse) -> Report {
        let summary = run.run.clone().unwrap_or_default();
        let duration_ms = summary
            .completed_at
            .as_ref()
            .zip(summary.started_at.as_ref())
            .map(|(completed, started)| unix_millis(completed) - unix_millis(started));
        let mut report = Report {
            run_id: summary.run_id.clone(),
            experiment: summary.experiment.clone(),
            provider: summary.provider.clone(),
            hypotheses_held: summary.hypotheses_held,
            tested: summary.tested,
            aborted: summary.aborted,
            nothing_tested: None,
            duration_ms,
            faults: run
                .faults
                .iter()
                .map(|fault| {
                    let resource = fault.resource.clone().unwrap_or_default();
                    let state = fault.state();
                    let untouched = matches!(state, FaultState::Prevented | FaultState::Rejected);
                    FaultReport {
                        fault_instance_id: fault.fault_instance_id.clone(),
                        fault_id: fault.fault_id.clone(),
                        resource: resource.id,
                        resource_name: resource.name,
                        verdict: fault.verdict().label().to_owned(),
                        time_to_detect_ms: fault.time_to_detect_ms,
                        time_to_correct_ms: fault.time_to_correct_ms,
                        detected_by: non_empty(&fault.detected_by),
                        prevented_by: non_empty(&fault.prevented_by),
                        expectations: fault
                            .expectations
                            .iter()
                            .map(ExpectationReport::from_result)
                            .collect(),
                        cut_short: non_empty(&fault.cut_short),
                        denied_action: non_empty(&fault.denied_action),
                        revert_verified: fault.revert_verified || untouched,
                        state: state.label().to_owned(),
                        changed_by_others: fault.changed_by_others,
                        dry_run: fault.dry_run,
                        change: non_empty(&fault.change),
                        reason: non_empty(&fault.reason),
                        exposure: fault.exposure.as_ref().map(ExposureReport::from_proof),
                    }
                })
                .collect(),
            findings: run
                .findings
                .iter()
                .map(|finding| FindingReport {
                    finding_id: finding.finding_id.clone(),
                    fault_id: finding.fault_id.clone(),
                    resource: finding.resource.clone().unwrap_or_default().id,
                    title: finding.title.clone(),
                    severity: finding.severity.clone(),
                    remediation: finding.remediation.clone(),
                })
                .collect(),
            notes: summary.notes,
        };
        report.nothing_tested = report.why_nothing_was_tested();
        report
    }

    /// Why the run tested nothing, when it did not; `None` when some fault was tested.
    fn why_nothing_was_tested(&self) -> Option<String> {
        if self.tested > 0 {
            return None;
        }
        let count = |state: FaultState| {
            self.faults
                .iter()
                .filter(|fault| fault.state == state.label())
                .count()
        };
        let why = if self.faults.is_empty() {
            "no fault was planned: no resource matched the experiment's targets".to_owned()
        } else if self.faults.iter().all(|fault| fault.dry_run) {
            "it was a dry run: nothing was changed".to_owned()
        } else if count(FaultState::Prevented) > 0 {
            let actions: Vec<&str> = self
                .faults
                .iter()
                .filter(|fault| fault.state == FaultState::Prevented.label())
                .filter_map(|fault| fault.denied_action.as_deref())
                .collect();
            format!(
                "every change was refused and rdfi could name no control that refused it; rdfi may lack {}",
                if actions.is_empty() {
                    "the permissions to make them".to_owned()
                } else {
                    actions.join(", ")
                }
            )
        } else if count(FaultState::Rejected) == self.faults.len() {
            format!(
                "every fault was rejected before any change{}",
                self.faults
                    .iter()
                    .find_map(|fault| fault.reason.as_deref())
                    .map_or(String::new(), |reason| format!(" (first: {reason})"))
            )
        } else {
            "no fault reached its injection".to_owned()
        };
        Some(why)
    }

    /// Whether any fault is still open: its revert failed and rdfi keeps trying.
    pub fn revert_failed(&self) -> bool {
        self.faults
            .iter()
            .any(|fault| fault.state == FaultState::RevertFailed.label())
    }

    /// The process exit code: 3 a revert failed or a fault was cut short by an abort, 4 nothing was tested,
    /// 1 a hypothesis failed, 0 every hypothesis held and something was tested.
    pub fn exit_code(&self) -> i32 {
        exit_code(
            self.revert_failed(),
            self.aborted,
            self.tested,
            self.hypotheses_held,
        )
    }

    pub fn to_table(&self) -> String {
        let millis = |value: Option<u64>| value.map_or("-".to_owned(), crate::human::duration);
        let mut rows = vec![[
            "FAULT".to_owned(),
            "RESOURCE".to_owned(),
            "VERDICT".to_owned(),
            "TIME TO DETECT".to_owned(),
            "TIME TO CORRECT".to_owned(),
            "REVERTED".to_owned(),
        ]];
        for fault in &self.faults {
            let untouched = [FaultState::Prevented, FaultState::Rejected]
                .map(FaultState::label)
                .contains(&fault.state.as_str());
            let reverted = match () {
                _ if untouched => "n/a (unchanged)",
                _ if fault.dry_run => "n/a (dry run)",
                _ if fault.revert_verified && fault.changed_by_others => {
                    "yes, verified (others' changes kept)"
                }
                _ if fault.revert_verified => "yes, verified",
                _ => "NO",
            };
            rows.push([
                fault.fault_id.clone(),
                fault.resource_name.clone(),
                fault.verdict.clone(),
                millis(fault.time_to_detect_ms),
                millis(fault.time_to_correct_ms),
                reverted.to_owned(),
            ]);
        }
        let mut out = format!(
            "run {} · experiment {} · provider {}{}\n\n",
            self.run_id,
            self.experiment,
            self.provider,
            self.duration_ms.map_or(String::new(), |ms| format!(
                " · {}",
                crate::human::duration(u64::try_from(ms).unwrap_or(0))
            )),
        );
        out.push_str(&crate::columns(&rows));
        for fault in self.faults.iter().filter(|fault| fault.dry_run) {
            if let Some(change) = &fault.change {
                out.push_str(&format!("\nwould change {}: {change}", fault.resource_name));
            }
        }
        for fault in self
            .faults
            .iter()
            .filter(|fault| fault.verdict != Verdict::Missed.label())
        {
            if let Some(reason) = &fault.reason {
                out.push_str(&format!(
                    "\n{} on {}: {reason}",
                    fault.fault_id, fault.resource_name
                ));
            }
        }
        for fault in &self.faults {
            if let Some(exposure) = &fault.exposure {
                out.push_str(&format!(
                    "\n{} on {}: {} (anonymous {} of canary {}: {})",
                    fault.fault_id,
                    fault.resource_name,
                    exposure.outcome,
                    exposure.read,
                    exposure.canary_key,
                    exposure.answer
                ));
            }
        }
        for note in &self.notes {
            out.push_str(&format!("\nnote: {note}"));
        }
        for fault in &self.faults {
            for expectation in &fault.expectations {
                let latency = expectation.latency_ms.map_or(String::new(), |ms| {
                    format!(" after {}", crate::human::duration(ms))
                });
                let by = if expectation.answered_by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", expectation.answered_by.join(", "))
                };
                let reason = expectation
                    .reason
                    .as_ref()
                    .map_or(String::new(), |reason| format!(": {reason}"));
                out.push_str(&format!(
                    "\n{} on {}: {} {}{latency}{by}{reason}",
                    fault.fault_id, fault.resource_name, expectation.kind, expectation.outcome
                ));
            }
        }
        if let Some(why) = &self.nothing_tested {
            out.push_str(&format!("\n\nNothing was tested: {why}.\n"));
        } else if self.findings.is_empty() && self.aborted > 0 {
            out.push_str(&format!(
                "\n\nNo findings, but {} fault(s) were cut short: their verdicts are inconclusive.\n",
                self.aborted
            ));
        } else if self.findings.is_empty() {
            out.push_str(&format!(
                "\n\nNo findings: each of the {} fault(s) tested was prevented, detected or corrected in time.\n",
                self.tested
            ));
        } else {
            out.push_str(&format!("\n\n{} finding(s):\n", self.findings.len()));
            for finding in &self.findings {
                out.push_str(&format!(
                    "\n[{}] {}\n  resource: {}\n  fix: {}\n",
                    finding.severity.to_uppercase(),
                    finding.title,
                    finding.resource,
                    finding.remediation
                ));
            }
        }
        out
    }
}

/// The exit code of a run: 3 a revert failed or a fault was cut short by an abort, 4 nothing was tested, 1 a
/// hypothesis failed, 0 every hypothesis held on something tested.
pub fn exit_code(revert_failed: bool, aborted: u32, tested: u32, hypotheses_held: bool) -> i32 {
    if revert_failed || aborted > 0 {
        3
    } else if tested == 0 {
        4
    } else if hypotheses_held {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests;
