//! Choosing and connecting a provider from command-line flags (or `RDFI_*` environment variables).

use std::sync::Arc;

use crate::aws::{AwsProvider, AwsSettings};
use crate::sandbox::{SandboxAccount, SandboxProvider};
use crate::{Provider, ProviderError};

#[derive(Clone, Debug, clap::Args)]
pub struct ProviderArgs {
    /// The cloud to act on: aws, or sandbox (the in-memory demo account).
    #[arg(
        long,
        env = "RDFI_PROVIDER",
        default_value = "aws",
        value_name = "PROVIDER"
    )]
    pub provider: String,
    /// AWS region.
    #[arg(
        long,
        env = "AWS_REGION",
        default_value = "us-east-1",
        value_name = "REGION"
    )]
    pub region: String,
    /// AWS endpoint override (moto, LocalStack); the standard endpoints and credential chain otherwise.
    #[arg(long, env = "RDFI_AWS_ENDPOINT", value_name = "URL")]
    pub aws_endpoint: Option<String>,
    /// The tag (label) that opts a resource in.
    #[arg(long, env = "RDFI_OPT_IN_TAG", default_value = rdfi_core::DEFAULT_OPT_IN_TAG, value_name = "KEY")]
    pub opt_in_tag: String,
}

impl ProviderArgs {
    pub async fn connect(&self) -> Result<Arc<dyn Provider>, ProviderError> {
        connect(&self.provider, &self.region, self.aws_endpoint.clone()).await
    }
}

/// Connects the named provider. The sandbox starts as the demo estate.
pub async fn connect(
    provider: &str,
    region: &str,
    aws_endpoint: Option<String>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    match provider {
        "aws" => Ok(Arc::new(
            AwsProvider::connect(&AwsSettings {
                region: region.to_owned(),
                endpoint: aws_endpoint,
            })
            .await?,
        )),
        "sandbox" => Ok(Arc::new(SandboxProvider::new(Arc::new(
            SandboxAccount::demo(),
        )))),
        other => Err(ProviderError::Config(format!(
            "unknown provider {other:?}, expected aws or sandbox"
        ))),
    }
}
