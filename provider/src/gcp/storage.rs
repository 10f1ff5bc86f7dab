//! Cloud Storage buckets: discovery, labels, and the `gcp.storage.bucket-*` faults.
//!
//! Bucket settings are written with `buckets.patch`, one top-level field at a time, always with every sub-field
//! the state holds, and cleared sub-fields sent as JSON `null` inside their object (`{"encryption":
//! {"defaultKmsKeyName": null}}`): Google merges a patch field by field and clears what is null, while
//! gcp-storage-emulator replaces a top-level field whole and ignores a top-level null, so this form means the
//! same on both. Every revert is a conditional write of what was just read: bucket patches carry
//! `ifMetagenerationMatch` with the metageneration read, IAM policies the etag read, so a change made in between
//! is never overwritten (Google answers 412, and the revert is tried again from a fresh read).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::bucket_ref;
use super::json_api::JsonApiClient;
use crate::model::FaultSemantics;
use crate::model::gcp_iam::{IamBinding, IamGrant, IamMemberGranted, IamPolicy};
use crate::model::gcs::{
    self as model, AccessControlList, AclEntry, BucketEncryption, BucketIamConfiguration,
    BucketLogging, BucketRetention, BucketVersioning,
};
use crate::{FaultDriver, Result, StateDriver, Versioned};

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<JsonApiClient>>> {
    vec![
        Box::new(IamMemberDriver::<model::AllUsersViewer>(PhantomData)),
        Box::new(IamMemberDriver::<model::AllAuthenticatedViewer>(
            PhantomData,
        )),
        Box::new(IamMemberDriver::<model::AllUsersAdmin>(PhantomData)),
        Box::new(IamMemberDriver::<model::ExternalAdmin>(PhantomData)),
        Box::new(BucketFieldDriver::<model::BucketUniformAccessDisabled>(
            PhantomData,
        )),
        Box::new(BucketFieldDriver::<
            model::BucketPublicAccessPreventionUnenforced,
        >(PhantomData)),
        Box::new(BucketFieldDriver::<model::BucketAclPublicRead>(PhantomData)),
        Box::new(BucketFieldDriver::<model::BucketDefaultObjectAclPublicRead>(PhantomData)),
        Box::new(BucketFieldDriver::<model::BucketVersioningDisabled>(
            PhantomData,
        )),
        Box::new(BucketFieldDriver::<model::BucketLoggingRemoved>(
            PhantomData,
        )),
        Box::new(BucketFieldDriver::<model::BucketRetentionRemoved>(
            PhantomData,
        )),
        Box::new(BucketFieldDriver::<model::BucketDefaultKmsKeyRemoved>(
            PhantomData,
        )),
    ]
}

/// Every bucket of the project, all pages, with its labels.
pub(crate) async fn discover(client: &JsonApiClient) -> Result<Vec<ResourceRef>> {
    Ok(client
        .list_buckets()
        .await?
        .iter()
        .filter_map(|bucket| {
            let name = bucket.get("name").and_then(Value::as_str)?;
            let location = bucket
                .get("location")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Some(bucket_ref("gcp", name, location, labels_of(bucket)))
        })
        .collect())
}

/// A bucket's labels as they are now.
pub(crate) async fn labels(
    client: &JsonApiClient,
    bucket: &str,
) -> Result<BTreeMap<String, String>> {
    Ok(labels_of(&client.get_bucket::<Value>(bucket).await?))
}

