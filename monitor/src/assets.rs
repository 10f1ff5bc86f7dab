//! The estate as rdfi knows it: the opted-in resources of the provider, each with its reach read from the
//! cloud (never changed). Discovery for a run reads the reach of the resources it lists; a refresh reads every
//! opted-in resource of every type the provider's faults aim at, on the monitor's schedule (`--asset-refresh`)
//! or when asked (`rdfi.v1.assets.refresh`), and publishes `rdfi.v1.assets.observed`, which knowledge keeps
//! as assets.

use std::collections::HashSet;

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use rdfi_core::catalogue;
use rdfi_core::risk::Reach;
use rdfi_core::targeting;
use rdfi_proto::v1::{AssetsObserved, ResourceRef};
use rdfi_provider::{Provider, ProviderError, RetryPolicy, with_retry};

/// How many resources have their reach read at once.
const READS_AT_ONCE: usize = 8;

/// Fills each resource's `exposure` with its reach ([`Reach::label`]). A resource in `busy` (one of rdfi's
/// own faults is active on it) is not read, since what rdfi injected would read as the resource's own: its
/// reach is unknown.
pub async fn read_reach(
    provider: &dyn Provider,
    resources: &mut [ResourceRef],
    busy: &HashSet<String>,
) {
    let reads: Vec<BoxFuture<'_, Reach>> = resources
        .iter()
        .map(|resource| reach_of(provider, resource, busy.contains(&resource.id)).boxed())
        .collect();
    let reaches: Vec<Reach> = futures::stream::iter(reads)
        .buffered(READS_AT_ONCE)
        .collect()
        .await;
    for (resource, reach) in resources.iter_mut().zip(reaches) {
        resource.exposure = reach.label().to_owned();
    }
}

async fn reach_of(provider: &dyn Provider, resource: &ResourceRef, busy: bool) -> Reach {
    let mut readings = Vec::new();
    for (fault_id, reach) in catalogue::reach_probes(&resource.resource_type) {
        let present = if busy {
            None
        } else {
            let read = with_retry(&RetryPolicy::default(), "read reach", || {
                provider.faults().is_present(fault_id, resource)
            })
            .await;
            match read {
                Ok(present) => Some(present),
                // What the fault needs is not there (a bucket without a canary object): nor is the fault.
                Err(ProviderError::Precondition { .. }) => Some(false),
                Err(error) => {
                    tracing::debug!(resource = %resource.id, fault_id, %error, "reach not read");
                    None
                }
            }
        };
        readings.push((reach, present));
    }
    Reach::of_readings(readings)
}

/// Every opted-in resource of every type the provider's faults aim at, with its reach: what a refresh
/// publishes. A type that cannot be listed is named in `error` and left out of `resource_types`, so knowledge
/// marks none of its assets gone.
pub async fn observe(
    provider: &dyn Provider,
    opt_in_tag: &str,
    busy: &HashSet<String>,
) -> AssetsObserved {
    let mut observed = AssetsObserved {
        provider: provider.name().to_owned(),
        ..AssetsObserved::default()
    };
    let mut errors = Vec::new();
    for resource_type in catalogue::resource_types(provider.name()) {
        let listed = with_retry(&RetryPolicy::default(), "discover", || {
            provider.discover(resource_type)
        })
        .await;
        match listed {
            Ok(resources) => {
                observed
                    .resources
                    .extend(opted_in(resources, opt_in_tag, &Default::default()));
                observed.resource_types.push(resource_type.to_owned());
            }
            Err(error) => errors.push(format!("{resource_type}: {error}")),
        }
    }
    read_reach(provider, &mut observed.resources, busy).await;
    observed.error = errors.join("; ");
    observed
}

/// The resources opted in by `opt_in_tag`, matching `selector_tags`, and not protected.
pub(crate) fn opted_in(
    resources: Vec<ResourceRef>,
    opt_in_tag: &str,
    selector_tags: &std::collections::HashMap<String, String>,
) -> impl Iterator<Item = ResourceRef> {
    let opt_in_tag = opt_in_tag.to_owned();
    let selector_tags = selector_tags.clone();
    resources.into_iter().filter(move |resource| {
        targeting::refusal(&resource.tags, &opt_in_tag, &selector_tags).is_none()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider, resource_id};

    async fn inject(sandbox: &SandboxProvider, fault_id: &str, resource_type: &str, name: &str) {
        let resource = sandbox.account().resource(name).unwrap().resource;
        assert_eq!(resource.resource_type, resource_type);
        let snapshot = sandbox
            .faults()
            .snapshot(fault_id, &resource)
            .await
            .unwrap();
        sandbox
            .faults()
            .inject(fault_id, &resource, &snapshot)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_refresh_reads_every_opted_in_resource_with_its_reach() {
        let sandbox = SandboxProvider::new(Arc::new(SandboxAccount::demo()));
        inject(
            &sandbox,
            "aws.s3.bucket-public-acl",
            "aws.s3.bucket",
            "payments-exports",
        )
        .await;
        inject(
            &sandbox,
            "aws.iam.role-trust-policy-external-account",
            "aws.iam.role",
            "demo-role",
        )
        .await;
        let busy = HashSet::from([resource_id("aws.s3.bucket", "ml-training-data")]);
        let observed = observe(&sandbox, rdfi_core::DEFAULT_OPT_IN_TAG, &busy).await;
        assert_eq!(observed.error, "");
        assert_eq!(observed.provider, "sandbox");
        assert_eq!(
            observed.resource_types,
            catalogue::resource_types("sandbox")
        );
        let reach = |name: &str| {
            observed
                .resources
                .iter()
                .find(|resource| resource.name == name)
                .map(|resource| resource.exposure.as_str())
        };
        assert_eq!(reach("payments-exports"), Some("public"));
        assert_eq!(reach("demo-role"), Some("cross-account"));
        assert_eq!(reach("ml-training-data"), Some(""), "busy: not read");
        assert_eq!(reach("demo-security-group"), Some("internal"));
        assert_eq!(
            reach("demo-trail"),
            Some(""),
            "no fault of a trail tells reach"
        );
        assert_eq!(reach("ci-deployer"), Some(""));
        assert_eq!(reach("audit-archive"), None, "not opted in");
    }
}
