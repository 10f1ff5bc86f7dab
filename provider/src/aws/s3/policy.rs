//! Who may reach a bucket beyond its ACL: the bucket policy and the Block Public Access flags.

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;

use super::BucketState;
use crate::aws::{AwsClients, account_of, caller_arn, sdk_error};
use crate::model::s3::{self as model, BucketPolicy, PublicAccessBlock, PublicAccessBlockFlags};
use crate::{ProviderError, Result};

/// The bucket policy, canonical, with the bucket's name and owning account (the caller's account: rdfi runs in
/// the account whose buckets it targets) (`aws.s3.bucket-policy-public`, `aws.s3.bucket-policy-external-account`,
/// `aws.s3.bucket-tls-only-statement-removed`).
#[async_trait]
impl BucketState for BucketPolicy {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketPolicy> {
        let caller = caller_arn(clients).await?;
        let document = match clients.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(output) => output
                .policy()
                .map(|text| {
                    serde_json::from_str(text).map_err(|error| ProviderError::Api {
                        operation: "GetBucketPolicy".to_owned(),
                        resource: bucket.to_owned(),
                        reason: format!("the policy is not JSON: {error}"),
                        retryable: false,
                        throttled: false,
                    })
                })
                .transpose()?
                .map(model::canonical_policy),
            Err(error) if error.code() == Some("NoSuchBucketPolicy") => None,
            Err(error) => return Err(sdk_error("GetBucketPolicy", bucket, error)),
        };
        Ok(BucketPolicy {
            bucket: bucket.to_owned(),
            account_id: account_of(&caller).unwrap_or_default().to_owned(),
            document,
        })
    }

    /// Writes the policy document, or deletes the bucket policy when the state has none.
    async fn write(&self, clients: &AwsClients, _bucket: &str) -> Result<()> {
        let bucket = self.bucket.as_str();
        match &self.document {
            Some(document) => clients
                .s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(document.to_string())
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("PutBucketPolicy", bucket, error)),
            None => clients
                .s3
                .delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeleteBucketPolicy", bucket, error)),
        }
    }
}

/// The Block Public Access flags (`aws.s3.bucket-public-access-block-removed`: DeleteBucketPublicAccessBlock;
/// the revert puts the exact previous four flags back).
#[async_trait]
impl BucketState for PublicAccessBlock {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<PublicAccessBlock> {
        let configuration = match clients
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => {
                output
                    .public_access_block_configuration()
                    .map(|flags| PublicAccessBlockFlags {
                        block_public_acls: flags.block_public_acls().unwrap_or_default(),
                        ignore_public_acls: flags.ignore_public_acls().unwrap_or_default(),
                        block_public_policy: flags.block_public_policy().unwrap_or_default(),
                        restrict_public_buckets: flags
                            .restrict_public_buckets()
                            .unwrap_or_default(),
                    })
            }
            Err(error) if error.code() == Some("NoSuchPublicAccessBlockConfiguration") => None,
            Err(error) => return Err(sdk_error("GetPublicAccessBlock", bucket, error)),
        };
        Ok(PublicAccessBlock { configuration })
    }

    /// Puts the flags, or deletes the configuration when the state has none.
    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        let Some(flags) = self.configuration else {
            return clients
                .s3
                .delete_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeletePublicAccessBlock", bucket, error));
        };
        clients
            .s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(flags.block_public_acls)
                    .ignore_public_acls(flags.ignore_public_acls)
                    .block_public_policy(flags.block_public_policy)
                    .restrict_public_buckets(flags.restrict_public_buckets)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| sdk_error("PutPublicAccessBlock", bucket, error))?;
        Ok(())
    }
}
