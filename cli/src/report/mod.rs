//! The run report, built from what knowledge recorded: a table for people, JSON for pipelines, and one module
//! per format other tools read: [`markdown`] (pull requests), [`html`] (one self-contained page), [`sarif`]
//! (GitHub code scanning), [`junit`] (CI test reports), [`ocsf`] (SIEMs and data lakes) and [`navigator`] (an
//! ATT&CK Navigator layer). Each renders a [`Report`]; none reads anything else but the fault catalogue.

pub mod html;
pub mod junit;
pub mod markdown;
pub mod navigator;
pub mod ocsf;
pub mod sarif;

use std::path::{Path, PathBuf};

use rdfi_knowledge::scorecard::trials;
use rdfi_proto::unix_millis;
use rdfi_proto::v1::{
    ControlKind, ControlScorecard, ExpectationResult, ExposureProof, FaultRecord, FaultState,
    Finding, GetRunResponse, SourceMode, Verdict,
};
use serde::Serialize;

/// The formats a report is written in, and the file each is written to in an output directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Markdown,
    Html,
    Sarif,
    Junit,
    Ocsf,
    Navigator,
}

impl ReportFormat {
    /// The file name `--output-dir` writes this format to.
    pub fn file_name(self) -> &'static str {
        match self {
            ReportFormat::Json => "report.json",
            ReportFormat::Markdown => "report.md",
            ReportFormat::Html => "report.html",
            ReportFormat::Sarif => "report.sarif",
            ReportFormat::Junit => "report.junit.xml",
            ReportFormat::Ocsf => "report.ocsf.json",
            ReportFormat::Navigator => "report.navigator.json",
        }
    }

    /// The report in this format.
    pub fn render(self, report: &Report) -> String {
        let json = |value: serde_json::Value| {
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            text.push('\n');
            text
        };
        match self {
            ReportFormat::Json => json(serde_json::to_value(report).unwrap_or_default()),
            ReportFormat::Markdown => markdown::render(report),
            ReportFormat::Html => html::render(report),
            ReportFormat::Sarif => json(sarif::render(report)),
            ReportFormat::Junit => junit::render(report),
            ReportFormat::Ocsf => json(ocsf::render(report)),
            ReportFormat::Navigator => json(navigator::render(report)),
        }
    }
}

/// Writes the report in each format into `directory` (created if missing), one file per format; returns the
/// paths written.
pub fn write_all(
    report: &Report,
    formats: &[ReportFormat],
    directory: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(directory)?;
    formats
        .iter()
        .map(|format| {
            let path = directory.join(format.file_name());
            std::fs::write(&path, format.render(report))?;
            Ok(path)
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub run_id: String,
    pub experiment: String,
    /// The experiment file the run came from, when the command that wrote the report knows it (`rdfi run`,
    /// `rdfi submit`, `rdfi report --experiment-file`): SARIF results point at it.
    pub experiment_file: Option<String>,
    pub provider: String,
    pub hypotheses_held: bool,
    /// Faults really tested: injected (not in a dry run) or refused by a control rdfi named.
    pub tested: u32,
    /// Faults cut short by an abort or an interruption.
    pub aborted: u32,
    /// Why the run tested nothing, when it did not: it then passes no gate (exit code 4).
    pub nothing_tested: Option<String>,
    pub started_at_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub faults: Vec<FaultReport>,
    /// Riskiest first.
    pub findings: Vec<FindingReport>,
    /// The scorecards of the controls this run put to the test (docs/risk.md says which an expectation tests):
    /// each control's measured efficacy against the fault, across every run knowledge holds.
    pub controls: Vec<ControlReport>,
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
    pub resource_type: String,
    pub region: String,
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
    /// What happened to the fault, in time: injected, the signals and restorations observed, reverted.
    pub timeline: TimelineReport,
}

/// A fault's life in time (milliseconds since the Unix epoch).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineReport {
    pub injected_at_ms: Option<i64>,
    /// Signals about the resource and restorations of it, oldest first.
    pub observations: Vec<ObservationReport>,
    /// When a corrective control restored the secure state, when one did before rdfi's revert.
    pub corrected_at_ms: Option<i64>,
    pub reverted_at_ms: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationReport {
    /// `signal`, `restored` or `partially_restored`.
    pub kind: String,
    pub source: String,
    pub title: String,
    pub severity: String,
    pub observed_at_ms: Option<i64>,
}

impl TimelineReport {
    fn of(fault: &FaultRecord) -> Self {
        let injected_at_ms = fault.injected_at.as_ref().map(unix_millis);
        let mut observations: Vec<ObservationReport> = fault
            .observations
            .iter()
            .map(|observation| ObservationReport {
                kind: observation.kind.clone(),
                source: observation.source.clone(),
                title: observation.title.clone(),
                severity: observation.severity.clone(),
                observed_at_ms: observation.observed_at.as_ref().map(unix_millis),
            })
            .collect();
        observations.sort_by_key(|observation| observation.observed_at_ms);
        let corrected_at_ms = injected_at_ms
            .zip(fault.time_to_correct_ms)
            .map(|(injected, after)| injected.saturating_add(after as i64))
            .or_else(|| {
                observations
                    .iter()
                    .find(|observation| observation.kind == "restored")
                    .and_then(|observation| observation.observed_at_ms)
            });
        TimelineReport {
            injected_at_ms,
            observations,
            corrected_at_ms,
            reverted_at_ms: fault.reverted_at.as_ref().map(unix_millis),
        }
    }
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
    pub run_id: String,
    pub fault_instance_id: String,
    pub fault_id: String,
    pub resource: String,
    pub resource_name: String,
    /// aws | gcp | sandbox
    pub provider: String,
    pub title: String,
    pub severity: String,
    pub remediation: String,
    pub created_at_ms: Option<i64>,
    /// How much this gap matters (docs/risk.md).
    pub risk: RiskReport,
    /// The controls that were expected to answer and did not.
    pub controls: Vec<String>,
    /// A miss after a catch: who caught it before, and in which run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression_of: Option<String>,
}

/// A finding's risk score (0 to 100) and what it is made of.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskReport {
    pub score: f64,
    pub cvss_base_score: f64,
    pub criticality: String,
    pub exposure: String,
    pub miss_probability: f64,
}

impl FindingReport {
    pub fn of(finding: &Finding) -> Self {
        let resource = finding.resource.clone().unwrap_or_default();
        let risk = finding.risk.clone().unwrap_or_default();
        FindingReport {
            finding_id: finding.finding_id.clone(),
            run_id: finding.run_id.clone(),
            fault_instance_id: finding.fault_instance_id.clone(),
            fault_id: finding.fault_id.clone(),
            resource: resource.id,
            resource_name: resource.name,
            provider: resource.provider,
            title: finding.title.clone(),
            severity: finding.severity.clone(),
            remediation: finding.remediation.clone(),
            created_at_ms: finding.created_at.as_ref().map(unix_millis),
            risk: RiskReport {
                score: risk.score,
                cvss_base_score: risk.cvss_base_score,
                criticality: risk.criticality,
                exposure: risk.exposure,
                miss_probability: risk.miss_probability,
            },
            controls: finding.controls.clone(),
            regression_of: (!finding.regression_of.is_empty())
                .then(|| finding.regression_of.clone()),
        }
    }
}

/// A control's scorecard against one kind of fault.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlReport {
    pub control: String,
    /// `prevent`, `detect` or `correct`.
    pub kind: String,
    pub fault_id: String,
    pub efficacy: EfficacyReport,
    pub latency: LatencyReport,
    /// Run by run, oldest first.
    pub history: Vec<ScorecardPointReport>,
}

