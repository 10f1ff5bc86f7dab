//! The `rdfi` command as a terminal user meets it: a reader that goes away early (`rdfi catalog | head`) ends
//! it quietly, and output that is not a terminal carries no control characters.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use rdfi_tests::rdfi_binary;

/// Runs `rdfi ARGS` with stdout a pipe closed after its first line; returns that line, the exit status and
/// stderr.
fn first_line_then_close(args: &[&str]) -> (String, std::process::ExitStatus, String) {
    let mut child = Command::new(rdfi_binary("rdfi"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rdfi starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first line");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr is text");
    let status = child.wait().expect("rdfi exits");
    (first, status, stderr)
}

#[test]
fn a_reader_that_goes_away_after_one_line_ends_the_catalog_quietly() {
    // The JSON catalogue is larger than a pipe's buffer: writing it meets the closed pipe.
    let (first, status, stderr) = first_line_then_close(&["catalog", "--format", "json"]);
    assert_eq!(first, "[\n");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{status}: {stderr}");
}

#[test]
fn a_reader_that_goes_away_after_one_line_ends_the_demo_quietly() {
    let (first, status, stderr) = first_line_then_close(&["demo"]);
    assert!(first.starts_with("rdfi demo:"), "{first}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{status}: {stderr}");
}

#[test]
fn output_that_is_not_a_terminal_has_no_control_characters() {
    let output = Command::new(rdfi_binary("rdfi"))
        .arg("demo")
        .stdin(Stdio::null())
        .output()
        .expect("rdfi demo runs");
    assert!(output.status.success(), "{output:?}");
    for (stream, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(text);
        let control: Vec<char> = text
            .chars()
            .filter(|character| character.is_control() && *character != '\n')
            .collect();
        assert!(control.is_empty(), "{stream} has {control:?}: {text}");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The narration and the report, times as a person reads them.
    assert!(stdout.contains("  verdict    "), "{stdout}");
    assert!(stdout.contains("finding(s):"), "{stdout}");
    assert!(
        !stdout.contains("faults: "),
        "no counter off a terminal: {stdout}"
    );
}

#[test]
fn on_a_terminal_a_counter_of_the_faults_is_redrawn_below_the_narration() {
    // `script` (util-linux) gives the demo a pseudo-terminal for stdout and stderr.
    let rdfi = rdfi_binary("rdfi");
    let output = Command::new("script")
        .args(["-qec", &format!("{} demo", rdfi.display()), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    assert!(output.status.success(), "{output:?}");
    let screen = String::from_utf8_lossy(&output.stdout);
    // Each event line erases the counter, and the counter is drawn again below it, without a newline.
    assert!(
        screen.contains("\r\x1b[2K  injected   aws.s3.bucket-public-acl on "),
        "{screen:?}"
    );
    assert!(
        screen.contains("\r\nfaults: 4 planned, 1 injected, 0 of 4 judged\r\x1b[2K"),
        "{screen:?}"
    );
    // The last count stays, on a line of its own, before the report.
    assert!(
        screen.contains("faults: 4 planned, 4 injected, 4 of 4 judged, 1 missed\r\n"),
        "{screen:?}"
    );
    assert!(screen.contains("1 finding(s):"), "{screen:?}");
}
