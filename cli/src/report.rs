//! The run report, built from what knowledge recorded: a table for people, JSON for pipelines.

use rdfi_proto::unix_millis;
use rdfi_proto::v1::{FaultState, GetRunResponse, Verdict};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub run_id: String,
    pub experiment: String,
    pub provider: String,
    pub hypotheses_held: bool,
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
        Report {
            run_id: summary.run_id.clone(),
            experiment: summary.experiment.clone(),
            provider: summary.provider.clone(),
            hypotheses_held: summary.hypotheses_held,
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
                        revert_verified: fault.revert_verified || untouched,
                        state: state.label().to_owned(),
                        changed_by_others: fault.changed_by_others,
                        dry_run: fault.dry_run,
                        change: non_empty(&fault.change),
                        reason: non_empty(&fault.reason),
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
        }
    }

    /// Whether any fault is still open: its revert failed and rdfi keeps trying.
    pub fn revert_failed(&self) -> bool {
        self.faults
            .iter()
            .any(|fault| fault.state == FaultState::RevertFailed.label())
    }

    /// The process exit code: 0 every hypothesis held, 1 a hypothesis failed, 3 a revert failed.
    pub fn exit_code(&self) -> i32 {
        if self.revert_failed() {
            3
        } else if self.hypotheses_held {
            0
        } else {
            1
        }
    }

    pub fn to_table(&self) -> String {
        let millis = |value: Option<u64>| value.map_or("-".to_owned(), |ms| format!("{ms} ms"));
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
                " · {:.1} s",
                ms as f64 / 1000.0
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
        for note in &self.notes {
            out.push_str(&format!("\nnote: {note}"));
        }
        if self.findings.is_empty() {
            out.push_str(
                "\n\nNo findings: every fault was prevented, detected or corrected in time.\n",
            );
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
