//! The `rdfi` command's library: the services of one process ([`engine`]), cluster mode ([`serve`]), the run
//! report ([`report`]) and the live narration of a run ([`narrator`]). The binaries parse flags and map
//! outcomes to exit codes: 0 every hypothesis held on something tested, 1 a hypothesis failed, 2 usage or
//! configuration error (nothing was changed), 3 safety abort (interrupted, timed out, a fault cut short by an
//! abort, or a revert failed), 4 nothing was tested (no target, a dry run, every fault rejected or refused
//! without a control rdfi could name). [`report::exit_code`] decides a report's.

pub mod campaign;
pub mod catalog;
pub mod engine;
pub use rdfi_core::human;
pub mod narrator;
pub mod out;
pub mod plan;
pub mod query;
pub mod report;
pub mod safety;
pub mod serve;

use std::future::Future;
use std::process::ExitCode;

/// Rows of cells as left-aligned columns two spaces apart, one line per row.
pub fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The experiment `rdfi demo` runs.
pub const DEMO_EXPERIMENT: &str = include_str!("demo.yaml");

/// Why a command stopped without a report, and its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// A usage or configuration error: exit code 2.
pub fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        message: message.to_string(),
    }
}

/// A safety abort: exit code 3.
pub fn abort(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 3,
        message: message.to_string(),
    }
}

/// Runs a command on a fresh Tokio runtime and turns its outcome into the process exit code.
pub fn block_on(command: impl Future<Output = Result<u8, Failure>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            errln!("rdfi: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(command) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            errln!("rdfi: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
