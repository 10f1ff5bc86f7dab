//! `rdfi validate` and `rdfi schema` as a user meets them: every mistake of every file in one pass with its
//! place and exit 2; hostile files refused at once; the schema an editor uses agreeing with the parser on the
//! examples (checked by a real JSON Schema validator, Python's jsonschema).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rdfi_tests::tools::tool_python;
use rdfi_tests::{rdfi_binary, workspace_root};

fn rdfi(args: &[&str]) -> Output {
    Command::new(rdfi_binary("rdfi"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const BAD_CAMPAIGN: &str = "\
apiVersion: rdfi/v1
kind: Campaign
metadata:
  name: bad
strategy: greedy
budget:
  concurrency: 0
schedule:
  cron: 0 25 * * *
target:
  provider: aws
faults:
  - glob: aws.nothing.*
";

#[test]
fn every_mistake_of_every_file_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace_root().join("examples/campaigns/sandbox.yaml");
    let bad = write(dir.path(), "bad.yaml", BAD_CAMPAIGN);
    let empty = write(dir.path(), "empty.yaml", "");
    let typo = write(
        dir.path(),
        "typo.yaml",
        "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {name: t}\ntarget: {provider: aws}\nfaults:\n  - id: aws.s3.bucket-public-acl\n    maxTargets: two\nsafety: {exposureWindow: -10s}\n",
    );
    let output = rdfi(&[
        "validate",
        example.to_str().unwrap(),
        bad.to_str().unwrap(),
        empty.to_str().unwrap(),
        typo.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("sandbox.yaml: valid campaign \"sandbox-watch\": risk-ranked picking from 2 faults on sandbox"),
        "{stdout}"
    );
    let bad = bad.display().to_string();
    for line in [
        format!("{bad}:6:1: budget: a campaign must end: give budget.faults, a duration, or both"),
        format!("{bad}:5:11: strategy: unknown strategy \"greedy\""),
        format!("{bad}:7:3: budget.concurrency: must be 1 to 1000 faults at once"),
        format!("{bad}:9:9: schedule.cron: hour \"25\" in \"0 25 * * *\""),
        format!(
            "{bad}:13:11: faults[0].glob: no fault of provider \"aws\" matches \"aws.nothing.*\""
        ),
    ] {
        assert!(
            stderr.lines().any(|error| error.starts_with(&line)),
            "{line}\n{stderr}"
        );
    }
    let empty = empty.display().to_string();
    for field in ["apiVersion", "kind", "metadata", "target", "faults"] {
        let line = format!("{empty}: missing field {field}");
        assert!(
            stderr.lines().any(|error| error.starts_with(&line)),
            "{line}\n{stderr}"
        );
    }
    // A structural mistake stops that file's parse at its first: said in a user's words, not Rust's.
    let typo = typo.display().to_string();
    assert!(
        stderr.contains(&format!("{typo}:7:17: faults[0].maxTargets: found the text \"two\", expected a whole number (0 or more)")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("u32") && !stderr.contains("expected number at"),
        "{stderr}"
    );
    // Only the valid file is on stdout.
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let output = rdfi(&["validate", example.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn hostile_files_are_refused_at_once_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 200 KB nested 100,000 deep: parsing it took 45 s before the depth was checked first.
    let deep = write(
        dir.path(),
        "deep.yaml",
        &format!(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    // 202 MB (sparse): refused from its first MiB, never read whole.
    let large = dir.path().join("large.yaml");
    let mut file = std::fs::File::create(&large).unwrap();
    file.write_all(b"apiVersion: rdfi/v1\n# ").unwrap();
    file.set_len(202 * 1024 * 1024).unwrap();
    let started = Instant::now();
    let deep_out = rdfi(&["validate", deep.to_str().unwrap()]);
    let large_out = rdfi(&[
        "run",
        large.to_str().unwrap(),
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
    ]);
    let elapsed = started.elapsed();
    assert_eq!(deep_out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&deep_out.stderr)
            .contains("deep.yaml:3:1: nested more than 64 levels deep")
    );
    assert_eq!(large_out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&large_out.stderr).contains("larger than 262144 bytes (256 KiB)"),
        "{}",
        String::from_utf8_lossy(&large_out.stderr)
    );
    assert!(
        !dir.path().join("state").exists(),
        "a refused file changes nothing"
    );
    // Not a timing assertion: a generous bound only a quadratic parse or reading 202 MB would break.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

/// The examples, in JSON, as jsonschema sees them after YAML.
fn as_json(path: &Path) -> serde_json::Value {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(yaml).unwrap()
}

#[test]
fn the_schema_accepts_what_the_parser_accepts_and_refuses_what_it_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let schema = rdfi(&["schema"]);
    assert_eq!(schema.status.code(), Some(0));
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &schema.stdout).unwrap();
    let root = workspace_root();
    let good = [
        root.join("examples/campaigns/sandbox.yaml"),
        root.join("docs/examples/nightly-storage.yaml"),
    ];
    let bad = [
        write(dir.path(), "bad.yaml", BAD_CAMPAIGN),
        write(
            dir.path(),
            "endless.yaml",
            "apiVersion: rdfi/v1\nkind: Campaign\nmetadata: {name: e}\ntarget: {provider: aws}\n",
        ),
        write(
            dir.path(),
            "two-ways.yaml",
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {name: e}\ntarget: {provider: aws}\nfaults:\n  - {id: aws.s3.bucket-public-acl, intent: public-storage}\n",
        ),
        write(
            dir.path(),
            "unknown.yaml",
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {name: e}\ntarget: {provider: aws}\nfaults: [{id: aws.s3.bucket-public-acl}]\ntargets: {}\n",
        ),
    ];
    let mut cases = Vec::new();
    for (path, valid) in good
        .iter()
        .map(|p| (p, true))
        .chain(bad.iter().map(|p| (p, false)))
    {
        let parsed = rdfi(&["validate", path.to_str().unwrap()]).status.code() == Some(0);
        assert_eq!(parsed, valid, "the parser on {}", path.display());
        let json = dir.path().join(format!(
            "{}.json",
            path.file_stem().unwrap().to_string_lossy()
        ));
        std::fs::write(&json, serde_json::to_vec(&as_json(path)).unwrap()).unwrap();
        cases.push((json, valid));
    }
    let script = "import json, sys\nfrom jsonschema import Draft202012Validator\nschema = json.load(open(sys.argv[1]))\nDraft202012Validator.check_schema(schema)\nvalidator = Draft202012Validator(schema)\nfor path in sys.argv[2:]:\n    print('valid' if validator.is_valid(json.load(open(path))) else 'invalid')\n";
    let output = Command::new(tool_python("reports"))
        .arg("-c")
        .arg(script)
        .arg(&schema_path)
        .args(cases.iter().map(|(path, _)| path))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<bool> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line == "valid")
        .collect();
    let expected: Vec<bool> = cases.iter().map(|(_, valid)| *valid).collect();
    assert_eq!(verdicts, expected, "the schema on {cases:?}");
}
