//! The report as SARIF 2.1.0, for GitHub code scanning and other SARIF consumers: one result per finding, its
//! rule from the fault catalogue (id, title, remediation as help, ATT&CK, CIS and CVSS as properties, and
//! `security-severity`, the CVSS base score GitHub ranks alerts by).
//!
//! A finding is about a cloud resource, not a line of code, so each result has a logical location (the
//! resource, by ARN) and a physical location that points at the experiment file the run came from: GitHub
//! code scanning refuses results without a physical location. When the command does not know the file, the
//! location is `<experiment name>.yaml`, relative to the repository root (`rdfi report --experiment-file`
//! names it).

use rdfi_core::catalogue;
use serde_json::{Value, json};

use super::{FindingReport, Report};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF's level for a finding's severity: GitHub shows `error` as an error, `warning`, `note`.
fn level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

fn rule(fault_id: &str) -> Value {
    let Some(model) = catalogue::find(fault_id) else {
        return json!({
            "id": fault_id,
            "shortDescription": { "text": fault_id },
        });
    };
    let mut tags = vec![
        "security".to_owned(),
        "rdfi".to_owned(),
        model.attack_technique.to_owned(),
    ];
    tags.extend(model.cis_control.map(str::to_owned));
    json!({
        "id": model.id,
        "name": model.id,
        "shortDescription": { "text": model.title },
        "fullDescription": {
            "text": format!(
                "{} went uncaught: no expected control prevented, detected or corrected it in time.",
                model.title
            )
        },
        "help": {
            "text": model.remediation,
            "markdown": format!("**Remediation**: {}", model.remediation),
        },
        "defaultConfiguration": { "level": level(model.severity().label()) },
        "properties": {
            "tags": tags,
            "security-severity": format!("{:.1}", model.cvss_base_score()),
            "attackTechnique": model.attack_technique,
            "cisControl": model.cis_control,
            "cvssVector": model.cvss_vector,
            "cvssBaseScore": model.cvss_base_score(),
            "resourceType": model.resource_type,
        },
    })
}

fn result(report: &Report, finding: &FindingReport, rule_index: usize, file: &str) -> Value {
    let risk = &finding.risk;
    json!({
        "ruleId": finding.fault_id,
        "ruleIndex": rule_index,
        "level": level(&finding.severity),
        // SARIF's rank (0 to 100) is the risk score: the riskiest finding first.
        "rank": risk.score.clamp(0.0, 100.0),
        "message": {
            "text": format!("{} (resource {}). Fix: {}", finding.title, finding.resource, finding.remediation)
        },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": file },
                "region": { "startLine": 1 },
            },
            "logicalLocations": [{
                "name": finding.resource_name,
                "fullyQualifiedName": finding.resource,
                "kind": "resource",
            }],
        }],
        // One alert per fault and resource across runs, whatever the run's ids.
        "partialFingerprints": {
            "rdfiFinding/v1": format!("{}:{}", finding.fault_id, finding.resource),
        },
        "properties": {
            "findingId": finding.finding_id,
            "runId": report.run_id,
            "faultInstanceId": finding.fault_instance_id,
            "severity": finding.severity,
            "risk": {
                "score": risk.score,
                "cvssBaseScore": risk.cvss_base_score,
                "criticality": risk.criticality,
                "exposure": risk.exposure,
                "missProbability": risk.miss_probability,
            },
            "missedBy": finding.controls,
        },
    })
}

pub fn render(report: &Report) -> Value {
    let mut rule_ids: Vec<&str> = report
        .findings
        .iter()
        .map(|finding| finding.fault_id.as_str())
        .collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let file = report
        .experiment_file
        .clone()
        .unwrap_or_else(|| format!("{}.yaml", report.experiment));
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let index = rule_ids
                .iter()
                .position(|id| *id == finding.fault_id)
                .unwrap_or_default();
            result(report, finding, index, &file)
        })
        .collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": "rdfi",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rule_ids.iter().map(|id| rule(id)).collect::<Vec<_>>(),
            }
        },
        "automationDetails": { "id": format!("rdfi/{}/{}", report.experiment, report.run_id) },
        "results": results,
        "properties": {
            "experiment": report.experiment,
            "provider": report.provider,
            "tested": report.tested,
            "hypothesesHeld": report.hypotheses_held,
        },
    });
    if let (Some(started), Some(completed)) = (report.started_at_ms, report.completed_at_ms) {
        run["invocations"] = json!([{
            "executionSuccessful": report.nothing_tested.is_none(),
            "startTimeUtc": super::rfc3339(started),
            "endTimeUtc": super::rfc3339(completed),
        }]);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    })
}
