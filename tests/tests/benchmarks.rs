//! The benchmarks' own checks, on the debug build: a benchmark that measured a tool which did not do the
//! work, or left something changed, would report a figure for nothing. `scripts/bench.sh` runs the release
//! builds and writes docs/benchmarks.md; here one short run of each proves what they check still holds.

use std::process::Command;

use rdfi_tests::rdfi_binary;

fn run(binary: &str, args: &[&str]) -> String {
    let output = Command::new(rdfi_binary(binary))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{binary} runs: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{binary} {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// One round of rdfi against Chaos Toolkit: both make the 20 changes (counted at the proxy), both leave the 20
/// resources as an independent read found them, and the report compares them.
#[test]
fn the_side_by_side_benchmark_checks_both_tools_did_and_undid_the_work() {
    let report = run("ctk-bench", &["1"]);
    for expected in [
        "| 1 | rdfi |",
        "| 2 | Chaos Toolkit |",
        "| wall time |",
        "| peak memory |",
        "| `iam:AttachRolePolicy` | 10 | 10 |",
        "| `iam:DetachRolePolicy` | 10 | 10 |",
    ] {
        assert!(report.contains(expected), "no {expected:?} in:\n{report}");
    }
}

/// Each of the five services comes up ready in one cluster and is measured.
#[test]
fn the_idle_benchmark_measures_every_service() {
    let report = run("idle-bench", &["0"]);
    for service in ["knowledge", "planner", "executor", "monitor", "analyzer"] {
        let line = report
            .lines()
            .find(|line| line.starts_with(&format!("| {service} |")))
            .unwrap_or_else(|| panic!("no {service} in:\n{report}"));
        assert!(line.contains(" ms |") && line.contains(" MiB |"), "{line}");
    }
}
