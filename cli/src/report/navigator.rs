//! The report as an ATT&CK Navigator layer (layer format 4.5, Enterprise ATT&CK 16): each technique the run's
//! faults map to, scored 0 to 100 by how well the controls expected for those faults defend it, measured.
//!
//! A fault is caught when any of its expected controls answers in time, so its defence is
//! 1 − Π (1 − efficacy) over the scorecards of its controls (each efficacy the mean of the control's Beta
//! posterior); a technique is as well defended as its weakest fault. A technique whose controls have no
//! scorecard yet is listed without a score. The comment gives the numbers.

use std::collections::BTreeMap;

use rdfi_core::catalogue;
use serde_json::{Value, json};

use super::Report;

/// How well a fault is defended (0 to 1), and the numbers behind it; `None` without a scorecard.
fn defence(report: &Report, fault_id: &str) -> (Option<f64>, Vec<String>) {
    let mut miss = 1.0;
    let mut lines = Vec::new();
    for control in report.scorecards_of(fault_id) {
        let efficacy = &control.efficacy;
        miss *= 1.0 - efficacy.mean;
        lines.push(format!(
            "{} ({}): efficacy {:.0}% (90% interval {:.0}–{:.0}%, {} met, {} failed)",
            control.control,
            control.kind,
            efficacy.mean * 100.0,
            efficacy.lower * 100.0,
            efficacy.upper * 100.0,
            efficacy.met,
            efficacy.failed
        ));
    }
    ((!lines.is_empty()).then_some(1.0 - miss), lines)
}

pub fn render(report: &Report) -> Value {
    // Technique -> the faults of this run that map to it.
    let mut techniques: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for fault in &report.faults {
        if let Some(model) = catalogue::find(&fault.fault_id) {
            let faults = techniques.entry(model.attack_technique).or_default();
            if !faults.contains(&model.id) {
                faults.push(model.id);
            }
        }
    }
    let entries: Vec<Value> = techniques
        .iter()
        .map(|(technique, fault_ids)| {
            let mut score: Option<f64> = None;
            let mut comment = Vec::new();
            for fault_id in fault_ids {
                let (defended, lines) = defence(report, fault_id);
                let verdicts: Vec<&str> = report
                    .faults
                    .iter()
                    .filter(|fault| fault.fault_id == *fault_id)
                    .map(|fault| fault.verdict.as_str())
                    .collect();
                comment.push(match defended {
                    Some(defended) => format!(
                        "{fault_id}: defended {:.0}% (this run: {}); {}",
                        defended * 100.0,
                        verdicts.join(", "),
                        lines.join("; ")
                    ),
                    None => format!(
                        "{fault_id}: no control scorecard yet (this run: {})",
                        verdicts.join(", ")
                    ),
                });
                if let Some(defended) = defended {
                    score = Some(score.map_or(defended, |score| score.min(defended)));
                }
            }
            let mut entry = json!({
                "techniqueID": technique,
                "comment": comment.join("\n"),
                "enabled": true,
                "showSubtechniques": false,
                "metadata": [
                    { "name": "faults", "value": fault_ids.join(", ") },
                    { "name": "run", "value": report.run_id },
                ],
            });
            if let Some(score) = score {
                entry["score"] = json!((score * 100.0).round());
            }
            entry
        })
        .collect();
    json!({
        "name": format!("rdfi: {}", report.experiment),
        "versions": { "layer": "4.5", "navigator": "5.1.0", "attack": "16" },
        "domain": "enterprise-attack",
        "description": format!(
            "Techniques the faults of rdfi run {} map to, scored by the measured efficacy of the controls \
             expected to catch them (0: every control misses, 100: caught every time).",
            report.run_id
        ),
        "sorting": 0,
        "layout": { "layout": "side", "showName": true, "showID": true },
        "hideDisabled": false,
        "techniques": entries,
        "gradient": {
            "colors": ["#d73027ff", "#fee08bff", "#1a9850ff"],
            "minValue": 0,
            "maxValue": 100,
        },
        "legendItems": [
            { "label": "controls miss it", "color": "#d73027ff" },
            { "label": "caught every time", "color": "#1a9850ff" },
        ],
        "metadata": [
            { "name": "run", "value": report.run_id },
            { "name": "experiment", "value": report.experiment },
        ],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    })
}
