//! Google Cloud: Cloud Storage buckets of one project, configured through the JSON API (see [`json_api`]).
//!
//! A bucket is named by its Cloud Asset Inventory full resource name,
//! `//storage.googleapis.com/projects/_/buckets/NAME` (bucket names are global, so the project is `_`); its
//! tags are its labels, so `rdfi-target: "true"` opts it in.

pub mod json_api;
mod storage;

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use crate::exposure::{AnonymousAnswer, Canary, OutsiderRead};
use crate::{DriverSet, FaultOperations, Provider, ProviderError, Result};
use json_api::JsonApiClient;

pub const BUCKET: &str = "gcp.storage.bucket";

/// A bucket as a resource reference; `provider` is `gcp`, or `sandbox` for its in-memory twin. `location` is
/// the bucket's location (`US`, `EUROPE-WEST1`).
pub fn bucket_ref(
    provider: &str,
    name: &str,
    location: &str,
    labels: BTreeMap<String, String>,
) -> ResourceRef {
    ResourceRef {
        exposure: String::new(),
        provider: provider.to_owned(),
        resource_type: BUCKET.to_owned(),
        id: bucket_resource_name(name),
        name: name.to_owned(),
        region: location.to_owned(),
        tags: labels.into_iter().collect(),
    }
}

/// The full resource name of a bucket.
pub fn bucket_resource_name(name: &str) -> String {
    format!("//storage.googleapis.com/projects/_/buckets/{name}")
}

/// How to reach Google Cloud Storage.
#[derive(Clone, Debug, Default)]
pub struct GcpSettings {
    /// The project whose buckets are discovered.
    pub project: String,
    /// Base URL override (`http://127.0.0.1:PORT` for gcp-storage-emulator): calls are then anonymous. Google's
    /// endpoint with application default credentials when `None`.
    pub endpoint: Option<String>,
}

pub struct GcpProvider {
    faults: DriverSet<JsonApiClient>,
}

impl GcpProvider {
    pub fn connect(settings: &GcpSettings) -> Result<Self> {
        if settings.project.is_empty() {
            return Err(ProviderError::Config(
                "a GCP project id is required (--gcp-project or RDFI_GCP_PROJECT)".to_owned(),
            ));
        }
        let client = match &settings.endpoint {
            Some(endpoint) => JsonApiClient::anonymous(endpoint, &settings.project)?,
            None => JsonApiClient::google(&settings.project)?,
        };
        Ok(GcpProvider {
            faults: DriverSet::new("gcp", client, storage::drivers()),
        })
    }
}

#[async_trait]
impl Provider for GcpProvider {
    fn name(&self) -> &'static str {
        "gcp"
    }

    fn faults(&self) -> &dyn FaultOperations {
        &self.faults
    }

    async fn discover(&self, resource_type: &str) -> Result<Vec<ResourceRef>> {
        check_resource_type(resource_type)?;
        storage::discover(self.faults.clients()).await
    }

    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>> {
        check_resource_type(&resource.resource_type)?;
        storage::labels(self.faults.clients(), &resource.name).await
    }

    async fn place_canary(&self, resource: &ResourceRef, canary: &Canary) -> Result<()> {
        check_resource_type(&resource.resource_type)?;
        self.faults
            .clients()
            .insert_object(&resource.name, &canary.key, &canary.content)
            .await
    }

    async fn read_anonymously(
        &self,
        resource: &ResourceRef,
        read: OutsiderRead,
        canary_key: &str,
    ) -> AnonymousAnswer {
        if let Err(error) = check_resource_type(&resource.resource_type) {
            return AnonymousAnswer::Unreachable(error.to_string());
        }
        self.faults
            .clients()
            .read_anonymously(&resource.name, read, canary_key)
            .await
    }

    async fn remove_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<()> {
        check_resource_type(&resource.resource_type)?;
        self.faults
            .clients()
            .delete_object(&resource.name, canary_key)
            .await
    }

    async fn has_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<bool> {
        check_resource_type(&resource.resource_type)?;
        self.faults
            .clients()
            .object_exists(&resource.name, canary_key)
            .await
    }
}

fn check_resource_type(resource_type: &str) -> Result<()> {
    if storage::RESOURCE_TYPES.contains(&resource_type) {
        Ok(())
    } else {
        Err(ProviderError::Config(format!(
            "gcp has no resource type {resource_type:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_is_required_and_other_resource_types_are_refused() {
        let missing = GcpProvider::connect(&GcpSettings {
            project: String::new(),
            endpoint: Some("http://127.0.0.1:9".to_owned()),
        });
        assert!(matches!(missing, Err(ProviderError::Config(_))));
        assert!(check_resource_type(BUCKET).is_ok());
        assert!(check_resource_type("aws.s3.bucket").is_err());
        assert_eq!(
            bucket_ref("gcp", "exports", "US", BTreeMap::new()).id,
            "//storage.googleapis.com/projects/_/buckets/exports"
        );
    }
}
