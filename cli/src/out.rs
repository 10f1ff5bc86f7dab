//! Writing to stdout and stderr without panicking. `println!` panics when the reader has gone away
//! (`rdfi catalog | head`); here a closed pipe ends that stream's output quietly, and the command carries on to
//! its own exit code (a run still reverts and verifies everything, whoever reads its report).

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout, like `print!`, without panicking; see [`stdout`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::stdout(format_args!($($arg)*)) };
}

/// Writes a line to stdout, like `println!`, without panicking; see [`stdout`].
#[macro_export]
macro_rules! outln {
    () => { $crate::out::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes a line to stderr, like `eprintln!`, without panicking; see [`stderr`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes `text` to stdout and flushes it. Once the reader has closed the pipe nothing more is written; any other
/// failure is said once on stderr. Never panics.
pub fn stdout(text: fmt::Arguments<'_>) {
    let failed = write_to(&mut io::stdout().lock(), text, &STDOUT_CLOSED);
    if let Some(error) = failed {
        stderr(format_args!("rdfi: cannot write to stdout: {error}\n"));
    }
}

/// Writes `text` to stderr and flushes it; like [`stdout`], but a failure has nowhere left to be said.
pub fn stderr(text: fmt::Arguments<'_>) {
    let _ = write_to(&mut io::stderr().lock(), text, &STDERR_CLOSED);
}

/// Writes `text` unless the stream is closed; returns a failure other than a closed pipe, once: the stream is
/// then taken as closed.
fn write_to(
    stream: &mut impl Write,
    text: fmt::Arguments<'_>,
    closed: &AtomicBool,
) -> Option<io::Error> {
    if closed.load(Ordering::Relaxed) {
        return None;
    }
    let result = stream.write_fmt(text).and_then(|()| stream.flush());
    match result {
        Ok(()) => None,
        Err(error) => {
            closed.store(true, Ordering::Relaxed);
            (error.kind() != io::ErrorKind::BrokenPipe).then_some(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader went away after `room` bytes.
    struct Pipe {
        written: Vec<u8>,
        room: usize,
        kind: io::ErrorKind,
    }

    impl Write for Pipe {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.written.len() >= self.room {
                return Err(self.kind.into());
            }
            let taken = bytes.len().min(self.room - self.written.len());
            self.written.extend_from_slice(&bytes[..taken]);
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_output_quietly() {
        let closed = AtomicBool::new(false);
        let mut pipe = Pipe {
            written: Vec::new(),
            room: 6,
            kind: io::ErrorKind::BrokenPipe,
        };
        assert!(write_to(&mut pipe, format_args!("first\n"), &closed).is_none());
        assert!(!closed.load(Ordering::Relaxed));
        assert!(write_to(&mut pipe, format_args!("second\n"), &closed).is_none());
        assert!(closed.load(Ordering::Relaxed));
        pipe.room = 100;
        assert!(write_to(&mut pipe, format_args!("third\n"), &closed).is_none());
        assert_eq!(pipe.written, b"first\n");
    }

    #[test]
    fn another_failure_is_said_once() {
        let closed = AtomicBool::new(false);
        let mut full = Pipe {
            written: Vec::new(),
            room: 0,
            kind: io::ErrorKind::StorageFull,
        };
        let error = write_to(&mut full, format_args!("report\n"), &closed);
        assert_eq!(
            error.map(|error| error.kind()),
            Some(io::ErrorKind::StorageFull)
        );
        assert!(write_to(&mut full, format_args!("report\n"), &closed).is_none());
    }
}
