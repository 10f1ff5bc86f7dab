//! The conformance suite's cases: for every fault of the catalogue, how to prepare a resource with a
//! non-trivial prior state on its real backend, and how to read that resource independently of rdfi's
//! provider code (straight through the SDK or the JSON API), so that the suite proves the misconfiguration and
//! the exact revert with eyes of its own.
//!
//! One module per service; `tests/tests/conformance_*.rs` run every case and check that every fault of the
//! catalogue has one.

pub mod aws_cloudtrail;
pub mod aws_cloudwatch;
pub mod aws_config;
pub mod aws_ec2;
pub mod aws_ec2_flow_logs;
pub mod aws_ecr;
pub mod aws_guardduty;
pub mod aws_hygiene;
pub mod aws_iam;
pub mod aws_kms;
pub mod aws_lambda;
pub mod aws_logs;
pub mod aws_rds;
pub mod aws_s3;
pub mod aws_secretsmanager;
pub mod aws_sns;
pub mod aws_sqs;
pub mod gcp_storage;
pub mod gcplocal;
pub mod resource_policy;
pub mod runner;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use crate::aws::Clients;

/// One AWS fault's conformance case, against moto.
#[async_trait]
pub trait AwsCase: Send + Sync {
    fn fault_id(&self) -> &'static str;

    /// Creates a resource named after `name` (unique per case), tagged `rdfi-target=true`, with a non-trivial
    /// prior state (several grants, statements, tags or rules), and returns it as rdfi names it.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef;

    /// The resource's state as the SDK reads it, in a canonical form (sorted), independent of rdfi's code.
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value;

    /// Whether an independent read shows the fault's misconfiguration.
    fn misconfigured(&self, read: &Value) -> bool;

    /// Changes the resource while the fault is on, the way a person might and the fault does not (another
    /// statement, a tag, a setting beside the fault's), straight through the SDK; `false` when the case makes no
    /// such change. The suite then reverts and checks the change is kept ([`AwsCase::kept`]).
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let _ = (aws, resource);
        false
    }

    /// Whether an independent read after the revert still shows the change [`AwsCase::change_meanwhile`] made.
    fn kept(&self, read: &Value) -> bool {
        let _ = read;
        true
    }
}

/// Every AWS case.
pub fn aws_cases() -> Vec<Box<dyn AwsCase>> {
    [
        aws_s3::cases(),
        aws_iam::cases(),
        aws_ec2::cases(),
        aws_cloudtrail::cases(),
        aws_kms::cases(),
        aws_hygiene::cases(),
        aws_sqs::cases(),
        aws_sns::cases(),
        aws_secretsmanager::cases(),
        aws_ecr::cases(),
        aws_cloudwatch::cases(),
        aws_logs::cases(),
        aws_guardduty::cases(),
        aws_config::cases(),
        aws_lambda::cases(),
        aws_rds::cases(),
        aws_ec2_flow_logs::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
