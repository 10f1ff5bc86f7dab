//! S3 buckets: discovery, tags, and the S3 faults: bucket and object ACLs, bucket policies, Block Public
//! Access, default encryption, versioning, access logging and lifecycle rules.

mod acl;
pub(crate) mod canary;
mod lifecycle;
mod object_lock;
mod policy;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, bucket_ref, sdk_error};
use crate::model::FaultSemantics;
use crate::model::s3 as model;
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

pub(crate) const RESOURCE_TYPES: &[&str] = &[super::BUCKET];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(BucketStateDriver::<model::BucketPublicAcl>::new()),
        Box::new(BucketStateDriver::<model::BucketPublicReadWriteAcl>::new()),
        Box::new(BucketStateDriver::<model::BucketPolicyPublic>::new()),
        Box::new(BucketStateDriver::<model::BucketPolicyExternalAccount>::new()),
        Box::new(BucketStateDriver::<model::BucketTlsOnlyStatementRemoved>::new()),
        Box::new(BucketStateDriver::<model::BucketPublicAccessBlockRemoved>::new()),
        Box::new(BucketStateDriver::<model::BucketDefaultEncryptionRemoved>::new()),
        Box::new(BucketStateDriver::<model::BucketVersioningSuspended>::new()),
        Box::new(BucketStateDriver::<model::BucketAccessLoggingDisabled>::new()),
        Box::new(BucketStateDriver::<model::BucketLifecycleExpireOneDay>::new()),
        Box::new(BucketStateDriver::<model::ObjectPublicAcl>::new()),
        Box::new(BucketStateDriver::<model::BucketObjectLockRetentionShortened>::new()),
    ]
}

/// A bucket configuration an S3 fault changes, read and written whole.
#[async_trait]
trait BucketState: Sized + Send + Sync {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<Self>;
    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()>;
}

/// Every S3 fault: reads its state and writes the state its semantics derive. S3 takes each configuration
/// whole (an ACL, a policy, the encryption, logging or lifecycle rules), so the revert writes the whole target
/// the semantics computed from the state just read: the fault's change undone, others' changes kept (an absent
/// configuration is deleted).
pub(crate) struct BucketStateDriver<F>(std::marker::PhantomData<F>);

impl<F> BucketStateDriver<F> {
    fn new() -> Self {
        BucketStateDriver(std::marker::PhantomData)
    }
}

#[async_trait]
impl<F: FaultSemantics> StateDriver<AwsClients> for BucketStateDriver<F>
where
    F::State: BucketState,
{
    type Fault = F;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<F::State> {
        F::State::read(clients, &resource.name).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &F::State,
    ) -> Result<()> {
        F::inject(before).write(clients, &resource.name).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<F::State>,
        target: &F::State,
    ) -> Result<()> {
        target.write(clients, &resource.name).await
    }
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    bucket_tags(clients, &resource.name).await
}

/// Every bucket in the configured region, with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.s3.list_buckets().into_paginator().send();
    let mut buckets = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListBuckets", "account", error))?;
        for bucket in page.buckets() {
            let Some(name) = bucket.name() else { continue };
            // ListBuckets answers for every region; a bucket elsewhere is another region's target.
            if bucket
                .bucket_region()
                .is_some_and(|region| region != clients.region)
            {
                continue;
            }
            let tags = bucket_tags(clients, name).await?;
            buckets.push(bucket_ref("aws", name, &clients.region, tags));
        }
    }
    Ok(buckets)
}

pub(crate) async fn bucket_tags(
    clients: &AwsClients,
    name: &str,
) -> Result<BTreeMap<String, String>> {
    match clients.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(output) => Ok(output
            .tag_set()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect()),
        Err(error) if error.code() == Some("NoSuchTagSet") => Ok(BTreeMap::new()),
        Err(error) => Err(sdk_error("GetBucketTagging", name, error)),
    }
}

/// A snapshot the SDK refuses to build a request from.
fn unwritable(bucket: &str, error: aws_sdk_s3::error::BuildError) -> ProviderError {
    ProviderError::Snapshot {
        resource: bucket.to_owned(),
        reason: error.to_string(),
    }
}

/// A bucket whose configuration rdfi could not write back exactly: not a target of the fault.
fn not_restorable(bucket: &str, what: &str) -> ProviderError {
    ProviderError::Precondition {
        resource: bucket.to_owned(),
        reason: format!("{what}, which rdfi cannot restore exactly"),
    }
}
