//! Measuring programs from outside, for the benchmarks: a child's wall time and peak resident memory (the
//! kernel's accounting of that one process, as GNU time reads it from `wait4`), and a running process's
//! resident memory.

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// GNU time (Debian's package `time`; `scripts/test-deps.sh chaostoolkit` installs it where it is missing).
const GNU_TIME: &str = "/usr/bin/time";

/// What one run of a program cost.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub status: ExitStatus,
    pub wall: Duration,
    /// The child's peak resident set (`ru_maxrss`), in KiB.
    pub peak_kib: u64,
}

/// Runs `command` (made by [`timed`] with the same `scratch`) to its end, and measures it.
pub fn run(command: &mut Command, scratch: &Path) -> std::io::Result<Measured> {
    let answer = scratch.join("gnu-time");
    let started = Instant::now();
    let status = command.status()?;
    let wall = started.elapsed();
    let text = std::fs::read_to_string(&answer)?;
    let peak_kib = text
        .lines()
        .rev()
        .find_map(|line| line.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("GNU time answered {text:?}")))?;
    Ok(Measured {
        status,
        wall,
        peak_kib,
    })
}

/// A command that runs `program` under GNU time, which writes the child's peak memory into `scratch`: give it
/// to [`run`] with the same `scratch`.
pub fn timed(program: &Path, scratch: &Path) -> Command {
    let mut command = Command::new(GNU_TIME);
    command
        .args(["--format", "%M", "--output"])
        .arg(scratch.join("gnu-time"))
        .arg(program);
    command
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|line| line.starts_with(field) && line[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The percentile `fraction` (0.5, 0.99) of sorted values: the nearest rank.
pub fn percentile<T: Copy + Default>(sorted: &[T], fraction: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The time covered by at least one of the `(start, end)` intervals: how long a server was busy with at least
/// one of the calls whose answer times they are.
pub fn covered(intervals: impl Iterator<Item = (Duration, Duration)>) -> Duration {
    let mut intervals: Vec<(Duration, Duration)> = intervals.collect();
    intervals.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Duration, Duration)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((open, close)) if start <= close => Some((open, close.max(end))),
            Some((open, close)) => {
                total += close - open;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(open, close)| close - open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_intervals_are_counted_once() {
        let ms = Duration::from_millis;
        let intervals = [
            (ms(10), ms(20)),
            (ms(0), ms(5)),
            (ms(15), ms(30)),
            (ms(30), ms(31)),
            (ms(40), ms(40)),
        ];
        assert_eq!(covered(intervals.into_iter()), ms(5 + 21));
        assert_eq!(covered(std::iter::empty()), Duration::ZERO);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&values, 0.5), 6);
        assert_eq!(percentile(&values, 0.99), 10);
        assert_eq!(percentile(&values, 0.0), 1);
        assert_eq!(percentile::<u32>(&[], 0.5), 0);
    }

    #[test]
    fn a_child_is_measured_from_outside() {
        // GNU time comes with the benchmark's tools.
        crate::tools::set_program("chaostoolkit", "chaos");
        let scratch = tempfile::tempdir().unwrap();
        // A child that holds 64 MiB resident at its peak.
        let mut command = timed(Path::new("python3"), scratch.path());
        command.args([
            "-c",
            "b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096])",
        ]);
        let measured = run(&mut command, scratch.path()).unwrap();
        assert!(measured.status.success(), "{measured:?}");
        assert!(measured.peak_kib > 64 * 1024, "{measured:?}");
        let failed = run(
            &mut timed(Path::new("false"), scratch.path()),
            scratch.path(),
        )
        .unwrap();
        assert_eq!(failed.status.code(), Some(1));
        assert!(status_kib(std::process::id(), "VmRSS").is_some_and(|kib| kib > 0));
        assert_eq!(status_kib(std::process::id(), "NoSuchField"), None);
    }
}
