//! Google Cloud: one project's Cloud Storage buckets, the project itself (its IAM policy and audit configs),
//! its service accounts and its VPC firewall rules, configured through Google's JSON APIs (see [`json_api`]).
//!
//! A bucket is named by its Cloud Asset Inventory full resource name,
//! `//storage.googleapis.com/projects/_/buckets/NAME` (bucket names are global, so the project is `_`), and a
//! project by `//cloudresourcemanager.googleapis.com/projects/PROJECT`; their tags are their labels, so
//! `rdfi-target: "true"` opts them in. Service accounts (`projects/P/serviceAccounts/EMAIL`) and firewall
//! rules (`projects/P/global/firewalls/NAME`) have no labels: their tags are the `key=value` words of their
//! description ([`description_tags`]), so a description holding `rdfi-target=true` opts one in and
//! `rdfi-protected=true` protects it.

mod apis;
mod compute;
mod iam;
pub mod json_api;
mod resourcemanager;
mod storage;

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use crate::exposure::{AnonymousAnswer, Canary, OutsiderRead};
use crate::{DriverSet, FaultDriver, FaultOperations, Provider, ProviderError, Result};
use json_api::JsonApiClient;

pub const BUCKET: &str = "gcp.storage.bucket";
pub const PROJECT: &str = "gcp.project";
pub const SERVICE_ACCOUNT: &str = "gcp.iam.service-account";
pub const FIREWALL: &str = "gcp.compute.firewall";

/// A bucket as a resource reference; `provider` is `gcp`, or `sandbox` for its in-memory twin. `location` is
/// the bucket's location (`US`, `EUROPE-WEST1`).
pub fn bucket_ref(
    provider: &str,
    name: &str,
    location: &str,
    labels: BTreeMap<String, String>,
) -> ResourceRef {
    gcp_ref(
        provider,
        BUCKET,
        bucket_resource_name(name),
        name,
        location,
        labels,
    )
}

/// The full resource name of a bucket.
pub fn bucket_resource_name(name: &str) -> String {
    format!("//storage.googleapis.com/projects/_/buckets/{name}")
}

/// A project as a resource reference, with its labels.
pub fn project_ref(project: &str, labels: BTreeMap<String, String>) -> ResourceRef {
    gcp_ref(
        "gcp",
        PROJECT,
        format!("//cloudresourcemanager.googleapis.com/projects/{project}"),
        project,
        "global",
        labels,
    )
}

/// A service account of `project` as a resource reference, with the tags of its description.
pub fn service_account_ref(project: &str, email: &str, description: &str) -> ResourceRef {
    gcp_ref(
        "gcp",
        SERVICE_ACCOUNT,
        format!("projects/{project}/serviceAccounts/{email}"),
        email,
        "global",
        description_tags(description),
    )
}

/// A VPC firewall rule of `project` as a resource reference, with the tags of its description.
pub fn firewall_ref(project: &str, name: &str, description: &str) -> ResourceRef {
    gcp_ref(
        "gcp",
        FIREWALL,
        format!("projects/{project}/global/firewalls/{name}"),
        name,
        "global",
        description_tags(description),
    )
}

fn gcp_ref(
    provider: &str,
    resource_type: &str,
    id: String,
    name: &str,
    region: &str,
    tags: BTreeMap<String, String>,
) -> ResourceRef {
    ResourceRef {
        exposure: String::new(),
        provider: provider.to_owned(),
        resource_type: resource_type.to_owned(),
        id,
        name: name.to_owned(),
        region: region.to_owned(),
        tags: tags.into_iter().collect(),
    }
}

