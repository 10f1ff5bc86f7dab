//! Lifecycle rules: conversions between the SDK's rules and the model's, refusing what rdfi could not write
//! back exactly.

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    self as s3_types, AbortIncompleteMultipartUpload, BucketLifecycleConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, Transition, TransitionStorageClass,
};

use super::settings::read_versioning;
use super::{BucketState, not_restorable, unwritable};
use crate::Result;
use crate::aws::{AwsClients, sdk_error};
use crate::model::s3::{BucketLifecycle, LifecycleRule};

/// One SDK lifecycle rule in the model, or a precondition error when it uses what the model cannot hold.
fn lifecycle_rule_from_sdk(bucket: &str, rule: &s3_types::LifecycleRule) -> Result<LifecycleRule> {
    let id = rule.id().unwrap_or_default().to_owned();
    let unsupported =
        |what: &str| not_restorable(bucket, &format!("lifecycle rule {id:?} uses {what}"));
    let filter = rule.filter();
    let and = filter.and_then(LifecycleRuleFilter::and);
    if filter.is_some_and(|filter| {
        filter.object_size_greater_than().is_some() || filter.object_size_less_than().is_some()
    }) || and.is_some_and(|and| {
        and.object_size_greater_than().is_some() || and.object_size_less_than().is_some()
    }) {
        return Err(unsupported("an object size filter"));
    }
    let expiration = rule.expiration();
    if expiration.is_some_and(|expiration| expiration.date().is_some())
        || rule
            .transitions()
            .iter()
            .any(|transition| transition.date().is_some())
    {
        return Err(unsupported("a date"));
    }
    if rule
        .noncurrent_version_expiration()
        .is_some_and(|expiration| expiration.newer_noncurrent_versions().is_some())
        || rule
            .noncurrent_version_transitions()
            .iter()
            .any(|transition| transition.newer_noncurrent_versions().is_some())
    {
        return Err(unsupported("newer noncurrent versions"));
    }
    let tags = filter
        .and_then(|filter| filter.tag())
        .into_iter()
        .chain(and.map(LifecycleRuleAndOperator::tags).unwrap_or_default())
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect();
    #[allow(deprecated)]
    let legacy_prefix = rule.prefix();
    let prefix = filter
        .and_then(LifecycleRuleFilter::prefix)
        .or_else(|| and.and_then(LifecycleRuleAndOperator::prefix))
        .or(legacy_prefix)
        .filter(|prefix| !prefix.is_empty())
        .map(str::to_owned);
    let storage_class = |class: Option<&TransitionStorageClass>| {
        class
            .map(|class| class.as_str().to_owned())
            .unwrap_or_default()
    };
    let mut transitions: Vec<(i32, String)> = rule
        .transitions()
        .iter()
        .map(|transition| {
            (
                transition.days().unwrap_or_default(),
                storage_class(transition.storage_class()),
            )
        })
        .collect();
    transitions.sort();
    let mut noncurrent_version_transitions: Vec<(i32, String)> = rule
        .noncurrent_version_transitions()
        .iter()
        .map(|transition| {
            (
                transition.noncurrent_days().unwrap_or_default(),
                storage_class(transition.storage_class()),
            )
        })
        .collect();
    noncurrent_version_transitions.sort();
    Ok(LifecycleRule {
        id,
        status: rule.status().as_str().to_owned(),
        prefix,
        tags,
        expiration_days: expiration.and_then(LifecycleExpiration::days),
        expired_object_delete_marker: expiration
            .and_then(LifecycleExpiration::expired_object_delete_marker),
        transitions,
        noncurrent_version_expiration_days: rule
            .noncurrent_version_expiration()
            .and_then(NoncurrentVersionExpiration::noncurrent_days),
        noncurrent_version_transitions,
        abort_incomplete_multipart_upload_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(AbortIncompleteMultipartUpload::days_after_initiation),
    })
}

