//! Bucket settings: Block Public Access, default encryption, versioning and server access logging.

use serde::{Deserialize, Serialize};

use super::{EXAMPLE_ACCOUNT_ID, EXAMPLE_OWNER, EXAMPLE_PARTNER, Grant};
use crate::model::{FaultSemantics, FaultState};

/// A bucket's S3 Block Public Access settings; `None` when the bucket has no configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<PublicAccessBlockFlags>,
}

/// The four Block Public Access flags; a flag S3 does not report is false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlockFlags {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockFlags {
    const ALL: PublicAccessBlockFlags = PublicAccessBlockFlags {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    fn any(&self) -> bool {
        self.block_public_acls
            || self.ignore_public_acls
            || self.block_public_policy
            || self.restrict_public_buckets
    }
}

impl FaultState for PublicAccessBlock {}

/// `aws.s3.bucket-public-access-block-removed`: the bucket's Block Public Access configuration is deleted,
/// so only the account-level setting (if any) still stops a public ACL or policy.
pub struct BucketPublicAccessBlockRemoved;

impl FaultSemantics for BucketPublicAccessBlockRemoved {
    const ID: &'static str = "aws.s3.bucket-public-access-block-removed";
    const PRESENT: &'static str = "the bucket has no Block Public Access flag set";
    const ASPECT: &'static str = "s3.bucket-public-access-block";
    type State = PublicAccessBlock;

    fn is_present(block: &PublicAccessBlock) -> bool {
        !block.configuration.is_some_and(|flags| flags.any())
    }

    fn inject(_block: &PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            configuration: None,
        }
    }

    fn remediate(_block: &PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            configuration: Some(PublicAccessBlockFlags::ALL),
        }
    }

    fn describe(block: &PublicAccessBlock) -> String {
        format!(
            "DeleteBucketPublicAccessBlock: remove the bucket's configuration {:?}",
            block.configuration
        )
    }

    fn example() -> PublicAccessBlock {
        Self::remediate(&PublicAccessBlock {
            configuration: None,
        })
    }
}

/// A bucket's default encryption rules; empty when the bucket has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEncryption {
    /// Sorted.
    pub rules: Vec<EncryptionRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionRule {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub sse_algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
}

impl BucketEncryption {
    pub fn new(mut rules: Vec<EncryptionRule>) -> BucketEncryption {
        rules.sort();
        BucketEncryption { rules }
    }

    /// Whether objects are encrypted by default with a KMS key, whose key policy and CloudTrail record are a
    /// second guard on every read.
    pub fn uses_kms(&self) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.sse_algorithm.starts_with("aws:kms"))
    }
}

impl FaultState for BucketEncryption {
    fn canonical(self) -> Self {
        BucketEncryption::new(self.rules)
    }
}

/// `aws.s3.bucket-default-encryption-removed`: DeleteBucketEncryption. Real S3 then falls back to SSE-S3
/// (AES256, keys S3 holds), older S3 and moto to no default encryption: either way new objects no longer get
/// the bucket's KMS key, so the fault is aimed at buckets encrypted with SSE-KMS.
pub struct BucketDefaultEncryptionRemoved;

impl FaultSemantics for BucketDefaultEncryptionRemoved {
    const ID: &'static str = "aws.s3.bucket-default-encryption-removed";
    const PRESENT: &'static str = "the bucket's default encryption does not use a KMS key";
    const ASPECT: &'static str = "s3.bucket-encryption";
    type State = BucketEncryption;

    fn is_present(encryption: &BucketEncryption) -> bool {
        !encryption.uses_kms()
    }

    fn inject(_encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption::default()
    }

    fn remediate(_encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption::new(vec![EncryptionRule {
            sse_algorithm: "aws:kms".to_owned(),
            kms_master_key_id: None,
            bucket_key_enabled: Some(true),
        }])
    }