/// The tags of a resource that has no labels, only a description: its `key=value` words (a trailing `.`, `,`
/// or `;` is punctuation, not value). `"CI deployer, rdfi-target=true."` opts in as `rdfi-target: "true"`.
pub fn description_tags(description: &str) -> BTreeMap<String, String> {
    description
        .split_whitespace()
        .filter_map(|word| {
            let (key, value) = word.split_once('=')?;
            let value = value.trim_end_matches(['.', ',', ';']);
            (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// How to reach Google Cloud.
#[derive(Clone, Debug, Default)]
pub struct GcpSettings {
    /// The project whose resources are discovered.
    pub project: String,
    /// Cloud Storage base URL override (`http://127.0.0.1:PORT` for gcp-storage-emulator): its calls are then
    /// anonymous. Google's endpoint with application default credentials when `None`.
    pub endpoint: Option<String>,
    /// One base URL override for every other Google Cloud API (Resource Manager, IAM, Compute Engine; gcplocal
    /// serves them all on one port): their calls are then anonymous.
    pub api_endpoint: Option<String>,
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
        let client = JsonApiClient::connect(
            &settings.project,
            settings.endpoint.as_deref(),
            settings.api_endpoint.as_deref(),
        )?;
        let drivers: Vec<Box<dyn FaultDriver<JsonApiClient>>> = [
            storage::drivers(),
            resourcemanager::drivers(),
            iam::drivers(),
            compute::drivers(),
        ]
        .into_iter()
        .flatten()
        .collect();
        Ok(GcpProvider {
            faults: DriverSet::new("gcp", client, drivers),
        })
    }
}

/// The names of the identity `email` acting in `project`: its service account resource and its email.
fn own_identities(project: &str, email: &str) -> Vec<String> {
    vec![
        format!("projects/{project}/serviceAccounts/{email}"),
        email.to_owned(),
    ]
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
        let client = self.faults.clients();
        match resource_type {
            BUCKET => storage::discover(client).await,
            PROJECT => resourcemanager::discover(client).await,
            SERVICE_ACCOUNT => iam::discover(client).await,
            FIREWALL => compute::discover(client).await,
            other => Err(unknown_resource_type(other)),
        }
    }

    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>> {
        let client = self.faults.clients();
        match resource.resource_type.as_str() {
            BUCKET => storage::labels(client, &resource.name).await,
            PROJECT => resourcemanager::labels(client).await,
            SERVICE_ACCOUNT => iam::tags(client, &resource.name).await,
            FIREWALL => compute::tags(client, &resource.name).await,
            other => Err(unknown_resource_type(other)),
        }
    }

    /// The service account rdfi acts as, named as its resource is (`projects/P/serviceAccounts/EMAIL`) and by
    /// email, so that the guard never targets it; nothing against emulators.
    async fn caller_identity(&self) -> Result<Vec<String>> {
        let client = self.faults.clients();
        Ok(client
            .caller_email()
            .await?
            .map(|email| own_identities(client.project(), &email))
            .unwrap_or_default())
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

/// Canaries live in buckets only.
fn check_resource_type(resource_type: &str) -> Result<()> {
    if resource_type == BUCKET {
        Ok(())
    } else {
        Err(ProviderError::Config(format!(
            "exposure canaries are placed in buckets, not in a {resource_type:?}"
        )))
    }
}

fn unknown_resource_type(resource_type: &str) -> ProviderError {
    ProviderError::Config(format!("gcp has no resource type {resource_type:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_is_required_and_other_resource_types_are_refused() {
        let missing = GcpProvider::connect(&GcpSettings {
            project: String::new(),
            endpoint: Some("http://127.0.0.1:9".to_owned()),
            api_endpoint: None,
        });
        assert!(matches!(missing, Err(ProviderError::Config(_))));
        assert!(check_resource_type(BUCKET).is_ok());
        assert!(check_resource_type("aws.s3.bucket").is_err());
        assert_eq!(
            bucket_ref("gcp", "exports", "US", BTreeMap::new()).id,
            "//storage.googleapis.com/projects/_/buckets/exports"
        );
        assert_eq!(
            project_ref("p", BTreeMap::new()).id,
            "//cloudresourcemanager.googleapis.com/projects/p"
        );
    }

    /// rdfi's own service account is named as discovery names service accounts, so the guard refuses it; an
    /// emulator run acts as no one.
    #[tokio::test]
    async fn rdfi_never_targets_the_service_account_it_acts_as() {
        assert_eq!(
            own_identities("p", "rdfi@p.iam.gserviceaccount.com")[0],
            "projects/p/serviceAccounts/rdfi@p.iam.gserviceaccount.com"
        );
        let storage_emulated = GcpProvider::connect(&GcpSettings {
            project: "p".to_owned(),
            endpoint: Some("http://127.0.0.1:9".to_owned()),
            api_endpoint: None,
        })
        .unwrap();
        assert_eq!(
            storage_emulated.caller_identity().await.unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn descriptions_hold_the_tags_of_resources_without_labels() {
        let tags = description_tags("CI deployer, rdfi-target=true. owner=team-a; not a tag =x");
        assert_eq!(
            tags,
            BTreeMap::from([
                ("owner".to_owned(), "team-a".to_owned()),
                ("rdfi-target".to_owned(), "true".to_owned()),
            ])
        );
        let account =
            service_account_ref("p", "ci@p.iam.gserviceaccount.com", "rdfi-protected=true");
        assert_eq!(
            account.id,
            "projects/p/serviceAccounts/ci@p.iam.gserviceaccount.com"
        );
        assert_eq!(
            account.tags.get("rdfi-protected").map(String::as_str),
            Some("true")
        );
        assert_eq!(
            firewall_ref("p", "allow-ssh", "").id,
            "projects/p/global/firewalls/allow-ssh"
        );
    }
}
