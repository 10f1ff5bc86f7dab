//! The report's findings as OCSF (1.5) Detection Findings (class 2004, category Findings), a JSON array, for
//! a SIEM or a data lake: what went uncaught (finding_info), how bad (severity, risk score), where
//! (resources, cloud), how to fix it (remediation), and which ATT&CK technique it opens.

use rdfi_core::catalogue;
use serde_json::{Value, json};

use super::{FindingReport, Report, technique_name};

pub const OCSF_VERSION: &str = "1.5.0";
const DETECTION_FINDING: u32 = 2004;
const CREATE: u32 = 1;

/// OCSF's severity_id and its caption for rdfi's severity.
fn severity(severity: &str) -> (u32, &'static str) {
    match severity {
        "low" => (2, "Low"),
        "medium" => (3, "Medium"),
        "high" => (4, "High"),
        "critical" => (5, "Critical"),
        _ => (0, "Unknown"),
    }
}

/// OCSF's risk_level_id and caption for a risk score (0 to 100), in fifths.
fn risk_level(score: f64) -> (u32, &'static str) {
    match score {
        score if score >= 80.0 => (4, "Critical"),
        score if score >= 60.0 => (3, "High"),
        score if score >= 40.0 => (2, "Medium"),
        score if score >= 20.0 => (1, "Low"),
        _ => (0, "Info"),
    }
}

fn cloud_provider(provider: &str) -> &str {
    match provider {
        "aws" => "AWS",
        "gcp" => "GCP",
        other => other,
    }
}

fn detection_finding(report: &Report, finding: &FindingReport) -> Value {
    let fault = report
        .faults
        .iter()
        .find(|fault| fault.fault_instance_id == finding.fault_instance_id);
    let model = catalogue::find(&finding.fault_id);
    let time = finding
        .created_at_ms
        .or(report.completed_at_ms)
        .unwrap_or_default();
    let (severity_id, severity) = severity(&finding.severity);
    let (risk_level_id, risk_level) = risk_level(finding.risk.score);
    let region = fault.map(|fault| fault.region.as_str()).unwrap_or_default();
    let mut resource = json!({
        "uid": finding.resource,
        "name": finding.resource_name,
        "type": fault.map(|fault| fault.resource_type.as_str()).unwrap_or_default(),
    });
    if !region.is_empty() {
        resource["region"] = json!(region);
    }
    if !finding.risk.criticality.is_empty() {
        resource["criticality"] = json!(finding.risk.criticality);
    }
    let mut finding_info = json!({
        "uid": finding.finding_id,
        "title": finding.title,
        "desc": format!(
            "rdfi injected the fault {} into {} and no expected control prevented, detected or corrected it \
             in time{}.",
            finding.fault_id,
            finding.resource,
            if finding.controls.is_empty() {
                String::new()
            } else {
                format!(" (missed by {})", finding.controls.join(", "))
            }
        ),
        "types": ["Security Control Gap", finding.fault_id],
        "created_time": time,
        "data_sources": ["rdfi"],
    });
    if let Some(model) = model {
        let technique = model.attack_technique;
        finding_info["attacks"] = json!([{
            "technique": {
                "uid": technique,
                "name": technique_name(technique).unwrap_or(technique),
                "src_url": format!("https://attack.mitre.org/techniques/{}/", technique.replace('.', "/")),
            },
            "version": "16",
        }]);
    }
    let mut event = json!({
        "activity_id": CREATE,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": DETECTION_FINDING,
        "class_name": "Detection Finding",
        "type_uid": DETECTION_FINDING * 100 + CREATE,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "time": time,
        "message": finding.title,
        "finding_info": finding_info,
        "resources": [resource],
        "remediation": { "desc": finding.remediation },
        "risk_score": finding.risk.score.round() as i64,
        "risk_level_id": risk_level_id,
        "risk_level": risk_level,
        "risk_details": format!(
            "CVSS base score {:.1}, criticality {}, exposure {}, miss probability {:.2} (docs/risk.md)",
            finding.risk.cvss_base_score,
            finding.risk.criticality,
            finding.risk.exposure,
            finding.risk.miss_probability
        ),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": finding.finding_id,
            "correlation_uid": report.run_id,
            "event_code": finding.fault_id,
            "product": {
                "name": "rdfi",
                "vendor_name": "rdfi",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "profiles": ["cloud"],
        },
        "cloud": { "provider": cloud_provider(&report.provider) },
    });
    if !region.is_empty() {
        event["cloud"]["region"] = json!(region);
    }
    event
}

pub fn render(report: &Report) -> Value {
    Value::Array(
        report
            .findings
            .iter()
            .map(|finding| detection_finding(report, finding))
            .collect(),
    )
}
