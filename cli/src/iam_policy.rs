//! `rdfi iam-policy --faults LIST`: the least-privilege AWS IAM policy and Google Cloud permissions that let
//! rdfi run those faults and nothing else ([`rdfi_provider::permissions`]).

use rdfi_provider::permissions::{self, Identity, PolicyRequest};
use serde_json::json;

use crate::{Failure, outln, usage};

#[derive(Clone, Debug, clap::Args)]
pub struct IamPolicyArgs {
    /// The faults rdfi may run, comma-separated (`rdfi catalog` lists them).
    #[arg(long, value_delimiter = ',', value_name = "LIST", required = true)]
    pub faults: Vec<String>,
    /// Whose policy: one identity for everything (both), the executor's (reads and changes) or the
    /// monitor's (reads only), when they run with identities of their own.
    #[arg(long = "for", value_enum, default_value = "both")]
    pub identity: Identity,
    /// The tag that opts a resource in; changes are allowed only on resources carrying it with value true.
    #[arg(long, env = "RDFI_OPT_IN_TAG", default_value = rdfi_core::DEFAULT_OPT_IN_TAG, value_name = "KEY")]
    pub opt_in_tag: String,
    /// Condition S3 bucket changes on the opt-in tag as well: only for buckets with S3 attribute-based access
    /// control turned on (S3 ignores bucket tags in policies otherwise, and the condition would never hold).
    #[arg(long)]
    pub s3_abac: bool,
    /// text: the AWS policy document and the GCP permissions, each under a heading; json: one object with
    /// `aws` (the policy document) and `gcp` (a custom role's fields).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PolicyFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFormat {
    Text,
    Json,
}

/// Prints the policy; exit code 0, or a usage error naming an unknown fault.
pub fn run(args: &IamPolicyArgs) -> Result<u8, Failure> {
    let faults: Vec<&str> = args
        .faults
        .iter()
        .map(|fault| fault.trim())
        .filter(|fault| !fault.is_empty())
        .collect();
    if faults.is_empty() {
        return Err(usage("--faults names no fault (`rdfi catalog` lists them)"));
    }
    let request = PolicyRequest {
        faults: &faults,
        identity: args.identity,
        opt_in_tag: &args.opt_in_tag,
        s3_abac: args.s3_abac,
    };
    let aws = permissions::aws_policy(&request).map_err(usage)?;
    let gcp = permissions::gcp_permissions(&request).map_err(usage)?;
    let role = (!gcp.is_empty()).then(|| {
        json!({
            "title": "rdfi",
            "description": format!(
                "What rdfi's {} needs for {} fault(s); from `rdfi iam-policy`",
                match args.identity {
                    Identity::Both => "services",
                    Identity::Executor => "executor",
                    Identity::Monitor => "monitor",
                },
                faults.len()
            ),
            "stage": "GA",
            "includedPermissions": gcp,
        })
    });
    let pretty = |value: &serde_json::Value| {
        serde_json::to_string_pretty(value).map_err(|error| usage(error.to_string()))
    };
    match args.format {
        PolicyFormat::Json => outln!("{}", pretty(&json!({ "aws": aws, "gcp": role }))?),
        PolicyFormat::Text => {
            if let Some(policy) = &aws {
                outln!("# AWS IAM policy (attach to rdfi's user or role)");
                outln!("{}", pretty(policy)?);
            }
            if role.is_some() {
                if aws.is_some() {
                    outln!();
                }
                outln!(
                    "# Google Cloud permissions (a custom role; grant it on the opted-in buckets or the project)"
                );
                for permission in &gcp {
                    outln!("{permission}");
                }
            }
        }
    }
    Ok(0)
}