/// A Beta posterior of efficacy: the mean and a 90% credible interval, from met and failed expectations.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EfficacyReport {
    pub met: u32,
    pub failed: u32,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyReport {
    pub answers: u32,
    pub mean_ms: Option<u64>,
    pub p90_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScorecardPointReport {
    pub run_id: String,
    pub at_ms: Option<i64>,
    pub met: u32,
    pub failed: u32,
    pub mean_latency_ms: Option<u64>,
    pub efficacy: EfficacyReport,
}

impl EfficacyReport {
    fn of(efficacy: Option<&rdfi_proto::v1::Efficacy>) -> Self {
        efficacy.map_or_else(EfficacyReport::default, |efficacy| EfficacyReport {
            met: efficacy.met,
            failed: efficacy.failed,
            mean: efficacy.mean,
            lower: efficacy.lower,
            upper: efficacy.upper,
        })
    }
}

impl ControlReport {
    pub fn of(scorecard: &ControlScorecard) -> Self {
        let latency = scorecard.latency.unwrap_or_default();
        ControlReport {
            control: scorecard.control.clone(),
            kind: ControlKind::try_from(scorecard.kind)
                .unwrap_or_default()
                .label()
                .to_owned(),
            fault_id: scorecard.fault_id.clone(),
            efficacy: EfficacyReport::of(scorecard.efficacy.as_ref()),
            latency: LatencyReport {
                answers: latency.answers,
                mean_ms: latency.mean_ms,
                p90_ms: latency.p90_ms,
            },
            history: scorecard
                .history
                .iter()
                .map(|point| ScorecardPointReport {
                    run_id: point.run_id.clone(),
                    at_ms: point.at.as_ref().map(unix_millis),
                    met: point.met,
                    failed: point.failed,
                    mean_latency_ms: point.mean_latency_ms,
                    efficacy: EfficacyReport::of(point.efficacy.as_ref()),
                })
                .collect(),
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl FaultReport {
    fn of(fault: &FaultRecord) -> Self {
        let resource = fault.resource.clone().unwrap_or_default();
        let state = fault.state();
        let untouched = matches!(state, FaultState::Prevented | FaultState::Rejected);
        FaultReport {
            fault_instance_id: fault.fault_instance_id.clone(),
            fault_id: fault.fault_id.clone(),
            resource: resource.id,
            resource_name: resource.name,
            resource_type: resource.resource_type,
            region: resource.region,
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
            timeline: TimelineReport::of(fault),
        }
    }
}

impl Report {
    /// The report of `run`, with the scorecards (from knowledge's `ListControls`) of the controls its
    /// expectations are about; other scorecards are left out.
    pub fn from_run(run: &GetRunResponse, scorecards: &[ControlScorecard]) -> Report {
        let summary = run.run.clone().unwrap_or_default();
        let started_at_ms = summary.started_at.as_ref().map(unix_millis);
        let completed_at_ms = summary.completed_at.as_ref().map(unix_millis);
        let faults: Vec<FaultReport> = run.faults.iter().map(FaultReport::of).collect();
        // The controls this run put to the test, named as knowledge scores them.
        let tested: Vec<(String, ControlKind, &str)> = run
            .faults
            .iter()
            .flat_map(|fault| {
                trials(fault)
                    .into_iter()
                    .map(|trial| (trial.control, trial.kind, fault.fault_id.as_str()))
            })
            .collect();
        let mut findings: Vec<FindingReport> = run.findings.iter().map(FindingReport::of).collect();
        findings.sort_by(|left, right| right.risk.score.total_cmp(&left.risk.score));
        let controls = scorecards
            .iter()
            .filter(|scorecard| {
                tested.iter().any(|(control, kind, fault_id)| {
                    *control == scorecard.control
                        && *kind as i32 == scorecard.kind
                        && *fault_id == scorecard.fault_id
                })
            })
            .map(ControlReport::of)
            .collect();
        let mut report = Report {
            run_id: summary.run_id.clone(),
            experiment: summary.experiment.clone(),
            experiment_file: None,
            provider: summary.provider.clone(),
            hypotheses_held: summary.hypotheses_held,
            tested: summary.tested,
            aborted: summary.aborted,
            nothing_tested: None,
            started_at_ms,
            completed_at_ms,
            duration_ms: completed_at_ms
                .zip(started_at_ms)
                .map(|(completed, started)| completed - started),
            faults,
            findings,
            controls,
            notes: summary.notes,
        };
        report.nothing_tested = report.why_nothing_was_tested();
        report
    }

    /// The same report, naming the experiment file it came from (SARIF results point at it).
    pub fn with_experiment_file(mut self, file: impl Into<String>) -> Report {
        self.experiment_file = Some(file.into());
        self
    }

    /// The scorecards of the controls expected to answer the fault `fault_id`.
    pub fn scorecards_of(&self, fault_id: &str) -> impl Iterator<Item = &ControlReport> {
        self.controls
            .iter()
            .filter(move |control| control.fault_id == fault_id)
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
        let millis = |value: Option<u64>| value.map_or("-".to_owned(), duration);
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
                duration(u64::try_from(ms).unwrap_or(0))
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
                let latency = expectation
                    .latency_ms
                    .map_or(String::new(), |ms| format!(" after {}", duration(ms)));
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
                let regression = finding
                    .regression_of
                    .as_ref()
                    .map(|before| format!("  regression: {before}, missed now\n"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "\n[{}] {}\n  resource: {}\n{regression}  fix: {}\n",
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

/// A duration as a person reads it: `401 ms`, `11.7 s`, `2 min 5 s`.
pub(crate) use crate::human::duration;

/// A point in time (milliseconds since the Unix epoch) in RFC 3339, UTC, to the millisecond.
pub(crate) fn rfc3339(ms: i64) -> String {
    humantime::format_rfc3339_millis(at(ms)).to_string()
}

/// The same to the second, as tables show it.
pub(crate) fn rfc3339_seconds(ms: i64) -> String {
    humantime::format_rfc3339_seconds(at(ms)).to_string()
}

fn at(ms: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64)
}

/// Text made safe inside XML and HTML, in element content and in quoted attributes alike. Characters XML 1.0
/// forbids (control characters other than tab, line feed and carriage return) are dropped: resource names and
/// signal titles come from outside.
pub(crate) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(character),
            control if control.is_control() => {}
            other => out.push(other),
        }
    }
    out
}

/// The name of each ATT&CK (Enterprise, v16) technique the catalogue's faults map to.
pub(crate) fn technique_name(id: &str) -> Option<&'static str> {
    Some(match id {
        "T1078.004" => "Valid Accounts: Cloud Accounts",
        "T1098" => "Account Manipulation",
        "T1098.001" => "Account Manipulation: Additional Cloud Credentials",
        "T1098.003" => "Account Manipulation: Additional Cloud Roles",
        "T1133" => "External Remote Services",
        "T1485" => "Data Destruction",
        "T1490" => "Inhibit System Recovery",
        "T1530" => "Data from Cloud Storage",
        "T1537" => "Transfer Data to Cloud Account",
        "T1552.005" => "Unsecured Credentials: Cloud Instance Metadata API",
        "T1555.006" => "Credentials from Password Stores: Cloud Secrets Management Stores",
        "T1556" => "Modify Authentication Process",
        "T1557" => "Adversary-in-the-Middle",
        "T1562" => "Impair Defenses",
        "T1562.001" => "Impair Defenses: Disable or Modify Tools",
        "T1562.007" => "Impair Defenses: Disable or Modify Cloud Firewall",
        "T1562.008" => "Impair Defenses: Disable or Modify Cloud Logs",
        "T1648" => "Serverless Execution",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
