//! Bucket ACLs and the canary object's ACL: conversions between the SDK's grants and the model's, and the
//! writes (a whole access control policy, or `x-amz-grant-*` headers for the object).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{self as s3_types, AccessControlPolicy, Owner, Permission, Type};

use super::{BucketState, unwritable};
use crate::aws::{AwsClients, sdk_error};
use crate::model::s3::{self as model, BucketAcl, CanaryObjectAcl, Grant, Grantee};
use crate::{ProviderError, Result};

/// A grantee as S3 reports it, in the model. An empty field (moto reports `<URI></URI>` on canonical users of
/// logging grants) is no field: S3 means the same, and a write of it would not read back the same.
fn grantee_from_sdk(grantee: &s3_types::Grantee) -> Grantee {
    let field = |value: Option<&str>| value.filter(|value| !value.is_empty()).map(str::to_owned);
    Grantee {
        grantee_type: grantee.r#type().as_str().to_owned(),
        id: field(grantee.id()),
        uri: field(grantee.uri()),
        email_address: field(grantee.email_address()),
        display_name: field(grantee.display_name()),
    }
}

/// A model grantee as the SDK writes it.
pub(super) fn grantee_to_sdk(bucket: &str, grantee: &Grantee) -> Result<s3_types::Grantee> {
    s3_types::Grantee::builder()
        .r#type(Type::from(grantee.grantee_type.as_str()))
        .set_id(grantee.id.clone())
        .set_uri(grantee.uri.clone())
        .set_email_address(grantee.email_address.clone())
        .set_display_name(grantee.display_name.clone())
        .build()
        .map_err(|error| unwritable(bucket, error))
}

/// A grant (of an ACL or of access logging) as S3 reports it, in the model; none without grantee or permission.
pub(super) fn grant_from_sdk(
    grantee: Option<&s3_types::Grantee>,
    permission: Option<&str>,
) -> Option<Grant> {
    Some(Grant {
        grantee: grantee_from_sdk(grantee?),
        permission: permission?.to_owned(),
    })
}

/// An ACL (bucket or object) as S3 reports it, in the model.
fn acl_from_sdk(owner: Option<&Owner>, grants: &[s3_types::Grant]) -> BucketAcl {
    let grants = grants
        .iter()
        .filter_map(|grant| {
            grant_from_sdk(grant.grantee(), grant.permission().map(Permission::as_str))
        })
        .collect();
    BucketAcl::new(
        owner.and_then(Owner::id).unwrap_or_default().to_owned(),
        owner.and_then(Owner::display_name).map(str::to_owned),
        grants,
    )
}

/// A model ACL as the SDK writes it (PutBucketAcl, PutObjectAcl).
fn acl_to_sdk(bucket: &str, acl: &BucketAcl) -> Result<AccessControlPolicy> {
    let mut grants = Vec::with_capacity(acl.grants.len());
    for grant in &acl.grants {
        grants.push(
            s3_types::Grant::builder()
                .grantee(grantee_to_sdk(bucket, &grant.grantee)?)
                .permission(Permission::from(grant.permission.as_str()))
                .build(),
        );
    }
    Ok(AccessControlPolicy::builder()
        .owner(
            Owner::builder()
                .id(&acl.owner_id)
                .set_display_name(acl.owner_display_name.clone())
                .build(),
        )
        .set_grants(Some(grants))
        .build())
}

/// The bucket ACL (`aws.s3.bucket-public-acl`, `aws.s3.bucket-public-read-write-acl`).
#[async_trait]
impl BucketState for BucketAcl {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketAcl> {
        let output = clients
            .s3
            .get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .map_err(|error| sdk_error("GetBucketAcl", bucket, error))?;
        Ok(acl_from_sdk(output.owner(), output.grants()))
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        clients
            .s3
            .put_bucket_acl()
            .bucket(bucket)
            .access_control_policy(acl_to_sdk(bucket, self)?)
            .send()
            .await
            .map_err(|error| sdk_error("PutBucketAcl", bucket, error))?;
        Ok(())
    }
}

/// `aws.s3.object-public-acl`: adds READ for AllUsers to the bucket's canary object, the first key under
/// [`model::CANARY_PREFIX`]; the revert writes back the object's exact previous ACL. A bucket without a canary
/// object fails the precondition: rdfi never makes any other object public.
#[async_trait]
impl BucketState for CanaryObjectAcl {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<CanaryObjectAcl> {
        read_object_acl(clients, bucket).await
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        write_object_acl(clients, bucket, self).await
    }
}

/// The `x-amz-grant-*` header value of each permission of an ACL: `id="..."`, `uri="..."` or
/// `emailAddress="..."` per grantee, comma-separated.
pub(super) fn grant_headers(acl: &BucketAcl) -> BTreeMap<&str, String> {
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    for grant in &acl.grants {
        let grantee = &grant.grantee;
        let Some(named) = (grantee.id.as_ref().map(|id| format!("id=\"{id}\"")))
            .or_else(|| grantee.uri.as_ref().map(|uri| format!("uri=\"{uri}\"")))
            .or_else(|| {
                grantee
                    .email_address
                    .as_ref()
                    .map(|email| format!("emailAddress=\"{email}\""))
            })
        else {
            continue;
        };
        headers
            .entry(grant.permission.as_str())
            .and_modify(|value| {
                value.push_str(", ");
                value.push_str(&named);
            })
            .or_insert(named);
    }
    headers
}

/// Writes an object's ACL through the `x-amz-grant-*` headers rather than an AccessControlPolicy body: S3
/// means the same by both (the object's owner stays its owner), and moto only reads the headers (it answers a
/// body with the bucket's ACL).
async fn write_object_acl(
    clients: &AwsClients,
    bucket: &str,
    object: &CanaryObjectAcl,
) -> Result<()> {
    let mut headers = grant_headers(&object.acl);
    clients
        .s3
        .put_object_acl()
        .bucket(bucket)
        .key(&object.key)
        .set_grant_full_control(headers.remove("FULL_CONTROL"))
        .set_grant_read(headers.remove("READ"))
        .set_grant_read_acp(headers.remove("READ_ACP"))
        .set_grant_write(headers.remove("WRITE"))
        .set_grant_write_acp(headers.remove("WRITE_ACP"))
        .send()
        .await
        .map_err(|error| sdk_error("PutObjectAcl", bucket, error))?;
    Ok(())
}

/// The canary object (the first key under [`model::CANARY_PREFIX`]) and its ACL.
async fn read_object_acl(clients: &AwsClients, bucket: &str) -> Result<CanaryObjectAcl> {
    let listing = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(model::CANARY_PREFIX)
        .max_keys(1)
        .send()
        .await
        .map_err(|error| sdk_error("ListObjectsV2", bucket, error))?;
    let Some(key) = listing.contents().iter().find_map(|object| object.key()) else {
        return Err(ProviderError::Precondition {
            resource: bucket.to_owned(),
            reason: format!(
                "the bucket has no canary object under {}",
                model::CANARY_PREFIX
            ),
        });
    };
    let output = clients
        .s3
        .get_object_acl()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| sdk_error("GetObjectAcl", bucket, error))?;
    Ok(CanaryObjectAcl {
        key: key.to_owned(),
        acl: acl_from_sdk(output.owner(), output.grants()),
    })
}
