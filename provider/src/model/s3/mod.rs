//! S3: bucket and object ACLs, bucket policies, Block Public Access, default encryption, versioning, access
//! logging, lifecycle rules and Object Lock retention.

mod acl;
mod lifecycle;
mod object_lock;
mod policy;
mod settings;
#[cfg(test)]
mod tests;

pub use acl::*;
pub use lifecycle::*;
pub use object_lock::*;
pub use policy::*;
pub use settings::*;

use super::register_faults;

register_faults![
    BucketPublicAcl,
    BucketPublicReadWriteAcl,
    BucketPolicyPublic,
    BucketPolicyExternalAccount,
    BucketTlsOnlyStatementRemoved,
    BucketPublicAccessBlockRemoved,
    BucketDefaultEncryptionRemoved,
    BucketVersioningSuspended,
    BucketAccessLoggingDisabled,
    BucketLifecycleExpireOneDay,
    ObjectPublicAcl,
    BucketObjectLockRetentionShortened,
];

/// The S3 group URI meaning "everyone, anonymous included".
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The S3 group URI for S3 server access log delivery.
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const EXAMPLE_OWNER: &str = "b1c4f0d2e3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1";
const EXAMPLE_PARTNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

const EXAMPLE_ACCOUNT_ID: &str = "123456789012";
