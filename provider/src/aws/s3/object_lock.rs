//! The bucket's Object Lock default retention (`aws.s3.bucket-object-lock-retention-shortened`).

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    DefaultRetention as SdkDefaultRetention, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule,
};

use super::BucketState;
use crate::Result;
use crate::aws::{AwsClients, sdk_error};
use crate::model::s3::{DefaultRetention, ObjectLock};

/// The error S3 answers for a bucket without Object Lock.
const NO_OBJECT_LOCK: &str = "ObjectLockConfigurationNotFoundError";

/// Object Lock is read and written whole; once enabled it cannot be disabled, so a write always says
/// Enabled, with the target's default retention or none.
#[async_trait]
impl BucketState for ObjectLock {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<ObjectLock> {
        let answer = match clients
            .s3
            .get_object_lock_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(error) if error.code() == Some(NO_OBJECT_LOCK) => {
                return Ok(ObjectLock {
                    enabled: false,
                    default_retention: None,
                });
            }
            Err(error) => return Err(sdk_error("GetObjectLockConfiguration", bucket, error)),
        };
        let configuration = answer.object_lock_configuration();
        Ok(ObjectLock {
            enabled: configuration.and_then(|c| c.object_lock_enabled())
                == Some(&ObjectLockEnabled::Enabled),
            default_retention: configuration
                .and_then(|c| c.rule())
                .and_then(|rule| rule.default_retention())
                .map(|retention| DefaultRetention {
                    mode: retention
                        .mode()
                        .map(|mode| mode.as_str().to_owned())
                        .unwrap_or_default(),
                    // S3 takes one of the two and neither may be 0; moto answers 0 for the one not set.
                    days: retention.days().filter(|days| *days > 0),
                    years: retention.years().filter(|years| *years > 0),
                }),
        })
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        let rule = self.default_retention.as_ref().map(|retention| {
            ObjectLockRule::builder()
                .default_retention(
                    SdkDefaultRetention::builder()
                        .mode(ObjectLockRetentionMode::from(retention.mode.as_str()))
                        .set_days(retention.days)
                        .set_years(retention.years)
                        .build(),
                )
                .build()
        });
        clients
            .s3
            .put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .set_rule(rule)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| sdk_error("PutObjectLockConfiguration", bucket, error))?;
        Ok(())
    }
}
