//! `parse-bench [ROUNDS]`: how long rdfi takes to answer experiment and campaign files, ordinary and hostile,
//! from reading the file to the parser's answer, as `rdfi validate` and `rdfi run` do (docs/benchmarks.md,
//! "Refusing hostile files"). Best, median and worst of ROUNDS (default 20) for each file.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use rdfi_core::experiment::{self, MAX_DEPTH, MAX_DOCUMENT_BYTES};

/// The README's experiment.
fn readme_experiment() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```yaml\n").expect("the README's experiment") + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("its end");
    readme[start..end].to_owned()
}

/// The README's experiment with as many more faults as fit under the size cap: the largest file rdfi parses.
fn at_the_size_cap() -> String {
    let mut source =
        readme_experiment().replace("faults:\n", "faults:\n  - id: aws.s3.bucket-public-acl\n");
    let fault = "  - id: aws.s3.bucket-public-acl\n";
    let at = source.find("faults:\n").expect("faults") + "faults:\n".len();
    let more = (MAX_DOCUMENT_BYTES - source.len()) / fault.len();
    source.insert_str(at, &fault.repeat(more));
    source
}

/// `depth` flow sequences nested in the metadata.
fn nested(depth: usize) -> String {
    format!(
        "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

/// As deep as allowed, as many times as fit under the size cap.
fn widest_nesting() -> String {
    let one = format!(
        "  - {}{}\n",
        "[".repeat(MAX_DEPTH - 4),
        "]".repeat(MAX_DEPTH - 4)
    );
    let mut source = "apiVersion: rdfi/v1\nkind: Experiment\nmetadata:\n".to_owned();
    source.push_str(&one.repeat((MAX_DOCUMENT_BYTES - source.len()) / one.len()));
    source
}

fn write(
    dir: &Path,
    name: &str,
    size: u64,
    fill: impl FnOnce(&mut std::fs::File),
) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).expect("a file");
    fill(&mut file);
    assert_eq!(file.metadata().expect("its size").len(), size, "{name}");
    path
}

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let mut files = Vec::new();
    for (name, source) in [
        ("the README's experiment", readme_experiment()),
        (
            "an experiment at the size cap, one fault listed ~8,000 times",
            at_the_size_cap(),
        ),
        ("200 KB nested 100,000 deep", nested(100_000)),
        (
            "at the size cap, nested 62 deep ~2,000 times",
            widest_nesting(),
        ),
    ] {
        let bytes = source.len() as u64;
        let path = write(
            dir.path(),
            &format!("{}.yaml", files.len()),
            bytes,
            |file| file.write_all(source.as_bytes()).expect("written"),
        );
        files.push((name.to_owned(), path, bytes));
    }
    // 202 MB: refused after reading no more than the cap.
    let big = 202 * 1000 * 1000;
    let path = write(dir.path(), "big.yaml", big, |file| {
        file.set_len(big).expect("a sparse file")
    });
    files.push(("202 MB file".to_owned(), path, big));

    println!("| file | size | answer | best | median | worst |");
    println!("|---|---|---|---|---|---|");
    for (name, path, bytes) in files {
        let mut times: Vec<Duration> = Vec::with_capacity(rounds);
        let mut answer = String::new();
        for _ in 0..rounds {
            let started = Instant::now();
            let outcome = rdfi::read_document(&path)
                .map_err(|failure| failure.message)
                .and_then(|(file, source)| {
                    experiment::parse_document(&source, &file)
                        .map(|_| ())
                        .map_err(|errors| errors.first().message.clone())
                });
            times.push(started.elapsed());
            answer = match outcome {
                Ok(()) => "parsed".to_owned(),
                Err(message) => {
                    format!("refused: {}", message.split(';').next().unwrap_or_default())
                }
            };
        }
        times.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {bytes} B | {answer} | {} | {} | {} |",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    Ok(())
}
