//! Bucket settings: object versioning, usage logging, retention and default encryption.

use serde::{Deserialize, Serialize};

use super::{REMEDIATION_KMS_KEY, REMEDIATION_LOG_BUCKET, REMEDIATION_RETENTION_SECONDS};
use crate::model::{FaultSemantics, FaultState};

/// A bucket's object versioning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketVersioning {
    pub enabled: bool,
}

impl FaultState for BucketVersioning {}

/// `gcp.storage.bucket-versioning-disabled`: object versioning suspended, so overwritten or deleted objects
/// cannot be recovered.
pub struct BucketVersioningDisabled;

impl FaultSemantics for BucketVersioningDisabled {
    const ID: &'static str = "gcp.storage.bucket-versioning-disabled";
    const PRESENT: &'static str = "object versioning is disabled";
    const ASPECT: &'static str = "gcs.bucket-versioning";
    type State = BucketVersioning;

    fn is_present(versioning: &BucketVersioning) -> bool {
        !versioning.enabled
    }

    fn inject(_versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning { enabled: false }
    }

    fn remediate(_versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning { enabled: true }
    }

    fn describe(_versioning: &BucketVersioning) -> String {
        "buckets.patch: set versioning.enabled to false".to_owned()
    }

    fn example() -> BucketVersioning {
        BucketVersioning { enabled: true }
    }
}

/// A bucket's usage and storage logs configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLogging {
    /// The bucket the logs go to; `None` when logging is off.
    pub log_bucket: Option<String>,
    pub log_object_prefix: Option<String>,
}

impl FaultState for BucketLogging {}

/// `gcp.storage.bucket-logging-removed`: usage and storage logs turned off.
pub struct BucketLoggingRemoved;

impl FaultSemantics for BucketLoggingRemoved {
    const ID: &'static str = "gcp.storage.bucket-logging-removed";
    const PRESENT: &'static str = "usage logging is off";
    const ASPECT: &'static str = "gcs.bucket-logging";
    type State = BucketLogging;

    fn is_present(logging: &BucketLogging) -> bool {
        logging.log_bucket.is_none()
    }

    fn inject(_logging: &BucketLogging) -> BucketLogging {
        BucketLogging {
            log_bucket: None,
            log_object_prefix: None,
        }
    }

    /// A reconciler points the logs back at the organization's log bucket.
    fn remediate(logging: &BucketLogging) -> BucketLogging {
        BucketLogging {
            log_bucket: Some(
                logging
                    .log_bucket
                    .clone()
                    .unwrap_or_else(|| REMEDIATION_LOG_BUCKET.to_owned()),
            ),
            log_object_prefix: logging.log_object_prefix.clone(),
        }
    }

    fn describe(logging: &BucketLogging) -> String {
        format!(
            "buckets.patch: clear logging.logBucket and logging.logObjectPrefix (logs now go to {})",
            logging.log_bucket.as_deref().unwrap_or("nowhere")
        )
    }

    fn example() -> BucketLogging {
        BucketLogging {
            log_bucket: Some("example-access-logs".to_owned()),
            log_object_prefix: Some("payments-exports/".to_owned()),
        }
    }
}

/// A bucket's retention policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketRetention {
    /// Seconds every object must be kept; `None` when the bucket has no retention policy.
    pub retention_period_seconds: Option<u64>,
}

impl FaultState for BucketRetention {}

/// `gcp.storage.bucket-retention-removed`: the (unlocked) retention policy removed, so objects can be deleted
/// or overwritten at once.
pub struct BucketRetentionRemoved;

impl FaultSemantics for BucketRetentionRemoved {
    const ID: &'static str = "gcp.storage.bucket-retention-removed";
    const PRESENT: &'static str = "the bucket has no retention policy";
    const ASPECT: &'static str = "gcs.bucket-retention";
    type State = BucketRetention;

    fn is_present(retention: &BucketRetention) -> bool {
        retention.retention_period_seconds.is_none()
    }

    fn inject(_retention: &BucketRetention) -> BucketRetention {
        BucketRetention {
            retention_period_seconds: None,
        }
    }

    fn remediate(retention: &BucketRetention) -> BucketRetention {
        BucketRetention {
            retention_period_seconds: Some(
                retention
                    .retention_period_seconds
                    .unwrap_or(REMEDIATION_RETENTION_SECONDS),
            ),
        }
    }

    fn describe(retention: &BucketRetention) -> String {
        format!(
            "buckets.patch: clear retentionPolicy.retentionPeriod (now {} s)",
            retention.retention_period_seconds.unwrap_or_default()
        )
    }

    fn example() -> BucketRetention {
        BucketRetention {
            retention_period_seconds: Some(90 * 24 * 60 * 60),
        }
    }
}

/// A bucket's default encryption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEncryption {
    /// The Cloud KMS key new objects are encrypted with; `None` for Google-managed keys.
    pub default_kms_key_name: Option<String>,
}

impl FaultState for BucketEncryption {}

/// `gcp.storage.bucket-default-kms-key-removed`: the customer-managed default key removed, so new objects fall
/// back to Google-managed encryption outside the organization's key control.
pub struct BucketDefaultKmsKeyRemoved;

impl FaultSemantics for BucketDefaultKmsKeyRemoved {
    const ID: &'static str = "gcp.storage.bucket-default-kms-key-removed";
    const PRESENT: &'static str = "the bucket has no default Cloud KMS key";
    const ASPECT: &'static str = "gcs.bucket-encryption";
    type State = BucketEncryption;

    fn is_present(encryption: &BucketEncryption) -> bool {
        encryption.default_kms_key_name.is_none()
    }

    fn inject(_encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: None,
        }
    }

    fn remediate(encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: Some(
                encryption
                    .default_kms_key_name
                    .clone()
                    .unwrap_or_else(|| REMEDIATION_KMS_KEY.to_owned()),
            ),
        }
    }

    fn describe(encryption: &BucketEncryption) -> String {
        format!(
            "buckets.patch: clear encryption.defaultKmsKeyName (now {})",
            encryption.default_kms_key_name.as_deref().unwrap_or("none")
        )
    }

    fn example() -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: Some(
                "projects/example-project/locations/us/keyRings/storage/cryptoKeys/payments"
                    .to_owned(),
            ),
        }
    }
}
