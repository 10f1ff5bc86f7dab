//! Choosing and connecting a provider from command-line flags (or `RDFI_*` environment variables).

use std::sync::Arc;

use crate::aws::{AwsProvider, AwsSettings};
use crate::gcp::{GcpProvider, GcpSettings};
use crate::sandbox::{SandboxAccount, SandboxProvider};
use crate::{Provider, ProviderError};

#[derive(Clone, Debug, clap::Args)]
pub struct ProviderArgs {
    /// The cloud to act on: aws, gcp, or sandbox (the in-memory demo account).
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
    #[command(flatten)]
    pub endpoints: Endpoints,
    /// The tag (label) that opts a resource in.
    #[arg(long, env = "RDFI_OPT_IN_TAG", default_value = rdfi_core::DEFAULT_OPT_IN_TAG, value_name = "KEY")]
    pub opt_in_tag: String,
}

/// Where a target's APIs are, beyond the provider and region: endpoint overrides and the GCP project.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Hash, clap::Args, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// AWS endpoint override (moto, LocalStack); the standard endpoints and credential chain otherwise.
    #[arg(long = "aws-endpoint", env = "RDFI_AWS_ENDPOINT", value_name = "URL")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<String>,
    /// The GCP project whose resources (the project itself, its buckets, service accounts and firewall rules)
    /// are targets.
    #[arg(long = "gcp-project", env = "RDFI_GCP_PROJECT", value_name = "PROJECT")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_project: Option<String>,
    /// Cloud Storage JSON API base URL override (gcp-storage-emulator), called anonymously; Google's endpoint
    /// with application default credentials otherwise.
    #[arg(long = "gcs-endpoint", env = "RDFI_GCS_ENDPOINT", value_name = "URL")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<String>,
    /// One base URL override for every Google Cloud API but Cloud Storage (Resource Manager, IAM, Compute
    /// Engine: gcplocal serves them all on one port), called anonymously; Google's endpoints with application
    /// default credentials otherwise.
    #[arg(long = "gcp-endpoint", env = "RDFI_GCP_ENDPOINT", value_name = "URL")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<String>,
}

/// How a cloud was reached: the provider, its region and endpoints; never credentials. The executor journals
/// it with every fault, so a recovery reaches each fault's resource the way it was injected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTarget {
    pub provider: String,
    pub region: String,
    #[serde(default)]
    pub endpoints: Endpoints,
}

impl ProviderTarget {
    pub async fn connect(&self) -> Result<Arc<dyn Provider>, ProviderError> {
        connect(&self.provider, &self.region, &self.endpoints).await
    }
}

impl std::fmt::Display for ProviderTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.provider)?;
        if self.provider == "aws" {
            write!(f, " in {}", self.region)?;
        }
        for (what, value) in [
            ("endpoint", &self.endpoints.aws),
            ("project", &self.endpoints.gcp_project),
            ("storage endpoint", &self.endpoints.gcs),
            ("api endpoint", &self.endpoints.gcp),
        ] {
            if let Some(value) = value {
                write!(f, ", {what} {value}")?;
            }
        }
        Ok(())
    }
}

impl ProviderArgs {
    pub async fn connect(&self) -> Result<Arc<dyn Provider>, ProviderError> {
        self.target().connect().await
    }

    /// How these flags reach the cloud, as the journal records it.
    pub fn target(&self) -> ProviderTarget {
        ProviderTarget {
            provider: self.provider.clone(),
            region: self.region.clone(),
            endpoints: self.endpoints.clone(),
        }
    }
}

/// Connects the named provider. The sandbox starts as the demo estate.
pub async fn connect(
    provider: &str,
    region: &str,
    endpoints: &Endpoints,
) -> Result<Arc<dyn Provider>, ProviderError> {
    match provider {
        "aws" => Ok(Arc::new(
            AwsProvider::connect(&AwsSettings {
                region: region.to_owned(),
                endpoint: endpoints.aws.clone(),
            })
            .await?,
        )),
        "gcp" => Ok(Arc::new(GcpProvider::connect(&GcpSettings {
            project: endpoints.gcp_project.clone().unwrap_or_default(),
            endpoint: endpoints.gcs.clone(),
            api_endpoint: endpoints.gcp.clone(),
        })?)),
        "sandbox" => Ok(Arc::new(SandboxProvider::new(Arc::new(
            SandboxAccount::demo(),
        )))),
        other => Err(ProviderError::Config(format!(
            "unknown provider {other:?}, expected aws, gcp or sandbox"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal records how every Google API was reached, and reads older records without the field.
    #[test]
    fn the_google_api_endpoint_is_journalled_with_the_storage_one() {
        let target = ProviderTarget {
            provider: "gcp".to_owned(),
            region: String::new(),
            endpoints: Endpoints {
                gcp_project: Some("p".to_owned()),
                gcs: Some("http://127.0.0.1:9023".to_owned()),
                gcp: Some("http://127.0.0.1:8400".to_owned()),
                ..Endpoints::default()
            },
        };
        let journalled = serde_json::to_value(&target).unwrap();
        assert_eq!(journalled["endpoints"]["gcp"], "http://127.0.0.1:8400");
        assert_eq!(
            serde_json::from_value::<ProviderTarget>(journalled).unwrap(),
            target
        );
        let older: ProviderTarget = serde_json::from_value(serde_json::json!({
            "provider": "gcp", "region": "", "endpoints": {"gcpProject": "p", "gcs": "http://127.0.0.1:9023"}
        }))
        .unwrap();
        assert_eq!(older.endpoints.gcp, None);
        assert!(
            target
                .to_string()
                .contains("api endpoint http://127.0.0.1:8400")
        );
    }
}
