//! The `rdfi` command's library: the services of one process ([`engine`]), the run report ([`report`]) and
//! the live narration of a run ([`narrator`]). The binary in `main.rs` parses flags and maps outcomes to exit
//! codes.

pub mod engine;
pub mod narrator;
pub mod report;

/// The experiment `rdfi demo` runs.
pub const DEMO_EXPERIMENT: &str = include_str!("demo.yaml");