    fn describe(encryption: &BucketEncryption) -> String {
        format!(
            "DeleteBucketEncryption: remove {} default encryption rule(s) ({})",
            encryption.rules.len(),
            encryption
                .rules
                .iter()
                .map(|rule| rule.sse_algorithm.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn example() -> BucketEncryption {
        BucketEncryption::new(vec![EncryptionRule {
            sse_algorithm: "aws:kms".to_owned(),
            kms_master_key_id: Some(format!(
                "arn:aws:kms:us-east-1:{EXAMPLE_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            )),
            bucket_key_enabled: Some(true),
        }])
    }
}

/// A bucket's versioning configuration as S3 reports it: `None` fields were never set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketVersioning {
    /// `Enabled` or `Suspended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `Enabled` or `Disabled`; changing versioning on a bucket with MFA delete needs the root user's MFA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_delete: Option<String>,
}

impl FaultState for BucketVersioning {}

/// `aws.s3.bucket-versioning-suspended`: versioning suspended, so overwrites and deletes destroy data.
pub struct BucketVersioningSuspended;

impl FaultSemantics for BucketVersioningSuspended {
    const ID: &'static str = "aws.s3.bucket-versioning-suspended";
    const PRESENT: &'static str = "versioning is not enabled on the bucket";
    const ASPECT: &'static str = "s3.bucket-versioning";
    type State = BucketVersioning;

    fn is_present(versioning: &BucketVersioning) -> bool {
        versioning.status.as_deref() != Some("Enabled")
    }

    fn inject(versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning {
            status: Some("Suspended".to_owned()),
            ..versioning.clone()
        }
    }

    fn remediate(versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning {
            status: Some("Enabled".to_owned()),
            ..versioning.clone()
        }
    }

    fn describe(versioning: &BucketVersioning) -> String {
        format!(
            "PutBucketVersioning: Status {} -> Suspended",
            versioning.status.as_deref().unwrap_or("never set")
        )
    }

    fn example() -> BucketVersioning {
        BucketVersioning {
            status: Some("Enabled".to_owned()),
            mfa_delete: Some("Disabled".to_owned()),
        }
    }
}

/// A bucket's server access logging; `None` when logging is off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLogging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<LoggingTarget>,
}

/// Where access logs go, and who else may read them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingTarget {
    pub bucket: String,
    pub prefix: String,
    /// Sorted; permissions are `FULL_CONTROL`, `READ` or `WRITE`.
    pub grants: Vec<Grant>,
}

impl FaultState for BucketLogging {
    fn canonical(self) -> Self {
        BucketLogging {
            target: self.target.map(|mut target| {
                target.grants.sort();
                target
            }),
        }
    }
}

/// Where a corrective control turns access logging back on: the organization's central log bucket.
pub const CENTRAL_ACCESS_LOG_BUCKET: &str = "central-s3-access-logs";

/// `aws.s3.bucket-access-logging-disabled`: server access logging turned off (PutBucketLogging with an empty
/// status), so requests to the bucket stop being recorded.
pub struct BucketAccessLoggingDisabled;

impl FaultSemantics for BucketAccessLoggingDisabled {
    const ID: &'static str = "aws.s3.bucket-access-logging-disabled";
    const PRESENT: &'static str = "server access logging is off";
    const ASPECT: &'static str = "s3.bucket-logging";
    type State = BucketLogging;

    fn is_present(logging: &BucketLogging) -> bool {
        logging.target.is_none()
    }

    fn inject(_logging: &BucketLogging) -> BucketLogging {
        BucketLogging { target: None }
    }

    fn remediate(_logging: &BucketLogging) -> BucketLogging {
        BucketLogging {
            target: Some(LoggingTarget {
                bucket: CENTRAL_ACCESS_LOG_BUCKET.to_owned(),
                prefix: "s3-access-logs/".to_owned(),
                grants: Vec::new(),
            }),
        }
    }

    fn describe(logging: &BucketLogging) -> String {
        match &logging.target {
            Some(target) => format!(
                "PutBucketLogging with an empty BucketLoggingStatus: stop logging to s3://{}/{}",
                target.bucket, target.prefix
            ),
            None => "PutBucketLogging with an empty BucketLoggingStatus (logging is already off)"
                .to_owned(),
        }
    }

    fn example() -> BucketLogging {
        let mut grants = vec![
            Grant::canonical_user(EXAMPLE_PARTNER, "READ"),
            Grant::canonical_user(EXAMPLE_OWNER, "FULL_CONTROL"),
        ];
        grants.sort();
        BucketLogging {
            target: Some(LoggingTarget {
                bucket: "example-access-logs".to_owned(),
                prefix: "example-bucket/".to_owned(),
                grants,
            }),
        }
    }
}
