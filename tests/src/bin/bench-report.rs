//! `bench-report [DOC]`: runs every benchmark (the release load binaries beside this one) and writes their
//! tables, with the machine and the date, into DOC (default docs/benchmarks.md) between its `bench-report`
//! markers; the rest of the file (what earlier runs found, and why) is kept. Also writes the scaling curves as
//! SVG beside DOC. `scripts/bench.sh` installs what the benchmarks need, builds them and runs this.
//!
//! Figures are from one run on one machine: medians, percentiles and ratios, never asserted by a test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use rdfi_tests::chart::{Series, line_svg};
use rdfi_tests::{sibling_binary, workspace_root};

const BEGIN: &str = "<!-- bench-report: begin. Written by scripts/bench.sh; edits between these markers are lost. -->";
const END: &str = "<!-- bench-report: end -->";

/// How a benchmark's output becomes the report's text.
enum Output {
    /// Its whole output, as printed (tables with their headers).
    Whole,
    /// Only the table rows each run prints, under this header.
    Rows(&'static str),
}

struct Bench {
    title: &'static str,
    what: &'static str,
    output: Output,
    /// Each run: the binary, then its arguments.
    runs: &'static [&'static [&'static str]],
}

const LOOP_HEADER: &str = "| bus | mode | faults | p50 | p99 | max | faults/s | peak memory |\n|---|---|---|---|---|---|---|---|";

const BENCHES: &[Bench] = &[
    Bench {
        title: "rdfi and Chaos Toolkit: the same 20 changes on moto",
        what: "Versioning suspended on 10 S3 buckets and AdministratorAccess attached to 10 IAM roles, each put back, \
               against a fresh moto_server per run, alternating rdfi and Chaos Toolkit (chaostoolkit-aws). rdfi \
               snapshots, journals, injects, reverts and verifies each change; Chaos Toolkit runs 20 actions and \
               their 20 rollbacks. Every call goes through a recording proxy: \"moto busy\" is the time moto was \
               answering at least one of the tool's calls. Wall time and peak memory are the tool's process's own \
               (GNU time). After each run an independent read of the 20 resources equals the read before it.",
        output: Output::Whole,
        runs: &[&["ctk-bench", "3"]],
    },
    Bench {
        title: "Each service idle",
        what: "The five service binaries started one after another into one cluster over a real nats-server, \
               against moto: from spawning each to its health port reporting ready, and its resident memory \
               after the cluster idled 5 s.",
        output: Output::Whole,
        runs: &[&["idle-bench", "5"]],
    },
    Bench {
        title: "Engine time per fault, sandbox",
        what: "All five services in one process on the sandbox provider (no cloud latency), \
               `aws.s3.bucket-public-acl`, 1 ms exposure window, no controls, no settle: per fault, from \
               `fault.planned` to `analysis.verdict`. Serial: one fault at a time; burst: every fault planned at \
               once (latency includes queueing); \"1 at once\": the executor takes planned faults one at a time \
               (`--inject-concurrency 1`), as it did before it could take 16. Peak memory is the process's (not \
               nats-server's).",
        output: Output::Rows(LOOP_HEADER),
        runs: &[
            &["loop-bench", "200", "memory", "serial"],
            &["loop-bench", "200", "nats", "serial"],
            &["loop-bench", "1000", "memory", "burst"],
            &["loop-bench", "1000", "nats", "burst"],
            &["loop-bench", "3000", "memory", "burst"],
            &["loop-bench", "3000", "nats", "burst"],
            &["loop-bench", "3000", "nats", "burst", "1"],
            &["loop-bench", "10000", "memory", "burst"],
            // 10,000 over NATS cannot run: the monitor's inventory of 10,000 buckets is one message larger than
            // NATS's 1 MiB payload limit (docs/benchmarks.md says more).
            &["loop-bench", "5000", "nats", "burst"],
        ],
    },
    Bench {
        title: "Abort with many active faults",
        what: "N faults injected with a 10-minute window, then the engine stopped (what SIGTERM, `rdfi abort` or \
               `safety.abort` do): the time until every fault is reverted and verified, then every bucket \
               checked.",
        output: Output::Rows(
            "| provider | active faults | revert concurrency | time to inject all | time to revert and verify all | per fault |\n|---|---|---|---|---|---|",
        ),
        runs: &[
            &["abort-bench", "10000", "sandbox", "16"],
            &["abort-bench", "200", "moto", "16"],
        ],
    },
    Bench {
        title: "Ranking a million candidates",
        what: "The planner's strategies picking 100 pairs from a million (resource, fault) candidates.",
        output: Output::Whole,
        runs: &[&["plan-bench"]],
    },
    Bench {
        title: "Campaign time against attack rate and number of faults",
        what: "Risk-ranked campaigns of S3 bucket faults on 10 opted-in buckets, one fault at a time, in one \
               process; on the sandbox and on moto. The curves are written beside this file.",
        output: Output::Whole,
        runs: &[&["campaign-bench", "sandbox"], &["campaign-bench", "moto"]],
    },
    Bench {
        title: "Replicas against a rate-limited cloud",
        what: "One burst of 200 faults over a real nats-server against a sandbox answering after 20 ms, each \
               caller at most 100 calls a second; one executor and monitor, then two of each.",
        output: Output::Rows(
            "| executors | monitors | faults | cloud | wall time | faults/s | injections per executor | calls per caller (executors, then monitors) |\n|---|---|---|---|---|---|---|---|",
        ),
        runs: &[
            &["scale-bench", "200", "1", "1", "20", "100"],
            &["scale-bench", "200", "2", "2", "20", "100"],
        ],
    },
    Bench {
        title: "Refusing hostile files",
        what: "From opening an experiment file to the parser's answer, 20 rounds each.",
        output: Output::Whole,
        runs: &[&["parse-bench", "20"]],
    },
];

fn run(args: &[&str]) -> anyhow::Result<String> {
    let started = Instant::now();
    eprintln!("bench-report: {}", args.join(" "));
    let output = Command::new(sibling_binary(args[0]))
        .args(&args[1..])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "{} failed ({}):\n{stdout}",
        args.join(" "),
        output.status
    );
    eprintln!(
        "bench-report: {} took {:.0} s",
        args[0],
        started.elapsed().as_secs_f64()
    );
    Ok(stdout)
}

fn first_line(command: &str, args: &[&str]) -> String {
    Command::new(command)
        .args(args)
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| format!("({command} not found)"))
}

