//! The report in Markdown, for a pull request comment or a CI job summary: what was tested and how it ended,
//! the faults, each expectation, the findings riskiest first with their fix, and the controls' scorecards.

use super::{FaultReport, Report, duration};

/// Text from outside (resource names, titles, reasons) made inert in Markdown: no table cell break, no HTML,
/// no line break.
fn text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// An identifier as inline code (a backtick in it would end the span early, so it becomes a quote).
fn code(value: &str) -> String {
    format!("`{}`", value.replace('`', "'").replace(['\n', '\r'], " "))
}

fn millis(value: Option<u64>) -> String {
    value.map_or("–".to_owned(), duration)
}

fn reverted(fault: &FaultReport) -> &'static str {
    match fault.state.as_str() {
        "prevented" | "rejected" => "n/a (unchanged)",
        _ if fault.dry_run => "n/a (dry run)",
        _ if fault.revert_verified && fault.changed_by_others => {
            "yes, verified (others' changes kept)"
        }
        _ if fault.revert_verified => "yes, verified",
        _ => "**NO**",
    }
}

pub fn render(report: &Report) -> String {
    let mut out = format!(
        "## rdfi: {} (run {})\n\n",
        text(&report.experiment),
        code(&report.run_id)
    );
    let outcome = if let Some(why) = &report.nothing_tested {
        format!("**Nothing was tested**: {}", text(why))
    } else if report.findings.is_empty() && report.aborted > 0 {
        format!(
            "**No findings**, but {} fault(s) were cut short: their verdicts are inconclusive",
            report.aborted
        )
    } else if report.findings.is_empty() {
        format!(
            "**No findings**: each of the {} fault(s) tested was prevented, detected or corrected in time",
            report.tested
        )
    } else {
        format!(
            "**{} finding(s)** among {} fault(s) tested",
            report.findings.len(),
            report.tested
        )
    };
    out.push_str(&outcome);
    out.push_str(&format!(" · provider {}", text(&report.provider)));
    if let Some(ms) = report.duration_ms {
        out.push_str(&format!(" · {}", duration(ms.max(0) as u64)));
    }
    out.push_str("\n\n");

    if !report.faults.is_empty() {
        out.push_str(
            "| Fault | Resource | Verdict | Time to detect | Time to correct | Reverted |\n",
        );
        out.push_str("|---|---|---|---|---|---|\n");
        for fault in &report.faults {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                code(&fault.fault_id),
                text(&fault.resource_name),
                fault.verdict,
                millis(fault.time_to_detect_ms),
                millis(fault.time_to_correct_ms),
                reverted(fault)
            ));
        }
        out.push('\n');
    }

    let expectations: Vec<String> = report
        .faults
        .iter()
        .flat_map(|fault| {
            fault.expectations.iter().map(move |expectation| {
                let mut line = format!(
                    "- {} on {}: {} **{}**",
                    code(&fault.fault_id),
                    text(&fault.resource_name),
                    expectation.kind,
                    expectation.outcome
                );
                if let Some(within) = expectation.within_ms {
                    line.push_str(&format!(" (within {})", duration(within)));
                }
                if let Some(latency) = expectation.latency_ms {
                    line.push_str(&format!(" after {}", duration(latency)));
                }
                if !expectation.answered_by.is_empty() {
                    line.push_str(&format!(
                        " by {}",
                        text(&expectation.answered_by.join(", "))
                    ));
                }
                if let Some(reason) = &expectation.reason {
                    line.push_str(&format!(": {}", text(reason)));
                }
                line
            })
        })
        .collect();
    if !expectations.is_empty() {
        out.push_str("### Expectations\n\n");
        out.push_str(&expectations.join("\n"));
        out.push_str("\n\n");
    }

    if !report.findings.is_empty() {
        out.push_str("### Findings, riskiest first\n\n");
        for (rank, finding) in report.findings.iter().enumerate() {
            let risk = &finding.risk;
            out.push_str(&format!(
                "{}. **[{}] {}**  \n   risk {:.1}/100 (CVSS {:.1}, criticality {}, exposure {}, miss probability {:.2})  \n",
                rank + 1,
                finding.severity.to_uppercase(),
                text(&finding.title),
                risk.score,
                risk.cvss_base_score,
                text(or_unknown(&risk.criticality)),
                text(or_unknown(&risk.exposure)),
                risk.miss_probability,
            ));
            out.push_str(&format!("   resource: {}  \n", code(&finding.resource)));
            if !finding.controls.is_empty() {
                out.push_str(&format!(
                    "   missed by: {}  \n",
                    text(&finding.controls.join(", "))
                ));
            }
            out.push_str(&format!("   fix: {}\n", text(&finding.remediation)));
        }
        out.push('\n');
    }

    if !report.controls.is_empty() {
        out.push_str("### Controls\n\n");
        out.push_str(
            "| Control | Kind | Fault | Efficacy (90% interval) | Met / failed | Mean time | p90 time |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        for control in &report.controls {
            let efficacy = &control.efficacy;
            out.push_str(&format!(
                "| {} | {} | {} | {:.0}% ({:.0}–{:.0}%) | {} / {} | {} | {} |\n",
                text(&control.control),
                control.kind,
                code(&control.fault_id),
                efficacy.mean * 100.0,
                efficacy.lower * 100.0,
                efficacy.upper * 100.0,
                efficacy.met,
                efficacy.failed,
                millis(control.latency.mean_ms),
                millis(control.latency.p90_ms),
            ));
        }
        out.push('\n');
    }

    for note in &report.notes {
        out.push_str(&format!("> note: {}\n", text(note)));
    }
    out
}

fn or_unknown(value: &str) -> &str {
    if value.is_empty() { "unknown" } else { value }
}
