//! The executor's safety flags, shared by `rdfi run`, `rdfi serve`, `rdfi recover` and `rdfi-executor`.

use std::time::Duration;

use crate::{BlastRadius, RetryPolicy};

#[derive(Clone, Debug, clap::Args)]
pub struct SafetyArgs {
    /// Never touch resources whose ARN or name matches (`*` wildcards; repeatable).
    #[arg(
        long = "protect",
        env = "RDFI_PROTECT",
        value_delimiter = ',',
        value_name = "PATTERN"
    )]
    pub protected: Vec<String>,
    /// Faults active at once, overall.
    #[arg(
        long,
        env = "RDFI_MAX_ACTIVE_FAULTS",
        default_value_t = 100,
        value_name = "N"
    )]
    pub max_active_faults: usize,
    /// Faults active at once in one run.
    #[arg(
        long,
        env = "RDFI_MAX_ACTIVE_PER_RUN",
        default_value_t = 25,
        value_name = "N"
    )]
    pub max_active_per_run: usize,
    /// The longest exposure window the executor accepts.
    #[arg(long, env = "RDFI_MAX_EXPOSURE", default_value = "1h", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub max_exposure: Duration,
    /// Planned faults snapshotted, claimed and injected at once (each is admitted by the guard in the order
    /// planned, and counted against the caps from its admission).
    #[arg(
        long,
        env = "RDFI_INJECT_CONCURRENCY",
        default_value_t = 16,
        value_name = "N"
    )]
    pub inject_concurrency: usize,
    /// Reverts running at once (an abort of many faults).
    #[arg(
        long,
        env = "RDFI_REVERT_CONCURRENCY",
        default_value_t = 16,
        value_name = "N"
    )]
    pub revert_concurrency: usize,
    /// Attempts per revert (and per throttled injection) before it is reported failed.
    #[arg(
        long,
        env = "RDFI_REVERT_ATTEMPTS",
        default_value_t = 6,
        value_name = "N"
    )]
    pub revert_attempts: u32,
}

impl Default for SafetyArgs {
    /// The flags' defaults (and `RDFI_*` environment variables), for commands that take no flags.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            safety: SafetyArgs,
        }
        <Defaults as clap::Parser>::parse_from(["rdfi"]).safety
    }
}

impl SafetyArgs {
    pub fn blast_radius(&self, opt_in_tag: &str) -> BlastRadius {
        BlastRadius {
            opt_in_tag: opt_in_tag.to_owned(),
            protected: self.protected.clone(),
            max_active: self.max_active_faults,
            max_active_per_run: self.max_active_per_run,
            max_exposure: self.max_exposure,
        }
    }

    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.revert_attempts.max(1),
            ..RetryPolicy::default()
        }
    }
}