fn machine() -> String {
    let field = |file: &str, name: &str| {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with(name))
                    .and_then(|line| line.split(':').nth(1))
                    .map(|value| value.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let memory_kib: f64 = field("/proc/meminfo", "MemTotal")
        .trim_end_matches(" kB")
        .parse()
        .unwrap_or(0.0);
    format!(
        "{}, {} cores ({}), {:.0} GiB, {}; release build",
        first_line("uname", &["-srm"]),
        std::thread::available_parallelism().map_or(0, usize::from),
        field("/proc/cpuinfo", "model name"),
        memory_kib / 1024.0 / 1024.0,
        first_line("rustc", &["--version"]),
    )
}

/// A table's rows as (column values), for the curves.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("|---"))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

fn number(cell: &str) -> f64 {
    cell.split_whitespace()
        .next()
        .and_then(|value| value.trim_matches(['(', ')']).parse().ok())
        .unwrap_or(0.0)
}

/// The burst runs of the engine benchmark as curves against the number of faults: faults per second, and peak
/// memory.
fn engine_curves(rows_text: &str, dir: &Path) -> anyhow::Result<String> {
    let bursts: Vec<Vec<String>> = rows(rows_text)
        .into_iter()
        .filter(|row| row.len() >= 8 && row[1] == "burst")
        .collect();
    let series = |bus: &str, label, color, column: usize| Series {
        label,
        color,
        dashed: false,
        points: bursts
            .iter()
            .filter(|row| row[0] == bus)
            .map(|row| (number(&row[2]), number(&row[column])))
            .collect(),
    };
    let mut text = String::new();
    for (name, y_label, column) in [
        (
            "engine-faults-per-second-vs-faults.svg",
            "faults per second",
            6,
        ),
        ("engine-peak-memory-vs-faults.svg", "peak memory (MiB)", 7),
    ] {
        std::fs::write(
            dir.join(name),
            line_svg(
                &format!("{y_label} against a burst's faults (sandbox)"),
                "faults planned at once",
                y_label,
                &[
                    series("nats", "NATS JetStream", "#1f6feb", column),
                    series("memory", "in-process bus", "#d29922", column),
                ],
            ),
        )?;
        writeln!(text, "![{y_label} against faults]({name})")?;
    }
    Ok(text)
}

fn main() -> anyhow::Result<()> {
    let doc = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("docs/benchmarks.md"));
    let dir = doc
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let started = Instant::now();
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut report = format!(
        "{BEGIN}\n\n## Latest run: {}\n\nMachine: {}. Every command below is run by `scripts/bench.sh`, which writes this \
         section.\n",
        &date[..10],
        machine()
    );
    for bench in BENCHES {
        writeln!(report, "\n### {}\n\n{}\n", bench.title, bench.what)?;
        writeln!(report, "```sh")?;
        for args in bench.runs {
            writeln!(report, "target/release/{}", args.join(" "))?;
        }
        writeln!(report, "```\n")?;
        let mut outputs = Vec::new();
        for args in bench.runs {
            outputs.push(run(args)?);
        }
        match bench.output {
            Output::Whole => {
                for output in &outputs {
                    writeln!(report, "{}", output.trim_end())?;
                    report.push('\n');
                }
            }
            Output::Rows(header) => {
                let rows: String = outputs
                    .iter()
                    .flat_map(|output| output.lines())
                    .filter(|line| line.starts_with('|'))
                    .map(|line| format!("{line}\n"))
                    .collect();
                writeln!(report, "{header}\n{rows}")?;
                if bench.runs[0][0] == "loop-bench" {
                    writeln!(report, "{}", engine_curves(&rows, &dir)?)?;
                }
            }
        }
    }
    writeln!(
        report,
        "All of it took {:.0} s.\n\n{END}",
        started.elapsed().as_secs_f64()
    )?;
    let existing = std::fs::read_to_string(&doc).unwrap_or_default();
    let updated = match (existing.find(BEGIN), existing.find(END)) {
        (Some(begin), Some(end)) if begin < end => format!(
            "{}{}{}",
            &existing[..begin],
            report,
            &existing[end + END.len()..]
        ),
        _ => format!("{report}\n{existing}"),
    };
    std::fs::write(&doc, updated)?;
    eprintln!("bench-report: wrote {}", doc.display());
    Ok(())
}
