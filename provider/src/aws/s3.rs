//! S3 buckets: discovery, tags, and the `aws.s3.bucket-public-acl` fault.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{self as s3_types, AccessControlPolicy, Owner, Permission, Type};
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, bucket_ref, sdk_error};
use crate::model::s3::{self as model, BucketAcl, Grant, Grantee};
use crate::{FaultDriver, ProviderError, Result, StateDriver};

pub(crate) const RESOURCE_TYPES: &[&str] = &[super::BUCKET];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(PublicAclDriver)]
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

async fn read_acl(clients: &AwsClients, bucket: &str) -> Result<BucketAcl> {
    let output = clients
        .s3
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .map_err(|error| sdk_error("GetBucketAcl", bucket, error))?;
    let owner = output.owner();
    let grants = output
        .grants()
        .iter()
        .filter_map(|grant| {
            let grantee = grant.grantee()?;
            Some(Grant {
                grantee: Grantee {
                    grantee_type: grantee.r#type().as_str().to_owned(),
                    id: grantee.id().map(str::to_owned),
                    uri: grantee.uri().map(str::to_owned),
                    email_address: grantee.email_address().map(str::to_owned),
                    display_name: grantee.display_name().map(str::to_owned),
                },
                permission: grant.permission()?.as_str().to_owned(),
            })
        })
        .collect();
    Ok(BucketAcl::new(
        owner.and_then(Owner::id).unwrap_or_default().to_owned(),
        owner.and_then(Owner::display_name).map(str::to_owned),
        grants,
    ))
}

async fn write_acl(clients: &AwsClients, bucket: &str, acl: &BucketAcl) -> Result<()> {
    let config_error = |error: aws_sdk_s3::error::BuildError| ProviderError::Snapshot {
        resource: bucket.to_owned(),
        reason: error.to_string(),
    };
    let mut grants = Vec::with_capacity(acl.grants.len());
    for grant in &acl.grants {
        let grantee = s3_types::Grantee::builder()
            .r#type(Type::from(grant.grantee.grantee_type.as_str()))
            .set_id(grant.grantee.id.clone())
            .set_uri(grant.grantee.uri.clone())
            .set_email_address(grant.grantee.email_address.clone())
            .set_display_name(grant.grantee.display_name.clone())
            .build()
            .map_err(config_error)?;
        grants.push(
            s3_types::Grant::builder()
                .grantee(grantee)
                .permission(Permission::from(grant.permission.as_str()))
                .build(),
        );
    }
    let policy = AccessControlPolicy::builder()
        .owner(
            Owner::builder()
                .id(&acl.owner_id)
                .set_display_name(acl.owner_display_name.clone())
                .build(),
        )
        .set_grants(Some(grants))
        .build();
    clients
        .s3
        .put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(policy)
        .send()
        .await
        .map_err(|error| sdk_error("PutBucketAcl", bucket, error))?;
    Ok(())
}

/// `aws.s3.bucket-public-acl`: adds READ for AllUsers; the revert writes back the exact previous ACL.
pub(crate) struct PublicAclDriver;

#[async_trait]
impl StateDriver<AwsClients> for PublicAclDriver {
    type Fault = model::BucketPublicAcl;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<BucketAcl> {
        read_acl(clients, &resource.name).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &BucketAcl,
    ) -> Result<()> {
        write_acl(clients, &resource.name, &before.with_public_read()).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &BucketAcl,
    ) -> Result<()> {
        write_acl(clients, &resource.name, before).await
    }
}