fn labels_of(bucket: &Value) -> BTreeMap<String, String> {
    bucket
        .get("labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A bucket IAM policy as the JSON API reads and writes it.
#[derive(Debug, Deserialize, Serialize)]
struct WirePolicy {
    #[serde(default)]
    bindings: Vec<IamBinding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    /// 3 on writes: conditional bindings need it, and it is valid for any policy.
    #[serde(default)]
    version: u32,
}

/// The IAM policy version that allows conditional bindings.
const CONDITIONAL_POLICY_VERSION: u32 = 3;

/// The faults that add one member to one role: inject and revert are read-modify-writes with the etag just
/// read, so a binding changed meanwhile is never overwritten (Google answers 412 and the call is retried).
/// The revert writes the semantics' target, which differs from the policy read by the fault's member alone.
struct IamMemberDriver<G>(PhantomData<G>);

impl<G: IamGrant> IamMemberDriver<G> {
    async fn read_with_etag(client: &JsonApiClient, bucket: &str) -> Result<Versioned<IamPolicy>> {
        let policy: WirePolicy = client.get_iam_policy(bucket).await?;
        Ok(Versioned {
            state: IamPolicy::new(policy.bindings),
            version: policy.etag,
        })
    }

    /// Writes `policy` on condition that the policy still has the etag `etag`.
    async fn write(
        client: &JsonApiClient,
        bucket: &str,
        policy: &IamPolicy,
        etag: Option<String>,
    ) -> Result<()> {
        let policy = WirePolicy {
            bindings: policy.bindings.clone(),
            etag,
            version: CONDITIONAL_POLICY_VERSION,
        };
        client.set_iam_policy(bucket, &policy).await
    }
}

#[async_trait]
impl<G: IamGrant> StateDriver<JsonApiClient> for IamMemberDriver<G> {
    type Fault = IamMemberGranted<G>;

    async fn read(&self, client: &JsonApiClient, resource: &ResourceRef) -> Result<IamPolicy> {
        Ok(Self::read_with_etag(client, &resource.name).await?.state)
    }

    async fn read_versioned(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
    ) -> Result<Versioned<IamPolicy>> {
        Self::read_with_etag(client, &resource.name).await
    }

    /// Adds the member to the policy as it is now (which may have changed since `before`).
    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        _before: &IamPolicy,
    ) -> Result<()> {
        let current = Self::read_with_etag(client, &resource.name).await?;
        let injected = Self::Fault::inject(&current.state);
        Self::write(client, &resource.name, &injected, current.version).await
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<IamPolicy>,
        target: &IamPolicy,
    ) -> Result<()> {
        Self::write(client, &resource.name, target, current.version.clone()).await
    }
}

/// A fault on one top-level field of the bucket resource: how its state is read from `buckets.get` and
/// written with `buckets.patch`.
trait BucketFieldFault: FaultSemantics {
    fn from_bucket(bucket: &Value) -> Self::State;
    fn patch(state: &Self::State) -> Value;
}

/// The faults on one bucket field: inject patches the faulty field, revert patches the field with the target
/// the semantics computed from the bucket just read (the fault's change undone, others' kept), on condition
/// that the bucket's metageneration is still the one read.
struct BucketFieldDriver<F>(PhantomData<F>);

/// A bucket's metageneration (an int64, which the JSON API sends as a string), the version of its metadata.
fn metageneration_of(bucket: &Value) -> Option<String> {
    match bucket.get("metageneration")? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[async_trait]
impl<F: BucketFieldFault> StateDriver<JsonApiClient> for BucketFieldDriver<F> {
    type Fault = F;

    async fn read(&self, client: &JsonApiClient, resource: &ResourceRef) -> Result<F::State> {
        Ok(self.read_versioned(client, resource).await?.state)
    }

    async fn read_versioned(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
    ) -> Result<Versioned<F::State>> {
        let bucket = client.get_bucket::<Value>(&resource.name).await?;
        Ok(Versioned {
            state: F::from_bucket(&bucket),
            version: metageneration_of(&bucket),
        })
    }

    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        before: &F::State,
    ) -> Result<()> {
        client
            .patch_bucket(&resource.name, &F::patch(&F::inject(before)), None)
            .await
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<F::State>,
        target: &F::State,
    ) -> Result<()> {
        client
            .patch_bucket(
                &resource.name,
                &F::patch(target),
                current.version.as_deref(),
            )
            .await
    }
}

fn iam_configuration_of(bucket: &Value) -> BucketIamConfiguration {
    BucketIamConfiguration {
        uniform_bucket_level_access: bucket
            .pointer("/iamConfiguration/uniformBucketLevelAccess/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        // Google reports `inherited` for a bucket that never set it; the emulator reports nothing.
        public_access_prevention: bucket
            .pointer("/iamConfiguration/publicAccessPrevention")
            .and_then(Value::as_str)
            .unwrap_or("inherited")
            .to_owned(),
    }
}

fn iam_configuration_patch(configuration: &BucketIamConfiguration) -> Value {
    json!({"iamConfiguration": {
        "uniformBucketLevelAccess": {"enabled": configuration.uniform_bucket_level_access},
        "publicAccessPrevention": configuration.public_access_prevention,
    }})
}

impl BucketFieldFault for model::BucketUniformAccessDisabled {
    fn from_bucket(bucket: &Value) -> BucketIamConfiguration {
        iam_configuration_of(bucket)
    }

    fn patch(configuration: &BucketIamConfiguration) -> Value {
        iam_configuration_patch(configuration)
    }
}

impl BucketFieldFault for model::BucketPublicAccessPreventionUnenforced {
    fn from_bucket(bucket: &Value) -> BucketIamConfiguration {
        iam_configuration_of(bucket)
    }

    fn patch(configuration: &BucketIamConfiguration) -> Value {
        iam_configuration_patch(configuration)
    }
}

/// The entity and role of each entry of an ACL field (`acl`, `defaultObjectAcl`); Google derives the rest.
fn acl_of(bucket: &Value, field: &str) -> AccessControlList {
    let entries = bucket
        .get(field)
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| {
                    Some(AclEntry {
                        entity: entry.get("entity")?.as_str()?.to_owned(),
                        role: entry.get("role")?.as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    AccessControlList::new(entries)
}

fn acl_patch(field: &str, acl: &AccessControlList) -> Value {
    json!({ field: acl.entries })
}

impl<L: model::AclField> BucketFieldFault for model::AclPublicRead<L> {
    fn from_bucket(bucket: &Value) -> AccessControlList {
        acl_of(bucket, L::FIELD)
    }

    fn patch(acl: &AccessControlList) -> Value {
        acl_patch(L::FIELD, acl)
    }
}

impl BucketFieldFault for model::BucketVersioningDisabled {
    fn from_bucket(bucket: &Value) -> BucketVersioning {
        BucketVersioning {
            enabled: bucket
                .pointer("/versioning/enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    fn patch(versioning: &BucketVersioning) -> Value {
        json!({"versioning": {"enabled": versioning.enabled}})
    }
}

fn string_at(bucket: &Value, pointer: &str) -> Option<String> {
    bucket
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

impl BucketFieldFault for model::BucketLoggingRemoved {
    fn from_bucket(bucket: &Value) -> BucketLogging {
        BucketLogging {
            log_bucket: string_at(bucket, "/logging/logBucket"),
            log_object_prefix: string_at(bucket, "/logging/logObjectPrefix"),
        }
    }

    fn patch(logging: &BucketLogging) -> Value {
        json!({"logging": {
            "logBucket": logging.log_bucket,
            "logObjectPrefix": logging.log_object_prefix,
        }})
    }
}

impl BucketFieldFault for model::BucketRetentionRemoved {
    /// `retentionPeriod` is an int64, which the JSON API sends as a string.
    fn from_bucket(bucket: &Value) -> BucketRetention {
        let period = bucket.pointer("/retentionPolicy/retentionPeriod");
        BucketRetention {
            retention_period_seconds: period
                .and_then(Value::as_str)
                .and_then(|period| period.parse().ok())
                .or_else(|| period.and_then(Value::as_u64)),
        }
    }

    fn patch(retention: &BucketRetention) -> Value {
        json!({"retentionPolicy": {
            "retentionPeriod": retention.retention_period_seconds.map(|seconds| seconds.to_string()),
        }})
    }
}

impl BucketFieldFault for model::BucketDefaultKmsKeyRemoved {
    fn from_bucket(bucket: &Value) -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: string_at(bucket, "/encryption/defaultKmsKeyName"),
        }
    }

    fn patch(encryption: &BucketEncryption) -> Value {
        json!({"encryption": {"defaultKmsKeyName": encryption.default_kms_key_name}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bucket field reads back what its patch writes, for the fault's example and injected states.
    #[test]
    fn bucket_fields_round_trip_through_their_patches() {
        fn round_trip<F: BucketFieldFault>()
        where
            F::State: std::fmt::Debug,
        {
            for state in [F::example(), F::inject(&F::example())] {
                assert_eq!(F::from_bucket(&F::patch(&state)), state, "{}", F::ID);
            }
        }
        round_trip::<model::BucketUniformAccessDisabled>();
        round_trip::<model::BucketPublicAccessPreventionUnenforced>();
        round_trip::<model::BucketAclPublicRead>();
        round_trip::<model::BucketDefaultObjectAclPublicRead>();
        round_trip::<model::BucketVersioningDisabled>();
        round_trip::<model::BucketLoggingRemoved>();
        round_trip::<model::BucketRetentionRemoved>();
        round_trip::<model::BucketDefaultKmsKeyRemoved>();
    }

    #[test]
    fn the_metageneration_is_read_as_google_and_emulators_send_it() {
        assert_eq!(
            metageneration_of(&json!({"metageneration": "7"})).as_deref(),
            Some("7")
        );
        assert_eq!(
            metageneration_of(&json!({"metageneration": 3})).as_deref(),
            Some("3")
        );
        assert_eq!(metageneration_of(&json!({"name": "b"})), None);
    }

    #[test]
    fn every_gcs_fault_has_a_driver() {
        let drivers = drivers();
        for fault in model::FAULTS {
            assert!(
                drivers.iter().any(|driver| driver.fault_id() == fault.id()),
                "{}",
                fault.id()
            );
        }
    }
}