/// One model lifecycle rule as the SDK writes it: a prefix filter, a single tag, or an And of both.
fn lifecycle_rule_to_sdk(bucket: &str, rule: &LifecycleRule) -> Result<s3_types::LifecycleRule> {
    let mut tags = Vec::with_capacity(rule.tags.len());
    for (key, value) in &rule.tags {
        tags.push(
            s3_types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| unwritable(bucket, error))?,
        );
    }
    let filter = match (rule.prefix.as_deref(), tags.len()) {
        (prefix, 0) => LifecycleRuleFilter::builder()
            .prefix(prefix.unwrap_or_default())
            .build(),
        (None, 1) => LifecycleRuleFilter::builder().set_tag(tags.pop()).build(),
        (prefix, _) => LifecycleRuleFilter::builder()
            .and(
                LifecycleRuleAndOperator::builder()
                    .set_prefix(prefix.map(str::to_owned))
                    .set_tags(Some(tags))
                    .build(),
            )
            .build(),
    };
    let expiration = (rule.expiration_days.is_some()
        || rule.expired_object_delete_marker.is_some())
    .then(|| {
        LifecycleExpiration::builder()
            .set_days(rule.expiration_days)
            .set_expired_object_delete_marker(rule.expired_object_delete_marker)
            .build()
    });
    let transitions = rule
        .transitions
        .iter()
        .map(|(days, class)| {
            Transition::builder()
                .days(*days)
                .storage_class(TransitionStorageClass::from(class.as_str()))
                .build()
        })
        .collect();
    let noncurrent_version_transitions = rule
        .noncurrent_version_transitions
        .iter()
        .map(|(days, class)| {
            NoncurrentVersionTransition::builder()
                .noncurrent_days(*days)
                .storage_class(TransitionStorageClass::from(class.as_str()))
                .build()
        })
        .collect();
    s3_types::LifecycleRule::builder()
        .id(&rule.id)
        .status(ExpirationStatus::from(rule.status.as_str()))
        .filter(filter)
        .set_expiration(expiration)
        .set_transitions(Some(transitions))
        .set_noncurrent_version_transitions(Some(noncurrent_version_transitions))
        .set_noncurrent_version_expiration(rule.noncurrent_version_expiration_days.map(|days| {
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build()
        }))
        .set_abort_incomplete_multipart_upload(rule.abort_incomplete_multipart_upload_days.map(
            |days| {
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build()
            },
        ))
        .build()
        .map_err(|error| unwritable(bucket, error))
}

/// Whether the bucket's versioning status is `Enabled`.
async fn versioning_enabled(clients: &AwsClients, bucket: &str) -> Result<bool> {
    Ok(read_versioning(clients, bucket).await?.status.as_deref() == Some("Enabled"))
}

/// Writes lifecycle rules, or deletes the lifecycle configuration when there are none (S3 refuses an empty
/// configuration).
async fn write_lifecycle(
    clients: &AwsClients,
    bucket: &str,
    lifecycle: &BucketLifecycle,
) -> Result<()> {
    if lifecycle.rules.is_empty() {
        return clients
            .s3
            .delete_bucket_lifecycle()
            .bucket(bucket)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DeleteBucketLifecycle", bucket, error));
    }
    let mut rules = Vec::with_capacity(lifecycle.rules.len());
    for rule in &lifecycle.rules {
        rules.push(lifecycle_rule_to_sdk(bucket, rule)?);
    }
    let configuration = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|error| unwritable(bucket, error))?;
    clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(configuration)
        .send()
        .await
        .map_err(|error| sdk_error("PutBucketLifecycleConfiguration", bucket, error))?;
    Ok(())
}

/// The lifecycle rules (`aws.s3.bucket-lifecycle-expire-one-day`: adds a rule expiring every object after one
/// day, keeping the other rules; the revert writes the rules without the fault's, keeping rules others changed
/// meanwhile, or deletes the configuration if none remain). The bucket's versioning status is read along (the
/// fault refuses an unversioned bucket, where it would destroy data; moto's GetBucketVersioning quirk is
/// handled by [`read_versioning`]) and never written here.
#[async_trait]
impl BucketState for BucketLifecycle {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketLifecycle> {
        let output = match clients
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.code() == Some("NoSuchLifecycleConfiguration") => {
                return Ok(BucketLifecycle {
                    versioning_enabled: versioning_enabled(clients, bucket).await?,
                    ..BucketLifecycle::default()
                });
            }
            Err(error) => return Err(sdk_error("GetBucketLifecycleConfiguration", bucket, error)),
        };
        let mut rules = Vec::with_capacity(output.rules().len());
        for rule in output.rules() {
            rules.push(lifecycle_rule_from_sdk(bucket, rule)?);
        }
        Ok(BucketLifecycle {
            versioning_enabled: versioning_enabled(clients, bucket).await?,
            ..BucketLifecycle::new(rules)
        })
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        write_lifecycle(clients, bucket, self).await
    }
}
