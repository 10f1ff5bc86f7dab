//! The pieces every rdfi service shares: the experiment model and its validation, the fault catalogue, the
//! subject layout, event construction, the message bus (in-process and NATS JetStream behind one trait), the
//! consumer loop, and telemetry.

pub mod bus;
pub mod catalogue;
pub mod cli;
pub mod cvss;
pub mod efficacy;
pub mod events;
pub mod experiment;
pub mod grpc;
pub mod human;
pub mod lease;
pub mod metrics;
pub mod redact;
pub mod risk;
pub mod schedule;
pub mod state;
pub mod subjects;
pub mod targeting;
pub mod telemetry;
pub mod tls;
pub mod worker;

pub use tokio_util::sync::CancellationToken;

/// The tag (AWS) or label (GCP) that opts a resource in, unless configured otherwise.
pub const DEFAULT_OPT_IN_TAG: &str = "rdfi-target";
