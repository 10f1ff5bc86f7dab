//! The `rdfi` command's library: the services of one process ([`engine`]), cluster mode ([`serve`]), the run
//! report ([`report`]) and the live narration of a run ([`narrator`]). The binaries parse flags and map
//! outcomes to exit codes: 0 every hypothesis held on something tested, 1 a hypothesis failed, 2 usage or
//! configuration error (nothing was changed), 3 safety abort (interrupted, timed out, a fault cut short by an
//! abort, or a revert failed), 4 nothing was tested (no target, a dry run, every fault rejected or refused
//! without a control rdfi could name). [`report::exit_code`] decides a report's.

pub mod assets;
pub mod campaign;
pub mod catalog;
pub mod engine;
pub mod iam_policy;
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

/// An experiment or campaign file's name and text, read no further than the parser would take: a file
/// larger than [`experiment::MAX_DOCUMENT_BYTES`] is refused without being read whole.
pub fn read_document(path: &std::path::Path) -> Result<(String, String), Failure> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let limit = rdfi_core::experiment::MAX_DOCUMENT_BYTES;
    let mut source = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit as u64 + 1).read_to_string(&mut source))
        .map_err(|error| usage(format!("{name}: {error}")))?;
    if source.len() > limit {
        return Err(usage(format!(
            "{name}: larger than {limit} bytes ({}); rdfi reads files of at most that size",
            rdfi_core::experiment::MAX_DOCUMENT_SIZE
        )));
    }
    Ok((name, source))
}

/// The campaign of a campaign file, parsed and validated.
pub fn campaign_of(source: &str, file: &str) -> Result<rdfi_proto::v1::CampaignSpec, Failure> {
    match rdfi_core::experiment::parse_document(source, file).map_err(usage)? {
        rdfi_core::experiment::Document::Campaign(spec) => Ok(spec),
        rdfi_core::experiment::Document::Experiment(_) => Err(usage(format!(
            "{file}: this is a kind: Experiment; `rdfi campaign start` takes a kind: Campaign (`rdfi submit` \
             runs experiments)"
        ))),
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
