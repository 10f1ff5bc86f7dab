//! Google Cloud Storage: bucket IAM, ACLs and settings, as the GCS JSON API reports them.
//!
//! The states keep only what the faults change and their reverts need, in a canonical order (bindings sorted,
//! members and ACL entries sorted), never server-generated fields such as etags.

mod acl;
mod bucket_iam;
mod settings;
#[cfg(test)]
mod tests;

pub use acl::*;
pub use bucket_iam::*;
pub use settings::*;

use super::register_faults;

register_faults![
    BucketIamAllUsersViewer,
    BucketIamAllAuthenticatedViewer,
    BucketIamAllUsersAdmin,
    BucketIamExternalAdmin,
    BucketUniformAccessDisabled,
    BucketPublicAccessPreventionUnenforced,
    BucketAclPublicRead,
    BucketDefaultObjectAclPublicRead,
    BucketVersioningDisabled,
    BucketLoggingRemoved,
    BucketRetentionRemoved,
    BucketDefaultKmsKeyRemoved,
];

/// The IAM member meaning "everyone on the internet, anonymous included".
pub const ALL_USERS: &str = "allUsers";
/// The IAM member meaning "anyone signed in to any Google account".
pub const ALL_AUTHENTICATED_USERS: &str = "allAuthenticatedUsers";
/// The identity outside the organization that `gcp.storage.bucket-iam-external-admin` grants access to.
pub const EXTERNAL_ATTACKER: &str = "user:attacker@example.com";
/// The ACL entity meaning "everyone on the internet".
pub const ACL_ALL_USERS: &str = "allUsers";
/// The log bucket a corrective control points usage logs back to when it restores logging.
pub const REMEDIATION_LOG_BUCKET: &str = "access-logs";
/// The retention period (seconds) a corrective control restores: 30 days.
pub const REMEDIATION_RETENTION_SECONDS: u64 = 30 * 24 * 60 * 60;
/// The Cloud KMS key a corrective control restores as the bucket's default key.
pub const REMEDIATION_KMS_KEY: &str =
    "projects/security/locations/us/keyRings/storage/cryptoKeys/buckets-default";
