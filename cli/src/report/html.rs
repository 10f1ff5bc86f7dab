//! The report as one self-contained HTML page (inline CSS and SVG; no script, font or image from anywhere):
//! the run at a glance, a timeline per fault (injected, the signals seen, corrected, reverted, against the
//! hypothesis' deadlines), a chart of the controls' measured efficacy with its 90% interval and their time to
//! answer, and the findings riskiest first with their fix. Every text from outside is escaped.

use super::{ControlReport, FaultReport, Report, duration, escape_markup as escape, rfc3339};

const STYLE: &str = r#"
:root { --ink:#1d2330; --muted:#5b6475; --line:#dde2ea; --panel:#ffffff; --page:#f3f5f9;
        --detected:#2b6cb0; --corrected:#1a9850; --prevented:#6b46c1; --missed:#d73027; --inconclusive:#8a94a6; }
* { box-sizing:border-box; }
body { margin:0; background:var(--page); color:var(--ink); font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; }
header { background:#1d2330; color:#fff; padding:28px 40px 24px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header .meta { color:#b9c2d3; font-size:13px; }
header .meta code { color:#e2e8f0; }
main { padding:24px 40px 40px; max-width:1200px; }
.tiles { display:flex; gap:12px; flex-wrap:wrap; margin:0 0 24px; }
.tile { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:12px 18px; min-width:120px; }
.tile .n { font-size:28px; font-weight:700; }
.tile .l { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.verdict-banner { border-radius:10px; padding:14px 18px; margin:0 0 20px; font-weight:600; color:#fff; }
section { background:var(--panel); border:1px solid var(--line); border-radius:12px; padding:18px 22px; margin:0 0 22px; }
section h2 { margin:0 0 4px; font-size:18px; }
section p.hint { margin:0 0 12px; color:var(--muted); font-size:13px; }
svg text { font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; }
.legend { display:flex; gap:16px; flex-wrap:wrap; color:var(--muted); font-size:12px; margin:6px 0 0; }
.legend span::before { content:""; display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; vertical-align:-1px; background:var(--c); }
.finding { border-left:6px solid var(--missed); border-radius:8px; background:#fff7f6; padding:12px 16px; margin:0 0 12px; display:flex; gap:18px; }
.score { min-width:74px; text-align:center; }
.score .v { font-size:30px; font-weight:750; color:var(--missed); line-height:1; }
.score .l { font-size:11px; color:var(--muted); text-transform:uppercase; }
.finding h3 { margin:0 0 4px; font-size:16px; }
.finding .sev { display:inline-block; font-size:11px; font-weight:700; color:#fff; background:var(--missed); border-radius:4px; padding:1px 6px; margin-right:6px; vertical-align:2px; }
.finding .facts { color:var(--muted); font-size:13px; margin:0 0 6px; }
.finding .fix { margin:0; }
.finding .fix b { color:var(--corrected); }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; }
td.outcome-met { color:var(--corrected); font-weight:600; }
td.outcome-late, td.outcome-failed { color:var(--missed); font-weight:600; }
td.outcome-inconclusive { color:var(--inconclusive); font-weight:600; }
code { font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace; font-size:12.5px; }
.notes { color:var(--muted); font-size:13px; }
"#;

fn verdict_colour(verdict: &str) -> &'static str {
    match verdict {
        "detected" => "#2b6cb0",
        "corrected" => "#1a9850",
        "prevented" => "#6b46c1",
        "missed" => "#d73027",
        _ => "#8a94a6",
    }
}

/// Round numbers for a time axis up to `max_ms`: a step of 1, 2 or 5 times a power of ten, in milliseconds.
fn tick_step(max_ms: f64) -> f64 {
    let rough = (max_ms / 6.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

fn axis_label(ms: f64) -> String {
    if ms == 0.0 {
        "0".to_owned()
    } else {
        crate::human::duration(ms.round().max(0.0) as u64)
    }
}

/// The point in a fault's life `at` names, in milliseconds after its injection.
fn offset(fault: &FaultReport, at: Option<i64>) -> Option<f64> {
    Some((at? - fault.timeline.injected_at_ms?) as f64)
}

/// One SVG with a row per fault, time measured from each fault's injection: the bar is the fault's life
/// (injected to reverted), circles the signals, a diamond the correction, dashed ticks the deadlines.
fn timelines(report: &Report) -> String {
    let faults: Vec<&FaultReport> = report
        .faults
        .iter()
        .filter(|fault| fault.timeline.injected_at_ms.is_some())
        .collect();
    if faults.is_empty() {
        return "<p class=\"hint\">No fault was injected: nothing to draw.</p>".to_owned();
    }
    let mut span_ms: f64 = 0.0;
    for fault in &faults {
        let ends = [
            offset(fault, fault.timeline.reverted_at_ms),
            offset(fault, fault.timeline.corrected_at_ms),
        ];
        for end in ends.into_iter().flatten() {
            span_ms = span_ms.max(end);
        }
        for observation in &fault.timeline.observations {
            if let Some(at) = offset(fault, observation.observed_at_ms) {
                span_ms = span_ms.max(at);
            }
        }
        for expectation in &fault.expectations {
            if let Some(within) = expectation.within_ms {
                span_ms = span_ms.max(within as f64);
            }
        }
    }
    let step = tick_step(span_ms.max(1.0));
    let axis_max = (span_ms / step).ceil().max(1.0) * step;
    let (left, right, row, top) = (300.0, 1060.0, 54.0, 34.0);
    let width = 1100.0;
    let height = top + row * faults.len() as f64 + 16.0;
    let x = |ms: f64| left + (right - left) * (ms.clamp(0.0, axis_max) / axis_max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" \
         aria-label=\"fault timelines\">\n"
    );
    let mut tick = 0.0;
    while tick <= axis_max + 0.5 {
        svg.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#e6e9ef\"/>\
             <text x=\"{0:.1}\" y=\"{3}\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"middle\">{4}</text>\n",
            x(tick),
            top - 8.0,
            height - 12.0,
            top - 14.0,
            escape(&axis_label(tick))
        ));
        tick += step;
    }
    for (index, fault) in faults.iter().enumerate() {
        let y = top + row * index as f64;
        let middle = y + row / 2.0;
        let colour = verdict_colour(&fault.verdict);
        svg.push_str(&format!(
            "<text x=\"12\" y=\"{:.1}\" font-size=\"13\" font-weight=\"600\" fill=\"#1d2330\">{}</text>\
             <text x=\"12\" y=\"{:.1}\" font-size=\"12\" fill=\"#5b6475\">{} · <tspan fill=\"{colour}\" font-weight=\"700\">{}</tspan></text>\n",
            middle - 4.0,
            escape(&clip(&fault.resource_name, 34)),
            middle + 12.0,
            escape(&clip(&fault.fault_id, 30)),
            escape(&fault.verdict),
        ));
        let end = offset(fault, fault.timeline.reverted_at_ms).unwrap_or(axis_max);
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" rx=\"7\" fill=\"{colour}\" fill-opacity=\"0.22\" \
             stroke=\"{colour}\" stroke-opacity=\"0.6\"><title>{}</title></rect>\n",
            x(0.0),
            middle - 7.0,
            (x(end) - x(0.0)).max(2.0),
            escape(&format!(
                "{} on {}: injected, held {}",
                fault.fault_id,
                fault.resource_name,
                duration(end.max(0.0) as u64)
            ))
        ));
        for expectation in &fault.expectations {
            if let Some(within) = expectation.within_ms {
                let at = x(within as f64);
                svg.push_str(&format!(
                    "<line x1=\"{at:.1}\" y1=\"{:.1}\" x2=\"{at:.1}\" y2=\"{:.1}\" stroke=\"#1d2330\" stroke-dasharray=\"3 3\">\
                     <title>{}</title></line>\
                     <text x=\"{at:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#5b6475\" text-anchor=\"middle\">{} ≤ {}</text>\n",
                    middle - 16.0,
                    middle + 16.0,
                    escape(&format!(
                        "{} deadline {}: {}",
                        expectation.kind,
                        duration(within),
                        expectation.outcome
                    )),
                    middle + 26.0,
                    escape(&expectation.kind),
                    escape(&duration(within)),
                ));
            }
        }
        // Injected: a bar start marker.
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"4\" height=\"22\" fill=\"#1d2330\"><title>injected</title></rect>\n",
            x(0.0) - 2.0,
            middle - 11.0
        ));
        for observation in &fault.timeline.observations {
            let Some(at) = offset(fault, observation.observed_at_ms) else {
                continue;
            };
            let tip = escape(&format!(
                "{} from {} after {}: {}",
                observation.kind,
                observation.source,
                duration(at.max(0.0) as u64),
                observation.title
            ));
            if observation.kind == "signal" {
                svg.push_str(&format!(
                    "<circle cx=\"{:.1}\" cy=\"{middle:.1}\" r=\"7\" fill=\"#2b6cb0\" stroke=\"#fff\" stroke-width=\"2\"><title>{tip}</title></circle>\n",
                    x(at)
                ));
            } else {
                let cx = x(at);
                svg.push_str(&format!(
                    "<path d=\"M{cx:.1} {:.1} L{:.1} {middle:.1} L{cx:.1} {:.1} L{:.1} {middle:.1} Z\" fill=\"#1a9850\" fill-opacity=\"0.55\" stroke=\"#fff\" stroke-width=\"1.5\"><title>{tip}</title></path>\n",
                    middle - 8.0,
                    cx + 8.0,
                    middle + 8.0,
                    cx - 8.0
                ));
            }
        }
        if let Some(at) = offset(fault, fault.timeline.corrected_at_ms) {
            let cx = x(at);
            svg.push_str(&format!(
                "<path d=\"M{cx:.1} {:.1} L{:.1} {middle:.1} L{cx:.1} {:.1} L{:.1} {middle:.1} Z\" fill=\"#1a9850\" stroke=\"#fff\" stroke-width=\"2\"><title>{}</title></path>\n",
                middle - 9.0,
                cx + 9.0,
                middle + 9.0,
                cx - 9.0,
                escape(&format!("corrected after {}", duration(at.max(0.0) as u64)))
            ));
        }
        if let Some(at) = offset(fault, fault.timeline.reverted_at_ms) {
            let cx = x(at);
            svg.push_str(&format!(
                "<path d=\"M{:.1} {:.1} l8 -8 m-8 0 l8 8\" stroke=\"#1d2330\" stroke-width=\"2.5\" stroke-linecap=\"round\"><title>{}</title></path>\n",
                cx - 4.0,
                middle + 4.0,
                escape(&format!(
                    "reverted by rdfi after {}{}",
                    duration(at.max(0.0) as u64),
                    if fault.revert_verified { ", verified" } else { ", NOT verified" }
                ))
            ));
        }
        if index + 1 < faults.len() {
            svg.push_str(&format!(
                "<line x1=\"12\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#eef1f5\"/>\n",
                y + row,
                right
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg.push_str(
        "<div class=\"legend\"><span style=\"--c:#1d2330\">injected (0) and reverted (×)</span>\
         <span style=\"--c:#2b6cb0\">detection signal (●)</span><span style=\"--c:#1a9850\">corrected (◆)</span>\
         <span style=\"--c:#8a94a6\">dashed: the hypothesis' deadline</span></div>\n",
    );
    svg
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(max - 1).collect();
        clipped.push('…');
        clipped
    }
}

/// A row per control scorecard: its efficacy's mean as a dot on 0–100% with its 90% interval as an error
/// bar, the evidence behind it, and its answer times.
/// A control's efficacy after each run it was tested in, oldest first, as a line from 1060 to 1180 across a
/// row (0% at its bottom, 100% at its top); a dash before a second run.
fn trend(control: &ControlReport, middle: f64) -> String {
    let means: Vec<f64> = control
        .history
        .iter()
        .map(|point| point.efficacy.mean.clamp(0.0, 1.0))
        .collect();
    if means.len() < 2 {
        return format!(
            "<text x=\"1060\" y=\"{:.1}\" font-size=\"13\" fill=\"#8a94a6\">–</text>\n",
            middle + 4.0
        );
    }
    let step = 120.0 / (means.len() - 1) as f64;
    let point =
        |index: usize, mean: f64| (1060.0 + step * index as f64, middle + 12.0 - 24.0 * mean);
    let line: Vec<String> = means
        .iter()
        .enumerate()
        .map(|(index, &mean)| {
            let (x, y) = point(index, mean);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let (last_x, last_y) = point(means.len() - 1, means[means.len() - 1]);
    format!(
        "<polyline class=\"trend\" points=\"{}\" fill=\"none\" stroke=\"#3b6fd8\" stroke-width=\"2\">\
         <title>{}</title></polyline><circle cx=\"{last_x:.1}\" cy=\"{last_y:.1}\" r=\"3\" fill=\"#3b6fd8\"/>\n",
        line.join(" "),
        escape(&format!(
            "efficacy after each of {} runs: {}",
            means.len(),
            means
                .iter()
                .map(|mean| format!("{:.0}%", mean * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    )
}

fn scorecards(report: &Report) -> String {
    if report.controls.is_empty() {
        return "<p class=\"hint\">Knowledge holds no scorecard for the controls this run expected yet.</p>"
            .to_owned();
    }
    let (left, right, row, top) = (300.0, 720.0, 38.0, 30.0);
    let height = top + row * report.controls.len() as f64 + 10.0;
    let x = |share: f64| left + (right - left) * share.clamp(0.0, 1.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1200 {height}\" width=\"100%\" role=\"img\" \
         aria-label=\"control efficacy\">\n\
         <text x=\"770\" y=\"18\" font-size=\"11\" fill=\"#5b6475\">MET / FAILED</text>\
         <text x=\"880\" y=\"18\" font-size=\"11\" fill=\"#5b6475\">TIME TO ANSWER</text>\
         <text x=\"1060\" y=\"18\" font-size=\"11\" fill=\"#5b6475\">TREND, RUN BY RUN</text>\n"
    );
    for percent in [0, 25, 50, 75, 100] {
        let at = x(f64::from(percent) / 100.0);
        svg.push_str(&format!(
            "<line x1=\"{at:.1}\" y1=\"{}\" x2=\"{at:.1}\" y2=\"{}\" stroke=\"#e6e9ef\"/>\
             <text x=\"{at:.1}\" y=\"18\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"middle\">{percent}%</text>\n",
            top - 6.0,
            height - 6.0
        ));
    }
    for (index, control) in report.controls.iter().enumerate() {
        let middle = top + row * index as f64 + row / 2.0;
        let efficacy = &control.efficacy;
        let colour = if efficacy.mean >= 0.8 {
            "#1a9850"
        } else if efficacy.mean >= 0.5 {
            "#d69e2e"
        } else {
            "#d73027"
        };
        let latency = match (control.latency.mean_ms, control.latency.p90_ms) {
            (Some(mean), Some(p90)) => format!("{} (p90 {})", duration(mean), duration(p90)),
            (Some(mean), None) => duration(mean),
            _ => "–".to_owned(),
        };
        svg.push_str(&format!(
            "<text x=\"12\" y=\"{:.1}\" font-size=\"13\" font-weight=\"600\" fill=\"#1d2330\">{}</text>\
             <text x=\"12\" y=\"{:.1}\" font-size=\"11\" fill=\"#5b6475\">{} · {}</text>\n\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" rx=\"4\" fill=\"{colour}\" fill-opacity=\"0.25\"/>\
             <line x1=\"{:.1}\" y1=\"{middle:.1}\" x2=\"{:.1}\" y2=\"{middle:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
             <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
             <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
             <circle cx=\"{:.1}\" cy=\"{middle:.1}\" r=\"6.5\" fill=\"{colour}\" stroke=\"#fff\" stroke-width=\"2\"><title>{}</title></circle>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{colour}\" font-weight=\"700\" text-anchor=\"middle\">{:.0}%</text>\n\
             <text x=\"770\" y=\"{:.1}\" font-size=\"13\" fill=\"#1d2330\">{} / {}</text>\
             <text x=\"880\" y=\"{:.1}\" font-size=\"13\" fill=\"#1d2330\">{}</text>\n",
            middle - 2.0,
            escape(&clip(&control.control, 40)),
            middle + 12.0,
            escape(&control.kind),
            escape(&clip(&control.fault_id, 36)),
            x(efficacy.lower),
            middle - 4.0,
            (x(efficacy.upper) - x(efficacy.lower)).max(1.0),
            x(efficacy.lower),
            x(efficacy.upper),
            x(efficacy.lower),
            middle - 6.0,
            x(efficacy.lower),
            middle + 6.0,
            x(efficacy.upper),
            middle - 6.0,
            x(efficacy.upper),
            middle + 6.0,
            x(efficacy.mean),
            escape(&format!(
                "{}: efficacy {:.0}%, 90% interval {:.0}–{:.0}% ({} met, {} failed)",
                control.control,
                efficacy.mean * 100.0,
                efficacy.lower * 100.0,
                efficacy.upper * 100.0,
                efficacy.met,
                efficacy.failed
            )),
            x(efficacy.mean),
            middle - 10.0,
            efficacy.mean * 100.0,
            middle + 4.0,
            efficacy.met,
            efficacy.failed,
            middle + 4.0,
            escape(&latency),
        ));
        svg.push_str(&trend(control, middle));
    }
    svg.push_str("</svg>\n<div class=\"legend\"><span style=\"--c:#8a94a6\">dot: the posterior mean of efficacy; bar: its 90% credible interval</span></div>\n");
    svg
}

fn findings(report: &Report) -> String {
    if report.findings.is_empty() {
        return "<p class=\"hint\">No findings: every fault tested was prevented, detected or corrected in time.</p>"
            .to_owned();
    }
    let mut out = String::new();
    for finding in &report.findings {
        let risk = &finding.risk;
        out.push_str(&format!(
            "<div class=\"finding\"><div class=\"score\"><div class=\"v\">{:.0}</div><div class=\"l\">risk</div></div>\
             <div><h3><span class=\"sev\">{}</span>{}</h3>\
             <p class=\"facts\">resource <code>{}</code> · CVSS {:.1} · criticality {} · exposure {} · miss probability {:.2}{}</p>\
             <p class=\"fix\"><b>Fix:</b> {}</p></div></div>\n",
            risk.score,
            escape(&finding.severity.to_uppercase()),
            escape(&finding.title),
            escape(&finding.resource),
            risk.cvss_base_score,
            escape(if risk.criticality.is_empty() { "unknown" } else { &risk.criticality }),
            escape(if risk.exposure.is_empty() { "unknown" } else { &risk.exposure }),
            risk.miss_probability,
            if finding.controls.is_empty() {
                String::new()
            } else {
                format!(" · missed by {}", escape(&finding.controls.join(", ")))
            },
            escape(&finding.remediation),
        ));
    }
    out
}

fn expectations(report: &Report) -> String {
    let mut rows = String::new();
    for fault in &report.faults {
        for expectation in &fault.expectations {
            rows.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}{}</td><td class=\"outcome-{}\">{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&fault.fault_id),
                escape(&fault.resource_name),
                escape(&expectation.kind),
                expectation
                    .within_ms
                    .map_or(String::new(), |ms| format!(" within {}", escape(&duration(ms)))),
                escape(&expectation.outcome),
                escape(&expectation.outcome),
                expectation
                    .latency_ms
                    .map_or("–".to_owned(), |ms| escape(&duration(ms))),
                escape(
                    &expectation
                        .reason
                        .clone()
                        .unwrap_or_else(|| expectation.answered_by.join(", "))
                ),
            ));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<section><h2>Expectations</h2><p class=\"hint\">Each control the hypothesis expected, and how it did.</p>\
         <table><tr><th>Fault</th><th>Resource</th><th>Expected</th><th>Outcome</th><th>After</th><th>By / why</th></tr>\n{rows}</table></section>\n"
    )
}

pub fn render(report: &Report) -> String {
    let count = |verdict: &str| {
        report
            .faults
            .iter()
            .filter(|fault| fault.verdict == verdict)
            .count()
    };
    let (banner, colour) = if let Some(why) = &report.nothing_tested {
        (format!("Nothing was tested: {why}."), "#8a94a6")
    } else if !report.findings.is_empty() {
        (
            format!(
                "{} finding(s): a fault went uncaught. The riskiest is first below.",
                report.findings.len()
            ),
            "#d73027",
        )
    } else if report.aborted > 0 {
        (
            format!(
                "No findings, but {} fault(s) were cut short: their verdicts are inconclusive.",
                report.aborted
            ),
            "#d69e2e",
        )
    } else {
        (
            format!(
                "Every hypothesis held: each of the {} fault(s) tested was prevented, detected or corrected in time.",
                report.tested
            ),
            "#1a9850",
        )
    };
    let mut tiles = format!(
        "<div class=\"tile\"><div class=\"n\">{}</div><div class=\"l\">faults tested</div></div>",
        report.tested
    );
    for (verdict, label) in [
        ("prevented", "prevented"),
        ("detected", "detected"),
        ("corrected", "corrected"),
        ("missed", "missed"),
        ("inconclusive", "inconclusive"),
    ] {
        tiles.push_str(&format!(
            "<div class=\"tile\"><div class=\"n\" style=\"color:{}\">{}</div><div class=\"l\">{label}</div></div>",
            verdict_colour(verdict),
            count(verdict)
        ));
    }
    let started = report.started_at_ms.map_or(String::new(), |ms| {
        format!(" · started {}", escape(&rfc3339(ms)))
    });
    let took = report.duration_ms.map_or(String::new(), |ms| {
        format!(" · took {}", escape(&duration(ms.max(0) as u64)))
    });
    let notes: String = report
        .notes
        .iter()
        .map(|note| format!("<p class=\"notes\">note: {}</p>\n", escape(note)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>rdfi: {experiment}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{experiment}</h1><div class=\"meta\">rdfi run <code>{run}</code> · provider {provider}{started}{took}</div></header>\n\
         <main>\n<div class=\"verdict-banner\" style=\"background:{colour}\">{banner}</div>\n\
         <div class=\"tiles\">{tiles}</div>\n\
         <section><h2>Findings, riskiest first</h2><p class=\"hint\">Risk 0–100: the fault's CVSS base score, weighted by the \
         asset's criticality and exposure and by the chance its controls miss it (docs/risk.md).</p>\n{findings}</section>\n\
         <section><h2>Faults in time</h2><p class=\"hint\">Each fault from its injection (0) to rdfi's revert, with the signals \
         and corrections seen and the hypothesis' deadlines.</p>\n{timelines}</section>\n\
         <section><h2>Controls</h2><p class=\"hint\">Each expected control's measured efficacy against the fault, across every \
         run knowledge holds, and how fast it answers.</p>\n{scorecards}</section>\n\
         {expectations}{notes}</main>\n</body>\n</html>\n",
        experiment = escape(&report.experiment),
        run = escape(&report.run_id),
        provider = escape(&report.provider),
        banner = escape(&banner),
        findings = findings(report),
        timelines = timelines(report),
        scorecards = scorecards(report),
        expectations = expectations(report),
    )
}
