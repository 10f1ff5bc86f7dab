//! The report as JUnit XML, for CI test reports: one test suite per run, one test case per expectation
//! (class name the fault id, name `<kind> on <resource>`). A met expectation passes; a failed or late one is
//! a `<failure>` (type `failed` or `late`); an inconclusive one is `<skipped>`. Times are in seconds: a test
//! case's is the control's answer time, or its deadline when it did not answer.

use super::{Report, escape_markup, rfc3339};

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

pub fn render(report: &Report) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures, mut skipped, mut total_ms) = (0, 0, 0, 0u64);
    for fault in &report.faults {
        for expectation in &fault.expectations {
            tests += 1;
            let time_ms = expectation
                .latency_ms
                .or(expectation.within_ms)
                .unwrap_or_default();
            total_ms += time_ms;
            let name = format!("{} on {}", expectation.kind, fault.resource_name);
            cases.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n",
                escape_markup(&fault.fault_id),
                escape_markup(&name),
                seconds(time_ms)
            ));
            let deadline = expectation.within_ms.map_or(String::new(), |ms| {
                format!(" within {}", super::duration(ms))
            });
            let detail = format!(
                "fault {} on {} ({}), verdict {}; expected {}{deadline}{}{}{}",
                fault.fault_id,
                fault.resource,
                fault.fault_instance_id,
                fault.verdict,
                expectation.kind,
                if expectation.sources.is_empty() {
                    String::new()
                } else {
                    format!(
                        " by {} of {}",
                        expectation.mode,
                        expectation.sources.join(", ")
                    )
                },
                expectation.latency_ms.map_or(String::new(), |ms| format!(
                    "; answered after {}",
                    super::duration(ms)
                )),
                if expectation.answered_by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", expectation.answered_by.join(", "))
                },
            );
            let message = expectation
                .reason
                .clone()
                .unwrap_or_else(|| format!("{} {}", expectation.kind, expectation.outcome));
            match expectation.outcome.as_str() {
                "met" => {}
                "inconclusive" | "pending" => {
                    skipped += 1;
                    cases.push_str(&format!(
                        "      <skipped message=\"{}\"/>\n",
                        escape_markup(&message)
                    ));
                }
                outcome => {
                    failures += 1;
                    cases.push_str(&format!(
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                        escape_markup(&message),
                        escape_markup(outcome),
                        escape_markup(&detail)
                    ));
                }
            }
            cases.push_str(&format!(
                "      <system-out>{}</system-out>\n    </testcase>\n",
                escape_markup(&detail)
            ));
        }
    }
    let time = report
        .duration_ms
        .map_or(seconds(total_ms), |ms| seconds(ms.max(0) as u64));
    // JUnit's timestamp is an ISO 8601 date and time without a zone; rdfi's are UTC.
    let timestamp = report.started_at_ms.map_or(String::new(), |ms| {
        let utc = rfc3339(ms);
        format!(" timestamp=\"{}\"", utc.trim_end_matches('Z'))
    });
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"rdfi\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\">\n\
         \x20 <testsuite name=\"{name}\" id=\"{id}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\"{timestamp}>\n\
         \x20   <properties>\n\
         \x20     <property name=\"run_id\" value=\"{id}\"/>\n\
         \x20     <property name=\"provider\" value=\"{provider}\"/>\n\
         \x20     <property name=\"tested\" value=\"{tested}\"/>\n\
         \x20     <property name=\"hypotheses_held\" value=\"{held}\"/>\n\
         \x20   </properties>\n\
         {cases}\
         \x20 </testsuite>\n\
         </testsuites>\n",
        name = escape_markup(&report.experiment),
        id = escape_markup(&report.run_id),
        provider = escape_markup(&report.provider),
        tested = report.tested,
        held = report.hypotheses_held,
    )
}
